import { ModelFormatError, UnsupportedArchitectureError } from "../../src/errors.ts";
import { parseConfig } from "../../src/model/config.ts";
import { loadModel } from "../../src/model/load.ts";
import { encodeSafetensors, readSafetensors } from "../../src/model/safetensors.ts";
import { assertAllClose, assertEquals, assertOk, assertRejects, assertThrows } from "../_assert.ts";
import { FIXTURES, HAS_FIXTURES, HAS_NUMPY, runDeno, withTempDir } from "../_helpers.ts";
import { generateModel } from "../../src/model/generate.ts";
import { readTorchBin } from "../../src/model/torch_bin.ts";

Deno.test("config: GPT-2 and GPT-NeoX configs normalise like TransformerLens", () => {
  const gpt2 = parseConfig({
    model_type: "gpt2",
    n_embd: 768,
    n_head: 12,
    n_layer: 12,
    n_positions: 1024,
    vocab_size: 50257,
    n_inner: null,
    layer_norm_epsilon: 1e-5,
    activation_function: "gelu_new",
  });
  assertEquals(gpt2, {
    architecture: "gpt2",
    nLayers: 12,
    nHeads: 12,
    dModel: 768,
    dHead: 64,
    dMlp: 3072,
    dVocab: 50257,
    nCtx: 1024,
    lnEps: 1e-5,
    act: "gelu_new",
    rotaryDim: 0,
    rotaryBase: 10000,
    parallelResidual: false,
    tiedEmbeddings: true,
  });
  // pythia-160m's config.json (values as published).
  const pythia = parseConfig({
    architectures: ["GPTNeoXForCausalLM"],
    bos_token_id: 0,
    eos_token_id: 0,
    hidden_act: "gelu",
    hidden_size: 768,
    initializer_range: 0.02,
    intermediate_size: 3072,
    layer_norm_eps: 1e-5,
    max_position_embeddings: 2048,
    model_type: "gpt_neox",
    num_attention_heads: 12,
    num_hidden_layers: 12,
    rotary_emb_base: 10000,
    rotary_pct: 0.25,
    tie_word_embeddings: false,
    torch_dtype: "float16",
    use_cache: true,
    use_parallel_residual: true,
    vocab_size: 50304,
  });
  assertEquals(pythia, {
    architecture: "gpt_neox",
    nLayers: 12,
    nHeads: 12,
    dModel: 768,
    dHead: 64,
    dMlp: 3072,
    dVocab: 50304,
    nCtx: 2048,
    lnEps: 1e-5,
    act: "gelu",
    rotaryDim: 16,
    rotaryBase: 10000,
    parallelResidual: true,
    tiedEmbeddings: false,
  });
  assertEquals(parseConfig({ model_type: "gpt2", n_embd: 8, n_head: 2, n_inner: 20 }).dMlp, 20);
  assertEquals(
    parseConfig({
      model_type: "gpt_neox",
      hidden_size: 16,
      num_attention_heads: 2,
      num_hidden_layers: 1,
      vocab_size: 5,
      rope_theta: 500,
    }).rotaryBase,
    500,
  );
  // transformers ≥ 4.56 style: theta and the rotary fraction inside rope_parameters.
  const neox = { model_type: "gpt_neox", hidden_size: 64, num_attention_heads: 2 };
  const sized = { ...neox, num_hidden_layers: 1, vocab_size: 5 };
  const nested = parseConfig({
    ...sized,
    rope_parameters: { rope_type: "default", rope_theta: 123, partial_rotary_factor: 0.5 },
  });
  assertEquals([nested.rotaryDim, nested.rotaryBase], [16, 123]);
  assertThrows(
    () => parseConfig({ ...sized, rope_parameters: { rope_type: "linear", factor: 4 } }),
    UnsupportedArchitectureError,
    /rope_type "linear"/,
  );
  assertThrows(
    () => parseConfig({ ...sized, rotary_pct: 0 }),
    ModelFormatError,
    /rotary dimension 0 .* needs rotary_pct > 0/,
  );
});

