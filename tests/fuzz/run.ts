/**
 * Fuzzing of svlens's untrusted-input parsers: safetensors headers and files, PyTorch pickles
 * (inside torch.save zips), config.json and tokenizers (tokenizer.json, vocab.json + merges.txt). Inputs are seeded mutations of valid files built in
 * memory; the only acceptable outcomes are success or a typed svlens error
 * (ModelFormatError / UnsupportedArchitectureError). Anything else — TypeError, RangeError, a
 * crash — is a bug: the case is printed and the run fails.
 *
 * `deno task fuzz` (= `deno run --allow-read tests/fuzz/run.ts [--iterations N] [--seed S]`);
 * needs no other permission.
 * @module
 */
import { parseArgs } from "node:util";
import { unzipSync, zipSync } from "npm:fflate@0.8.3";
import { ModelFormatError, UnsupportedArchitectureError } from "../../src/errors.ts";
import { Rng } from "../../src/linalg/rng.ts";
import { parseConfig } from "../../src/model/config.ts";
import { tokenizerFiles } from "../../src/model/generate.ts";
import {
  encodeSafetensors,
  readSafetensors,
  type SafetensorsInput,
} from "../../src/model/safetensors.ts";
import { readTorchBin } from "../../src/model/torch_bin.ts";
import { encodeTorchBin } from "../../src/model/torch_bin_write.ts";
import {
  parseJsonFile,
  type Tokenizer,
  tokenizerFromJson,
  tokenizerFromVocabMerges,
} from "../../src/model/tokenizer.ts";

/** Counts of one fuzz target. */
export interface TargetReport {
  /** Inputs tried. */
  cases: number;
  /** Inputs accepted (parsed without error). */
  accepted: number;
  /** Inputs refused with a typed error, by error class. */
  refused: Record<string, number>;
  /** Inputs that raised anything else (bugs), with a reproducer description. */
  failures: { case: number; error: string }[];
}

/** Options of {@linkcode fuzz}. */
export interface FuzzOptions {
  /** Cases per target. */
  iterations: number;
  /** Seed (recorded in the report). */
  seed: number;
}

const TYPED = [ModelFormatError, UnsupportedArchitectureError];

function run(report: TargetReport, i: number, fn: () => unknown): void {
  report.cases++;
  try {
    fn();
    report.accepted++;
  } catch (error) {
    if (TYPED.some((T) => error instanceof T)) {
      const name = (error as Error).name;
      report.refused[name] = (report.refused[name] ?? 0) + 1;
    } else {
      report.failures.push({
        case: i,
        error: String((error as Error)?.stack ?? error).slice(0, 400),
      });
    }
  }
}

const emptyReport = (): TargetReport => ({ cases: 0, accepted: 0, refused: {}, failures: [] });

/** Random small valid tensors. */
function randomTensors(rng: Rng): Record<string, SafetensorsInput> {
  const out: Record<string, SafetensorsInput> = {};
  const n = 1 + rng.int(4);
  const dtypes = ["F32", "F16", "BF16", "F64", "I64", "I32"] as const;
  for (let t = 0; t < n; t++) {
    const dtype = dtypes[rng.int(dtypes.length)]!;
    const shape = Array.from({ length: rng.int(3) }, () => rng.int(4));
    const count = shape.reduce((a, b) => a * b, 1);
    const data = dtype === "I64"
      ? BigInt64Array.from({ length: count }, () => BigInt(rng.int(1000) - 500))
      : dtype === "I32"
      ? Int32Array.from({ length: count }, () => rng.int(1000) - 500)
      : dtype === "F64"
      ? Float64Array.from({ length: count }, () => rng.normal())
      : Float32Array.from({ length: count }, () => rng.normal());
    out[`t${t}.${rng.int(100)}`] = { dtype, shape, data } as SafetensorsInput;
  }
  return out;
}

