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

/** The `k` largest scores seen so far (sorted, largest first), with a rejection threshold. */
class TopK {
  readonly entries: ReadoutEntry[] = [];
  /** Scores ≤ this cannot enter (−∞ until full). */
  threshold = -Infinity;
  constructor(readonly k: number) {}

  offer(token: number, score: number): void {
    if (this.k === 0) return;
    const e = this.entries;
    let at = e.length;
    while (at > 0 && e[at - 1]!.score < score) at--;
    e.splice(at, 0, { token, score });
    if (e.length > this.k) e.pop();
    if (e.length === this.k) this.threshold = e[this.k - 1]!.score;
  }
}

/** Vocabulary rows per product: small enough that V8 tiers the SIMD kernel up after a few calls. */
const BLOCK_ROWS = 2048;

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
  const tops = Array.from({ length: k }, () => new TopK(topK));
  const bottoms = Array.from({ length: k }, () => new TopK(topK)); // of negated scores
  // Blocks of vocabulary rows: a single 50k-row call would run entirely in V8's baseline Wasm
  // tier (≈3× slower), and blocks keep the kernel's scratch memory small.
  const block = new Float32Array(Math.min(BLOCK_ROWS, V) * k);
  const columns = options.table === "unembed"
    ? new Float32Array(d * Math.min(BLOCK_ROWS, V))
    : undefined;
  for (let start = 0; start < V; start += BLOCK_ROWS) {
    const rows = Math.min(BLOCK_ROWS, V - start);
    let scores: Float32Array;
    if (columns === undefined) {
      const a = table.data.subarray(start * d, (start + rows) * d);
      scores = matmulF32(a, dirs, rows, d, k, { out: block, threads: options.threads });
    } else {
      // W_U is [d_model, d_vocab]: gather this block's columns (d×rows) and use op(A) = Aᵀ.
      for (let i = 0; i < d; i++) {
        columns.set(table.data.subarray(i * V + start, i * V + start + rows), i * rows);
      }
      scores = matmulF32(columns, dirs, rows, d, k, {
        transA: true,
        out: block,
        threads: options.threads,
      });
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < k; c++) {
        const v = scores[r * k + c]!;
        const top = tops[c]!, bottom = bottoms[c]!;
        if (v > top.threshold) top.offer(start + r, v);
        if (-v > bottom.threshold) bottom.offer(start + r, -v);
      }
    }
  }
  const out: VectorReadout[] = [];
  for (let c = 0; c < k; c++) {
    const shift = directions.rows === d + 1 ? directions.data[d * k + c]! : 0;
    out.push({
      top: tops[c]!.entries.map((e) => ({ token: e.token, score: e.score + shift })),
      bottom: bottoms[c]!.entries.map((e) => ({ token: e.token, score: -e.score + shift })),
    });
  }
  return out;
}
