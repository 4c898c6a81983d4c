/**
 * Sample `RunResults` in the shapes of every command (toy, svd, sad, sweep), covering every
 * figure kind; shared by the report, schema and browser tests.
 * @module
 */
import type { Figure, RunCommand, RunResults } from "../../src/report/mod.ts";

const TOKENS = [
  "<|endoftext|>",
  "When",
  " Mary",
  " and",
  " John",
  " went",
  " to",
  " the",
  " store",
];

function heat(n: number, m: number, f: (i: number, j: number) => number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, j) => f(i, j)));
}

/** One figure of every kind (a grid of bar histograms included). */
export function everyFigure(): Figure[] {
  const hist = (l: number, h: number): Figure => ({
    kind: "bar",
    title: `L${l}H${h}`,
    xLabel: "N_recon",
    yLabel: "firings",
    categories: ["1", "2", "3", "4", "5+"],
    series: [{ name: "count", values: [l + h + 3, 4, 2, 1, h] }],
  });
  return [
    {
      kind: "heatmap",
      title: "Relative attention contribution (L9H6)",
      xLabel: "key (source) token",
      yLabel: "query (destination) token",
      x: TOKENS,
      y: TOKENS,
      values: heat(TOKENS.length, TOKENS.length, (i, j) => (j <= i ? Math.sin(i - 2 * j) : 0)),
      diverging: true,
      caption: "Signed contribution; blue negative, red positive.",
    },
    {
      kind: "heatmap",
      title: "Alignment |cos| (singular vector × feature)",
      xLabel: "feature",
      yLabel: "singular vector",
      x: ["f0", "f1", "f2", "f3"],
      y: ["u1", "u2", "u3"],
      values: heat(3, 4, (i, j) => Math.abs(Math.cos(i + j))),
    },
    {
      kind: "line",
      title: "Alignment over training",
      xLabel: "step",
      yLabel: "mean |cos|",
      series: [
        { name: "SVD basis", x: [1, 10, 100, 1000, 10000], y: [0.1, 0.2, 0.6, 0.9, 0.95] },
        { name: "rotated basis", x: [1, 10, 100, 1000, 10000], y: [0.1, 0.12, 0.15, 0.14, 0.15] },
      ],
      logX: true,
    },
    {
      kind: "bar",
      title: "Singular values of Ω (L0H0)",
      xLabel: "index k",
      yLabel: "σ_k",
      categories: Array.from({ length: 16 }, (_, k) => String(k + 1)),
      series: [{ name: "σ", values: Array.from({ length: 16 }, (_, k) => 10 * 0.6 ** k) }],
      logY: true,
    },
    {
      kind: "grid",
      title: "N_recon per head",
      columns: 3,
      cells: [hist(0, 1), hist(0, 2), hist(1, 0), hist(1, 3), hist(2, 2), hist(3, 1)],
      caption: "Histograms of the number of singular-vector pairs needed per firing.",
    },
    {
      kind: "table",
      title: "Heads",
      columns: ["head", "σ₁", "N_recon (median)"],
      rows: [["9.6", 12.5, 2], ["9.9", 11.25, 1]],
    },
  ];
}

/** A sample run for `command` in the shape its CLI writes (see schema/results.schema.json). */
export function sampleRun(command: RunCommand): RunResults {
  // One basis's statistics as `svlens sad` writes them (src/cli/_sad_report.ts).
  const stats = (meanNRecon: number, meanSparseness: number) => ({
    meanNRecon,
    medianNRecon: Math.round(meanNRecon),
    histogram: [6, 4, 2],
    meanSparseness,
    medianSparseness: meanSparseness,
  });
  const heads = [{
    head: "9.6",
    nFirings: 12,
    nDropped: 0,
    ...stats(1.5, 0.4),
    rotated: stats(2.5, 0.7),
    canonical: { type: "name-mover", n: 1, svd: stats(1, 0.3), rotated: stats(3, 0.8) },
  }];
  type Shape = {
    parameters: Record<string, unknown>;
    summary: Record<string, unknown>;
    heads?: unknown;
    curves?: unknown;
  };
  const shapes: Record<RunCommand, Shape> = {
    toy: {
      parameters: { preset: "single-pair", steps: 2000, lr: 0.01 },
      summary: { meanMatchedCos: 0.93, sigmaGap: 12.5, seconds: 1.5 },
    },
    svd: {
      parameters: { model: "gpt2", circuits: ["qk"], bias: "offset", heads: ["0.0", "0.1"] },
      summary: { heads: 2, circuits: ["qk"], maxSigma1: 12.5 },
      heads: [
        { circuit: "qk", layer: 0, head: 0, singularValues: [12.5, 3, 1] },
        { circuit: "qk", layer: 0, head: 1, singularValues: [11.25, 2, NaN] },
      ],
    },
    sad: {
      parameters: {
        model: "gpt2",
        task: "ioi",
        n: 8,
        seed: 7,
        rotationSeed: 7,
        tau: 0.5,
        heads: ["9.6"],
      },
      summary: { prompts: 8, analysedPrompts: 8, heads },
    },
    sweep: {
      parameters: {
        model: "EleutherAI/pythia-160m",
        revisions: ["step1000", "step2000"],
        n: 8,
        seed: 7,
        rotationSeed: 7,
        tau: "1/m",
        heads: "all",
      },
      summary: { revisions: 2, done: 2, pending: [] },
      curves: [{
        head: "9.6",
        x: [1000, 2000],
        sparseness: [0.5, 0.4],
        rotatedSparseness: [0.6, 0.6],
        nRecon: [2, 1.5],
        rotatedNRecon: [3, NaN], // written as null: no analysed firing
      }],
    },
  };
  return {
    command,
    title: `Sample ${command} report`,
    seed: 7,
    ...shapes[command],
    figures: everyFigure(),
  };
}
