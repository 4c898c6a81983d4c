/**
 * `svlens svd MODEL`: the SVD of every (or the chosen) head's QK or OV circuit, computed from the
 * factors (never a dense d_model×d_model SVD), after TransformerLens's default weight processing.
 * Prints a table (or `--json`), and with `--out DIR` writes results.json, arrays.safetensors (U, S,
 * V per head) and report.html.
 *
 * Permissions (local model directory): `--allow-read=MODEL` and, with `--out DIR`,
 * `--allow-read=MODEL,DIR --allow-write=DIR` (the atomic rename needs read on DIR). Hub ids:
 * `--allow-read=CACHE` instead of MODEL plus `--allow-env` for the variables that locate the cache
 * (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, HOME); to download also `--allow-write=CACHE`,
 * `--allow-env=HF_ENDPOINT,HF_TOKEN,HF_HUB_OFFLINE` and
 * `--allow-net=huggingface.co,*.huggingface.co,*.hf.co` (tests/cli/hub_ids_test.ts).
 * @module
 */
import {
  allHeads,
  type CircuitKind,
  type HeadSvd,
  iterateHeadSvds,
  type LeadingTriplets,
  leadingTriplets,
  processWeights,
  QK_BIAS_NOTES,
  QK_BIASES,
  type QkBias,
  readoutTriplets,
  type TripletReadout,
} from "../circuits/mod.ts";
import { ModelFormatError, UsageError } from "../errors.ts";
import { progress } from "../io/progress.ts";
import { loadModel } from "../model/load.ts";
import { loadTokenizer, type Tokenizer } from "../model/tokenizer.ts";
import type { Model } from "../model/types.ts";
import type { ArrayEntry, Figure, RunResults } from "../report/types.ts";
import { formatTable } from "../report/table.ts";
import { checkOutputDir, writeRun } from "../report/write_run.ts";
import { headsOption, intOption, NO_OUT_NOTE, parseCommandArgs } from "./_args.ts";
import { checkHeadsExist, modelArg, processingNames, processingOption } from "./_options.ts";

/** The usage text printed with `--help` and on usage errors. */
export const USAGE: string = [
  "usage: svlens svd MODEL [--revision R] [--circuit qk|ov|qk,ov] [--bias VARIANT] [--heads L.H,...]",
  "                  [--top-k N] [--readout N] [--rotary-offset D] [--processing P|--raw]",
  "                  [--offline] [--out DIR] [--json]",
  "",
  "  MODEL            a Hugging Face-layout model directory (config.json, model.safetensors, tokenizer),",
  "                   or a Hub id (gpt2, EleutherAI/pythia-160m) read from / downloaded into the",
  "                   Hugging Face cache",
  "  --revision R     Hub revision (branch, tag, commit, e.g. step1000)",
  "  --offline        Hub ids: use only the local Hugging Face cache",
  "  --circuit        qk (default), ov, or qk,ov for both",
  "  --bias           QK bias handling: offset (default; ACC++: Ω = W_Q W_Kᵀ, biases as residual",
  "                   offsets), augmented (SAD 2024: (d+1)×(d+1)), source / destination (ACC",
  "                   one-sided), none (TransformerLens QK, biases dropped)",
  "  --heads L.H,...  heads to analyse (default: all)",
  "  --top-k N        tokens listed per singular vector in the readout (default 10)",
  "  --readout N      leading singular triplets per head read out against the vocabulary",
  "                   (default 1; 0 = none)",
  "  --rotary-offset D  rotary models, QK: SVD of the per-offset Ω_Δ (Δ = query − key position)",
  "                   instead of the position-independent Ω",
  "  --processing P   TransformerLens weight processing: fold_ln, center_writing_weights,",
  "                   center_unembed, fold_value_biases (comma-separated), none, or default",
  "                   (all four, TransformerLens's from_pretrained default)",
  "  --raw            = --processing none (raw Hugging Face weights)",
  "  --out DIR        write DIR/results.json, DIR/arrays.safetensors, DIR/report.html",
  "  --json           print only a JSON summary on stdout",
  "",
  "Singular values are of the UNSCALED bilinear form; softmax logits divide by sqrt(d_head).",
].join("\n");

