/**
 * The dense matrix type every layer shares: row-major float64 data with an explicit shape.
 * Heavy kernels (LAPACK, SIMD matmul) live behind `src/linalg/mod.ts`; this file holds only the
 * type and a few obviously-correct reference helpers.
 * @module
 */

/** A dense row-major float64 matrix: element (i, j) is `data[i * cols + j]`. */
export interface Matrix {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns. */
  readonly cols: number;
  /** Row-major elements, length `rows * cols`. */
  readonly data: Float64Array;
}

/**
 * Creates a `rows`×`cols` matrix, zero-filled or over `data` (copied from a plain array, or
 * wrapped without copying if it is already a `Float64Array`).
 *
 * @example
 * ```ts
 * import { matrix } from "./matrix.ts";
 * const a = matrix(2, 2, [1, 2, 3, 4]);
 * if (a.data[2] !== 3) throw new Error("row-major");
 * ```
 */
export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`matrix shape must be non-negative integers, got ${rows}×${cols}`);
  }
  const values = data === undefined
    ? new Float64Array(rows * cols)
    : data instanceof Float64Array
    ? data
    : Float64Array.from(data);
  if (values.length !== rows * cols) {
    throw new RangeError(
      `matrix data has ${values.length} elements, but shape ${rows}×${cols} needs ${rows * cols}`,
    );
  }
  return { rows, cols, data: values };
}

/** Element (i, j) of `a` (no bounds check beyond the typed array's). */
export function at(a: Matrix, i: number, j: number): number {
  return a.data[i * a.cols + j]!;
}

/** The transpose of `a` as a new matrix. */
export function transpose(a: Matrix): Matrix {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = a.data[i * a.cols + j]!;
  }
  return { rows: a.cols, cols: a.rows, data: out };
}

/** The n×n identity matrix. */
export function identity(n: number): Matrix {
  const out = matrix(n, n);
  for (let i = 0; i < n; i++) out.data[i * n + i] = 1;
  return out;
}