Deno.test("config: unsupported architectures and malformed values are refused clearly", () => {
  const e = assertThrows(
    () => parseConfig({ model_type: "llama" }),
    UnsupportedArchitectureError,
    /"llama" is not supported.*gpt2, gpt_neox/,
  );
  assertOk(e.message.includes("Pythia"));
  assertThrows(() => parseConfig({}), UnsupportedArchitectureError, /undefined is not supported/);
  assertThrows(
    () => parseConfig({ model_type: "gpt2", activation_function: "relu" }),
    UnsupportedArchitectureError,
    /activation "relu"/,
  );
  assertThrows(
    () => parseConfig({ model_type: "gpt2", scale_attn_by_inverse_layer_idx: true }),
    UnsupportedArchitectureError,
  );
  assertThrows(
    () => parseConfig({ model_type: "gpt2", n_embd: 10, n_head: 3 }),
    ModelFormatError,
    /not divisible/,
  );
  assertThrows(
    () => parseConfig({ model_type: "gpt2", n_embd: -4 }),
    ModelFormatError,
    /"n_embd" is -4/,
  );
  assertThrows(
    () => parseConfig({ model_type: "gpt_neox", hidden_size: 8, num_attention_heads: 2 }),
    ModelFormatError,
    /missing "num_hidden_layers"/,
  );
  assertThrows(() => parseConfig([1]), ModelFormatError, /JSON object/);
});

/**
 * Python oracle: random HF state dicts written as safetensors by a hand-written writer, and the
 * TL-layout tensors computed with numpy reshapes/transposes that mirror TransformerLens's einops
 * patterns (independent of svlens's index loops).
 */
