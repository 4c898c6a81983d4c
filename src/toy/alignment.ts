/**
 * Alignment analysis (method.md §2.5): SVD of Ω, |cos| between feature directions and
 * singular vectors, Hungarian matching of target pairs to triplets, the σ gap, subspace
 * alignment (principal angles) and feature orthogonalisation.
 * @module
 */
import type { ToyConfig } from "./config.ts";
import { omega, type ToyParams } from "./model.ts";
import { matrix, qr, svd, type SvdResult } from "./_linalg.ts";
import { maxAssignment } from "./_hungarian.ts";

/** How one target pair (a, b) matched a singular triplet. */
export interface PairMatch {
  /** Query feature a. */
  query: number;
  /** Key feature b. */
  key: number;
  /** Matched triplet index k (0-based: 0 is σ_1). */
  triplet: number;
  /** |cos(w_a, u_k)|. */
  cosQuery: number;
  /** |cos(w_b, v_k)|. */
  cosKey: number;
  /** σ_k. */
  sigma: number;
}

/** Everything the alignment analysis computes for one parameter state. */
export interface Alignment {
  /** SVD of Ω (float64); K = min(D, H) triplets are analysed. */
  svd: SvdResult;
  /** Number of triplets analysed. */
  triplets: number;
  /** σ_1..σ_K. */
  sigma: number[];
  /** |cos(w_i, u_k)|, N×K row-major. */
  cosU: Float64Array;
  /** |cos(w_i, v_k)|, N×K row-major. */
  cosV: Float64Array;
  /** Hungarian matching maximising ½(|cos(w_a,u_k)| + |cos(w_b,v_k)|) summed over pairs. */
  matches: PairMatch[];
  /** Mean over pairs of ½(cosQuery + cosKey) (the "avg cos" of §2.5). */
  meanMatchedCos: number;
  /** σ_P / σ_{P+1} for P pairs (NaN when P ≥ K); σ_1/σ_2 for one pair. */
  sigmaGap: number;
  /** Fraction of pairs matched into the top-P triplets. */
  topPFraction: number;
  /** Cosines of the principal angles between span{w_a} and span{u_1..u_P} (descending). */
  subspaceQuery: number[];
  /** Cosines of the principal angles between span{w_b} and span{v_1..v_P} (descending). */
  subspaceKey: number[];
}

/** Column i of W (D×N) as a unit vector. */
function unitColumn(W: ArrayLike<number>, d: number, n: number, i: number): Float64Array {
  const w = new Float64Array(d);
  let s = 0;
  for (let r = 0; r < d; r++) {
    w[r] = W[r * n + i]!;
    s += w[r]! ** 2;
  }
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let r = 0; r < d; r++) w[r]! *= inv;
  return w;
}

/** Runs the alignment analysis of `params` against the target pairs of `cfg`. */
export function analyzeAlignment(cfg: ToyConfig, params: ToyParams): Alignment {
  const { nFeatures: n, dModel: d, dHead: h } = cfg;
  const res = svd(matrix(d, d, omega(cfg, params)));
  const K = Math.min(d, h);
  const cosU = new Float64Array(n * K), cosV = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    const w = unitColumn(params.W, d, n, i);
    for (let k = 0; k < K; k++) {
      let cu = 0, cv = 0;
      for (let r = 0; r < d; r++) {
        cu += w[r]! * res.u.data[r * res.u.cols + k]!;
        cv += w[r]! * res.vt.data[k * d + r]!;
      }
      cosU[i * K + k] = Math.abs(cu);
      cosV[i * K + k] = Math.abs(cv);
    }
  }
  const P = cfg.pairs.length;
  const score = new Float64Array(P * K);
  cfg.pairs.forEach((pr, p) => {
    for (let k = 0; k < K; k++) {
      score[p * K + k] = 0.5 * (cosU[pr.query * K + k]! + cosV[pr.key * K + k]!);
    }
  });
  const assign = P <= K ? maxAssignment(score, P, K) : [];
  const matches: PairMatch[] = cfg.pairs.map((pr, p) => {
    const k = assign[p] ?? -1;
    return {
      query: pr.query,
      key: pr.key,
      triplet: k,
      cosQuery: k >= 0 ? cosU[pr.query * K + k]! : NaN,
      cosKey: k >= 0 ? cosV[pr.key * K + k]! : NaN,
      sigma: k >= 0 ? res.s[k]! : NaN,
    };
  });
  const meanMatchedCos = matches.reduce((a, mt) => a + 0.5 * (mt.cosQuery + mt.cosKey), 0) / P;
  const sigma = Array.from(res.s.subarray(0, K));
  const sigmaGap = P < K ? sigma[P - 1]! / sigma[P]! : NaN;
  const topPFraction = matches.filter((mt) => mt.triplet >= 0 && mt.triplet < P).length / P;
  const qFeat = [...new Set(cfg.pairs.map((pr) => pr.query))];
  const kFeat = [...new Set(cfg.pairs.map((pr) => pr.key))];
  const vCols = matrix(d, K);
  for (let r = 0; r < d; r++) {
    for (let k = 0; k < K; k++) vCols.data[r * K + k] = res.vt.data[k * d + r]!;
  }
  return {
    svd: res,
    triplets: K,
    sigma,
    cosU,
    cosV,
    matches,
    meanMatchedCos,
    sigmaGap,
    topPFraction,
    subspaceQuery: principalCosines(
      params.W,
      d,
      n,
      qFeat,
      res.u.data,
      res.u.cols,
      Math.min(qFeat.length, K),
    ),
    subspaceKey: principalCosines(params.W, d, n, kFeat, vCols.data, K, Math.min(kFeat.length, K)),
  };
}

