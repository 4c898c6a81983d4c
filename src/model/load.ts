/**
 * `loadModel`: a local Hugging Face model directory or a Hub repo id (through the
 * huggingface_hub-compatible cache) → {@linkcode Model} with TransformerLens-layout weights and
 * no processing, plus where its tokenizer files are.
 *
 * Weight files, in order of preference: `model.safetensors`, `model.safetensors.index.json`
 * (sharded), `pytorch_model.bin`, `pytorch_model.bin.index.json` (sharded; restricted unpickler).
 * @module
 */
import { ModelFormatError } from "../errors.ts";
import { openShard } from "./_shard.ts";
import { exists } from "../io/exists.ts";
import { readConfig } from "./config.ts";
import { convertHfWeights, type StateDict, stateDictFromMap } from "./hf_weights.ts";
import { readTorchBin, type TorchTensor } from "./torch_bin.ts";
import { type HubOptions, snapshotDownload } from "./hub.ts";
import { openSafetensors, type TensorSource } from "./safetensors_file.ts";
import { type Model, NO_PROCESSING } from "./types.ts";

/** Weight file names svlens looks for, in order of preference. */
export const WEIGHT_FILES: readonly string[] = [
  "model.safetensors",
  "model.safetensors.index.json",
  "pytorch_model.bin",
  "pytorch_model.bin.index.json",
];

/** Tokenizer files svlens looks for beside the weights. */
export const TOKENIZER_FILES: readonly string[] = [
  "tokenizer.json",
  "vocab.json",
  "merges.txt",
  "tokenizer_config.json",
  "special_tokens_map.json",
];

/** Where a model's tokenizer files are (pass `dir` to `loadTokenizer`). */
export interface TokenizerFiles {
  /** Directory holding the files. */
  dir: string;
  /** Which of {@linkcode TOKENIZER_FILES} exist there. */
  files: string[];
}

/** A loaded model plus where it came from. */
export interface LoadedModel extends Model {
  /** Directory the files were read from (a local dir or a cache snapshot). */
  dir: string;
  /** The weight file that was read. */
  weightFile: string;
  /** Tokenizer files, if any are present. */
  tokenizer?: TokenizerFiles;
  /** Hub commit hash when loaded from the Hub or its cache. */
  commit?: string;
}

/** Options for {@linkcode loadModel}. */
export interface LoadOptions extends HubOptions {
  /** Branch, tag or commit on the Hub (default `main`); ignored for local directories. */
  revision?: string;
}

/**
 * Whether `path` is a local directory; a repo-id-like path we may not read (no --allow-read for
 * it) counts as "no", so it is loaded from the Hub. Shared with `svlens sweep`.
 */
export async function isLocalDirectory(path: string): Promise<boolean> {
  const repoLike = /^[\w.-]+(\/[\w.-]+)?$/.test(path) && !path.startsWith(".");
  // Asked first: on a terminal, stat-ing an ungranted "gpt2" would make Deno prompt for it.
  if (repoLike && Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
    return false;
  }
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    const denied = error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied;
    if (denied && repoLike) return false;
    throw error;
  }
}

function fromSource(src: TensorSource): StateDict {
  return { names: () => src.names(), read: (name) => src.read(name) };
}

/** Reads every shard named by a `pytorch_model.bin.index.json` into one state dict. */
async function readTorchShards(indexPath: string, dir: string): Promise<StateDict> {
  let index: unknown;
  try {
    index = JSON.parse(await Deno.readTextFile(indexPath));
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new ModelFormatError(`${indexPath}: not valid JSON (${error.message})`);
    }
    throw error;
  }
  const map = (index as { weight_map?: unknown })?.weight_map;
  if (typeof map !== "object" || map === null) {
    throw new ModelFormatError(`${indexPath}: missing "weight_map" object`);
  }
  const shards = new Set(Object.values(map as Record<string, unknown>));
  const all = new Map<string, TorchTensor>();
  for (const shard of shards) {
    if (
      typeof shard !== "string" || shard.includes("/") || shard.includes("\\") ||
      shard.startsWith(".")
    ) {
      throw new ModelFormatError(
        `${indexPath}: shard ${JSON.stringify(shard)} is not a plain file name`,
      );
    }
    const bytes = await openShard(indexPath, dir, shard, (path) => Deno.readFile(path));
    for (const [k, v] of readTorchBin(bytes, `${dir}/${shard}`)) {
      all.set(k, v);
    }
  }
  return stateDictFromMap(all);
}

/**
 * Loads a model from a local directory (config.json + weights) without touching the network.
 * Needs read permission on `dir`.
 */
export async function loadModelFromDir(dir: string): Promise<LoadedModel> {
  const configPath = `${dir}/config.json`;
  if (!(await exists(configPath))) {
    throw new ModelFormatError(`${dir}: no config.json; not a Hugging Face model directory`);
  }
  const config = await readConfig(configPath);
  let weightFile: string | undefined;
  for (const f of WEIGHT_FILES) {
    if (await exists(`${dir}/${f}`)) {
      weightFile = f;
      break;
    }
  }
  if (!weightFile) {
    throw new ModelFormatError(`${dir}: no weights found (looked for ${WEIGHT_FILES.join(", ")})`);
  }
  const path = `${dir}/${weightFile}`;
  let weights;
  if (weightFile.includes("safetensors")) {
    const src = await openSafetensors(path);
    try {
      weights = await convertHfWeights(config, fromSource(src));
    } finally {
      src.close();
    }
  } else if (weightFile.endsWith(".index.json")) {
    weights = await convertHfWeights(config, await readTorchShards(path, dir));
  } else {
    const sd = readTorchBin(await Deno.readFile(path), path);
    weights = await convertHfWeights(config, stateDictFromMap(sd));
  }
  const tokFiles: string[] = [];
  for (const f of TOKENIZER_FILES) if (await exists(`${dir}/${f}`)) tokFiles.push(f);
  const model: LoadedModel = {
    config,
    weights,
    processing: { ...NO_PROCESSING },
    dir,
    weightFile,
  };
  if (tokFiles.length > 0) model.tokenizer = { dir, files: tokFiles };
  return model;
}

/**
 * Loads `idOrDir`: an existing local directory, or a Hub repo id such as `gpt2` or
 * `EleutherAI/pythia-160m` at `revision` (e.g. `step1000`). Hub files come from the
 * huggingface_hub cache when present (zero network), otherwise they are downloaded into it.
 *
 * Permissions: `--allow-read` on the directory or cache; for Hub ids also `--allow-env` (HF_*
 * variables, HOME) and, only when files must be downloaded, `--allow-write` on the cache and
 * `--allow-net` to the endpoint.
 */
export async function loadModel(idOrDir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  if (await isLocalDirectory(idOrDir)) {
    return await loadModelFromDir(idOrDir.replace(/\/+$/, "") || "/");
  }
  const snap = await snapshotDownload(idOrDir, {
    ...options,
    revision: options.revision ?? "main",
    patterns: {
      required: ["config.json"],
      oneOf: [...WEIGHT_FILES],
      optional: [...TOKENIZER_FILES],
    },
  });
  const model = await loadModelFromDir(snap.dir);
  model.commit = snap.commit;
  return model;
}
