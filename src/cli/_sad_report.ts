/**
 * Figures, arrays and the JSON summary of `svlens sad` (kept out of the command module so the
 * sweep and tests can reuse them).
 * @module
 */
import type { ArrayEntry, Figure } from "../report/mod.ts";
import type { BasisStats, HeadSummary, IoiSadResult } from "../sad/mod.ts";

/**
 * The per-head JSON summary of `svlens sad --json` (and `summary.heads` in results.json): the
 * SVD-basis statistics at the top level (see `BasisStats`), the rotation control under `rotated`.
 */
export interface HeadJson extends BasisStats {
  /** Head as "L.H". */
  head: string;
  /** Firings decomposed. */
  nFirings: number;
  /** Firings dropped because l̃ ≤ 0. */
  nDropped: number;
  /** The same statistics in the randomly rotated basis. */
  rotated: BasisStats;
  /** Statistics of the canonical IOI pair, for typed heads. */
  canonical?: HeadSummary["canonical"];
}

/** Flattens a head summary into the documented JSON shape. */
export function headJson(s: HeadSummary): HeadJson {
  const out: HeadJson = {
    head: s.head,
    nFirings: s.nFirings,
    nDropped: s.nDropped,
    ...s.svd,
    rotated: { ...s.rotated },
  };
  if (s.canonical) out.canonical = s.canonical;
  return out;
}

/** layer × head values of the analysed layers (NaN where a head was not analysed). */
function grid(
  result: IoiSadResult,
  nHeads: number,
  pick: (s: HeadSummary) => number,
): { x: string[]; y: string[]; values: number[][] } {
  const layers = [...new Set(result.heads.map((h) => h.layer))].sort((a, b) => a - b);
  const values = layers.map((l) =>
    Array.from({ length: nHeads }, (_, h) => {
      const found = result.heads.find((r) => r.layer === l && r.head === h);
      return found ? pick(found.summary) : NaN;
    })
  );
  return {
    x: Array.from({ length: nHeads }, (_, h) => String(h)),
    y: layers.map(String),
    values,
  };
}

/** The report figures: N_recon histogram grid, heat maps, SVD vs rotated, per-head table. */
export function sadFigures(result: IoiSadResult, nHeads: number): Figure[] {
  const maxN = Math.max(
    1,
    ...result.heads.flatMap((h) => [
      h.summary.svd.histogram.findLastIndex((c) => c > 0) + 1,
      h.summary.rotated.histogram.findLastIndex((c) => c > 0) + 1,
    ]),
  );
  const categories = Array.from({ length: maxN }, (_, i) => String(i + 1));
  const heads = [...result.heads].sort((a, b) => a.layer - b.layer || a.head - b.head);
  const layersShown = new Set(heads.map((h) => h.layer)).size;
  const columns = layersShown === 1 ? Math.min(heads.length, nHeads) : nHeads;
  const heat = (title: string, pick: (s: HeadSummary) => number, caption: string): Figure => ({
    kind: "heatmap",
    title,
    xLabel: "head",
    yLabel: "layer",
    ...grid(result, nHeads, pick),
    caption,
  });
  return [
    {
      kind: "grid",
      title: "N_recon per head (SVD basis vs random rotation)",
      caption: "Number of singular-vector contributions needed to reconstruct each firing's " +
        "relative logit (ACC rule). Rows: layers; columns: heads.",
      columns,
      cells: heads.map((h) => ({
        kind: "bar" as const,
        title: `${h.layer}.${h.head} (${h.summary.nFirings - h.summary.nDropped} firings)`,
        xLabel: "N_recon",
        yLabel: "firings",
        categories,
        series: [
          { name: "SVD", values: h.summary.svd.histogram.slice(0, maxN) },
          { name: "rotated", values: h.summary.rotated.histogram.slice(0, maxN) },
        ],
      })),
    },
    heat("Mean N_recon (SVD basis)", (s) => s.svd.meanNRecon, "Lower = sparser decomposition."),
    heat(
      "Mean N_recon (random rotation)",
      (s) => s.rotated.meanNRecon,
      "Same firings, basis rotated by a Haar-random Q per head.",
    ),
    heat(
      "Mean sparseness S(c) (SVD basis)",
      (s) => s.svd.meanSparseness,
      "Rolls–Tovee sparseness in [1/K, 1]; lower = sparser.",
    ),
    heat(
      "Mean sparseness S(c) (random rotation)",
      (s) => s.rotated.meanSparseness,
      "The control: a rotated basis spreads the logit over more components.",
    ),
    {
      kind: "bar",
      title: "Mean sparseness: SVD vs rotated basis",
      xLabel: "head",
      yLabel: "mean S(c)",
      categories: heads.map((h) => `${h.layer}.${h.head}`),
      series: [
        { name: "SVD", values: heads.map((h) => h.summary.svd.meanSparseness) },
        { name: "rotated", values: heads.map((h) => h.summary.rotated.meanSparseness) },
      ],
    },
    {
      kind: "table",
      title: "Per-head summary",
      columns: [
        "head",
        "firings",
        "dropped",
        "mean N_recon",
        "mean S",
        "rot. mean N_recon",
        "rot. mean S",
      ],
      rows: heads.map((h) => headRow(h.summary)),
    },
  ];
}

