/**
 * Named toy experiments (method.md §2.4): single pair, multi-pair, anisotropy sweep, λ sweep.
 * @module
 */
import { makeConfig, type ToyConfig } from "./config.ts";

/** Preset names accepted by `svlens toy --preset`. */
export const PRESETS = ["single-pair", "multi-pair", "anisotropy", "lambda-sweep"] as const;

/** A preset name. */
export type PresetName = typeof PRESETS[number];

/** A preset: the base configuration and, for sweeps, the swept field and its values. */
export interface Preset {
  /** Preset name. */
  name: PresetName;
  /** One-line description (report title). */
  title: string;
  /** Base configuration. */
  config: ToyConfig;
  /** For sweeps: which config field varies. */
  sweep?: { field: "anisotropy" | "lambda"; values: number[] };
}

/** 20 pairs (a_p = p, b_p = 20 + p) with weights linearly spaced 2 → 1 (distinct, so the
 * individual singular vectors are well defined), for N ≥ 40. */
function multiPairs(count: number): ToyConfig["pairs"] {
  return Array.from({ length: count }, (_, p) => ({
    query: p,
    key: count + p,
    weight: count > 1 ? 2 - p / (count - 1) : 1,
  }));
}

/** The preset `name` with `overrides` (e.g. seed, steps) applied to its base configuration. */
export function preset(name: PresetName, overrides: Partial<ToyConfig> = {}): Preset {
  switch (name) {
    case "single-pair":
      return {
        name,
        title: "Toy model, single target pair T₀₁ (N=20, D=10, H=10)",
        config: makeConfig({ steps: 3000, ...overrides }),
      };
    case "multi-pair":
      return {
        name,
        title: "Toy model, 20 target pairs (N=100, D=H=50)",
        config: makeConfig({
          nFeatures: 100,
          dModel: 50,
          dHead: 50,
          featureProb: 0.05,
          pairs: multiPairs(20),
          targetScale: 3,
          steps: 2000,
          evalEvery: 100,
          ...overrides,
        }),
      };
    case "anisotropy":
      return {
        name,
        title: "Toy model, anisotropy sweep (offset α·μ on every token; N=40, D=H=20, 5 pairs)",
        config: makeConfig({
          nFeatures: 40,
          dModel: 20,
          dHead: 20,
          featureProb: 0.05,
          pairs: multiPairs(5),
          targetScale: 3,
          steps: 1500,
          evalEvery: 250,
          ...overrides,
        }),
        sweep: { field: "anisotropy", values: [0, 0.25, 0.5, 1, 2, 4] },
      };
    case "lambda-sweep":
      return {
        name,
        title: "Toy model, λ sweep (single pair, N=20, D=10, H=10)",
        config: makeConfig({ steps: 1500, evalEvery: 250, ...overrides }),
        sweep: { field: "lambda", values: [0.1, 0.5, 1, 10] },
      };
  }
}