const OPTIONS = {
  revision: { type: "string" },
  circuit: { type: "string" },
  bias: { type: "string" },
  heads: { type: "string" },
  "top-k": { type: "string" },
  readout: { type: "string" },
  "rotary-offset": { type: "string" },
  raw: { type: "boolean" },
  processing: { type: "string" },
  offline: { type: "boolean" },
  out: { type: "string" },
  json: { type: "boolean" },
} as const;

function parseCircuits(value: string | undefined): CircuitKind[] {
  const items = (value ?? "qk").split(",").map((s) => s.trim());
  const out: CircuitKind[] = [];
  for (const item of items) {
    if (item !== "qk" && item !== "ov") {
      throw new UsageError(`--circuit must be qk, ov or qk,ov; got '${value}'\n${USAGE}`);
    }
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

function parseBias(value: string | undefined): QkBias {
  const bias = (value ?? "offset") as QkBias;
  if (!QK_BIASES.includes(bias)) {
    throw new UsageError(`--bias must be one of ${QK_BIASES.join(", ")}; got '${value}'\n${USAGE}`);
  }
  return bias;
}

function parseOffset(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n)) {
    throw new UsageError(
      `--rotary-offset must be an integer (query − key position), got '${value}'`,
    );
  }
  return n;
}

/**
 * A token id as readable text, JSON-quoted so spaces and newlines show; a token that is not valid
 * UTF-8 on its own (a byte of a multi-byte character) shows its vocabulary entry in brackets.
 */
function tokenText(tokenizer: Tokenizer | undefined, id: number): string {
  if (tokenizer === undefined) return `#${id}`;
  try {
    const text = tokenizer.tokenToString(id);
    if (!text.includes("\uFFFD")) return JSON.stringify(text);
    const raw = tokenizer.idToToken(id);
    return raw === undefined ? `#${id}` : `[${raw}]`;
  } catch {
    return `#${id}`; // ids beyond the tokenizer's vocabulary (padded embedding rows)
  }
}

/** What is kept of each head after its SVD (the float64 vectors are dropped). */
type HeadSummary = Omit<HeadSvd, "svd">;

function headLabel(h: { layer: number; head: number }): string {
  return `${h.layer}.${h.head}`;
}

