/**
 * Renders {@linkcode Figure}s to self-contained inline SVG (no scripts, no fonts fetched):
 * heat maps (diverging RdBu for signed data, viridis otherwise, with a colour bar and a native
 * `<title>` tooltip per cell), line charts (linear or log axes), grouped bar charts, small
 * multiples and tables.
 * @module
 */
import type {
  BarFigure,
  Figure,
  GridFigure,
  HeatmapFigure,
  LineFigure,
  TableFigure,
} from "./types.ts";
import {
  diverging,
  esc,
  fmt,
  linearTicks,
  logTicks,
  padRange,
  r2,
  sequential,
  seriesColour,
} from "./_svg_util.ts";

/** Rendering options. */
export interface RenderOptions {
  /** Smaller plots with fewer labels (cells of a grid). */
  small?: boolean;
  /** Prefix for element ids (gradients), unique per document. */
  idPrefix?: string;
}

const FONT = 11;
/** Heat maps with more cells than this get no per-cell tooltips (keeps the file small). */
const MAX_TOOLTIP_CELLS = 20_000;

/** Renders one figure to an HTML fragment (an `<svg>`, a `<table>`, or a grid of them). */
export function renderFigure(figure: Figure, options: RenderOptions = {}): string {
  switch (figure.kind) {
    case "heatmap":
      return renderHeatmap(figure, options);
    case "line":
      return renderLine(figure, options);
    case "bar":
      return renderBar(figure, options);
    case "grid":
      return renderGrid(figure, options);
    case "table":
      return renderTable(figure);
  }
}

function textWidth(s: string): number {
  return s.length * FONT * 0.6;
}

function titleWidth(s: string, small: boolean): number {
  return s.length * (small ? 12 : 14) * 0.62;
}

/** Keeps at most `max` evenly spaced label indices. */
function labelStride(n: number, max: number): number {
  return Math.max(1, Math.ceil(n / max));
}

function svgOpen(w: number, h: number, title: string, cls: string): string {
  return `<svg class="${cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${r2(w)} ${
    r2(h)
  }" width="${r2(w)}" height="${r2(h)}" role="img" aria-label="${esc(title)}" font-size="${FONT}">`;
}

function heading(title: string, x: number, small: boolean): string {
  return `<text class="fig-title" x="${r2(x)}" y="${small ? 13 : 16}" text-anchor="middle" ` +
    `font-weight="bold" font-size="${small ? 12 : 14}">${esc(title)}</text>`;
}

function finiteRange(values: Iterable<number>): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Heat maps larger than this per side are shown as block means (keeps reports small). */
export const MAX_HEATMAP_SIDE = 160;

/** Block-averages a heat map down to at most `max` rows and columns (NaN-aware). */
function reduceHeatmap(f: HeatmapFigure, max: number): { fig: HeatmapFigure; note: string } {
  const ny = f.values.length;
  const nx = f.x.length;
  const by = Math.ceil(ny / max);
  const bx = Math.ceil(nx / max);
  if (by <= 1 && bx <= 1) return { fig: f, note: "" };
  const rows = Math.ceil(ny / by);
  const cols = Math.ceil(nx / bx);
  const label = (labels: string[], i: number, b: number, n: number) =>
    b === 1
      ? labels[i] ?? String(i)
      : `${labels[i * b] ?? i * b}…${labels[Math.min(n, (i + 1) * b) - 1] ?? ""}`;
  const values = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => {
      let sum = 0;
      let count = 0;
      for (let a = i * by; a < Math.min(ny, (i + 1) * by); a++) {
        const row = f.values[a] ?? [];
        for (let b = j * bx; b < Math.min(nx, (j + 1) * bx); b++) {
          const v = row[b] ?? NaN;
          if (Number.isFinite(v)) {
            sum += v;
            count++;
          }
        }
      }
      return count > 0 ? sum / count : NaN;
    }));
  return {
    fig: {
      ...f,
      values,
      x: Array.from({ length: cols }, (_, j) => label(f.x, j, bx, nx)),
      y: Array.from({ length: rows }, (_, i) => label(f.y, i, by, ny)),
    },
    note: `${ny}×${nx} shown as means of ${by}×${bx} blocks (full data in results.json)`,
  };
}