const ORACLE = `
import json, struct, sys, numpy as np
arch, prefix, tied, out = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
rng = np.random.default_rng(7)
d, nh, L, V, C, dm = 8, 2, 2, 11, 6, 12
dh = d // nh
def r(*s): return rng.standard_normal(s).astype(np.float32)
def write(path, tensors):
    hdr, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for k, v in tensors.items():
        b = v.astype('<f4').tobytes(); hdr[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b); blobs.append(b)
    h = json.dumps(hdr).encode()
    open(path, "wb").write(struct.pack('<Q', len(h)) + h + b"".join(blobs))
hf, tl = {}, {}
if arch == "gpt2":
    cfg = {"model_type": "gpt2", "n_embd": d, "n_head": nh, "n_layer": L, "n_positions": C, "vocab_size": V, "n_inner": dm, "tie_word_embeddings": tied}
    p = prefix
    hf[p+"wte.weight"] = r(V, d); hf[p+"wpe.weight"] = r(C, d)
    tl["embed.W_E"] = hf[p+"wte.weight"]; tl["pos_embed.W_pos"] = hf[p+"wpe.weight"]
    for l in range(L):
        h = f"{p}h.{l}."; b = f"blocks.{l}."
        for n in ["ln_1", "ln_2"]:
            hf[h+n+".weight"] = r(d); hf[h+n+".bias"] = r(d)
        tl[b+"ln1.w"], tl[b+"ln1.b"] = hf[h+"ln_1.weight"], hf[h+"ln_1.bias"]
        tl[b+"ln2.w"], tl[b+"ln2.b"] = hf[h+"ln_2.weight"], hf[h+"ln_2.bias"]
        W = r(d, 3*d); B = r(3*d)
        hf[h+"attn.c_attn.weight"] = W; hf[h+"attn.c_attn.bias"] = B
        hf[h+"attn.bias"] = np.tril(np.ones((C, C), np.float32))[None, None]  # causal-mask buffer (ignored)
        for i, x in enumerate("QKV"):
            Wx = np.split(W, 3, axis=1)[i]                       # m (i h)
            tl[b+"attn.W_"+x] = Wx.reshape(d, nh, dh).transpose(1, 0, 2)   # i m h
            tl[b+"attn.b_"+x] = B.reshape(3, nh, dh)[i]
        hf[h+"attn.c_proj.weight"] = r(d, d); hf[h+"attn.c_proj.bias"] = r(d)
        tl[b+"attn.W_O"] = hf[h+"attn.c_proj.weight"].reshape(nh, dh, d); tl[b+"attn.b_O"] = hf[h+"attn.c_proj.bias"]
        hf[h+"mlp.c_fc.weight"] = r(d, dm); hf[h+"mlp.c_fc.bias"] = r(dm)
        hf[h+"mlp.c_proj.weight"] = r(dm, d); hf[h+"mlp.c_proj.bias"] = r(d)
        tl[b+"mlp.W_in"], tl[b+"mlp.b_in"] = hf[h+"mlp.c_fc.weight"], hf[h+"mlp.c_fc.bias"]
        tl[b+"mlp.W_out"], tl[b+"mlp.b_out"] = hf[h+"mlp.c_proj.weight"], hf[h+"mlp.c_proj.bias"]
    hf[p+"ln_f.weight"] = r(d); hf[p+"ln_f.bias"] = r(d)
    tl["ln_final.w"], tl["ln_final.b"] = hf[p+"ln_f.weight"], hf[p+"ln_f.bias"]
    head = hf[p+"wte.weight"] if tied else r(V, d)
    if not tied: hf["lm_head.weight"] = head
    tl["unembed.W_U"] = head.T.copy()
else:
    cfg = {"model_type": "gpt_neox", "hidden_size": d, "num_attention_heads": nh, "num_hidden_layers": L, "max_position_embeddings": C,
           "vocab_size": V, "intermediate_size": dm, "rotary_pct": 0.5, "tie_word_embeddings": tied, "hidden_act": "gelu"}
    p = prefix
    hf[p+"embed_in.weight"] = r(V, d); tl["embed.W_E"] = hf[p+"embed_in.weight"]
    for l in range(L):
        h = f"{p}layers.{l}."; b = f"blocks.{l}."
        for n in ["input_layernorm", "post_attention_layernorm"]:
            hf[h+n+".weight"] = r(d); hf[h+n+".bias"] = r(d)
        tl[b+"ln1.w"], tl[b+"ln1.b"] = hf[h+"input_layernorm.weight"], hf[h+"input_layernorm.bias"]
        tl[b+"ln2.w"], tl[b+"ln2.b"] = hf[h+"post_attention_layernorm.weight"], hf[h+"post_attention_layernorm.bias"]
        W = r(3*d, d); B = r(3*d)
        hf[h+"attention.query_key_value.weight"] = W; hf[h+"attention.query_key_value.bias"] = B
        hf[h+"attention.rotary_emb.inv_freq"] = r(dh // 4)  # buffer (ignored)
        Wr = W.reshape(nh, 3, dh, d).transpose(1, 0, 3, 2)  # "(i qkv h) m -> qkv i m h"
        Br = B.reshape(nh, 3, dh).transpose(1, 0, 2)        # "(index qkv head) -> qkv index head"
        for i, x in enumerate("QKV"):
            tl[b+"attn.W_"+x] = Wr[i]; tl[b+"attn.b_"+x] = Br[i]
        hf[h+"attention.dense.weight"] = r(d, d); hf[h+"attention.dense.bias"] = r(d)
        tl[b+"attn.W_O"] = hf[h+"attention.dense.weight"].reshape(d, nh, dh).transpose(1, 2, 0)  # "m (i h) -> i h m"
        tl[b+"attn.b_O"] = hf[h+"attention.dense.bias"]
        hf[h+"mlp.dense_h_to_4h.weight"] = r(dm, d); hf[h+"mlp.dense_h_to_4h.bias"] = r(dm)
        hf[h+"mlp.dense_4h_to_h.weight"] = r(d, dm); hf[h+"mlp.dense_4h_to_h.bias"] = r(d)
        tl[b+"mlp.W_in"], tl[b+"mlp.b_in"] = hf[h+"mlp.dense_h_to_4h.weight"].T, hf[h+"mlp.dense_h_to_4h.bias"]
        tl[b+"mlp.W_out"], tl[b+"mlp.b_out"] = hf[h+"mlp.dense_4h_to_h.weight"].T, hf[h+"mlp.dense_4h_to_h.bias"]
    hf[p+"final_layer_norm.weight"] = r(d); hf[p+"final_layer_norm.bias"] = r(d)
    tl["ln_final.w"], tl["ln_final.b"] = hf[p+"final_layer_norm.weight"], hf[p+"final_layer_norm.bias"]
    head = hf[p+"embed_in.weight"] if tied else r(V, d)
    if not tied: hf["embed_out.weight"] = head
    tl["unembed.W_U"] = head.T.copy()
tl["unembed.b_U"] = np.zeros(V, np.float32)
write(out + "/model.safetensors", hf)
write(out + "/expected.safetensors", {k: np.ascontiguousarray(v) for k, v in tl.items()})
json.dump(cfg, open(out + "/config.json", "w"))
`;

