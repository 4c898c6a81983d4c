/**
 * Sparse Attention Decomposition in the toy model (method.md §2.8, §3): per firing
 * (query, key j with attention ≥ 1/m) the relative logit l~_j = l_j − mean_{i≠j} l_i splits
 * into K contributions c_k = σ_k (xᵀu_k) v_kᵀ(s_j − s̄_{−j}); N_recon and Rolls–Tovee sparseness
 * are reported for firings driven by a target pair (query has f_a > 0, key j has f_b > 0 and is
 * the target's top key) and for all other firings, in the SVD basis and in a Haar-randomly
 * rotated basis (the control).
 * @module
 */
import type { ToyConfig } from "./config.ts";
import type { ToyBatch } from "./data.ts";
import type { ToyParams } from "./model.ts";
import type { SvdResult } from "./_linalg.ts";
import { haarOrthogonal, type Rng } from "./_linalg.ts";
import { nRecon, sparseness } from "../sad/metrics.ts";

/** Summary statistics of one group of firings. */
export interface SadGroup {
  /** Number of firings with a positive relative logit (the analysed ones). */
  firings: number;
  /** Histogram: counts[n−1] = firings with N_recon = n (n = 1..K). */
  nReconCounts: number[];
  /** Mean N_recon. */
  meanNRecon: number;
  /** Fraction with N_recon = 1. */
  fractionNRecon1: number;
  /** Mean Rolls–Tovee sparseness of c. */
  meanSparseness: number;
  /** Mean share of the relative logit carried by the largest contribution, max_k c_k / l~. */
  meanTopShare: number;
}

/** Toy SAD results in the SVD basis and in the rotated control basis. */
export interface ToySad {
  /** Triplets K. */
  triplets: number;
  /** Target-pair firings, SVD basis. */
  target: SadGroup;
  /** All other firings, SVD basis. */
  other: SadGroup;
  /** Target-pair firings, randomly rotated basis. */
  targetRotated: SadGroup;
  /** Other firings, randomly rotated basis. */
  otherRotated: SadGroup;
}

/** Token representation x = W f + μ of token t (float64). */
function token(
  cfg: ToyConfig,
  params: ToyParams,
  batch: ToyBatch,
  t: number,
  mu: Float64Array | null,
): Float64Array {
  const { nFeatures: n, dModel: d } = cfg;
  const x = mu ? Float64Array.from(mu) : new Float64Array(d);
  const { ptr, idx, val } = batch.features;
  for (let q = ptr[t]!; q < ptr[t + 1]!; q++) {
    const i = idx[q]!, f = val[q]!;
    for (let r = 0; r < d; r++) x[r]! += params.W[r * n + i]! * f;
  }
  return x;
}

function group(nrs: number[], sps: number[], tops: number[], K: number): SadGroup {
  const counts = new Array<number>(K).fill(0);
  for (const v of nrs) counts[v - 1]!++;
  const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);
  return {
    firings: nrs.length,
    nReconCounts: counts,
    meanNRecon: mean(nrs),
    fractionNRecon1: nrs.length ? counts[0]! / nrs.length : NaN,
    meanSparseness: mean(sps),
    meanTopShare: mean(tops),
  };
}

