/**
 * Tokenizers for the models svlens reads: GPT-2's byte-level BPE (`vocab.json` + `merges.txt`)
 * and Hugging Face `tokenizer.json` files (Pythia's GPT-NeoX-20B tokenizer: BPE, ByteLevel, NFC).
 *
 * The BPE itself is `@huggingface/tokenizers` (the pure-JavaScript tokenizer of transformers.js:
 * zero dependencies, no native code, no permissions). GPT-2's two legacy files are turned into the
 * `tokenizer.json` that Hugging Face's `GPT2TokenizerFast` builds from them, so both paths run the
 * same, maintained code. Encoding never adds BOS/EOS; decoding is byte-exact (no clean-up of
 * spaces before punctuation).
 * @module
 */
// Full specifier so running from a URL resolves the same package (RULES: no import map).
import { Tokenizer as HfTokenizer } from "npm:@huggingface/tokenizers@0.2.0";
import { join } from "node:path";
import { ModelFormatError } from "../errors.ts";
import { readTextIfExists } from "../io/exists.ts";

/** A text ⇄ token-id mapping. */
export interface Tokenizer {
  /** Number of ids (vocabulary plus added tokens). */
  readonly vocabSize: number;
  /** Token ids of `text` (no BOS/EOS added; special tokens in the text are recognised). */
  encode(text: string): number[];
  /** The text of `ids` (byte-exact inverse of `encode` for valid UTF-8). */
  decode(ids: readonly number[]): string;
  /** The readable text of one token (e.g. `" Hello"`), as `decode([id])`. */
  tokenToString(id: number): string;
  /** The vocabulary entry of one token (e.g. `"ĠHello"`), or `undefined` for an unknown id. */
  idToToken(id: number): string | undefined;
  /** The id of a vocabulary entry (e.g. `"ĠHello"`), or `undefined`. */
  tokenToId(token: string): number | undefined;
}

/** An added (special) token, as listed in `tokenizer.json`'s `added_tokens`. */
interface AddedTokenJson {
  id: number;
  content: string;
  special: boolean;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

class WrappedTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly #inner: HfTokenizer;

