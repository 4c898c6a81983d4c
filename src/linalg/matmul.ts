/**
 * Float64 matrix product of {@linkcode Matrix} values, on the blocked SIMD kernel (`matmulF64`).
 * @module
 */
import type { Matrix } from "./matrix.ts";
import {
  assertFinite,
  assertFiniteResult,
  assertMatrix,
  firstNonFinite,
  maxAbs,
} from "./_validate.ts";
import { matmulF64 } from "./matmul_f64.ts";

/**
 * The product `a · b` (a: m×k, b: k×n) as a new m×n float64 matrix. Throws `NumericalError`
 * when the product holds NaN/Inf: naming the entry of `a` or `b` that caused it, or saying
 * that the product of finite factors overflowed float64. The check reads the m×n result once
 * (the inputs only when it fails).
 *
 * @example
 * ```ts
 * import { matmul, matrix } from "./mod.ts";
 * const c = matmul(matrix(1, 2, [1, 2]), matrix(2, 1, [3, 4]));
 * if (c.data[0] !== 11) throw new Error("1·3 + 2·4");
 * ```
 */
export function matmul(a: Matrix, b: Matrix): Matrix {
  assertMatrix(a, "matmul", "a");
  assertMatrix(b, "matmul", "b");
  if (a.cols !== b.rows) {
    throw new RangeError(
      `matmul: inner dimensions differ: a is ${a.rows}×${a.cols}, b is ${b.rows}×${b.cols}`,
    );
  }
  const c = matmulF64(a.data, b.data, a.rows, a.cols, b.cols);
  if (firstNonFinite(c) >= 0) {
    assertFinite(a, "matmul", "a");
    assertFinite(b, "matmul", "b");
    assertFiniteResult(
      "matmul",
      { "a·b": c },
      () =>
        `the product overflowed float64 (max |a| = ${maxAbs(a.data)}, max |b| = ` +
        `${maxAbs(b.data)}); rescale: (a / c₁)·(b / c₂) = a·b / (c₁·c₂)`,
    );
  }
  return { rows: a.rows, cols: b.cols, data: c };
}