/** Runs toy SAD on `batch` with the SVD `res` of Ω; `rng` draws the control rotation. */
export function toySad(
  cfg: ToyConfig,
  params: ToyParams,
  res: SvdResult,
  batch: ToyBatch,
  mu: Float64Array | null,
  rng: Rng,
): ToySad {
  const { dModel: d, dHead: h } = cfg;
  const K = Math.min(d, h);
  const m = batch.keysPerQuery;
  const B = batch.batchSize;
  const U = res.u.data, uc = res.u.cols, Vt = res.vt.data;
  const Q = haarOrthogonal(K, rng).data;
  // Rotated left basis Ũ = U Q (D×K) and Ũᵀ Ω = Qᵀ Σ Vᵀ (K×D).
  const Ur = new Float64Array(d * K), UrOmega = new Float64Array(K * d);
  for (let r = 0; r < d; r++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let l = 0; l < K; l++) s += U[r * uc + l]! * Q[l * K + k]!;
      Ur[r * K + k] = s;
    }
  }
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let l = 0; l < K; l++) s += Q[l * K + k]! * res.s[l]! * Vt[l * d + c]!;
      UrOmega[k * d + c] = s;
    }
  }
  const acc = { t: [[], [], []], o: [[], [], []], tr: [[], [], []], or: [[], [], []] } as Record<
    string,
    [number[], number[], number[]]
  >;
  // Σc in index order: the N_recon total (positive ⇔ analysed) and the top-share denominator.
  const total = (v: Float64Array) => {
    let tot = 0;
    for (const x of v) tot += x;
    return tot;
  };
  const topShare = (v: Float64Array, tot: number) => {
    let mx = -Infinity;
    for (const x of v) mx = Math.max(mx, x);
    return mx / tot;
  };
  const { ptr, idx, val } = batch.features;
  const feat = (t: number, i: number) => {
    for (let q = ptr[t]!; q < ptr[t + 1]!; q++) if (idx[q] === i) return val[q]!;
    return 0;
  };
  const c = new Float64Array(K), cr = new Float64Array(K);
  for (let b = 0; b < B; b++) {
    const x = token(cfg, params, batch, b, mu);
    const keys = Array.from({ length: m }, (_, j) => token(cfg, params, batch, B + b * m + j, mu));
    // Projections: a_k = σ_k xᵀu_k, per key β_jk = v_kᵀ s_j.
    const xu = new Float64Array(K), xur = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      let s = 0, sr = 0;
      for (let r = 0; r < d; r++) {
        s += x[r]! * U[r * uc + k]!;
        sr += x[r]! * Ur[r * K + k]!;
      }
      xu[k] = res.s[k]! * s;
      xur[k] = sr;
    }
    const beta = keys.map((s) => {
      const o = new Float64Array(2 * K);
      for (let k = 0; k < K; k++) {
        let a = 0, ar = 0;
        for (let r = 0; r < d; r++) {
          a += Vt[k * d + r]! * s[r]!;
          ar += UrOmega[k * d + r]! * s[r]!;
        }
        o[k] = a;
        o[K + k] = ar;
      }
      return o;
    });
    const logits = beta.map((bj) => {
      let l = 0;
      for (let k = 0; k < K; k++) l += xu[k]! * bj[k]!;
      return l;
    });
    const mx = Math.max(...logits);
    const ex = logits.map((l) => Math.exp(l - mx));
    const z = ex.reduce((a, v) => a + v, 0);
    const tl = batch.targetLogits.subarray(b * m, (b + 1) * m);
    let topTarget = 0;
    for (let j = 1; j < m; j++) if (tl[j]! > tl[topTarget]!) topTarget = j;
    for (let j = 0; j < m; j++) {
      if (ex[j]! / z < 1 / m) continue; // ACC analyses firings with A ≥ 1/m only
      for (let k = 0; k < K; k++) {
        let mean = 0, meanR = 0;
        for (let i = 0; i < m; i++) {
          if (i === j) continue;
          mean += beta[i]![k]!;
          meanR += beta[i]![K + k]!;
        }
        c[k] = xu[k]! * (beta[j]![k]! - mean / (m - 1));
        cr[k] = xur[k]! * (beta[j]![K + k]! - meanR / (m - 1));
      }
      const isTarget = j === topTarget && tl[j]! > 0 &&
        cfg.pairs.some((pr) => feat(b, pr.query) > 0 && feat(B + b * m + j, pr.key) > 0);
      const tot = total(c), totr = total(cr);
      const nr = nRecon(c, tot), nrr = nRecon(cr, totr);
      if (nr !== undefined) {
        const g = isTarget ? acc.t! : acc.o!;
        g[0].push(nr);
        g[1].push(sparseness(c));
        g[2].push(topShare(c, tot));
      }
      if (nrr !== undefined) {
        const g = isTarget ? acc.tr! : acc.or!;
        g[0].push(nrr);
        g[1].push(sparseness(cr));
        g[2].push(topShare(cr, totr));
      }
    }
  }
  return {
    triplets: K,
    target: group(acc.t![0], acc.t![1], acc.t![2], K),
    other: group(acc.o![0], acc.o![1], acc.o![2], K),
    targetRotated: group(acc.tr![0], acc.tr![1], acc.tr![2], K),
    otherRotated: group(acc.or![0], acc.or![1], acc.or![2], K),
  };
}
