/**
 * Per-head summaries of SAD results: the N_recon distribution and sparseness statistics, in the
 * SVD basis and under the random-rotation control.
 * @module
 */
import type { FiringResult } from "./analyse.ts";

/** Statistics of one basis (SVD or rotated). */
export interface BasisStats {
  /** Mean N_recon over analysed firings (l̃ > 0); NaN when none. */
  meanNRecon: number;
  /** Median N_recon. */
  medianNRecon: number;
  /** histogram[n − 1] = number of firings with N_recon = n, n = 1..K. */
  histogram: number[];
  /** Mean Rolls–Tovee sparseness (lower = sparser). */
  meanSparseness: number;
  /** Median sparseness. */
  medianSparseness: number;
}

/** Summary of one head. */
export interface HeadSummary {
  /** Head as "L.H". */
  head: string;
  /** Firings decomposed (threshold + canonical). */
  nFirings: number;
  /** Firings dropped because l̃ ≤ 0 (ACC rule). */
  nDropped: number;
  /** Statistics in the SVD basis. */
  svd: BasisStats;
  /** Statistics in the randomly rotated basis. */
  rotated: BasisStats;
  /** Statistics of the canonical IOI pair only (when the head has a type and it was analysed). */
  canonical?: { type: string; n: number; svd: BasisStats; rotated: BasisStats };
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

/** Statistics of N_recon / sparseness lists (K = number of singular triplets). */
export function basisStats(nRecons: number[], sparse: number[], k: number): BasisStats {
  const histogram = new Array<number>(k).fill(0);
  for (const n of nRecons) histogram[n - 1] = (histogram[n - 1] ?? 0) + 1;
  return {
    meanNRecon: mean(nRecons),
    medianNRecon: median(nRecons),
    histogram,
    meanSparseness: mean(sparse),
    medianSparseness: median(sparse),
  };
}

function stats(firings: FiringResult[], k: number, rotated: boolean): BasisStats {
  const kept = firings.filter((f) => f.nRecon !== undefined);
  return basisStats(
    kept.map((f) => (rotated ? f.rotatedNRecon : f.nRecon)!).filter((n) => n !== undefined),
    kept.map((f) => (rotated ? f.rotatedSparseness : f.sparseness)).filter(Number.isFinite),
    k,
  );
}

/** Summarises one head's firings (K = number of singular triplets). */
export function summarizeHead(
  layer: number,
  head: number,
  firings: FiringResult[],
  k: number,
): HeadSummary {
  const summary: HeadSummary = {
    head: `${layer}.${head}`,
    nFirings: firings.length,
    nDropped: firings.filter((f) => f.nRecon === undefined).length,
    svd: stats(firings, k, false),
    rotated: stats(firings, k, true),
  };
  const canon = firings.filter((f) => f.reason !== "threshold");
  if (canon.length > 0) {
    summary.canonical = {
      type: canon[0]!.reason,
      n: canon.filter((f) => f.nRecon !== undefined).length,
      svd: stats(canon, k, false),
      rotated: stats(canon, k, true),
    };
  }
  return summary;
}