/** Renders a heat map: rows = `y` (top to bottom), columns = `x`. */
export function renderHeatmap(full: HeatmapFigure, options: RenderOptions = {}): string {
  const small = options.small ?? false;
  const { fig: f, note } = reduceHeatmap(full, MAX_HEATMAP_SIDE);
  const id = `${options.idPrefix ?? "f"}-cb`;
  const ny = f.values.length;
  const nx = f.x.length;
  const flat = f.values.flat();
  const range = finiteRange(flat) ?? [0, 1];
  const signed = f.diverging ?? range[0] < 0;
  const absMax = Math.max(Math.abs(range[0]), Math.abs(range[1])) || 1;
  const [lo, hi] = signed ? [-absMax, absMax] : padRange(range[0], range[1], false);
  const colour = (v: number): string =>
    !Number.isFinite(v) ? "#bdbdbd" : signed ? diverging((v - lo) / (hi - lo)) : sequential(
      (v - lo) / (hi - lo),
    );
  const maxLabels = small ? 16 : 60;
  const sx = labelStride(nx, maxLabels);
  const sy = labelStride(ny, maxLabels);
  const yLabW = Math.min(140, Math.max(...f.y.map(textWidth), 10)) + 6;
  const xLabH = Math.min(120, Math.max(...f.x.map(textWidth), 10) * 0.82) + 6;
  const maxPlotW = small ? 220 : 560;
  const maxPlotH = small ? 200 : 560;
  const cell = Math.max(
    0.5,
    Math.min(small ? 16 : 32, maxPlotW / Math.max(nx, 1), maxPlotH / Math.max(ny, 1)),
  );
  const pw = cell * nx;
  const ph = cell * ny;
  const left = yLabW + 22;
  const top = small ? 22 : 28;
  const barW = 12;
  const legendW = 70;
  const width = Math.max(left + pw + 16 + legendW, titleWidth(f.title, small) + 20);
  const height = top + ph + xLabH + 30 + (note ? 16 : 0);
  const out: string[] = [svgOpen(width, height, f.title, "fig heatmap")];
  out.push(heading(f.title, width / 2, small));
  if (note) {
    out.push(`<text class="note" x="4" y="${r2(height - 4)}" font-size="10">${esc(note)}</text>`);
  }
  out.push(`<g class="cells" shape-rendering="crispEdges">`);
  const tips = flat.length <= MAX_TOOLTIP_CELLS;
  for (let i = 0; i < ny; i++) {
    const row = f.values[i] ?? [];
    for (let j = 0; j < nx; j++) {
      const v = row[j] ?? NaN;
      const rect = `<rect x="${r2(left + j * cell)}" y="${r2(top + i * cell)}" width="${
        r2(cell)
      }" height="${r2(cell)}" fill="${colour(v)}"`;
      out.push(
        tips
          ? `${rect}><title>${esc(f.y[i] ?? String(i))} × ${esc(f.x[j] ?? String(j))}: ${
            fmt(v)
          }</title></rect>`
          : `${rect}/>`,
      );
    }
  }
  out.push(`</g>`);
  out.push(
    `<rect x="${r2(left)}" y="${r2(top)}" width="${r2(pw)}" height="${
      r2(ph)
    }" fill="none" stroke="#444" stroke-width="0.5"/>`,
  );
  // Row labels (right-aligned) and column labels (rotated).
  for (let i = 0; i < ny; i += sy) {
    out.push(
      `<text class="tick" x="${r2(left - 4)}" y="${r2(top + (i + 0.5) * cell)}" ` +
        `text-anchor="end" dominant-baseline="middle">${esc(f.y[i] ?? String(i))}</text>`,
    );
  }
  for (let j = 0; j < nx; j += sx) {
    const x = left + (j + 0.5) * cell;
    const y = top + ph + 4;
    out.push(
      `<text class="tick" transform="translate(${r2(x)},${r2(y)}) rotate(-55)" ` +
        `text-anchor="end" dominant-baseline="middle">${esc(f.x[j] ?? String(j))}</text>`,
    );
  }
  out.push(
    `<text class="axis-label" x="${r2(left + pw / 2)}" y="${
      r2(height - 6 - (note ? 16 : 0))
    }" text-anchor="middle">${esc(f.xLabel)}</text>`,
    `<text class="axis-label" transform="translate(12,${r2(top + ph / 2)}) rotate(-90)" ` +
      `text-anchor="middle">${esc(f.yLabel)}</text>`,
  );
  // Colour bar.
  const bx = left + pw + 16;
  const bh = Math.max(60, Math.min(ph, 220));
  const stops = Array.from({ length: 11 }, (_, k) => {
    const t = k / 10;
    return `<stop offset="${t}" stop-color="${signed ? diverging(1 - t) : sequential(1 - t)}"/>`;
  }).join("");
  out.push(
    `<defs><linearGradient id="${id}" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>`,
    `<rect class="colorbar" x="${r2(bx)}" y="${r2(top)}" width="${barW}" height="${
      r2(bh)
    }" fill="url(#${id})" stroke="#444" stroke-width="0.5"/>`,
  );
  const legendTicks = signed ? [hi, 0, lo] : [hi, (hi + lo) / 2, lo];
  legendTicks.forEach((v, k) => {
    out.push(
      `<text class="tick" x="${r2(bx + barW + 3)}" y="${r2(top + (k / 2) * bh)}" ` +
        `dominant-baseline="middle">${fmt(v)}</text>`,
    );
  });
  out.push(`</svg>`);
  return out.join("\n");
}

