import { encodeSafetensors } from "../../src/model/safetensors.ts";
import { readSafetensors } from "../../src/model/safetensors.ts";
import { Rng } from "../../src/linalg/rng.ts";
import { generateModel } from "../../src/model/generate.ts";
import { assertAllClose, assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { FIXTURES, HAS_FIXTURES, HAS_NUMPY, runCli, runPython } from "../_helpers.ts";
import { assertValidResults } from "../report/_schema.ts";
import { normalTensors } from "./_gpt2_dir.ts";

/**
 * Writes a small random model in exact Hugging Face files (config.json + model.safetensors, GPT-2
 * `Conv1D` keys or GPT-NeoX fused `query_key_value`), with non-trivial LayerNorm weights and
 * biases so processing matters.
 */
async function writeHfModel(
  dir: string,
  arch: "gpt2" | "gpt_neox",
  seed: number,
  { d = 32, heads = 4, layers = 2, vocab = 60 } = {},
): Promise<void> {
  const { tensors: t, put } = normalTensors(new Rng(seed));
  const s = 1 / Math.sqrt(d);
  if (arch === "gpt2") {
    put("wte.weight", [vocab, d], 0.5, 0.1);
    put("wpe.weight", [64, d], 0.1);
    for (let l = 0; l < layers; l++) {
      const p = `h.${l}.`;
      put(p + "ln_1.weight", [d], 0.2, 1);
      put(p + "ln_1.bias", [d], 0.2);
      put(p + "attn.c_attn.weight", [d, 3 * d], s);
      put(p + "attn.c_attn.bias", [3 * d], 0.3);
      put(p + "attn.c_proj.weight", [d, d], s);
      put(p + "attn.c_proj.bias", [d], 0.1);
      put(p + "ln_2.weight", [d], 0.2, 1);
      put(p + "ln_2.bias", [d], 0.2);
      put(p + "mlp.c_fc.weight", [d, 4 * d], s);
      put(p + "mlp.c_fc.bias", [4 * d], 0.1);
      put(p + "mlp.c_proj.weight", [4 * d, d], s / 2);
      put(p + "mlp.c_proj.bias", [d], 0.1);
    }
    put("ln_f.weight", [d], 0.2, 1);
    put("ln_f.bias", [d], 0.2);
  } else {
    put("gpt_neox.embed_in.weight", [vocab, d], 0.5, 0.1);
    for (let l = 0; l < layers; l++) {
      const p = `gpt_neox.layers.${l}.`;
      put(p + "input_layernorm.weight", [d], 0.2, 1);
      put(p + "input_layernorm.bias", [d], 0.2);
      put(p + "post_attention_layernorm.weight", [d], 0.2, 1);
      put(p + "post_attention_layernorm.bias", [d], 0.2);
      put(p + "attention.query_key_value.weight", [3 * d, d], s);
      put(p + "attention.query_key_value.bias", [3 * d], 0.3);
      put(p + "attention.dense.weight", [d, d], s);
      put(p + "attention.dense.bias", [d], 0.1);
      put(p + "mlp.dense_h_to_4h.weight", [4 * d, d], s);
      put(p + "mlp.dense_h_to_4h.bias", [4 * d], 0.1);
      put(p + "mlp.dense_4h_to_h.weight", [d, 4 * d], s / 2);
      put(p + "mlp.dense_4h_to_h.bias", [d], 0.1);
    }
    put("gpt_neox.final_layer_norm.weight", [d], 0.2, 1);
    put("gpt_neox.final_layer_norm.bias", [d], 0.2);
    put("embed_out.weight", [vocab, d], s);
  }
  const config = arch === "gpt2"
    ? {
      model_type: "gpt2",
      n_embd: d,
      n_head: heads,
      n_layer: layers,
      n_positions: 64,
      vocab_size: vocab,
      n_inner: null,
      layer_norm_epsilon: 1e-5,
      activation_function: "gelu_new",
    }
    : {
      model_type: "gpt_neox",
      architectures: ["GPTNeoXForCausalLM"],
      hidden_size: d,
      num_attention_heads: heads,
      num_hidden_layers: layers,
      intermediate_size: 4 * d,
      max_position_embeddings: 64,
      vocab_size: vocab,
      rotary_pct: 0.25,
      rotary_emb_base: 10000,
      layer_norm_eps: 1e-5,
      hidden_act: "gelu",
      use_parallel_residual: true,
      tie_word_embeddings: false,
    };
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(t));
}

