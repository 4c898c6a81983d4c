/**
 * Runs a preset end to end: training, alignment, theory oracle, feature orthogonalisation,
 * anisotropy statistics and toy SAD, for one configuration or each point of a sweep.
 * @module
 */
import type { ToyConfig } from "./config.ts";
import type { Preset } from "./presets.ts";
import { sampleBatch } from "./data.ts";
import { initParams } from "./model.ts";
import { train, type TrainResult } from "./train.ts";
import {
  type Alignment,
  analyzeAlignment,
  type FeatureOrthogonality,
  featureOrthogonality,
} from "./alignment.ts";
import {
  compareWithOptimum,
  type TheoryComparison,
  type TheoryOptimum,
  theoryOptimum,
  tokenMoments,
} from "./theory.ts";
import { type ToySad, toySad } from "./sad.ts";
import { Rng } from "./_linalg.ts";

/** Queries in the held-out batch used for toy SAD. */
export const SAD_QUERIES = 2048;

/** Everything computed for one trained configuration. */
export interface PointResult {
  /** Configuration of this point. */
  config: ToyConfig;
  /** Training output (final parameters, curve). */
  train: TrainResult;
  /** Final alignment. */
  alignment: Alignment;
  /** The theory oracle Ω* (method.md §2.7) at the trained W and μ. */
  optimum: TheoryOptimum;
  /** Trained triplets vs Ω*'s, rank by rank. */
  theory: TheoryComparison;
  /** Feature orthogonality at initialisation and after training. */
  orthogonality: { init: FeatureOrthogonality; final: FeatureOrthogonality };
  /** Toy SAD on a held-out batch. */
  sad: ToySad;
  /** Flat numeric summary (the `--json` keys). */
  summary: Record<string, number>;
}

/** A finished experiment: one point, or one per sweep value. */
export interface ExperimentResult {
  /** The preset that ran (with overrides applied). */
  preset: Preset;
  /** Points in sweep order (one for non-sweeps). */
  points: PointResult[];
  /** Wall time in seconds. */
  seconds: number;
}

/** Progress callbacks. */
export interface ExperimentOptions {
  /** Called after each training step of each point. */
  onStep?: (point: number, step: number, loss: number) => void;
}

const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;

