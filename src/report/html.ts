/**
 * The self-contained `report.html`: inline CSS and SVG only, no scripts, no external resources,
 * and a Content-Security-Policy that forbids fetching anything, so it opens offline anywhere.
 * @module
 */
import type { StoredResults } from "./types.ts";
import { esc, fmt } from "./_svg_util.ts";
import { renderFigure } from "./svg.ts";

/** The report's Content-Security-Policy: nothing may be loaded; inline styles only. */
export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  color: #1a1a1a; background: #fafafa; line-height: 1.4; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.5rem; margin: 0.6rem 0 0.2rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 0.5rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: 0.85rem; }
figure { background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; margin: 0 0 18px;
  padding: 10px; overflow-x: auto; }
figcaption { color: #444; font-size: 0.85rem; margin-top: 6px; }
figure > h3 { font-size: 1rem; margin: 0 0 6px; }
svg.fig { max-width: 100%; height: auto; font-family: inherit; }
svg .tick { fill: #333; } svg .axis-label { fill: #111; font-weight: 600; }
.grid { display: grid; gap: 8px; }
.grid .cell { border: 1px solid #eee; border-radius: 4px; padding: 2px; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #e6e6e6; padding: 3px 10px; text-align: left;
  vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f2f2f2; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 0.8rem; }
dl.kv { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: 4px 16px;
  margin: 0; font-size: 0.85rem; }
.kv-item { display: flex; justify-content: space-between; gap: 12px; padding: 2px 6px;
  border-bottom: 1px solid #e6e6e6; }
.kv-item.wide { grid-column: 1 / -1; justify-content: flex-start; }
.kv-item dt { font-weight: 600; min-width: 0; overflow-wrap: anywhere; } .kv-item dd { margin: 0; text-align: right;
  font-variant-numeric: tabular-nums; white-space: nowrap; }
.kv-item.wide dt { flex: none; }
.kv-item.wide dd { text-align: left; white-space: normal; word-break: break-word; min-width: 0; }
`;

function valueHtml(v: unknown): { html: string; wide: boolean } {
  if (typeof v === "number") return { html: esc(fmt(v)), wide: false };
  if (typeof v === "string") return { html: esc(v), wide: v.length > 40 };
  const json = JSON.stringify(v);
  const text = json === undefined ? String(v) : json;
  return {
    html: `<code>${esc(text.length > 600 ? `${text.slice(0, 600)}…` : text)}</code>`,
    wide: text.length > 40,
  };
}

/** Key/value pairs as a compact responsive grid (long values take a whole row). */
function keyValueGrid(obj: Record<string, unknown>, cls: string): string {
  const items = Object.entries(obj).map(([k, v]) => {
    const { html, wide } = valueHtml(v);
    return `<div class="kv-item${wide ? " wide" : ""}"><dt>${esc(k)}</dt><dd>${html}</dd></div>`;
  });
  if (items.length === 0) return `<p class="meta">(none)</p>`;
  return `<dl class="kv ${cls}">\n${items.join("\n")}\n</dl>`;
}

/** Renders the whole report page for stored results. */
export function renderReport(results: StoredResults): string {
  const figures = results.figures.map((f, i) => {
    const body = renderFigure(f, { idPrefix: `fig${i}` });
    const title = f.kind === "grid" || f.kind === "table" ? `<h3>${esc(f.title)}</h3>` : "";
    const caption = f.caption ? `<figcaption>${esc(f.caption)}</figcaption>` : "";
    return `<figure class="figure kind-${f.kind}" id="figure-${
      i + 1
    }">${title}\n${body}\n${caption}</figure>`;
  });
  const arrays = results.arrays
    ? `<h2>Arrays (arrays.safetensors)</h2>\n${
      keyValueGrid(
        Object.fromEntries(
          Object.entries(results.arrays).map(([k, v]) => [k, `${v.dtype} [${v.shape.join(", ")}]`]),
        ),
        "arrays",
      )
    }`
    : "";
  const known = new Set([
    "schemaVersion",
    "svlensVersion",
    "createdAt",
    "command",
    "title",
    "seed",
    "parameters",
    "summary",
    "figures",
    "arrays",
  ]);
  const extra = Object.entries(results).filter(([k]) => !known.has(k)).map(([k, v]) =>
    `<code>${esc(k)}</code>${Array.isArray(v) ? ` (${v.length} entries)` : ""}`
  );
  const more = extra.length > 0
    ? `<p class="meta">Also in results.json: ${extra.join(", ")}.</p>`
    : "";
  const seed = results.seed === undefined ? "" : ` · seed ${esc(String(results.seed))}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="svlens ${esc(results.svlensVersion)}">
<title>${esc(results.title)} · svlens ${esc(results.command)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${esc(results.title)}</h1>
<p class="meta">svlens ${esc(results.svlensVersion)} · command <code>${
    esc(results.command)
  }</code>${seed} · ${esc(results.createdAt)} · results schema v${results.schemaVersion}</p>
<h2>Summary</h2>
${keyValueGrid(results.summary, "summary")}
<h2>Figures</h2>
${figures.length > 0 ? figures.join("\n") : `<p class="meta">(no figures)</p>`}
<h2>Parameters</h2>
${keyValueGrid(results.parameters, "parameters")}
${arrays}
${more}
<p class="meta">Numbers: results.json (schema: schema/results.schema.json); arrays:
arrays.safetensors (Python: <code>safetensors.numpy.load_file</code>).</p>
</main>
</body>
</html>
`;
}
