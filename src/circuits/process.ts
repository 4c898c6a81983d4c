/**
 * TransformerLens's weight processing, one transform per option, on TL-layout {@linkcode Weights}:
 * `foldLayerNorm` (`fold_ln`, with `center_weights`), `centerWritingWeights`, `centerUnembed`,
 * `foldValueBiases`, applied by {@linkcode processWeights} in TL's order. Each transform keeps the
 * model's function: attention scores are unchanged exactly and log-probabilities are unchanged
 * (logits shift by a per-position constant under `centerUnembed`). Arithmetic is float64; results
 * are stored as float32 like every {@linkcode Tensor}.
 *
 * Formulas (TransformerLens `HookedTransformer.fold_layer_norm` etc.):
 * - fold LN into a reader W [d_model, n] with LN weight γ, bias β: b ← b + βᵀW, W ← diag(γ) W,
 *   then W ← W − mean over d_model (the input is LNPre output, which has zero mean).
 * - centre writing weights: subtract the mean over d_model from W_E, W_pos (not rotary), W_O,
 *   b_O, W_out, b_out.
 * - centre unembed: subtract each row's mean over the vocabulary from W_U, and b_U's mean.
 * - fold value biases: b_O ← b_O + Σ_h b_V,h W_O,h, b_V ← 0.
 * @module
 */
import {
  type Model,
  NO_PROCESSING,
  type Processing,
  type Tensor,
  type Weights,
} from "../model/types.ts";

export { NO_PROCESSING };
import { ModelFormatError } from "../errors.ts";

/** TransformerLens's `from_pretrained` default: every transform on. */
export const TL_DEFAULT_PROCESSING: Readonly<Processing> = Object.freeze({
  foldLayerNorm: true,
  centerWritingWeights: true,
  centerUnembed: true,
  foldValueBiases: true,
});

/** Options shared by every transform. */
export interface TransformOptions {
  /**
   * Overwrite the input's weight arrays and map instead of copying (halves peak memory for
   * GPT-2-sized models). The input model must not be used afterwards.
   */
  inPlace?: boolean;
}

/** Options of {@linkcode processWeights}: which transforms to apply (absent = TL default). */
export type ProcessOptions = Partial<Processing> & TransformOptions;

function get(weights: Weights, name: string): Tensor {
  const t = weights.get(name);
  if (t === undefined) {
    throw new ModelFormatError(
      `weight '${name}' is missing; weight processing needs TransformerLens-layout weights ` +
        `(load the model with loadModel)`,
    );
  }
  return t;
}

/** A working copy: the same map and arrays when in place, fresh copies otherwise. */
function start(model: Model, options: TransformOptions): Weights {
  return options.inPlace ? model.weights : new Map(model.weights);
}

/** The array to write results into for `name` (copy-on-write unless in place). */
function writable(weights: Weights, name: string, inPlace: boolean): Float32Array {
  const t = get(weights, name);
  if (inPlace) return t.data;
  const data = new Float32Array(t.data);
  weights.set(name, { shape: t.shape, data });
  return data;
}

/**
 * Folds an LN (γ, β over d_model = rows) into reader matrices stored as `groups` blocks of
 * [rows, cols] (heads of W_Q: groups = n_heads); bias (groups × cols) gains βᵀW; optionally
 * centres each column over the rows.
 */
function foldInto(
  w: Float32Array,
  bias: Float32Array | undefined,
  gamma: Float32Array,
  beta: Float32Array | undefined,
  groups: number,
  rows: number,
  cols: number,
  center: boolean,
): void {
  const acc = new Float64Array(cols);
  const mean = new Float64Array(cols);
  for (let g = 0; g < groups; g++) {
    const base = g * rows * cols;
    acc.fill(0);
    mean.fill(0);
    for (let i = 0; i < rows; i++) {
      const gi = gamma[i]!, bi = beta === undefined ? 0 : beta[i]!;
      const row = base + i * cols;
      for (let j = 0; j < cols; j++) {
        const x = w[row + j]!;
        acc[j]! += bi * x;
        const folded = gi * x;
        mean[j]! += folded;
        w[row + j] = folded;
      }
    }
    if (bias !== undefined) {
      for (let j = 0; j < cols; j++) bias[g * cols + j] = bias[g * cols + j]! + acc[j]!;
    }
    if (center) {
      // Recompute in float64 from the float32-rounded γW so the stored columns have mean ~0.
      mean.fill(0);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) mean[j]! += w[base + i * cols + j]!;
      }
      for (let j = 0; j < cols; j++) mean[j] = mean[j]! / rows;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) w[base + i * cols + j] = w[base + i * cols + j]! - mean[j]!;
      }
    }
  }
}

