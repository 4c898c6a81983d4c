/**
 * End-to-end audit of the real-model pipeline against an independent numpy oracle
 * (tests/e2e/_oracle.py, written from method.md §3–§4 and conventions.md, not from svlens's code).
 *
 * Models: a GPT-2-shaped (2 layers, 4 heads, d_model 32, vocab 512) and a Pythia/NeoX-shaped
 * (2 layers, 4 heads, d_model 64, d_head 16, rotary_pct 0.25 → rotary_dim 4) model written by
 * src/model/generate.ts; for the forward pass and SAD, copies with amplified attention/MLP weights
 * (the generator's std 0.02 gives near-uniform attention, which would hide layout mistakes).
 * Every CLI call runs with exactly the permissions the command documents.
 *
 * Tolerances: singular values |Δσ_k| ≤ 1e-5·σ_k on the d_head leading values; `svd --out`
 * vectors ‖UΣVᵀ − M‖_max ≤ 1e-4·‖M‖_max, |UᵀU − I|, |VᵀV − I| ≤ 1e-5, largest-|entry| of u_k > 0;
 * cached hooks |Δ| ≤ 1e-4 (f32 forward vs f64 oracle; masked −inf of hook_attn_scores exactly;
 * logits centred per position under default processing, uncentred with --raw); SAD per firing:
 * attention |Δ| ≤ 1e-5, l̃ relative ≤ 1e-4, Rolls–Tovee S |Δ| ≤ 1e-4, N_recon exact (firings whose
 * cumulative ratio lies within 1e-4 of the rounding threshold are not compared), identical firing
 * sets (up to A within 1e-6 of τ); `sad --json` per-head summaries: counts and N_recon histogram
 * exact, mean/median N_recon ≤ 1e-6 relative, mean/median S ≤ 1e-4.
 * @module
 */
import { generateModel } from "../../src/model/generate.ts";
import { HAS_NUMPY, runCli } from "../_helpers.ts";
import { assertEquals, assertOk } from "../_assert.ts";

const ORACLE = new URL("./_oracle.py", import.meta.url).pathname;

/** Runs one oracle command; returns its JSON answer. */
async function oracle(
  cmd: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const out = await new Deno.Command("python3", {
    args: [ORACLE, cmd, JSON.stringify(args)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`oracle ${cmd} failed: ${dec.decode(out.stderr)}`);
  return JSON.parse(dec.decode(out.stdout));
}

interface Models {
  root: string;
  gpt2: string;
  neox: string;
  gpt2Amp: string;
  neoxAmp: string;
  /** NeoX stored as BF16 in 4 shards with an index. */
  neoxBf16: string;
  /** GPT-2 stored as F16 in 2 shards, `transformer.`-prefixed keys. */
  gpt2F16: string;
}

let models: Promise<Models> | undefined;

/** The two model shapes (seeds and storage vary per copy). */
const GPT2_SHAPE = {
  architecture: "gpt2",
  nLayers: 2,
  nHeads: 4,
  dModel: 32,
  dVocab: 512,
  nCtx: 64,
} as const;
const NEOX_SHAPE = { ...GPT2_SHAPE, architecture: "gpt_neox", dModel: 64 } as const;

/** Generates the two models (and amplified copies) once per test run. */
function getModels(): Promise<Models> {
  models ??= (async () => {
    const root = await Deno.makeTempDir({ prefix: "svlens_e2e_" });
    globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
    const m: Models = {
      root,
      gpt2: `${root}/gpt2`,
      neox: `${root}/neox`,
      gpt2Amp: `${root}/gpt2_amp`,
      neoxAmp: `${root}/neox_amp`,
      neoxBf16: `${root}/neox_bf16`,
      gpt2F16: `${root}/gpt2_f16`,
    };
    await generateModel(m.gpt2, { ...GPT2_SHAPE, seed: 3 });
    await generateModel(m.neox, { ...NEOX_SHAPE, seed: 5 });
    await generateModel(m.neoxBf16, {
      ...NEOX_SHAPE,
      seed: 7,
      dtype: "BF16",
      maxShardBytes: 100_000,
    });
    await generateModel(m.gpt2F16, {
      ...GPT2_SHAPE,
      seed: 8,
      dtype: "F16",
      maxShardBytes: 50_000,
      prefixed: true,
    });
    for (const [src, dst] of [[m.gpt2, m.gpt2Amp], [m.neox, m.neoxAmp]] as const) {
      await Deno.mkdir(dst);
      for await (const e of Deno.readDir(src)) {
        if (e.isFile && e.name !== "model.safetensors") {
          await Deno.copyFile(`${src}/${e.name}`, `${dst}/${e.name}`);
        }
      }
      await oracle("amplify", { model: src, out: dst });
    }
    return m;
  })();
  return models;
}

/**
 * Registers an e2e test (skipped without numpy) that gets the generated models and, with
 * `subdir`, a fresh output directory `ROOT/subdir` (else `out` is the models' root).
 */
function e2eTest(
  name: string,
  subdir: string | undefined,
  fn: (m: Models, out: string) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !HAS_NUMPY,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const m = await getModels();
      if (subdir === undefined) return await fn(m, m.root);
      const out = `${m.root}/${subdir}`;
      await Deno.mkdir(out, { recursive: true });
      await fn(m, out);
    },
  });
}

