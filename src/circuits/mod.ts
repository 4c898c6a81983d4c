/**
 * Circuits: TransformerLens weight processing, per-head QK circuits (bias variants, rotary) and
 * OV circuits as factored products, spectrum summaries and vocabulary readout.
 *
 * @example
 * ```ts ignore
 * import { processWeights, qkCircuit, summarizeSpectrum } from "./mod.ts";
 * const tl = processWeights(model);                       // fold LN, centre, fold b_V
 * const { singularValues } = summarizeSpectrum(qkCircuit(tl, 8, 6).omega.svd());
 * ```
 * @module
 */
export {
  centerUnembed,
  centerWritingWeights,
  foldLayerNorm,
  foldValueBiases,
  NO_PROCESSING,
  type ProcessOptions,
  processWeights,
  TL_DEFAULT_PROCESSING,
  type TransformOptions,
} from "./process.ts";
export { checkHead, type HeadWeights, headWeights, PinvTranspose } from "./head_weights.ts";
export {
  bilinear,
  QK_BIAS_NOTES,
  QK_BIASES,
  type QkBias,
  type QkCircuit,
  qkCircuit,
  type QkOptions,
} from "./qk.ts";
export { type OvCircuit, ovCircuit } from "./ov.ts";
export { rotaryMatrix, type RotarySpec, rotate } from "./rotary.ts";
export { effectiveRank, type SpectrumSummary, summarizeSpectrum } from "./spectrum.ts";
export {
  type ReadoutEntry,
  type ReadoutOptions,
  type VectorReadout,
  vocabReadout,
} from "./readout.ts";
export {
  allHeads,
  type CircuitKind,
  type HeadSvd,
  type HeadSvdOptions,
  headSvds,
  iterateHeadSvds,
  type LeadingTriplets,
  leadingTriplets,
  readoutHeads,
  type ReadoutHeadsOptions,
  readoutTriplets,
  type TripletReadout,
} from "./head_svd.ts";
