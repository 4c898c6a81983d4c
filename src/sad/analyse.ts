/**
 * SAD of one attention head over a batch of prompts (method.md §3, §4): for every selected
 * firing, the relative logit's contributions in the head's SVD basis and in a randomly rotated
 * basis, with N_recon and sparseness of each. Rotary heads use the rotated-residual
 * decomposition with one basis per head (§4.6, ACC++), or with `rotary: "per-offset"` one SVD
 * per relative offset in the chosen bias form (§4.6, ACC 2025; per_offset.ts).
 * @module
 */
import { SvlensError } from "../errors.ts";
import type { Matrix } from "../linalg/mod.ts";
import { matmulF64 } from "../linalg/matmul_f64.ts";
import type { Model, Tensor } from "../model/types.ts";
import {
  type HeadWeights as CircuitHeadWeights,
  headWeights as circuitHeadWeights,
  type RotarySpec,
  rotate,
} from "../circuits/mod.ts";
import { type BiasVariant, type HeadBasis, headBasis } from "./basis.ts";
import { firingContributions, rotatedContributions } from "./contributions.ts";
import {
  type Firing,
  type FiringPositions,
  type HeadType,
  selectFirings,
  type Tau,
} from "./firings.ts";
import { nRecon, sparseness } from "./metrics.ts";
import {
  type PerOffsetBias,
  perOffsetContributions,
  perOffsetHead,
  perOffsetSingularValues,
} from "./per_offset.ts";

/** One decomposed firing. */
export interface FiringResult extends Firing {
  /** Prompt index. */
  prompt: number;
  /** Relative logit l̃ (unscaled bilinear units). */
  lTilde: number;
  /** N_recon in the SVD basis (`undefined` when l̃ ≤ 0: dropped, as ACC does). */
  nRecon: number | undefined;
  /** Rolls–Tovee sparseness of the contributions in the SVD basis. */
  sparseness: number;
  /** N_recon in the randomly rotated basis. */
  rotatedNRecon: number | undefined;
  /** Sparseness in the randomly rotated basis. */
  rotatedSparseness: number;
  /** The contributions cₖ in the SVD basis (kept only with `keepContributions`). */
  contributions?: Float64Array;
}

/** Options of {@linkcode analyseHead}. */
export interface AnalyseOptions {
  /** Attention threshold (default 0.5). */
  tau?: Tau;
  /** IOI role of the head: adds its canonical pair. */
  headType?: HeadType;
  /** Keep each firing's contribution vector (memory: K doubles per firing). */
  keepContributions?: boolean;
  /**
   * Rotary heads: `residual` (default; ACC++: rotated residuals, one basis per head) or
   * `per-offset` (ACC 2025: one SVD per relative offset, in the bias form `variant`; see
   * per_offset.ts). Ignored otherwise.
   */
  rotary?: "residual" | "per-offset";
}

/**
 * Options of {@linkcode analyseHead} beyond {@linkcode AnalyseOptions}: the bias form (default
 * `offset`; `destination` exists only under `rotary: "per-offset"` on a rotary model) and an
 * optional prebuilt basis (used only off the per-offset path; must match `variant`).
 */
export interface AnalyseHeadOptions extends AnalyseOptions {
  /** Bias form (method.md §4.3; default `offset`, or the prebuilt basis's variant). */
  variant?: PerOffsetBias;
  /** The head's prebuilt basis (position-independent paths only). */
  basis?: HeadBasis;
}

/** The activations one layer's SAD reads (TL hook names and shapes). */
export interface LayerActivations {
  /** `blocks.{l}.ln1.hook_normalized` [batch, pos, d_model]. */
  normalized: Tensor;
  /** `blocks.{l}.attn.hook_pattern` [batch, n_heads, pos, pos]. */
  pattern: Tensor;
}

/**
 * Head `head` of layer `layer`'s float64 weights, refusing a model whose LayerNorms are not
 * folded (SAD reads `ln1.hook_normalized`, the input of the folded weights).
 */
export function sadHeadWeights(model: Model, layer: number, head: number): CircuitHeadWeights {
  if (!model.processing.foldLayerNorm) {
    throw new SvlensError(
      "SAD needs LayerNorm-folded weights (the decomposition reads ln1.hook_normalized): " +
        "run processWeights(model) first",
    );
  }
  return circuitHeadWeights(model, layer, head);
}

