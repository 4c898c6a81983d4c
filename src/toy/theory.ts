/**
 * The closed-form oracle of method.md §2.7. Minimising E[(rᵀΩs − t(r, s))²] over Ω gives the
 * normal equations Σ_R Ω Σ_S = Σ_ab T_ab x_a y_bᵀ, so the optimum is
 *
 *   Ω* = Σ_R⁺ (Σ_ab T_ab x_a y_bᵀ) Σ_S⁺,
 *
 * with (Bernoulli(p)·Uniform[0,1] features, x = W f + μ) Σ_R = E[x xᵀ] and x_a = E[f_a x]. The
 * key side uses the same moments for the MSE loss and the centred ones (Cov(x),
 * y_b = E[f_b (x − E x)]) for cross-entropy, whose softmax is shift-invariant over keys. For
 * one target pair Ω* is rank one with u_1 ∝ Σ_R⁺ x_a and v_1 ∝ Σ_S⁺ y_b
 * ({@linkcode theoryPredictions}); for several pairs its singular vectors mix the pairs under
 * anisotropy, so {@linkcode theoryOptimum} forms Ω* and takes its SVD. All in float64.
 * @module
 */
import type { ToyConfig } from "./config.ts";
import type { ToyParams } from "./model.ts";
import { type Matrix, matrix, pinv, svd, type SvdResult } from "./_linalg.ts";

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

/** Σ⁺ (D×D) of a symmetric PSD Σ; singular values ≤ rtol·σ_max count as zero. */
function pinvSym(sigma: Float64Array, d: number, rtol: number): Matrix {
  const sym = matrix(d, d);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) sym.data[r * d + c] = 0.5 * (sigma[r * d + c]! + sigma[c * d + r]!);
  }
  return pinv(sym, rtol);
}

function matVec(a: Matrix, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.rows);
  for (let r = 0; r < a.rows; r++) {
    let s = 0;
    for (let c = 0; c < a.cols; c++) s += a.data[r * a.cols + c]! * y[c]!;
    out[r] = s;
  }
  return out;
}

/** Σ⁺ y for a symmetric PSD D×D Σ (singular values ≤ rtol·σ_max treated as zero). */
export function pinvApply(
  sigma: Float64Array,
  d: number,
  y: Float64Array,
  rtol = 1e-10,
): Float64Array {
  return matVec(pinvSym(sigma, d, rtol), y);
}

/**
 * E[f_i x] = Var(f) w_i + (p²/4) Σ_j w_j + (p/2) μ, or with `centred` E[f_i (x − E x)] =
 * Var(f) w_i (from E[f_i f] = Var(f) e_i + (p²/4) 1).
 */
function crossMoment(
  cfg: ToyConfig,
  W: ArrayLike<number>,
  mu: Float64Array | null,
  feature: number,
  centred: boolean,
): Float64Array {
  const { nFeatures: n, dModel: d, featureProb: p } = cfg;
  const v = p / 3 - (p * p) / 4;
  const out = new Float64Array(d);
  for (let r = 0; r < d; r++) {
    out[r] = v * W[r * n + feature]!;
    if (centred) continue;
    let s = 0;
    for (let i = 0; i < n; i++) s += W[r * n + i]!;
    out[r]! += (p * p / 4) * s + (mu ? (p / 2) * mu[r]! : 0);
  }
  return out;
}

function unit(x: Float64Array): Float64Array {
  let s = 0;
  for (const v of x) s += v * v;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  return x.map((v) => v * inv);
}

/** Relative cutoff of the pseudo-inverses of Σ_R and Σ_S. */
const PINV_RTOL = 1e-10;

/**
 * The single-pair closed form: for each target pair of `cfg` on its own, u ∝ Σ_R⁺ x_a and
 * v ∝ Σ_S⁺ y_b at parameters `params`. Exact for one pair; for several pairs use
 * {@linkcode theoryOptimum}.
 */
export function theoryPredictions(
  cfg: ToyConfig,
  params: ToyParams,
  mu: Float64Array | null,
): TheoryPrediction[] {
  const d = cfg.dModel;
  const mom = tokenMoments(cfg, params.W, mu);
  const centred = cfg.attnLoss === "ce";
  const keySigma = centred ? mom.cov : mom.second;
  return cfg.pairs.map((pr) => ({
    u: unit(pinvApply(mom.second, d, crossMoment(cfg, params.W, mu, pr.query, false))),
    v: unit(pinvApply(keySigma, d, crossMoment(cfg, params.W, mu, pr.key, centred))),
  }));
}

