/**
 * ONNX graphs run by onnxruntime-web against the pure-TS reference on random GPT-2- and
 * Pythia-shaped models (several sizes, rotary_pct 0.25 and 1.0, raw and LN-folded, padded
 * batches). Tolerance for every hook: |Δ| ≤ 2e-5 + 2e-5·|reference| (float32 with different
 * summation orders); masked scores -Infinity in both. Also: session reuse and the wasm-loading
 * permissions.
 */
import {
  gpt2Config,
  hookNames,
  neoxConfig,
  randomModel,
  releaseSessions,
  runWithCache,
} from "../../src/runtime/mod.ts";
import {
  cachedHookSets,
  cachedSessionCount,
  liveSessionCount,
  MAX_SESSIONS_PER_MODEL,
  ortWasmPath,
} from "../../src/runtime/onnx_session.ts";
import { buildGraph } from "../../src/runtime/onnx_graph.ts";
import type { Model, ModelConfig } from "../../src/model/types.ts";
import { runDeno } from "../_helpers.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { closeness } from "./_close.ts";

const ATOL = 2e-5, RTOL = 2e-5;
const ort = { sanitizeOps: false, sanitizeResources: false };

function withoutLnAffine(model: Model): Model {
  const weights = new Map([...model.weights].filter(([k]) => !/ln(1|2|_final)\.[wb]$/.test(k)));
  return { ...model, weights };
}

const CASES: Array<[string, ModelConfig, { fold?: boolean; noBiases?: boolean }]> = [
  ["gpt2 tiny", gpt2Config(), {}],
  [
    "gpt2 d=64 4 heads 3 layers LNPre",
    gpt2Config({ dModel: 64, nHeads: 4, dHead: 16, dMlp: 256, nLayers: 3 }),
    { fold: true },
  ],
  [
    "gpt2 d=96 exact gelu",
    gpt2Config({ dModel: 96, nHeads: 3, dHead: 32, dMlp: 384, act: "gelu", dVocab: 300 }),
    {},
  ],
  [
    "pythia rotary_pct 0.25 (d_head 32 → 8 rotary dims)",
    neoxConfig({ dModel: 128, nHeads: 4, dHead: 32, dMlp: 512, nLayers: 2 }),
    {},
  ],
  [
    "pythia rotary_pct 1.0",
    neoxConfig({ rotaryPct: 1.0, dModel: 48, nHeads: 3, dHead: 16, dMlp: 192, nLayers: 3 }),
    {},
  ],
  ["pythia no biases LNPre", neoxConfig({ nLayers: 2 }), { fold: true, noBiases: true }],
  ["neox sequential residual", neoxConfig({ parallelResidual: false, nLayers: 2 }), {}],
];

for (const [label, config, opts] of CASES) {
  Deno.test({
    name: `onnx vs reference: ${label}`,
    ...ort,
    fn: async () => {
      let model = randomModel(config, { seed: 11, noBiases: opts.noBiases });
      if (opts.fold) model = withoutLnAffine(model);
      const prompts = [[1, 5, 9, 2, 7, 3, 8, 4, 6, 10, 12, 14], [3, 1, 4, 1, 5], [
        2,
        7,
        1,
        8,
        2,
        8,
        1,
        8,
        2,
      ]];
      const ref = await runWithCache(model, prompts, { backend: "reference" });
      const onnx = await runWithCache(model, prompts, { backend: "onnx" });
      let worst = 0, worstName = "";
      for (const name of hookNames(config)) {
        const a = onnx.get(name), b = ref.get(name);
        if (a === undefined || b === undefined) throw new Error(`missing ${name}`);
        assertEquals(a.shape, b.shape, `${name} shape`);
        const c = closeness(a.data, b.data, ATOL, RTOL);
        if (!(c.ratio <= 1)) {
          throw new Error(
            `${name}: entry ${c.index} ${a.data[c.index]} vs ${
              b.data[c.index]
            } (max |Δ| ${c.maxAbs})`,
          );
        }
        if (c.maxAbs > worst) [worst, worstName] = [c.maxAbs, name];
      }
      console.log(`${label}: worst max |Δ| ${worst.toExponential(2)} at ${worstName}`);
    },
  });
}