interface HeadJson {
  circuit: string;
  layer: number;
  head: number;
  singularValues: number[];
  effectiveRank: number;
  readout: Array<{ u: { top: Array<{ token: number; text?: string }> } }>;
}

/**
 * Independent oracle: numpy reads model.safetensors itself, applies TransformerLens's fold_ln +
 * centring by its own formulas, forms each head's dense Ω and takes the dense SVD.
 */
const NUMPY_ORACLE = String.raw`
import json, struct, sys
import numpy as np
d_dir, variant = sys.argv[1], sys.argv[2]
raw = open(d_dir + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
T = {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]], "<f4")
        .reshape(v["shape"]).astype(np.float64) for k, v in hdr.items() if k != "__metadata__"}
cfg = json.load(open(d_dir + "/config.json"))
out = []
if cfg["model_type"] == "gpt2":
    d, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
else:
    d, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
dh = d // H
for l in range(L):
    if cfg["model_type"] == "gpt2":
        p = "h.%d." % l
        g, be = T[p + "ln_1.weight"], T[p + "ln_1.bias"]
        W, B = T[p + "attn.c_attn.weight"], T[p + "attn.c_attn.bias"]
        WO = T[p + "attn.c_proj.weight"]
        get = lambda x, h: (W[:, x * d + h * dh: x * d + (h + 1) * dh], B[x * d + h * dh: x * d + (h + 1) * dh])
        wo = lambda h: WO[h * dh:(h + 1) * dh, :]
    else:
        p = "gpt_neox.layers.%d." % l
        g, be = T[p + "input_layernorm.weight"], T[p + "input_layernorm.bias"]
        W = T[p + "attention.query_key_value.weight"].reshape(H, 3, dh, d)
        B = T[p + "attention.query_key_value.bias"].reshape(H, 3, dh)
        WO = T[p + "attention.dense.weight"]  # [d_out, d_in]
        get = lambda x, h: (W[h, x].T, B[h, x])
        wo = lambda h: WO[:, h * dh:(h + 1) * dh].T
    for h in range(H):
        def fold(x):
            w, b = get(x, h)
            b2 = b + be @ w
            w2 = g[:, None] * w
            return w2 - w2.mean(0, keepdims=True), b2
        (wq, bq), (wk, bk), (wv, bv) = fold(0), fold(1), fold(2)
        if variant == "ov":
            o = wo(h)
            om = wv @ (o - o.mean(1, keepdims=True))
        elif variant == "augmented":
            om = np.vstack([wq, bq]) @ np.vstack([wk, bk]).T
        else:
            om = wq @ wk.T
        s = np.linalg.svd(om, compute_uv=False)[:dh]
        out.append({"layer": l, "head": h, "s": s.tolist()})
print(json.dumps(out))
`;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "svlens_svd_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (
  const [arch, circuit, bias] of [
    ["gpt2", "qk", "offset"],
    ["gpt2", "qk", "augmented"],
    ["gpt2", "ov", "offset"],
    ["gpt_neox", "qk", "offset"],
    ["gpt_neox", "ov", "offset"],
  ] as const
) {
  Deno.test({
    name: `svlens svd --json (${arch}, ${circuit}, ${bias}) equals numpy's dense SVD (5e-5·σ₁)`,
    ignore: !HAS_NUMPY,
    async fn() {
      await withDir(async (dir) => {
        const model = `${dir}/model`;
        await writeHfModel(model, arch, 42);
        const r = await runCli(
          ["svd", model, "--circuit", circuit, "--bias", bias, "--json"],
          [`--allow-read=${model}`],
        );
        assertEquals(r.code, 0, r.stderr);
        const json = JSON.parse(r.stdout) as { heads: HeadJson[]; attnScale: number };
        assertEquals(json.attnScale, Math.sqrt(8));
        const variant = circuit === "ov" ? "ov" : bias;
        const oracle = JSON.parse(
          await runPython(`${NUMPY_ORACLE}`.replace(
            "d_dir, variant = sys.argv[1], sys.argv[2]",
            `d_dir, variant = ${JSON.stringify(model)}, ${JSON.stringify(variant)}`,
          )),
        ) as Array<{ layer: number; head: number; s: number[] }>;
        assertEquals(json.heads.length, 8);
        for (const [i, h] of json.heads.entries()) {
          const o = oracle[i]!;
          assertEquals([h.layer, h.head, h.circuit], [o.layer, o.head, circuit]);
          assertEquals(h.singularValues.length, 8);
          // Processed weights are stored as float32 in svlens (float64 in the oracle).
          assertAllClose(h.singularValues, o.s, 5e-5 * o.s[0]!, `${h.layer}.${h.head}`);
          for (let k = 1; k < 8; k++) {
            assertOk(h.singularValues[k - 1]! >= h.singularValues[k]!, "descending");
          }
        }
      });
    },
  });
}

