/**
 * `svlens report DIR`: re-renders `DIR/report.html` from `DIR/results.json` (e.g. after an
 * svlens upgrade improved the plots). Permissions: `--allow-read=DIR --allow-write=DIR`.
 * @module
 */
import { SvlensError, UsageError } from "../errors.ts";
import { parseCommandArgs } from "./_args.ts";
import { writeTextAtomic } from "../io/atomic_write.ts";
import { readTextIfExists } from "../io/exists.ts";
import { parseResults, renderReport, RUN_FILES } from "../report/mod.ts";

/** Usage text of `svlens report`. */
export const USAGE: string = [
  "usage: svlens report DIR [--json]",
  "",
  "Re-renders DIR/report.html from DIR/results.json (the numbers are not recomputed).",
  '  --json   print {"report": PATH, "figures": N} on stdout instead of a sentence',
  "",
  "Deno permissions: --allow-read=DIR --allow-write=DIR",
].join("\n");

/** Runs `svlens report` with the arguments after the command name; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { json: { type: "boolean" } }, USAGE);
  if (parsed === undefined) return 0;
  const [dir, ...extra] = parsed.positionals;
  if (dir === undefined || extra.length > 0) {
    throw new UsageError(
      `${
        dir === undefined ? "missing DIR" : `expected one DIR, got ${parsed.positionals.length}`
      }\n${USAGE}`,
    );
  }
  const base = dir.replace(/\/+$/, "") || "/";
  const resultsPath = `${base}/${RUN_FILES.results}`;
  const text = await readTextIfExists(resultsPath);
  if (text === undefined) {
    throw new SvlensError(
      `no ${RUN_FILES.results} in '${dir}'; pass the directory a toy/svd/sad/sweep run wrote (its --out)`,
    );
  }
  const results = parseResults(text, resultsPath);
  const reportPath = `${base}/${RUN_FILES.report}`;
  await writeTextAtomic(reportPath, renderReport(results));
  if (parsed.values.json) {
    console.log(JSON.stringify({ report: reportPath, figures: results.figures.length }));
  } else console.log(`wrote ${reportPath} (${results.figures.length} figures)`);
  return 0;
}