/** Figures: per-circuit spectra grid, σ₁ and effective-rank heat maps, readout table. */
function figures(
  model: Model,
  circuit: CircuitKind,
  svds: HeadSummary[],
  readouts: TripletReadout[][],
  tokenizer: Tokenizer | undefined,
  scaleNote: string,
): Figure[] {
  const name = circuit.toUpperCase();
  const { nLayers, nHeads } = model.config;
  const out: Figure[] = [];
  const layers = [...new Set(svds.map((h) => h.layer))].sort((a, b) => a - b);
  // One panel per layer, one line per head: 12 readable panels rather than 144 tiny ones.
  out.push({
    kind: "grid",
    title: `${name} singular value spectra (unscaled): one panel per layer, one line per head`,
    caption: scaleNote,
    columns: Math.min(layers.length, 4),
    cells: layers.map((l) => ({
      kind: "line",
      title: `${name} layer ${l}`,
      xLabel: "k",
      yLabel: "σ_k",
      logY: true,
      series: svds.filter((h) => h.layer === l).map((h) => ({
        name: `head ${h.head}`,
        x: h.singularValues.map((_, k) => k + 1),
        y: h.singularValues,
      })),
    })),
  });
  const headIdx = [...new Set(svds.map((h) => h.head))].sort((a, b) => a - b);
  if (layers.length > 1 || headIdx.length > 1) {
    const grid = (pick: (h: HeadSummary) => number) =>
      layers.map((l) =>
        headIdx.map((hh) => {
          const h = svds.find((x) => x.layer === l && x.head === hh);
          return h === undefined ? Number.NaN : pick(h);
        })
      );
    const axes = {
      xLabel: "head",
      yLabel: "layer",
      x: headIdx.map(String),
      y: layers.map(String),
      diverging: false,
    };
    out.push({
      kind: "heatmap",
      title: `${name} σ₁ per head (unscaled)`,
      ...axes,
      values: grid((h) => h.singularValues[0] ?? 0),
      caption: `${svds.length} of ${nLayers}×${nHeads} heads; ${scaleNote}`,
    });
    out.push({
      kind: "heatmap",
      title: `${name} effective rank per head (exp of the entropy of σ/Σσ)`,
      ...axes,
      values: grid((h) => h.effectiveRank),
    });
  }
  if (readouts.some((r) => r.length > 0)) {
    const [uName, vName] = circuit === "qk"
      ? ["query side (u, W_E)", "key side (v, W_E)"]
      : ["read side (u, W_E)", "written side (v, W_U)"];
    const tokens = (entries: { token: number }[]) =>
      entries.slice(0, 5).map((e) => tokenText(tokenizer, e.token)).join(" ");
    out.push({
      kind: "table",
      title: `${name} vocabulary readout of the leading singular vectors`,
      columns: ["head", "k", "σ_k", `${uName} +`, `${uName} −`, `${vName} +`, `${vName} −`],
      rows: svds.flatMap((h, i) =>
        readouts[i]!.map((r) => [
          headLabel(h),
          r.k + 1,
          r.sigma,
          tokens(r.u.top),
          tokens(r.u.bottom),
          tokens(r.v.top),
          tokens(r.v.bottom),
        ])
      ),
      caption: "Singular vectors have an arbitrary joint sign, so both ends are listed; " +
        "canonical sign: the largest-|entry| of u_k is positive.",
    });
  }
  return out;
}

/** Adds U (n×k, f32), S (k, f64), V (m×k, f32) of one head to the arrays for safetensors. */
function addHeadArrays(h: HeadSvd, arrays: Record<string, ArrayEntry>): void {
  const { u, s, vt } = h.svd;
  const key = `${h.circuit}.L${h.layer}H${h.head}`;
  arrays[`${key}.U`] = { shape: [u.rows, u.cols], data: Float32Array.from(u.data) };
  arrays[`${key}.S`] = { shape: [s.length], data: Float64Array.from(s) };
  const v = new Float32Array(vt.cols * vt.rows);
  for (let k = 0; k < vt.rows; k++) {
    for (let i = 0; i < vt.cols; i++) v[i * vt.rows + k] = vt.data[k * vt.cols + i]!;
  }
  arrays[`${key}.V`] = { shape: [vt.cols, vt.rows], data: v };
}

/** Drops the weights `svd` never reads (MLP, ln2): a third of GPT-2's parameters. */
function dropUnused(model: Model): void {
  for (const name of [...model.weights.keys()]) {
    if (/^blocks\.\d+\.(mlp\.|ln2\.)/.test(name)) model.weights.delete(name);
  }
}

function readoutJson(r: TripletReadout, tokenizer: Tokenizer | undefined) {
  const side = (x: TripletReadout["u"]) => ({
    top: x.top.map((e) => ({ ...e, text: tokenizer ? tokenText(tokenizer, e.token) : undefined })),
    bottom: x.bottom.map((e) => ({
      ...e,
      text: tokenizer ? tokenText(tokenizer, e.token) : undefined,
    })),
  });
  return { k: r.k, sigma: r.sigma, u: side(r.u), v: side(r.v) };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function roundAll(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round3(v)]));
}

