/**
 * SAD of a model's heads on IOI prompts, end to end (method.md §4.7): generate the prompts,
 * find their positions, run one forward pass capturing `ln1.hook_normalized` and
 * `attn.hook_pattern`, then decompose every selected head's firings in its SVD basis and in a
 * randomly rotated one.
 * @module
 */
import { SvlensError } from "../errors.ts";
import type { Model } from "../model/types.ts";
import { type Backend, runWithCache } from "../runtime/mod.ts";
import {
  generateIoiPrompts,
  type IoiPositions,
  ioiPositions,
  type IoiPrompt,
  type TextEncoderLike,
} from "../tasks/mod.ts";
import { analyseHead, type FiringResult } from "./analyse.ts";
import type { PerOffsetBias } from "./per_offset.ts";
import { GPT2_SMALL_IOI_HEADS, type HeadType, type Tau } from "./firings.ts";
import { headRotations } from "./rotation.ts";
import { type HeadSummary, summarizeHead } from "./summary.ts";

/** Options of {@linkcode sadOnIoi}. */
export interface IoiSadOptions {
  /** Number of IOI prompts (default 128). */
  n?: number;
  /** Seed of the IOI generator (Python `random.seed`; default 0). */
  seed?: number;
  /** Seed of the rotation control (default: `seed`). */
  rotationSeed?: number;
  /** Heads as [layer, head]; default every head. */
  heads?: Array<[number, number]>;
  /** Attention threshold (default 0.5). */
  tau?: Tau;
  /**
   * Bias form (method.md §4.3; default `offset`). `destination` (ACC 2025 Ω_d) only with
   * `rotary: "per-offset"` on a rotary model; under per-offset every form is decomposed as
   * documented in per_offset.ts.
   */
  bias?: PerOffsetBias;
  /** Head roles for canonical pairs ("L.H" → type); default GPT-2 small's IOI heads on GPT-2 small. */
  headTypes?: ReadonlyMap<string, HeadType>;
  /** Drop prompts whose top prediction at END is not the IO token (ACC). Default false. */
  filterTopPrediction?: boolean;
  /**
   * Rotary heads: `residual` (one basis per head, default) or `per-offset` (ACC 2025, one SVD
   * per relative offset in the `bias` form). Ignored by models without rotary embeddings.
   */
  rotary?: "residual" | "per-offset";
  /** Forward backend (default `onnx`). */
  backend?: Backend;
  /** Called when the forward pass over all prompts has run (for progress). */
  onForward?: () => void;
  /** Called after each head (for progress). */
  onHead?: (layer: number, head: number) => void;
}

/** What {@linkcode sadOnIoi} returns. */
export interface IoiSadResult {
  /** Every generated prompt (firings refer to these indices). */
  prompts: IoiPrompt[];
  /** Their token positions. */
  positions: IoiPositions[];
  /** Indices of the prompts analysed (all, or those passing the top-prediction filter). */
  analysed: number[];
  /** Per head: summary, firings and singular values (of Ω_0 under per-offset). */
  heads: Array<
    { layer: number; head: number; summary: HeadSummary; firings: FiringResult[]; s: Float64Array }
  >;
  /** Head roles used for canonical pairs. */
  headTypes: Record<string, HeadType>;
  /** Wall-clock milliseconds of the forward pass and of the decompositions. */
  timings: { forwardMs: number; decompositionMs: number };
}

/** The default head roles: GPT-2 small's IOI heads when the model has GPT-2 small's shape. */
export function defaultHeadTypes(model: Model): ReadonlyMap<string, HeadType> {
  const c = model.config;
  const gpt2Small = c.architecture === "gpt2" && c.nLayers === 12 && c.nHeads === 12 &&
    c.dModel === 768;
  return gpt2Small ? GPT2_SMALL_IOI_HEADS : new Map();
}

/**
 * Runs SAD on IOI prompts. `model` must carry LayerNorm-folded weights (`processWeights`);
 * `tokenizer` encodes without BOS. Throws `NumericalError` if any firing's contributions fail
 * the sum check, `RangeError` (before the forward pass) for `bias: "destination"` without the
 * per-offset decomposition of a rotary model.
 */