function blocks(model: Model): number[] {
  return Array.from({ length: model.config.nLayers }, (_, l) => l);
}

/** Unembedding bias, created as zeros when the model has none (GPT-2: HF has no lm_head bias). */
function ensureUnembedBias(weights: Weights, dVocab: number): void {
  if (!weights.has("unembed.b_U")) {
    weights.set("unembed.b_U", { shape: [dVocab], data: new Float32Array(dVocab) });
  }
}

/**
 * Folds every LayerNorm's scale and bias into the weights that read from it (attention Q/K/V,
 * MLP input, unembedding) and centres those reading weights over d_model (TL `fold_ln` with
 * `center_weights=True`). Afterwards the model uses LNPre (normalise only) and `ln1/ln2/ln_final`
 * weights are gone. Attention scores and logits are unchanged.
 *
 * @example
 * ```ts ignore
 * import { foldLayerNorm } from "./process.ts";
 * const folded = foldLayerNorm(model); // folded.processing.foldLayerNorm === true
 * ```
 */
export function foldLayerNorm(model: Model, options: TransformOptions = {}): Model {
  if (model.processing.foldLayerNorm) return model;
  const inPlace = options.inPlace ?? false;
  const w = start(model, options);
  const { nHeads, dModel, dHead, dMlp, dVocab } = model.config;
  for (const l of blocks(model)) {
    const gamma = get(w, `blocks.${l}.ln1.w`).data;
    const beta = get(w, `blocks.${l}.ln1.b`).data;
    for (const x of ["Q", "K", "V"]) {
      const weight = writable(w, `blocks.${l}.attn.W_${x}`, inPlace);
      const bias = writable(w, `blocks.${l}.attn.b_${x}`, inPlace);
      foldInto(weight, bias, gamma, beta, nHeads, dModel, dHead, true);
    }
    w.delete(`blocks.${l}.ln1.w`);
    w.delete(`blocks.${l}.ln1.b`);
    if (w.has(`blocks.${l}.mlp.W_in`)) {
      const g2 = get(w, `blocks.${l}.ln2.w`).data;
      const b2 = get(w, `blocks.${l}.ln2.b`).data;
      const weight = writable(w, `blocks.${l}.mlp.W_in`, inPlace);
      const bias = writable(w, `blocks.${l}.mlp.b_in`, inPlace);
      foldInto(weight, bias, g2, b2, 1, dModel, dMlp, true);
      w.delete(`blocks.${l}.ln2.w`);
      w.delete(`blocks.${l}.ln2.b`);
    }
  }
  ensureUnembedBias(w, dVocab);
  const gf = get(w, "ln_final.w").data;
  const bf = get(w, "ln_final.b").data;
  const wu = writable(w, "unembed.W_U", inPlace);
  const bu = writable(w, "unembed.b_U", inPlace);
  foldInto(wu, bu, gf, bf, 1, dModel, dVocab, true);
  w.delete("ln_final.w");
  w.delete("ln_final.b");
  return { ...model, weights: w, processing: { ...model.processing, foldLayerNorm: true } };
}

/** Subtracts from each length-`width` row its mean (float64 accumulation). */
function centerRows(data: Float32Array, width: number): void {
  for (let base = 0; base < data.length; base += width) {
    let sum = 0;
    for (let j = 0; j < width; j++) sum += data[base + j]!;
    const mean = sum / width;
    for (let j = 0; j < width; j++) data[base + j] = data[base + j]! - mean;
  }
}

/**
 * Removes the mean over d_model from every weight and bias that writes to the residual stream
 * (W_E, W_pos unless rotary, W_O, b_O, W_out, b_out), TL `center_writing_weights`. Only
 * meaningful with LayerNorm (every reader subtracts the mean anyway), so the model's outputs
 * are unchanged.
 */
