/**
 * One head's SAD basis: the SVD of its QK bilinear form, expressed so that projections onto the
 * singular vectors can be taken from the head-space query and key vectors (method.md §3.1, §4.3,
 * §4.5). With W_a = Q₁R₁ and W_b = Q₂R₂ (thin QR) and the core R₁R₂ᵀ = ÛΣV̂ᵀ, the singular
 * vectors are U = Q₁Û, V = Q₂V̂, and for any residual x̃: uₖᵀx̃ = (G_q W_aᵀx̃)ₖ with
 * G_q = ÛᵀR₁⁻ᵀ (likewise G_k = V̂ᵀR₂⁻ᵀ). Because W_aᵀx̃ is exactly the head's query vector
 * q = W_Qᵀx + b_Q for every bias variant, one basis object serves all three variants.
 * @module
 */
import { matmul, type Matrix, pinv, qr, svd, transpose } from "../linalg/mod.ts";
import type { HeadWeights as CircuitHeadWeights } from "../circuits/mod.ts";
// [W; bᵀ] ((d+1)×h), the bias-augmented factor; circuits' mod.ts does not re-export it.
import { appendRow } from "../circuits/head_weights.ts";

/**
 * How the Q/K biases enter the decomposition (method.md §4.3):
 * - `offset` (C, ACC++; default): SVD of Ω = W_Q W_Kᵀ, b_Q as the residual offset c_d = b_Q W_Q⁺.
 * - `augmented` (A, SAD 2024): SVD of the (d+1)×(d+1) Ω̃ = [W_Q; b_Qᵀ][W_K; b_Kᵀ]ᵀ.
 * - `source` (B, ACC 2025 source side): SVD of Ω_s = [W_Q; b_Qᵀ] W_Kᵀ ((d+1)×d).
 */
export type BiasVariant = "offset" | "augmented" | "source";

/** The SVD of one head's QK circuit in the form SAD needs. */
export interface HeadBasis {
  /** Singular values σ₁ ≥ σ₂ ≥ … (K = d_head of them), of the UNSCALED bilinear form. */
  s: Float64Array;
  /** K×d_head: a = G_q q gives aₖ = uₖᵀx̃_d for the head-space query q. */
  gq: Matrix;
  /** K×d_head: b = G_k k gives bₖ = vₖᵀx̃_s for the head-space key k. */
  gk: Matrix;
  /** The bias variant this basis was built for. */
  variant: BiasVariant;
}

/** The query/key part of a head's float64 weights (circuits' `headWeights`, TL layout). */
export type QkWeights = Pick<CircuitHeadWeights, "wQ" | "bQ" | "wK" | "bK">;

/**
 * The SAD basis of one head for `variant` (default `offset`): K = d_head triplets, computed from
 * the thin factors (never forming the d_model×d_model matrix). Rank-deficient factors are
 * handled through pseudo-inverses; the per-firing sum check then reports any inexactness.
 */
export function headBasis(weights: QkWeights, variant: BiasVariant = "offset"): HeadBasis {
  const wa = variant === "offset" ? weights.wQ : appendRow(weights.wQ, weights.bQ);
  const wb = variant === "augmented" ? appendRow(weights.wK, weights.bK) : weights.wK;
  const r1 = qr(wa).r;
  const r2 = qr(wb).r;
  const core = matmul(r1, transpose(r2));
  const { u, s, vt } = svd(core);
  // G_q = Ûᵀ R₁⁻ᵀ = (R₁⁻¹ Û)ᵀ by back substitution; a rank-deficient R uses the pseudo-inverse.
  const gq = transpose(upperSolve(r1, u) ?? matmul(pinv(r1), u));
  const vhat = transpose(vt);
  const gk = transpose(upperSolve(r2, vhat) ?? matmul(pinv(r2), vhat));
  return { s, gq, gk, variant };
}

/**
 * R⁻¹B for an n×n upper-triangular R (back substitution), or `undefined` when R is numerically
 * singular (a diagonal entry ≤ n·eps·max|diag|).
 */
function upperSolve(r: Matrix, b: Matrix): Matrix | undefined {
  const n = r.rows, m = b.cols;
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(r.data[i * n + i]!));
  for (let i = 0; i < n; i++) {
    if (!(Math.abs(r.data[i * n + i]!) > n * 2.220446049250313e-16 * maxDiag)) return undefined;
  }
  const x = Float64Array.from(b.data);
  for (let i = n - 1; i >= 0; i--) {
    const inv = 1 / r.data[i * n + i]!;
    for (let j = 0; j < m; j++) {
      let acc = x[i * m + j]!;
      for (let k = i + 1; k < n; k++) acc -= r.data[i * n + k]! * x[k * m + j]!;
      x[i * m + j] = acc * inv;
    }
  }
  return { rows: n, cols: m, data: x };
}