/**
 * Cosines of the principal angles between span{W[:, feats]} and the span of the first `p`
 * columns of `basis` (D×cols, orthonormal columns), descending.
 */
export function principalCosines(
  W: ArrayLike<number>,
  d: number,
  n: number,
  feats: number[],
  basis: Float64Array,
  cols: number,
  p: number,
): number[] {
  if (feats.length === 0 || p === 0) return [];
  const F = matrix(d, feats.length);
  feats.forEach((f, c) => {
    for (let r = 0; r < d; r++) F.data[r * feats.length + c] = W[r * n + f]!;
  });
  const Q = qr(F).q;
  const kq = Q.cols;
  const M = matrix(kq, p);
  for (let a = 0; a < kq; a++) {
    for (let b = 0; b < p; b++) {
      let s = 0;
      for (let r = 0; r < d; r++) s += Q.data[r * kq + a]! * basis[r * cols + b]!;
      M.data[a * p + b] = s;
    }
  }
  return Array.from(svd(M).s, (x) => Math.min(1, x));
}

/** Mean |cos| between feature directions, split into attended/non-attended groups. */
export interface FeatureOrthogonality {
  /** Mean |cos(w_i, w_j)| over distinct attended features i ≠ j. */
  attendedAttended: number;
  /** Mean |cos(w_i, w_j)| over attended i and non-attended j. */
  attendedOther: number;
  /** Mean |cos(w_i, w_j)| over distinct non-attended features i ≠ j. */
  otherOther: number;
  /** |cos(w_i, w_j)|, N×N row-major. */
  cos: Float64Array;
}

/** Feature orthogonalisation statistics of W (attended = features in any target pair). */
export function featureOrthogonality(cfg: ToyConfig, W: ArrayLike<number>): FeatureOrthogonality {
  const { nFeatures: n, dModel: d } = cfg;
  const cols = Array.from({ length: n }, (_, i) => unitColumn(W, d, n, i));
  const cos = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < d; r++) s += cols[i]![r]! * cols[j]![r]!;
      cos[i * n + j] = Math.abs(s);
    }
  }
  const att = new Set(cfg.pairs.flatMap((pr) => [pr.query, pr.key]));
  const acc = { aa: [0, 0], ao: [0, 0], oo: [0, 0] };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const g = att.has(i) ? (att.has(j) ? acc.aa : acc.ao) : att.has(j) ? null : acc.oo;
      if (!g) continue;
      g[0]! += cos[i * n + j]!;
      g[1]!++;
    }
  }
  const mean = (g: number[]) => (g[1]! > 0 ? g[0]! / g[1]! : NaN);
  return {
    attendedAttended: mean(acc.aa),
    attendedOther: mean(acc.ao),
    otherOther: mean(acc.oo),
    cos,
  };
}
