/**
 * `svlens cache MODEL (--text "..." | --tokens 1,2,3) [--names PATTERN,...] [--processing P|--raw]
 * [--backend onnx|reference] --out FILE.safetensors`: runs the model on one prompt and writes
 * the captured activations as safetensors, one tensor per TransformerLens hook name, shaped as
 * in TransformerLens (batch 1).
 *
 * Permissions (local model directory): `--unstable-raw-imports --allow-read=MODEL,OUTDIR
 * --allow-write=OUTDIR` (read on OUTDIR because the atomic rename needs it; the flag lets onnxruntime-web's `.wasm` load through the module graph;
 * without it, add `--allow-read=<path of ort-wasm-simd-threaded.wasm>` or use
 * `--backend reference`). Hub ids: as for `svlens svd` (`--allow-read=CACHE` instead of MODEL,
 * the cache's `--allow-env` names; to download, write on the cache, the HF_* variables and
 * `--allow-net`).
 * @module
 */
import { dirname } from "node:path";
import { processWeights } from "../circuits/process.ts";
import { ModelFormatError, SvlensError, UsageError } from "../errors.ts";
import { assertWritable } from "../report/write_run.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { progress } from "../io/progress.ts";
import { loadModel } from "../model/load.ts";
import { encodeSafetensors, type SafetensorsInput } from "../model/safetensors.ts";
import { loadTokenizer } from "../model/tokenizer.ts";
import { formatTable } from "../report/table.ts";
import { runWithCache } from "../runtime/mod.ts";
import { VERSION } from "../version.ts";
import { parseCommandArgs } from "./_args.ts";
import {
  backendOption,
  modelArg,
  processingNames,
  processingOption,
  resolveBackend,
} from "./_options.ts";

/** The usage line printed with `--help` and on usage errors. */
export const USAGE: string = [
  `usage: svlens cache MODEL (--text "..." | --tokens 1,2,3) [--prepend-bos] [--names PATTERN,...]`,
  "                    [--processing P|--raw] [--backend onnx|reference] [--revision R]",
  "                    --out FILE.safetensors [--json]",
  "",
  "  MODEL         a Hugging Face-layout model directory (config.json, model.safetensors, tokenizer),",
  "                or a Hub id (gpt2, EleutherAI/pythia-160m) read from / downloaded into the",
  "                Hugging Face cache",
  "  --revision R  Hub revision (branch, tag, commit, e.g. step1000)",
  "  --text        the prompt as text (tokenized with the model's tokenizer, no BOS added)",
  "  --tokens      the prompt as comma-separated token ids",
  "  --prepend-bos put the tokenizer's <|endoftext|> (BOS of GPT-2 and Pythia) first, as",
  "                TransformerLens's run_with_cache(text) does by default (the IOI/SAD prompts",
  "                of the paper have no BOS, hence off by default)",
  "  --names       hooks to save: TransformerLens names or * globs, comma-separated",
  "                (default: every hook; e.g. 'blocks.*.ln1.hook_normalized,blocks.*.attn.hook_pattern')",
  "  --processing  TransformerLens weight processing: fold_ln, center_writing_weights,",
  "                center_unembed, fold_value_biases (comma-separated), none, or default (all four)",
  "  --raw         = --processing none (raw Hugging Face weights)",
  "  --backend     onnx (onnxruntime-web) or reference (pure TypeScript); default: onnx where it",
  "                can start, else the reference with a warning",
  "  --out         output .safetensors file (written atomically)",
  "  --json        print only a JSON summary on stdout",
].join("\n");

const OPTIONS = {
  text: { type: "string" },
  tokens: { type: "string" },
  names: { type: "string" },
  raw: { type: "boolean" },
  processing: { type: "string" },
  "prepend-bos": { type: "boolean" },
  backend: { type: "string" },
  revision: { type: "string" },
  out: { type: "string" },
  json: { type: "boolean" },
} as const;

