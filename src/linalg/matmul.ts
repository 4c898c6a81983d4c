/**
 * Float64 matrix product of {@linkcode Matrix} values, on the blocked SIMD kernel (`matmulF64`).
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { assertMatrix } from "./_validate.ts";
import { matmulF64 } from "./matmul_f64.ts";

/**
 * The product `a · b` (a: m×k, b: k×n) as a new m×n float64 matrix.
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
  return { rows: a.rows, cols: b.cols, data: matmulF64(a.data, b.data, a.rows, a.cols, b.cols) };
}
