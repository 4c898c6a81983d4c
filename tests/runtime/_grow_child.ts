/**
 * Subprocess body of the heap-growth regression test: the batch of `svlens sad --n 12` on a tiny
 * Pythia (12 prompts of 37–66 tokens, ln1 + pattern hooks of both layers), whose first run grows
 * onnxruntime-web's WebAssembly heap if it was not pre-sized. Optional argument: the thread
 * count. Prints `ok <max |Δ| vs the reference> <threads onnxruntime ran with>`.
 */
import { neoxConfig, randomModel, runWithCache } from "../../src/runtime/mod.ts";
import { ortThreads } from "../../src/runtime/onnx_session.ts";

const threads = Deno.args[0] === undefined ? undefined : Number(Deno.args[0]);
const model = randomModel(
  neoxConfig({ nLayers: 2, nHeads: 4, dModel: 64, dHead: 16, dMlp: 256, dVocab: 512, nCtx: 128 }),
  { seed: 3 },
);
const lengths = [47, 58, 52, 37, 40, 53, 42, 66, 53, 61, 65, 55];
const tokens = lengths.map((n, b) => Array.from({ length: n }, (_, i) => (i * 31 + b * 7) % 512));
const names = [0, 1].flatMap((
  l,
) => [`blocks.${l}.ln1.hook_normalized`, `blocks.${l}.attn.hook_pattern`]);
const onnx = await runWithCache(model, tokens, { names, threads, logitPositions: "last" });
const ref = await runWithCache(model, tokens, {
  names,
  backend: "reference",
  logitPositions: "last",
});
let worst = 0;
for (const name of names) {
  const x = onnx.get(name)!.data, y = ref.get(name)!.data;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
}
console.log(`ok ${worst} ${ortThreads()}`);
