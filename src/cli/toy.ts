/**
 * `svlens toy`: trains the toy model of a preset, analyses it, writes DIR/results.json,
 * DIR/arrays.safetensors and DIR/report.html, and prints a table (or the JSON summary).
 * Permissions: `--allow-read=<out dir> --allow-write=<out dir>` only (the atomic rename needs
 * read; nothing else is read, no network).
 * @module
 */
import { UsageError } from "../errors.ts";
import { checkOutputDir, formatTable, writeRun } from "../report/mod.ts";
import type { ArrayEntry, Figure, RunResults } from "../report/mod.ts";
import { progress } from "../io/progress.ts";
import { intOption, parseCommandArgs } from "./_args.ts";
import {
  type ExperimentResult,
  KEY_ALIASES,
  parseSetting,
  type PointResult,
  type Preset,
  preset,
  type PresetName,
  PRESETS,
  runExperiment,
  SAD_QUERIES,
  SETTABLE_KEYS,
  type ToyConfig,
} from "../toy/mod.ts";

/** `text` broken at spaces into lines of at most `width` characters, each indented by `indent`. */
function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l).join("\n");
}

const USAGE = `usage: svlens toy [--preset ${PRESETS.join("|")}] [--seed N] [--steps N]
                  [--set KEY=VALUE]... [--out DIR] [--json]

Trains the toy model (features → autoencoder + one attention head) and checks that the
singular vectors of Ω = W_Qᵀ W_K align with the attended features.
  --preset   experiment (default single-pair)
  --seed     random seed (default 0)
  --steps    training steps per run (default: the preset's)
  --set      any other configuration value, repeatable, applied after --seed/--steps, e.g.
             --set p=0.05 --set lambda=2 --set attnLoss=mse. Keys:
${wrap(SETTABLE_KEYS.join(", "), 13, 92)}
             aliases ${Object.entries(KEY_ALIASES).map(([a, k]) => `${a}=${k}`).join(", ")}
  --out      output directory (default out/toy/<preset>)
  --json     print only the JSON summary on stdout
Permissions: --allow-read=<out dir> --allow-write=<out dir> (read too: the atomic rename needs
it), e.g. deno run --allow-read=out/toy --allow-write=out/toy cli.ts toy`;

/** Runs `svlens toy` with the arguments after the command name; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    preset: { type: "string" },
    seed: { type: "string" },
    steps: { type: "string" },
    set: { type: "string", multiple: true },
    out: { type: "string" },
    json: { type: "boolean" },
  }, USAGE);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) {
    throw new UsageError(
      `svlens toy takes no positional arguments, got '${positionals[0]}'\n${USAGE}`,
    );
  }
  const name = (values.preset ?? "single-pair") as PresetName;
  if (!PRESETS.includes(name)) {
    throw new UsageError(`--preset must be one of ${PRESETS.join(", ")}, got '${name}'\n${USAGE}`);
  }
  const seed = intOption("seed", values.seed, 0);
  const overrides: Partial<ToyConfig> = values.steps === undefined
    ? { seed }
    : { seed, steps: intOption("steps", values.steps, 0) };
  const chosen = presetWithSettings(name, overrides, values.set ?? []);
  const out = values.out ?? `out/toy/${name}`;
  await checkOutputDir(out, "toy"); // before training, not after
  const nPoints = chosen.sweep?.values.length ?? 1;
  const bar = progress(`toy ${name}: training`, nPoints * chosen.config.steps, {
    quiet: values.json === true,
  });
  const result = runExperiment(chosen, { onStep: () => bar.tick() });
  bar.done();
  const { results, arrays } = buildResults(result);
  await writeRun(out, results, arrays);
  if (values.json) {
    const extra = results.points === undefined ? {} : { points: results.points };
    console.log(JSON.stringify({ ...results.summary, ...extra, outDir: out }, jsonNumber, 2));
  } else {
    console.log(humanTable(result));
    console.error(`report: ${out}/report.html  (results.json, arrays.safetensors beside it)`);
  }
  return 0;
}

/** The preset with `--set` settings applied; bad keys or values are usage errors. */
function presetWithSettings(
  name: PresetName,
  overrides: Partial<ToyConfig>,
  settings: string[],
): Preset {
  const swept = preset(name).sweep?.field;
  for (const setting of settings) {
    let parsed: Partial<ToyConfig>;
    try {
      parsed = parseSetting(setting);
    } catch (error) {
      throw new UsageError(`--set: ${(error as Error).message}\n${USAGE}`);
    }
    if (swept !== undefined && swept in parsed) {
      throw new UsageError(`--set: the ${name} preset sweeps ${swept}; it cannot be set`);
    }
    Object.assign(overrides, parsed);
  }
  try {
    return preset(name, overrides);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`--set: ${error.message}\n${USAGE}`);
    throw error;
  }
}

