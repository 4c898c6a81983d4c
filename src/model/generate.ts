/**
 * Writes random GPT-2 and Pythia (GPT-NeoX) models in the exact Hugging Face file formats —
 * `config.json`, `model.safetensors` (optionally sharded with `model.safetensors.index.json`),
 * optionally `pytorch_model.bin`, and tokenizer files — for tests and benchmarks, at any size up
 * to GPT-2 small (124M) / pythia-160m. Seeded: the same options give byte-identical files.
 *
 * Tensors are generated and written one at a time (peak memory ≈ one tensor, except for
 * `pytorch_model.bin`, which is built in memory).
 *
 * Script use: `deno run --allow-read --allow-write=DIR src/model/generate.ts DIR gpt2|pythia
 * [--preset small|tiny] [--seed N] [--pytorch]`.
 * @module
 */
import { parseArgs } from "node:util";
import { Rng } from "../linalg/rng.ts";
import { writeTextAtomic } from "../io/atomic_write.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { parseConfig } from "./config.ts";
import { writeSafetensorsFile } from "./safetensors_file.ts";
import type { SafetensorsDtype, TensorSpec } from "./safetensors.ts";
import { encodeTorchBin } from "./torch_bin_write.ts";
import { trainByteLevelBpe } from "./_bpe_train.ts";
import type { Architecture, ModelConfig } from "./types.ts";

/** Options for {@linkcode generateModel}. Dimensions default to the preset's. */
export interface GenerateOptions {
  /** `gpt2` or `gpt_neox` (Pythia). */
  architecture: Architecture;
  /** `small` = GPT-2 small / pythia-160m shapes; `tiny` (default) = 2 layers, d 64, vocab 512. */
  preset?: "small" | "tiny";
  /** Transformer blocks. */
  nLayers?: number;
  /** Attention heads. */
  nHeads?: number;
  /** Residual width. */
  dModel?: number;
  /** MLP width (default 4·dModel). */
  dMlp?: number;
  /** Vocabulary size (rows of the embedding). */
  dVocab?: number;
  /** Context length. */
  nCtx?: number;
  /** Random seed in [0, 2^21) (default 0), recorded in the safetensors metadata. */
  seed?: number;
  /** Stored dtype (default F32; `torch_dtype` in config.json follows). */
  dtype?: "F32" | "F16" | "BF16";
  /** Also write `pytorch_model.bin` (torch.save zip format). Default false. */
  pytorch?: boolean;
  /** Write `model.safetensors` (default true). */
  safetensors?: boolean;
  /** Shard safetensors into files of at most this many bytes, with an index. */
  maxShardBytes?: number;
  /** Key prefix `transformer.` / `gpt_neox.` (default: bare for gpt2 like the official repo, prefixed for NeoX like Pythia). */
  prefixed?: boolean;
  /** Tied unembedding (default: gpt2 true, NeoX false). */
  tied?: boolean;
  /** Include the non-parameter buffers old checkpoints carry (attention masks, inv_freq). */
  buffers?: boolean;
  /** `generate` (default when dVocab ≥ 257): a byte-level BPE trained on a built-in text; `none`; or a directory to copy tokenizer files from. */
  tokenizer?: "generate" | "none" | { copyFrom: string };
}

/** What {@linkcode generateModel} wrote. */
export interface GeneratedModel {
  /** The directory. */
  dir: string;
  /** The normalised config of the written model. */
  config: ModelConfig;
  /** File names written (relative to `dir`). */
  files: string[];
  /** The seed used. */
  seed: number;
}

interface Dims {
  nLayers: number;
  nHeads: number;
  dModel: number;
  dMlp: number;
  dVocab: number;
  nCtx: number;
}

