/**
 * Single-precision matrix product `C = op(A)·op(B)` over row-major `Float32Array`s, run by
 * svlens's own blocked SIMD128 kernel (wasm/kernels/sgemm.c, ≈30 GFLOP/s on one thread here).
 * Needs no permissions.
 * @module
 */
import { gemmRowMajor, type GemmType, type MatmulOptions } from "./_gemm.ts";
import { sgemm } from "./_kernels.ts";

export type { MatmulOptions } from "./_gemm.ts";
export { closeMatmulThreads, matmulThreadsActive } from "./_threads.ts";

/** Options of {@linkcode matmulF32}. */
export type MatmulF32Options = MatmulOptions<Float32Array>;

const F32: GemmType<Float32Array> = {
  name: "matmulF32",
  alloc: (length) => new Float32Array(length),
  view: (buffer) => new Float32Array(buffer),
  bytes: 4,
  kernel: sgemm,
};

/**
 * Computes `C = op(A)·op(B)` (or `C += op(A)·op(B)` with `accumulate`), where op(A) is m×k,
 * op(B) is k×n and C is m×n, all row-major. With `transA`, `a` holds A (k×m) and op(A) = Aᵀ;
 * with `transB`, `b` holds B (n×k) and op(B) = Bᵀ. Returns `out` when given (its first m·n
 * elements), else a new array. Sums are in f32 with fused multiply-add where the CPU has it.
 *
 * @example
 * ```ts
 * import { matmulF32 } from "./matmul_f32.ts";
 * const c = matmulF32(new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), 2, 2, 2);
 * if (c[0] !== 19 || c[3] !== 50) throw new Error("wrong product");
 * ```
 */
export function matmulF32(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  opts: MatmulF32Options = {},
): Float32Array {
  return gemmRowMajor(F32, a, b, m, k, n, opts);
}
