/**
 * The toy model of "Singular Vectors of Attention Heads Align with Features" (method.md §2):
 * sparse features, an autoencoder plus one attention head trained with AdamW, and the analyses
 * (alignment, theory oracle, feature orthogonalisation, anisotropy, toy SAD).
 *
 * @example
 * ```ts
 * import { makeConfig, runPoint } from "./mod.ts";
 * const point = runPoint(makeConfig({ steps: 20, batchSize: 32, evalEvery: 0 }));
 * if (!(point.summary.sigmaRatio! > 0)) throw new Error("no spectrum");
 * ```
 * @module
 */
export {
  DEFAULT_CONFIG,
  KEY_ALIASES,
  makeConfig,
  parseSetting,
  SETTABLE_KEYS,
  type TargetPair,
  type ToyConfig,
  validateConfig,
} from "./config.ts";
export { importance, sampleBatch, type SparseFeatures, type ToyBatch } from "./data.ts";
export {
  initParams,
  lossAndGrad,
  omega,
  paramCount,
  type ToyLoss,
  type ToyParams,
  viewParams,
} from "./model.ts";
export { AdamW, type AdamWOptions } from "./adamw.ts";
export { train, type TrainResult, type TrainSnapshot } from "./train.ts";
export {
  type Alignment,
  analyzeAlignment,
  type FeatureOrthogonality,
  featureOrthogonality,
  type PairMatch,
} from "./alignment.ts";
export {
  absCos,
  compareWithOptimum,
  spanCosines,
  type TheoryComparison,
  type TheoryOptimum,
  theoryOptimum,
  type TheoryPrediction,
  theoryPredictions,
  tokenMoments,
} from "./theory.ts";
export { type SadGroup, type ToySad, toySad } from "./sad.ts";
export { type Preset, preset, type PresetName, PRESETS } from "./presets.ts";
export {
  type ExperimentResult,
  type PointResult,
  runExperiment,
  runPoint,
  SAD_QUERIES,
} from "./experiment.ts";