  constructor(inner: HfTokenizer) {
    this.#inner = inner;
    let maxId = -1;
    for (const id of inner.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  encode(text: string): number[] {
    return this.#inner.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[]): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      }
    }
    if (ids.length === 0) return ""; // the library rejects an empty list
    return this.#inner.decode([...ids], {
      skip_special_tokens: false,
      clean_up_tokenization_spaces: false,
    });
  }

  tokenToString(id: number): string {
    return this.decode([id]);
  }

  idToToken(id: number): string | undefined {
    return this.#inner.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.#inner.token_to_id(token);
  }
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ModelFormatError(`${what} must be a JSON object, got ${typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** A BPE vocabulary maps tokens to non-negative integer ids (the library would accept any value). */
function checkVocab(vocab: unknown, what: string): void {
  for (const [token, id] of Object.entries(asRecord(vocab, what))) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) {
      throw new ModelFormatError(
        `${what} maps '${token}' to ${JSON.stringify(id)}; ids must be non-negative integers`,
      );
    }
  }
}

/** The scalar options of a BPE model have the types the library assumes; `unk_token` is a token. */
function checkBpeOptions(model: Record<string, unknown>, what: string): void {
  const expect = (key: string, ok: (v: unknown) => boolean, type: string) => {
    const value = model[key];
    if (value !== undefined && value !== null && !ok(value)) {
      throw new ModelFormatError(`${what}.${key} is ${JSON.stringify(value)}; expected ${type}`);
    }
  };
  const isString = (v: unknown) => typeof v === "string";
  const isBoolean = (v: unknown) => typeof v === "boolean";
  expect("unk_token", isString, "a token of the vocabulary or null");
  expect("continuing_subword_prefix", isString, "a string or null");
  expect("end_of_word_suffix", isString, "a string or null");
  expect("fuse_unk", isBoolean, "true or false");
  expect("byte_fallback", isBoolean, "true or false");
  expect("dropout", (v) => typeof v === "number" && v >= 0 && v <= 1, "a number in [0, 1] or null");
  const unk = model["unk_token"];
  if (
    typeof unk === "string" && typeof (model["vocab"] as Record<string, unknown>)[unk] !== "number"
  ) {
    throw new ModelFormatError(`${what}.unk_token '${unk}' is not in the vocabulary`);
  }
}

/**
 * Ids are what the model indexes with: distinct in the vocabulary, and below the number of
 * vocabulary entries plus added tokens (the library would accept an id of 2^40 or two tokens
 * sharing one id, and then encode text to ids the model does not have).
 */
function checkIdRange(vocab: Record<string, number>, added: unknown, name: string): void {
  const addedList = Array.isArray(added) ? added as AddedTokenJson[] : [];
  const entries = Object.entries(vocab);
  const limit = entries.length + addedList.length;
  const owner = new Map<number, string>();
  for (const [token, id] of entries) {
    const other = owner.get(id);
    if (other !== undefined) {
      throw new ModelFormatError(
        `${name} 'model.vocab' gives id ${id} to both '${other}' and '${token}'; ids must be distinct`,
      );
    }
    owner.set(id, token);
    if (id >= limit) {
      throw new ModelFormatError(
        `${name} 'model.vocab' maps '${token}' to ${id}, beyond the ${limit} ids of its ` +
          `vocabulary and added tokens`,
      );
    }
  }
  for (const token of addedList) {
    if (token.id >= limit) {
      throw new ModelFormatError(
        `${name} 'added_tokens' gives '${token.content}' id ${token.id}, beyond the ${limit} ids ` +
          `of the vocabulary and added tokens`,
      );
    }
  }
}

/** BPE merges: `"a b"` strings (tokenizers < 0.20) or `["a", "b"]` pairs (newer files). */
function checkMerges(merges: unknown, what: string): void {
  if (!Array.isArray(merges)) {
    throw new ModelFormatError(`${what} must be a list of merges, got ${JSON.stringify(merges)}`);
  }
  // Indexed loops, not forEach: forEach skips the holes of a sparse array, which must fail too.
  for (let i = 0; i < merges.length; i++) {
    const merge: unknown = merges[i];
    const parts = typeof merge === "string" ? merge.split(" ") : merge;
    if (
      !Array.isArray(parts) || parts.length !== 2 ||
      !parts.every((p) => typeof p === "string" && p !== "")
    ) {
      throw new ModelFormatError(
        `${what}[${i}] is ${JSON.stringify(merge)}; expected "a b" or ["a", "b"]`,
      );
    }
  }
}

/** `added_tokens`, when present: objects with a non-negative integer `id` and a string `content`. */
function checkAddedTokens(added: unknown, what: string): void {
  if (added === undefined || added === null) return;
  if (!Array.isArray(added)) {
    throw new ModelFormatError(`${what} must be a list, got ${JSON.stringify(added)}`);
  }
  for (let i = 0; i < added.length; i++) {
    const token: unknown = added[i];
    const t = token as Partial<AddedTokenJson> | null;
    if (
      typeof t !== "object" || t === null || !Number.isSafeInteger(t.id) || t.id! < 0 ||
      typeof t.content !== "string" || t.content === ""
    ) {
      throw new ModelFormatError(
        `${what}[${i}] is ${
          JSON.stringify(token)
        }; expected {"id": non-negative integer, "content": text, ...}`,
      );
    }
  }
}

/**
 * A tokenizer from the parsed contents of a Hugging Face `tokenizer.json` (any model type the
 * library supports; svlens tests BPE/ByteLevel/NFC as used by GPT-2 and GPT-NeoX).
 *
 * @example
 * ```ts ignore
 * import { tokenizerFromJson } from "./tokenizer.ts";
 * const json = JSON.parse(await Deno.readTextFile("tokenizer.json"));
 * const ids = tokenizerFromJson(json).encode("Hello world"); // Pythia: [12092, 1533]
 * ```
 */
export function tokenizerFromJson(json: unknown, name = "tokenizer.json"): Tokenizer {
  const root = asRecord(json, name);
  const model = asRecord(root["model"], `${name} 'model'`);
  if (typeof model["type"] === "string" && model["type"] !== "BPE") {
    // Others (WordPiece, Unigram) are supported by the library but untested here; GPT-2 and
    // Pythia are BPE, so refuse rather than guess.
    throw new ModelFormatError(
      `${name}: model type '${model["type"]}' is not supported; svlens reads BPE tokenizers ` +
        `(GPT-2, GPT-NeoX/Pythia)`,
    );
  }
  checkVocab(model["vocab"], `${name} 'model.vocab'`);
  checkBpeOptions(model, `${name} 'model'`);
  checkMerges(model["merges"], `${name} 'model.merges'`);
  checkAddedTokens(root["added_tokens"], `${name} 'added_tokens'`);
  checkIdRange(model["vocab"] as Record<string, number>, root["added_tokens"], name);
  try {
    return new WrappedTokenizer(new HfTokenizer(root, {}));
  } catch (error) {
    throw new ModelFormatError(`${name} could not be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Options of {@linkcode tokenizerFromVocabMerges}. */
export interface VocabMergesOptions {
  /** Added tokens (id → text), e.g. `{50256: "<|endoftext|>"}`; by default none. */
  addedTokens?: Record<number, string>;
  /** Token returned for characters outside the vocabulary (GPT-2 needs none: it is byte-level). */
  unkToken?: string;
}

/**
 * A GPT-2 byte-level BPE tokenizer from `vocab.json` (token → id) and `merges.txt` (one merge
 * `a b` per line; a `#version` header line is skipped), configured as Hugging Face's
 * `GPT2TokenizerFast` (ByteLevel pre-tokenizer with GPT-2's split regex, no prefix space).
 *
 * @example
 * ```ts ignore
 * import { tokenizerFromVocabMerges } from "./tokenizer.ts";
 * const tok = tokenizerFromVocabMerges(vocab, mergesText, { addedTokens: { 50256: "<|endoftext|>" } });
 * tok.encode("Hello world"); // [15496, 995]
 * ```
 */
export function tokenizerFromVocabMerges(
  vocab: unknown,
  mergesText: string,
  options: VocabMergesOptions = {},
): Tokenizer {
  const vocabRecord = asRecord(vocab, "vocab.json");
  checkVocab(vocabRecord, "vocab.json");
  const merges: string[] = [];
  const lines = mergesText.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0 || (i === 0 && line.startsWith("#version"))) continue;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new ModelFormatError(
        `merges.txt line ${i + 1} is '${line}'; expected two tokens separated by one space`,
      );
    }
    merges.push(line);
  }
  const addedTokens: AddedTokenJson[] = Object.entries(options.addedTokens ?? {}).map((
    [id, content],
  ) => ({
    id: Number(id),
    content,
    special: true,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
  }));
  const byteLevel = {
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: true,
  };
  return tokenizerFromJson({
    version: "1.0",
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: options.unkToken ?? null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab: vocabRecord,
      merges,
    },
  }, "vocab.json + merges.txt");
}