function dims(o: GenerateOptions): Dims {
  const neox = o.architecture === "gpt_neox";
  const small = o.preset === "small";
  const dModel = o.dModel ?? (small ? 768 : 64);
  const d: Dims = {
    nLayers: o.nLayers ?? (small ? 12 : 2),
    nHeads: o.nHeads ?? (small ? 12 : 4),
    dModel,
    dMlp: o.dMlp ?? 4 * dModel,
    dVocab: o.dVocab ?? (small ? (neox ? 50304 : 50257) : 512),
    nCtx: o.nCtx ?? (small ? (neox ? 2048 : 1024) : 128),
  };
  for (const [k, v] of Object.entries(d)) {
    if (!Number.isSafeInteger(v) || v <= 0) {
      throw new RangeError(`generateModel: ${k} must be a positive integer, got ${v}`);
    }
  }
  if (d.dModel % d.nHeads) {
    throw new RangeError(`generateModel: dModel ${d.dModel} not divisible by nHeads ${d.nHeads}`);
  }
  return d;
}

/** config.json contents as transformers writes them for these architectures. */
function configJson(
  o: GenerateOptions,
  d: Dims,
  tied: boolean,
  torchDtype: string,
): Record<string, unknown> {
  if (o.architecture === "gpt2") {
    return {
      activation_function: "gelu_new",
      architectures: ["GPT2LMHeadModel"],
      attn_pdrop: 0.1,
      bos_token_id: d.dVocab - 1,
      embd_pdrop: 0.1,
      eos_token_id: d.dVocab - 1,
      initializer_range: 0.02,
      layer_norm_epsilon: 1e-5,
      model_type: "gpt2",
      n_ctx: d.nCtx,
      n_embd: d.dModel,
      n_head: d.nHeads,
      n_inner: d.dMlp === 4 * d.dModel ? null : d.dMlp,
      n_layer: d.nLayers,
      n_positions: d.nCtx,
      reorder_and_upcast_attn: false,
      resid_pdrop: 0.1,
      scale_attn_by_inverse_layer_idx: false,
      scale_attn_weights: true,
      tie_word_embeddings: tied,
      torch_dtype: torchDtype,
      transformers_version: "4.36.2",
      use_cache: true,
      vocab_size: d.dVocab,
    };
  }
  return {
    architectures: ["GPTNeoXForCausalLM"],
    bos_token_id: 0,
    classifier_dropout: 0.1,
    eos_token_id: 0,
    hidden_act: "gelu",
    hidden_size: d.dModel,
    initializer_range: 0.02,
    intermediate_size: d.dMlp,
    layer_norm_eps: 1e-5,
    max_position_embeddings: d.nCtx,
    model_type: "gpt_neox",
    num_attention_heads: d.nHeads,
    num_hidden_layers: d.nLayers,
    rotary_emb_base: 10000,
    rotary_pct: 0.25,
    tie_word_embeddings: tied,
    torch_dtype: torchDtype,
    transformers_version: "4.36.2",
    use_cache: true,
    use_parallel_residual: true,
    vocab_size: d.dVocab,
  };
}

/** How one tensor is initialised: normal(mean, std), or a constant (buffers). */
interface Init {
  spec: TensorSpec;
  mean: number;
  std: number;
  fill?: "tril" | "invfreq" | "masked_bias";
}