/** Trains and analyses one configuration. */
export function runPoint(
  cfg: ToyConfig,
  onStep?: (step: number, loss: number) => void,
): PointResult {
  const tr = train(cfg, { onStep });
  const al = analyzeAlignment(cfg, tr.params);
  const optimum = theoryOptimum(cfg, tr.params.W, tr.mu);
  const theory = compareWithOptimum(al.svd, optimum.svd, cfg.pairs.length);
  const d = cfg.dModel;
  const init = initParams(cfg, new Rng(cfg.seed), new Float32Array(0));
  const orthogonality = {
    init: featureOrthogonality(cfg, init.W),
    final: featureOrthogonality(cfg, tr.params.W),
  };
  const evalRng = new Rng(cfg.seed + 2);
  const sad = toySad(
    cfg,
    tr.params,
    al.svd,
    sampleBatch(cfg, evalRng, SAD_QUERIES),
    tr.mu,
    evalRng,
  );
  const mom = tokenMoments(cfg, tr.params.W, tr.mu);
  let normEX = 0, trace = 0;
  for (let r = 0; r < d; r++) {
    normEX += mom.mean[r]! ** 2;
    trace += mom.second[r * d + r]!;
  }
  normEX = Math.sqrt(normEX);
  const last = tr.snapshots[tr.snapshots.length - 1]!;
  const first = al.matches[0]!;
  const P = cfg.pairs.length;
  const byWeight = [...cfg.pairs.keys()].sort((a, b) =>
    cfg.pairs[b]!.weight - cfg.pairs[a]!.weight
  );
  const summary: Record<string, number> = {
    cosQuery: first.cosQuery,
    cosKey: first.cosKey,
    matchedTriplet: first.triplet + 1,
    sigmaRatio: al.sigma[0]! / al.sigma[1]!,
    sigmaGap: al.sigmaGap,
    // Trained triplet k vs Ω*'s triplet k, k = 1..R (R = number of pairs unless Ω* has lower
    // rank): mean of ½(|cos(u_k,u*_k)| + |cos(v_k,v*_k)|), its two halves, the principal-angle
    // cosines between the top-R spans, and the largest gap between σ_k/σ_1 and σ*_k/σ*_1.
    theoryCos: mean([...theory.cosU, ...theory.cosV]),
    theoryCosQuery: mean(theory.cosU),
    theoryCosKey: mean(theory.cosV),
    theoryMinCos: Math.min(...theory.cosU, ...theory.cosV),
    theoryRanks: theory.ranks,
    theorySubspaceQuery: mean(theory.subspaceU),
    theorySubspaceKey: mean(theory.subspaceV),
    theorySubspaceMin: Math.min(...theory.subspaceU, ...theory.subspaceV),
    theorySigmaRatioMaxDiff: Math.max(
      ...theory.sigmaRatio.map((r, k) => Math.abs(r - theory.optimumSigmaRatio[k]!)),
    ),
    meanMatchedCos: al.meanMatchedCos,
    minMatchedCos: Math.min(...al.matches.map((mt) => Math.min(mt.cosQuery, mt.cosKey))),
    topPFraction: al.topPFraction,
    // The k-th heaviest pair should sit on triplet k.
    pairsOnOwnRank: al.matches.filter((mt, p) => byWeight[mt.triplet] === p).length / P,
    subspaceQuery: mean(al.subspaceQuery),
    subspaceKey: mean(al.subspaceKey),
    subspaceMin: Math.min(...al.subspaceQuery, ...al.subspaceKey),
    sigmaPerTarget: mean(
      al.matches.map((mt, p) => mt.sigma / (cfg.pairs[p]!.weight * cfg.targetScale)),
    ),
    normEX,
    rho: normEX / Math.sqrt(trace),
    orthoAttendedOtherInit: orthogonality.init.attendedOther,
    orthoAttendedOther: orthogonality.final.attendedOther,
    orthoAttendedAttended: orthogonality.final.attendedAttended,
    orthoOtherOther: orthogonality.final.otherOther,
    sadTargetFirings: sad.target.firings,
    sadTargetNRecon1: sad.target.fractionNRecon1,
    sadTargetMeanNRecon: sad.target.meanNRecon,
    sadTargetRotatedMeanNRecon: sad.targetRotated.meanNRecon,
    sadTargetSparseness: sad.target.meanSparseness,
    sadTargetTopShare: sad.target.meanTopShare,
    sadTargetRotatedTopShare: sad.targetRotated.meanTopShare,
    sadTargetRotatedSparseness: sad.targetRotated.meanSparseness,
    sadOtherMeanNRecon: sad.other.meanNRecon,
    sadOtherRotatedMeanNRecon: sad.otherRotated.meanNRecon,
    finalLoss: last.loss,
    finalRecon: last.recon,
    finalAttn: last.attn,
    trainSeconds: tr.seconds,
    stepsPerSecond: cfg.steps / tr.seconds,
  };
  return {
    config: cfg,
    train: tr,
    alignment: al,
    optimum,
    theory,
    orthogonality,
    sad,
    summary,
  };
}

/** Runs `preset` (every sweep point in order, each from the same seed). */
export function runExperiment(preset: Preset, options: ExperimentOptions = {}): ExperimentResult {
  const t0 = performance.now();
  const configs = preset.sweep
    ? preset.sweep.values.map((v) => ({ ...preset.config, [preset.sweep!.field]: v }))
    : [preset.config];
  const points = configs.map((cfg, i) =>
    runPoint(cfg, options.onStep && ((s, l) => options.onStep!(i, s, l)))
  );
  return { preset, points, seconds: (performance.now() - t0) / 1000 };
}