/** Adds `bias` (length h) to every row of the row-major n×h `rows`. */
function addBias(rows: Float64Array, bias: Float64Array): void {
  const h = bias.length;
  for (let r = 0; r < rows.length; r += h) {
    for (let j = 0; j < h; j++) rows[r + j] = rows[r + j]! + bias[j]!;
  }
}

/** The result of one head over all prompts. */
export interface HeadAnalysis {
  /** Layer index. */
  layer: number;
  /** Head index. */
  head: number;
  /** The position-independent basis used (`undefined` under the per-offset decomposition). */
  basis: HeadBasis | undefined;
  /**
   * Singular values reported for the head: the basis's, or under per-offset those of Ω_0 in
   * the same bias form (equal to the basis's for offset/augmented/source).
   */
  s: Float64Array;
  /** Every decomposed firing. */
  firings: FiringResult[];
}

/**
 * SAD of head `layer.head` of the (LayerNorm-folded) `model` on the prompts whose activations
 * are `acts` (batch order = `positions` order). `rotation` is the head's K×K orthogonal Q for
 * the control (method.md §3.6). Throws `NumericalError` if any firing's contributions do not sum
 * to its relative logit.
 */
export function analyseHead(
  model: Model,
  layer: number,
  head: number,
  acts: LayerActivations,
  positions: readonly FiringPositions[],
  rotation: Matrix,
  options: AnalyseHeadOptions = {},
): HeadAnalysis {
  const { dModel: d, nHeads, dHead, rotaryDim, rotaryBase } = model.config;
  const spec: RotarySpec = { dHead, rotaryDim, base: rotaryBase };
  const weights = sadHeadWeights(model, layer, head);
  const variant = options.variant ?? options.basis?.variant ?? "offset";
  const usePerOffset = rotaryDim > 0 && options.rotary === "per-offset";
  if (options.basis && options.basis.variant !== variant) {
    throw new RangeError(
      `analyseHead: basis built for bias '${options.basis.variant}' but variant '${variant}' asked`,
    );
  }
  // Off the per-offset path only the three §4.3 variants have a basis.
  const plainVariant = (v: PerOffsetBias): BiasVariant => {
    if (v === "destination") {
      throw new RangeError(
        "bias 'destination' (ACC 2025 Ω_d, key side augmented) exists only for the per-offset " +
          "decomposition of a rotary model: use --rotary per-offset on a rotary model, or " +
          "--bias offset|augmented|source",
      );
    }
    return v;
  };
  const perOffset = usePerOffset ? perOffsetHead(weights, spec, variant) : undefined;
  const basis = perOffset ? undefined : options.basis ?? headBasis(weights, plainVariant(variant));
  const s = perOffset ? perOffsetSingularValues(perOffset, 0) : basis!.s;
  const [batch, pos] = acts.normalized.shape as [number, number, number];
  if (acts.pattern.shape[0] !== batch || acts.pattern.shape[2] !== pos) {
    throw new SvlensError(
      `layer ${layer}: hook_pattern shape [${acts.pattern.shape}] does not match ` +
        `hook_normalized [${acts.normalized.shape}]`,
    );
  }
  if (positions.length !== batch) {
    throw new SvlensError(`${positions.length} prompt positions given for a batch of ${batch}`);
  }
  const x = acts.normalized.data;
  const pat = acts.pattern.data;
  const tau = options.tau ?? 0.5;
  const h = dHead;
  // Phase 1: the firings, and the residual rows whose projections they need: one row per
  // distinct query (b, d), and per firing either the key difference Δx (learned positions) or
  // every key row t ≤ d of the prompt (rotary: keys rotate individually).
  type Item = { f: Firing; b: number; qRow: number; kRow: number };
  const items: Item[] = [];
  const queryRow = new Map<number, number>();
  const keyRow = new Map<number, number>();
  let nDelta = 0;
  for (let b = 0; b < batch; b++) {
    const patBase = (b * nHeads + head) * pos * pos;
    const firings = selectFirings(
      (q, k) => pat[patBase + q * pos + k]!,
      positions[b]!,
      tau,
      options.headType,
    );
    for (const f of firings) {
      const qKey = b * pos + f.query;
      if (!queryRow.has(qKey)) queryRow.set(qKey, queryRow.size);
      let kRow = -1;
      if (rotaryDim > 0) {
        for (let t = 0; t <= f.query; t++) {
          if (!keyRow.has(b * pos + t)) keyRow.set(b * pos + t, keyRow.size);
        }
      } else kRow = nDelta++;
      items.push({ f, b, qRow: queryRow.get(qKey)!, kRow });
    }
  }
  if (items.length === 0) return { layer, head, basis, s, firings: [] };
  // Phase 2: the projections as two batched float64 GEMMs (SIMD kernel).
  const xq = new Float64Array(queryRow.size * d);
  for (const [at, row] of queryRow) {
    for (let i = 0; i < d; i++) xq[row * d + i] = x[at * d + i]!;
  }
  const qs = matmulF64(xq, weights.wQ.data, queryRow.size, d, h);
  addBias(qs, weights.bQ);
  let ks: Float64Array;
  if (rotaryDim > 0) {
    const xk = new Float64Array(keyRow.size * d);
    for (const [at, row] of keyRow) {
      for (let i = 0; i < d; i++) xk[row * d + i] = x[at * d + i]!;
    }
    ks = matmulF64(xk, weights.wK.data, keyRow.size, d, h);
    addBias(ks, weights.bK);
    if (!perOffset) {
      for (const [at, row] of keyRow) {
        ks.set(rotate(ks.subarray(row * h, row * h + h), at % pos, spec), row * h);
      }
      for (const [at, row] of queryRow) {
        qs.set(rotate(qs.subarray(row * h, row * h + h), at % pos, spec), row * h);
      }
    }
  } else {
    // Δx = x_j − (Σ_{t≤d} x_t − x_j)/(m − 1), one row per firing, from per-prompt prefix sums.
    const nk = items.length;
    const dx = new Float64Array(nk * d);
    const sums = new Map<number, Float64Array>();
    for (const { f, b, kRow } of items) {
      const at = b * pos + f.query;
      let sum = sums.get(at);
      if (!sum) {
        sum = new Float64Array(d);
        for (let t = 0; t <= f.query; t++) {
          const o = (b * pos + t) * d;
          for (let i = 0; i < d; i++) sum[i] = sum[i]! + x[o + i]!;
        }
        sums.set(at, sum);
      }
      const xo = (b * pos + f.key) * d;
      const m = f.query + 1;
      for (let i = 0; i < d; i++) {
        const xj = x[xo + i]!;
        dx[kRow * d + i] = xj - (sum[i]! - xj) / (m - 1);
      }
    }
    ks = matmulF64(dx, weights.wK.data, nk, d, h);
  }
  // Phase 3: contributions per firing (`basis` is set whenever `perOffset` is not).
  const results: FiringResult[] = [];
  for (const { f, b, qRow, kRow } of items) {
    const q = qs.subarray(qRow * h, qRow * h + h);
    const where = `head ${layer}.${head}, prompt ${b}, query ${f.query} → key ${f.key}`;
    const m = f.query + 1;
    let c: Float64Array, rotated: Float64Array, lTilde: number;
    if (rotaryDim > 0) {
      const keys = Array.from(
        { length: m },
        (_, t) => {
          const row = keyRow.get(b * pos + t)!;
          return ks.subarray(row * h, row * h + h);
        },
      );
      if (perOffset) {
        const po = perOffsetContributions(perOffset, f.query, f.key, q, keys, rotation, where);
        ({ c, rotated, lTilde } = po);
      } else {
        const dk = new Float64Array(h);
        for (let t = 0; t < m; t++) {
          const w = t === f.key ? 1 : -1 / (m - 1);
          const kt = keys[t]!;
          for (let j = 0; j < h; j++) dk[j] = dk[j]! + w * kt[j]!;
        }
        const fc = firingContributions(basis!, q, dk, where);
        ({ c, lTilde } = fc);
        rotated = rotatedContributions(rotation, fc, where);
      }
    } else {
      const fc = firingContributions(basis!, q, ks.subarray(kRow * h, kRow * h + h), where);
      ({ c, lTilde } = fc);
      rotated = rotatedContributions(rotation, fc, where);
    }
    const result: FiringResult = {
      ...f,
      prompt: b,
      lTilde,
      nRecon: nRecon(c, lTilde),
      sparseness: sparseness(c),
      rotatedNRecon: nRecon(rotated, lTilde),
      rotatedSparseness: sparseness(rotated),
    };
    if (options.keepContributions) result.contributions = c;
    results.push(result);
  }
  return { layer, head, basis, s, firings: results };
}