/**
 * Pooled numbers over all analysed firings of all heads, and how many heads have a mean N_recon
 * in [1, 4] (the paper's "most heads N_recon 1–4").
 */
export function pooledSummary(result: IoiSadResult): Record<string, number> {
  const all = result.heads.flatMap((h) => h.firings).filter((f) => f.nRecon !== undefined);
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
  return {
    firings: result.heads.reduce((a, h) => a + h.firings.length, 0),
    analysedFirings: all.length,
    meanNRecon: mean(all.map((f) => f.nRecon!)),
    rotatedMeanNRecon: mean(all.map((f) => f.rotatedNRecon!)),
    meanSparseness: mean(all.map((f) => f.sparseness).filter(Number.isFinite)),
    rotatedMeanSparseness: mean(all.map((f) => f.rotatedSparseness).filter(Number.isFinite)),
    headsWithMeanNReconIn1to4:
      result.heads.filter((h) => h.summary.svd.meanNRecon >= 1 && h.summary.svd.meanNRecon <= 4)
        .length,
    heads: result.heads.length,
  };
}

/**
 * A table cell for a statistic rounded to `digits`, or "—" where there is none (NaN, or `null`
 * after a JSON round trip: a head with no analysed firings).
 */
export function statCell(v: number | null | undefined, digits: number): number | string {
  return typeof v === "number" && Number.isFinite(v) ? Number(v.toFixed(digits)) : "—";
}

/** One row of the per-head table (terminal and report). */
export function headRow(s: HeadSummary): (string | number)[] {
  const f = statCell;
  return [
    s.head,
    s.nFirings,
    s.nDropped,
    f(s.svd.meanNRecon, 2),
    f(s.svd.meanSparseness, 3),
    f(s.rotated.meanNRecon, 2),
    f(s.rotated.meanSparseness, 3),
  ];
}

/** Column names matching {@linkcode headRow}. */
export const HEAD_COLUMNS: string[] = [
  "head",
  "firings",
  "dropped",
  "N_recon",
  "S",
  "rot N_recon",
  "rot S",
];

/** Column order of the `firings` array. */
export const FIRING_COLUMNS: string[] = [
  "layer",
  "head",
  "prompt",
  "query",
  "key",
  "attention",
  "lTilde",
  "nRecon",
  "sparseness",
  "rotatedNRecon",
  "rotatedSparseness",
  "canonical",
];

/** Arrays for arrays.safetensors: every firing, singular values, N_recon histograms. */
export function sadArrays(result: IoiSadResult, k: number): Record<string, ArrayEntry> {
  const all = result.heads.flatMap((h) => h.firings.map((f) => ({ h, f })));
  const firings = new Float64Array(all.length * FIRING_COLUMNS.length);
  all.forEach(({ h, f }, i) => {
    firings.set([
      h.layer,
      h.head,
      f.prompt,
      f.query,
      f.key,
      f.attention,
      f.lTilde,
      f.nRecon ?? NaN,
      f.sparseness,
      f.rotatedNRecon ?? NaN,
      f.rotatedSparseness,
      f.reason === "threshold" ? 0 : 1,
    ], i * FIRING_COLUMNS.length);
  });
  const n = result.heads.length;
  const sigma = new Float64Array(n * k);
  const hist = new Float64Array(n * k);
  const rhist = new Float64Array(n * k);
  result.heads.forEach((h, i) => {
    sigma.set(h.s.subarray(0, k), i * k);
    hist.set(h.summary.svd.histogram, i * k);
    rhist.set(h.summary.rotated.histogram, i * k);
  });
  return {
    firings: { shape: [all.length, FIRING_COLUMNS.length], data: firings },
    singular_values: { shape: [n, k], data: sigma },
    nrecon_histogram: { shape: [n, k], data: hist },
    nrecon_histogram_rotated: { shape: [n, k], data: rhist },
  };
}
