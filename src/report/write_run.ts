/**
 * `writeRun`: the one place every computing command writes its outputs.
 * @module
 */
import { writeFileAtomic, writeTextAtomic } from "../io/atomic_write.ts";
import { SCHEMA_VERSION, VERSION } from "../version.ts";
import { encodeSafetensors } from "../model/safetensors.ts";
import { SvlensError } from "../errors.ts";
import { renderReport } from "./html.ts";
import type { ArrayEntry, RunResults, StoredResults } from "./types.ts";

/** File names inside a run directory. */
export const RUN_FILES = {
  results: "results.json",
  arrays: "arrays.safetensors",
  report: "report.html",
} as const;

/** Adds the envelope (`schemaVersion`, `svlensVersion`, `createdAt`, the array index). */
export function storeResults(
  results: RunResults,
  arrays?: Record<string, ArrayEntry>,
  now: Date = new Date(),
): StoredResults {
  const stored: StoredResults = {
    schemaVersion: SCHEMA_VERSION,
    svlensVersion: VERSION,
    createdAt: now.toISOString(),
    ...results,
  };
  // The envelope always wins over same-named keys in `results`.
  stored.schemaVersion = SCHEMA_VERSION;
  stored.svlensVersion = VERSION;
  stored.createdAt = now.toISOString();
  if (arrays && Object.keys(arrays).length > 0) {
    stored.arrays = Object.fromEntries(
      Object.entries(arrays).map(([k, v]) => [
        k,
        { dtype: v.data instanceof Float64Array ? "F64" : "F32", shape: [...v.shape] },
      ]),
    );
  } else delete stored.arrays;
  return stored;
}

function encodeArrays(arrays: Record<string, ArrayEntry>, stored: StoredResults): Uint8Array {
  const tensors = Object.fromEntries(
    Object.entries(arrays).map(([name, { shape, data }]) => {
      const count = shape.reduce((a, b) => a * b, 1);
      if (count !== data.length || !shape.every((n) => Number.isInteger(n) && n >= 0)) {
        throw new SvlensError(
          `array '${name}' has shape [${shape.join(", ")}] (${count} values) but ${data.length} ` +
            "values; pass a shape whose product is the data length",
        );
      }
      const dtype = data instanceof Float64Array ? "F64" as const : "F32" as const;
      return [name, { dtype, shape, data }];
    }),
  );
  return encodeSafetensors(tensors, {
    svlensVersion: VERSION,
    command: stored.command,
    createdAt: stored.createdAt,
  });
}

/**
 * Throws unless read and write permission on `dir` are granted (asked without a prompt): what an
 * atomic write into `dir` needs, the rename included.
 */
export function assertWritable(dir: string, command: string): void {
  for (const name of ["read", "write"] as const) {
    if (Deno.permissions.querySync({ name, path: dir }).state !== "granted") {
      throw new SvlensError(
        `svlens ${command} writes its results to ${dir} and needs --allow-read=${dir} ` +
          `--allow-write=${dir} (read too: the atomic rename needs it); ${name} is not granted`,
      );
    }
  }
}

/**
 * Checks, before any work, that a run can be written to `dir`: read and write permission on it
 * (asked without a prompt; the atomic rename needs both), `dir` not a file, and none of the
 * run's files a directory. Throws SvlensError naming the problem and the fix.
 */
export async function checkOutputDir(dir: string, command: string): Promise<void> {
  assertWritable(dir, command);
  const kind = async (path: string) => {
    try {
      return (await Deno.stat(path)).isDirectory ? "directory" : "file";
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "none";
      throw error;
    }
  };
  if (await kind(dir) === "file") {
    throw new SvlensError(`--out ${dir} is a file; give a directory (it is created if missing)`);
  }
  for (const file of Object.values(RUN_FILES)) {
    const path = `${dir.replace(/\/+$/, "")}/${file}`;
    if (await kind(path) === "directory") {
      throw new SvlensError(`${path} is a directory; remove it or choose another --out`);
    }
  }
}

/**
 * Writes `DIR/results.json`, `DIR/arrays.safetensors` (only when `arrays` has entries) and
 * `DIR/report.html`, each atomically (temporary file + rename), after {@linkcode checkOutputDir} so that all
 * three are replaced or none. Needs read and write permission on `dir` (the rename needs read).
 * NaN and ±Infinity become `null` in results.json (JSON has no such numbers).
 *
 * @example
 * ```ts ignore
 * await writeRun("out/toy", {
 *   command: "toy", title: "Toy model", seed: 1, parameters: {}, summary: { loss: 0.1 },
 *   figures: [{ kind: "table", title: "t", columns: ["a"], rows: [[1]] }],
 * }, { "W": { shape: [2, 2], data: new Float32Array(4) } });
 * ```
 */
export async function writeRun(
  dir: string,
  results: RunResults,
  arrays?: Record<string, ArrayEntry>,
): Promise<void> {
  const stored = storeResults(results, arrays);
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  // Encode everything first so a bad array fails before any file is replaced.
  const tensorBytes = stored.arrays ? encodeArrays(arrays!, stored) : undefined;
  const json = `${JSON.stringify(stored, null, 2)}\n`;
  const html = renderReport(JSON.parse(json) as StoredResults);
  // All three files are replaced or none: a blocked target stops the run before the first.
  await checkOutputDir(dir, results.command);
  await Deno.mkdir(base, { recursive: true });
  if (tensorBytes) await writeFileAtomic(base + RUN_FILES.arrays, tensorBytes);
  await writeTextAtomic(base + RUN_FILES.results, json);
  await writeTextAtomic(base + RUN_FILES.report, html);
}
