/**
 * Checkpoint sweeps (method.md §4.8): revision lists (Pythia's 154 checkpoints and the
 * 130-checkpoint subset), sharding, the per-revision record written by `svlens sweep`, and the
 * sparseness-vs-step curves built from the records.
 * @module
 */
import { SvlensError, UsageError } from "../errors.ts";
import type { HeadSummary } from "./summary.ts";

/** Pythia's 154 checkpoints: step0, 1, 2, 4, …, 512, then step1000 … step143000 every 1000. */
export const PYTHIA_ALL_REVISIONS: readonly string[] = Object.freeze([
  "step0",
  ...Array.from({ length: 10 }, (_, i) => `step${2 ** i}`),
  ...Array.from({ length: 143 }, (_, i) => `step${(i + 1) * 1000}`),
]);

/** The 130-checkpoint subset used here (method.md §4.8's consistent choice): step14000…143000. */
export const PYTHIA_130_REVISIONS: readonly string[] = Object.freeze(
  Array.from({ length: 130 }, (_, i) => `step${(i + 14) * 1000}`),
);

/** Parses `--revisions`: `pythia-all`, `pythia-130`, or a comma-separated list. */
export function parseRevisions(spec: string): string[] {
  if (spec === "pythia-all") return [...PYTHIA_ALL_REVISIONS];
  if (spec === "pythia-130") return [...PYTHIA_130_REVISIONS];
  const list = spec.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw new UsageError("--revisions is empty: give e.g. step1000,step2000");
  const bad = list.find((r) => !/^[A-Za-z0-9._-]+$/.test(r));
  if (bad !== undefined) {
    throw new UsageError(`--revisions: '${bad}' is not a revision name (letters, digits, . _ -)`);
  }
  if (new Set(list).size !== list.length) {
    throw new UsageError(`--revisions lists a revision twice: ${spec}`);
  }
  return list;
}

/** The training step of a revision (`step1000` → 1000), or `undefined` for other names. */
export function stepOf(revision: string): number | undefined {
  const m = /^step(\d+)$/.exec(revision);
  return m ? Number(m[1]) : undefined;
}

/** Parses `--shard i/n` (0 ≤ i < n). */
export function parseShard(spec: string | undefined): { index: number; count: number } {
  if (spec === undefined) return { index: 0, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) {
    throw new UsageError(`--shard expects i/n with 0 ≤ i < n (e.g. 0/4), got '${spec}'`);
  }
  return { index, count };
}

/** The revisions of shard `index` of `count`: every count-th revision, starting at `index`. */
export function shardRevisions(
  revisions: readonly string[],
  index: number,
  count: number,
): string[] {
  return revisions.filter((_, i) => i % count === index);
}

/** What `svlens sweep` writes per revision (`OUT/revisions/REV.json`). */
export interface RevisionRecord {
  /** Format marker. */
  kind: "svlens-sweep-revision";
  /** The revision name. */
  revision: string;
  /** Training step, or null. */
  step: number | null;
  /** The sweep parameters this record was computed with (must match to be reused). */
  parametersKey: string;
  /** Prompts analysed. */
  analysedPrompts: number;
  /** Per-head summaries. */
  heads: HeadSummary[];
  /** Milliseconds spent loading, in the forward pass and in the decompositions. */
  timings: { loadMs: number; forwardMs: number; decompositionMs: number };
  /**
   * Every revision of the sweep the record was computed for (`--merge` takes the revision list
   * from here when `--revisions` is not given); absent in records of earlier svlens versions.
   */
  sweepRevisions?: string[];
  /** The shard that computed the record, `i/n` (`0/1` unsharded); absent in earlier records. */
  shard?: string;
  /**
   * Where the checkpoints were read from: the Hub id, or the local MODEL directory's resolved
   * path. Not a parameter: a resumed sweep reuses only records of the same MODEL, but shards
   * computed from copies at other paths merge. Absent in earlier records.
   */
  modelSource?: string;
}

/**
 * Checks that `value` (read from `path`) has the shape of a sweep record for `revision`, whatever
 * its parameters; throws otherwise.
 */
