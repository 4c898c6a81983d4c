/**
 * Summaries of one head's singular values: the spectrum itself, numerical rank, an entropy-based
 * effective rank, and near-degeneracy flags (whose singular vectors are only defined up to a
 * rotation inside the degenerate block).
 * @module
 */
import type { SvdResult } from "../linalg/mod.ts";

/** What svlens reports about one head's spectrum. */
export interface SpectrumSummary {
  /** Singular values, descending, unscaled. */
  singularValues: number[];
  /** Number above the null cutoff (the SVD's `rank`). */
  numericalRank: number;
  /** exp(entropy of σ/Σσ) (Roy & Vetterli 2007); 1 for rank one, k for k equal values. */
  effectiveRank: number;
  /** Per triplet: within the degeneracy tolerance of a neighbour. */
  nearDegenerate: boolean[];
  /** Whether any triplet among the numerically non-zero ones is near-degenerate. */
  hasDegeneracy: boolean;
}

/**
 * Entropy effective rank exp(−Σ p_k log p_k), p_k = σ_k / Σσ (0 for an all-zero spectrum).
 *
 * @example
 * ```ts
 * import { effectiveRank } from "./spectrum.ts";
 * if (Math.abs(effectiveRank([2, 2, 0]) - 2) > 1e-12) throw new Error("two equal values → 2");
 * ```
 */
export function effectiveRank(s: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < s.length; i++) total += Math.abs(s[i]!);
  if (!(total > 0)) return 0;
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    const p = Math.abs(s[i]!) / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/** Summarises an SVD result. */
export function summarizeSpectrum(result: SvdResult): SpectrumSummary {
  const singularValues = Array.from(result.s);
  const nearDegenerate = [...result.nearDegenerate];
  return {
    singularValues,
    numericalRank: result.rank,
    effectiveRank: effectiveRank(result.s),
    nearDegenerate,
    hasDegeneracy: nearDegenerate.some((flag, k) => flag && k < result.rank),
  };
}