/** The general optimum of method.md §2.7. */
export interface TheoryOptimum {
  /** Ω* = Σ_R⁺ (Σ_ab T_ab x_a y_bᵀ) Σ_S⁺, D×D row-major (T_ab = weight·targetScale). */
  omega: Float64Array;
  /** SVD of Ω* (D triplets; rank ≤ number of pairs). */
  svd: SvdResult;
}

/** Ω* for all target pairs of `cfg` at W (D×N) and offset μ, and its SVD. */
export function theoryOptimum(
  cfg: ToyConfig,
  W: ArrayLike<number>,
  mu: Float64Array | null,
): TheoryOptimum {
  const d = cfg.dModel;
  const mom = tokenMoments(cfg, W, mu);
  const centred = cfg.attnLoss === "ce";
  const rInv = pinvSym(mom.second, d, PINV_RTOL);
  const sInv = pinvSym(centred ? mom.cov : mom.second, d, PINV_RTOL);
  const omega = new Float64Array(d * d);
  for (const pr of cfg.pairs) {
    const a = matVec(rInv, crossMoment(cfg, W, mu, pr.query, false));
    const b = matVec(sInv, crossMoment(cfg, W, mu, pr.key, centred));
    const t = pr.weight * cfg.targetScale;
    for (let r = 0; r < d; r++) {
      for (let c = 0; c < d; c++) omega[r * d + c]! += t * a[r]! * b[c]!;
    }
  }
  return { omega, svd: svd(matrix(d, d, omega)) };
}

/** A trained Ω's top triplets compared with Ω*'s, rank by rank. */
export interface TheoryComparison {
  /** R = min(#pairs, rank Ω*, triplets of the trained SVD): ranks compared. */
  ranks: number;
  /** |cos(u_k, u*_k)| for k = 1..R. */
  cosU: number[];
  /** |cos(v_k, v*_k)| for k = 1..R. */
  cosV: number[];
  /** Trained σ_k/σ_1, k = 1..R. */
  sigmaRatio: number[];
  /** Ω*'s σ*_k/σ*_1, k = 1..R. */
  optimumSigmaRatio: number[];
  /** Cosines of the principal angles between span{u_1..u_R} and span{u*_1..u*_R}, descending. */
  subspaceU: number[];
  /** The same for the right singular vectors. */
  subspaceV: number[];
}

/** Column k of u and row k of vt of an SVD. */
function triplet(res: SvdResult, k: number): { u: Float64Array; v: Float64Array } {
  const u = new Float64Array(res.u.rows);
  for (let r = 0; r < u.length; r++) u[r] = res.u.data[r * res.u.cols + k]!;
  const n = res.vt.cols;
  return { u, v: res.vt.data.slice(k * n, (k + 1) * n) };
}

/** Cosines of the principal angles between the spans of two orthonormal sets, descending. */
export function spanCosines(a: ArrayLike<number>[], b: ArrayLike<number>[]): number[] {
  if (a.length === 0 || b.length === 0) return [];
  const m = matrix(a.length, b.length);
  a.forEach((x, i) => b.forEach((y, j) => (m.data[i * b.length + j] = dot(x, y))));
  return Array.from(svd(m).s, (s) => Math.min(1, s));
}

/**
 * Compares the SVD of a trained Ω with Ω*'s: triplet k with triplet k for the top
 * R = min(`pairs`, rank Ω*, trained triplets) ranks, the subspaces they span, and σ ratios.
 */
export function compareWithOptimum(
  trained: SvdResult,
  optimum: SvdResult,
  pairs: number,
): TheoryComparison {
  const ranks = Math.min(pairs, optimum.rank, trained.s.length);
  const t = Array.from({ length: ranks }, (_, k) => triplet(trained, k));
  const o = Array.from({ length: ranks }, (_, k) => triplet(optimum, k));
  return {
    ranks,
    cosU: t.map((x, k) => absCos(x.u, o[k]!.u)),
    cosV: t.map((x, k) => absCos(x.v, o[k]!.v)),
    sigmaRatio: t.map((_, k) => trained.s[k]! / trained.s[0]!),
    optimumSigmaRatio: o.map((_, k) => optimum.s[k]! / optimum.s[0]!),
    subspaceU: spanCosines(t.map((x) => x.u), o.map((x) => x.u)),
    subspaceV: spanCosines(t.map((x) => x.v), o.map((x) => x.v)),
  };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** |cos| between two vectors. */
export function absCos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const aa = dot(a, a), bb = dot(b, b);
  return aa > 0 && bb > 0 ? Math.abs(dot(a, b)) / Math.sqrt(aa * bb) : 0;
}
