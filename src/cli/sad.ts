/**
 * `svlens sad MODEL`: Sparse Attention Decomposition of every (or the chosen) head on the
 * authors' IOI prompts, with the random-rotation control.
 *
 * Permissions (local model directory, default onnx backend): `--unstable-raw-imports
 * --allow-read=MODEL --allow-write=OUTDIR` (with `--backend reference`: no
 * `--unstable-raw-imports`; without `--out`: no `--allow-write`).
 * @module
 */
import { processWeights } from "../circuits/mod.ts";
import { ModelFormatError, SvlensError, UsageError } from "../errors.ts";
import { type Progress, progress } from "../io/progress.ts";
import { loadModel } from "../model/load.ts";
import { loadTokenizer } from "../model/tokenizer.ts";
import { checkOutputDir, formatTable, writeRun } from "../report/mod.ts";
import { HEAD_TYPES, type IoiSadResult, sadOnIoi, SUM_CHECK_RTOL } from "../sad/mod.ts";
import { NO_OUT_NOTE, parseCommandArgs } from "./_args.ts";
import { checkHeadsExist, modelArg, resolveBackend } from "./_options.ts";
import { biasForm, checkBias, SAD_OPTION_SPECS, sadOptions } from "./_sad_options.ts";
import {
  HEAD_COLUMNS,
  headJson,
  headRow,
  pooledSummary,
  sadArrays,
  sadFigures,
} from "./_sad_report.ts";

/** The usage text. */
export const USAGE: string = [
  "usage: svlens sad MODEL [--task ioi] [--n 128] [--seed 0] [--heads L.H,...|all]",
  "                  [--tau 0.5|1/m] [--bias offset|augmented|source|destination]",
  "                  [--rotation-seed R]",
  "                  [--head-types L.H=TYPE,...] [--filter-top] [--rotary residual|per-offset]",
  "                  [--backend onnx|reference]",
  "                  [--revision R] [--out DIR] [--json]",
  "",
  "  MODEL          a Hugging Face-layout model directory (config.json, weights, tokenizer),",
  "                 or a Hub id (gpt2, EleutherAI/pythia-160m) read from / downloaded into the",
  "                 Hugging Face cache (--revision R picks a branch, tag or commit)",
  "  --task         ioi (the authors' IOI prompts, mixed templates; the only task so far)",
  "  --n, --seed    number of prompts and Python random seed of the generator (128, 0)",
  "  --heads        heads to decompose (default all)",
  "  --tau          attention threshold for firings: a number (default 0.5) or 1/m",
  "  --bias         bias treatment (method.md §4.3): offset (ACC++, c_d = b_Q W_Q⁺,",
  "                 c_s = b_K W_K⁺; default), augmented (SAD 2024, [x; 1] on both sides),",
  "                 source (ACC's Ω_s: [x_d; 1], keys x_s + c_s); destination (ACC's Ω_d:",
  "                 x_d + c_d, keys [x_s; 1]) only with --rotary per-offset",
  "  --rotation-seed  seed of the random-rotation control (default: --seed)",
  `  --head-types   IOI roles adding canonical pairs (${HEAD_TYPES.join(", ")});`,
  "                 default on GPT-2 small: 8.6, 4.11, 3.0, 9.9, 9.6, 10.0 as in SAD/ACC",
  "  --filter-top   drop prompts whose top prediction at END is not the IO name (ACC)",
  "  --rotary       rotary models: residual (rotated residuals, one basis per head; default)",
  "                 or per-offset (one SVD of Ω_Δ = A R_dᵀR_s Bᵀ per offset Δ = d − s,",
  "                 ACC 2025, in the --bias form; results record it as biasForm)",
  "  --backend      forward pass: onnx (onnxruntime-web) or reference (pure TS); default: onnx",
  "                 where it can start, else the reference with a warning",
  "  --out DIR      write DIR/results.json, DIR/arrays.safetensors, DIR/report.html",
  "  --json         print only the JSON summary (per head) on stdout",
].join("\n");

const OPTIONS = {
  ...SAD_OPTION_SPECS,
  task: { type: "string" },
  heads: { type: "string" },
  "filter-top": { type: "boolean" },
  revision: { type: "string" },
} as const;

