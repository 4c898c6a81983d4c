/**
 * Option checks shared by the model commands (`cache`, `sad`, `sweep`): the one MODEL
 * positional and `--backend`.
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Backend } from "../runtime/mod.ts";

/** The single MODEL positional; a usage error (with `usage`) for none or several. */
export function modelArg(positionals: readonly string[], usage: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`expected exactly one MODEL, got ${positionals.length}\n${usage}`);
  }
  return positionals[0]!;
}

/** Parses `--backend onnx|reference` (default `onnx`); a usage error (with `usage`) otherwise. */
export function backendOption(value: string | undefined, usage: string): Backend {
  const backend = value ?? "onnx";
  if (backend !== "onnx" && backend !== "reference") {
    throw new UsageError(`--backend must be onnx or reference, got '${backend}'\n${usage}`);
  }
  return backend;
}
