/**
 * The reference forward pass against an independent numpy float64 forward (GPT-2 and Pythia
 * shapes, rotary_pct 0.25 and 1.0, raw and LN-folded): |Δ| ≤ 1e-4 + 1e-4·|expected|; a
 * hand-computed two-token rotary case and batched = one-by-one (both backends); filters and
 * input errors.
 */
import {
  gpt2Config,
  hookNames,
  neoxConfig,
  randomModel,
  rotaryTables,
  runWithCache,
} from "../../src/runtime/mod.ts";
import type { Model, ModelConfig, Tensor } from "../../src/model/types.ts";
import { HAS_NUMPY } from "../_helpers.ts";
import { assertAlmostEquals, assertEquals, assertRejects } from "../_assert.ts";
import { assertClose } from "./_close.ts";
import { numpyForward } from "./_numpy_oracle.ts";

/** The same model with its LayerNorm affine removed (what a folded model runs: LNPre). */
function withoutLnAffine(model: Model): Model {
  const weights = new Map([...model.weights].filter(([k]) => !/ln(1|2|_final)\.[wb]$/.test(k)));
  return { ...model, weights, processing: { ...model.processing, foldLayerNorm: true } };
}

const ORACLE_CASES: Array<[string, ModelConfig, { fold?: boolean; noBiases?: boolean }]> = [
  ["gpt2 raw", gpt2Config(), {}],
  ["gpt2 LNPre", gpt2Config({ nLayers: 1, nHeads: 4, dHead: 4 }), { fold: true }],
  ["pythia rotary_pct 0.25", neoxConfig({ dHead: 16, nHeads: 2, dModel: 32 }), {}],
  ["pythia rotary_pct 1.0", neoxConfig({ rotaryPct: 1.0 }), {}],
  ["pythia no biases, LNPre", neoxConfig({ nLayers: 3 }), { fold: true, noBiases: true }],
  ["gpt2 with exact gelu", gpt2Config({ act: "gelu" }), {}],
  ["neox sequential residual", neoxConfig({ parallelResidual: false, nLayers: 2 }), {}],
];

for (const [label, config, opts] of ORACLE_CASES) {
  Deno.test({
    name: `reference vs numpy float64 oracle: ${label}`,
    ignore: !HAS_NUMPY,
    fn: async () => {
      let model = randomModel(config, { seed: 7, noBiases: opts.noBiases });
      if (opts.fold) model = withoutLnAffine(model);
      const tokens = [3, 17, 5, 0, 42, 9, 11, 30, 2, 8, 19];
      const want = await numpyForward(model, tokens);
      const cache = await runWithCache(model, [tokens], { backend: "reference" });
      for (const [name, expected] of want) {
        const got = cache.get(name);
        if (got === undefined) throw new Error(`missing ${name}`);
        assertClose(got.data, expected, 1e-4, 1e-4, `${label} ${name}`);
      }
    },
  });
}

for (const backend of ["reference", "onnx"] as const) {
  Deno.test({
    name:
      `rotary: hand-computed two-token case (NeoX rotate-half pairing, rotary_pct 1.0), ${backend}`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      // One head, d_head 4 = rotary_dim; W_Q = W_K = I, LNPre; embeddings with mean 0 and variance 1,
      // so q = k = a·e with a = 1/√(1 + ε). Pairs (0,2) rotate by pos·1 and (1,3) by pos·0.01.
      const config = neoxConfig({
        nLayers: 1,
        nHeads: 1,
        dModel: 4,
        dHead: 4,
        dMlp: 4,
        dVocab: 2,
        nCtx: 4,
        rotaryPct: 1.0,
      });
      const eye = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
      const t = (shape: number[], data: Float32Array): Tensor => ({ shape, data });
      const weights = new Map<string, Tensor>([
        ["embed.W_E", t([2, 4], new Float32Array([1, -1, 1, -1, 1, 1, -1, -1]))],
        ["blocks.0.attn.W_Q", t([1, 4, 4], eye)],
        ["blocks.0.attn.W_K", t([1, 4, 4], eye)],
        ["blocks.0.attn.W_V", t([1, 4, 4], eye)],
        ["blocks.0.attn.W_O", t([1, 4, 4], eye)],
        ["blocks.0.mlp.W_in", t([4, 4], new Float32Array(16))],
        ["blocks.0.mlp.W_out", t([4, 4], new Float32Array(16))],
        ["unembed.W_U", t([4, 2], new Float32Array(8))],
      ]);
      const model: Model = {
        config,
        weights,
        processing: {
          foldLayerNorm: true,
          centerWritingWeights: false,
          centerUnembed: false,
          foldValueBiases: false,
        },
      };
      const cache = await runWithCache(model, [[0, 1]], {
        backend,
        names: ["blocks.0.attn.hook_attn_scores", "blocks.0.attn.hook_rot_q"],
      });
      const a2 = 1 / (1 + 1e-5);
      const s = cache.get("blocks.0.attn.hook_attn_scores")!.data; // [1, 1, 2, 2]
      assertAlmostEquals(s[0]!, 2 * a2, 1e-6, "score(0,0) = |q|²/2");
      assertEquals(s[1], -Infinity, "score(0,1) is masked");
      // q1 = a(1,1,-1,-1) rotated at pos 1 · k0 = a(1,-1,1,-1), /√4: a²(sin 1 − sin 0.01).
      assertAlmostEquals(s[2]!, a2 * (Math.sin(1) - Math.sin(0.01)), 1e-6, "score(1,0)");
      assertAlmostEquals(s[3]!, 2 * a2, 1e-6, "score(1,1): same-position rotation cancels");
      const rq = cache.get("blocks.0.attn.hook_rot_q")!.data; // position 1, head 0 at offset 4
      const a = Math.sqrt(a2);
      const expected = [
        Math.cos(1) + Math.sin(1),
        Math.cos(0.01) + Math.sin(0.01),
        -Math.cos(1) + Math.sin(1),
        -Math.cos(0.01) + Math.sin(0.01),
      ];
      expected.forEach((e, i) => assertAlmostEquals(rq[4 + i]!, a * e, 1e-6, `rot_q[1][${i}]`));
      const { sin } = rotaryTables(16, 10000, 3);
      assertAlmostEquals(sin[8 + 3]!, Math.sin(Math.pow(10000, -6 / 16)), 1e-7, "table entry");
    },
  });
}

