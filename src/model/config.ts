/**
 * Hugging Face `config.json` → {@linkcode ModelConfig}, for GPT-2 (`model_type: "gpt2"`) and
 * GPT-NeoX / Pythia (`"gpt_neox"`), following TransformerLens's `convert_hf_model_config` and the
 * defaults of transformers' `GPT2Config` / `GPTNeoXConfig` for absent keys. Anything else is
 * refused before any weights are read.
 * @module
 */
import { ModelFormatError, UnsupportedArchitectureError } from "../errors.ts";
import type { Architecture, ModelConfig } from "./types.ts";

/** The `model_type` values svlens can load. */
export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ["gpt2", "gpt_neox"];

type Json = Record<string, unknown>;

function field<T>(
  cfg: Json,
  keys: readonly string[],
  fallback: T | undefined,
  check: (v: unknown) => v is T,
  what: string,
  source: string,
): T {
  for (const k of keys) {
    const v = cfg[k];
    if (v === undefined || v === null) continue;
    if (!check(v)) {
      throw new ModelFormatError(
        `${source}: "${k}" is ${JSON.stringify(v)}, expected ${what}; fix config.json`,
      );
    }
    return v;
  }
  if (fallback === undefined) {
    throw new ModelFormatError(`${source}: missing "${keys[0]}" (${what}); fix config.json`);
  }
  return fallback;
}

const posInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const posNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;
const fraction = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1;
const bool = (v: unknown): v is boolean => typeof v === "boolean";
const str = (v: unknown): v is string => typeof v === "string";

/** Maps an HF activation name to svlens's two supported activations. */
function activation(name: string, source: string): "gelu_new" | "gelu" {
  // gelu_new, gelu_fast and gelu_pytorch_tanh are the same tanh approximation.
  if (name === "gelu_new" || name === "gelu_fast" || name === "gelu_pytorch_tanh") {
    return "gelu_new";
  }
  if (name === "gelu") return "gelu";
  throw new UnsupportedArchitectureError(
    `${source}: activation ${JSON.stringify(name)} is not supported ` +
      `(supported: gelu_new, gelu_fast, gelu_pytorch_tanh, gelu)`,
  );
}

function refuse(source: string, what: string): never {
  throw new UnsupportedArchitectureError(`${source}: ${what} is not supported by svlens`);
}

/**
 * Converts a parsed `config.json` object to a {@linkcode ModelConfig}.
 * Throws UnsupportedArchitectureError for any `model_type` other than gpt2 / gpt_neox (or for
 * variants svlens does not implement) and ModelFormatError for malformed values.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const cfg = parseConfig({ model_type: "gpt2", n_embd: 768, n_head: 12, n_layer: 12, vocab_size: 50257 });
 * cfg.dHead; // 64
 * ```
 */