/** `JSON.parse` whose syntax errors are ModelFormatErrors naming the file. */
export function parseJsonFile(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

async function readJson(path: string): Promise<unknown | undefined> {
  const text = await readTextIfExists(path);
  return text === undefined ? undefined : parseJsonFile(text, path);
}

/** The special tokens of `tokenizer_config.json` that exist in the vocabulary (id → text). */
function configAddedTokens(
  config: Record<string, unknown> | undefined,
  vocab: Record<string, unknown>,
): Record<number, string> {
  const out: Record<number, string> = {};
  const decoder = config?.["added_tokens_decoder"];
  if (typeof decoder === "object" && decoder !== null) {
    for (const [id, entry] of Object.entries(decoder as Record<string, unknown>)) {
      const content = (entry as { content?: unknown })?.content;
      if (typeof content === "string") out[Number(id)] = content;
    }
  }
  for (const key of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
    const value = config?.[key];
    const content = typeof value === "string"
      ? value
      : (value as { content?: unknown } | null)?.content;
    if (typeof content === "string" && typeof vocab[content] === "number") {
      out[vocab[content] as number] = content;
    }
  }
  if (Object.keys(out).length === 0 && typeof vocab["<|endoftext|>"] === "number") {
    out[vocab["<|endoftext|>"] as number] = "<|endoftext|>";
  }
  return out;
}

/**
 * Loads the tokenizer of a model directory: `tokenizer.json` when present, otherwise GPT-2's
 * `vocab.json` + `merges.txt` (with the special tokens of `tokenizer_config.json`, or
 * `<|endoftext|>` when the vocabulary has it). Needs read permission on `dir` only.
 *
 * @example
 * ```ts ignore
 * import { loadTokenizer } from "./tokenizer.ts";
 * const tok = await loadTokenizer("models/gpt2");
 * tok.encode("Hello world"); // [15496, 995]
 * ```
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const json = await readJson(join(dir, "tokenizer.json"));
  if (json !== undefined) return tokenizerFromJson(json, join(dir, "tokenizer.json"));
  const vocab = await readJson(join(dir, "vocab.json"));
  const merges = await readTextIfExists(join(dir, "merges.txt"));
  if (vocab === undefined || merges === undefined) {
    throw new ModelFormatError(
      `no tokenizer in ${dir}: expected tokenizer.json, or vocab.json and merges.txt ` +
        `(Hugging Face layout)`,
    );
  }
  const vocabRecord = asRecord(vocab, join(dir, "vocab.json"));
  const configJson = await readJson(join(dir, "tokenizer_config.json"));
  const config = configJson === undefined
    ? undefined
    : asRecord(configJson, join(dir, "tokenizer_config.json"));
  const unk = config?.["unk_token"];
  const unkToken = typeof unk === "string" ? unk : (unk as { content?: unknown } | null)?.content;
  return tokenizerFromVocabMerges(vocabRecord, merges, {
    addedTokens: configAddedTokens(config, vocabRecord),
    unkToken: typeof unkToken === "string" && typeof vocabRecord[unkToken] === "number"
      ? unkToken
      : undefined,
  });
}
