/**
 * The GPT-nano fixture (bbycroft/llm-viz, a trained minGPT) as a TL-layout model, and its
 * recorded activations. minGPT stores `nn.Linear` weights `[out, in]` with heads as contiguous
 * `d_head` blocks of the output rows, and an untied, bias-free `lm_head`.
 * @module
 */
import type { Model, Tensor } from "../../src/model/types.ts";
import { gpt2Config } from "../../src/runtime/random_model.ts";
import { FIXTURES } from "../_helpers.ts";

interface JsonTensor {
  shape: number[];
  data: string;
}

function decode(t: JsonTensor): Tensor {
  const bytes = Uint8Array.from(atob(t.data), (c) => c.charCodeAt(0));
  return { shape: t.shape, data: new Float32Array(bytes.buffer) };
}

/** Reads a `{shape, data: base64 f32}` JSON file into tensors. */
function readTensors(path: string): Map<string, Tensor> {
  const json = JSON.parse(Deno.readTextFileSync(path)) as Record<string, unknown>;
  const out = new Map<string, Tensor>();
  for (const [k, v] of Object.entries(json)) {
    if (k !== "config") out.set(k, decode(v as JsonTensor));
  }
  return out;
}

/** `[out, in]` → `[in, out]`. */
function transpose(t: Tensor): Float32Array {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
  }
  return out;
}

/** The fixture's model in TL layout (raw weights, LN affine present). */
export function loadGptNano(): Model {
  const src = readTensors(`${FIXTURES}gpt-nano-sort/model.json`);
  const get = (k: string): Tensor => {
    const t = src.get(k);
    if (t === undefined) throw new Error(`fixture lacks ${k}`);
    return t;
  };
  const L = 3, H = 3, C = 48, D = 16, M = 192, V = 3;
  const w = new Map<string, Tensor>();
  w.set("embed.W_E", get("transformer.wte.weight"));
  w.set("pos_embed.W_pos", get("transformer.wpe.weight"));
  for (let l = 0; l < L; l++) {
    const s = `transformer.h.${l}.`, p = `blocks.${l}.`;
    w.set(`${p}ln1.w`, get(`${s}ln_1.weight`));
    w.set(`${p}ln1.b`, get(`${s}ln_1.bias`));
    w.set(`${p}ln2.w`, get(`${s}ln_2.weight`));
    w.set(`${p}ln2.b`, get(`${s}ln_2.bias`));
    const qkv = get(`${s}attn.c_attn.weight`).data; // [3C, C]
    const qkvB = get(`${s}attn.c_attn.bias`).data;
    ["Q", "K", "V"].forEach((name, which) => {
      const W = new Float32Array(H * C * D), b = new Float32Array(H * D);
      for (let h = 0; h < H; h++) {
        for (let e = 0; e < D; e++) {
          const row = which * C + h * D + e;
          b[h * D + e] = qkvB[row]!;
          for (let i = 0; i < C; i++) W[(h * C + i) * D + e] = qkv[row * C + i]!;
        }
      }
      w.set(`${p}attn.W_${name}`, { shape: [H, C, D], data: W });
      w.set(`${p}attn.b_${name}`, { shape: [H, D], data: b });
    });
    // c_proj [C, H·D] → W_O [H, D, C] is its transpose read as [H·D, C].
    w.set(`${p}attn.W_O`, { shape: [H, D, C], data: transpose(get(`${s}attn.c_proj.weight`)) });
    w.set(`${p}attn.b_O`, get(`${s}attn.c_proj.bias`));
    w.set(`${p}mlp.W_in`, { shape: [C, M], data: transpose(get(`${s}mlp.c_fc.weight`)) });
    w.set(`${p}mlp.b_in`, get(`${s}mlp.c_fc.bias`));
    w.set(`${p}mlp.W_out`, { shape: [M, C], data: transpose(get(`${s}mlp.c_proj.weight`)) });
    w.set(`${p}mlp.b_out`, get(`${s}mlp.c_proj.bias`));
  }
  w.set("ln_final.w", get("transformer.ln_f.weight"));
  w.set("ln_final.b", get("transformer.ln_f.bias"));
  w.set("unembed.W_U", { shape: [C, V], data: transpose(get("lm_head.weight")) });
  return {
    config: gpt2Config({
      nLayers: L,
      nHeads: H,
      dModel: C,
      dHead: D,
      dMlp: M,
      dVocab: V,
      nCtx: 11,
    }),
    weights: w,
    processing: {
      foldLayerNorm: false,
      centerWritingWeights: false,
      centerUnembed: false,
      foldValueBiases: false,
    },
  };
}

/** The recorded activations (`idx`, `tok_emb`, ..., `probs`) of one batch-3 forward pass. */
export function loadGptNanoPartials(): Map<string, Tensor> {
  return readTensors(`${FIXTURES}gpt-nano-sort/partials.json`);
}