for (
  const [arch, prefix, tied] of [
    ["gpt2", "transformer.", false],
    ["gpt2", "", true],
    ["gpt_neox", "gpt_neox.", false],
    ["gpt_neox", "", true],
  ] as const
) {
  Deno.test({
    name: `load: ${arch} HF weights (prefix "${prefix}", ${
      tied ? "tied" : "separate head"
    }) → TL layout, exact`,
    ignore: !HAS_NUMPY,
    async fn() {
      await withTempDir(async (dir) => {
        await new Deno.Command("python3", {
          args: ["-c", ORACLE, arch, prefix, tied ? "1" : "0", dir],
        }).output().then((o) => {
          if (!o.success) throw new Error(new TextDecoder().decode(o.stderr));
        });
        const expected =
          readSafetensors(await Deno.readFile(`${dir}/expected.safetensors`)).tensors;
        await Deno.remove(`${dir}/expected.safetensors`);
        const model = await loadModel(dir);
        assertEquals(model.config.architecture, arch);
        assertEquals(model.processing.foldLayerNorm, false);
        assertEquals([...model.weights.keys()].sort(), [...expected.keys()].sort());
        for (const [name, t] of expected) {
          const got = model.weights.get(name)!;
          assertEquals(got.shape, t.shape, name);
          assertAllClose(got.data, t.data as Float32Array, 0, name);
        }
      });
    },
  });
}

Deno.test("load: missing tensors, wrong shapes and missing files give clear errors", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(() => loadModel(dir), ModelFormatError, /no config.json/);
    const cfg = {
      model_type: "gpt2",
      n_embd: 4,
      n_head: 2,
      n_layer: 1,
      n_positions: 3,
      vocab_size: 5,
    };
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(cfg));
    await assertRejects(() => loadModel(dir), ModelFormatError, /no weights found/);
    const z = (n: number) => new Float32Array(n);
    await Deno.writeFile(
      `${dir}/model.safetensors`,
      encodeSafetensors({
        "wte.weight": { dtype: "F32", shape: [5, 4], data: z(20) },
        "wpe.weight": { dtype: "F32", shape: [4, 4], data: z(16) },
      }),
    );
    await assertRejects(
      () => loadModel(dir),
      ModelFormatError,
      /"wpe.weight" has shape \[4,4\] but config.json implies \[3,4\]/,
    );
    await Deno.writeFile(
      `${dir}/model.safetensors`,
      encodeSafetensors({
        "wte.weight": { dtype: "F32", shape: [5, 4], data: z(20) },
        "wpe.weight": { dtype: "F32", shape: [3, 4], data: z(12) },
      }),
    );
    await assertRejects(() => loadModel(dir), ModelFormatError, /missing tensor "h.0.ln_1.weight"/);
    await Deno.writeFile(
      `${dir}/model.safetensors`,
      encodeSafetensors({ "foo": { dtype: "F32", shape: [1], data: z(1) } }),
    );
    await assertRejects(() => loadModel(dir), ModelFormatError, /not a GPT-2 checkpoint/);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ model_type: "bert" }));
    await assertRejects(() => loadModel(dir), UnsupportedArchitectureError, /gpt2, gpt_neox/);
  });
});