export function parseConfig(json: unknown, source = "config.json"): ModelConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ModelFormatError(`${source}: expected a JSON object`);
  }
  const cfg = json as Json;
  const type = cfg.model_type;
  let config: ModelConfig;
  if (type === "gpt2") {
    const dModel = field(cfg, ["n_embd"], 768, posInt, "a positive integer", source);
    const nHeads = field(cfg, ["n_head"], 12, posInt, "a positive integer", source);
    if (field(cfg, ["scale_attn_weights"], true, bool, "a boolean", source) !== true) {
      refuse(source, "scale_attn_weights=false");
    }
    if (field(cfg, ["scale_attn_by_inverse_layer_idx"], false, bool, "a boolean", source)) {
      refuse(source, "scale_attn_by_inverse_layer_idx=true");
    }
    if (field(cfg, ["add_cross_attention"], false, bool, "a boolean", source)) {
      refuse(source, "add_cross_attention=true (encoder-decoder GPT-2)");
    }
    config = {
      architecture: "gpt2",
      nLayers: field(cfg, ["n_layer"], 12, posInt, "a positive integer", source),
      nHeads,
      dModel,
      dHead: dModel / nHeads,
      // HF GPT2MLP: inner_dim = n_inner if not None else 4 * n_embd.
      dMlp: field(cfg, ["n_inner"], 4 * dModel, posInt, "a positive integer or null", source),
      dVocab: field(cfg, ["vocab_size"], 50257, posInt, "a positive integer", source),
      nCtx: field(cfg, ["n_positions", "n_ctx"], 1024, posInt, "a positive integer", source),
      lnEps: field(cfg, ["layer_norm_epsilon"], 1e-5, posNum, "a positive number", source),
      act: activation(
        field(cfg, ["activation_function"], "gelu_new", str, "a string", source),
        source,
      ),
      rotaryDim: 0,
      rotaryBase: 10000,
      parallelResidual: false,
      tiedEmbeddings: field(cfg, ["tie_word_embeddings"], true, bool, "a boolean", source),
    };
  } else if (type === "gpt_neox") {
    const dModel = field(cfg, ["hidden_size"], undefined, posInt, "a positive integer", source);
    const nHeads = field(
      cfg,
      ["num_attention_heads"],
      undefined,
      posInt,
      "a positive integer",
      source,
    );
    const dHead = dModel / nHeads;
    // Newer transformers write rope_theta and partial_rotary_factor inside rope_parameters.
    const ropeParams = typeof cfg.rope_parameters === "object" && cfg.rope_parameters !== null
      ? cfg.rope_parameters as Json
      : undefined;
    const ropeType = ropeParams?.rope_type ?? ropeParams?.type;
    if (ropeType !== undefined && ropeType !== "default") {
      refuse(source, `rope_parameters.rope_type ${JSON.stringify(ropeType)} (only "default")`);
    }
    const rotaryPct = field(
      { rope_parameters_partial: ropeParams?.partial_rotary_factor, ...cfg },
      ["rotary_pct", "partial_rotary_factor", "rope_parameters_partial"],
      0.25,
      fraction,
      "a number in [0, 1]",
      source,
    );
    if (field(cfg, ["attention_bias"], true, bool, "a boolean", source) !== true) {
      refuse(source, "attention_bias=false");
    }
    const ropeScaling = cfg.rope_scaling;
    if (ropeScaling !== undefined && ropeScaling !== null) {
      refuse(source, `rope_scaling ${JSON.stringify(ropeScaling)}`);
    }
    config = {
      architecture: "gpt_neox",
      nLayers: field(cfg, ["num_hidden_layers"], undefined, posInt, "a positive integer", source),
      nHeads,
      dModel,
      dHead,
      dMlp: field(cfg, ["intermediate_size"], 4 * dModel, posInt, "a positive integer", source),
      dVocab: field(cfg, ["vocab_size"], undefined, posInt, "a positive integer", source),
      nCtx: field(cfg, ["max_position_embeddings"], 2048, posInt, "a positive integer", source),
      lnEps: field(cfg, ["layer_norm_eps"], 1e-5, posNum, "a positive number", source),
      act: activation(field(cfg, ["hidden_act"], "gelu", str, "a string", source), source),
      // HF GPTNeoXAttention: rotary_ndims = int(head_size * rotary_pct).
      rotaryDim: Math.floor(dHead * rotaryPct),
      rotaryBase: field(
        { rope_parameters_theta: ropeParams?.rope_theta, ...cfg },
        ["rotary_emb_base", "rope_theta", "rope_parameters_theta"],
        10000,
        posNum,
        "a positive number",
        source,
      ),
      parallelResidual: field(cfg, ["use_parallel_residual"], true, bool, "a boolean", source),
      tiedEmbeddings: field(cfg, ["tie_word_embeddings"], false, bool, "a boolean", source),
    };
  } else {
    throw new UnsupportedArchitectureError(
      `${source}: model_type ${JSON.stringify(type)} is not supported; svlens supports ` +
        `${SUPPORTED_ARCHITECTURES.join(", ")} (GPT-2 and GPT-NeoX/Pythia)`,
    );
  }
  if (!Number.isInteger(config.dHead)) {
    throw new ModelFormatError(
      `${source}: hidden size ${config.dModel} is not divisible by ${config.nHeads} heads`,
    );
  }
  if (config.architecture === "gpt_neox" && config.rotaryDim === 0) {
    // GPT-NeoX has no learned position embeddings: without rotary it has no position at all.
    throw new ModelFormatError(
      `${source}: rotary dimension 0 (d_head ${config.dHead} × rotary_pct); a GPT-NeoX model ` +
        "needs rotary_pct > 0 for positions (Pythia uses 0.25)",
    );
  }
  if (config.rotaryDim % 2 !== 0) {
    throw new ModelFormatError(
      `${source}: rotary dimension ${config.rotaryDim} (d_head × rotary_pct) must be even`,
    );
  }
  return config;
}

/** Reads and parses `path` (a config.json file). */
export async function readConfig(path: string): Promise<ModelConfig> {
  const text = await Deno.readTextFile(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseConfig(json, path);
}
