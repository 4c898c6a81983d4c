/**
 * Single-precision matrix multiply `C = op(A)·op(B)` over row-major `Float32Array`s, the kernel
 * the toy trainer and the forward pass call.
 * @module
 */

/** Options of {@linkcode matmulF32}. */
export interface MatmulF32Options {
  /** Use Aᵀ: `a` is stored k×m row-major instead of m×k. */
  transA?: boolean;
  /** Use Bᵀ: `b` is stored n×k row-major instead of k×n. */
  transB?: boolean;
  /** Write the m×n result here (length ≥ m·n) instead of allocating. */
  out?: Float32Array;
  /** Add the product to `out` (`C += op(A)·op(B)`) instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * Computes `C = op(A)·op(B)` (or `C += ...` with `accumulate`), C is m×n row-major.
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
  const { transA = false, transB = false, accumulate = false } = opts;
  checkShape(a, b, m, k, n, opts.out);
  const c = opts.out ?? new Float32Array(m * n);
  if (!accumulate) c.fill(0, 0, m * n);
  // i-p-j order keeps the inner loop contiguous in B and C for the common non-transposed case.
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = transA ? a[p * m + i]! : a[i * k + p]!;
      if (aip === 0) continue;
      if (transB) {
        for (let j = 0; j < n; j++) c[ci + j]! += aip * b[j * k + p]!;
      } else {
        const bp = p * n;
        for (let j = 0; j < n; j++) c[ci + j]! += aip * b[bp + j]!;
      }
    }
  }
  return c;
}

function checkShape(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  out: Float32Array | undefined,
): void {
  for (const [name, v] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`matmulF32: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  if (a.length < m * k) {
    throw new RangeError(`matmulF32: a has ${a.length} elements, op(A) ${m}×${k} needs ${m * k}`);
  }
  if (b.length < k * n) {
    throw new RangeError(`matmulF32: b has ${b.length} elements, op(B) ${k}×${n} needs ${k * n}`);
  }
  if (out !== undefined && out.length < m * n) {
    throw new RangeError(`matmulF32: out has ${out.length} elements, C ${m}×${n} needs ${m * n}`);
  }
}
