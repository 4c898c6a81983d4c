/**
 * Random models in TL layout, in memory, for tests and benchmarks of the forward passes
 * (`model/generate.ts` writes the same kinds of models as Hugging Face files).
 * @module
 */
import {
  type Model,
  type ModelConfig,
  NO_PROCESSING,
  type Tensor,
  type Weights,
} from "../model/types.ts";

/** Options of {@linkcode randomModel}. */
export interface RandomModelOptions {
  /** Seed of the generator (recorded by callers); default 0. */
  seed?: number;
  /** Omit every bias tensor (as Pythia's `embed_out`, or a folded model may). Default false. */
  noBiases?: boolean;
}

/** A small seeded generator (mulberry32 + Box–Muller); enough for random weights. */
class Gaussian {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  uniform(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

/**
 * A model with `config` and random weights scaled `1/√fan_in` (so activations, scores and
 * patterns are O(1) and non-trivial), LayerNorm weights near 1, biases small; raw (unprocessed).
 *
 * @example
 * ```ts ignore
 * const model = randomModel(config, { seed: 1 });
 * ```
 */
export function randomModel(config: ModelConfig, options: RandomModelOptions = {}): Model {
  const rng = new Gaussian(options.seed ?? 0);
  const weights: Weights = new Map();
  const put = (name: string, shape: number[], std: number, mean = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + std * rng.normal();
    const t: Tensor = { shape, data };
    weights.set(name, t);
  };
  const bias = (name: string, shape: number[], std: number): void => {
    if (!options.noBiases) put(name, shape, std);
  };
  const { dModel: C, nHeads: H, dHead: D, dMlp: M, dVocab: V } = config;
  put("embed.W_E", [V, C], 1);
  if (config.rotaryDim === 0) put("pos_embed.W_pos", [config.nCtx, C], 0.5);
  for (let l = 0; l < config.nLayers; l++) {
    const p = `blocks.${l}.`;
    put(`${p}ln1.w`, [C], 0.2, 1);
    bias(`${p}ln1.b`, [C], 0.2);
    for (const x of ["Q", "K", "V"]) {
      put(`${p}attn.W_${x}`, [H, C, D], 1 / Math.sqrt(C));
      bias(`${p}attn.b_${x}`, [H, D], 0.3);
    }
    put(`${p}attn.W_O`, [H, D, C], 1 / Math.sqrt(H * D));
    bias(`${p}attn.b_O`, [C], 0.1);
    put(`${p}ln2.w`, [C], 0.2, 1);
    bias(`${p}ln2.b`, [C], 0.2);
    put(`${p}mlp.W_in`, [C, M], 1 / Math.sqrt(C));
    bias(`${p}mlp.b_in`, [M], 0.1);
    put(`${p}mlp.W_out`, [M, C], 1 / Math.sqrt(M));
    bias(`${p}mlp.b_out`, [C], 0.1);
  }
  put("ln_final.w", [C], 0.2, 1);
  bias("ln_final.b", [C], 0.2);
  put("unembed.W_U", [C, V], 1 / Math.sqrt(C));
  bias("unembed.b_U", [V], 0.1);
  return {
    config,
    weights,
    processing: { ...NO_PROCESSING },
  };
}

/** A config in TL's names with GPT-2 defaults, overridden by `overrides`. */
export function gpt2Config(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    architecture: "gpt2",
    nLayers: 2,
    nHeads: 2,
    dModel: 16,
    dHead: 8,
    dMlp: 64,
    dVocab: 50,
    nCtx: 32,
    lnEps: 1e-5,
    act: "gelu_new",
    rotaryDim: 0,
    rotaryBase: 10000,
    parallelResidual: false,
    tiedEmbeddings: false,
    ...overrides,
  };
}

/** A Pythia-like config (parallel residual, rotary over `rotaryPct` of d_head, exact GELU). */
export function neoxConfig(
  overrides: Partial<ModelConfig> & { rotaryPct?: number } = {},
): ModelConfig {
  const { rotaryPct = 0.25, ...rest } = overrides;
  const base = gpt2Config({
    architecture: "gpt_neox",
    act: "gelu",
    parallelResidual: true,
    ...rest,
  });
  return { ...base, rotaryDim: rest.rotaryDim ?? Math.floor(base.dHead * rotaryPct) };
}