function parseTokens(value: string): number[] {
  return value.split(",").map((s) => {
    const n = Number(s.trim());
    if (s.trim() === "" || !Number.isSafeInteger(n) || n < 0) {
      throw new UsageError(
        `--tokens expects comma-separated token ids like 464,3290; got '${s}'\n${USAGE}`,
      );
    }
    return n;
  });
}

/** The id of `<|endoftext|>`, GPT-2's and Pythia's BOS token, in the model's tokenizer. */
async function bosId(loaded: { tokenizer?: { dir: string } }, modelId: string): Promise<number> {
  const id = loaded.tokenizer &&
    (await loadTokenizer(loaded.tokenizer.dir)).tokenToId("<|endoftext|>");
  if (id === undefined) {
    throw new ModelFormatError(
      `${modelId}: no <|endoftext|> token in the tokenizer for --prepend-bos; ` +
        "put the BOS id first in --tokens instead",
    );
  }
  return id;
}

/** Runs `svlens cache` with the arguments after the command name; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const modelId = modelArg(positionals, USAGE);
  if ((values.text === undefined) === (values.tokens === undefined)) {
    throw new UsageError(`give exactly one of --text or --tokens\n${USAGE}`);
  }
  if (values.out === undefined) {
    throw new UsageError(`--out FILE.safetensors is required\n${USAGE}`);
  }
  const requested = backendOption(values.backend, USAGE);
  const processing = processingOption(values.processing, values.raw, USAGE);
  const names = values.names?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const tokensArg = values.tokens === undefined ? undefined : parseTokens(values.tokens);

  // The output is checked before the model is loaded: a run should not fail at its last step.
  assertWritable(dirname(values.out), "cache");
  if ((await Deno.stat(values.out).catch(() => undefined))?.isDirectory) {
    throw new SvlensError(`--out ${values.out} is a directory; give a .safetensors file name`);
  }
  const steps = progress("cache", 3, { quiet: values.json === true });
  const loaded = await loadModel(modelId, { revision: values.revision });
  steps.tick(1, "model loaded");
  let tokens = tokensArg;
  if (tokens === undefined) {
    if (loaded.tokenizer === undefined) {
      throw new ModelFormatError(
        `${modelId} has no tokenizer files (tokenizer.json or vocab.json + merges.txt); pass --tokens instead of --text`,
      );
    }
    tokens = (await loadTokenizer(loaded.tokenizer.dir)).encode(values.text!);
    if (tokens.length === 0) throw new UsageError(`--text '${values.text}' encodes to no tokens`);
  }
  if (values["prepend-bos"]) tokens = [await bosId(loaded, modelId), ...tokens];
  const model = processWeights(loaded, { ...processing, inPlace: true });
  const backend = await resolveBackend(requested);
  let cache;
  try {
    cache = await runWithCache(model, [tokens], { names, backend });
  } catch (error) {
    // Bad prompts and hook patterns are the user's input: report them as usage errors.
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  steps.tick(1, "forward done");

  const tensors: Record<string, SafetensorsInput> = {};
  for (const [name, t] of cache) {
    tensors[name] = { dtype: "F32", shape: [...t.shape], data: t.data };
  }
  const metadata = {
    svlens_version: VERSION,
    model: modelId,
    tokens: JSON.stringify(tokens),
    processing: processingNames(processing),
    backend,
    attn_scores: "q·k/sqrt(d_head), masked -inf",
  };
  await writeFileAtomic(values.out, encodeSafetensors(tensors, metadata));
  steps.done(`wrote ${cache.size} tensors`);

  const rows = [...cache].map(([name, t]) => [name, `[${t.shape.join(", ")}]`]);
  if (values.json) {
    console.log(JSON.stringify({
      out: values.out,
      model: modelId,
      tokens,
      backend,
      processing: metadata.processing,
      tensors: Object.fromEntries([...cache].map(([name, t]) => [name, t.shape])),
    }));
  } else {
    console.log(formatTable(["hook", "shape"], rows));
    console.log(`${tokens.length} tokens → ${values.out}`);
  }
  return 0;
}
