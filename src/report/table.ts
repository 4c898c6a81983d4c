/**
 * Plain-text tables for the terminal summary (stdout).
 * @module
 */
import { fmt } from "./_svg_util.ts";

/**
 * Formats `rows` under `columns` as an aligned plain-text table: numbers right-aligned and
 * shortened to 4 significant digits, text left-aligned, a rule under the header.
 *
 * @example
 * ```ts
 * import { formatTable } from "./table.ts";
 * const text = formatTable(["head", "σ₁"], [["9.6", 12.5]]);
 * if (!text.includes("9.6")) throw new Error("missing row");
 * ```
 */
export function formatTable(columns: string[], rows: (string | number)[][]): string {
  const cells = rows.map((row) =>
    columns.map((_, j) => {
      const v = row[j];
      return v === undefined ? "" : typeof v === "number" ? fmt(v) : v;
    })
  );
  const numeric = columns.map((_, j) =>
    rows.length > 0 && rows.every((r) => typeof r[j] === "number")
  );
  const widths = columns.map((c, j) =>
    Math.max([...c].length, ...cells.map((r) => [...(r[j] ?? "")].length))
  );
  const pad = (s: string, j: number) => {
    const w = widths[j]! - [...s].length;
    return numeric[j] ? " ".repeat(w) + s : s + " ".repeat(w);
  };
  const line = (r: string[]) => r.map(pad).join("  ").trimEnd();
  return [line(columns), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join(
    "\n",
  );
}
