/**
 * TransformerLens default processing (circuits' processWeights: fold LN, centre writing weights,
 * centre unembed, fold value biases) changes the weights but not the function: attention patterns
 * and log-probabilities of the processed model equal the raw model's, on both backends.
 * Tolerance: |Δ pattern| ≤ 2e-5, |Δ log-prob| ≤ 2e-4 (float32; LN folding reorders sums).
 */
import { processWeights } from "../../src/circuits/process.ts";
import { gpt2Config, neoxConfig, randomModel, runWithCache } from "../../src/runtime/mod.ts";
import type { ModelConfig, Tensor } from "../../src/model/types.ts";
import { assertEquals } from "../_assert.ts";
import { assertClose } from "./_close.ts";

function logSoftmax(t: Tensor): Float32Array {
  const V = t.shape.at(-1)!;
  const out = new Float32Array(t.data.length);
  for (let r = 0; r < t.data.length / V; r++) {
    let max = -Infinity, sum = 0;
    for (let i = 0; i < V; i++) max = Math.max(max, t.data[r * V + i]!);
    for (let i = 0; i < V; i++) sum += Math.exp(t.data[r * V + i]! - max);
    for (let i = 0; i < V; i++) out[r * V + i] = t.data[r * V + i]! - max - Math.log(sum);
  }
  return out;
}

const CASES: Array<[ModelConfig, "reference" | "onnx"]> = [
  [gpt2Config({ nLayers: 3, dModel: 32, nHeads: 4, dHead: 8, dMlp: 128 }), "reference"],
  [gpt2Config({ nLayers: 2, dModel: 32, nHeads: 4, dHead: 8, dMlp: 128 }), "onnx"],
  [neoxConfig({ nLayers: 3, dModel: 64, nHeads: 4, dHead: 16, dMlp: 256 }), "reference"],
  [neoxConfig({ nLayers: 2, rotaryPct: 1.0 }), "onnx"],
];

for (const [config, backend] of CASES) {
  Deno.test({
    name:
      `processed (TL defaults) vs raw weights: same patterns and log-probs (${config.architecture}, rotary ${config.rotaryDim}, ${backend})`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const raw = randomModel(config, { seed: 21 });
      const processed = processWeights(raw);
      assertEquals(processed.weights.has("blocks.0.ln1.w"), false, "LN folded away");
      const prompts = [[1, 4, 9, 16, 25, 36, 49, 3], [2, 3, 5, 7, 11]];
      const names = ["blocks.*.attn.hook_pattern", "logits"];
      const a = await runWithCache(raw, prompts, { names, backend });
      const b = await runWithCache(processed, prompts, { names, backend });
      for (let l = 0; l < config.nLayers; l++) {
        const n = `blocks.${l}.attn.hook_pattern`;
        assertClose(b.get(n)!.data, a.get(n)!.data, 2e-5, 0, n);
      }
      assertClose(logSoftmax(b.get("logits")!), logSoftmax(a.get("logits")!), 2e-4, 0, "log-probs");
    },
  });
}
