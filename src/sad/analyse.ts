/**
 * SAD of one attention head over a batch of prompts (method.md §3, §4): for every selected
 * firing, the relative logit's contributions in the head's SVD basis and in a randomly rotated
 * basis, with N_recon and sparseness of each. Rotary heads use the rotated-residual
 * decomposition with one basis per head (§4.6, ACC++).
 * @module
 */
import { SvlensError } from "../errors.ts";
import type { Matrix } from "../linalg/mod.ts";
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
import { perOffsetContributions, perOffsetHead } from "./per_offset.ts";

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
   * `per-offset` (ACC 2025: one SVD per relative offset, key bias augmented). Ignored otherwise.
   */
  rotary?: "residual" | "per-offset";
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

/** x Wᵀ-style projection: out = Wᵀ x (+ b) for a d_model×d_head W, reading x from f32. */
function projectResidual(
  w: Matrix,
  x: Float32Array | Float64Array,
  offset: number,
  bias?: Float64Array,
): Float64Array {
  const h = w.cols;
  const out = bias ? Float64Array.from(bias) : new Float64Array(h);
  for (let i = 0; i < w.rows; i++) {
    const xi = x[offset + i]!;
    if (xi === 0) continue;
    const row = i * h;
    for (let j = 0; j < h; j++) out[j] = out[j]! + xi * w.data[row + j]!;
  }
  return out;
}

/** The result of one head over all prompts. */
export interface HeadAnalysis {
  /** Layer index. */
  layer: number;
  /** Head index. */
  head: number;
  /** The basis used (singular values are reported). */
  basis: HeadBasis;
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
  options: AnalyseOptions & { variant?: BiasVariant; basis?: HeadBasis } = {},
): HeadAnalysis {
  const { dModel: d, nHeads, dHead, rotaryDim, rotaryBase } = model.config;
  const spec: RotarySpec = { dHead, rotaryDim, base: rotaryBase };
  const weights = sadHeadWeights(model, layer, head);
  const basis = options.basis ?? headBasis(weights, options.variant ?? "offset");
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
  const perOffset = rotaryDim > 0 && options.rotary === "per-offset"
    ? perOffsetHead(weights, spec)
    : undefined;
  const x = acts.normalized.data;
  const pat = acts.pattern.data;
  const tau = options.tau ?? 0.5;
  const results: FiringResult[] = [];
  for (let b = 0; b < batch; b++) {
    const p = positions[b]!;
    const patBase = (b * nHeads + head) * pos * pos;
    const firings = selectFirings((q, k) => pat[patBase + q * pos + k]!, p, tau, options.headType);
    if (firings.length === 0) continue;
    const rowOf = (t: number) => (b * pos + t) * d;
    // Prefix sums of the residuals (for the mean over the other keys) or rotated keys.
    const maxQuery = Math.max(...firings.map((f) => f.query));
    let keys: Float64Array[] | undefined;
    let prefix: Float64Array[] | undefined;
    if (rotaryDim > 0) {
      keys = [];
      for (let t = 0; t <= maxQuery; t++) {
        const k = projectResidual(weights.wK, x, rowOf(t), weights.bK);
        keys.push(perOffset ? k : rotate(k, t, spec));
      }
    } else {
      prefix = [];
      let acc = new Float64Array(d);
      for (let t = 0; t <= maxQuery; t++) {
        acc = Float64Array.from(acc);
        for (let i = 0; i < d; i++) acc[i] = acc[i]! + x[rowOf(t) + i]!;
        prefix.push(acc);
      }
    }
    const queries = new Map<number, Float64Array>();
    for (const f of firings) {
      const m = f.query + 1;
      let q = queries.get(f.query);
      if (!q) {
        q = projectResidual(weights.wQ, x, rowOf(f.query), weights.bQ);
        if (rotaryDim > 0 && !perOffset) q = rotate(q, f.query, spec);
        queries.set(f.query, q);
      }
      const where = `head ${layer}.${head}, prompt ${b}, query ${f.query} → key ${f.key}`;
      if (perOffset) {
        const po = perOffsetContributions(perOffset, f.query, f.key, q, keys!, rotation, where);
        const result: FiringResult = {
          ...f,
          prompt: b,
          lTilde: po.lTilde,
          nRecon: nRecon(po.c, po.lTilde),
          sparseness: sparseness(po.c),
          rotatedNRecon: nRecon(po.rotated, po.lTilde),
          rotatedSparseness: sparseness(po.rotated),
        };
        if (options.keepContributions) result.contributions = po.c;
        results.push(result);
        continue;
      }
      let dk: Float64Array;
      if (keys) {
        const h = weights.wK.cols;
        dk = new Float64Array(h);
        for (let t = 0; t < m; t++) {
          const w = t === f.key ? 1 : -1 / (m - 1);
          const kt = keys[t]!;
          for (let j = 0; j < h; j++) dk[j] = dk[j]! + w * kt[j]!;
        }
      } else {
        const sum = prefix![f.query]!;
        const dx = new Float64Array(d);
        const xo = rowOf(f.key);
        for (let i = 0; i < d; i++) {
          const xj = x[xo + i]!;
          dx[i] = xj - (sum[i]! - xj) / (m - 1);
        }
        dk = projectResidual(weights.wK, dx, 0);
      }
      const fc = firingContributions(basis, q, dk, where);
      const rotated = rotatedContributions(rotation, fc, where);
      const result: FiringResult = {
        ...f,
        prompt: b,
        lTilde: fc.lTilde,
        nRecon: nRecon(fc.c, fc.lTilde),
        sparseness: sparseness(fc.c),
        rotatedNRecon: nRecon(rotated, fc.lTilde),
        rotatedSparseness: sparseness(rotated),
      };
      if (options.keepContributions) result.contributions = fc.c;
      results.push(result);
    }
  }
  return { layer, head, basis, firings: results };
}
