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

/** Fields of {@linkcode ToyConfig} settable one by one (`svlens toy --set key=value`): all but `pairs`. */
export const SETTABLE_KEYS: readonly (keyof ToyConfig)[] = Object.freeze(
  (Object.keys(DEFAULT_CONFIG) as (keyof ToyConfig)[]).filter((k) => k !== "pairs"),
);

/** Short names accepted for some fields (method.md's symbols). */
export const KEY_ALIASES: Readonly<Record<string, keyof ToyConfig>> = Object.freeze({
  p: "featureProb",
  m: "keysPerQuery",
  alpha: "anisotropy",
});

const CHOICES: Partial<Record<keyof ToyConfig, readonly string[]>> = {
  attnLoss: ["ce", "mse"],
  reconTokens: ["all", "query"],
};

/**
 * Parses one `key=value` setting into a config override; `key` is a field of
 * {@linkcode SETTABLE_KEYS} or an alias of {@linkcode KEY_ALIASES}. The value's type follows the
 * default's (number, boolean `true|false`, or one of the field's choices). Range checks are left
 * to {@linkcode validateConfig}. Throws a RangeError naming the key or value.
 */
export function parseSetting(setting: string): Partial<ToyConfig> {
  const eq = setting.indexOf("=");
  if (eq < 0) throw new RangeError(`expected key=value, got '${setting}'`);
  const name = setting.slice(0, eq).trim();
  const raw = setting.slice(eq + 1).trim();
  const key = Object.hasOwn(KEY_ALIASES, name) ? KEY_ALIASES[name]! : name as keyof ToyConfig;
  if (!SETTABLE_KEYS.includes(key)) {
    const aliases = Object.entries(KEY_ALIASES).map(([a, k]) => `${a}=${k}`).join(", ");
    throw new RangeError(
      `unknown key '${name}'; valid keys: ${SETTABLE_KEYS.join(", ")} (aliases ${aliases})`,
    );
  }
  const choices = CHOICES[key];
  if (choices) {
    if (!choices.includes(raw)) {
      throw new RangeError(`${key} must be one of ${choices.join(", ")}, got '${raw}'`);
    }
    return { [key]: raw };
  }
  if (typeof DEFAULT_CONFIG[key] === "boolean") {
    if (raw !== "true" && raw !== "false") {
      throw new RangeError(`${key} must be true or false, got '${raw}'`);
    }
    return { [key]: raw === "true" };
  }
  const value = Number(raw);
  if (raw === "" || !Number.isFinite(value)) {
    throw new RangeError(`${key} must be a number, got '${raw}'`);
  }
  return { [key]: value };
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
  if (!Number.isFinite(cfg.targetScale)) {
    throw new RangeError(`toy config: targetScale must be finite, got ${cfg.targetScale}`);
  }
  for (const [k, choices] of Object.entries(CHOICES)) {
    const v = cfg[k as keyof ToyConfig];
    if (!choices.includes(v as string)) {
      throw new RangeError(`toy config: ${k} must be one of ${choices.join(", ")}, got ${v}`);
    }
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