function jsonNumber(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

const fmt = (v: number | undefined, digits = 4): string =>
  v === undefined || !Number.isFinite(v) ? "-" : Number(v.toPrecision(digits)).toString();

/** The per-point columns both sweep tables show (terminal and report), after the swept value. */
const SWEEP_COLUMNS = ["mean |cos|", "σ gap", "theory |cos|", "theory span", "‖E_X‖₂", "ρ"];

/** One sweep point's cells under {@linkcode SWEEP_COLUMNS}. */
function sweepCells(summary: PointResult["summary"]): string[] {
  return [
    fmt(summary.meanMatchedCos),
    fmt(summary.sigmaGap),
    fmt(summary.theoryCos),
    fmt(summary.theorySubspaceMin),
    fmt(summary.normEX),
    fmt(summary.rho),
  ];
}

function humanTable(res: ExperimentResult): string {
  const sweep = res.preset.sweep;
  if (!sweep) {
    const s = res.points[0]!.summary;
    const rows: (string | number)[][] = [
      ["|cos(w_a, u)| (first pair)", fmt(s.cosQuery)],
      ["|cos(w_b, v)| (first pair)", fmt(s.cosKey)],
      ["mean matched |cos|", fmt(s.meanMatchedCos)],
      ["σ1/σ2", fmt(s.sigmaRatio)],
      [
        `σ gap σ${res.preset.config.pairs.length}/σ${res.preset.config.pairs.length + 1}`,
        fmt(s.sigmaGap),
      ],
      ["subspace cos (query, key)", `${fmt(s.subspaceQuery)}, ${fmt(s.subspaceKey)}`],
      ["theory Ω*: |cos| by rank (mean, min)", `${fmt(s.theoryCos)}, ${fmt(s.theoryMinCos)}`],
      ["theory Ω*: span cos (min)", fmt(s.theorySubspaceMin)],
      ["theory Ω*: max |σ_k/σ_1 − σ*_k/σ*_1|", fmt(s.theorySigmaRatioMaxDiff)],
      ["SAD: N_recon = 1 (target firings)", fmt(s.sadTargetNRecon1)],
      [
        "SAD: sparseness SVD vs rotated",
        `${fmt(s.sadTargetSparseness)} vs ${fmt(s.sadTargetRotatedSparseness)}`,
      ],
      [
        "SAD: mean N_recon SVD vs rotated",
        `${fmt(s.sadTargetMeanNRecon)} vs ${fmt(s.sadTargetRotatedMeanNRecon)}`,
      ],
      ["‖E_X‖₂, ρ", `${fmt(s.normEX)}, ${fmt(s.rho)}`],
      ["train time (s)", fmt(s.trainSeconds, 3)],
    ];
    return formatTable(["quantity", "value"], rows);
  }
  const rows = res.points.map((p) => [
    fmt(p.config[sweep.field]),
    ...sweepCells(p.summary),
    fmt(p.summary.finalAttn),
  ]);
  return formatTable(
    [sweep.field === "anisotropy" ? "α" : "λ", ...SWEEP_COLUMNS, "L_attn"],
    rows,
  );
}

function range(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + (prefix === "f" ? 0 : 1)}`);
}

function matrixRows(data: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from(
    { length: rows },
    (_, r) => Array.from({ length: cols }, (_, c) => data[r * cols + c]!),
  );
}

/** Figures of one trained point (suffix distinguishes sweep points). */
function pointFigures(p: PointResult, suffix = ""): Figure[] {
  const cfg = p.config;
  const al = p.alignment;
  const K = al.triplets;
  const n = cfg.nFeatures;
  const P = cfg.pairs.length;
  const snaps = p.train.snapshots;
  const steps = snaps.map((s) => s.step);
  const nSig = Math.min(K, P + 1);
  const attended = cfg.pairs.map((pr) => `(${pr.query},${pr.key})`).join(" ");
  return [
    {
      kind: "heatmap",
      title: `|cos(w_i, u_k)|: features vs left singular vectors${suffix}`,
      xLabel: "left singular vector u_k",
      yLabel: "feature i",
      x: range(K, "u"),
      y: range(n, "f"),
      values: matrixRows(al.cosU, n, K),
      diverging: false,
      caption:
        `Target pairs (query, key): ${attended}. Query features should light up one u_k each.`,
    },
    {
      kind: "heatmap",
      title: `|cos(w_i, v_k)|: features vs right singular vectors${suffix}`,
      xLabel: "right singular vector v_k",
      yLabel: "feature i",
      x: range(K, "v"),
      y: range(n, "f"),
      values: matrixRows(al.cosV, n, K),
      diverging: false,
      caption: "Key features should light up the v_k of their pair's triplet.",
    },
    {
      kind: "bar",
      title: `Spectrum of Ω = W_Qᵀ W_K${suffix}`,
      xLabel: "k",
      yLabel: "σ_k",
      categories: range(K, "σ"),
      series: [{ name: "σ_k", values: al.sigma }],
    },
    {
      kind: "line",
      title: `Alignment over training${suffix}`,
      xLabel: "step",
      yLabel: "|cos|",
      series: [
        { name: "mean matched |cos|", x: steps, y: snaps.map((s) => s.meanMatchedCos) },
        { name: "subspace cos (query)", x: steps, y: snaps.map((s) => s.subspaceQuery) },
        { name: "subspace cos (key)", x: steps, y: snaps.map((s) => s.subspaceKey) },
      ],
    },
    {
      kind: "line",
      title: `Singular values over training${suffix}`,
      xLabel: "step",
      yLabel: "σ_k",
      series: Array.from({ length: nSig }, (_, k) => ({
        name: `σ${k + 1}`,
        x: steps,
        y: snaps.map((s) => s.sigma[k]!),
      })),
    },
    {
      kind: "heatmap",
      title: `Feature orthogonalisation: |cos(w_i, w_j)| after training${suffix}`,
      xLabel: "feature j",
      yLabel: "feature i",
      x: range(n, "f"),
      y: range(n, "f"),
      values: matrixRows(p.orthogonality.final.cos, n, n),
      diverging: false,
      caption: `mean |cos| attended vs other features: ${
        fmt(p.orthogonality.init.attendedOther)
      } at init → ${fmt(p.orthogonality.final.attendedOther)} trained`,
    },
    {
      kind: "bar",
      title: `Toy SAD: N_recon of target-pair firings${suffix}`,
      xLabel: "N_recon",
      yLabel: "firings",
      categories: range(K, ""),
      series: [
        { name: "SVD basis", values: p.sad.target.nReconCounts },
        { name: "random rotation", values: p.sad.targetRotated.nReconCounts },
      ],
      caption: `Firings = (query, key) with attention ≥ 1/m on a held-out batch; ` +
        `mean Rolls–Tovee sparseness ${fmt(p.sad.target.meanSparseness)} (SVD) vs ${
          fmt(p.sad.targetRotated.meanSparseness)
        } (rotated); lower = sparser.`,
    },
  ];
}

/** results.json content and arrays of an experiment. */
export function buildResults(
  res: ExperimentResult,
): { results: RunResults; arrays: Record<string, ArrayEntry> } {
  const pr = res.preset;
  const cfg = pr.config;
  const arrays: Record<string, ArrayEntry> = {};
  const addPoint = (p: PointResult, prefix: string) => {
    const c = p.config;
    const { nFeatures: n, dModel: d, dHead: h } = c;
    const K = p.alignment.triplets;
    arrays[`${prefix}W`] = { shape: [d, n], data: p.train.params.W.slice() };
    arrays[`${prefix}b`] = { shape: [n], data: p.train.params.b.slice() };
    arrays[`${prefix}W_Q`] = { shape: [h, d], data: p.train.params.WQ.slice() };
    arrays[`${prefix}W_K`] = { shape: [h, d], data: p.train.params.WK.slice() };
    arrays[`${prefix}U`] = { shape: [d, p.alignment.svd.u.cols], data: p.alignment.svd.u.data };
    arrays[`${prefix}S`] = { shape: [p.alignment.svd.s.length], data: p.alignment.svd.s };
    arrays[`${prefix}Vt`] = { shape: [p.alignment.svd.vt.rows, d], data: p.alignment.svd.vt.data };
    arrays[`${prefix}cosU`] = { shape: [n, K], data: p.alignment.cosU };
    arrays[`${prefix}cosV`] = { shape: [n, K], data: p.alignment.cosV };
    arrays[`${prefix}OmegaStar`] = { shape: [d, d], data: p.optimum.omega };
    if (p.train.mu) arrays[`${prefix}mu`] = { shape: [d], data: p.train.mu };
  };
  let summary: Record<string, unknown>;
  let detail: Record<string, unknown>;
  let figures: Figure[];
  if (!pr.sweep) {
    const p = res.points[0]!;
    addPoint(p, "");
    summary = { preset: pr.name, ...p.summary };
    detail = { matches: p.alignment.matches, theory: p.theory };
    figures = [...pointFigures(p), summaryTable(p), theoryTable(p)];
  } else {
    const sw = pr.sweep;
    res.points.forEach((p, i) => addPoint(p, `point${i}.`));
    const label = sw.field === "anisotropy" ? "α" : "λ";
    const xs = sw.values;
    const ys = (key: string) => res.points.map((p) => p.summary[key]!);
    summary = {
      preset: pr.name,
      field: sw.field,
      values: xs,
      meanMatchedCos: ys("meanMatchedCos"),
      sigmaGap: ys("sigmaGap"),
      theoryCos: ys("theoryCos"),
      theorySubspaceMin: ys("theorySubspaceMin"),
      normEX: ys("normEX"),
      rho: ys("rho"),
    };
    detail = { points: res.points.map((p, i) => ({ [sw.field]: xs[i], ...p.summary })) };
    figures = [
      {
        kind: "line",
        title: `Alignment vs ${label}`,
        xLabel: sw.field === "anisotropy" ? "ρ = ‖E_X‖₂ / √E‖x‖²" : "λ",
        yLabel: "|cos|",
        logX: sw.field === "lambda",
        series: [
          {
            name: "mean matched |cos|",
            x: sw.field === "anisotropy" ? ys("rho") : xs,
            y: ys("meanMatchedCos"),
          },
          {
            name: "theory oracle |cos|",
            x: sw.field === "anisotropy" ? ys("rho") : xs,
            y: ys("theoryCos"),
          },
          {
            name: "subspace cos (query)",
            x: sw.field === "anisotropy" ? ys("rho") : xs,
            y: ys("subspaceQuery"),
          },
        ],
        caption: sw.field === "anisotropy"
          ? "Each point is one trained model with offset α·μ added to every token."
          : undefined,
      },
      {
        kind: "table",
        title: `Sweep over ${label}`,
        columns: [label, ...SWEEP_COLUMNS, "N_recon=1 (target)"],
        rows: res.points.map((p, i) => [
          xs[i]!,
          ...sweepCells(p.summary),
          fmt(p.summary.sadTargetNRecon1),
        ]),
      },
      ...pointFigures(res.points[0]!, ` (${label} = ${xs[0]})`).slice(0, 4),
      ...pointFigures(res.points[res.points.length - 1]!, ` (${label} = ${xs[xs.length - 1]})`)
        .slice(0, 4),
    ];
  }
  const results: RunResults = {
    command: "toy",
    title: pr.title,
    seed: cfg.seed,
    parameters: {
      preset: pr.name,
      ...cfg,
      sweep: pr.sweep ?? null,
      init: "xavier-normal (std √(2/(fan_in+fan_out))), b = 0",
      optimizer: "AdamW (torch semantics), constant lr, one parameter group",
      features: "f_i = 0 w.p. 1−p else Uniform[0,1], fresh every step",
      importance: `I_i = ${cfg.importanceDecay}^i`,
      rngStreams: "init Rng(seed), data Rng(seed+1), evaluation/SAD/rotation Rng(seed+2)",
      sadQueries: SAD_QUERIES,
      logitScale: "none (l = x_qᵀ Ω x_k)",
      avgCos: "mean over pairs of ½(|cos(w_a,u_k)| + |cos(w_b,v_k)|), Hungarian matching",
      theoryOracle: {
        optimum: cfg.attnLoss === "ce"
          ? "Ω* = Σ_R⁺ (Σ_ab T_ab x_a y_bᵀ) Cov(x)⁺, x_a = E[f_a x] (uncentred), " +
            "y_b = E[f_b (x − E x)] (keys centred: softmax shift-invariance, small-logit limit)"
          : "Ω* = Σ_R⁺ (Σ_ab T_ab x_a y_bᵀ) Σ_S⁺, Σ = E[x xᵀ], x_a = E[f_a x], y_b = E[f_b x]",
        moments: "closed form for Bernoulli(p)·Uniform[0,1] features at the trained W and μ; " +
          "pseudo-inverses cut singular values ≤ 1e-10·σ_max",
        comparison: "SVD of Ω*; trained triplet k vs Ω*'s triplet k for k = 1..R, " +
          "R = min(#pairs, rank Ω*, triplets)",
        theoryCos: "mean over k ≤ R of ½(|cos(u_k, u*_k)| + |cos(v_k, v*_k)|)",
        theorySubspace: "cosines of the principal angles between span{u_1..u_R} and " +
          "span{u*_1..u*_R} (and v)",
        singlePair: "for one pair Ω* is rank one: u*_1 ∝ Σ_R⁺ x_a, v*_1 ∝ Σ_S⁺ y_b",
      },
      anisotropyDefinition: "x = W f + α·μ̂ (μ̂ random unit vector); ρ = ‖E_X‖₂/√E‖x‖²",
    },
    summary: { ...summary, seconds: res.seconds },
    ...detail,
    figures,
  };
  return { results, arrays };
}

function summaryTable(p: PointResult): Figure {
  return {
    kind: "table",
    title: "Matched pairs",
    columns: [
      "pair (a,b)",
      "weight",
      "triplet",
      "|cos(w_a,u)|",
      "|cos(w_b,v)|",
      "σ",
    ],
    rows: p.alignment.matches.map((mt, i) => [
      `(${mt.query},${mt.key})`,
      fmt(p.config.pairs[i]!.weight * p.config.targetScale),
      mt.triplet + 1,
      fmt(mt.cosQuery),
      fmt(mt.cosKey),
      fmt(mt.sigma),
    ]),
  };
}

function theoryTable(p: PointResult): Figure {
  const t = p.theory;
  return {
    kind: "table",
    title: "Theory oracle Ω* = Σ_R⁺ (Σ T_ab x_a y_bᵀ) Σ_S⁺ vs trained Ω, rank by rank",
    columns: ["k", "|cos(u_k, u*_k)|", "|cos(v_k, v*_k)|", "σ_k/σ_1", "σ*_k/σ*_1"],
    rows: t.cosU.map((c, k) => [
      k + 1,
      fmt(c),
      fmt(t.cosV[k]),
      fmt(t.sigmaRatio[k]),
      fmt(t.optimumSigmaRatio[k]),
    ]),
    caption: `Principal-angle cosines between the top-${t.ranks} spans: left ${
      t.subspaceU.map((x) => fmt(x)).join(", ")
    }; right ${t.subspaceV.map((x) => fmt(x)).join(", ")}.`,
  };
}
