/**
 * Small helpers for the SVG renderer: escaping, number formatting, tick placement and the
 * colour palettes (colour-blind safe).
 * @module
 */

/** Escapes text for XML/HTML content and attribute values. */
export function esc(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

/** Short human formatting of a number (4 significant digits, exponent when far from 1). */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace("e+", "e");
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** Rounds a coordinate for compact SVG output. */
export function r2(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** "Nice" linear ticks (about `count` of them) whose first and last enclose [lo, hi]. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) {
    const t = k * step;
    ticks.push(k === 0 ? 0 : Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Powers of ten within [lo, hi] (both > 0); at most ~8, thinned by taking every k-th. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const k = Math.max(1, Math.ceil((b - a + 1) / 8));
  const ticks: number[] = [];
  for (let e = a; e <= b; e += k) {
    const t = 10 ** e;
    if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t);
  }
  return ticks.length > 0 ? ticks : [lo, hi];
}

/** Pads a [lo, hi] range so a constant series still gets a visible axis. */
export function padRange(lo: number, hi: number, log: boolean): [number, number] {
  if (lo < hi) return [lo, hi];
  if (log) return [lo / 10, hi * 10];
  const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return [lo - d, hi + d];
}

type Rgb = [number, number, number];

function hex(c: string): Rgb {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as Rgb;
}

function interpolate(stops: Rgb[], t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  const ch = (k: 0 | 1 | 2) => Math.round(a[k] + (b[k] - a[k]) * f).toString(16).padStart(2, "0");
  return `#${ch(0)}${ch(1)}${ch(2)}`;
}

/** ColorBrewer RdBu (11 classes, reversed: blue = negative, red = positive); colour-blind safe. */
const RDBU: Rgb[] = [
  "#053061",
  "#2166ac",
  "#4393c3",
  "#92c5de",
  "#d1e5f0",
  "#f7f7f7",
  "#fddbc7",
  "#f4a582",
  "#d6604d",
  "#b2182b",
  "#67001f",
].map(hex);

/** Viridis (9 samples): perceptually uniform, colour-blind safe, readable in greyscale. */
const VIRIDIS: Rgb[] = [
  "#440154",
  "#472d7b",
  "#3b528b",
  "#2c728e",
  "#21918c",
  "#28ae80",
  "#5ec962",
  "#addc30",
  "#fde725",
].map(hex);

/** Diverging colour for t in [0, 1] (0.5 = white). */
export function diverging(t: number): string {
  return interpolate(RDBU, t);
}

/** Sequential colour for t in [0, 1]. */
export function sequential(t: number): string {
  return interpolate(VIRIDIS, t);
}

/** Okabe–Ito qualitative palette (colour-blind safe), for series. */
export const SERIES_COLOURS: readonly string[] = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#F0E442",
  "#000000",
];

/** The colour of series number `i`. */
export function seriesColour(i: number): string {
  return SERIES_COLOURS[i % SERIES_COLOURS.length]!;
}
