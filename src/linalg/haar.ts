/**
 * Haar-distributed random orthogonal matrices (the random-basis control of method.md §3.4).
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { qr } from "./qr.ts";
import type { Rng } from "./rng.ts";

/**
 * A Haar-random n×n orthogonal matrix: QR of an n×n standard Gaussian matrix with the signs
 * fixed so diag(R) > 0 (without the fix, Q is not uniformly distributed). Deterministic given
 * the generator's state.
 *
 * @example
 * ```ts
 * import { haarOrthogonal, Rng } from "./mod.ts";
 * const q = haarOrthogonal(3, new Rng(7));
 * if (q.rows !== 3 || q.cols !== 3) throw new Error();
 * ```
 */
export function haarOrthogonal(n: number, rng: Rng): Matrix {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`haarOrthogonal: n must be a non-negative integer, got ${n}`);
  }
  const g: Matrix = { rows: n, cols: n, data: rng.normals(n * n) };
  return qr(g).q; // qr returns diag(R) ≥ 0; > 0 almost surely for a Gaussian matrix
}