/** HF state-dict tensors in the order transformers saves them. */
function tensorPlan(
  o: GenerateOptions,
  d: Dims,
  tied: boolean,
  prefixed: boolean,
  dtype: SafetensorsDtype,
): Init[] {
  const plan: Init[] = [];
  const add = (name: string, shape: number[], mean: number, std: number, fill?: Init["fill"]) =>
    plan.push({ spec: { name, dtype: fill === "tril" ? "F32" : dtype, shape }, mean, std, fill });
  const { dModel: dm, dMlp, dVocab, nCtx, nLayers } = d;
  const proj = 0.02 / Math.sqrt(2 * nLayers);
  if (o.architecture === "gpt2") {
    const p = prefixed ? "transformer." : "";
    add(`${p}wte.weight`, [dVocab, dm], 0, 0.02);
    add(`${p}wpe.weight`, [nCtx, dm], 0, 0.01);
    for (let l = 0; l < nLayers; l++) {
      const h = `${p}h.${l}.`;
      add(`${h}ln_1.weight`, [dm], 1, 0.1);
      add(`${h}ln_1.bias`, [dm], 0, 0.1);
      if (o.buffers) add(`${h}attn.bias`, [1, 1, nCtx, nCtx], 0, 0, "tril");
      if (o.buffers) add(`${h}attn.masked_bias`, [], 0, 0, "masked_bias");
      add(`${h}attn.c_attn.weight`, [dm, 3 * dm], 0, 0.02);
      add(`${h}attn.c_attn.bias`, [3 * dm], 0, 0.02);
      add(`${h}attn.c_proj.weight`, [dm, dm], 0, proj);
      add(`${h}attn.c_proj.bias`, [dm], 0, 0.02);
      add(`${h}ln_2.weight`, [dm], 1, 0.1);
      add(`${h}ln_2.bias`, [dm], 0, 0.1);
      add(`${h}mlp.c_fc.weight`, [dm, dMlp], 0, 0.02);
      add(`${h}mlp.c_fc.bias`, [dMlp], 0, 0.02);
      add(`${h}mlp.c_proj.weight`, [dMlp, dm], 0, proj);
      add(`${h}mlp.c_proj.bias`, [dm], 0, 0.02);
    }
    add(`${p}ln_f.weight`, [dm], 1, 0.1);
    add(`${p}ln_f.bias`, [dm], 0, 0.1);
    if (!tied) add("lm_head.weight", [dVocab, dm], 0, 0.02);
  } else {
    const p = prefixed ? "gpt_neox." : "";
    const dh = dm / d.nHeads;
    const rot = Math.floor(dh * 0.25);
    add(`${p}embed_in.weight`, [dVocab, dm], 0, 0.02);
    for (let l = 0; l < nLayers; l++) {
      const h = `${p}layers.${l}.`;
      add(`${h}input_layernorm.weight`, [dm], 1, 0.1);
      add(`${h}input_layernorm.bias`, [dm], 0, 0.1);
      add(`${h}post_attention_layernorm.weight`, [dm], 1, 0.1);
      add(`${h}post_attention_layernorm.bias`, [dm], 0, 0.1);
      if (o.buffers) add(`${h}attention.bias`, [1, 1, nCtx, nCtx], 0, 0, "tril");
      if (o.buffers) add(`${h}attention.masked_bias`, [], 0, 0, "masked_bias");
      if (o.buffers) add(`${h}attention.rotary_emb.inv_freq`, [rot / 2], 0, 0, "invfreq");
      add(`${h}attention.query_key_value.weight`, [3 * dm, dm], 0, 0.02);
      add(`${h}attention.query_key_value.bias`, [3 * dm], 0, 0.02);
      add(`${h}attention.dense.weight`, [dm, dm], 0, proj);
      add(`${h}attention.dense.bias`, [dm], 0, 0.02);
      add(`${h}mlp.dense_h_to_4h.weight`, [dMlp, dm], 0, 0.02);
      add(`${h}mlp.dense_h_to_4h.bias`, [dMlp], 0, 0.02);
      add(`${h}mlp.dense_4h_to_h.weight`, [dm, dMlp], 0, proj);
      add(`${h}mlp.dense_4h_to_h.bias`, [dm], 0, 0.02);
    }
    add(`${p}final_layer_norm.weight`, [dm], 1, 0.1);
    add(`${p}final_layer_norm.bias`, [dm], 0, 0.1);
    if (!tied) add("embed_out.weight", [dVocab, dm], 0, 0.02);
  }
  return plan;
}

