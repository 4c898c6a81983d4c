/**
 * Argument parsing shared by every subcommand: `node:util` `parseArgs` with its errors turned
 * into {@linkcode UsageError}s (exit 2) that carry the command's usage line.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

/** Options of one subcommand in `parseArgs` form. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` strictly against `options`; `--help` prints `usage` and returns `undefined`
 * (the caller exits 0). Unknown options and bad values throw a `UsageError` with the usage.
 */
export function parseCommandArgs<T extends OptionSpec>(
  args: string[],
  options: T,
  usage: string,
): {
  values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true }>>["values"];
  positionals: string[];
} | undefined {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return undefined;
  }
  try {
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage}`);
  }
}

/** Printed after the table when `--out` was not given (writing needs that permission). */
export const NO_OUT_NOTE =
  "nothing written: add --out DIR (and --allow-write=DIR --allow-read=DIR) for results.json, " +
  "arrays.safetensors and report.html";

/** Parses a non-negative integer option, naming the option in the error. */
export function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new UsageError(`--${name} must be a non-negative integer, got '${value}'`);
  }
  return n;
}

/** Parses `--heads 8.6,9.9` into `[layer, head]` pairs (`all` or absent → `undefined`). */
export function headsOption(value: string | undefined): Array<[number, number]> | undefined {
  if (value === undefined || value === "all") return undefined;
  return value.split(",").map((item) => {
    const m = /^(\d+)\.(\d+)$/.exec(item.trim());
    if (!m) {
      throw new UsageError(
        `--heads expects LAYER.HEAD items like 8.6,9.9 (or 'all'), got '${item}'`,
      );
    }
    return [Number(m[1]), Number(m[2])] as [number, number];
  });
}
