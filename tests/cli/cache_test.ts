/**
 * `svlens cache` end to end, run with exactly its documented permissions
 * (`--unstable-raw-imports --allow-read=MODEL,OUTDIR --allow-write=OUTDIR`; the atomic rename
 * needs read access to the output directory too), on a random GPT-2 written
 * in Hugging Face's file layout here, and (with fixtures) the tiny HF GPT-2 with its tokenizer.
 * Saved hooks are checked against the in-process reference on the original TL weights
 * (|Δ| ≤ 2e-5 + 2e-5·|expected|).
 */
import { encodeSafetensors, readSafetensors } from "../../src/model/safetensors.ts";
import { generateModel } from "../../src/model/generate.ts";
import { loadModel } from "../../src/model/load.ts";
import { loadTokenizer } from "../../src/model/tokenizer.ts";
import { gpt2Config, randomModel, runWithCache } from "../../src/runtime/mod.ts";
import type { Model } from "../../src/model/types.ts";
import { FIXTURES, HAS_FIXTURES, runCli } from "../_helpers.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { assertClose } from "../runtime/_close.ts";

/** Writes `model` (TL layout, b_U zero) as a Hugging Face GPT-2 directory (Conv1D layout). */
async function writeHfGpt2(model: Model, dir: string): Promise<void> {
  const c = model.config;
  const { dModel: C, nHeads: H, dHead: D, dMlp: M, dVocab: V } = c;
  const w = (n: string): Float32Array => model.weights.get(n)!.data;
  const t = (shape: number[], data: Float32Array) => ({ dtype: "F32" as const, shape, data });
  const out: Record<string, ReturnType<typeof t>> = {
    "transformer.wte.weight": t([V, C], w("embed.W_E")),
    "transformer.wpe.weight": t([c.nCtx, C], w("pos_embed.W_pos")),
  };
  for (let l = 0; l < c.nLayers; l++) {
    const b = `blocks.${l}.`, h = `transformer.h.${l}.`;
    const qkv = new Float32Array(C * 3 * C), qkvB = new Float32Array(3 * C);
    ["Q", "K", "V"].forEach((x, xi) => {
      const W = w(`${b}attn.W_${x}`), B = w(`${b}attn.b_${x}`);
      for (let i = 0; i < H; i++) {
        for (let e = 0; e < D; e++) {
          qkvB[xi * C + i * D + e] = B[i * D + e]!;
          for (let m = 0; m < C; m++) qkv[m * 3 * C + xi * C + i * D + e] = W[(i * C + m) * D + e]!;
        }
      }
    });
    Object.assign(out, {
      [`${h}ln_1.weight`]: t([C], w(`${b}ln1.w`)),
      [`${h}ln_1.bias`]: t([C], w(`${b}ln1.b`)),
      [`${h}attn.c_attn.weight`]: t([C, 3 * C], qkv),
      [`${h}attn.c_attn.bias`]: t([3 * C], qkvB),
      [`${h}attn.c_proj.weight`]: t([C, C], w(`${b}attn.W_O`)),
      [`${h}attn.c_proj.bias`]: t([C], w(`${b}attn.b_O`)),
      [`${h}ln_2.weight`]: t([C], w(`${b}ln2.w`)),
      [`${h}ln_2.bias`]: t([C], w(`${b}ln2.b`)),
      [`${h}mlp.c_fc.weight`]: t([C, M], w(`${b}mlp.W_in`)),
      [`${h}mlp.c_fc.bias`]: t([M], w(`${b}mlp.b_in`)),
      [`${h}mlp.c_proj.weight`]: t([M, C], w(`${b}mlp.W_out`)),
      [`${h}mlp.c_proj.bias`]: t([C], w(`${b}mlp.b_out`)),
    });
  }
  const WU = w("unembed.W_U"), lm = new Float32Array(V * C);
  for (let i = 0; i < C; i++) for (let v = 0; v < V; v++) lm[v * C + i] = WU[i * V + v]!;
  out["transformer.ln_f.weight"] = t([C], w("ln_final.w"));
  out["transformer.ln_f.bias"] = t([C], w("ln_final.b"));
  out["lm_head.weight"] = t([V, C], lm);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(out));
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      model_type: "gpt2",
      n_embd: C,
      n_head: H,
      n_layer: c.nLayers,
      n_positions: c.nCtx,
      n_inner: M,
      vocab_size: V,
      layer_norm_epsilon: c.lnEps,
      activation_function: "gelu_new",
      tie_word_embeddings: false,
    }),
  );
}

async function fixture(): Promise<{ dir: string; model: Model; out: string }> {
  const root = await Deno.makeTempDir({ prefix: "svlens_cache_test_" });
  const model = randomModel(gpt2Config({ nLayers: 2, nCtx: 16 }), { seed: 4 });
  model.weights.delete("unembed.b_U"); // HF GPT-2 has no unembedding bias
  await writeHfGpt2(model, `${root}/model`);
  await Deno.mkdir(`${root}/out`);
  return { dir: `${root}/model`, model, out: `${root}/out` };
}

