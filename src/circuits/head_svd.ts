/**
 * Per-head SVDs of QK or OV circuits for many heads at once (what `svlens svd` computes), with
 * spectrum summaries and a batched vocabulary readout of the leading singular vectors.
 * @module
 */
import type { Matrix, SvdResult } from "../linalg/mod.ts";
import type { Model } from "../model/types.ts";
import { checkHead } from "./head_weights.ts";
import { ovCircuit } from "./ov.ts";
import { type QkBias, qkCircuit } from "./qk.ts";
import { type ReadoutEntry, type VectorReadout, vocabReadout } from "./readout.ts";
import { type SpectrumSummary, summarizeSpectrum } from "./spectrum.ts";

/** Which circuit. */
export type CircuitKind = "qk" | "ov";

/** Options of {@linkcode headSvds}. */
export interface HeadSvdOptions {
  /** Circuit; default `qk`. */
  circuit?: CircuitKind;
  /** QK bias variant; default `offset`. */
  bias?: QkBias;
  /** Heads as [layer, head] pairs; default every head. */
  heads?: ReadonlyArray<readonly [number, number]>;
  /** Rotary models only: SVD of the per-offset Ω_Δ for this Δ instead of the position-free Ω. */
  rotaryOffset?: number;
  /** Called after each head (for progress). */
  onHead?: (done: number, total: number) => void;
}

/** One head's SVD and its summary. */
export interface HeadSvd extends SpectrumSummary {
  /** `qk` or `ov`. */
  circuit: CircuitKind;
  /** Layer index. */
  layer: number;
  /** Head index. */
  head: number;
  /** The full SVD (u: n×k, s, vt: k×m). */
  svd: SvdResult;
}

/** Every [layer, head] of the model in order. */
export function allHeads(model: Model): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let l = 0; l < model.config.nLayers; l++) {
    for (let h = 0; h < model.config.nHeads; h++) out.push([l, h]);
  }
  return out;
}

/**
 * SVD of every requested head's QK (with the chosen bias variant) or OV circuit, one head at a
 * time, through the factored `LowRankProduct.svd()` (never a dense d_model×d_model SVD).
 * Singular values are of the unscaled bilinear form. A generator, so callers can keep only what
 * they need of each head (144 full float64 SVDs of GPT-2 small take ~110 MB).
 *
 * @example
 * ```ts ignore
 * import { iterateHeadSvds } from "./head_svd.ts";
 * for (const h of iterateHeadSvds(model, { circuit: "ov" })) console.log(h.singularValues[0]);
 * ```
 */
export function* iterateHeadSvds(
  model: Model,
  options: HeadSvdOptions = {},
): Generator<HeadSvd, void, undefined> {
  const circuit = options.circuit ?? "qk";
  const heads = options.heads ?? allHeads(model);
  for (const [l, h] of heads) checkHead(model, l, h);
  let done = 0;
  for (const [layer, head] of heads) {
    let svd: SvdResult;
    if (circuit === "qk") {
      const c = qkCircuit(model, layer, head, { bias: options.bias });
      const omega = options.rotaryOffset === undefined
        ? c.omega
        : c.perOffset(options.rotaryOffset);
      svd = omega.svd();
    } else {
      svd = ovCircuit(model, layer, head).omega.svd();
    }
    yield { circuit, layer, head, svd, ...summarizeSpectrum(svd) };
    options.onHead?.(++done, heads.length);
  }
}

/**
 * {@linkcode iterateHeadSvds} collected into an array.
 *
 * @example
 * ```ts ignore
 * import { headSvds } from "./head_svd.ts";
 * const [h] = headSvds(model, { circuit: "qk", heads: [[8, 6]] });
 * console.log(h.singularValues[0], h.effectiveRank);
 * ```
 */
export function headSvds(model: Model, options: HeadSvdOptions = {}): HeadSvd[] {
  return [...iterateHeadSvds(model, options)];
}

/** The leading singular triplets of one head, detached from its full SVD (for readout). */
export interface LeadingTriplets {
  /** `qk` or `ov`. */
  circuit: CircuitKind;
  /** σ_0..σ_{count−1}. */
  s: number[];
  /** u_0..u_{count−1} (length n each). */
  u: Float64Array[];
  /** v_0..v_{count−1} (length m each). */
  v: Float64Array[];
}