Deno.test("load: sharded checkpoints whose index names a missing shard say so (safetensors and .bin)", async () => {
  await withTempDir(async (dir) => {
    await generateModel(dir, {
      architecture: "gpt2",
      nLayers: 1,
      nHeads: 2,
      dModel: 8,
      dVocab: 300,
      nCtx: 4,
      pytorch: true,
    });
    const whole = await loadModel(dir);
    // One real shard holding every tensor, and a second shard the index names but that is absent.
    // safetensors first: model.safetensors would be preferred over the .bin files
    const cases = [["safetensors", "model.safetensors"], ["bin", "pytorch_model.bin"]] as const;
    for (const [kind, file] of cases) {
      const bytes = await Deno.readFile(`${dir}/${file}`);
      const names = [
        ...(kind === "bin" ? readTorchBin(bytes) : readSafetensors(bytes).tensors).keys(),
      ];
      const shard1 = `${kind}-00001-of-00002.${kind}`;
      await Deno.rename(`${dir}/${file}`, `${dir}/${shard1}`);
      const index = `${dir}/${file.replace(/\.(bin|safetensors)$/, ".$1.index.json")}`;
      const map = Object.fromEntries(names.map((n) => [n, shard1]));
      await Deno.writeTextFile(index, JSON.stringify({ weight_map: map }));
      const sharded = await loadModel(dir);
      assertEquals(sharded.weightFile, index.slice(dir.length + 1));
      assertEquals([...sharded.weights.keys()], [...whole.weights.keys()]);
      for (const [name, t] of whole.weights) assertEquals(sharded.weights.get(name)!.data, t.data);
      map[names[0]!] = `${kind}-00002-of-00002.${kind}`;
      await Deno.writeTextFile(index, JSON.stringify({ weight_map: map }));
      await assertRejects(
        () => loadModel(dir),
        ModelFormatError,
        new RegExp(
          `index\\.json names the shard ${kind}-00002-of-00002\\.${kind}, which is missing`,
        ),
      );
      await Deno.remove(index);
    }
  });
});

Deno.test({
  name: "load: the tiny-gpt2-hf fixture (real HF key naming, tied head) loads",
  ignore: !HAS_FIXTURES,
  async fn() {
    const m = await loadModel(`${FIXTURES}tiny-gpt2-hf`);
    assertEquals(m.config.dModel, 2);
    assertEquals(m.config.nHeads, 1);
    assertEquals(m.config.dVocab, 21);
    assertEquals(m.weights.get("blocks.0.attn.W_Q")!.shape, [1, 2, 2]);
    assertEquals(m.weights.get("unembed.W_U")!.shape, [2, 21]);
    // Tied: W_U = W_Eᵀ.
    const we = m.weights.get("embed.W_E")!.data;
    const wu = m.weights.get("unembed.W_U")!.data;
    for (let v = 0; v < 21; v++) {
      for (let j = 0; j < 2; j++) assertEquals(wu[j * 21 + v], we[v * 2 + j]);
    }
    assertEquals(m.tokenizer?.files.includes("vocab.json"), true);
    assertEquals(m.tokenizer?.files.includes("merges.txt"), true);
  },
});

Deno.test("load: a local directory needs only --allow-read=<dir> (no env, no net)", async () => {
  await withTempDir(async (dir) => {
    await generateModel(dir, {
      architecture: "gpt2",
      nLayers: 1,
      nHeads: 2,
      dModel: 8,
      dVocab: 12,
      nCtx: 4,
    });
    const script = new URL("./_load_script.ts", import.meta.url).pathname;
    const res = await runDeno([
      "run",
      "--quiet",
      "--no-prompt",
      `--allow-read=${dir}`,
      script,
      dir,
    ]);
    assertEquals(res.code, 0, res.stdout + res.stderr);
    assertEquals(JSON.parse(res.stdout).dModel, 8);
  });
});
