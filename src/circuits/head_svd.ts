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
import { type ReadoutEntry, vocabReadout } from "./readout.ts";
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
  /** QK `offset` variant: whether the bias offsets are exact (full-rank W_Q, W_K). */
  offsetsExact?: boolean;
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
 * SVD of every requested head's QK (with the chosen bias variant) or OV circuit, through the
 * factored `LowRankProduct.svd()` (never a dense d_model×d_model SVD). Singular values are of the
 * unscaled bilinear form.
 *
 * @example
 * ```ts ignore
 * import { headSvds } from "./head_svd.ts";
 * const [h] = headSvds(model, { circuit: "qk", heads: [[8, 6]] });
 * console.log(h.singularValues[0], h.effectiveRank);
 * ```
 */
export function headSvds(model: Model, options: HeadSvdOptions = {}): HeadSvd[] {
  const circuit = options.circuit ?? "qk";
  const heads = options.heads ?? allHeads(model);
  for (const [l, h] of heads) checkHead(model, l, h);
  const out: HeadSvd[] = [];
  for (const [layer, head] of heads) {
    let svd: SvdResult;
    let offsetsExact: boolean | undefined;
    if (circuit === "qk") {
      const c = qkCircuit(model, layer, head, { bias: options.bias });
      const omega = options.rotaryOffset === undefined
        ? c.omega
        : c.perOffset(options.rotaryOffset);
      svd = omega.svd();
      if (c.bias === "offset") offsetsExact = c.offsetsExact;
    } else {
      svd = ovCircuit(model, layer, head).omega.svd();
    }
    out.push({ circuit, layer, head, svd, ...summarizeSpectrum(svd), offsetsExact });
    options.onHead?.(out.length, heads.length);
  }
  return out;
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
}

/** Columns 0..count−1 of u (n×k) or of vtᵀ, gathered over heads into one n×(heads·count). */
function gather(svds: HeadSvd[], count: number, side: "u" | "v"): Matrix {
  const n = side === "u" ? svds[0]!.svd.u.rows : svds[0]!.svd.vt.cols;
  const cols = svds.length * count;
  const data = new Float64Array(n * cols);
  svds.forEach((h, hi) => {
    const { u, vt } = h.svd;
    for (let c = 0; c < count; c++) {
      const col = hi * count + c;
      for (let i = 0; i < n; i++) {
        data[i * cols + col] = side === "u" ? u.data[i * u.cols + c]! : vt.data[c * vt.cols + i]!;
      }
    }
  });
  return { rows: n, cols, data };
}

/**
 * Vocabulary readout of the leading singular vectors of each head (TransformerLens
 * `SVDInterpreter` style): u_k against W_E; v_k against W_E (QK) or W_U (OV). One batched
 * float32 product per side. `model` must be the (processed) model the SVDs came from.
 */
export function readoutHeads(
  model: Model,
  svds: HeadSvd[],
  options: ReadoutHeadsOptions = {},
): TripletReadout[][] {
  if (svds.length === 0) return [];
  const count = Math.min(options.vectors ?? 1, ...svds.map((h) => h.svd.s.length));
  if (count <= 0) return svds.map(() => []);
  const topK = options.topK ?? 10;
  const circuit = svds[0]!.circuit;
  if (svds.some((h) => h.circuit !== circuit)) {
    throw new RangeError("readoutHeads: pass the QK and OV heads separately (different tables)");
  }
  const us = vocabReadout(model, gather(svds, count, "u"), { table: "embed", topK });
  const vs = vocabReadout(model, gather(svds, count, "v"), {
    table: circuit === "ov" ? "unembed" : "embed",
    topK,
  });
  return svds.map((h, hi) =>
    Array.from({ length: count }, (_, k) => ({
      k,
      sigma: h.svd.s[k]!,
      u: us[hi * count + k]!,
      v: vs[hi * count + k]!,
    }))
  );
}
