/**
 * The closed-form oracle of method.md §2.7: for a target pair (a, b) the optimal Ω is rank one
 * with u_1 ∝ Σ_R⁺ x_a and v_1 ∝ Σ_S⁺ y_b, where (Bernoulli(p)·Uniform[0,1] features,
 * x = W f + μ) Σ_R = E[x xᵀ], x_a = E[f_a x]; the key side uses the same moments for the MSE
 * loss and the centred ones (Cov(x), E[f_a (x − E x)]) for cross-entropy, whose softmax is
 * shift-invariant over keys. All in float64; pseudo-inverses via a symmetric eigensolver.
 * @module
 */
import type { ToyConfig } from "./config.ts";
import type { ToyParams } from "./model.ts";
import { eigh, matrix } from "./_linalg.ts";

/** Predicted singular directions of one target pair. */
export interface TheoryPrediction {
  /** Unit vector ∝ Σ_R⁺ x_a (D). */
  u: Float64Array;
  /** Unit vector ∝ Σ_S⁺ y_b (D). */
  v: Float64Array;
}

/** Moments of x = W f + μ: second moment, covariance and the per-feature cross moments. */
export interface TokenMoments {
  /** E[x] (D). */
  mean: Float64Array;
  /** E[x xᵀ] (D×D). */
  second: Float64Array;
  /** Cov(x) (D×D). */
  cov: Float64Array;
}

/** E[x], E[x xᵀ], Cov(x) in closed form for the given W and μ. */
export function tokenMoments(
  cfg: ToyConfig,
  W: ArrayLike<number>,
  mu: Float64Array | null,
): TokenMoments {
  const { nFeatures: n, dModel: d, featureProb: p } = cfg;
  const v = p / 3 - (p * p) / 4; // Var(f_i)
  const mean = new Float64Array(d);
  for (let r = 0; r < d; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += W[r * n + i]!;
    mean[r] = (p / 2) * s + (mu ? mu[r]! : 0);
  }
  const cov = new Float64Array(d * d);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += W[r * n + i]! * W[c * n + i]!;
      cov[r * d + c] = v * s;
    }
  }
  const second = new Float64Array(d * d);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) second[r * d + c] = cov[r * d + c]! + mean[r]! * mean[c]!;
  }
  return { mean, second, cov };
}

/** Σ⁺ y for a symmetric PSD D×D Σ (eigenvalues ≤ rtol·λ_max treated as zero). */
export function pinvApply(
  sigma: Float64Array,
  d: number,
  y: Float64Array,
  rtol = 1e-10,
): Float64Array {
  const sym = new Float64Array(d * d);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) sym[r * d + c] = 0.5 * (sigma[r * d + c]! + sigma[c * d + r]!);
  }
  const { values, vectors } = eigh(matrix(d, d, sym));
  const lmax = Math.max(...Array.from(values, Math.abs));
  const out = new Float64Array(d);
  for (let k = 0; k < d; k++) {
    const lam = values[k]!;
    if (!(lam > rtol * lmax)) continue;
    let proj = 0;
    for (let r = 0; r < d; r++) proj += vectors.data[r * d + k]! * y[r]!;
    for (let r = 0; r < d; r++) out[r]! += (vectors.data[r * d + k]! * proj) / lam;
  }
  return out;
}

function unit(x: Float64Array): Float64Array {
  let s = 0;
  for (const v of x) s += v * v;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  return x.map((v) => v * inv);
}

/** Predicted (u, v) for each target pair of `cfg` at parameters `params`. */
export function theoryPredictions(
  cfg: ToyConfig,
  params: ToyParams,
  mu: Float64Array | null,
): TheoryPrediction[] {
  const { nFeatures: n, dModel: d, featureProb: p } = cfg;
  const W = params.W;
  const mom = tokenMoments(cfg, W, mu);
  const v = p / 3 - (p * p) / 4;
  const keySigma = cfg.attnLoss === "ce" ? mom.cov : mom.second;
  return cfg.pairs.map((pr) => {
    // x_a = E[f_a x] = W E[f_a f] + E[f_a] μ with E[f_a f] = v e_a + (p²/4) 1.
    const xa = new Float64Array(d);
    const yb = new Float64Array(d);
    for (let r = 0; r < d; r++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += W[r * n + i]!;
      xa[r] = v * W[r * n + pr.query]! + (p * p / 4) * s + (mu ? (p / 2) * mu[r]! : 0);
      yb[r] = cfg.attnLoss === "ce"
        ? v * W[r * n + pr.key]!
        : v * W[r * n + pr.key]! + (p * p / 4) * s + (mu ? (p / 2) * mu[r]! : 0);
    }
    return { u: unit(pinvApply(mom.second, d, xa)), v: unit(pinvApply(keySigma, d, yb)) };
  });
}

/** |cos| between two vectors. */
export function absCos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! ** 2;
    bb += b[i]! ** 2;
  }
  return aa > 0 && bb > 0 ? Math.abs(ab) / Math.sqrt(aa * bb) : 0;
}
