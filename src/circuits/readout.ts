/**
 * Vocabulary readout of singular vectors, as TransformerLens's `SVDInterpreter` does: score every
 * token by the dot product of its embedding row (W_E, as processed) or unembedding column (W_U)
 * with a direction, and list the tokens at both ends. Singular vectors are defined up to a joint
 * sign flip, so both the most positive and the most negative tokens are reported.
 * @module
 */
import type { Matrix } from "../linalg/mod.ts";
import { matmulF32 } from "../linalg/matmul_f32.ts";
import type { Model } from "../model/types.ts";
import { ModelFormatError } from "../errors.ts";

/** One token and its score (dot product with the direction). */
export interface ReadoutEntry {
  /** Token id. */
  token: number;
  /** Dot product of the token's (un)embedding with the direction. */
  score: number;
}

/** The extreme tokens of one direction. */
export interface VectorReadout {
  /** Highest scores first. */
  top: ReadoutEntry[];
  /** Lowest (most negative) scores first. */
  bottom: ReadoutEntry[];
}

/** Options of {@linkcode vocabReadout}. */
export interface ReadoutOptions {
  /**
   * `embed`: token embeddings W_E (rows of [d_vocab, d_model]), for what a head reads;
   * `unembed`: unembedding W_U (columns of [d_model, d_vocab]), for what an OV circuit writes.
   */
  table: "embed" | "unembed";
  /** Tokens listed at each end; default 10. */
  topK?: number;
  /** Threads for the float32 product (default 1; see `matmulF32`). */
  threads?: number;
}

/** Keeps the `k` largest (or smallest) scores of a strided column. */
function extremes(
  scores: Float32Array,
  rows: number,
  stride: number,
  col: number,
  k: number,
  shift: number,
  sign: 1 | -1,
): ReadoutEntry[] {
  const best: ReadoutEntry[] = [];
  let worst = -Infinity; // smallest signed score kept so far (once full)
  for (let i = 0; i < rows; i++) {
    const v = sign * scores[i * stride + col]!;
    if (best.length === k && !(v > worst)) continue;
    let at = best.length;
    while (at > 0 && sign * best[at - 1]!.score < v) at--;
    best.splice(at, 0, { token: i, score: sign * v });
    if (best.length > k) best.pop();
    if (best.length === k) worst = sign * best[k - 1]!.score;
  }
  for (const e of best) e.score += shift;
  return best;
}

/**
 * Reads out the columns of `directions` (n×k, n = d_model, or d_model + 1 for bias-augmented
 * vectors whose last entry pairs with the constant 1 of [x; 1] and only shifts every score)
 * against the vocabulary. One float32 product d_vocab × d_model × k; ranking in float32.
 *
 * @example
 * ```ts ignore
 * import { vocabReadout } from "./readout.ts";
 * const { u } = qkCircuit(model, 8, 6).omega.svd();
 * const [first] = vocabReadout(model, u, { table: "embed", topK: 5 });
 * ```
 */
export function vocabReadout(
  model: Model,
  directions: Matrix,
  options: ReadoutOptions,
): VectorReadout[] {
  const { dModel: d, dVocab: V } = model.config;
  const topK = Math.min(options.topK ?? 10, V);
  if (!Number.isInteger(topK) || topK < 0) {
    throw new RangeError(`topK must be a non-negative integer, got ${options.topK}`);
  }
  if (directions.rows !== d && directions.rows !== d + 1) {
    throw new RangeError(
      `readout directions have ${directions.rows} rows; expected d_model = ${d} (or ${d + 1})`,
    );
  }
  const name = options.table === "embed" ? "embed.W_E" : "unembed.W_U";
  const table = model.weights.get(name);
  if (table === undefined || table.data.length !== V * d) {
    throw new ModelFormatError(`readout needs '${name}' with ${V}×${d} elements`);
  }
  const k = directions.cols;
  const dirs = new Float32Array(d * k);
  for (let i = 0; i < d * k; i++) dirs[i] = directions.data[i]!;
  const scores = matmulF32(table.data, dirs, V, d, k, {
    transA: options.table === "unembed",
    threads: options.threads,
  });
  const out: VectorReadout[] = [];
  for (let c = 0; c < k; c++) {
    const shift = directions.rows === d + 1 ? directions.data[d * k + c]! : 0;
    out.push({
      top: extremes(scores, V, k, c, topK, shift, 1),
      bottom: extremes(scores, V, k, c, topK, shift, -1),
    });
  }
  return out;
}
