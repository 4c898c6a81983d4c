/**
 * Forward passes with activation capture under TransformerLens hook names: the pure-TypeScript
 * reference and ONNX graphs run by onnxruntime-web.
 *
 * @example
 * ```ts ignore
 * const cache = await runWithCache(model, [[464, 3290, 3332]], {
 *   names: ["blocks.*.ln1.hook_normalized", "blocks.*.attn.hook_pattern"],
 * });
 * cache.get("blocks.0.attn.hook_pattern")!.shape; // [1, n_heads, 3, 3]
 * ```
 * @module
 */
import type { Model, Tensor } from "../model/types.ts";
import { type LogitPositions, makeBatch } from "./batch.ts";
import { type HookFilter, selectHooks } from "./hooks.ts";
import { referenceForward } from "./reference.ts";
import { DEFAULT_THREADS } from "./threads.ts";

export { type Batch, type LogitPositions, makeBatch, PAD_TOKEN } from "./batch.ts";
export { type HookFilter, hookNames, hookPredicate, selectHooks } from "./hooks.ts";
export { erf, gelu, referenceForward } from "./reference.ts";
export { DEFAULT_THREADS } from "./threads.ts";
export { type RotaryTables, rotaryTables, rotateInPlace } from "./rotary.ts";
export { gpt2Config, neoxConfig, randomModel, type RandomModelOptions } from "./random_model.ts";

/** Which implementation runs the forward pass. */
export type Backend = "onnx" | "reference";

/** Options of {@linkcode runWithCache}. */
export interface RunOptions {
  /** Hooks to capture: exact names, `*` globs, or a RegExp; default every hook. */
  names?: HookFilter;
  /** `onnx` (onnxruntime-web, default) or `reference` (pure TypeScript). */
  backend?: Backend;
  /** Where `logits` are computed: `"all"` (default), `"last"` real token, or fixed positions. */
  logitPositions?: LogitPositions;
  /**
   * onnxruntime-web threads (default {@linkcode DEFAULT_THREADS}, 2). Fixed by the first ONNX
   * run of the process; later values are ignored. Above 1, onnxruntime runs on a heap reserved
   * at its 4 GiB cap (address space, not RAM) because a heap growth while its threads run can
   * hang the process under Deno; where that reservation fails it runs on 1 thread.
   */
  threads?: number;
}

/**
 * Runs `model` on `tokens` (prompts of any lengths ≤ n_ctx, right-padded into one batch) and
 * returns the requested activations keyed by TL hook name, TL-shaped: `[batch, pos, d_model]`,
 * `hook_q|k|v|z` `[batch, pos, head, d_head]`, `hook_attn_scores|pattern`
 * `[batch, head, query_pos, key_pos]` (scores divided by √d_head, masked `-Infinity`),
 * `hook_scale` `[batch, pos, 1]`, `logits` `[batch, nLogit, d_vocab]`. Positions past a prompt's
 * length are padding: computed, but never attended to by real positions.
 */
export async function runWithCache(
  model: Model,
  tokens: readonly (readonly number[])[],
  options: RunOptions = {},
): Promise<Map<string, Tensor>> {
  const keep = selectHooks(model.config, options.names);
  const batch = makeBatch(model.config, tokens, options.logitPositions ?? "all");
  const backend = options.backend ?? "onnx";
  if (backend === "reference") return await Promise.resolve(referenceForward(model, batch, keep));
  if (backend === "onnx") {
    // Loaded on first use: the reference backend never pulls in onnxruntime-web.
    const { initOrt, onnxForward } = await import("./onnx_session.ts");
    await initOrt(options.threads ?? DEFAULT_THREADS);
    return await onnxForward(model, batch, keep);
  }
  throw new RangeError(`backend '${backend}' is not one of: onnx, reference`);
}

/**
 * The backend to run: `requested` itself, or for `"auto"` onnxruntime-web where it can start
 * (its runtime loads and initialises), else the pure-TypeScript reference, with `warn` told why.
 * Both give the same activations (to float32 rounding); the reference is ≈ 10× slower.
 *
 * @example
 * ```ts ignore
 * import { chooseBackend, runWithCache } from "./mod.ts";
 * const backend = await chooseBackend("auto", (m) => console.error(`warning: ${m}`));
 * const cache = await runWithCache(model, [[464, 3290]], { backend });
 * ```
 */
export async function chooseBackend(
  requested: Backend | "auto",
  warn: (message: string) => void,
): Promise<Backend> {
  if (requested !== "auto") return requested;
  const { BackendUnavailableError, initOrt } = await import("./onnx_session.ts");
  try {
    await initOrt(DEFAULT_THREADS);
    return "onnx";
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error;
    warn(`${error.message}. Using the reference backend (same activations, about 10× slower)`);
    return "reference";
  }
}

/**
 * Frees the onnxruntime-web sessions cached for `model` (each holds a copy of the weights in
 * WebAssembly memory). Call it when a model is no longer run; the next run rebuilds them.
 */
export async function releaseSessions(model: Model): Promise<void> {
  const { releaseSessions: release } = await import("./onnx_session.ts");
  await release(model);
}
