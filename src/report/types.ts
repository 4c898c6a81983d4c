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
  /** Figure kind. */
  kind: "heatmap";
  /** Title shown above the figure. */
  title: string;
  /** Horizontal axis label (say what and which units). */
  xLabel: string;
  /** Vertical axis label (say what and which units). */
  yLabel: string;
  /** Column labels (e.g. key tokens), one per column of `values`. */
  x: string[];
  /** Row labels (e.g. query tokens), one per row of `values`. */
  y: string[];
  /** Row-major values, `values[row][col]`; NaN allowed (drawn grey). */
  values: number[][];
  /** Signed data centred on 0 (diverging palette); default: diverging iff any value < 0. */
  diverging?: boolean;
  /** Optional sentence under the figure. */
  caption?: string;
}

/** One line of a line chart. */
export interface LineSeries {
  /** Legend name. */
  name: string;
  /** Horizontal coordinates. */
  x: number[];
  /** Vertical coordinates (same length as `x`). */
  y: number[];
}

/** A line chart; `logX`/`logY` use base-10 log axes (non-positive points are dropped). */
export interface LineFigure {
  /** Figure kind. */
  kind: "line";
  /** Title shown above the figure. */
  title: string;
  /** Horizontal axis label (say what and which units). */
  xLabel: string;
  /** Vertical axis label (say what and which units). */
  yLabel: string;
  /** The lines. */
  series: LineSeries[];
  /** Base-10 log horizontal axis. */
  logX?: boolean;
  /** Base-10 log vertical axis. */
  logY?: boolean;
  /** Optional sentence under the figure. */
  caption?: string;
}

/** One group of bars of a bar chart (one value per category). */
export interface BarSeries {
  /** Legend name. */
  name: string;
  /** One value per category. */
  values: number[];
}

/** A bar chart (spectra, histograms): grouped bars per category. */
export interface BarFigure {
  /** Figure kind. */
  kind: "bar";
  /** Title shown above the figure. */
  title: string;
  /** Horizontal axis label (say what and which units). */
  xLabel: string;
  /** Vertical axis label (say what and which units). */
  yLabel: string;
  /** Category labels along the horizontal axis. */
  categories: string[];
  /** Bar groups (one colour each). */
  series: BarSeries[];
  /** Base-10 log vertical axis. */
  logY?: boolean;
  /** Optional sentence under the figure. */
  caption?: string;
}

/** Small multiples: `cells` laid out `columns` per row (e.g. N_recon histograms per head). */
export interface GridFigure {
  /** Figure kind. */
  kind: "grid";
  /** Title shown above the figure. */
  title: string;
  /** Optional sentence under the figure. */
  caption?: string;
  /** The small plots, row by row. */
  cells: Figure[];
  /** Plots per row. */
  columns: number;
}

/** A table of numbers and text. */
export interface TableFigure {
  /** Figure kind. */
  kind: "table";
  /** Title shown above the figure. */
  title: string;
  /** Column headers. */
  columns: string[];
  /** Rows of cells (numbers are formatted). */
  rows: (string | number)[][];
  /** Optional sentence under the figure. */
  caption?: string;
}

/** Every figure kind the report renders. */
export type Figure = HeatmapFigure | LineFigure | BarFigure | GridFigure | TableFigure;

/** What a command hands to `writeRun`. */
export interface RunResults {
  /** The command that produced the run. */
  command: RunCommand;
  /** Title of the report page (what was run on what). */
  title: string;
  /** The random seed used (recorded so the run can be repeated). */
  seed?: number;
  /** Every parameter, including defaults chosen by svlens. */
  parameters: Record<string, unknown>;
  /** The headline numbers (also printed by `--json`). */
  summary: Record<string, unknown>;
  /** Figures of the report, in order. */
  figures: Figure[];
  /** Command-specific extra data (kept in results.json). */
  [key: string]: unknown;
}

/** `results.json` as written: the run plus the envelope `writeRun` adds. */
export interface StoredResults extends RunResults {
  /** Version of schema/results.schema.json this file follows. */
  schemaVersion: number;
  /** The svlens version that wrote the file. */
  svlensVersion: string;
  /** ISO 8601 UTC timestamp. */
  createdAt: string;
  /** Names, dtypes and shapes of the tensors in `arrays.safetensors` (absent if none). */
  arrays?: Record<string, { dtype: "F32" | "F64"; shape: number[] }>;
}

/** One named array for `arrays.safetensors` (row-major). */
export interface ArrayEntry {
  /** Dimensions, outermost first. */
  shape: number[];
  /** Row-major elements (length = product of `shape`). */
  data: Float32Array | Float64Array;
}