/** Byte-level mutations: flips, overwrites, inserts, deletes, truncation, splices. */
function mutateBytes(rng: Rng, input: Uint8Array, dictionary: Uint8Array[]): Uint8Array {
  let b: Uint8Array = input.slice();
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const pos = b.length ? rng.int(b.length) : 0;
    switch (rng.int(7)) {
      case 0:
        if (b.length) b[pos] = b[pos]! ^ (1 << rng.int(8));
        break;
      case 1:
        if (b.length) b[pos] = rng.int(256);
        break;
      case 2: {
        const ins = Uint8Array.from({ length: 1 + rng.int(8) }, () => rng.int(256));
        b = concat(b.subarray(0, pos), ins, b.subarray(pos));
        break;
      }
      case 3:
        b = concat(b.subarray(0, pos), b.subarray(Math.min(b.length, pos + 1 + rng.int(16))));
        break;
      case 4:
        b = b.slice(0, pos);
        break;
      case 5: {
        const word = dictionary[rng.int(dictionary.length)]!;
        b = concat(b.subarray(0, pos), word, b.subarray(pos));
        break;
      }
      default: {
        // interesting integers
        const vals = [0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0xffffffff];
        const v = vals[rng.int(vals.length)]!;
        if (b.length >= pos + 4) new DataView(b.buffer).setUint32(pos, v, true);
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const WEIRD: unknown[] = [
  -1,
  1.5,
  2 ** 53,
  1e300,
  "8",
  null,
  true,
  [],
  {},
  [1, 2, 3],
  [-4],
  [2 ** 40, 2 ** 40],
  "F32",
  "U8",
  "F128",
  [0, 0],
  [8, 0],
];

/** A fresh copy of a random odd JSON value (copies: mutations must not alias). */
function weird(rng: Rng): unknown {
  return structuredClone(WEIRD[rng.int(WEIRD.length)]);
}

/** Structural mutations of a parsed safetensors header, re-encoded. */
function mutateHeader(rng: Rng, file: Uint8Array): Uint8Array {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<
    string,
    Record<string, unknown>
  >;
  let data = file.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const name = names[rng.int(Math.max(1, names.length))];
    const raw: unknown = name === undefined ? undefined : header[name];
    const entry = typeof raw === "object" && raw !== null && !Array.isArray(raw)
      ? raw as Record<string, unknown>
      : undefined;
    switch (rng.int(9)) {
      case 0:
        if (entry) {
          entry[["dtype", "shape", "data_offsets"][rng.int(3)]!] = weird(rng);
        }
        break;
      case 1:
        if (entry) delete entry[["dtype", "shape", "data_offsets"][rng.int(3)]!];
        break;
      case 2:
        if (entry && Array.isArray(entry.shape) && entry.shape.length) {
          (entry.shape as unknown[])[rng.int(entry.shape.length)] = weird(rng);
        }
        break;
      case 3:
        if (entry && Array.isArray(entry.data_offsets)) {
          (entry.data_offsets as number[])[rng.int(2)]! += rng.int(17) - 8;
        }
        break;
      case 4:
        header[`extra${rng.int(9)}`] = {
          dtype: "F32",
          shape: [rng.int(3)],
          data_offsets: [rng.int(64), rng.int(64)],
        } as Record<string, unknown>;
        break;
      case 5:
        header.__metadata__ = [{ a: 1 }, "x", { k: "v" }, null][rng.int(4)] as Record<
          string,
          unknown
        >;
        break;
      case 6:
        data = data.subarray(0, rng.int(data.length + 1));
        break;
      case 7:
        data = concat(data, new Uint8Array(1 + rng.int(16)));
        break;
      default:
        if (name !== undefined) {
          header[name] = weird(rng) as Record<string, unknown>;
        }
    }
  }
  const hb = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + hb.length + data.length);
  // Sometimes a wrong header length.
  const len = rng.int(10) === 0 ? hb.length + rng.int(9) - 4 : hb.length;
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, len)), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}

/** Any object or array inside `root` (the places a structural mutation can hit). */
function containers(root: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (typeof root === "object" && root !== null) {
    out.push(root as Record<string, unknown>);
    // Vocabularies and merge lists are large: enter them but not every one of their entries.
    for (const v of Object.values(root).slice(0, 24)) containers(v, out);
  }
  return out;
}

