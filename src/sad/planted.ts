/**
 * Planted models: GPT-2- or Pythia-shaped models whose QK circuits are built from known feature
 * directions, so SAD's answer is known. Token t's embedding is the feature direction f_t
 * (orthonormal, mean zero); attention and MLP outputs are zero, so every layer reads
 * LNPre(embedding) = √d_model·f_t (up to ε). Head (l, h) plants one pair (a, b):
 *   Ω = σ₁ f_a f_bᵀ + Σ_{k≥2} σₖ g_k g_kᵀ with "dark" directions g_k ⊥ every token feature,
 * so on a firing "query token a → key token b" only the first triplet contributes: N_recon = 1
 * and sparseness = 1/K, while a random rotation of the basis spreads the logit over all K.
 * Rotary models put the planted dimension outside the rotated ones (zero Q/K biases).
 * @module
 */
import { type Matrix, qr, Rng } from "../linalg/mod.ts";
import type { Model, ModelConfig, Tensor, Weights } from "../model/types.ts";

/** Options of {@linkcode plantedModel}. */
export interface PlantedOptions {
  /** `gpt2` (learned positions, set to zero; Q/K biases) or `gpt_neox` (rotary). Default gpt2. */
  architecture?: "gpt2" | "gpt_neox";
  /** Blocks (default 2). */
  nLayers?: number;
  /** Heads per block (default 4). */
  nHeads?: number;
  /** Residual width (default 64). */
  dModel?: number;
  /** Head width (default dModel / nHeads). */
  dHead?: number;
  /** Vocabulary = number of token features (default 24; ≤ dModel − dHead). */
  nTokens?: number;
  /** Seed of the feature directions and the planted pairs (default 0). */
  seed?: number;
  /** Attention score (after 1/√d_head) of a planted pair; default 12 (attention ≈ 1). */
  score?: number;
}

/** One planted pair: in head `layer.head`, query token `queryToken` attends key token `keyToken`. */
export interface Plant {
  /** Layer. */
  layer: number;
  /** Head. */
  head: number;
  /** Token whose queries carry f_a. */
  queryToken: number;
  /** Token whose keys carry f_b. */
  keyToken: number;
}

/** A planted model and what was planted. */
export interface PlantedModel {
  /** The model (TL layout, LayerNorm already folded: no ln weights). */
  model: Model;
  /** One plant per head, layer-major. */
  plants: Plant[];
  /** Feature directions: row t of this nTokens×dModel matrix is token t's direction. */
  features: Matrix;
}

