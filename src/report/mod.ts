/**
 * Reports: `writeRun` (results.json + arrays.safetensors + self-contained report.html), the
 * results contract types, SVG figure rendering and terminal tables.
 * @module
 */
export type {
  ArrayEntry,
  BarFigure,
  BarSeries,
  Figure,
  GridFigure,
  HeatmapFigure,
  LineFigure,
  LineSeries,
  RunCommand,
  RunResults,
  StoredResults,
  TableFigure,
} from "./types.ts";
export { assertWritable, checkOutputDir, RUN_FILES, storeResults, writeRun } from "./write_run.ts";
export { formatTable } from "./table.ts";
export { renderReport, REPORT_CSP } from "./html.ts";
export { checkResults, parseResults, ResultsFormatError } from "./validate.ts";
export { renderFigure, type RenderOptions } from "./svg.ts";
