/**
 * Batching: prompts of different lengths are right-padded into one `[batch, pos]` grid; keys at
 * padded positions are masked, so every real position sees exactly what it would see alone.
 * @module
 */
import type { ModelConfig } from "../model/types.ts";

/** Which positions get logits: every position, each prompt's last real token, or fixed ones. */
export type LogitPositions = "all" | "last" | readonly number[];

/** A validated, right-padded batch. */
export interface Batch {
  /** Number of prompts. */
  batch: number;
  /** Padded length (the longest prompt). */
  pos: number;
  /** Token ids `[batch, pos]`, padding filled with `padToken` (0). */
  tokens: Int32Array;
  /** Real length of each prompt; keys at `k >= lengths[b]` are masked. */
  lengths: Int32Array;
  /** Logit positions `[batch, nLogit]` (row-major): position index into `pos` per prompt. */
  logitIndex: Int32Array;
  /** Logit positions per prompt. */
  nLogit: number;
}

/** The token id written into padded positions (never attended to). */
export const PAD_TOKEN = 0;

/**
 * Validates `tokens` against `config` (ids in range, non-empty prompts, length ≤ `nCtx`) and pads
 * them to the longest prompt. Throws `RangeError`s that name the prompt, the value and the fix.
 */
export function makeBatch(
  config: ModelConfig,
  tokens: readonly (readonly number[])[],
  logitPositions: LogitPositions = "all",
): Batch {
  if (tokens.length === 0) throw new RangeError("no prompts given: pass at least one token list");
  const batch = tokens.length;
  let pos = 0;
  tokens.forEach((prompt, b) => {
    if (prompt.length === 0) throw new RangeError(`prompt ${b} is empty: give it at least 1 token`);
    if (prompt.length > config.nCtx) {
      throw new RangeError(
        `prompt ${b} has ${prompt.length} tokens but the model's context window (n_ctx) is ` +
          `${config.nCtx}: shorten or split the prompt`,
      );
    }
    prompt.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= config.dVocab) {
        throw new RangeError(
          `prompt ${b} token ${i} is ${t}, not a token id in [0, ${config.dVocab}) of this model`,
        );
      }
    });
    pos = Math.max(pos, prompt.length);
  });
  const ids = new Int32Array(batch * pos).fill(PAD_TOKEN);
  const lengths = new Int32Array(batch);
  tokens.forEach((prompt, b) => {
    ids.set(prompt, b * pos);
    lengths[b] = prompt.length;
  });
  let nLogit: number;
  let logitIndex: Int32Array;
  if (logitPositions === "all") {
    nLogit = pos;
    logitIndex = new Int32Array(batch * pos).map((_, i) => i % pos);
  } else if (logitPositions === "last") {
    nLogit = 1;
    logitIndex = lengths.map((n) => n - 1);
  } else {
    nLogit = logitPositions.length;
    for (const p of logitPositions) {
      if (!Number.isInteger(p) || p < 0 || p >= pos) {
        throw new RangeError(
          `logit position ${p} is outside the padded batch [0, ${pos}); use "last" for each ` +
            `prompt's final token`,
        );
      }
    }
    logitIndex = new Int32Array(batch * nLogit);
    for (let b = 0; b < batch; b++) logitIndex.set(logitPositions, b * nLogit);
  }
  return { batch, pos, tokens: ids, lengths, logitIndex, nLogit };
}
