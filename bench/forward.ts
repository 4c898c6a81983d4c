/**
 * Forward-pass benchmark: a GPT-2-small-shaped model (or pythia-160m with `--arch pythia`), random
 * weights, real shapes (12 layers, 12 heads, d_model 768, d_mlp 3072, vocab 50257 / 50304),
 * 128 IOI-length prompts (14–18 tokens), capturing
 * `blocks.*.ln1.hook_normalized` and `blocks.*.attn.hook_pattern` for every layer.
 * Prints onnxruntime-web (2 threads) and the pure-TS reference side by side with the ratio, the
 * agreement between them, and peak RSS. Targets (issue 5): ONNX < 10 s, peak RSS < 2 GB.
 *
 * Run: `deno run --unstable-raw-imports --allow-sys=loadavg bench/forward.ts
 * [--prompts 128] [--reference-prompts 8] [--threads 2] [--chunk 128] [--seed 1]
 * [--arch gpt2|pythia]`
 * (the reference runs on a subset, `--reference-prompts`, and is reported per token).
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { gpt2Config, neoxConfig, randomModel, runWithCache } from "../src/runtime/mod.ts";
import { initOrt, ortThreads } from "../src/runtime/onnx_session.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    prompts: { type: "string", default: "128" },
    "reference-prompts": { type: "string", default: "8" },
    threads: { type: "string", default: "2" },
    seed: { type: "string", default: "1" },
    chunk: { type: "string", default: "128" },
    arch: { type: "string", default: "gpt2" },
  },
});
const nPrompts = Number(values.prompts);
const nRef = Number(values["reference-prompts"]);
const seed = Number(values.seed);

/** Peak resident set size of the process (getrusage maxRSS) in MB; needs no permission. */
function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Process CPU seconds (user + system, all threads, ORT's workers included). */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

// Prompts: seeded lengths 14..18 and token ids (mulberry32).
let state = seed >>> 0;
const uniform = (): number => {
  let t = (state = (state + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const shape = { nLayers: 12, nHeads: 12, dModel: 768, dHead: 64, dMlp: 3072 };
const config = values.arch === "pythia"
  ? neoxConfig({ ...shape, dVocab: 50304, nCtx: 2048, rotaryPct: 0.25 }) // pythia-160m
  : gpt2Config({ ...shape, dVocab: 50257, nCtx: 1024 }); // gpt2 (small)
const prompts = Array.from(
  { length: nPrompts },
  () => Array.from({ length: 14 + Math.floor(uniform() * 5) }, () => Math.floor(uniform() * 50257)),
);
const nTokens = prompts.reduce((a, p) => a + p.length, 0);
const names = ["blocks.*.ln1.hook_normalized", "blocks.*.attn.hook_pattern"];

let t0 = performance.now();
const model = randomModel(config, { seed });
model.weights.delete("unembed.W_U"); // logits are not captured: the unembedding is never read
model.weights.delete("unembed.b_U");
const tModel = performance.now() - t0;
console.error(
  `model generated in ${(tModel / 1000).toFixed(1)} s, RSS ${peakRssMb().toFixed(0)} MB`,
);

await initOrt(Number(values.threads));
t0 = performance.now();
await runWithCache(model, [[1, 2]], { names, backend: "onnx" }); // builds + caches the session
const tSession = performance.now() - t0;
const rssSession = peakRssMb();
t0 = performance.now();
let cpu0 = cpuSeconds();
// Batches of --chunk prompts (one padded batch each); outputs of the first chunk are compared.
const chunk = Number(values.chunk);
let onnx = new Map<string, { shape: readonly number[]; data: Float32Array }>();
for (let i = 0; i < nPrompts; i += chunk) {
  const out = await runWithCache(model, prompts.slice(i, i + chunk), { names, backend: "onnx" });
  if (i === 0) onnx = out;
}
const tOnnx = performance.now() - t0;
const cpuOnnx = cpuSeconds() - cpu0;
const rssOnnx = peakRssMb();

const refPrompts = prompts.slice(0, nRef);
const refTokens = refPrompts.reduce((a, p) => a + p.length, 0);
t0 = performance.now();
cpu0 = cpuSeconds();
const ref = await runWithCache(model, refPrompts, { names, backend: "reference" });
const tRef = performance.now() - t0;
const cpuRef = cpuSeconds() - cpu0;

// Agreement on the shared prompts (padding differs, so compare each prompt's real block).
let maxDiff = 0;
const T = onnx.get("blocks.0.attn.hook_pattern")!.shape[2]!;
const Tr = ref.get("blocks.0.attn.hook_pattern")!.shape[2]!;
for (let l = 0; l < config.nLayers; l++) {
  const a = onnx.get(`blocks.${l}.attn.hook_pattern`)!.data;
  const b = ref.get(`blocks.${l}.attn.hook_pattern`)!.data;
  refPrompts.forEach((p, i) => {
    for (let h = 0; h < config.nHeads; h++) {
      for (let q = 0; q < p.length; q++) {
        for (let k = 0; k <= q; k++) {
          const x = a[((i * config.nHeads + h) * T + q) * T + k]!;
          const y = b[((i * config.nHeads + h) * Tr + q) * Tr + k]!;
          maxDiff = Math.max(maxDiff, Math.abs(x - y));
        }
      }
    }
  });
}

const onnxTps = nTokens / (tOnnx / 1000);
const refTps = refTokens / (tRef / 1000);
const row = (name: string, cells: string[]): string =>
  [name.padEnd(34), ...cells.map((c) => c.padStart(14))].join("");
console.log(
  `${
    values.arch === "pythia" ? "pythia-160m" : "GPT-2-small"
  } shape, ${nPrompts} prompts, ${nTokens} tokens, capture ln1.hook_normalized + hook_pattern (all 12 layers)`,
);
console.log(row("", ["onnxruntime-web", "reference TS", "ratio"]));
console.log(row("prompts run", [`${nPrompts}`, `${nRef}`, ""]));
console.log(row("session build (s, once)", [(tSession / 1000).toFixed(2), "-", ""]));
console.log(
  row("forward wall time (s)", [(tOnnx / 1000).toFixed(2), (tRef / 1000).toFixed(2), ""]),
);
console.log(row("forward CPU time (s)", [cpuOnnx.toFixed(2), cpuRef.toFixed(2), ""]));
console.log(
  row("tokens/s", [onnxTps.toFixed(0), refTps.toFixed(0), `${(onnxTps / refTps).toFixed(1)}×`]),
);
console.log(
  row("128 prompts, projected (s)", [(tOnnx / 1000).toFixed(2), (nTokens / refTps).toFixed(1), ""]),
);
console.log(
  `load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")} on ` +
    `${navigator.hardwareConcurrency} cores (CPU time / threads ≈ uncontended wall time)`,
);
console.log(
  `seed ${seed}; threads ${ortThreads()} (asked ${values.threads}); batches of ${chunk} prompts; ` +
    `model generation ${(tModel / 1000).toFixed(1)} s (not counted)`,
);
console.log(
  `peak RSS: ${rssSession.toFixed(0)} MB after session build, ${
    rssOnnx.toFixed(0)
  } MB after the ONNX run, ${peakRssMb().toFixed(0)} MB at the end`,
);
console.log(
  `max |pattern(onnx) − pattern(reference)| on the shared prompts: ${maxDiff.toExponential(2)}`,
);
console.log(
  `targets: ONNX forward < 10 s: ${tOnnx < 10_000 ? "met" : "MISSED"}; peak RSS < 2048 MB: ${
    peakRssMb() < 2048 ? "met" : "MISSED"
  }`,
);
Deno.exit(0);