export function parseRecord(value: unknown, revision: string, path: string): RevisionRecord {
  const r = value as Partial<RevisionRecord> | null;
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
  if (
    !r || r.kind !== "svlens-sweep-revision" || r.revision !== revision ||
    !Array.isArray(r.heads) || typeof r.parametersKey !== "string" ||
    (r.sweepRevisions !== undefined && !strings(r.sweepRevisions)) ||
    (r.shard !== undefined && typeof r.shard !== "string") ||
    (r.modelSource !== undefined && typeof r.modelSource !== "string")
  ) {
    throw new SvlensError(
      `${path} is not an svlens sweep record for ${revision}; delete it to recompute`,
    );
  }
  return r as RevisionRecord;
}

function show(value: unknown): string {
  return value === undefined ? "absent" : JSON.stringify(value);
}

/**
 * The sweep parameters that differ between two parameter keys (`RevisionRecord.parametersKey`),
 * each as `name: A vs B`.
 *
 * @example
 * ```ts
 * import { parameterDifferences } from "./sweep.ts";
 * parameterDifferences('{"n":8,"seed":0}', '{"n":16,"seed":0}'); // ["n: 8 vs 16"]
 * ```
 */
export function parameterDifferences(a: string, b: string): string[] {
  let pa: Record<string, unknown>, pb: Record<string, unknown>;
  try {
    pa = JSON.parse(a);
    pb = JSON.parse(b);
  } catch {
    return a === b ? [] : [`parametersKey: ${a} vs ${b}`];
  }
  const names = [...new Set([...Object.keys(pa ?? {}), ...Object.keys(pb ?? {})])];
  return names
    .filter((k) => JSON.stringify(pa?.[k]) !== JSON.stringify(pb?.[k]))
    .map((k) => `${k}: ${show(pa?.[k])} vs ${show(pb?.[k])}`);
}

/**
 * Checks that `value` is a record of this sweep (by `parametersKey`); throws otherwise, naming
 * the parameters that differ.
 */
export function checkRecord(
  value: unknown,
  revision: string,
  key: string,
  path: string,
): RevisionRecord {
  const r = parseRecord(value, revision, path);
  if (r.parametersKey !== key) {
    throw new SvlensError(
      `${path} was computed with different sweep parameters (record vs this run: ${
        parameterDifferences(r.parametersKey, key).join("; ")
      }); use a new --out directory or delete the revisions/ folder`,
    );
  }
  return r;
}

/** Per-head curves over revisions: x = step (or index), mean sparseness / N_recon per basis. */
export interface SweepCurve {
  /** Head "L.H". */
  head: string;
  /** Steps (revision order). */
  x: number[];
  /** Mean sparseness in the SVD basis. */
  sparseness: number[];
  /** Mean sparseness in the rotated basis. */
  rotatedSparseness: number[];
  /** Mean N_recon in the SVD basis. */
  nRecon: number[];
  /** Mean N_recon in the rotated basis. */
  rotatedNRecon: number[];
}

/** Builds the per-head curves from records given in revision order (NaN where a head had no firings). */
export function sweepCurves(records: readonly RevisionRecord[]): SweepCurve[] {
  const heads = [...new Set(records.flatMap((r) => r.heads.map((h) => h.head)))];
  return heads.map((head) => {
    const c: SweepCurve = {
      head,
      x: [],
      sparseness: [],
      rotatedSparseness: [],
      nRecon: [],
      rotatedNRecon: [],
    };
    records.forEach((r, i) => {
      const h = r.heads.find((s) => s.head === head);
      if (!h) return;
      c.x.push(r.step ?? i);
      // A head with no analysed firings has NaN means, stored as null in the JSON record.
      const value = (v: number | null) => v ?? NaN;
      c.sparseness.push(value(h.svd.meanSparseness));
      c.rotatedSparseness.push(value(h.rotated.meanSparseness));
      c.nRecon.push(value(h.svd.meanNRecon));
      c.rotatedNRecon.push(value(h.rotated.meanNRecon));
    });
    return c;
  });
}
