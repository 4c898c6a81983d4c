/**
 * Independent checks for the linalg tests: written with plain loops (no svlens routine is used
 * to check itself).
 * @module
 */
import type { Matrix, Rng } from "../../src/linalg/mod.ts";

/** Frobenius norm. */
export function frob(a: Matrix): number {
  let s = 0;
  for (const x of a.data) s += x * x;
  return Math.sqrt(s);
}

/** ‖a − u·diag(s)·vt‖_F by explicit triple loop. */
export function reconstructionError(a: Matrix, u: Matrix, s: Float64Array, vt: Matrix): number {
  const m = a.rows, n = a.cols, k = s.length;
  let err = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let x = 0;
      for (let p = 0; p < k; p++) x += u.data[i * k + p]! * s[p]! * vt.data[p * n + j]!;
      err += (a.data[i * n + j]! - x) ** 2;
    }
  }
  return Math.sqrt(err);
}

/** max |QᵀQ − I| over the columns of q (m×k). */
export function columnOrthoError(q: Matrix): number {
  const m = q.rows, k = q.cols;
  let worst = 0;
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += q.data[i * k + a]! * q.data[i * k + b]!;
      worst = Math.max(worst, Math.abs(dot - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

/** max |Q Qᵀ − I| over the rows of q (k×n). */
export function rowOrthoError(q: Matrix): number {
  const k = q.rows, n = q.cols;
  let worst = 0;
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += q.data[a * n + j]! * q.data[b * n + j]!;
      worst = Math.max(worst, Math.abs(dot - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

/** A matrix of standard normal entries. */
export function gaussian(rows: number, cols: number, rng: Rng): Matrix {
  return { rows, cols, data: rng.normals(rows * cols) };
}

/** Columns cols[from..to) of a row-major matrix. */
export function columns(a: Matrix, from: number, to: number): Matrix {
  const k = to - from;
  const out = new Float64Array(a.rows * k);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < k; j++) out[i * k + j] = a.data[i * a.cols + from + j]!;
  }
  return { rows: a.rows, cols: k, data: out };
}

/** Rows rows[from..to) of a row-major matrix, transposed into columns. */
export function rowsAsColumns(a: Matrix, from: number, to: number): Matrix {
  const k = to - from;
  const out = new Float64Array(a.cols * k);
  for (let p = 0; p < k; p++) {
    for (let j = 0; j < a.cols; j++) out[j * k + p] = a.data[(from + p) * a.cols + j]!;
  }
  return { rows: a.cols, cols: k, data: out };
}

/**
 * sin of the largest principal angle between the column spans of orthonormal x and y (m×k):
 * ‖(I − X Xᵀ) Y‖₂ bounded by its Frobenius norm (a conservative, loop-only estimate).
 */
export function subspaceDistance(x: Matrix, y: Matrix): number {
  const m = x.rows, k = x.cols, l = y.cols;
  // xty = Xᵀ Y (k×l); residual R = Y − X (Xᵀ Y); return ‖R‖_F.
  const xty = new Float64Array(k * l);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < l; b++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += x.data[i * k + a]! * y.data[i * l + b]!;
      xty[a * l + b] = dot;
    }
  }
  let res = 0;
  for (let i = 0; i < m; i++) {
    for (let b = 0; b < l; b++) {
      let r = y.data[i * l + b]!;
      for (let a = 0; a < k; a++) r -= x.data[i * k + a]! * xty[a * l + b]!;
      res += r * r;
    }
  }
  return Math.sqrt(res);
}
