/**
 * Test helper: small random models in TransformerLens layout (GPT-2- and Pythia-shaped, with
 * non-trivial LayerNorm weights and biases everywhere), built in memory.
 * @module
 */
import type { Model, ModelConfig, Tensor, Weights } from "../../src/model/types.ts";
import { NO_PROCESSING } from "../../src/circuits/process.ts";
import { Rng } from "../../src/linalg/rng.ts";

/** Small hyper-parameters; `gpt_neox` gets rotary dims and a parallel residual. */
export function smallConfig(
  architecture: "gpt2" | "gpt_neox",
  overrides: Partial<ModelConfig> = {},
): ModelConfig {
  const neox = architecture === "gpt_neox";
  return {
    architecture,
    nLayers: 2,
    nHeads: 3,
    dModel: 12,
    dHead: 4,
    dMlp: 20,
    dVocab: 23,
    nCtx: 16,
    lnEps: 1e-5,
    act: neox ? "gelu" : "gelu_new",
    rotaryDim: neox ? 2 : 0,
    rotaryBase: 10000,
    parallelResidual: neox,
    tiedEmbeddings: !neox,
    ...overrides,
  };
}

/** A random model with raw (unprocessed) TL-layout weights; `seed` makes it reproducible. */
export function randomModel(config: ModelConfig, seed: number): Model {
  const rng = new Rng(seed);
  const w: Weights = new Map();
  const put = (name: string, shape: number[], scale: number, offset = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = offset + scale * rng.normal();
    w.set(name, { shape, data } satisfies Tensor);
  };
  const { nLayers, nHeads, dModel: d, dHead, dMlp, dVocab, nCtx } = config;
  const s = 1 / Math.sqrt(d);
  put("embed.W_E", [dVocab, d], 1, 0.3); // offset: a mean component to centre away
  if (config.rotaryDim === 0) put("pos_embed.W_pos", [nCtx, d], 0.5, -0.2);
  for (let l = 0; l < nLayers; l++) {
    put(`blocks.${l}.ln1.w`, [d], 0.3, 1);
    put(`blocks.${l}.ln1.b`, [d], 0.3);
    for (const x of ["Q", "K", "V"]) {
      put(`blocks.${l}.attn.W_${x}`, [nHeads, d, dHead], s * 2);
      put(`blocks.${l}.attn.b_${x}`, [nHeads, dHead], 0.5);
    }
    put(`blocks.${l}.attn.W_O`, [nHeads, dHead, d], s, 0.05);
    put(`blocks.${l}.attn.b_O`, [d], 0.2, 0.1);
    put(`blocks.${l}.ln2.w`, [d], 0.3, 1);
    put(`blocks.${l}.ln2.b`, [d], 0.3);
    put(`blocks.${l}.mlp.W_in`, [d, dMlp], s * 2);
    put(`blocks.${l}.mlp.b_in`, [dMlp], 0.3);
    put(`blocks.${l}.mlp.W_out`, [dMlp, d], 1 / Math.sqrt(dMlp), 0.05);
    put(`blocks.${l}.mlp.b_out`, [d], 0.2, -0.1);
  }
  put("ln_final.w", [d], 0.3, 1);
  put("ln_final.b", [d], 0.3);
  put("unembed.W_U", [d, dVocab], s * 3);
  put("unembed.b_U", [dVocab], 0.5);
  return { config, weights: w, processing: { ...NO_PROCESSING } };
}

/** A deep copy of a model's weights (so in-place transforms can be compared with the original). */
export function cloneModel(model: Model): Model {
  const w: Weights = new Map();
  for (const [k, t] of model.weights) w.set(k, { shape: [...t.shape], data: t.data.slice() });
  return { config: { ...model.config }, weights: w, processing: { ...model.processing } };
}