interface SvdHead {
  circuit: string;
  layer: number;
  head: number;
  singularValues: number[];
}

/** `svlens svd` (permissions: --allow-read=MODEL) vs the oracle's dense SVD. */
async function compareSvd(
  model: string,
  opts: { circuit: "qk" | "ov"; bias: string; raw?: boolean; rotaryOffset?: number },
): Promise<void> {
  const args = ["svd", model, "--json", "--readout", "0", "--circuit", opts.circuit];
  if (opts.circuit === "qk") args.push("--bias", opts.bias);
  if (opts.raw) args.push("--raw");
  if (opts.rotaryOffset !== undefined) args.push("--rotary-offset", String(opts.rotaryOffset));
  const r = await runCli(args, [`--allow-read=${model}`]);
  const label = args.slice(2).join(" ");
  assertEquals(r.code, 0, `${label}: ${r.stderr}`);
  const got = JSON.parse(r.stdout).heads as SvdHead[];
  const want = await oracle("svd", { model, ...opts }) as {
    dHead: number;
    heads: { layer: number; head: number; s: number[] }[];
  };
  assertEquals(got.length, want.heads.length, label);
  for (const w of want.heads) {
    const g = got.find((h) => h.layer === w.layer && h.head === w.head);
    assertOk(g !== undefined, `${label}: head ${w.layer}.${w.head} missing`);
    assertOk(g.singularValues.length >= want.dHead, `${label}: fewer than d_head values`);
    for (let k = 0; k < want.dHead; k++) {
      const e = w.s[k]!, a = g.singularValues[k]!;
      assertOk(
        Math.abs(a - e) <= 1e-5 * e,
        `${label} head ${w.layer}.${w.head} σ_${k}: svlens ${a}, oracle ${e}`,
      );
    }
  }
}

e2eTest(
  "e2e svd: QK (offset/augmented/source/destination/none, raw, rotary offset), OV; F16/BF16 shards",
  undefined,
  async (m) => {
    for (const model of [m.gpt2, m.neox]) {
      await compareSvd(model, { circuit: "qk", bias: "offset" });
      await compareSvd(model, { circuit: "qk", bias: "augmented" });
      await compareSvd(model, { circuit: "qk", bias: "none" });
      await compareSvd(model, { circuit: "qk", bias: "source" });
      await compareSvd(model, { circuit: "qk", bias: "destination" });
      await compareSvd(model, { circuit: "qk", bias: "offset", raw: true });
      await compareSvd(model, { circuit: "ov", bias: "offset" });
    }
    await compareSvd(m.neox, { circuit: "qk", bias: "offset", rotaryOffset: 3 });
    await compareSvd(m.neox, { circuit: "qk", bias: "augmented", rotaryOffset: 3 });
    await compareSvd(m.neox, { circuit: "qk", bias: "source", rotaryOffset: 2 });
    // other storage: BF16 / F16, sharded with an index, prefixed keys
    await compareSvd(m.neoxBf16, { circuit: "qk", bias: "offset" });
    await compareSvd(m.gpt2F16, { circuit: "qk", bias: "augmented" });
    await compareSvd(m.gpt2F16, { circuit: "ov", bias: "offset" });
  },
);

