/**
 * The toy model's configuration: every value the paper leaves open (method.md §8) is a field
 * here with a default, and every run records the full object in its results.
 * @module
 */

/** One nonzero entry T[query][key] = weight·targetScale of the target template (method.md §2.3). */
export interface TargetPair {
  /** Query-side feature a (row of T). */
  query: number;
  /** Key-side feature b (column of T). */
  key: number;
  /** Template weight before `targetScale`. */
  weight: number;
}

/** Attention loss: cross-entropy between target and head softmax (the paper's) or MSE on logits. */
export type AttnLoss = "ce" | "mse";

/** Everything that defines one toy training run. */
export interface ToyConfig {
  /** N: number of features. */
  nFeatures: number;
  /** D: token representation width (rows of W). */
  dModel: number;
  /** H: head dimension (rows of W_Q and W_K). */
  dHead: number;
  /** p: probability that a feature is nonzero (then Uniform[0,1]). */
  featureProb: number;
  /** Importance I_i = importanceDecay^i (1 → all features equally important). */
  importanceDecay: number;
  /** m: keys per query. */
  keysPerQuery: number;
  /** If true, key 0 of every sample is the query token itself (a causal-LM-like context). */
  queryIsKey: boolean;
  /** Nonzero entries of the template T. */
  pairs: TargetPair[];
  /** Multiplier applied to every template weight. */
  targetScale: number;
  /** λ in L = L_recon + λ·L_attn. */
  lambda: number;
  /** Attention loss variant. */
  attnLoss: AttnLoss;
  /** Which tokens the reconstruction loss covers: every token (queries and keys) or queries. */
  reconTokens: "all" | "query";
  /** α: length of the fixed offset μ added to every token representation (§2.6); 0 = none. */
  anisotropy: number;
  /** Training steps. */
  steps: number;
  /** Queries per step (each with `keysPerQuery` keys), freshly drawn. */
  batchSize: number;
  /** AdamW learning rate (constant schedule). */
  lr: number;
  /** AdamW β1. */
  beta1: number;
  /** AdamW β2. */
  beta2: number;
  /** AdamW ε. */
  eps: number;
  /** AdamW decoupled weight decay (applied to every parameter, as torch with one group). */
  weightDecay: number;
  /** Record alignment (SVD of Ω) every this many steps (0 = only at the start and end). */
  evalEvery: number;
  /** Seed of the run: init uses Rng(seed), data Rng(seed + 1), analysis Rng(seed + 2). */
  seed: number;
}

/** Defaults (method.md §2.2–2.4 and the single-pair configuration). */
export const DEFAULT_CONFIG: Readonly<ToyConfig> = Object.freeze({
  nFeatures: 20,
  dModel: 10,
  dHead: 10,
  featureProb: 0.1,
  importanceDecay: 0.9,
  keysPerQuery: 10,
  queryIsKey: false,
  pairs: [{ query: 0, key: 1, weight: 1 }],
  targetScale: 1,
  lambda: 1,
  attnLoss: "ce",
  reconTokens: "all",
  anisotropy: 0,
  steps: 3000,
  batchSize: 1024,
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  evalEvery: 100,
  seed: 0,
});

/** A full config from defaults plus overrides, validated. */
export function makeConfig(overrides: Partial<ToyConfig> = {}): ToyConfig {
  const cfg: ToyConfig = { ...DEFAULT_CONFIG, ...overrides };
  cfg.pairs = (overrides.pairs ?? DEFAULT_CONFIG.pairs).map((p) => ({ ...p }));
  validateConfig(cfg);
  return cfg;
}

/** Throws a RangeError naming the first invalid field of `cfg`. */
export function validateConfig(cfg: ToyConfig): void {
  const posInt = ["nFeatures", "dModel", "dHead", "keysPerQuery", "batchSize"] as const;
  for (const k of posInt) {
    if (!Number.isSafeInteger(cfg[k]) || cfg[k] < 1) {
      throw new RangeError(`toy config: ${k} must be a positive integer, got ${cfg[k]}`);
    }
  }
  for (const k of ["steps", "evalEvery", "seed"] as const) {
    if (!Number.isSafeInteger(cfg[k]) || cfg[k] < 0) {
      throw new RangeError(`toy config: ${k} must be a non-negative integer, got ${cfg[k]}`);
    }
  }
  if (!(cfg.featureProb > 0 && cfg.featureProb <= 1)) {
    throw new RangeError(`toy config: featureProb must be in (0, 1], got ${cfg.featureProb}`);
  }
  if (cfg.queryIsKey && cfg.keysPerQuery < 2) {
    throw new RangeError("toy config: queryIsKey needs keysPerQuery ≥ 2");
  }
  for (
    const k of ["lambda", "lr", "eps", "weightDecay", "anisotropy", "importanceDecay"] as const
  ) {
    if (!Number.isFinite(cfg[k]) || cfg[k] < 0) {
      throw new RangeError(`toy config: ${k} must be a finite number ≥ 0, got ${cfg[k]}`);
    }
  }
  if (!(cfg.beta1 >= 0 && cfg.beta1 < 1 && cfg.beta2 >= 0 && cfg.beta2 < 1)) {
    throw new RangeError(`toy config: betas must be in [0, 1), got ${cfg.beta1}, ${cfg.beta2}`);
  }
  if (cfg.pairs.length === 0) throw new RangeError("toy config: pairs must not be empty");
  for (const p of cfg.pairs) {
    for (const f of [p.query, p.key]) {
      if (!Number.isSafeInteger(f) || f < 0 || f >= cfg.nFeatures) {
        throw new RangeError(
          `toy config: target pair feature ${f} is outside 0..${cfg.nFeatures - 1}`,
        );
      }
    }
  }
}