const perms = (model: string, out: string): string[] => [
  "--unstable-raw-imports",
  `--allow-read=${model},${out}`,
  `--allow-write=${out}`,
];

Deno.test({
  name: "svlens cache: --tokens, --raw and default processing, onnx backend, exact permissions",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { dir, model, out } = await fixture();
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6];
    const names =
      "blocks.*.ln1.hook_normalized,blocks.*.attn.hook_attn_scores,blocks.*.attn.hook_pattern,logits";
    const want = await runWithCache(model, [tokens], { backend: "reference" });

    const raw = await runCli(
      [
        "cache",
        dir,
        "--tokens",
        tokens.join(","),
        "--names",
        names,
        "--raw",
        "--out",
        `${out}/raw.safetensors`,
      ],
      perms(dir, out),
    );
    assertEquals(raw.code, 0, raw.stderr);
    assertMatch(raw.stdout, /blocks\.1\.attn\.hook_pattern\s+\[1, 2, 8, 8\]/);
    const rawFile = readSafetensors(await Deno.readFile(`${out}/raw.safetensors`));
    assertEquals(rawFile.tensors.size, 7);
    assertEquals(rawFile.metadata.tokens, JSON.stringify(tokens));
    for (const [name, t] of rawFile.tensors) {
      assertEquals(t.shape, [...want.get(name)!.shape], name);
      assertClose(t.data as Float32Array, want.get(name)!.data, 2e-5, 2e-5, `--raw ${name}`);
    }

    const tl = await runCli(
      [
        "cache",
        dir,
        "--tokens",
        tokens.join(","),
        "--names",
        "blocks.*.attn.hook_pattern",
        "--json",
        "--out",
        `${out}/tl.safetensors`,
      ],
      perms(dir, out),
    );
    assertEquals(tl.code, 0, tl.stderr);
    const summary = JSON.parse(tl.stdout);
    assertEquals(summary.tensors["blocks.0.attn.hook_pattern"], [1, 2, 8, 8]);
    const tlFile = readSafetensors(await Deno.readFile(`${out}/tl.safetensors`));
    for (const l of [0, 1]) {
      const n = `blocks.${l}.attn.hook_pattern`;
      assertClose(
        tlFile.tensors.get(n)!.data as Float32Array,
        want.get(n)!.data,
        2e-5,
        0,
        `processed ${n}`,
      );
    }
    assertEquals([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
      "raw.safetensors",
      "tl.safetensors",
    ]);
  },
});

Deno.test("svlens cache: usage errors exit 2, a missing write permission exits 1 and writes nothing", async () => {
  const { dir, out } = await fixture();
  const p = perms(dir, out);
  const cases: Array<[string[], RegExp]> = [
    [["cache", dir, "--tokens", "1,2"], /--out FILE\.safetensors is required/],
    [
      ["cache", dir, "--tokens", "1", "--text", "a", "--out", `${out}/x.safetensors`],
      /exactly one of --text or --tokens/,
    ],
    [["cache", dir, "--tokens", "1,x", "--out", `${out}/x.safetensors`], /--tokens expects/],
    [[
      "cache",
      dir,
      "--tokens",
      Array(17).fill(1).join(","),
      "--backend",
      "reference",
      "--out",
      `${out}/x.safetensors`,
    ], /context window \(n_ctx\) is 16/],
    [[
      "cache",
      dir,
      "--tokens",
      "1",
      "--names",
      "blocks.0.hook_nope",
      "--backend",
      "reference",
      "--out",
      `${out}/x.safetensors`,
    ], /matches no hook/],
    [
      ["cache", dir, "--tokens", "1", "--backend", "gpu", "--out", `${out}/x.safetensors`],
      /--backend must be onnx or reference/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args, p);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertMatch(r.stderr, pattern);
  }
  const denied = await runCli(
    ["cache", dir, "--tokens", "1,2", "--backend", "reference", "--out", `${out}/x.safetensors`],
    ["--allow-read=" + dir],
  );
  assertEquals(denied.code, 1);
  // Refused before the model is loaded, naming both flags the atomic write needs.
  assertMatch(denied.stderr, /needs --allow-read=\S+ --allow-write=\S+ .*not granted/);
  assertEquals([...Deno.readDirSync(out)].length, 0);
  await Deno.mkdir(`${out}/adir.safetensors`);
  const isDir = await runCli(
    ["cache", dir, "--tokens", "1,2", "--backend", "reference", "--out", `${out}/adir.safetensors`],
    p,
  );
  assertEquals(isDir.code, 1, isDir.stderr);
  assertMatch(isDir.stderr, /adir\.safetensors is a directory/);
  await Deno.remove(`${out}/adir.safetensors`);
});

