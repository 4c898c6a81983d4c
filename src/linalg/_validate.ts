/**
 * Shared argument checks for the linalg routines (private).
 * @module
 */
import { NumericalError } from "../errors.ts";
import type { Matrix } from "./matrix.ts";

/** Throws NumericalError naming the first NaN/±Inf entry of `a` (row, column). */
export function assertFinite(a: Matrix, op: string): void {
  const d = a.data;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]!;
    if (!Number.isFinite(x)) {
      const r = Math.floor(i / a.cols), c = i % a.cols;
      throw new NumericalError(
        `${op}: input ${a.rows}×${a.cols} matrix has a non-finite entry ${x} at (${r}, ${c}); ` +
          `remove NaN/Inf values (check the weights or activations that produced it) before calling ${op}`,
      );
    }
  }
}

/** Throws RangeError unless `a` is a structurally valid matrix. */
export function assertMatrix(a: Matrix, op: string, name = "a"): void {
  if (
    !Number.isInteger(a.rows) || !Number.isInteger(a.cols) || a.rows < 0 || a.cols < 0 ||
    !(a.data instanceof Float64Array) || a.data.length !== a.rows * a.cols
  ) {
    throw new RangeError(
      `${op}: ${name} must be a Matrix with a Float64Array of rows·cols elements, got ` +
        `${a.rows}×${a.cols} with ${a.data?.length} elements`,
    );
  }
}

/** Throws RangeError unless `a` is square. */
export function assertSquare(a: Matrix, op: string): void {
  if (a.rows !== a.cols) {
    throw new RangeError(`${op}: needs a square matrix, got ${a.rows}×${a.cols}`);
  }
}