/** FNV-1a hash of a tensor name (32-bit), to give each tensor its own random stream. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** The values of one tensor: its own stream from (seed, name), so any order or subset reproduces. */
function values(init: Init, seed: number): Float32Array {
  const n = init.spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (init.fill === "tril") {
    const c = init.spec.shape[3]!;
    for (let i = 0; i < c; i++) for (let j = 0; j <= i; j++) out[i * c + j] = 1;
    return out;
  }
  if (init.fill === "masked_bias") return out.fill(-1e4);
  if (init.fill === "invfreq") {
    for (let i = 0; i < n; i++) out[i] = 1 / 10000 ** ((2 * i) / (2 * n));
    return out;
  }
  const rng = new Rng(seed * 2 ** 32 + nameHash(init.spec.name));
  // Approximately normal (Irwin–Hall: the sum of four 16-bit uniforms, centred and scaled to
  // unit variance, |z| ≤ 3.46): 7× faster than Box–Muller, so GPT-2 small takes seconds.
  const scale = init.std * Math.sqrt(3) / 65536;
  for (let i = 0; i < n; i++) {
    const a = rng.nextUint32();
    const b = rng.nextUint32();
    const sum = (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) + 2; // 4 × (k + 0.5)
    out[i] = init.mean + scale * (sum - 131072);
  }
  return out;
}

const TOKENIZER_FILES = [
  "tokenizer.json",
  "vocab.json",
  "merges.txt",
  "tokenizer_config.json",
  "special_tokens_map.json",
];

/**
 * Writes a random model of `options.architecture` into `dir` (created if missing).
 * Needs write permission on `dir` (and read permission on a tokenizer `copyFrom` directory).
 *
 * @example
 * ```ts ignore
 * import { generateModel } from "./generate.ts";
 * await generateModel("/tmp/gpt2-small", { architecture: "gpt2", preset: "small", seed: 1 });
 * ```
 */
