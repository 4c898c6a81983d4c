/**
 * `svlens sweep MODEL --revisions ...`: SAD of the chosen heads over training checkpoints, with
 * the random-rotation control. Resumable (one atomically written record per revision in
 * `OUT/revisions/`); `--shard i/n` splits the revisions across machines; `--merge` gathers shard
 * records (from `--from DIR,...` and OUT, parameters taken from the records) into one report.
 *
 * Permissions (local checkpoint directories, default onnx backend): `--unstable-raw-imports
 * --allow-read=MODEL,OUT --allow-write=OUT` (`--merge`: `--allow-read=OUT,DIRS --allow-write=OUT`).
 * @module
 */
import { processWeights } from "../circuits/mod.ts";
import { ModelFormatError, SvlensError, UsageError } from "../errors.ts";
import { writeTextAtomic } from "../io/atomic_write.ts";
import { readTextIfExists } from "../io/exists.ts";
import { progress } from "../io/progress.ts";
import { isLocalDirectory, loadModel } from "../model/load.ts";
import { loadTokenizer } from "../model/tokenizer.ts";
import { checkOutputDir, type Figure, formatTable, writeRun } from "../report/mod.ts";
import { parameterDifferences, parseRecord } from "../sad/sweep.ts";
import {
  checkRecord,
  parseRevisions,
  parseShard,
  perOffsetForm,
  type RevisionRecord,
  sadOnIoi,
  shardRevisions,
  stepOf,
  sweepCurves,
} from "../sad/mod.ts";
import { parseCommandArgs } from "./_args.ts";
import { statCell } from "./_sad_report.ts";
import { type Backend, releaseSessions } from "../runtime/mod.ts";
import { modelArg, resolveBackend } from "./_options.ts";
import { biasForm, checkBias, SAD_OPTION_SPECS, sadOptions } from "./_sad_options.ts";
import { USAGE as SAD_USAGE } from "./sad.ts";

/** The usage text. */
export const USAGE: string = [
  "usage: svlens sweep MODEL --revisions step1000,step2000,...|pythia-all|pythia-130",
  "                    [--head L.H | --heads L.H,...|all] [--shard i/n] [--n 128] [--seed 0]",
  "                    [--tau 0.5|1/m] [--bias offset|augmented|source|destination]",
  "                    [--rotation-seed R] [--rotary residual|per-offset]",
  "                    [--backend onnx|reference] --out DIR [--json]",
  "       svlens sweep --merge [--from DIR,...] --out DIR [--revisions ...] [--json]",
  "",
  "  MODEL         a Hub id (revisions are Hub revisions) or a local directory whose",
  "                subdirectories are named by revision (MODEL/step1000/config.json, ...);",
  "                records and results name the model by its Hub id or by the directory's",
  "                name (ckpt for /data/ckpt), not by its path",
  "  --revisions   comma-separated, or pythia-all (154 checkpoints), pythia-130 (step14000..143000)",
  "  --head(s)     heads to decompose (default all)",
  "  --shard i/n   compute only every n-th revision starting at i (0 ≤ i < n)",
  "  --out DIR     DIR/revisions/REV.json per revision (a rerun from the same MODEL skips",
  "                those present), and DIR/results.json + report.html once every revision",
  "                is done",
  "  --merge       compute nothing: gather the records of DIR and of each --from DIR (the",
  "                shards' --out directories) into DIR/revisions and write the report. Takes no",
  "                MODEL and no SAD option: the model name and every parameter come from the",
  "                records, which must all agree (shards computed from copies of MODEL at",
  "                different paths merge). The revision list comes from the records too, or",
  "                from --revisions. Exits 1, naming them, if revisions have no record",
  "  other options as in svlens sad (--bias destination only with --rotary per-offset;",
  "                per-offset records carry the bias form in their parameters)",
].join("\n");