Deno.test({
  name: "onnx: a hook subset, logits at the last tokens, and one session per hook set reused",
  ...ort,
  fn: async () => {
    const model = randomModel(neoxConfig({ nLayers: 3 }), { seed: 2 });
    const names = ["blocks.*.ln1.hook_normalized", "blocks.*.attn.hook_pattern", "logits"];
    const prompts = [[1, 2, 3, 4, 5, 6], [7, 8, 9]];
    const ref = await runWithCache(model, prompts, {
      names,
      backend: "reference",
      logitPositions: "last",
    });
    for (let i = 0; i < 2; i++) {
      const got = await runWithCache(model, i ? [[4, 4]] : prompts, {
        names,
        backend: "onnx",
        logitPositions: "last",
      });
      assertEquals(got.size, 7);
      if (i === 0) {
        for (const [name, t] of ref) {
          assertEquals(got.get(name)!.shape, t.shape);
          if (!(closeness(got.get(name)!.data, t.data, ATOL, RTOL).ratio <= 1)) {
            throw new Error(name);
          }
        }
      }
    }
    assertEquals(
      got1Shape(await runWithCache(model, [[1]], { names: ["logits"], backend: "onnx" })),
      [1, 1, 50],
    );
    assertEquals(cachedSessionCount(model), 2, "one session per distinct hook set, reused");
    // A third hook set evicts (and releases) the least recently used session; running that
    // set again rebuilds it and gives the same numbers.
    const pattern0 = "blocks.0.attn.hook_pattern";
    const live = liveSessionCount();
    const [first, second] = cachedHookSets(model);
    await runWithCache(model, [[2, 3]], { names: [pattern0], backend: "onnx" });
    assertEquals(cachedSessionCount(model), MAX_SESSIONS_PER_MODEL);
    assertEquals(cachedHookSets(model), [second!, [pattern0]], "the least recently used went");
    await new Promise((resolve) => setTimeout(resolve, 0)); // the release is scheduled
    assertEquals(liveSessionCount(), live, "one built, one released");
    assertEquals(first!.length, 7, "the evicted set was the 7-hook one");
    const again = await runWithCache(model, prompts, {
      names,
      backend: "onnx",
      logitPositions: "last",
    });
    for (const [name, t] of ref) {
      if (!(closeness(again.get(name)!.data, t.data, ATOL, RTOL).ratio <= 1)) {
        throw new Error(`after eviction: ${name}`);
      }
    }
    assertEquals(cachedSessionCount(model), MAX_SESSIONS_PER_MODEL);
    const before = liveSessionCount();
    await releaseSessions(model);
    assertEquals(liveSessionCount(), before - MAX_SESSIONS_PER_MODEL, "all released");
    assertEquals(cachedSessionCount(model), 0, "released");
  },
});

function got1Shape(cache: Map<string, { shape: readonly number[] }>): readonly number[] {
  return cache.get("logits")!.shape;
}

Deno.test({
  name:
    "onnx runtime wasm: loads with --unstable-raw-imports and no permissions, or a read grant on that one file",
  ...ort,
  fn: async () => {
    const smoke = new URL("./_onnx_smoke.ts", import.meta.url).pathname;
    const flagOnly = await runDeno(["run", "--quiet", "--unstable-raw-imports", smoke]);
    assertEquals(flagOnly.code, 0, flagOnly.stderr);
    assertMatch(flagOnly.stdout, /^ok /);
    const fileOnly = await runDeno(["run", "--quiet", `--allow-read=${ortWasmPath()}`, smoke]);
    assertEquals(fileOnly.code, 0, fileOnly.stderr);
    const neither = await runDeno(["run", "--quiet", smoke]);
    assertEquals(neither.code === 0, false);
    assertMatch(
      neither.stderr,
      /--unstable-raw-imports .*--allow-read=\S+ort-wasm-simd-threaded\.wasm/,
    );
  },
});

Deno.test("graph builder: only what the requested hooks depend on is kept (inputs, weights)", () => {
  const gpt2 = randomModel(gpt2Config({ dModel: 64, nHeads: 4, dHead: 16, dMlp: 256 }), {
    seed: 1,
  });
  const g = buildGraph(gpt2, { hooks: new Set(["blocks.0.attn.hook_pattern"]) });
  // W_E, W_pos, W_Q, W_K (≥ 4 KiB each) go external; W_V, W_O, the MLP and layer 1 are pruned.
  assertEquals(g.externalData.length, 4);
  assertEquals(g.inputs.sort(), ["attn_mask", "input_ids", "position_ids"]);
  const neox = randomModel(neoxConfig(), { seed: 1 });
  assertEquals(buildGraph(neox, { hooks: new Set(["hook_embed"]) }).inputs, ["input_ids"]);
  const inline = buildGraph(neox, { hooks: new Set(["logits"]), externalData: false });
  assertEquals(inline.externalData.length, 0);
  assertEquals(inline.inputs.sort(), [
    "attn_mask",
    "input_ids",
    "logit_index",
    "rotary_cos",
    "rotary_sin",
  ]);
});

Deno.test({
  name: "onnx: sessions for two hook sets built at the same time (creation is serialised)",
  ...ort,
  fn: async () => {
    const model = randomModel(gpt2Config({ nLayers: 2 }), { seed: 4 });
    const sets = [["blocks.0.attn.hook_pattern"], ["blocks.1.ln1.hook_normalized"]];
    const prompts = [[3, 1, 4, 1, 5]];
    const [a, b] = await Promise.all(
      sets.map((names) => runWithCache(model, prompts, { names, backend: "onnx" })),
    );
    for (const [names, got] of [[sets[0]!, a!], [sets[1]!, b!]] as const) {
      const want = await runWithCache(model, prompts, { names, backend: "reference" });
      for (const [name, t] of want) {
        if (!(closeness(got.get(name)!.data, t.data, ATOL, RTOL).ratio <= 1)) throw new Error(name);
      }
    }
    await releaseSessions(model);
  },
});
