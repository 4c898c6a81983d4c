/**
 * `svlens sweep MODEL --revisions ...`: SAD of the chosen heads over training checkpoints, with
 * the random-rotation control. Resumable (one atomically written record per revision in
 * `OUT/revisions/`); `--shard i/n` splits the revisions across machines; `--merge` gathers shard
 * records (from `--from DIR,...` and OUT) into one report.
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
import { type Figure, formatTable, writeRun } from "../report/mod.ts";
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
import { modelArg } from "./_options.ts";
import { biasForm, checkBias, SAD_OPTION_SPECS, sadOptions } from "./_sad_options.ts";
import { USAGE as SAD_USAGE } from "./sad.ts";

/** The usage text. */
export const USAGE: string = [
  "usage: svlens sweep MODEL --revisions step1000,step2000,...|pythia-all|pythia-130",
  "                    [--head L.H | --heads L.H,...|all] [--shard i/n] [--n 128] [--seed 0]",
  "                    [--tau 0.5|1/m] [--bias offset|augmented|source|destination]",
  "                    [--rotation-seed R] [--rotary residual|per-offset]",
  "                    [--backend onnx|reference] --out DIR [--json]",
  "       svlens sweep MODEL --revisions ... --merge [--from DIR,...] --out DIR [--json]",
  "",
  "  MODEL         a Hub id (revisions are Hub revisions) or a local directory whose",
  "                subdirectories are named by revision (MODEL/step1000/config.json, ...)",
  "  --revisions   comma-separated, or pythia-all (154 checkpoints), pythia-130 (step14000..143000)",
  "  --head(s)     heads to decompose (default all)",
  "  --shard i/n   compute only every n-th revision starting at i (0 ≤ i < n)",
  "  --out DIR     DIR/revisions/REV.json per revision (a rerun skips those present), and",
  "                DIR/results.json + report.html once every revision is done",
  "  --merge       compute nothing: copy records from --from DIRs into DIR, write the report",
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

async function readRecord(
  path: string,
  revision: string,
  key: string,
): Promise<RevisionRecord | undefined> {
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SvlensError(`${path} is not valid JSON; delete it to recompute ${revision}`);
  }
  return checkRecord(json, revision, key, path);
}

/** Runs `svlens sweep` with the arguments after the command name; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const modelId = modelArg(positionals, USAGE).replace(/\/+$/, "");
  if (values.revisions === undefined) throw new UsageError(`--revisions is required\n${USAGE}`);
  if (values.out === undefined) throw new UsageError(`--out DIR is required\n${USAGE}`);
  if (values.head !== undefined && values.heads !== undefined) {
    throw new UsageError("give --head or --heads, not both");
  }
  const revisions = parseRevisions(values.revisions);
  const shard = parseShard(values.shard);
  const { n, seed, rotationSeed, heads, tau, bias, headTypes, rotary, backend } = sadOptions(
    values,
    { heads: values.head ?? values.heads, usage: USAGE, sadUsage: SAD_USAGE },
  );
  const out = values.out.replace(/\/+$/, "");
  const recordsDir = `${out}/revisions`;
  // Everything that changes the numbers; the backend and sharding do not.
  const parameters = {
    model: modelId,
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

  if (values.merge) {
    for (const dir of (values.from ?? "").split(",").filter((s) => s.trim() !== "")) {
      for (const revision of revisions) {
        const rec = await readRecord(
          `${dir.replace(/\/+$/, "")}/revisions/${revision}.json`,
          revision,
          key,
        );
        if (rec) await writeTextAtomic(`${recordsDir}/${revision}.json`, JSON.stringify(rec));
      }
    }
  } else {
    const mine = shardRevisions(revisions, shard.index, shard.count);
    const bar = progress("sweep revisions", mine.length, { quiet: values.json === true });
    let skipped = 0;
    let modelIsDir: boolean | undefined; // stat once, on the first revision to compute
    for (const revision of mine) {
      const path = `${recordsDir}/${revision}.json`;
      if (await readRecord(path, revision, key)) {
        skipped++;
        bar.tick(1, `${revision} (done before)`);
        continue;
      }
      const t0 = performance.now();
      const local = `${modelId}/${revision}`;
      modelIsDir ??= await isLocalDirectory(modelId);
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
      const result = await sadOnIoi(model, tokenizer, {
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
      const record: RevisionRecord = {
        kind: "svlens-sweep-revision",
        revision,
        step: stepOf(revision) ?? null,
        parametersKey: key,
        analysedPrompts: result.analysed.length,
        heads: result.heads.map((h) => h.summary),
        timings: { loadMs, ...result.timings },
      };
      await writeTextAtomic(path, JSON.stringify(record));
      bar.tick(1, revision);
    }
    bar.done(skipped ? `${skipped} already done` : "");
  }

  // The report, once every revision has a record.
  const records: RevisionRecord[] = [];
  const pending: string[] = [];
  for (const revision of revisions) {
    const rec = await readRecord(`${recordsDir}/${revision}.json`, revision, key);
    if (rec) records.push(rec);
    else pending.push(revision);
  }
  const curves = sweepCurves(records);
  const summary = { revisions: revisions.length, done: records.length, pending };
  if (pending.length === 0) {
    await writeRun(out, {
      command: "sweep",
      title: `SAD over checkpoints: ${modelId}`,
      seed,
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