interface Axis {
  lo: number;
  hi: number;
  log: boolean;
  ticks: number[];
  /** Maps a data value to a pixel coordinate. */
  map: (v: number) => number;
}

function makeAxis(lo: number, hi: number, log: boolean, p0: number, p1: number): Axis {
  const [pa, pb] = padRange(lo, hi, log);
  // Log axes snap outwards to whole decades so the smallest bar still has a height.
  const [a, b] = log
    ? [10 ** Math.floor(Math.log10(pa)), 10 ** Math.ceil(Math.log10(pb))]
    : [pa, pb];
  const ticks = log ? logTicks(a, b) : linearTicks(a, b, 5);
  const [l, h] = log ? [a, b] : [ticks[0] ?? a, ticks.at(-1) ?? b];
  const t = (v: number) => log ? Math.log10(v) : v;
  const tl = t(l);
  const th = t(h);
  return { lo: l, hi: h, log, ticks, map: (v) => p0 + ((t(v) - tl) / (th - tl)) * (p1 - p0) };
}

function axesSvg(
  xa: Axis | undefined,
  ya: Axis,
  box: { left: number; top: number; right: number; bottom: number },
  labels: { x: string; y: string },
  height: number,
): string {
  const out: string[] = [];
  for (const t of ya.ticks) {
    const y = ya.map(t);
    out.push(
      `<line class="grid" x1="${r2(box.left)}" x2="${r2(box.right)}" y1="${r2(y)}" y2="${
        r2(y)
      }" stroke="#e5e5e5"/>`,
      `<text class="tick" x="${r2(box.left - 5)}" y="${r2(y)}" text-anchor="end" ` +
        `dominant-baseline="middle">${fmt(t)}</text>`,
    );
  }
  if (xa) {
    for (const t of xa.ticks) {
      const x = xa.map(t);
      out.push(
        `<line class="grid" x1="${r2(x)}" x2="${r2(x)}" y1="${r2(box.top)}" y2="${
          r2(box.bottom)
        }" stroke="#e5e5e5"/>`,
        `<text class="tick" x="${r2(x)}" y="${r2(box.bottom + 14)}" text-anchor="middle">${
          fmt(t)
        }</text>`,
      );
    }
  }
  out.push(
    `<rect x="${r2(box.left)}" y="${r2(box.top)}" width="${r2(box.right - box.left)}" height="${
      r2(box.bottom - box.top)
    }" fill="none" stroke="#444" stroke-width="0.8"/>`,
    `<text class="axis-label" x="${r2((box.left + box.right) / 2)}" y="${r2(height - 6)}" ` +
      `text-anchor="middle">${esc(labels.x)}</text>`,
    `<text class="axis-label" transform="translate(12,${r2((box.top + box.bottom) / 2)}) ` +
      `rotate(-90)" text-anchor="middle">${esc(labels.y)}</text>`,
  );
  return out.join("\n");
}