Deno.test("svlens svd --out: results.json, arrays.safetensors (U diag(S) Vᵀ), report.html", async () => {
  await withDir(async (dir) => {
    const model = `${dir}/model`, out = `${dir}/run`;
    await writeHfModel(model, "gpt2", 3);
    const r = await runCli(
      ["svd", model, "--circuit", "qk,ov", "--heads", "0.1,1.3", "--top-k", "3", "--out", out],
      [`--allow-read=${model},${out}`, `--allow-write=${out}`],
    );
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /4 head SVDs/);
    assertMatch(r.stdout, /σ1/);
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    assertValidResults(results);
    assertEquals(results.command, "svd");
    assertEquals(results.parameters.bias, "offset");
    assertEquals(results.parameters.processing.foldLayerNorm, true);
    assertEquals(results.parameters.attnScale, Math.sqrt(8));
    assertEquals(results.heads.map((h: HeadJson) => `${h.circuit}${h.layer}.${h.head}`), [
      "qk0.1",
      "qk1.3",
      "ov0.1",
      "ov1.3",
    ]);
    assertEquals(results.heads[0].readout[0].u.top.length, 3);
    const kinds = results.figures.map((f: { kind: string }) => f.kind);
    assertOk(kinds.includes("grid") && kinds.includes("heatmap") && kinds.includes("table"));
    const arrays = readSafetensors(await Deno.readFile(`${out}/arrays.safetensors`), {
      float64: true,
    }).tensors;
    assertEquals(arrays.get("qk.L1H3.S")!.dtype, "F64");
    const U = arrays.get("qk.L1H3.U")!, S = arrays.get("qk.L1H3.S")!, V = arrays.get("qk.L1H3.V")!;
    assertEquals([U.shape, S.shape, V.shape], [[32, 8], [8], [32, 8]]);
    assertAllClose(Array.from(S.data as Float64Array), results.heads[1].singularValues, 0);
    // Columns of U and V are orthonormal (stored as float32).
    for (const M of [U, V]) {
      for (let a = 0; a < 8; a++) {
        for (let b = 0; b < 8; b++) {
          let dot = 0;
          const m = M.data as Float32Array;
          for (let i = 0; i < 32; i++) dot += m[i * 8 + a]! * m[i * 8 + b]!;
          assertOk(Math.abs(dot - (a === b ? 1 : 0)) < 1e-5, `orthonormal ${a},${b}: ${dot}`);
        }
      }
    }
    const html = await Deno.readTextFile(`${out}/report.html`);
    assertMatch(html, /<svg/);
  });
});

Deno.test("svlens svd: rotary per-offset Ω_0 equals the position-independent Ω; Ω_3 differs", async () => {
  await withDir(async (dir) => {
    const model = `${dir}/model`;
    await writeHfModel(model, "gpt_neox", 5);
    const perm = [`--allow-read=${model}`];
    const base = await runCli(["svd", model, "--heads", "1.2", "--json"], perm);
    const zero = await runCli(
      ["svd", model, "--heads", "1.2", "--rotary-offset", "0", "--json"],
      perm,
    );
    const three = await runCli(
      ["svd", model, "--heads", "1.2", "--rotary-offset", "3", "--json"],
      perm,
    );
    for (const r of [base, zero, three]) assertEquals(r.code, 0, r.stderr);
    const s = (r: { stdout: string }) => JSON.parse(r.stdout).heads[0].singularValues as number[];
    assertAllClose(s(zero), s(base), 1e-12 * s(base)[0]!);
    assertOk(Math.abs(s(three)[0]! - s(base)[0]!) > 1e-6 * s(base)[0]!, "Ω_3 ≠ Ω");
    assertMatch(JSON.parse(base.stdout).rotaryNote, /rotated residuals/);
  });
});