export function centerWritingWeights(model: Model, options: TransformOptions = {}): Model {
  if (model.processing.centerWritingWeights) return model;
  const inPlace = options.inPlace ?? false;
  const w = start(model, options);
  const d = model.config.dModel;
  centerRows(writable(w, "embed.W_E", inPlace), d);
  if (model.config.rotaryDim === 0 && w.has("pos_embed.W_pos")) {
    centerRows(writable(w, "pos_embed.W_pos", inPlace), d);
  }
  for (const l of blocks(model)) {
    centerRows(writable(w, `blocks.${l}.attn.W_O`, inPlace), d);
    centerRows(writable(w, `blocks.${l}.attn.b_O`, inPlace), d);
    if (w.has(`blocks.${l}.mlp.W_out`)) {
      centerRows(writable(w, `blocks.${l}.mlp.W_out`, inPlace), d);
      centerRows(writable(w, `blocks.${l}.mlp.b_out`, inPlace), d);
    }
  }
  return { ...model, weights: w, processing: { ...model.processing, centerWritingWeights: true } };
}

/**
 * Centres the unembedding over the vocabulary (TL `center_unembed`): every logit at a position
 * shifts by the same amount, so softmax and log-probabilities are unchanged.
 */
export function centerUnembed(model: Model, options: TransformOptions = {}): Model {
  if (model.processing.centerUnembed) return model;
  const inPlace = options.inPlace ?? false;
  const w = start(model, options);
  const v = model.config.dVocab;
  ensureUnembedBias(w, v);
  centerRows(writable(w, "unembed.W_U", inPlace), v);
  centerRows(writable(w, "unembed.b_U", inPlace), v);
  return { ...model, weights: w, processing: { ...model.processing, centerUnembed: true } };
}

/**
 * Folds the value biases into the attention output bias (TL `fold_value_biases`):
 * b_O ← b_O + Σ_h b_V,h W_O,h and b_V ← 0. Exact because the attention pattern sums to 1, so
 * each head adds b_V,h W_O,h at every position; QK is untouched.
 */
export function foldValueBiases(model: Model, options: TransformOptions = {}): Model {
  if (model.processing.foldValueBiases) return model;
  const inPlace = options.inPlace ?? false;
  const w = start(model, options);
  const { nHeads, dHead, dModel } = model.config;
  for (const l of blocks(model)) {
    const bv = writable(w, `blocks.${l}.attn.b_V`, inPlace);
    const wo = get(w, `blocks.${l}.attn.W_O`).data;
    const bo = writable(w, `blocks.${l}.attn.b_O`, inPlace);
    const acc = new Float64Array(dModel);
    for (let h = 0; h < nHeads; h++) {
      for (let j = 0; j < dHead; j++) {
        const b = bv[h * dHead + j]!;
        const row = (h * dHead + j) * dModel;
        for (let k = 0; k < dModel; k++) acc[k]! += b * wo[row + k]!;
      }
    }
    for (let k = 0; k < dModel; k++) bo[k] = bo[k]! + acc[k]!;
    bv.fill(0);
  }
  return { ...model, weights: w, processing: { ...model.processing, foldValueBiases: true } };
}

/**
 * Applies the chosen transforms in TransformerLens's order (fold LN → centre writing weights →
 * centre unembed → fold value biases); options absent from `options` default to TL's defaults
 * (all on). Transforms the model already carries are skipped. Pass {@linkcode NO_PROCESSING}
 * for raw weights.
 *
 * @example
 * ```ts ignore
 * import { NO_PROCESSING, processWeights } from "./process.ts";
 * const tl = processWeights(model);                  // TL defaults
 * const raw = processWeights(model, NO_PROCESSING);  // unchanged
 * ```
 */
export function processWeights(model: Model, options: ProcessOptions = {}): Model {
  const want: Processing = {
    foldLayerNorm: options.foldLayerNorm ?? TL_DEFAULT_PROCESSING.foldLayerNorm,
    centerWritingWeights: options.centerWritingWeights ??
      TL_DEFAULT_PROCESSING.centerWritingWeights,
    centerUnembed: options.centerUnembed ?? TL_DEFAULT_PROCESSING.centerUnembed,
    foldValueBiases: options.foldValueBiases ?? TL_DEFAULT_PROCESSING.foldValueBiases,
  };
  // Copy mode copies each array a transform writes (untouched arrays stay shared with the
  // input, so later transforms must copy again rather than write in place).
  const opts: TransformOptions = { inPlace: options.inPlace ?? false };
  let out = model;
  if (want.foldLayerNorm) out = foldLayerNorm(out, opts);
  if (want.centerWritingWeights) out = centerWritingWeights(out, opts);
  if (want.centerUnembed) out = centerUnembed(out, opts);
  if (want.foldValueBiases) out = foldValueBiases(out, opts);
  return out;
}
