/**
 * Shared test fixtures for SAD: a word-level IOI tokenizer and small LayerNorm-folded models.
 * @module
 */
import { gpt2Config, neoxConfig, randomModel } from "../../src/runtime/mod.ts";
import type { Model } from "../../src/model/types.ts";
import { generateIoiPrompts } from "../../src/tasks/mod.ts";

/** A word-level tokenizer over a fixed vocabulary covering every IOI word. */
export function ioiWordTokenizer(): { encode(text: string): number[]; size: number } {
  const vocab = new Map<string, number>();
  for (const p of generateIoiPrompts({ n: 2000, seed: 0 })) {
    for (const piece of p.text.match(/ ?[A-Za-z]+| ?[.,]/g) ?? []) {
      if (!vocab.has(piece)) vocab.set(piece, vocab.size);
    }
  }
  return {
    size: vocab.size,
    encode: (text) => (text.match(/ ?[A-Za-z]+| ?[.,]/g) ?? []).map((w) => vocab.get(w) ?? 0),
  };
}

/** A random model whose LayerNorms are identity, i.e. a valid LayerNorm-folded model. */
export function foldedRandomModel(rotary: boolean, dVocab: number): Model {
  const cfg = (rotary ? neoxConfig : gpt2Config)({
    nLayers: 2,
    nHeads: 2,
    dModel: 16,
    dHead: 8,
    dVocab,
    nCtx: 32,
  });
  const model = randomModel(cfg, { seed: 3 });
  for (const name of [...model.weights.keys()]) {
    if (/\.ln\w*\.(w|b)$|^ln_final/.test(name)) model.weights.delete(name);
  }
  model.processing = { ...model.processing, foldLayerNorm: true };
  return model;
}
