/**
 * The results contract shared by every computing command: what `writeRun` receives, what
 * `results.json` holds (see `schema/results.schema.json`), and the plain-JSON figure
 * descriptions the report renders to inline SVG.
 * @module
 */

/** Commands that write a run directory. */
export type RunCommand = "toy" | "svd" | "sad" | "sweep";

/** A heat map: `values[row][col]`, rows labelled by `y`, columns by `x` (e.g. query × key). */
export interface HeatmapFigure {
  kind: "heatmap";
  title: string;
  xLabel: string;
  yLabel: string;
  /** Column labels (e.g. key tokens), one per column of `values`. */
  x: string[];
  /** Row labels (e.g. query tokens), one per row of `values`. */
  y: string[];
  values: number[][];
  /** Signed data centred on 0 (diverging palette); default: diverging iff any value < 0. */
  diverging?: boolean;
  caption?: string;
}

/** One line of a line chart. */
export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
}

/** A line chart; `logX`/`logY` use base-10 log axes (non-positive points are dropped). */
export interface LineFigure {
  kind: "line";
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  logX?: boolean;
  logY?: boolean;
  caption?: string;
}

/** One group of bars of a bar chart (one value per category). */
export interface BarSeries {
  name: string;
  values: number[];
}

/** A bar chart (spectra, histograms): grouped bars per category. */
export interface BarFigure {
  kind: "bar";
  title: string;
  xLabel: string;
  yLabel: string;
  categories: string[];
  series: BarSeries[];
  logY?: boolean;
  caption?: string;
}

/** Small multiples: `cells` laid out `columns` per row (e.g. N_recon histograms per head). */
export interface GridFigure {
  kind: "grid";
  title: string;
  caption?: string;
  cells: Figure[];
  columns: number;
}

/** A table of numbers and text. */
export interface TableFigure {
  kind: "table";
  title: string;
  columns: string[];
  rows: (string | number)[][];
  caption?: string;
}

/** Every figure kind the report renders. */
export type Figure = HeatmapFigure | LineFigure | BarFigure | GridFigure | TableFigure;

/** What a command hands to `writeRun`. */
export interface RunResults {
  command: RunCommand;
  title: string;
  /** The random seed used (recorded so the run can be repeated). */
  seed?: number;
  /** Every parameter, including defaults chosen by svlens. */
  parameters: Record<string, unknown>;
  /** The headline numbers (also printed by `--json`). */
  summary: Record<string, unknown>;
  figures: Figure[];
  [key: string]: unknown;
}

/** `results.json` as written: the run plus the envelope `writeRun` adds. */
export interface StoredResults extends RunResults {
  schemaVersion: number;
  svlensVersion: string;
  /** ISO 8601 UTC timestamp. */
  createdAt: string;
  /** Names, dtypes and shapes of the tensors in `arrays.safetensors` (absent if none). */
  arrays?: Record<string, { dtype: "F32" | "F64"; shape: number[] }>;
}

/** One named array for `arrays.safetensors` (row-major). */
export interface ArrayEntry {
  shape: number[];
  data: Float32Array | Float64Array;
}