/** `svlens svd --out` vectors: U diag(S) Vᵀ = Ω (oracle's matrix), orthonormal, canonical signs. */
async function checkSvdVectors(
  model: string,
  out: string,
  opts: { circuits: ("qk" | "ov")[]; bias: string; rotaryOffset?: number },
): Promise<void> {
  const dir = `${out}/${opts.bias}_${opts.circuits.join("")}_${opts.rotaryOffset ?? "x"}`;
  const args = ["svd", model, "--circuit", opts.circuits.join(","), "--bias", opts.bias];
  if (opts.rotaryOffset !== undefined) args.push("--rotary-offset", String(opts.rotaryOffset));
  const r = await runCli([...args, "--readout", "0", "--out", dir, "--json"], [
    `--allow-read=${model},${out}`,
    `--allow-write=${out}`,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const c = await oracle("svd_vectors", {
    model,
    arrays: `${dir}/arrays.safetensors`,
    ...opts,
  }) as {
    recon: number;
    orthoU: number;
    orthoV: number;
    signViolations: number;
    checked: number;
  };
  const label = `${model} ${args.slice(2).join(" ")}: ${JSON.stringify(c)}`;
  assertOk(c.checked > 0, label);
  assertOk(c.recon <= 1e-4, label); // method.md §4.5: ‖UΣVᵀ − Ω‖_max < 1e-4·‖Ω‖_max
  assertOk(c.orthoU <= 1e-5 && c.orthoV <= 1e-5, label); // vectors stored as f32
  assertEquals(c.signViolations, 0, label);
}

e2eTest(
  "e2e svd --out: singular vectors reconstruct the oracle's Ω / OV, orthonormal, canonical signs",
  "svd_out",
  async (m, out) => {
    await checkSvdVectors(m.gpt2, out, { circuits: ["qk", "ov"], bias: "augmented" });
    await checkSvdVectors(m.gpt2, out, { circuits: ["qk"], bias: "destination" });
    await checkSvdVectors(m.neox, out, { circuits: ["qk"], bias: "offset" });
    await checkSvdVectors(m.neox, out, { circuits: ["qk"], bias: "source", rotaryOffset: 3 });
  },
);

const TOKENS = [5, 77, 300, 12, 499, 3, 3, 250, 101, 42, 7, 0];
const HOOKS = [
  "blocks.*.attn.hook_pattern",
  "blocks.*.attn.hook_attn_scores",
  "blocks.*.ln1.hook_normalized",
  "blocks.*.ln1.hook_scale",
  "logits",
].join(",");

/** Documented permissions of `svlens cache` / `svlens sad`. */
const ioPerms = (model: string, out: string): string[] => [
  "--unstable-raw-imports",
  `--allow-read=${model},${out}`,
  `--allow-write=${out}`,
];

e2eTest(
  "e2e cache: ln1 hooks, attention scores/pattern and logits vs the numpy forward (GPT-2, NeoX)",
  "cache",
  async (m, out) => {
    for (const model of [m.gpt2Amp, m.neoxAmp]) {
      // The comparison can fail: plausible mistakes (no rotary, wrong qkv order, wrong residual
      // wiring, no positions, uncentred unembedding) move the oracle's own hooks by ≥ 10× the
      // tolerance.
      const sens = await oracle("sensitivity", { model, tokens: TOKENS });
      for (const [k, v] of Object.entries(sens)) assertOk((v as number) > 1e-3, `${k}: ${v}`);
      for (
        const [raw, backend] of [[false, "onnx"], [true, "onnx"], [false, "reference"]] as const
      ) {
        const file = `${out}/${raw ? "raw" : "tl"}_${backend}.safetensors`;
        const args = [
          "cache",
          model,
          "--tokens",
          TOKENS.join(","),
          "--names",
          HOOKS,
          "--backend",
          backend,
          "--out",
          file,
          "--json",
        ];
        if (raw) args.push("--raw");
        const r = await runCli(args, ioPerms(model, out));
        assertEquals(r.code, 0, r.stderr);
        const cmp = await oracle("forward", { model, cache: file, tokens: TOKENS, raw }) as {
          hooks: Record<string, { maxAbs?: number }>;
        };
        assertEquals(Object.keys(cmp.hooks).length, 9); // 4 per layer + logits
        for (const [name, v] of Object.entries(cmp.hooks)) {
          assertOk(
            v.maxAbs !== undefined && v.maxAbs <= 1e-4,
            `${model} raw=${raw} ${backend} ${name}: ${JSON.stringify(v)}`,
          );
        }
      }
    }
  },
);

/** Per-head summary of `svlens sad --json` (and of the oracle). */
interface HeadSummary {
  nFirings: number;
  nDropped: number;
  meanNRecon: number | null;
  medianNRecon: number | null;
  histogram: number[];
  meanSparseness: number | null;
  medianSparseness: number | null;
}

/** The parts of `svlens sad --json` compared here. */
interface SadJson {
  heads: (HeadSummary & { head: string })[];
}

interface SadCompare {
  heads: Record<string, HeadSummary>;
  firings: number;
  reconGap: number;
  svlensFirings: number;
  compared: number;
  nMissing: number;
  missing: unknown[];
  nExtra: number;
  extra: unknown[];
  maxAttentionDiff: number;
  maxLTildeRelDiff: number;
  maxSparsenessDiff: number;
  nNReconMismatches: number;
  nReconMismatches: unknown[];
  meanNRecon: Record<string, { want: number | null; got: number | null }>;
}

/** Token ids of the IOI prompts as svlens's tokenizer gives them (via `svlens cache --text`). */
async function ioiTokens(model: string, out: string, n: number): Promise<number[][]> {
  const r = await runCli(["ioi", "--n", String(n), "--json"]);
  assertEquals(r.code, 0, r.stderr);
  const prompts = JSON.parse(r.stdout) as { text: string }[];
  const tokens: number[][] = [];
  for (const p of prompts) {
    const c = await runCli([
      "cache",
      model,
      "--text",
      p.text,
      "--names",
      "blocks.0.attn.hook_pattern",
      "--backend",
      "reference",
      "--out",
      `${out}/tok.safetensors`,
      "--json",
    ], ioPerms(model, out));
    assertEquals(c.code, 0, c.stderr);
    tokens.push(JSON.parse(c.stdout).tokens);
  }
  return tokens;
}

interface SadOptions {
  tau: string;
  bias: string;
  /** Rotary models: `residual` (default) or `per-offset`. */
  rotary?: string;
  /** Heads `L.H` to decompose (default all). */
  heads?: string[];
  /** Oracle only, per-offset: key-side bias as §4.3 C offsets or as an augmented row. */
  perOffsetKeys?: "offset" | "augmented";
}

/** Runs `svlens sad` (documented permissions); returns its arrays.safetensors path. */
async function runSad(
  model: string,
  out: string,
  n: number,
  opts: SadOptions,
  name: string,
): Promise<{ file: string; json: SadJson }> {
  const dir = `${out}/${name}`;
  const args = ["sad", model, "--n", String(n), "--tau", opts.tau, "--bias", opts.bias];
  if (opts.rotary) args.push("--rotary", opts.rotary);
  if (opts.heads) args.push("--heads", opts.heads.join(","));
  const r = await runCli([...args, "--out", dir, "--json"], ioPerms(model, out));
  assertEquals(r.code, 0, r.stderr);
  return { file: `${dir}/arrays.safetensors`, json: JSON.parse(r.stdout) };
}

/** `svlens sad` on `model` vs the oracle, firing by firing. */
async function compareSad(
  model: string,
  out: string,
  prompts: number[][],
  opts: SadOptions,
): Promise<void> {
  const name = `${opts.bias}_${opts.rotary ?? "r"}_${opts.tau.replace("/", "_")}`;
  const { file, json } = await runSad(model, out, prompts.length, opts, name);
  const c = await oracle("sad", {
    model,
    tau: opts.tau,
    bias: opts.bias,
    rotary: opts.rotary,
    perOffsetKeys: opts.perOffsetKeys,
    heads: opts.heads?.map((h) => h.split(".").map(Number)),
    prompts,
    svlens: file,
  }) as unknown as SadCompare;
  const label = `${model} ${JSON.stringify(opts)}: ${JSON.stringify(c).slice(0, 600)}`;
  assertOk(c.firings > 0, label);
  assertOk(c.reconGap < 1e-9, `Σ c_k ≠ l̃ from the oracle's scores: ${label}`);
  assertEquals(c.nMissing, 0, label);
  assertEquals(c.nExtra, 0, label);
  assertOk(c.maxAttentionDiff <= 1e-5, label);
  assertOk(c.maxLTildeRelDiff <= 1e-4, label);
  assertOk(c.maxSparsenessDiff <= 1e-4, label);
  assertEquals(c.nNReconMismatches, 0, label);
  for (const [head, v] of Object.entries(c.meanNRecon)) {
    assertOk(
      v.want !== null && v.got !== null && Math.abs(v.want - v.got) < 1e-9,
      `${label} head ${head} mean N_recon: ${JSON.stringify(v)}`,
    );
  }
  // the --json per-head summaries (mean/median N_recon, histogram, mean/median S)
  for (const g of json.heads) {
    const w = c.heads[g.head];
    if (w === undefined) {
      assertEquals(g.nFirings, 0, `${label} head ${g.head}`);
      continue;
    }
    const near = (a: number | null, b: number | null) =>
      a === null || b === null ? a === b : Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
    for (const k of ["nFirings", "nDropped", "meanNRecon", "medianNRecon"] as const) {
      assertOk(near(g[k], w[k]), `${label} head ${g.head} ${k}: svlens ${g[k]}, oracle ${w[k]}`);
    }
    for (const k of ["meanSparseness", "medianSparseness"] as const) {
      const ok = g[k] === null || w[k] === null ? g[k] === w[k] : Math.abs(g[k]! - w[k]!) <= 1e-4;
      assertOk(ok, `${label} head ${g.head} ${k}: svlens ${g[k]}, oracle ${w[k]}`);
    }
    assertEquals(g.histogram, w.histogram, `${label} head ${g.head} histogram`);
  }
}

e2eTest(
  "e2e sad: per-firing l̃, N_recon (ACC rule) and sparseness vs numpy (GPT-2 offset/augmented/source)",
  "sad_gpt2",
  async (m, out) => {
    const prompts = await ioiTokens(m.gpt2Amp, out, 3);
    await compareSad(m.gpt2Amp, out, prompts, { tau: "1/m", bias: "offset" });
    await compareSad(m.gpt2Amp, out, prompts, { tau: "0.5", bias: "offset" });
    await compareSad(m.gpt2Amp, out, prompts, { tau: "1/m", bias: "augmented" });
    await compareSad(m.gpt2Amp, out, prompts, { tau: "1/m", bias: "source" });
  },
);

e2eTest(
  "e2e sad: NeoX rotary head, rotated residuals (method.md §4.6 ACC++) vs numpy",
  "sad_neox",
  async (m, out) => {
    const prompts = await ioiTokens(m.neoxAmp, out, 3);
    await compareSad(m.neoxAmp, out, prompts, { tau: "1/m", bias: "offset" });
    await compareSad(m.neoxAmp, out, prompts, { tau: "0.5", bias: "offset" });
    // Beyond the spec (§4.6 only defines the offset form): svlens's augmented / source forms with
    // rotated residuals, checked against the same exact construction with [W; bᵀ] factors.
    const one = prompts.slice(0, 1);
    for (const bias of ["augmented", "source"]) {
      await compareSad(m.neoxAmp, out, one, { tau: "1/m", bias, heads: ["0.0", "1.3"] });
    }
  },
);

e2eTest(
  "e2e sad: NeoX --rotary per-offset --bias destination vs numpy (key bias as an augmented row, ACC's Ω_d)",
  "sad_neox_po",
  async (m, out) => {
    const prompts = await ioiTokens(m.neoxAmp, out, 1);
    await compareSad(m.neoxAmp, out, prompts, {
      tau: "1/m",
      bias: "destination",
      rotary: "per-offset",
      heads: ["0.1", "1.2"],
      perOffsetKeys: "augmented",
    });
  },
);

// Formerly a DISCREPANCY: `--rotary per-offset` decomposed W_Q R_Δ [W_K; b_Kᵀ]ᵀ with x̃_s = [x_s; 1]
// for every --bias. Now `--bias offset` (the default) is method.md §4.3 C: Ω_Δ = W_Q R_Δ W_Kᵀ with
// residual offsets x_d + c_d, x_s + c_s; the key-augmented form is `--bias destination`.
e2eTest(
  "e2e sad: --rotary per-offset --bias offset uses §4.3 C key offsets (vs numpy)",
  "sad_neox_po_c",
  async (m, out) => {
    const prompts = await ioiTokens(m.neoxAmp, out, 1);
    await compareSad(m.neoxAmp, out, prompts, {
      tau: "1/m",
      bias: "offset",
      rotary: "per-offset",
      heads: ["0.0"],
      perOffsetKeys: "offset",
    });
  },
);

// Formerly a DISCREPANCY: `--rotary per-offset --bias source|augmented` silently gave the offset
// numbers while results.json recorded the flag. Each form now changes the decomposition and is
// recorded in parameters.biasForm; `--bias destination` without per-offset is a usage error.
e2eTest(
  "e2e sad: --rotary per-offset honours --bias (source, augmented ≠ offset) and records it",
  "sad_neox_po_bias",
  async (m, out) => {
    const base = { tau: "1/m", rotary: "per-offset", heads: ["0.0"] };
    const runs: Record<string, { file: string; form: string }> = {};
    for (const bias of ["offset", "source", "augmented"]) {
      const r = await runSad(m.neoxAmp, out, 1, { ...base, bias }, bias);
      const params = (r.json as unknown as { parameters: { bias: string; biasForm: string } })
        .parameters;
      assertEquals(params.bias, bias);
      runs[bias] = { file: r.file, form: params.biasForm };
    }
    assertOk(runs.offset!.form.includes("W_Q R_dᵀR_s W_Kᵀ"), runs.offset!.form);
    assertOk(runs.source!.form.includes("[W_Q; b_Qᵀ] R_dᵀR_s W_Kᵀ"), runs.source!.form);
    assertOk(
      runs.augmented!.form.includes("[W_Q; b_Qᵀ] R_dᵀR_s [W_K; b_Kᵀ]ᵀ"),
      runs.augmented!.form,
    );
    for (const bias of ["source", "augmented"]) {
      const d = await oracle("sad_diff", { a: runs.offset!.file, b: runs[bias]!.file }) as {
        maxDiff: number;
      };
      assertOk(d.maxDiff > 1e-3, `--bias ${bias} changed nothing: ${JSON.stringify(d)}`);
    }
    // and each form matches the oracle's construction of it (query side [W_Q; b_Qᵀ] with
    // [x_d; 1]; key side x_s + c_s for source, [W_K; b_Kᵀ] with [x_s; 1] for augmented)
    const prompts = await ioiTokens(m.neoxAmp, out, 1);
    await compareSad(m.neoxAmp, out, prompts, { ...base, bias: "source", perOffsetKeys: "offset" });
    await compareSad(m.neoxAmp, out, prompts, {
      ...base,
      bias: "augmented",
      perOffsetKeys: "augmented",
    });
    const bad = await runCli(
      ["sad", m.neoxAmp, "--n", "1", "--bias", "destination", "--heads", "0.0"],
      ioPerms(m.neoxAmp, out),
    );
    assertEquals(bad.code, 2, bad.stderr);
    assertOk(bad.stderr.includes("--rotary per-offset"), bad.stderr);
  },
);