const OPTIONS = {
  ...SAD_OPTION_SPECS,
  revisions: { type: "string" },
  head: { type: "string" },
  heads: { type: "string" },
  shard: { type: "string" },
  merge: { type: "boolean" },
  from: { type: "string" },
} as const;

/** Options that choose what a sweep computes: refused with `--merge`, which reads the records. */
const COMPUTE_OPTIONS = [
  "n",
  "seed",
  "tau",
  "bias",
  "rotation-seed",
  "head-types",
  "rotary",
  "backend",
  "head",
  "heads",
  "shard",
] as const;

type Values = NonNullable<ReturnType<typeof parseCommandArgs<typeof OPTIONS>>>["values"];

/** What the report is built from: the sweep's parameters and its records in revision order. */
interface Gathered {
  /** Every parameter that changes the numbers (the records' `parametersKey`, parsed). */
  parameters: Record<string, unknown>;
  revisions: string[];
  records: RevisionRecord[];
  pending: string[];
}

async function readJson(path: string, revision: string): Promise<unknown> {
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new SvlensError(`${path} is not valid JSON; delete it to recompute ${revision}`);
  }
}

/** The record at `path` if there is one, computed with `key` from `source` (else throws). */
async function readRecord(
  path: string,
  revision: string,
  key: string,
  source: string,
): Promise<RevisionRecord | undefined> {
  const json = await readJson(path, revision);
  if (json === undefined) return undefined;
  const record = checkRecord(json, revision, key, path);
  if (record.modelSource !== undefined && record.modelSource !== source) {
    throw new SvlensError(
      `${path} was computed from ${record.modelSource}, not ${source}; use a new --out ` +
        "directory (records of the same sweep computed elsewhere are gathered with --merge)",
    );
  }
  return record;
}

/**
 * The name records give a local MODEL directory (`resolved` is its real path): its last path
 * component as given, so that shards computed from copies at different paths share their
 * parameters (`.` and `..` are named by the resolved path).
 */
function directoryName(modelId: string, resolved: string): string {
  const last = (path: string) => path.split(/[\\/]/).pop() ?? "";
  const name = last(modelId);
  return name === "" || name === "." || name === ".." ? last(resolved) : name;
}