Deno.test("svlens svd --processing: each TransformerLens step acts on the circuit it should", async () => {
  await withDir(async (dir) => {
    const model = `${dir}/model`;
    await writeHfModel(model, "gpt2", 5);
    const sigmas = async (...extra: string[]) => {
      const r = await runCli(
        ["svd", model, "--circuit", "qk,ov", "--heads", "0.1,1.2", "--json", ...extra],
        [`--allow-read=${model}`],
      );
      assertEquals(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout);
      const of = (c: string) =>
        json.heads.filter((h: { circuit: string }) => h.circuit === c).flatMap((
          h: { singularValues: number[] },
        ) => h.singularValues);
      return { qk: of("qk"), ov: of("ov"), processing: json.processing };
    };
    const all = await sigmas();
    const raw = await sigmas("--raw");
    const foldLn = await sigmas("--processing", "fold_ln");
    const foldCentre = await sigmas("--processing", "fold_ln,center_writing_weights");
    assertEquals(foldLn.processing, {
      foldLayerNorm: true,
      centerWritingWeights: false,
      centerUnembed: false,
      foldValueBiases: false,
    });
    // QK reads through LN only: folding it is all that changes Ω.
    assertAllClose(foldLn.qk, all.qk, 1e-9 * all.qk[0]!, "QK: fold_ln only vs default");
    assertOk(raw.qk.some((s: number, i: number) => Math.abs(s - all.qk[i]!) > 1e-3 * all.qk[0]!));
    // OV writes to the residual: centring W_O changes it; value biases and W_U do not.
    assertOk(
      foldLn.ov.some((s: number, i: number) => Math.abs(s - all.ov[i]!) > 1e-3 * all.ov[0]!),
    );
    assertAllClose(foldCentre.ov, all.ov, 1e-9 * all.ov[0]!, "OV: fold_ln + centring vs default");
    for (const bad of [["--processing", "fold_ln,bogus"], ["--raw", "--processing", "fold_ln"]]) {
      const r = await runCli(["svd", model, ...bad], [`--allow-read=${model}`]);
      assertEquals(r.code, 2, r.stderr);
    }
  });
});

Deno.test("svlens svd: usage errors exit 2, missing model exits 1, no write without --out", async () => {
  await withDir(async (dir) => {
    const model = `${dir}/model`;
    await writeHfModel(model, "gpt2", 1);
    const perm = [`--allow-read=${model}`];
    for (
      const args of [
        ["svd"],
        ["svd", model, "--bias", "sideways"],
        ["svd", model, "--circuit", "vo"],
        ["svd", model, "--heads", "2.0"],
        ["svd", model, "--heads", "0.9"],
        ["svd", model, "--rotary-offset", "2"],
        ["svd", model, "--top-k", "-1"],
      ]
    ) {
      const r = await runCli(args, perm);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertMatch(r.stderr, /error: /);
    }
    const missing = await runCli(["svd", `${dir}/nope`], [`--allow-read=${dir}`]);
    assertEquals(missing.code, 1, missing.stderr);
    // Without --out nothing is written, so no write permission is needed (tested by granting none).
    const ok = await runCli(["svd", model, "--heads", "0.0"], perm);
    assertEquals(ok.code, 0, ok.stderr);
    // A broken tokenizer does not block the spectra: a warning, and token ids in the readout.
    await Deno.writeTextFile(`${model}/tokenizer.json`, "{broken");
    const warned = await runCli(["svd", model, "--heads", "0.0", "--json"], perm);
    assertEquals(warned.code, 0, warned.stderr);
    assertMatch(warned.stderr, /warning: .*tokenizer.json is not valid JSON/);
  });
});

Deno.test({
  name: "svlens svd on the tiny-gpt2-hf fixture (real HF key naming, tied embeddings, tokenizer)",
  ignore: !HAS_FIXTURES,
  async fn() {
    const model = `${FIXTURES}tiny-gpt2-hf`;
    const r = await runCli(["svd", model, "--circuit", "qk,ov", "--json"], [
      `--allow-read=${model}`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { heads: HeadJson[] };
    assertEquals(json.heads.length, 2);
    for (const h of json.heads) {
      assertEquals(h.singularValues.length, 2); // d_head = 2
      assertOk(typeof h.readout[0]!.u.top[0]!.text === "string", "token text from the tokenizer");
    }
  },
});

Deno.test("svlens svd on a model from model/generate.ts (sharded safetensors + its BPE tokenizer)", async () => {
  await withDir(async (dir) => {
    const model = `${dir}/tiny`;
    await generateModel(model, { architecture: "gpt2", seed: 2, maxShardBytes: 300_000 });
    const r = await runCli(["svd", model, "--circuit", "ov", "--heads", "1.3", "--json"], [
      `--allow-read=${model}`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const [h] = (JSON.parse(r.stdout) as { heads: HeadJson[] }).heads;
    assertEquals(h!.singularValues.length, 16); // d_head = 64 / 4
    assertOk(h!.readout[0]!.u.top.every((e) => typeof e.text === "string"), "token texts");
  });
});
