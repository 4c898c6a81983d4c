/**
 * Float64 matrix product (row-major, cache-friendly i-k-j loop order).
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { assertMatrix } from "./_validate.ts";

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
  const m = a.rows, k = a.cols, n = b.cols;
  const ad = a.data, bd = b.data;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = ad[i * k + p]!;
      const bp = p * n;
      for (let j = 0; j < n; j++) out[ci + j] = out[ci + j]! + aip * bd[bp + j]!;
    }
  }
  return { rows: m, cols: n, data: out };
}
