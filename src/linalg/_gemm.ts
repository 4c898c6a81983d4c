/**
 * Row-major `C = op(A)·op(B)` driver shared by matmulF32 and matmulF64: validates shapes, copies
 * the operands into the kernels' scratch arena, runs the strided SIMD kernel, copies C out.
 * @module
 */
import { align16, type GemmKernel, kernelMemory, reserveScratch } from "./_kernels.ts";
import { type GemmArgs, threadPool } from "./_threads.ts";

/** Products below this many multiply-adds run on one thread: waking helpers costs ~50 µs. */
const MIN_THREADED_MNK = 1 << 21;

/** Options of a row-major matrix product `C = op(A)·op(B)`. */
export interface MatmulOptions<A extends Float32Array | Float64Array> {
  /** Use Aᵀ: `a` holds the k×m matrix A row-major and op(A) = Aᵀ is m×k. */
  transA?: boolean;
  /** Use Bᵀ: `b` holds the n×k matrix B row-major and op(B) = Bᵀ is k×n. */
  transB?: boolean;
  /**
   * Write the m×n result into the first m·n elements of this array instead of allocating. It may
   * alias `a` or `b`: the operands are copied into WebAssembly memory before C is written.
   */
  out?: A;
  /** Add the product to `out` (`C += op(A)·op(B)`) instead of overwriting it; needs `out`. */
  accumulate?: boolean;
  /**
   * Threads to split the product over (default 1). With more than 1, large products run on helper
   * workers over a shared memory (no permissions needed); if they cannot start, one thread is used
   * (see `matmulThreadsActive`). Small products (m·k·n < 2²¹) always run on one thread.
   */
  threads?: number;
}

/** The element type a driver call works on. */
export interface GemmType<A extends Float32Array | Float64Array> {
  /** Function name used in error messages. */
  name: string;
  /** Allocates a zeroed array. */
  alloc: (length: number) => A;
  /** A view on the kernels' memory. */
  view: (buffer: ArrayBufferLike) => A;
  /** Bytes per element. */
  bytes: 4 | 8;
  /** The kernel and its workspace length in elements. */
  kernel: { run: GemmKernel; workLen: number };
}

/** Computes `C = op(A)·op(B)` (or `C += ...`) row-major with the given element type. */
export function gemmRowMajor<A extends Float32Array | Float64Array>(
  type: GemmType<A>,
  a: A,
  b: A,
  m: number,
  k: number,
  n: number,
  opts: MatmulOptions<A>,
): A {
  const { transA = false, transB = false, accumulate = false, out } = opts;
  checkShapes(type.name, a, b, m, k, n, out, accumulate, opts.threads);
  const c = out ?? type.alloc(m * n);
  const mn = m * n;
  if (mn === 0) return c;
  if (k === 0) {
    if (!accumulate) c.fill(0, 0, mn);
    return c;
  }
  const e = type.bytes;
  const threads = opts.threads ?? 1;
  const pool = threads > 1 && m * n * k >= MIN_THREADED_MNK ? threadPool(threads) : undefined;
  const memory = pool?.memory ?? kernelMemory;
  const kind = e === 4 ? 0 : 1;
  const workBytes = align16((pool?.workLen(kind) ?? type.kernel.workLen) * e);
  const aOff = workBytes * (pool?.threads ?? 1);
  const bOff = aOff + align16(m * k * e);
  const cOff = bOff + align16(k * n * e);
  const total = cOff + mn * e;
  const base = pool === undefined ? reserveScratch(total) : pool.reserve(total);
  const heap = type.view(memory.buffer);
  heap.set(a.subarray(0, m * k), (base + aOff) / e);
  heap.set(b.subarray(0, k * n), (base + bOff) / e);
  if (accumulate) heap.set(c.subarray(0, mn), (base + cOff) / e);
  // op(A)(i,p) = a[i*k + p], or a[p*m + i] when A is stored transposed; likewise for B.
  const args: GemmArgs = {
    m,
    n,
    k,
    a: base + aOff,
    rsa: transA ? 1 : k,
    csa: transA ? m : 1,
    b: base + bOff,
    rsb: transB ? 1 : n,
    csb: transB ? k : 1,
    beta: accumulate ? 1 : 0,
    c: base + cOff,
    rsc: n,
    csc: 1,
  };
  if (pool !== undefined) pool.gemm(kind, args, base, workBytes, threads);
  else {
    type.kernel.run(
      m,
      n,
      k,
      1,
      args.a,
      args.rsa,
      args.csa,
      args.b,
      args.rsb,
      args.csb,
      args.beta,
      args.c,
      args.rsc,
      args.csc,
      base,
    );
  }
  const c0 = (base + cOff) / e;
  c.set(heap.subarray(c0, c0 + mn));
  return c;
}

function checkShapes(
  name: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  out: ArrayLike<number> | undefined,
  accumulate: boolean,
  threads: number | undefined,
): void {
  for (const [dim, v] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`${name}: ${dim} must be a non-negative integer, got ${v}`);
    }
  }
  if (a.length < m * k) {
    throw new RangeError(
      `${name}: a has ${a.length} elements but op(A) is ${m}×${k} = ${m * k}; check m and k`,
    );
  }
  if (b.length < k * n) {
    throw new RangeError(
      `${name}: b has ${b.length} elements but op(B) is ${k}×${n} = ${k * n}; check k and n`,
    );
  }
  if (out !== undefined && out.length < m * n) {
    throw new RangeError(
      `${name}: out has ${out.length} elements but C is ${m}×${n} = ${m * n}; pass a larger out`,
    );
  }
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 64)) {
    throw new RangeError(`${name}: threads must be an integer in [1, 64], got ${threads}`);
  }
  if (accumulate && out === undefined) {
    throw new TypeError(`${name}: accumulate needs an out array holding the C to add to`);
  }
}