Deno.test({
  name:
    "svlens cache: --text with the model's tokenizer (tiny HF GPT-2 fixture), reference backend",
  ignore: !HAS_FIXTURES,
  fn: async () => {
    const model = `${FIXTURES}tiny-gpt2-hf`;
    const out = await Deno.makeTempDir({ prefix: "svlens_cache_text_" });
    const r = await runCli(
      [
        "cache",
        model,
        "--text",
        " lowest newer",
        "--backend",
        "reference",
        "--json",
        "--out",
        `${out}/a.safetensors`,
      ],
      [`--allow-read=${model},${out}`, `--allow-write=${out}`],
    );
    assertEquals(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    const tokens = (await loadTokenizer(model)).encode(" lowest newer");
    assertEquals(summary.tokens, tokens);
    const T = tokens.length;
    const file = readSafetensors(await Deno.readFile(`${out}/a.safetensors`));
    const pattern = file.tensors.get("blocks.0.attn.hook_pattern")!;
    assertEquals(pattern.shape, [1, 1, T, T]);
    assertEquals(file.tensors.get("blocks.0.ln1.hook_scale")!.shape, [1, T, 1]);
    // Processing leaves patterns unchanged: compare with the raw model run in-process.
    const raw = await runWithCache(await loadModel(model), [tokens], { backend: "reference" });
    assertClose(
      pattern.data as Float32Array,
      raw.get("blocks.0.attn.hook_pattern")!.data,
      2e-5,
      0,
      "pattern",
    );
  },
});

Deno.test({
  name:
    "svlens cache: generated Pythia (HF files, BPE tokenizer), --text, onnx backend, exact permissions",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "svlens_cache_pythia_" });
    const dir = `${root}/pythia`, out = `${root}/out`;
    await generateModel(dir, { architecture: "gpt_neox", preset: "tiny", seed: 3 });
    await Deno.mkdir(out);
    const text = "The cat sat on the mat because it was warm";
    const r = await runCli(
      [
        "cache",
        dir,
        "--text",
        text,
        "--names",
        "blocks.*.attn.hook_pattern,blocks.0.ln1.hook_*",
        "--json",
        "--out",
        `${out}/p.safetensors`,
      ],
      perms(dir, out),
    );
    assertEquals(r.code, 0, r.stderr);
    const loaded = await loadModel(dir);
    const tokens = (await loadTokenizer(dir)).encode(text);
    assertEquals(JSON.parse(r.stdout).tokens, tokens);
    const file = readSafetensors(await Deno.readFile(`${out}/p.safetensors`));
    const raw = await runWithCache(loaded, [tokens], { backend: "reference" });
    for (let l = 0; l < loaded.config.nLayers; l++) {
      const n = `blocks.${l}.attn.hook_pattern`;
      assertEquals(file.tensors.get(n)!.shape, [
        1,
        loaded.config.nHeads,
        tokens.length,
        tokens.length,
      ]);
      assertClose(file.tensors.get(n)!.data as Float32Array, raw.get(n)!.data, 2e-5, 0, n);
    }
    // Processed weights read LNPre: per position, mean 0 and mean square var/(var + ε) where
    // hook_scale² = var + ε.
    const x = file.tensors.get("blocks.0.ln1.hook_normalized")!.data as Float32Array;
    const scale = file.tensors.get("blocks.0.ln1.hook_scale")!.data as Float32Array;
    const C = loaded.config.dModel, eps = loaded.config.lnEps;
    for (let t = 0; t < tokens.length; t++) {
      const row = x.subarray(t * C, (t + 1) * C);
      const mean = row.reduce((a, b) => a + b, 0) / C;
      const ms = row.reduce((a, b) => a + b * b, 0) / C;
      const s2 = scale[t]! ** 2;
      if (Math.abs(mean) > 1e-5 || Math.abs(ms - (s2 - eps) / s2) > 1e-4) {
        throw new Error(`LNPre row ${t}: mean ${mean}, mean square ${ms}, scale² ${s2}`);
      }
    }
    // --prepend-bos puts <|endoftext|> first, as TransformerLens's run_with_cache(text) does.
    const bos = await runCli(
      ["cache", dir, "--text", text, "--prepend-bos", "--backend", "reference", "--json"]
        .concat(["--names", "blocks.0.attn.hook_pattern", "--out", `${out}/bos.safetensors`]),
      [`--allow-read=${dir},${out}`, `--allow-write=${out}`],
    );
    assertEquals(bos.code, 0, bos.stderr);
    const eot = (await loadTokenizer(dir)).tokenToId("<|endoftext|>")!;
    assertEquals(JSON.parse(bos.stdout).tokens, [eot, ...tokens]);
    const withBos = await runWithCache(loaded, [[eot, ...tokens]], { backend: "reference" });
    const n = "blocks.0.attn.hook_pattern";
    const got = readSafetensors(await Deno.readFile(`${out}/bos.safetensors`)).tensors.get(n)!;
    assertClose(got.data as Float32Array, withBos.get(n)!.data, 2e-5, 0, "pattern with BOS");
  },
});
