/**
 * The loaded `wasm/kernels.wasm` (svlens's own SIMD128 GEMM kernels; import-free and loaded as a
 * Wasm ES module, so it needs no permissions) and a grow-only scratch arena in its memory.
 * @module
 */
import {
  __heap_base as heapBase,
  memory,
  svl_dgemm,
  svl_dgemm_work_len,
  svl_sgemm,
  svl_sgemm_work_len,
} from "../../wasm/kernels.wasm";

const PAGE = 65536;
/** Largest memory a wasm32 module can address (65536 pages of 64 KiB). */
const MAX_BYTES = 65536 * PAGE;
/** First free byte after the module's static data and stack, rounded up to 16. */
const ARENA_BASE = Math.ceil(heapBase / 16) * 16;

/**
 * Strided GEMM `C = alpha·A·B + beta·C` with A(i,p) = a[i·rsa + p·csa], B(p,j) = b[p·rsb + j·csb],
 * C(i,j) = c[i·rsc + j·csc]; pointers are byte offsets into {@linkcode kernelMemory}, `work` a
 * 16-byte-aligned workspace of `workLen` elements. beta = 0 never reads C.
 */
export type GemmKernel = (
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: number,
  rsa: number,
  csa: number,
  b: number,
  rsb: number,
  csb: number,
  beta: number,
  c: number,
  rsc: number,
  csc: number,
  work: number,
) => void;

/** The f32 kernel and its workspace length in floats. */
export const sgemm: { run: GemmKernel; workLen: number } = {
  run: svl_sgemm,
  workLen: svl_sgemm_work_len(),
};

/** The f64 kernel and its workspace length in doubles. */
export const dgemm: { run: GemmKernel; workLen: number } = {
  run: svl_dgemm,
  workLen: svl_dgemm_work_len(),
};

/** The kernels' linear memory. */
export const kernelMemory: WebAssembly.Memory = memory;

/**
 * Returns the byte offset of a 16-byte-aligned scratch region of at least `bytes` bytes in
 * {@linkcode kernelMemory}, growing the memory only when the largest request so far is exceeded.
 * The one region is reused by every call (callers copy in, run, and copy out synchronously), so
 * repeated calls never grow memory past the largest single request. Typed-array views on
 * `kernelMemory.buffer` must be created after this call (growth detaches the old buffer).
 */
export function reserveScratch(bytes: number): number {
  const end = ARENA_BASE + bytes;
  if (end > MAX_BYTES) {
    throw new RangeError(
      `linalg kernels: a scratch of ${bytes} bytes exceeds the 4 GiB WebAssembly address space; ` +
        `split the product into smaller blocks`,
    );
  }
  const have = memory.buffer.byteLength;
  if (end > have) memory.grow(Math.ceil((end - have) / PAGE));
  return ARENA_BASE;
}

/** Rounds a byte count up to a multiple of 16 (packed SIMD panels want 16-byte alignment). */
export function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