function legendSvg(names: string[], x: number, y: number): string {
  return names.map((name, i) =>
    `<g class="legend-item"><rect x="${r2(x)}" y="${r2(y + i * 16 - 5)}" width="12" ` +
    `height="10" fill="${seriesColour(i)}"/><text x="${r2(x + 16)}" y="${r2(y + i * 16)}" ` +
    `dominant-baseline="middle">${esc(name)}</text></g>`
  ).join("\n");
}

/** Renders a line chart (one polyline per series; non-positive values dropped on log axes). */
export function renderLine(f: LineFigure, options: RenderOptions = {}): string {
  const small = options.small ?? false;
  const keep = (x: number, y: number) =>
    Number.isFinite(x) && Number.isFinite(y) && (!f.logX || x > 0) && (!f.logY || y > 0);
  const series = f.series.map((s) => {
    const pts: [number, number][] = [];
    s.x.forEach((x, i) => {
      const y = s.y[i] ?? NaN;
      if (keep(x, y)) pts.push([x, y]);
    });
    return { name: s.name, pts };
  });
  const xr = finiteRange(series.flatMap((s) => s.pts.map((p) => p[0]))) ??
    (f.logX ? [1, 10] : [0, 1]);
  const yr = finiteRange(series.flatMap((s) => s.pts.map((p) => p[1]))) ??
    (f.logY ? [1, 10] : [0, 1]);
  const legendW = small || series.length <= 1
    ? 0
    : Math.min(180, Math.max(...series.map((s) => textWidth(s.name))) + 30);
  const width = small ? 300 : 720;
  const height = small ? 210 : 400;
  const box = {
    left: 62,
    top: small ? 24 : 30,
    right: width - 14 - legendW,
    bottom: height - 40,
  };
  const xa = makeAxis(xr[0], xr[1], f.logX ?? false, box.left, box.right);
  const ya = makeAxis(yr[0], yr[1], f.logY ?? false, box.bottom, box.top);
  const out: string[] = [svgOpen(width, height, f.title, "fig line")];
  out.push(heading(f.title, width / 2, small));
  out.push(axesSvg(xa, ya, box, { x: f.xLabel, y: f.yLabel }, height));
  series.forEach((s, i) => {
    const pts = s.pts.map(([x, y]) => `${r2(xa.map(x))},${r2(ya.map(y))}`).join(" ");
    out.push(
      `<polyline class="series" fill="none" stroke="${seriesColour(i)}" stroke-width="1.8" ` +
        `points="${pts}"><title>${esc(s.name)}</title></polyline>`,
    );
    if (s.pts.length <= 40) {
      for (const [x, y] of s.pts) {
        out.push(
          `<circle cx="${r2(xa.map(x))}" cy="${r2(ya.map(y))}" r="2.5" fill="${
            seriesColour(i)
          }"><title>${esc(s.name)}: (${fmt(x)}, ${fmt(y)})</title></circle>`,
        );
      }
    }
  });
  if (small && series.length > 1) {
    // No room for a legend: the series names stay available as tooltips.
  } else if (legendW > 0) {
    out.push(legendSvg(series.map((s) => s.name), box.right + 12, box.top + 8));
  }
  out.push(`</svg>`);
  return out.join("\n");
}