/** Structural mutations of a parsed tokenizer.json: odd values, deleted keys, odd entries. */
function mutateTokenizerJson(rng: Rng, json: Record<string, unknown>): void {
  const model = json.model as Record<string, unknown>;
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(4)) {
      case 0: {
        const where = containers(json).filter((o) => Object.keys(o).length > 0);
        const target = where[rng.int(where.length)]!;
        const keys = Object.keys(target);
        target[keys[rng.int(keys.length)]!] = weird(rng);
        break;
      }
      case 1: {
        const where = containers(json).filter((o) => Object.keys(o).length > 0);
        const target = where[rng.int(where.length)]!;
        const keys = Object.keys(target);
        delete target[keys[rng.int(keys.length)]!];
        break;
      }
      case 2:
        if (Array.isArray(model?.merges) && model.merges.length) {
          model.merges[rng.int(model.merges.length)] =
            [weird(rng), "a  b", "a b c", ["a"], ["Ġ", "t"], ""][rng.int(6)];
        }
        break;
      default:
        if (typeof model?.vocab === "object" && model.vocab !== null) {
          const vocab = model.vocab as Record<string, unknown>;
          const keys = Object.keys(vocab);
          vocab[rng.int(3) ? keys[rng.int(keys.length)]! : "<unk>"] = weird(rng);
        }
    }
  }
}

/** An accepted tokenizer must also encode and decode text without an untyped error. */
function roundTrip(tokenizer: Tokenizer): void {
  tokenizer.decode(tokenizer.encode("Hello world, 123 émoji 🙂 <|endoftext|> sorts 3 1 2"));
}

const enc = (s: string) => new TextEncoder().encode(s);
const PICKLE_WORDS: Uint8Array[] = [
  enc("cposix\nsystem\n"),
  enc("cbuiltins\neval\n"),
  enc("c__builtin__\nexec\n"),
  enc("ctorch._utils\n_rebuild_tensor_v2\n"),
  enc("ctorch\nFloatStorage\n"),
  enc("ccollections\nOrderedDict\n"),
  Uint8Array.of(0x8c, 6, ...enc("subpro"), 0x8c, 5, ...enc("Popen"), 0x93),
  Uint8Array.of(0x28), // MARK
  Uint8Array.of(0x52), // REDUCE
  Uint8Array.of(0x62), // BUILD
  Uint8Array.of(0x51), // BINPERSID
  Uint8Array.of(0x74), // TUPLE
  Uint8Array.of(0x75), // SETITEMS
  Uint8Array.of(0x81), // NEWOBJ
  Uint8Array.of(0x4a, 0xff, 0xff, 0xff, 0x7f), // BININT big
  Uint8Array.of(0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80), // LONG1 huge
  Uint8Array.of(0x58, 0xff, 0xff, 0xff, 0xff), // BINUNICODE huge
  Uint8Array.of(0x68, 0), // BINGET 0
  Uint8Array.of(0x32), // DUP
  Uint8Array.of(0x30), // POP
  Uint8Array.of(0x2e), // STOP
];

