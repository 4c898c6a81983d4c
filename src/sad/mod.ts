/**
 * Sparse Attention Decomposition (method.md §3–4): per-head SVD bases for the three bias
 * variants, the per-offset rotary decomposition (ACC 2025) in four bias forms (offset,
 * augmented, source, destination; per_offset.ts), per-singular-vector contributions to relative
 * logits (checked to sum exactly), N_recon, Rolls–Tovee sparseness, the random-rotation control, firing selection, and planted
 * models whose answer is known.
 * @module
 */
export { type BiasVariant, type HeadBasis, headBasis, type QkWeights } from "./basis.ts";
export {
  type FiringContributions,
  firingContributions,
  project,
  rotatedContributions,
  SUM_CHECK_RTOL,
} from "./contributions.ts";
export { nRecon, sparseness } from "./metrics.ts";
export {
  canonicalPair,
  type Firing,
  type FiringPositions,
  GPT2_SMALL_IOI_HEADS,
  HEAD_TYPES,
  type HeadType,
  selectFirings,
  type Tau,
} from "./firings.ts";
export {
  analyseHead,
  type AnalyseHeadOptions,
  type AnalyseOptions,
  type FiringResult,
  type HeadAnalysis,
  type LayerActivations,
  sadHeadWeights,
} from "./analyse.ts";
export { type BasisStats, basisStats, type HeadSummary, summarizeHead } from "./summary.ts";
export { headRotations } from "./rotation.ts";
export {
  PER_OFFSET_BIASES,
  type PerOffsetBias,
  perOffsetContributions,
  type PerOffsetFiring,
  perOffsetForm,
  type PerOffsetHead,
  perOffsetHead,
  perOffsetSingularValues,
} from "./per_offset.ts";
export {
  type Plant,
  type PlantedModel,
  plantedModel,
  type PlantedOptions,
  plantedPrompts,
} from "./planted.ts";
export { defaultHeadTypes, type IoiSadOptions, type IoiSadResult, sadOnIoi } from "./ioi_sad.ts";
export {
  checkRecord,
  parseRevisions,
  parseShard,
  PYTHIA_130_REVISIONS,
  PYTHIA_ALL_REVISIONS,
  type RevisionRecord,
  shardRevisions,
  stepOf,
  type SweepCurve,
  sweepCurves,
} from "./sweep.ts";