/** Runs `svlens sad` with the arguments after the command name; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const modelId = modelArg(positionals, USAGE);
  if ((values.task ?? "ioi") !== "ioi") {
    throw new UsageError(`--task must be ioi (the only task so far), got '${values.task}'`);
  }
  const { n, seed, rotationSeed, heads, tau, bias, headTypes, rotary, backend: requested } =
    sadOptions(
      values,
      { heads: values.heads, usage: USAGE },
    );

  if (values.out !== undefined) await checkOutputDir(values.out, "sad");
  const loaded = await loadModel(modelId, { revision: values.revision });
  if (loaded.tokenizer === undefined) {
    throw new ModelFormatError(
      `${modelId} has no tokenizer files (tokenizer.json or vocab.json + merges.txt): ` +
        "IOI prompts need the model's tokenizer",
    );
  }
  const tokenizer = await loadTokenizer(loaded.tokenizer.dir);
  const model = processWeights(loaded, { inPlace: true });
  const { nLayers, nHeads, dHead, rotaryDim } = model.config;
  checkBias(bias, rotary, rotaryDim);
  if (rotary === "per-offset" && rotaryDim === 0) {
    console.error(
      `warning: --rotary per-offset has no effect: ${modelId} has no rotary embeddings`,
    );
  }
  checkHeadsExist(heads, model.config, modelId);
  const backend = await resolveBackend(requested);
  const total = heads?.length ?? nLayers * nHeads;
  const quiet = values.json === true;
  // The forward pass is one call: a line that it runs, then the per-head bar.
  const forward = progress(`sad forward pass (${n} prompts, ${backend})`, 0, { quiet });
  forward.tick(0);
  let bar: Progress | undefined;
  let result: IoiSadResult;
  try {
    result = await sadOnIoi(model, tokenizer, {
      n,
      seed,
      rotationSeed,
      heads,
      tau,
      bias,
      headTypes,
      filterTopPrediction: values["filter-top"] === true,
      rotary,
      backend,
      onForward: () => {
        forward.done("done");
        bar = progress("sad heads", total, { quiet });
      },
      onHead: (l, h) => bar?.tick(1, `${l}.${h}`),
    });
  } catch (error) {
    // The arguments were checked above; what remains (a prompt longer than the model's context,
    // memory) is a failure of this run, reported in one line.
    if (error instanceof RangeError) throw new SvlensError(error.message, { cause: error });
    throw error;
  }
  bar?.done();
  if (result.analysed.length === 0) {
    console.error(
      `warning: no prompt was analysed` +
        (values["filter-top"]
          ? " (--filter-top kept none: the model never predicts the IO name)"
          : ""),
    );
  }

  const parameters = {
    model: modelId,
    revision: values.revision ?? null,
    task: "ioi",
    promptType: "mixed",
    n,
    seed,
    rotationSeed,
    heads: heads ? heads.map(([l, h]) => `${l}.${h}`) : "all",
    tau,
    bias,
    biasForm: biasForm(bias, rotary, rotaryDim),
    headTypes: result.headTypes,
    filterTopPrediction: values["filter-top"] === true,
    backend,
    processing: "TransformerLens defaults (fold_ln, center_writing_weights, center_unembed, " +
      "fold_value_biases)",
    firingRule: "1 ≤ s ≤ d ≤ END, A_ds ≥ tau (+ canonical IOI pair of typed heads)",
    nRecon: "ACC rule: l̃ > 0, signed descending sort, round(cumsum/l̃, 5) ≥ 1",
    sparseness: "Rolls–Tovee (Σ|c|)²/(K Σc²) of the contribution vector, lower = sparser",
    sumCheck:
      `|Σ_k c_k − l̃| ≤ ${SUM_CHECK_RTOL.toExponential()}·max(|l̃|, Σ_k |c_k|) on every firing, in both ` +
      "bases (float64; the scale of the cancellation in the sum)",
    rotation: "one Haar-random K×K Q per head from Rng(rotationSeed), drawn in layer-major order",
    rotary: rotaryDim === 0
      ? "none"
      : rotary === "residual"
      ? "residual: rotated residuals, one basis per head (ACC++ / method.md §4.6)"
      : "per-offset: one SVD per relative offset Δ = d − s in the biasForm (ACC 2025 / §4.6)",
    units: "unscaled bilinear form (q·k, not divided by √d_head)",
  };
  const jsonHeads = result.heads.map((h) => headJson(h.summary));
  const summary = {
    prompts: result.prompts.length,
    analysedPrompts: result.analysed.length,
    ...pooledSummary(result),
    timings: result.timings,
    heads: jsonHeads,
  };
  if (values.out !== undefined) {
    await writeRun(values.out, {
      command: "sad",
      title: `SAD on IOI: ${modelId}`,
      seed,
      parameters,
      summary,
      figures: sadFigures(result, nHeads),
    }, sadArrays(result, dHead));
  }
  if (values.json) {
    console.log(JSON.stringify({ model: modelId, parameters, ...summary }));
  } else {
    console.log(formatTable(HEAD_COLUMNS, result.heads.map((h) => headRow(h.summary))));
    console.log(
      `${result.analysed.length}/${result.prompts.length} prompts; forward ` +
        `${(result.timings.forwardMs / 1000).toFixed(1)} s, decomposition ` +
        `${(result.timings.decompositionMs / 1000).toFixed(1)} s` +
        (values.out
          ? `; wrote ${values.out}/results.json, arrays.safetensors, report.html`
          : `\n${NO_OUT_NOTE}`),
    );
  }
  return 0;
}