/** Runs `svlens sweep` with the arguments after the command name; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const gathered = values.merge
    ? await merge(values, positionals)
    : await compute(values, positionals);
  const { parameters, revisions, records, pending } = gathered;
  const out = values.out!.replace(/\/+$/, "");
  const curves = sweepCurves(records);
  const summary = { revisions: revisions.length, done: records.length, pending };
  if (pending.length === 0) {
    await writeRun(out, {
      command: "sweep",
      title: `SAD over checkpoints: ${parameters.model}`,
      seed: parameters.seed as number,
      parameters: { ...parameters, revisions },
      summary,
      curves,
      figures: sweepFigures(curves),
    });
  }
  if (values.json) {
    console.log(JSON.stringify({ parameters: { ...parameters, revisions }, ...summary, curves }));
  } else {
    const rows = curves.flatMap((c) =>
      c.x.map((x, i) => [
        c.head,
        x,
        statCell(c.sparseness[i], 3),
        statCell(c.rotatedSparseness[i], 3),
        statCell(c.nRecon[i], 2),
        statCell(c.rotatedNRecon[i], 2),
      ])
    );
    console.log(formatTable(["head", "step", "S", "rot S", "N_recon", "rot N_recon"], rows));
    console.log(
      pending.length === 0
        ? `all ${revisions.length} revisions done; wrote ${out}/results.json, report.html`
        : `${records.length}/${revisions.length} revisions done; pending: ${pending.join(", ")}`,
    );
  }
  return 0;
}

/** Computes this shard's revisions that have no record yet; gathers every record of OUT. */
async function compute(values: Values, positionals: string[]): Promise<Gathered> {
  const modelId = modelArg(positionals, USAGE).replace(/\/+$/, "");
  if (values.revisions === undefined) throw new UsageError(`--revisions is required\n${USAGE}`);
  if (values.out === undefined) throw new UsageError(`--out DIR is required\n${USAGE}`);
  if (values.head !== undefined && values.heads !== undefined) {
    throw new UsageError("give --head or --heads, not both");
  }
  if (values.from !== undefined) {
    throw new UsageError(`--from names the shard directories of --merge\n${USAGE}`);
  }
  const revisions = parseRevisions(values.revisions);
  const shard = parseShard(values.shard);
  const { n, seed, rotationSeed, heads, tau, bias, headTypes, rotary, backend: requested } =
    sadOptions(
      values,
      { heads: values.head ?? values.heads, usage: USAGE, sadUsage: SAD_USAGE },
    );
  const out = values.out.replace(/\/+$/, "");
  await checkOutputDir(out, "sweep");
  const recordsDir = `${out}/revisions`;
  const modelIsDir = await isLocalDirectory(modelId);
  const source = modelIsDir ? await Deno.realPath(modelId) : modelId;
  // Everything that changes the numbers; the backend, sharding and MODEL's path do not.
  const parameters = {
    model: modelIsDir ? directoryName(modelId, source) : modelId,
    task: "ioi",
    n,
    seed,
    rotationSeed,
    heads: heads ? heads.map(([l, h]) => `${l}.${h}`) : "all",
    tau,
    bias,
    headTypes: headTypes ? Object.fromEntries(headTypes) : "default",
    rotary,
    // Per-offset once ignored --bias (every form was `destination`): records written then
    // carry no biasForm, so their key no longer matches and they are refused, not reused.
    ...(rotary === "per-offset"
      ? { biasForm: `${perOffsetForm(bias)} (models without rotary: ${biasForm(bias, rotary, 0)})` }
      : {}),
  };
  const key = JSON.stringify(parameters);

  const mine = shardRevisions(revisions, shard.index, shard.count);
  const bar = progress("sweep revisions", mine.length, { quiet: values.json === true });
  let skipped = 0;
  let backend: Backend | undefined; // resolved when a revision needs computing
  for (const revision of mine) {
    const path = `${recordsDir}/${revision}.json`;
    if (await readRecord(path, revision, key, source)) {
      skipped++;
      bar.tick(1, `${revision} (done before)`);
      continue;
    }
    const t0 = performance.now();
    const local = `${modelId}/${revision}`;
    if (modelIsDir && !(await isLocalDirectory(local))) {
      throw new ModelFormatError(
        `${local} does not exist: a local MODEL for a sweep must hold one subdirectory per ` +
          "revision (MODEL/step1000/config.json, ...)",
      );
    }
    const loaded = modelIsDir ? await loadModel(local) : await loadModel(modelId, { revision });
    const tokDir = loaded.tokenizer?.dir ?? (modelIsDir ? modelId : undefined);
    if (tokDir === undefined) {
      throw new ModelFormatError(`${modelId}@${revision} has no tokenizer files`);
    }
    const tokenizer = await loadTokenizer(tokDir);
    const model = processWeights(loaded, { inPlace: true });
    checkBias(bias, rotary, model.config.rotaryDim);
    const loadMs = performance.now() - t0;
    backend ??= await resolveBackend(requested);
    let result;
    try {
      result = await sadOnIoi(model, tokenizer, {
        n,
        seed,
        rotationSeed,
        heads,
        tau,
        bias,
        headTypes,
        rotary,
        backend,
      });
    } finally {
      // Each revision is a new model: its onnxruntime session (a copy of the weights in the one
      // ≤ 4 GiB heap) is not needed again.
      if (backend === "onnx") await releaseSessions(model);
    }
    const record: RevisionRecord = {
      kind: "svlens-sweep-revision",
      revision,
      step: stepOf(revision) ?? null,
      parametersKey: key,
      analysedPrompts: result.analysed.length,
      heads: result.heads.map((h) => h.summary),
      timings: { loadMs, ...result.timings },
      sweepRevisions: revisions,
      shard: `${shard.index}/${shard.count}`,
      modelSource: source,
    };
    await writeTextAtomic(path, JSON.stringify(record));
    bar.tick(1, revision);
  }
  bar.done(skipped ? `${skipped} already done` : "");

  // The report, once every revision has a record.
  const records: RevisionRecord[] = [];
  const pending: string[] = [];
  for (const revision of revisions) {
    const rec = await readRecord(`${recordsDir}/${revision}.json`, revision, key, source);
    if (rec) records.push(rec);
    else pending.push(revision);
  }
  return { parameters, revisions, records, pending };
}