/** Runs every target for `options.iterations` cases each. */
export function fuzz(options: FuzzOptions): Record<string, TargetReport> {
  const rng = new Rng(options.seed);
  const reports = {
    safetensorsHeader: emptyReport(),
    safetensorsBytes: emptyReport(),
    pickle: emptyReport(),
    torchZip: emptyReport(),
    config: emptyReport(),
    tokenizerJson: emptyReport(),
    tokenizerText: emptyReport(),
    vocabMerges: emptyReport(),
  };
  const stWords = [
    enc('"dtype"'),
    enc('"shape":[-1]'),
    enc('"data_offsets":[0,99999999]'),
    enc("{"),
    enc("}"),
    enc("\xff"),
  ];
  // A few valid seeds of each kind, reused with many mutations (building zips is the slow part).
  const stSeeds = Array.from(
    { length: 16 },
    () => encodeSafetensors(randomTensors(rng), { format: "pt" }),
  );
  const torchSeeds = Array.from({ length: 16 }, () => {
    const t = randomTensors(rng);
    return encodeTorchBin(t);
  });
  const pklSeeds = torchSeeds.map((z) => unzipSync(z));
  const configSeeds = [
    { model_type: "gpt2", n_embd: 8, n_head: 2, n_layer: 1, vocab_size: 10, n_positions: 4 },
    {
      model_type: "gpt_neox",
      hidden_size: 16,
      num_attention_heads: 2,
      num_hidden_layers: 1,
      vocab_size: 10,
      rotary_pct: 0.25,
    },
  ];
  const tokenizerSeeds = [tokenizerFiles("gpt2", 300), tokenizerFiles("gpt_neox", 300)];
  const tokenizerWords = ['"id":', '"vocab":{', '"merges":[', '"type":"BPE"', "null", '"\\u0000"']
    .map(enc);
  for (let i = 0; i < options.iterations; i++) {
    const st = stSeeds[rng.int(stSeeds.length)]!;
    const h = mutateHeader(rng, st);
    run(reports.safetensorsHeader, i, () => readSafetensors(h));
    const b = mutateBytes(rng, st, stWords);
    run(reports.safetensorsBytes, i, () => readSafetensors(b));

    const files = pklSeeds[rng.int(pklSeeds.length)]!;
    const mutated = {
      ...files,
      "archive/data.pkl": mutateBytes(rng, files["archive/data.pkl"]!, PICKLE_WORDS),
    };
    const zip = zipSync(mutated, { level: 0 });
    run(reports.pickle, i, () => readTorchBin(zip));
    {
      const z = mutateBytes(rng, torchSeeds[rng.int(torchSeeds.length)]!, [
        enc("PK\x03\x04"),
        enc("PK\x01\x02"),
        enc("PK\x05\x06"),
      ]);
      run(reports.torchZip, i, () => readTorchBin(z));
    }

    const cfg = structuredClone(configSeeds[rng.int(2)]!) as Record<string, unknown>;
    const keys = Object.keys(cfg);
    cfg[keys[rng.int(keys.length)]!] = weird(rng);
    if (rng.int(4) === 0) cfg.model_type = ["llama", "", 5, null, "gpt2"][rng.int(5)];
    run(reports.config, i, () => parseConfig(cfg));

    const tokenizerSeed = tokenizerSeeds[rng.int(2)]!;
    const json = JSON.parse(tokenizerSeed["tokenizer.json"]!) as Record<string, unknown>;
    mutateTokenizerJson(rng, json);
    run(reports.tokenizerJson, i, () => roundTrip(tokenizerFromJson(json)));
    const text = new TextDecoder().decode(
      mutateBytes(rng, enc(tokenizerSeed["tokenizer.json"]!), tokenizerWords),
    );
    run(
      reports.tokenizerText,
      i,
      () => roundTrip(tokenizerFromJson(parseJsonFile(text, "tokenizer.json"))),
    );
    const gpt2 = tokenizerSeeds[0]!;
    const vocab = JSON.parse(gpt2["vocab.json"]!) as Record<string, unknown>;
    if (rng.int(2)) {
      const keys = Object.keys(vocab);
      vocab[keys[rng.int(keys.length)]!] = weird(rng);
    }
    const merges = new TextDecoder().decode(
      mutateBytes(rng, enc(gpt2["merges.txt"]!), [enc(" "), enc("\n"), enc("\r\n")]),
    );
    run(reports.vocabMerges, i, () => roundTrip(tokenizerFromVocabMerges(vocab, merges)));
  }
  return reports;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      iterations: { type: "string", default: "10000" },
      seed: { type: "string", default: "1" },
    },
  });
  const iterations = Number(values.iterations);
  const seed = Number(values.seed);
  const t0 = performance.now();
  const reports = fuzz({ iterations, seed });
  let bad = 0;
  console.log(
    `svlens fuzz: seed ${seed}, ${iterations} iterations (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s)`,
  );
  for (const [name, r] of Object.entries(reports)) {
    const refused = Object.entries(r.refused).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
    console.log(
      `  ${name.padEnd(18)} cases ${String(r.cases).padStart(6)}  accepted ${
        String(r.accepted).padStart(6)
      }  refused: ${refused}  other errors: ${r.failures.length}`,
    );
    for (const f of r.failures.slice(0, 5)) console.log(`    case ${f.case}: ${f.error}`);
    bad += r.failures.length;
  }
  if (bad > 0) {
    console.log(`FAIL: ${bad} inputs raised an untyped error`);
    Deno.exit(1);
  }
  console.log("OK: every input was parsed or refused with a typed error");
}