for (const backend of ["reference", "onnx"] as const) {
  for (const config of [gpt2Config({ nLayers: 2 }), neoxConfig({ nLayers: 2 })]) {
    Deno.test({
      name:
        `batched equals one-by-one (${config.architecture}, ${backend}, right padding + key mask)`,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        const model = randomModel(config, { seed: 3 });
        const prompts = [[1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12, 13, 14, 15]];
        const batched = await runWithCache(model, prompts, { backend });
        // The reference runs the same loops per prompt; onnxruntime's kernels block by batch shape.
        const tol = backend === "reference" ? 1e-6 : 2e-5;
        const T = 7;
        for (let b = 0; b < prompts.length; b++) {
          const len = prompts[b]!.length;
          const alone = await runWithCache(model, [prompts[b]!], { backend });
          for (const name of hookNames(config)) {
            const x = batched.get(name)!, y = alone.get(name)!;
            if (/hook_(attn_scores|pattern)$/.test(name)) {
              const H = config.nHeads;
              for (let h = 0; h < H; h++) {
                for (let q = 0; q < len; q++) {
                  for (let k = 0; k < T; k++) {
                    const got = x.data[((b * H + h) * T + q) * T + k]!;
                    const want = k < len
                      ? y.data[(h * len + q) * len + k]!
                      : (name.endsWith("pattern") ? 0 : -Infinity);
                    if (!(got === want || Math.abs(got - want) <= tol)) {
                      throw new Error(`${name} b${b} h${h} q${q} k${k}: ${got} vs ${want}`);
                    }
                  }
                }
              }
            } else {
              const row = y.data.length / len; // values per position
              const got = x.data.subarray(b * T * row, b * T * row + len * row);
              assertClose(got, y.data, tol, tol, `${name} prompt ${b}`);
            }
          }
        }
      },
    });
  }
}

Deno.test("a prompt longer than n_ctx, an out-of-vocabulary id and an empty prompt are clear errors", async () => {
  const model = randomModel(gpt2Config({ nCtx: 8 }));
  await assertRejects(
    () => runWithCache(model, [[1, 2], new Array(9).fill(1)], { backend: "reference" }),
    RangeError,
    /prompt 1 has 9 tokens but the model's context window \(n_ctx\) is 8/,
  );
  await assertRejects(
    () => runWithCache(model, [[1, 50]], { backend: "reference" }),
    RangeError,
    /token 1 is 50/,
  );
  await assertRejects(
    () => runWithCache(model, [[]], { backend: "reference" }),
    RangeError,
    /prompt 0 is empty/,
  );
  await assertRejects(
    () =>
      runWithCache(model, [[1]], { backend: "reference", names: ["blocks.0.attn.hook_patern"] }),
    RangeError,
    /matches no hook/,
  );
});

Deno.test("names filter, TL shapes, logits only at requested positions", async () => {
  const config = neoxConfig({ nLayers: 2, nHeads: 2, dHead: 8, dModel: 16, dVocab: 50 });
  const model = randomModel(config, { seed: 5 });
  const prompts = [[1, 2, 3, 4], [5, 6]];
  const cache = await runWithCache(model, prompts, {
    backend: "reference",
    names: [
      "blocks.*.ln1.hook_normalized",
      "blocks.1.attn.hook_pattern",
      "blocks.0.attn.hook_q",
      "logits",
    ],
    logitPositions: "last",
  });
  assertEquals([...cache.keys()].sort(), [
    "blocks.0.attn.hook_q",
    "blocks.0.ln1.hook_normalized",
    "blocks.1.attn.hook_pattern",
    "blocks.1.ln1.hook_normalized",
    "logits",
  ]);
  assertEquals(cache.get("blocks.0.ln1.hook_normalized")!.shape, [2, 4, 16]);
  assertEquals(cache.get("blocks.1.attn.hook_pattern")!.shape, [2, 2, 4, 4]);
  assertEquals(cache.get("blocks.0.attn.hook_q")!.shape, [2, 4, 2, 8]);
  assertEquals(cache.get("logits")!.shape, [2, 1, 50]);
  const all = await runWithCache(model, prompts, { backend: "reference", names: /^logits$/ });
  const full = all.get("logits")!.data, last = cache.get("logits")!.data;
  assertEquals(Array.from(last.subarray(0, 50)), Array.from(full.subarray(3 * 50, 4 * 50)));
  assertEquals(
    Array.from(last.subarray(50, 100)),
    Array.from(full.subarray((4 + 1) * 50, (4 + 2) * 50)),
  );
});