/** Copies the first `count` triplets out of a head's SVD. */
export function leadingTriplets(h: HeadSvd, count: number): LeadingTriplets {
  const { u, s, vt } = h.svd;
  const c = Math.min(count, s.length);
  const cols = (k: number) => {
    const x = new Float64Array(u.rows);
    for (let i = 0; i < u.rows; i++) x[i] = u.data[i * u.cols + k]!;
    return x;
  };
  return {
    circuit: h.circuit,
    s: Array.from(s.subarray(0, c)),
    u: Array.from({ length: c }, (_, k) => cols(k)),
    v: Array.from({ length: c }, (_, k) => vt.data.slice(k * vt.cols, (k + 1) * vt.cols)),
  };
}

/** The readout of one singular triplet: tokens for its left (u) and right (v) vectors. */
export interface TripletReadout {
  /** Triplet index k (0-based). */
  k: number;
  /** σ_k. */
  sigma: number;
  /** Tokens along u_k (QK: query side; OV: read side), from W_E. */
  u: { top: ReadoutEntry[]; bottom: ReadoutEntry[] };
  /** Tokens along v_k (QK: key side, from W_E; OV: written side, from W_U). */
  v: { top: ReadoutEntry[]; bottom: ReadoutEntry[] };
}

/** Options of {@linkcode readoutHeads}. */
export interface ReadoutHeadsOptions {
  /** Leading triplets per head to read out; default 1. */
  vectors?: number;
  /** Tokens per end; default 10. */
  topK?: number;
  /** Threads for the float32 products (default 1). */
  threads?: number;
}

/** The vectors of every head side by side: an n×(Σ counts) matrix. */
function gather(items: LeadingTriplets[], side: "u" | "v"): Matrix {
  const vectors = items.flatMap((t) => t[side]);
  const n = vectors[0]!.length;
  const cols = vectors.length;
  const data = new Float64Array(n * cols);
  vectors.forEach((x, c) => {
    for (let i = 0; i < n; i++) data[i * cols + c] = x[i]!;
  });
  return { rows: n, cols, data };
}

/** [x | y] for matrices with equal row counts. */
function sideBySide(x: Matrix, y: Matrix): Matrix {
  const n = x.rows, cols = x.cols + y.cols;
  const data = new Float64Array(n * cols);
  for (let i = 0; i < n; i++) {
    data.set(x.data.subarray(i * x.cols, (i + 1) * x.cols), i * cols);
    data.set(y.data.subarray(i * y.cols, (i + 1) * y.cols), i * cols + x.cols);
  }
  return { rows: n, cols, data };
}

/**
 * Vocabulary readout of leading singular vectors (TransformerLens `SVDInterpreter` style):
 * u_k against W_E; v_k against W_E (QK) or W_U (OV). One batched float32 product per side over
 * all heads. `model` must be the (processed) model the SVDs came from.
 */
export function readoutTriplets(
  model: Model,
  items: LeadingTriplets[],
  options: ReadoutHeadsOptions = {},
): TripletReadout[][] {
  const nonEmpty = items.filter((t) => t.s.length > 0);
  if (nonEmpty.length === 0) return items.map(() => []);
  const circuit = nonEmpty[0]!.circuit;
  if (nonEmpty.some((t) => t.circuit !== circuit)) {
    throw new RangeError("readout: pass the QK and OV heads separately (different tables)");
  }
  const topK = options.topK ?? 10;
  const threads = options.threads;
  let us: VectorReadout[], vs: VectorReadout[];
  const u = gather(nonEmpty, "u"), v = gather(nonEmpty, "v");
  if (circuit === "qk" && u.rows === v.rows) {
    // Both sides read W_E: one pass over the 50k×768 table for u and v together.
    const both = vocabReadout(model, sideBySide(u, v), { table: "embed", topK, threads });
    us = both.slice(0, u.cols);
    vs = both.slice(u.cols);
  } else {
    us = vocabReadout(model, u, { table: "embed", topK, threads });
    vs = vocabReadout(model, v, { table: circuit === "ov" ? "unembed" : "embed", topK, threads });
  }
  let next = 0;
  return items.map((t) =>
    t.s.map((sigma, k) => {
      const r = { k, sigma, u: us[next]!, v: vs[next]! };
      next++;
      return r;
    })
  );
}

/** {@linkcode readoutTriplets} of the first `vectors` (default 1) triplets of each head. */
export function readoutHeads(
  model: Model,
  svds: HeadSvd[],
  options: ReadoutHeadsOptions = {},
): TripletReadout[][] {
  const count = options.vectors ?? 1;
  return readoutTriplets(model, svds.map((h) => leadingTriplets(h, count)), options);
}