export async function generateModel(
  dir: string,
  options: GenerateOptions,
): Promise<GeneratedModel> {
  const d = dims(options);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 21) {
    throw new RangeError(`generateModel: seed must be an integer in [0, 2^21), got ${seed}`);
  }
  const neox = options.architecture === "gpt_neox";
  const tied = options.tied ?? !neox;
  const prefixed = options.prefixed ?? neox;
  const dtype = options.dtype ?? "F32";
  const torchDtype = { F32: "float32", F16: "float16", BF16: "bfloat16" }[dtype];
  await Deno.mkdir(dir, { recursive: true });
  const files: string[] = [];
  const cfgJson = configJson(options, d, tied, torchDtype);
  const config = parseConfig(cfgJson, "generated config.json");
  await writeTextAtomic(`${dir}/config.json`, JSON.stringify(cfgJson, null, 2) + "\n");
  files.push("config.json");
  const plan = tensorPlan(options, d, tied, prefixed, dtype);
  const byName = new Map(plan.map((p) => [p.spec.name, p]));
  const fill = (spec: TensorSpec) => values(byName.get(spec.name)!, seed);
  const metadata = { format: "pt", generator: "svlens", seed: String(seed) };
  if (options.safetensors ?? true) {
    const bytesOf = (s: TensorSpec) =>
      s.shape.reduce((a, b) => a * b, 1) * (s.dtype === "F32" ? 4 : 2);
    const max = options.maxShardBytes;
    if (max === undefined) {
      await writeSafetensorsFile(
        `${dir}/model.safetensors`,
        plan.map((p) => p.spec),
        fill,
        metadata,
      );
      files.push("model.safetensors");
    } else {
      const shards: TensorSpec[][] = [[]];
      let size = 0;
      for (const { spec } of plan) {
        if (size > 0 && size + bytesOf(spec) > max) {
          shards.push([]);
          size = 0;
        }
        shards[shards.length - 1]!.push(spec);
        size += bytesOf(spec);
      }
      const n = shards.length;
      const weightMap: Record<string, string> = {};
      let total = 0;
      for (let i = 0; i < n; i++) {
        const name = `model-${String(i + 1).padStart(5, "0")}-of-${
          String(n).padStart(5, "0")
        }.safetensors`;
        await writeSafetensorsFile(`${dir}/${name}`, shards[i]!, fill, metadata);
        for (const s of shards[i]!) {
          weightMap[s.name] = name;
          total += bytesOf(s);
        }
        files.push(name);
      }
      await writeTextAtomic(
        `${dir}/model.safetensors.index.json`,
        JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + "\n",
      );
      files.push("model.safetensors.index.json");
    }
  }
  if (options.pytorch) {
    const tensors: Parameters<typeof encodeTorchBin>[0] = {};
    for (const { spec } of plan) {
      tensors[spec.name] = { dtype: spec.dtype, shape: [...spec.shape], data: fill(spec) };
    }
    await writeFileAtomic(`${dir}/pytorch_model.bin`, encodeTorchBin(tensors));
    files.push("pytorch_model.bin");
  }
  const tok = options.tokenizer ?? (d.dVocab >= 257 ? "generate" : "none");
  if (tok === "generate") {
    if (d.dVocab < 257) {
      throw new RangeError(
        `generateModel: a byte-level tokenizer needs dVocab >= 257, got ${d.dVocab}`,
      );
    }
    for (const [name, text] of Object.entries(tokenizerFiles(options.architecture, d.dVocab))) {
      await writeTextAtomic(`${dir}/${name}`, text);
      files.push(name);
    }
  } else if (typeof tok === "object") {
    for (const name of TOKENIZER_FILES) {
      try {
        await Deno.copyFile(`${tok.copyFrom}/${name}`, `${dir}/${name}`);
        files.push(name);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  }
  return { dir, config, files, seed };
}

/**
 * Tokenizer files for a generated model (file name → text): a byte-level BPE with `dVocab` ids
 * learned on a built-in text, as `tokenizer.json` (+ GPT-2's `vocab.json`/`merges.txt`), with the
 * special-token configs. Also the fuzz task's valid seeds.
 */
export function tokenizerFiles(arch: Architecture, dVocab: number): Record<string, string> {
  const { vocab, merges } = trainByteLevelBpe(dVocab - 1);
  const eot = "<|endoftext|>";
  const eotId = Object.keys(vocab).length;
  const byteLevel = {
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{
      id: eotId,
      content: eot,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }],
    normalizer: arch === "gpt_neox" ? { type: "NFC" } : null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: { ...vocab, ...(arch === "gpt2" ? { [eot]: eotId } : {}) },
      merges,
    },
  };
  const special = { bos_token: eot, eos_token: eot, unk_token: eot };
  const out: Record<string, string> = {
    "tokenizer.json": JSON.stringify(tokenizerJson) + "\n",
    "special_tokens_map.json": JSON.stringify(special, null, 2) + "\n",
    "tokenizer_config.json": JSON.stringify(
      {
        add_prefix_space: false,
        model_max_length: 1024,
        tokenizer_class: arch === "gpt2" ? "GPT2Tokenizer" : "GPTNeoXTokenizer",
        ...special,
      },
      null,
      2,
    ) + "\n",
  };
  if (arch === "gpt2") {
    out["vocab.json"] = JSON.stringify({ ...vocab, [eot]: eotId }) + "\n";
    out["merges.txt"] = "#version: 0.2\n" + merges.join("\n") + "\n";
  }
  return out;
}

if (import.meta.main) {
  const { values: flags, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      preset: { type: "string", default: "tiny" },
      seed: { type: "string", default: "0" },
      pytorch: { type: "boolean", default: false },
    },
  });
  const [dir, arch] = positionals;
  if (!dir || (arch !== "gpt2" && arch !== "pythia")) {
    console.error(
      "usage: generate.ts DIR gpt2|pythia [--preset small|tiny] [--seed N] [--pytorch]",
    );
    Deno.exit(2);
  }
  const res = await generateModel(dir, {
    architecture: arch === "gpt2" ? "gpt2" : "gpt_neox",
    preset: flags.preset === "small" ? "small" : "tiny",
    seed: Number(flags.seed),
    pytorch: flags.pytorch,
  });
  console.log(
    JSON.stringify({ dir: res.dir, files: res.files, seed: res.seed, config: res.config }),
  );
}
