/**
 * Options shared by `svlens sad` and `svlens sweep`: their specs, parsers and the one parse of
 * the SAD settings both commands run in the same order (so the first bad option reported is the
 * same).
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Backend } from "../runtime/mod.ts";
import {
  HEAD_TYPES,
  type HeadType,
  PER_OFFSET_BIASES,
  type PerOffsetBias,
  perOffsetForm,
  type Tau,
} from "../sad/mod.ts";
import { headsOption, intOption } from "./_args.ts";
import { backendOption } from "./_options.ts";

/** The `parseArgs` specs of the SAD settings (both commands add their own). */
export const SAD_OPTION_SPECS = {
  n: { type: "string" },
  seed: { type: "string" },
  tau: { type: "string" },
  bias: { type: "string" },
  "rotation-seed": { type: "string" },
  "head-types": { type: "string" },
  rotary: { type: "string" },
  backend: { type: "string" },
  out: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Parses `--tau`; a usage error (with `usage`) otherwise. */
export function tauOption(value: string | undefined, usage: string): Tau {
  if (value === undefined) return 0.5;
  if (value === "1/m") return "1/m";
  const t = Number(value);
  if (!(t > 0 && t <= 1)) {
    throw new UsageError(`--tau must be a number in (0, 1] or 1/m, got '${value}'\n${usage}`);
  }
  return t;
}

/** Parses `--bias` (`destination` is checked against `--rotary` by {@linkcode checkBias}). */
export function biasOption(value: string | undefined, usage: string): PerOffsetBias {
  const v = value ?? "offset";
  if (!(PER_OFFSET_BIASES as readonly string[]).includes(v)) {
    throw new UsageError(
      `--bias must be offset, augmented, source or destination, got '${v}'\n${usage}`,
    );
  }
  return v as PerOffsetBias;
}

/**
 * Refuses bias forms that the chosen decomposition does not compute: `destination` exists only
 * per offset (`rotaryDim`, when known, must be > 0 too). Throws `UsageError`.
 */
export function checkBias(
  bias: PerOffsetBias,
  rotary: "residual" | "per-offset",
  rotaryDim?: number,
): void {
  if (bias !== "destination") return;
  if (rotary !== "per-offset" || rotaryDim === 0) {
    throw new UsageError(
      "--bias destination (ACC 2025 Ω_d per offset: query x_d + c_d, keys [x_s; 1]) needs " +
        "--rotary per-offset on a rotary model" +
        (rotaryDim === 0 ? " (this model has no rotary embeddings)" : "") +
        "; supported: --bias offset|augmented|source with either --rotary, destination only " +
        "with --rotary per-offset",
    );
  }
}

/**
 * What `bias` decomposes on a model with `rotaryDim` rotary dimensions under `rotary`, for the
 * results' `biasForm` (the per-offset forms from per_offset.ts).
 */
export function biasForm(
  bias: PerOffsetBias,
  rotary: "residual" | "per-offset",
  rotaryDim: number,
): string {
  if (rotaryDim > 0 && rotary === "per-offset") return perOffsetForm(bias);
  const plain = {
    offset: "Ω = W_Q W_Kᵀ (d×d); offsets c_d = b_Q W_Q⁺, c_s = b_K W_K⁺ (method.md §4.3 C)",
    augmented: "Ω̃ = [W_Q; b_Qᵀ][W_K; b_Kᵀ]ᵀ ((d+1)×(d+1)), x̃ = [x; 1] on both sides (§4.3 A)",
    source: "Ω_s = [W_Q; b_Qᵀ] W_Kᵀ ((d+1)×d), x̃_d = [x_d; 1] (§4.3 B source side)" +
      (rotaryDim > 0 ? "; keys x_s + c_s, c_s = b_K W_K⁺" : ""),
    destination: "not computed off per-offset",
  } satisfies Record<PerOffsetBias, string>;
  return plain[bias] + (rotaryDim > 0 ? "; rotations moved onto the residuals (§4.6 ACC++)" : "");
}

/** Parses `--rotary`; a usage error (with `usage`) otherwise. */
export function rotaryOption(value: string | undefined, usage: string): "residual" | "per-offset" {
  const v = value ?? "residual";
  if (v !== "residual" && v !== "per-offset") {
    throw new UsageError(`--rotary must be residual or per-offset, got '${v}'\n${usage}`);
  }
  return v;
}

/** Parses `--head-types 9.9=name-mover,8.6=s-inhibition`. */
export function headTypesOption(
  value: string | undefined,
  usage: string,
): Map<string, HeadType> | undefined {
  if (value === undefined) return undefined;
  const out = new Map<string, HeadType>();
  for (const item of value.split(",").filter((s) => s.trim() !== "")) {
    const m = /^(\d+\.\d+)=([a-z-]+)$/.exec(item.trim());
    if (!m || !HEAD_TYPES.includes(m[2] as HeadType)) {
      throw new UsageError(
        `--head-types expects L.H=TYPE items with TYPE one of ${HEAD_TYPES.join(", ")}, ` +
          `got '${item}'\n${usage}`,
      );
    }
    out.set(m[1]!, m[2] as HeadType);
  }
  return out;
}

/** The raw values {@linkcode sadOptions} reads. */
export interface SadOptionValues {
  n?: string;
  seed?: string;
  "rotation-seed"?: string;
  tau?: string;
  bias?: string;
  "head-types"?: string;
  rotary?: string;
  backend?: string;
}

/** The parsed SAD settings. */
export interface SadOptions {
  /** Number of prompts. */
  n: number;
  /** Python random seed of the prompt generator. */
  seed: number;
  /** Seed of the random-rotation control (default: `seed`). */
  rotationSeed: number;
  /** Heads to decompose; `undefined` for all. */
  heads: Array<[number, number]> | undefined;
  /** Attention threshold for firings. */
  tau: Tau;
  /** Bias treatment. */
  bias: PerOffsetBias;
  /** IOI roles adding canonical pairs; `undefined` for the default. */
  headTypes: Map<string, HeadType> | undefined;
  /** Rotary decomposition. */
  rotary: "residual" | "per-offset";
  /** Forward-pass backend (`"auto"` when not given: resolve it with `resolveBackend`). */
  backend: Backend | "auto";
}

/** How {@linkcode sadOptions} reports errors. */
export interface SadOptionsContext {
  /** The raw `--heads` (or `--head`) value. */
  heads: string | undefined;
  /** The command's usage text, appended to a bad `--backend`'s message. */
  usage: string;
  /**
   * The usage text appended to a bad `--tau`, `--bias`, `--head-types` or `--rotary` (default
   * `usage`; sweep's usage defers these options to sad's, so sweep passes sad's).
   */
  sadUsage?: string;
}

/**
 * Parses the SAD settings in a fixed order (n, seed, rotation seed, heads, tau, bias, head types,
 * rotary, backend) and refuses `--bias destination` without `--rotary per-offset`.
 * Throws `UsageError`.
 */
export function sadOptions(values: SadOptionValues, context: SadOptionsContext): SadOptions {
  const sadUsage = context.sadUsage ?? context.usage;
  const n = intOption("n", values.n, 128);
  if (n < 1) throw new UsageError(`--n must be at least 1 (the number of IOI prompts), got ${n}`);
  const seed = intOption("seed", values.seed, 0);
  const rotationSeed = intOption("rotation-seed", values["rotation-seed"], seed);
  const heads = headsOption(context.heads);
  const tau = tauOption(values.tau, sadUsage);
  const bias = biasOption(values.bias, sadUsage);
  const headTypes = headTypesOption(values["head-types"], sadUsage);
  const rotary = rotaryOption(values.rotary, sadUsage);
  checkBias(bias, rotary);
  const backend = backendOption(values.backend, context.usage);
  return { n, seed, rotationSeed, heads, tau, bias, headTypes, rotary, backend };
}
