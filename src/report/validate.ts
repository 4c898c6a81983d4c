/**
 * Runtime checks of a `results.json` read back from disk (`svlens report DIR`), so a bad file
 * fails with a message naming the field, the value and the fix instead of a broken page.
 * The JSON Schema in `schema/results.schema.json` is the published contract; tests keep the two
 * in agreement.
 * @module
 */
import { SvlensError } from "../errors.ts";
import { SCHEMA_VERSION } from "../version.ts";
import type { StoredResults } from "./types.ts";

/** `results.json` is not valid JSON or not a results file of this schema version. */
export class ResultsFormatError extends SvlensError {}

type Obj = Record<string, unknown>;

const COMMANDS = ["toy", "svd", "sad", "sweep"];

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

class Checker {
  constructor(readonly file: string) {}

  fail(path: string, problem: string, value: unknown): never {
    throw new ResultsFormatError(
      `${this.file}: ${path} ${problem} (got ${show(value)}); ` +
        "regenerate it with the svlens command that wrote it, or fix the field",
    );
  }

  str(o: Obj, key: string, path: string, optional = false): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== "string") this.fail(`${path}.${key}`, "must be a string", v);
  }

  strArray(o: Obj, key: string, path: string): string[] {
    const v = o[key];
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
      this.fail(`${path}.${key}`, "must be an array of strings", v);
    }
    return v as string[];
  }

  numArray(v: unknown, path: string): number[] {
    if (!Array.isArray(v) || !v.every((n) => typeof n === "number" || n === null)) {
      this.fail(path, "must be an array of numbers (null for NaN)", v);
    }
    return v as number[];
  }

  bool(o: Obj, key: string, path: string): void {
    if (o[key] !== undefined && typeof o[key] !== "boolean") {
      this.fail(`${path}.${key}`, "must be true or false", o[key]);
    }
  }

  series(o: Obj, path: string, fields: string[]): Obj[] {
    const s = o.series;
    if (!Array.isArray(s)) this.fail(`${path}.series`, "must be an array", s);
    return s.map((item, i) => {
      const p = `${path}.series[${i}]`;
      if (!isObj(item)) this.fail(p, "must be an object", item);
      this.str(item, "name", p);
      for (const f of fields) this.numArray(item[f], `${p}.${f}`);
      return item;
    });
  }

  figure(f: unknown, path: string): void {
    if (!isObj(f)) this.fail(path, "must be a figure object", f);
    this.str(f, "title", path);
    this.str(f, "caption", path, true);
    switch (f.kind) {
      case "heatmap": {
        this.str(f, "xLabel", path);
        this.str(f, "yLabel", path);
        const x = this.strArray(f, "x", path);
        const y = this.strArray(f, "y", path);
        const values = f.values;
        if (!Array.isArray(values) || values.length !== y.length) {
          this.fail(
            `${path}.values`,
            `must be an array of ${y.length} rows (one per y label)`,
            values,
          );
        }
        values.forEach((row, i) => {
          const r = this.numArray(row, `${path}.values[${i}]`);
          if (r.length !== x.length) {
            this.fail(
              `${path}.values[${i}]`,
              `must have ${x.length} values (one per x label)`,
              row,
            );
          }
        });
        this.bool(f, "diverging", path);
        return;
      }
      case "line":
        this.str(f, "xLabel", path);
        this.str(f, "yLabel", path);
        this.series(f, path, ["x", "y"]).forEach((s, i) => {
          if ((s.x as number[]).length !== (s.y as number[]).length) {
            this.fail(`${path}.series[${i}]`, "must have as many y values as x values", s);
          }
        });
        this.bool(f, "logX", path);
        this.bool(f, "logY", path);
        return;
      case "bar": {
        this.str(f, "xLabel", path);
        this.str(f, "yLabel", path);
        const cats = this.strArray(f, "categories", path);
        this.series(f, path, ["values"]).forEach((s, i) => {
          if ((s.values as number[]).length !== cats.length) {
            this.fail(`${path}.series[${i}].values`, `must have ${cats.length} values`, s.values);
          }
        });
        this.bool(f, "logY", path);
        return;
      }
      case "grid":
        if (!Number.isInteger(f.columns) || (f.columns as number) < 1) {
          this.fail(`${path}.columns`, "must be a positive integer", f.columns);
        }
        if (!Array.isArray(f.cells)) this.fail(`${path}.cells`, "must be an array", f.cells);
        f.cells.forEach((c, i) => this.figure(c, `${path}.cells[${i}]`));
        return;
      case "table":
        this.strArray(f, "columns", path);
        if (
          !Array.isArray(f.rows) || !f.rows.every((r) =>
            Array.isArray(r) &&
            r.every((v) => typeof v === "string" || typeof v === "number" || v === null)
          )
        ) this.fail(`${path}.rows`, "must be an array of rows of strings/numbers", f.rows);
        return;
      default:
        this.fail(`${path}.kind`, "must be one of heatmap, line, bar, grid, table", f.kind);
    }
  }
}

/**
 * Parses and checks the text of a `results.json` (`file` names it in errors); throws
 * {@linkcode ResultsFormatError} naming the first bad field.
 */
export function parseResults(text: string, file = "results.json"): StoredResults {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ResultsFormatError(
      `${file} is not valid JSON (${(error as Error).message}); ` +
        "rerun the svlens command that wrote it",
    );
  }
  return checkResults(value, file);
}

/** Checks an already parsed results object; see {@linkcode parseResults}. */
export function checkResults(value: unknown, file = "results.json"): StoredResults {
  const c: Checker = new Checker(file);
  if (!isObj(value)) c.fail("the top level", "must be a JSON object", value);
  const v = value.schemaVersion;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    c.fail("schemaVersion", "must be an integer (is this an svlens results.json?)", v);
  }
  if (v !== SCHEMA_VERSION) {
    throw new ResultsFormatError(
      `${file} has schemaVersion ${v} but this svlens reads schemaVersion ${SCHEMA_VERSION}; ` +
        (v > SCHEMA_VERSION ? "upgrade svlens" : "rerun the command with this svlens"),
    );
  }
  c.str(value, "svlensVersion", "");
  c.str(value, "createdAt", "");
  c.str(value, "title", "");
  if (!COMMANDS.includes(value.command as string)) {
    c.fail("command", `must be one of ${COMMANDS.join(", ")}`, value.command);
  }
  if (value.seed !== undefined && !Number.isInteger(value.seed)) {
    c.fail("seed", "must be an integer", value.seed);
  }
  for (const key of ["parameters", "summary"]) {
    if (!isObj(value[key])) c.fail(key, "must be an object", value[key]);
  }
  if (value.arrays !== undefined && !isObj(value.arrays)) {
    c.fail("arrays", "must be an object (name -> {dtype, shape})", value.arrays);
  }
  if (!Array.isArray(value.figures)) c.fail("figures", "must be an array", value.figures);
  value.figures.forEach((f, i) => c.figure(f, `figures[${i}]`));
  return value as StoredResults;
}
