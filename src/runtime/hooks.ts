/**
 * TransformerLens hook names a forward pass can capture, and the name filter that decides which
 * of them are kept (`names` of {@linkcode runWithCache}, `--names` of `svlens cache`).
 * @module
 */
import type { ModelConfig } from "../model/types.ts";

/** Which hooks to keep: exact names or `*` globs (`blocks.*.attn.hook_pattern`), or a RegExp. */
export type HookFilter = readonly string[] | RegExp;

/**
 * Every hook name the forward pass of a model with `config` emits, in execution order.
 * GPT-2 has `hook_pos_embed` and `hook_resid_mid`; rotary models add `attn.hook_rot_q|k`.
 *
 * @example
 * ```ts ignore
 * hookNames(config).filter((n) => n.endsWith("hook_pattern"));
 * ```
 */
export function hookNames(config: ModelConfig): string[] {
  const names = ["hook_embed"];
  if (config.rotaryDim === 0) names.push("hook_pos_embed");
  for (let l = 0; l < config.nLayers; l++) {
    const p = `blocks.${l}.`;
    names.push(
      `${p}hook_resid_pre`,
      `${p}ln1.hook_scale`,
      `${p}ln1.hook_normalized`,
      `${p}attn.hook_q`,
      `${p}attn.hook_k`,
      `${p}attn.hook_v`,
    );
    if (config.rotaryDim > 0) names.push(`${p}attn.hook_rot_q`, `${p}attn.hook_rot_k`);
    names.push(
      `${p}attn.hook_attn_scores`,
      `${p}attn.hook_pattern`,
      `${p}attn.hook_z`,
      `${p}hook_attn_out`,
    );
    if (!config.parallelResidual) names.push(`${p}hook_resid_mid`);
    names.push(
      `${p}ln2.hook_scale`,
      `${p}ln2.hook_normalized`,
      `${p}mlp.hook_pre`,
      `${p}mlp.hook_post`,
      `${p}hook_mlp_out`,
      `${p}hook_resid_post`,
    );
  }
  names.push("ln_final.hook_scale", "ln_final.hook_normalized", "logits");
  return names;
}

/** Compiles a filter into a predicate; `undefined` keeps every hook. */
export function hookPredicate(filter: HookFilter | undefined): (name: string) => boolean {
  if (filter === undefined) return () => true;
  if (filter instanceof RegExp) return (name) => new RegExp(filter.source, filter.flags).test(name);
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const pattern of filter) {
    if (pattern.includes("*")) {
      const body = pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
      globs.push(new RegExp(`^${body.join(".*")}$`));
    } else exact.add(pattern);
  }
  return (name) => exact.has(name) || globs.some((g) => g.test(name));
}

/**
 * Resolves a filter against `config`'s hooks; throws a `RangeError` naming a pattern that matches
 * nothing (a typo would otherwise silently capture nothing).
 */
export function selectHooks(config: ModelConfig, filter: HookFilter | undefined): Set<string> {
  const all = hookNames(config);
  if (filter !== undefined && !(filter instanceof RegExp)) {
    for (const pattern of filter) {
      const one = hookPredicate([pattern]);
      if (!all.some(one)) {
        throw new RangeError(
          `hook pattern '${pattern}' matches no hook of this ${config.architecture} model; ` +
            `names look like 'blocks.0.ln1.hook_normalized' or 'blocks.*.attn.hook_pattern'`,
        );
      }
    }
  }
  const keep = hookPredicate(filter);
  return new Set(all.filter(keep));
}
