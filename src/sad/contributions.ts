/**
 * Per-singular-vector contributions to a relative attention logit (method.md §3.2–3.3, §3.6):
 * cₖ = σₖ (uₖᵀx̃_d)(vₖᵀ(x_j − x̄₋ⱼ)), with Σₖ cₖ = l̃ⱼ checked on every firing, and the same
 * in a randomly rotated basis.
 * @module
 */
import { NumericalError } from "../errors.ts";
import type { Matrix } from "../linalg/mod.ts";
import type { HeadBasis } from "./basis.ts";

/** Relative error allowed between Σₖ cₖ and the directly computed l̃ (float64). */
export const SUM_CHECK_RTOL = 1e-6;

/** y = G x for a K×h matrix G and an h-vector x. */
export function project(g: Matrix, x: Float64Array): Float64Array {
  const out = new Float64Array(g.rows);
  const h = g.cols;
  for (let k = 0; k < g.rows; k++) {
    let acc = 0;
    const row = k * h;
    for (let i = 0; i < h; i++) acc += g.data[row + i]! * x[i]!;
    out[k] = acc;
  }
  return out;
}

/** The contributions of one firing and the logit they must sum to. */
export interface FiringContributions {
  /** cₖ, k = 1..K (unscaled bilinear units, like SAD/ACC). */
  c: Float64Array;
  /** l̃ computed directly as q·Δk (the oracle the sum is checked against). */
  lTilde: number;
  /** Query projections aₖ = uₖᵀx̃_d (used by the rotation control). */
  a: Float64Array;
  /** σₖ·bₖ = σₖ vₖᵀ(x_j − x̄₋ⱼ) (used by the rotation control). */
  sb: Float64Array;
}

/**
 * Contributions for a head-space query `q` (= W_Qᵀx_d + b_Q, rotated if rotary) and key
 * difference `dk` (= k_j − mean of the other keys). Throws `NumericalError` when
 * |Σₖcₖ − l̃| > 1e-6 · max(|l̃|, Σₖ|cₖ|) (the scale of the cancellation in the sum).
 */
export function firingContributions(
  basis: HeadBasis,
  q: Float64Array,
  dk: Float64Array,
  where = "",
): FiringContributions {
  const a = project(basis.gq, q);
  const b = project(basis.gk, dk);
  const k = basis.s.length;
  const c = new Float64Array(k);
  const sb = new Float64Array(k);
  let sum = 0;
  let abs = 0;
  for (let i = 0; i < k; i++) {
    sb[i] = basis.s[i]! * b[i]!;
    c[i] = a[i]! * sb[i]!;
    sum += c[i]!;
    abs += Math.abs(c[i]!);
  }
  let lTilde = 0;
  for (let i = 0; i < q.length; i++) lTilde += q[i]! * dk[i]!;
  checkSum(sum, lTilde, abs, where);
  return { c, lTilde, a, sb };
}

/**
 * Throws `NumericalError` unless |sum − l̃| ≤ 1e-6 · max(|l̃|, Σ|cₖ|) (`abs` = Σ|cₖ|).
 */
export function checkSum(sum: number, lTilde: number, abs: number, where: string): void {
  const scale = Math.max(Math.abs(lTilde), abs);
  if (!(Math.abs(sum - lTilde) <= SUM_CHECK_RTOL * scale) || !Number.isFinite(sum)) {
    throw new NumericalError(
      `SAD sum check failed${where ? ` at ${where}` : ""}: Σ contributions = ${sum} but the ` +
        `relative logit is ${lTilde} (relative error ${
          Math.abs(sum - lTilde) / (scale || 1)
        } > ${SUM_CHECK_RTOL}); the head's SVD basis is inexact (rank-deficient W_Q/W_K?) — ` +
        "try --bias augmented",
    );
  }
}

/**
 * Contributions in the rotated basis Ũ = UQ (method.md §3.6): c̃ₖ = (Qᵀa)ₖ · (QᵀΣb)ₖ, whose sum
 * is again l̃ (checked).
 */
export function rotatedContributions(
  rotation: Matrix,
  f: FiringContributions,
  where = "",
): Float64Array {
  const k = f.c.length;
  const out = new Float64Array(k);
  let sum = 0, abs = 0;
  for (let j = 0; j < k; j++) {
    let qa = 0, qb = 0;
    for (let i = 0; i < k; i++) {
      const qij = rotation.data[i * k + j]!;
      qa += qij * f.a[i]!;
      qb += qij * f.sb[i]!;
    }
    out[j] = qa * qb;
    sum += out[j]!;
    abs += Math.abs(out[j]!);
  }
  checkSum(sum, f.lTilde, abs, where ? `${where} (rotated basis)` : "rotated basis");
  return out;
}