function tensor(shape: number[]): Tensor {
  return { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

/**
 * Builds a planted model (see the module doc). Deterministic for a given `seed`.
 *
 * @example
 * ```ts ignore
 * const { model, plants } = plantedModel({ nLayers: 1, nHeads: 2 });
 * ```
 */
export function plantedModel(options: PlantedOptions = {}): PlantedModel {
  const arch = options.architecture ?? "gpt2";
  const L = options.nLayers ?? 2, H = options.nHeads ?? 4;
  const C = options.dModel ?? 64, D = options.dHead ?? Math.floor(C / H);
  const V = options.nTokens ?? 24;
  const score = options.score ?? 12;
  if (V + D > C) {
    throw new RangeError(
      `planted model needs nTokens + dHead ≤ dModel (${V} + ${D} > ${C}): raise dModel`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  // Orthonormal directions ⊥ 1: QR of [1, gaussian...]; columns 1.. are mean-zero.
  const g: Matrix = { rows: C, cols: C, data: new Float64Array(C * C) };
  for (let i = 0; i < C; i++) {
    g.data[i * C] = 1;
    for (let j = 1; j < C; j++) g.data[i * C + j] = rng.normal();
  }
  const basis = qr(g).q;
  const dir = (j: number, i: number): number => basis.data[i * C + 1 + j]!;
  const features: Matrix = { rows: V, cols: C, data: new Float64Array(V * C) };
  for (let t = 0; t < V; t++) for (let i = 0; i < C; i++) features.data[t * C + i] = dir(t, i);

  // Pythia's rotary_pct = 0.25, rounded down to an even number of dimensions.
  const rotaryDim = arch === "gpt_neox" ? Math.max(2, 2 * Math.floor(D / 8)) : 0;
  const config: ModelConfig = {
    architecture: arch,
    nLayers: L,
    nHeads: H,
    dModel: C,
    dHead: D,
    dMlp: 4 * C,
    dVocab: V,
    nCtx: 64,
    lnEps: 1e-5,
    act: arch === "gpt2" ? "gelu_new" : "gelu",
    rotaryDim,
    rotaryBase: 10000,
    parallelResidual: arch === "gpt_neox",
    tiedEmbeddings: false,
  };
  const w: Weights = new Map();
  const embed = tensor([V, C]);
  for (let i = 0; i < V * C; i++) embed.data[i] = features.data[i]!;
  w.set("embed.W_E", embed);
  if (arch === "gpt2") w.set("pos_embed.W_pos", tensor([config.nCtx, C]));
  // x = √C f after LNPre, so a score s needs α² C / √D = s for the planted column.
  const alpha = Math.sqrt((score * Math.sqrt(D)) / C);
  const plantedCol = rotaryDim; // first unrotated dimension (0 for GPT-2)
  const plants: Plant[] = [];
  for (let l = 0; l < L; l++) {
    const p = `blocks.${l}.`;
    const wq = tensor([H, C, D]), wk = tensor([H, C, D]);
    const bq = tensor([H, D]), bk = tensor([H, D]);
    for (let h = 0; h < H; h++) {
      const a = Math.floor(rng.uniform() * V);
      let b = Math.floor(rng.uniform() * (V - 1));
      if (b >= a) b++;
      plants.push({ layer: l, head: h, queryToken: a, keyToken: b });
      const base = h * C * D;
      for (let i = 0; i < C; i++) {
        wq.data[base + i * D + plantedCol] = alpha * dir(a, i);
        wk.data[base + i * D + plantedCol] = alpha * dir(b, i);
      }
      // The other columns: dark directions (beyond the token features), distinct σₖ < σ₁.
      let dark = 0;
      for (let col = 0; col < D; col++) {
        if (col === plantedCol) continue;
        const beta = alpha * (0.8 - 0.6 * (dark / D));
        for (let i = 0; i < C; i++) {
          const gi = dir(V + dark, i);
          wq.data[base + i * D + col] = beta * gi;
          wk.data[base + i * D + col] = beta * gi;
        }
        dark++;
      }
      if (arch === "gpt2") {
        for (let j = 0; j < D; j++) {
          bq.data[h * D + j] = 0.3 * rng.normal();
          bk.data[h * D + j] = 0.3 * rng.normal();
        }
      }
    }
    w.set(`${p}attn.W_Q`, wq);
    w.set(`${p}attn.W_K`, wk);
    w.set(`${p}attn.b_Q`, bq);
    w.set(`${p}attn.b_K`, bk);
    w.set(`${p}attn.W_V`, tensor([H, C, D]));
    w.set(`${p}attn.b_V`, tensor([H, D]));
    w.set(`${p}attn.W_O`, tensor([H, D, C]));
    w.set(`${p}attn.b_O`, tensor([C]));
    w.set(`${p}mlp.W_in`, tensor([C, 4 * C]));
    w.set(`${p}mlp.b_in`, tensor([4 * C]));
    w.set(`${p}mlp.W_out`, tensor([4 * C, C]));
    w.set(`${p}mlp.b_out`, tensor([C]));
  }
  const wu = tensor([C, V]);
  for (let i = 0; i < C * V; i++) wu.data[i] = rng.normal() / Math.sqrt(C);
  w.set("unembed.W_U", wu);
  w.set("unembed.b_U", tensor([V]));
  return {
    model: {
      config,
      weights: w,
      processing: {
        foldLayerNorm: true,
        centerWritingWeights: true,
        centerUnembed: false,
        foldValueBiases: true,
      },
    },
    plants,
    features,
  };
}

/**
 * Prompts that exercise the plants: prompt i serves plant i mod P: neutral tokens (neither of
 * that plant's tokens), the key token at a position s ≥ 1 and the query token at a later d.
 * Returns the token lists and, per prompt, the planted (query, key) positions.
 */
export function plantedPrompts(
  plants: readonly Plant[],
  nTokens: number,
  options: { n?: number; length?: number; seed?: number } = {},
): { tokens: number[][]; planted: Array<{ plant: Plant; query: number; key: number }> } {
  const n = options.n ?? 2 * plants.length;
  const len = options.length ?? 10;
  const rng = new Rng(options.seed ?? 1);
  const tokens: number[][] = [];
  const planted: Array<{ plant: Plant; query: number; key: number }> = [];
  for (let i = 0; i < n; i++) {
    const plant = plants[i % plants.length]!;
    const row: number[] = [];
    for (let t = 0; t < len; t++) {
      let tok = Math.floor(rng.uniform() * nTokens);
      while (tok === plant.queryToken || tok === plant.keyToken) {
        tok = Math.floor(rng.uniform() * nTokens);
      }
      row.push(tok);
    }
    const key = 1 + Math.floor(rng.uniform() * (len - 3));
    const query = key + 1 + Math.floor(rng.uniform() * (len - 2 - key));
    row[key] = plant.keyToken;
    row[query] = plant.queryToken;
    tokens.push(row);
    planted.push({ plant, query, key });
  }
  return { tokens, planted };
}
