/**
 * Option checks shared by the model commands (`svd`, `cache`, `sad`, `sweep`): the one MODEL
 * positional, `--backend` and `--processing`.
 * @module
 */
import { TL_DEFAULT_PROCESSING } from "../circuits/process.ts";
import { UsageError } from "../errors.ts";
import { NO_PROCESSING, type Processing } from "../model/types.ts";
import { type Backend, chooseBackend } from "../runtime/mod.ts";

/** The single MODEL positional; a usage error (with `usage`) for none or several. */
export function modelArg(positionals: readonly string[], usage: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`expected exactly one MODEL, got ${positionals.length}\n${usage}`);
  }
  return positionals[0]!;
}

/**
 * Parses `--backend onnx|reference`; absent → `"auto"` (onnx where it can start, else the
 * reference, see `chooseBackend`); a usage error (with `usage`) otherwise.
 */
export function backendOption(value: string | undefined, usage: string): Backend | "auto" {
  if (value === undefined) return "auto";
  if (value !== "onnx" && value !== "reference") {
    throw new UsageError(`--backend must be onnx or reference, got '${value}'\n${usage}`);
  }
  return value;
}

/** `chooseBackend` with its warning on stderr (the CLI's form). */
export function resolveBackend(requested: Backend | "auto"): Promise<Backend> {
  return chooseBackend(requested, (message) => console.error(`warning: ${message}`));
}

/** Throws a usage error for a `--heads` entry the model (`nLayers` × `nHeads`) does not have. */
export function checkHeadsExist(
  heads: ReadonlyArray<readonly [number, number]> | undefined,
  config: { nLayers: number; nHeads: number },
  modelId: string,
): void {
  for (const [l, h] of heads ?? []) {
    if (l >= config.nLayers || h >= config.nHeads) {
      throw new UsageError(
        `--heads ${l}.${h} does not exist: ${modelId} has ${config.nLayers} layers × ` +
          `${config.nHeads} heads (layers 0–${config.nLayers - 1}, heads 0–${config.nHeads - 1})`,
      );
    }
  }
}

/** TransformerLens's `from_pretrained` flag names → svlens's processing fields. */
const PROCESSING_FLAGS: Readonly<Record<string, keyof Processing>> = {
  fold_ln: "foldLayerNorm",
  center_writing_weights: "centerWritingWeights",
  center_unembed: "centerUnembed",
  fold_value_biases: "foldValueBiases",
};

/**
 * Parses `--processing` (TransformerLens's flag names, comma-separated, or `none` / `default`)
 * together with `--raw` (= none). Default: TransformerLens's default, all four on.
 */
export function processingOption(
  value: string | undefined,
  raw: boolean | undefined,
  usage: string,
): Processing {
  if (raw && value !== undefined && value !== "none") {
    throw new UsageError(`--raw means --processing none; got both --raw and --processing ${value}`);
  }
  if (raw || value === "none") return { ...NO_PROCESSING };
  if (value === undefined || value === "default") return { ...TL_DEFAULT_PROCESSING };
  const chosen = { ...NO_PROCESSING };
  for (const item of value.split(",").map((s) => s.trim())) {
    const field = PROCESSING_FLAGS[item];
    if (field === undefined) {
      throw new UsageError(
        `--processing takes ${Object.keys(PROCESSING_FLAGS).join(", ")} (comma-separated), ` +
          `none or default; got '${item}'\n${usage}`,
      );
    }
    chosen[field] = true;
  }
  return chosen;
}

/** A processing record as TransformerLens flag names (for results and summaries). */
export function processingNames(processing: Processing): string {
  const on = Object.entries(PROCESSING_FLAGS).filter(([, field]) => processing[field]);
  return on.length === 0 ? "none" : on.map(([name]) => name).join(",");
}