/** One record found by a merge, and where. */
interface Found {
  record: RevisionRecord;
  path: string;
  dir: string;
}

/** The records in `dir/revisions` (none when that folder is absent and `optional`). */
async function recordsIn(dir: string, optional: boolean): Promise<Found[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${dir}/revisions`)) {
      const m = /^([A-Za-z0-9._-]+)\.json$/.exec(entry.name);
      if (entry.isFile && m) names.push(m[1]!);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    if (optional) return [];
    throw new SvlensError(
      `${dir}/revisions does not exist: --from takes the --out directories of the shards`,
    );
  }
  const found: Found[] = [];
  for (const revision of names.sort()) {
    const path = `${dir}/revisions/${revision}.json`;
    found.push({ record: parseRecord(await readJson(path, revision), revision, path), path, dir });
  }
  return found;
}

/** The revision list the records were computed for; all must carry the same one. */
function recordedRevisions(found: Found[]): string[] {
  const first = found[0]!;
  for (const f of found) {
    if (f.record.sweepRevisions === undefined) {
      throw new SvlensError(
        `${f.path} does not list its sweep's revisions (written by an earlier svlens); ` +
          "give the list with --revisions",
      );
    }
    if (JSON.stringify(f.record.sweepRevisions) !== JSON.stringify(first.record.sweepRevisions)) {
      throw new SvlensError(
        `${f.path} and ${first.path} belong to sweeps over different revision lists ` +
          `(${f.record.sweepRevisions.length} and ${first.record.sweepRevisions!.length} ` +
          "revisions); give the list to merge with --revisions",
      );
    }
  }
  return [...first.record.sweepRevisions!];
}

/** Shards (`i/n`) that compute `pending`, when the records say how the sweep was split. */
function missingShards(pending: string[], record: RevisionRecord): string[] {
  const m = /^(\d+)\/(\d+)$/.exec(record.shard ?? "");
  const count = Number(m?.[2]);
  const list = record.sweepRevisions;
  if (!m || !(count > 1) || !list) return [];
  const shards = new Set<number>();
  for (const revision of pending) {
    const i = list.indexOf(revision);
    if (i >= 0) shards.add(i % count);
  }
  return [...shards].sort((a, b) => a - b).map((i) => `${i}/${count}`);
}

/**
 * `--merge`: gathers the records of OUT and of the `--from` directories into OUT, checks that
 * they were computed with the same parameters and throws, listing them, when revisions are
 * missing.
 */