/** Renders grouped bars (spectra, histograms); on a log axis bars start at the axis bottom. */
export function renderBar(f: BarFigure, options: RenderOptions = {}): string {
  const small = options.small ?? false;
  const n = f.categories.length;
  const k = Math.max(1, f.series.length);
  const logY = f.logY ?? false;
  const vals = f.series.flatMap((s) => s.values).filter((v) => !logY || v > 0);
  const range = finiteRange(vals) ?? (logY ? [1, 10] : [0, 1]);
  const yr: [number, number] = logY ? range : [Math.min(0, range[0]), Math.max(0, range[1])];
  const legendW = small || f.series.length <= 1
    ? 0
    : Math.min(180, Math.max(...f.series.map((s) => textWidth(s.name))) + 30);
  const catLabW = Math.min(90, Math.max(...f.categories.map(textWidth), 10) * 0.82);
  const width = small ? 300 : 720;
  const height = (small ? 200 : 380) + catLabW;
  const box = {
    left: 62,
    top: small ? 24 : 30,
    right: width - 14 - legendW,
    bottom: height - 30 - catLabW,
  };
  const ya = makeAxis(yr[0], yr[1], logY, box.bottom, box.top);
  const out: string[] = [svgOpen(width, height, f.title, "fig bar")];
  out.push(heading(f.title, width / 2, small));
  out.push(axesSvg(undefined, ya, box, { x: f.xLabel, y: f.yLabel }, height));
  const slot = (box.right - box.left) / Math.max(n, 1);
  const bw = (slot * 0.85) / k;
  const base = logY ? box.bottom : ya.map(0);
  f.series.forEach((s, si) => {
    s.values.forEach((v, ci) => {
      if (!Number.isFinite(v) || (logY && v <= 0)) return;
      const y = ya.map(v);
      const x = box.left + ci * slot + slot * 0.075 + si * bw;
      out.push(
        `<rect class="bar" x="${r2(x)}" y="${r2(Math.min(y, base))}" width="${
          r2(Math.max(bw, 0.5))
        }" height="${r2(Math.abs(base - y))}" fill="${seriesColour(si)}"><title>${
          esc(f.categories[ci] ?? String(ci))
        }${f.series.length > 1 ? ` (${esc(s.name)})` : ""}: ${fmt(v)}</title></rect>`,
      );
    });
  });
  const stride = labelStride(n, small ? 12 : 40);
  for (let ci = 0; ci < n; ci += stride) {
    const x = box.left + (ci + 0.5) * slot;
    out.push(
      `<text class="tick" transform="translate(${r2(x)},${r2(box.bottom + 6)}) rotate(-45)" ` +
        `text-anchor="end" dominant-baseline="middle">${esc(f.categories[ci] ?? "")}</text>`,
    );
  }
  if (legendW > 0) out.push(legendSvg(f.series.map((s) => s.name), box.right + 12, box.top + 8));
  out.push(`</svg>`);
  return out.join("\n");
}

/** Renders small multiples in a CSS grid of `columns` columns. */
export function renderGrid(f: GridFigure, options: RenderOptions = {}): string {
  const prefix = options.idPrefix ?? "f";
  const columns = Math.max(1, Math.floor(f.columns) || 1);
  const cells = f.cells.map((c, i) =>
    `<div class="cell">${renderFigure(c, { small: true, idPrefix: `${prefix}-${i}` })}</div>`
  );
  return `<div class="grid" style="grid-template-columns: repeat(${columns}, minmax(0, 1fr))">\n${
    cells.join("\n")
  }\n</div>`;
}

/** Renders a table figure as an HTML table (numbers right-aligned, formatted). */
export function renderTable(f: TableFigure): string {
  const head = f.columns.map((c) => `<th>${esc(c)}</th>`).join("");
  const body = f.rows.map((row) =>
    `<tr>${
      row.map((v) =>
        typeof v === "number" ? `<td class="num">${fmt(v)}</td>` : `<td>${esc(String(v))}</td>`
      ).join("")
    }</tr>`
  ).join("\n");
  return `<table class="data"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
