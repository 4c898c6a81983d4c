/**
 * Thin QR decomposition with a non-negative diagonal of R.
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { assertFinite, assertFiniteResult, assertMatrix, maxAbs } from "./_validate.ts";
import { fixQrSigns, referenceQr } from "./reference.ts";
import { lapackQr } from "./lapack.ts";
import { type Backend, defaultBackend } from "./backend.ts";

/** Options of {@linkcode qr}. */
export interface QrOptions {
  /** `"lapack"` (dgeqrf + dorgqr) or `"reference"` (pure-TS Householder). */
  backend?: Backend;
}

/** A thin QR factorisation `a = q · r`. */
export interface QrResult {
  /** m×k with orthonormal columns, k = min(m, n). */
  q: Matrix;
  /** k×n upper triangular (trapezoidal), diagonal ≥ 0. */
  r: Matrix;
}

/**
 * Thin Householder QR of an m×n matrix: q (m×k) with orthonormal columns and upper-triangular
 * r (k×n), k = min(m, n). The diagonal of r is made non-negative (columns of q flipped to match),
 * which makes the factorisation unique for full-rank input. Throws `NumericalError` on NaN/Inf
 * input and when a finite input gives a non-finite result (a column norm beyond the float64
 * range, ~1.8e308: rescale the input).
 *
 * @example
 * ```ts
 * import { matrix, qr } from "./mod.ts";
 * const { r } = qr(matrix(2, 1, [3, 4]));
 * if (Math.abs(r.data[0]! - 5) > 1e-12) throw new Error("‖(3,4)‖ = 5");
 * ```
 */
export function qr(a: Matrix, options: QrOptions = {}): QrResult {
  assertMatrix(a, "qr");
  assertFinite(a, "qr");
  const backend = options.backend ?? defaultBackend();
  const result = backend === "reference" || a.rows === 0 || a.cols === 0
    ? referenceQr(a)
    : lapackQr(a);
  assertFiniteResult(
    "qr",
    { r: result.r.data, q: result.q.data },
    () =>
      `the computation overflowed float64 (max |a| = ${maxAbs(a.data)}); rescale the input: ` +
      `qr(a / c) has the same q and r / c`,
  );
  // referenceQr already made diag(r) ≥ 0; flipping again is a no-op there.
  fixQrSigns(result.q.data, result.r.data, a.rows, result.q.cols, a.cols);
  return result;
}