async function merge(values: Values, positionals: string[]): Promise<Gathered> {
  if (values.out === undefined) throw new UsageError(`--out DIR is required\n${USAGE}`);
  const extra = [
    ...positionals.map((p) => `MODEL (${p})`),
    ...COMPUTE_OPTIONS.filter((o) => values[o] !== undefined).map((o) => `--${o}`),
  ];
  if (extra.length > 0) {
    throw new UsageError(
      "--merge takes the model and every sweep parameter from the shard records (they must " +
        `agree); drop ${extra.join(", ")}\n${USAGE}`,
    );
  }
  const given = values.revisions === undefined ? undefined : parseRevisions(values.revisions);
  const out = values.out.replace(/\/+$/, "");
  await checkOutputDir(out, "sweep");
  const from = (values.from ?? "").split(",").map((d) => d.trim().replace(/\/+$/, ""))
    .filter((d) => d !== "" && d !== out);
  const sources = [out, ...new Set(from)];
  const all: Found[] = [];
  for (const dir of sources) all.push(...(await recordsIn(dir, dir === out)));
  if (all.length === 0) {
    throw new SvlensError(
      `no sweep records in ${sources.map((d) => `${d}/revisions`).join(", ")}; --from takes ` +
        "the --out directories of the shards",
    );
  }
  const revisions = given ?? recordedRevisions(all);
  const wanted = new Set(revisions);
  const relevant = all.filter((f) => wanted.has(f.record.revision));
  const first = relevant[0];
  for (const f of relevant) {
    if (f.record.parametersKey !== first!.record.parametersKey) {
      throw new SvlensError(
        `cannot merge ${f.path} and ${first!.path}: computed with different sweep parameters (${
          parameterDifferences(f.record.parametersKey, first!.record.parametersKey).join("; ")
        }); merge only the shards of one sweep`,
      );
    }
  }
  // The first record of each revision wins: OUT's own, then the --from directories in order.
  const byRevision = new Map<string, Found>();
  for (const f of relevant) {
    if (!byRevision.has(f.record.revision)) byRevision.set(f.record.revision, f);
  }
  const records: RevisionRecord[] = [];
  const pending: string[] = [];
  for (const revision of revisions) {
    const f = byRevision.get(revision);
    if (!f) {
      pending.push(revision);
      continue;
    }
    if (f.dir !== out) {
      await writeTextAtomic(`${out}/revisions/${revision}.json`, JSON.stringify(f.record));
    }
    records.push(f.record);
  }
  if (pending.length > 0) {
    const shards = first ? missingShards(pending, first.record) : [];
    throw new SvlensError(
      `merge incomplete, no report written: ${pending.length} of ${revisions.length} ` +
        `revisions have no record in ${sources.join(", ")}: ${pending.join(", ")}` +
        (shards.length > 0 ? ` (shard${shards.length > 1 ? "s" : ""} ${shards.join(", ")})` : "") +
        `; records found so far: ${records.length}, gathered in ${out}/revisions. Rerun ` +
        "--merge with --from the directories that hold the missing revisions, or compute them " +
        "(--shard)",
    );
  }
  let parameters: Record<string, unknown>;
  try {
    parameters = JSON.parse(first!.record.parametersKey);
  } catch {
    throw new SvlensError(`${first!.path} has unreadable parameters; recompute that revision`);
  }
  return { parameters, revisions, records, pending };
}

/** Sparseness and N_recon vs training step, SVD basis vs rotated basis. */
function sweepFigures(curves: ReturnType<typeof sweepCurves>): Figure[] {
  const line = (
    title: string,
    yLabel: string,
    svd: (c: (typeof curves)[number]) => number[],
    rot: (c: (typeof curves)[number]) => number[],
    caption: string,
  ): Figure => ({
    kind: "line",
    title,
    xLabel: "training step",
    yLabel,
    series: curves.flatMap((c) => [
      { name: `${c.head} SVD`, x: c.x, y: svd(c) },
      { name: `${c.head} rotated`, x: c.x, y: rot(c) },
    ]),
    caption,
  });
  return [
    line(
      "Mean sparseness S(c) vs training step",
      "mean S(c) (lower = sparser)",
      (c) => c.sparseness,
      (c) => c.rotatedSparseness,
      "The paper's claim: S(c) decreases over training in the SVD basis, not in a random rotation.",
    ),
    line(
      "Mean N_recon vs training step",
      "mean N_recon",
      (c) => c.nRecon,
      (c) => c.rotatedNRecon,
      "Components needed to reconstruct each firing's relative logit (ACC rule).",
    ),
  ];
}