export async function sadOnIoi(
  model: Model,
  tokenizer: TextEncoderLike,
  options: IoiSadOptions = {},
): Promise<IoiSadResult> {
  const { nLayers, nHeads, dHead } = model.config;
  const seed = options.seed ?? 0;
  const prompts = generateIoiPrompts({ n: options.n ?? 128, seed });
  const positions = prompts.map((p) => ioiPositions(p, tokenizer));
  if (prompts.length === 0) throw new SvlensError("no IOI prompts requested: use --n 1 or more");
  const heads = options.heads ?? Array.from(
    { length: nLayers * nHeads },
    (_, i) => [Math.floor(i / nHeads), i % nHeads] as [number, number],
  );
  for (const [l, h] of heads) {
    if (l >= nLayers || h >= nHeads) {
      throw new SvlensError(
        `head ${l}.${h} does not exist: the model has ${nLayers} layers × ${nHeads} heads`,
      );
    }
  }
  if (
    options.bias === "destination" &&
    !(options.rotary === "per-offset" && model.config.rotaryDim > 0)
  ) {
    throw new RangeError(
      "--bias destination (ACC 2025 Ω_d, key side augmented) needs --rotary per-offset on a " +
        `rotary model${
          model.config.rotaryDim > 0 ? "" : ` (this ${model.config.architecture} model has none)`
        }; ` +
        "supported: --bias offset|augmented|source everywhere, destination only with per-offset",
    );
  }
  const layers = [...new Set(heads.map(([l]) => l))].sort((a, b) => a - b);
  // The final name is never a query or a key of an analysed firing (d ≤ END), so the forward
  // runs on tokens[0..END]; its last-position logits are then the predictions at END.
  const truncated = positions.map((p) => p.tokens.slice(0, p.end + 1));
  const t0 = performance.now();
  const names = layers.flatMap((l) => [
    `blocks.${l}.ln1.hook_normalized`,
    `blocks.${l}.attn.hook_pattern`,
  ]);
  if (options.filterTopPrediction) names.push("logits");
  const cache = await runWithCache(model, truncated, {
    names,
    backend: options.backend,
    logitPositions: "last",
  });
  const forwardMs = performance.now() - t0;
  options.onForward?.();
  let keep: Set<number> | undefined;
  if (options.filterTopPrediction) {
    const logits = cache.get("logits");
    if (!logits) throw new SvlensError("the forward pass returned no logits for the filter");
    const v = logits.shape[2]!;
    keep = new Set();
    for (let b = 0; b < prompts.length; b++) {
      let best = 0;
      for (let i = 1; i < v; i++) {
        if (logits.data[b * v + i]! > logits.data[b * v + best]!) best = i;
      }
      if (best === positions[b]!.ioToken) keep.add(b);
    }
  }
  const t1 = performance.now();
  const headTypes = options.headTypes ?? defaultHeadTypes(model);
  const rotations = headRotations(nLayers, nHeads, dHead, options.rotationSeed ?? seed);
  const firingPositions = positions.map((p) => ({
    length: p.end + 1,
    end: p.end,
    io: p.io,
    s1: p.s1,
    s2: p.s2,
  }));
  const results: IoiSadResult["heads"] = [];
  for (const [layer, head] of heads) {
    const acts = {
      normalized: cache.get(`blocks.${layer}.ln1.hook_normalized`)!,
      pattern: cache.get(`blocks.${layer}.attn.hook_pattern`)!,
    };
    const analysis = analyseHead(
      model,
      layer,
      head,
      acts,
      firingPositions,
      rotations(layer, head),
      {
        tau: options.tau,
        headType: headTypes.get(`${layer}.${head}`),
        variant: options.bias,
        rotary: options.rotary,
      },
    );
    const firings = keep ? analysis.firings.filter((f) => keep!.has(f.prompt)) : analysis.firings;
    results.push({
      layer,
      head,
      summary: summarizeHead(layer, head, firings, dHead),
      firings,
      s: analysis.s,
    });
    options.onHead?.(layer, head);
  }
  return {
    prompts,
    positions,
    analysed: keep ? [...keep] : prompts.map((_, i) => i),
    heads: results,
    headTypes: Object.fromEntries(headTypes),
    timings: { forwardMs, decompositionMs: performance.now() - t1 },
  };
}