/** Runs `svlens svd` with the arguments after the command name; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const modelId = modelArg(positionals, USAGE);
  const circuits = parseCircuits(values.circuit);
  const bias = parseBias(values.bias);
  const topK = intOption("top-k", values["top-k"], 10);
  const readoutVectors = intOption("readout", values.readout, 1);
  const rotaryOffset = parseOffset(values["rotary-offset"]);
  const processing = processingOption(values.processing, values.raw, USAGE);
  const requested = headsOption(values.heads);
  const quiet = values.json === true;

  const started = performance.now();
  // Wall seconds per phase (reported in the summary; the benchmark reads them).
  const timings = { load: 0, process: 0, svd: 0, readout: 0, write: 0 };
  let mark = started;
  const lap = (phase: keyof typeof timings): void => {
    const now = performance.now();
    timings[phase] += (now - mark) / 1000;
    mark = now;
  };
  if (values.out !== undefined) await checkOutputDir(values.out, "svd");
  const loaded = await loadModel(modelId, { revision: values.revision, offline: values.offline });
  const { config } = loaded;
  const heads = requested ?? allHeads(loaded);
  checkHeadsExist(heads, config, modelId);
  if (rotaryOffset !== undefined && config.rotaryDim === 0) {
    throw new UsageError(
      `--rotary-offset needs a rotary model; ${modelId} (${config.architecture}) has learned ` +
        `positions, so its QK circuit does not depend on the offset`,
    );
  }
  let tokenizer: Tokenizer | undefined;
  if (loaded.tokenizer) {
    try {
      tokenizer = await loadTokenizer(loaded.tokenizer.dir);
    } catch (error) {
      // The spectra do not need it: read out token ids instead of failing the whole run.
      if (!(error instanceof ModelFormatError)) throw error;
      console.error(`warning: ${error.message}; readouts show token ids`);
    }
  }
  lap("load");
  dropUnused(loaded);
  const model = processWeights(loaded, { ...processing, inPlace: true });
  lap("process");
  // One thread: starting matmulF32's worker pool costs ~2 s of CPU, more than a second thread
  // saves on the readout's one product per circuit (measured on GPT-2 small).
  const threads = 1;

  const scaleNote = `singular values are of the unscaled bilinear form; softmax logits are ` +
    `divided by attnScale = sqrt(d_head) = ${Math.sqrt(config.dHead)}`;
  const rotaryNote = config.rotaryDim === 0
    ? undefined
    : rotaryOffset === undefined
    ? `rotary (${config.rotaryDim} of ${config.dHead} dims): QK spectra are of the ` +
      `position-independent Ω = A Bᵀ; logits equal x̂_dᵀ Ω x̂_s with rotated residuals ` +
      `x̂ = A⁺ᵀ R_pos Aᵀ y (method.md §4.6)`
    : `rotary: QK spectra are of the per-offset Ω_Δ = A R_{−Δ} Bᵀ for Δ = ${rotaryOffset}`;

  const all: HeadSummary[] = [];
  const allReadouts: TripletReadout[][] = [];
  const figs: Figure[] = [];
  const arrays: Record<string, ArrayEntry> = {};
  for (const circuit of circuits) {
    const bar = progress(`svd ${circuit}`, heads.length, { quiet });
    const summaries: HeadSummary[] = [];
    const leading: LeadingTriplets[] = [];
    for (
      const h of iterateHeadSvds(model, {
        circuit,
        bias,
        heads,
        rotaryOffset: circuit === "qk" ? rotaryOffset : undefined,
        onHead: () => bar.tick(),
      })
    ) {
      const { svd: _svd, ...summary } = h;
      summaries.push(summary);
      leading.push(leadingTriplets(h, readoutVectors));
      if (values.out !== undefined) addHeadArrays(h, arrays);
    }
    bar.done();
    lap("svd");
    const readouts = readoutTriplets(model, leading, { topK, threads });
    lap("readout");
    all.push(...summaries);
    allReadouts.push(...readouts);
    if (values.out !== undefined) {
      figs.push(...figures(model, circuit, summaries, readouts, tokenizer, scaleNote));
      lap("write");
    }
  }
  const seconds = (performance.now() - started) / 1000;

  const headJson = all.map((h, i) => ({
    circuit: h.circuit,
    layer: h.layer,
    head: h.head,
    singularValues: h.singularValues,
    numericalRank: h.numericalRank,
    effectiveRank: h.effectiveRank,
    nearDegenerate: h.nearDegenerate.flatMap((f, k) => (f ? [k] : [])),
    hasDegeneracy: h.hasDegeneracy,
    readout: allReadouts[i]!.map((r) => readoutJson(r, tokenizer)),
  }));
  const parameters = {
    model: modelId,
    revision: values.revision ?? null,
    commit: loaded.commit ?? null,
    circuits,
    bias: circuits.includes("qk") ? bias : null,
    biasNote: circuits.includes("qk") ? QK_BIAS_NOTES[bias] : null,
    heads: heads.map(([l, h]) => `${l}.${h}`),
    topK,
    readoutVectors,
    rotaryOffset: rotaryOffset ?? null,
    processing,
    architecture: config.architecture,
    dModel: config.dModel,
    dHead: config.dHead,
    attnScale: Math.sqrt(config.dHead),
    scaleNote,
    rotaryNote: rotaryNote ?? null,
    svdMethod: "factored: thin QR of both factors + SVD of the d_head×d_head core " +
      "(LowRankProduct.svd, float64); no dense d_model×d_model SVD",
    degeneracyRule:
      "nearDegenerate: σ_k − σ_{k+1} ≤ 1e-6·σ_k for neighbours both above the null cutoff",
    effectiveRankDefinition: "exp(−Σ p_k ln p_k), p_k = σ_k / Σσ (Roy & Vetterli 2007)",
    readoutDefinition: "token scores = W_E·u_k (both QK sides: W_E·v_k; OV written side: " +
      "W_Uᵀ·v_k) with processed weights, float32; top and bottom topK per vector",
  };
  const summary = {
    heads: all.length,
    circuits,
    seconds: round3(seconds),
    timings: roundAll(timings),
    maxSigma1: Math.max(...all.map((h) => h.singularValues[0] ?? 0)),
    meanEffectiveRank: all.reduce((a, h) => a + h.effectiveRank, 0) / Math.max(1, all.length),
    headsWithDegeneracy: all.filter((h) => h.hasDegeneracy).length,
  };

  if (values.out !== undefined) {
    const results: RunResults = {
      command: "svd",
      title: `${circuits.map((c) => c.toUpperCase()).join(" + ")} circuit SVDs of ${modelId}`,
      parameters,
      summary,
      figures: figs,
      heads: headJson,
    };
    await writeRun(values.out, results, arrays);
    lap("write");
    // results.json cannot time its own writing; the printed summary can.
    summary.timings = roundAll(timings);
    summary.seconds = round3((performance.now() - started) / 1000);
  }

  if (values.json) {
    console.log(JSON.stringify({ ...parameters, summary, heads: headJson }));
    return 0;
  }
  const rows = all.map((h, i) => {
    const s = h.singularValues;
    const r = allReadouts[i]![0];
    return [
      h.circuit,
      headLabel(h),
      s[0] ?? 0,
      s[1] ?? 0,
      (s[1] ?? 0) > 0 ? s[0]! / s[1]! : Infinity,
      h.effectiveRank,
      h.numericalRank,
      h.hasDegeneracy ? "yes" : "",
      r ? r.u.top.slice(0, 3).map((e) => tokenText(tokenizer, e.token)).join(" ") : "",
    ];
  });
  console.log(
    formatTable(
      ["circuit", "head", "σ1", "σ2", "σ1/σ2", "eff. rank", "rank", "degenerate", "u1 top tokens"],
      rows,
    ),
  );
  console.log(
    `${all.length} head SVDs in ${seconds.toFixed(2)} s` +
      (circuits.includes("qk") ? `; QK bias: ${bias}` : "") +
      `; processing: ${processingNames(processing)}; ${scaleNote}` +
      (values.out !== undefined
        ? `\nwrote ${values.out}/results.json, arrays.safetensors, report.html`
        : `\n${NO_OUT_NOTE}`),
  );
  return 0;
}
