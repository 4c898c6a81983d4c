/**
 * Double-precision matrix product `C = op(A)·op(B)` over row-major `Float64Array`s, run by
 * svlens's own blocked SIMD128 kernel (wasm/kernels/dgemm.c, ≈17 GFLOP/s on one thread here).
 * Needs no permissions.
 * @module
 */
import { gemmRowMajor, type GemmType, type MatmulOptions } from "./_gemm.ts";
import { dgemm } from "./_kernels.ts";

export type { MatmulOptions } from "./_gemm.ts";

/** Options of {@linkcode matmulF64}. */
export type MatmulF64Options = MatmulOptions<Float64Array>;

const F64: GemmType<Float64Array> = {
  name: "matmulF64",
  alloc: (length) => new Float64Array(length),
  view: (buffer) => new Float64Array(buffer),
  bytes: 8,
  kernel: dgemm,
};

/**
 * Computes `C = op(A)·op(B)` (or `C += op(A)·op(B)` with `accumulate`), where op(A) is m×k,
 * op(B) is k×n and C is m×n, all row-major. With `transA`, `a` holds A (k×m) and op(A) = Aᵀ;
 * with `transB`, `b` holds B (n×k) and op(B) = Bᵀ. Returns `out` when given (its first m·n
 * elements), else a new array. Sums are in f64 with fused multiply-add where the CPU has it.
 *
 * @example
 * ```ts
 * import { matmulF64 } from "./matmul_f64.ts";
 * const c = matmulF64(new Float64Array([1, 2, 3, 4]), new Float64Array([5, 6, 7, 8]), 2, 2, 2);
 * if (c[0] !== 19 || c[3] !== 50) throw new Error("wrong product");
 * ```
 */
export function matmulF64(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
  opts: MatmulF64Options = {},
): Float64Array {
  return gemmRowMajor(F64, a, b, m, k, n, opts);
}
