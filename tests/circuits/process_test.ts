import {
  centerUnembed,
  centerWritingWeights,
  foldLayerNorm,
  foldValueBiases,
  NO_PROCESSING,
  processWeights,
} from "../../src/circuits/process.ts";
import type { Model } from "../../src/model/types.ts";
import { Rng } from "../../src/linalg/rng.ts";
import { assertAllClose, assertEquals, assertOk, maxAbsDiff } from "../_assert.ts";
import { attention, forward, layerNorm } from "./_dense_forward.ts";
import { cloneModel, randomModel, smallConfig } from "./_random_model.ts";

// Processing is done in float64 and stored as float32 (Tensor), so processed and raw weights
// agree to float32 rounding: attention scores (|s| ~ 1–10) and log-probs to 2e-5 absolute,
// evaluated by a float64 forward pass. A wrong fold/centre formula gives errors ~1e-1.
const TOL = 2e-5;
const TOKENS = [3, 17, 0, 22, 5, 5, 9, 11];

function flat(x: unknown[]): number[] {
  return x.flat(4) as number[];
}

const TRANSFORMS: Array<[string, (m: Model) => Model]> = [
  ["foldLayerNorm", (m) => foldLayerNorm(m)],
  ["centerWritingWeights", (m) => centerWritingWeights(m)],
  ["centerUnembed", (m) => centerUnembed(m)],
  ["foldValueBiases", (m) => foldValueBiases(m)],
  ["processWeights (TL default: all four)", (m) => processWeights(m)],
];

for (const arch of ["gpt2", "gpt_neox"] as const) {
  for (const [name, transform] of TRANSFORMS) {
    Deno.test(`${arch}: ${name} preserves attention scores and log-probs (f64 forward, ${TOL})`, () => {
      const raw = randomModel(smallConfig(arch), 7);
      const before = forward(raw, TOKENS);
      const processed = transform(raw);
      const after = forward(processed, TOKENS);
      assertAllClose(flat(after.scores), flat(before.scores), TOL, "attention scores");
      assertAllClose(flat(after.logProbs), flat(before.logProbs), TOL, "log-probs");
      // The raw model is untouched (copy mode).
      const again = forward(raw, TOKENS);
      assertEquals(maxAbsDiff(flat(again.logProbs), flat(before.logProbs)), 0);
    });
  }

  Deno.test(`${arch}: scores on random residual streams: LN(γ,β)+raw == LNPre+folded`, () => {
    const raw = randomModel(smallConfig(arch), 11);
    const tl = processWeights(raw);
    const rng = new Rng(5);
    const { dModel: d, nLayers, lnEps } = raw.config;
    for (let l = 0; l < nLayers; l++) {
      // Residuals with a large common offset and varied scale, as in real models.
      const resid = Array.from({ length: 6 }, (_, t) => {
        const x = new Float64Array(d);
        for (let i = 0; i < d; i++) x[i] = 3 + (1 + t) * rng.normal();
        return x;
      });
      const a = attention(
        raw,
        l,
        resid.map((x) =>
          layerNorm(
            x,
            raw.weights.get(`blocks.${l}.ln1.w`)!.data,
            raw.weights.get(`blocks.${l}.ln1.b`)!.data,
            lnEps,
          )
        ),
      );
      const b = attention(tl, l, resid.map((x) => layerNorm(x, undefined, undefined, lnEps)));
      assertAllClose(flat(b.scores), flat(a.scores), TOL, `layer ${l}`);
      const spread = Math.max(...flat(a.scores)) - Math.min(...flat(a.scores));
      assertOk(spread > 0.5, `scores must be non-trivial (spread ${spread})`);
    }
  });
}

Deno.test("foldLayerNorm: TL formulas on one head (b + βᵀW, diag(γ)W, centred columns)", () => {
  const raw = randomModel(smallConfig("gpt2"), 3);
  const { dModel: d, dHead: dh } = raw.config;
  const f = foldLayerNorm(raw);
  const W = raw.weights.get("blocks.1.attn.W_K")!.data;
  const b = raw.weights.get("blocks.1.attn.b_K")!.data;
  const g = raw.weights.get("blocks.1.ln1.w")!.data;
  const beta = raw.weights.get("blocks.1.ln1.b")!.data;
  const h = 2, j = 3;
  let bias = b[h * dh + j]!, mean = 0;
  for (let i = 0; i < d; i++) {
    bias += beta[i]! * W[(h * d + i) * dh + j]!;
    mean += g[i]! * W[(h * d + i) * dh + j]! / d;
  }
  const fW = f.weights.get("blocks.1.attn.W_K")!.data;
  const fb = f.weights.get("blocks.1.attn.b_K")!.data;
  assertAllClose([fb[h * dh + j]!], [bias], 1e-6);
  for (let i = 0; i < d; i++) {
    assertAllClose([fW[(h * d + i) * dh + j]!], [g[i]! * W[(h * d + i) * dh + j]! - mean], 1e-6);
  }
  for (const k of ["blocks.0.ln1.w", "blocks.1.ln2.b", "ln_final.w", "ln_final.b"]) {
    assertEquals(f.weights.has(k), false, k);
  }
  assertEquals(f.processing, { ...NO_PROCESSING, foldLayerNorm: true });
});

Deno.test("centering and value-bias folding leave the documented zero means / zeros", () => {
  const m = processWeights(randomModel(smallConfig("gpt2"), 4));
  const { dModel: d, dVocab: V } = m.config;
  const rowMeans = (name: string, width: number): number[] => {
    const x = m.weights.get(name)!.data;
    const out: number[] = [];
    for (let r = 0; r < x.length / width; r++) {
      let s = 0;
      for (let j = 0; j < width; j++) s += x[r * width + j]!;
      out.push(s / width);
    }
    return out;
  };
  for (const name of ["embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_O", "blocks.1.mlp.W_out"]) {
    assertAllClose(rowMeans(name, d), rowMeans(name, d).map(() => 0), 1e-6, name);
  }
  assertAllClose(rowMeans("unembed.W_U", V), new Array(d).fill(0), 1e-6, "W_U");
  assertAllClose(rowMeans("unembed.b_U", V), [0], 1e-6, "b_U");
  assertEquals(Array.from(m.weights.get("blocks.1.attn.b_V")!.data).every((x) => x === 0), true);
});

Deno.test("processWeights(NO_PROCESSING) leaves the raw weights untouched", () => {
  const raw = randomModel(smallConfig("gpt2"), 8);
  const same = processWeights(raw, NO_PROCESSING);
  assertEquals(same.processing, NO_PROCESSING);
  assertEquals([...same.weights.keys()], [...raw.weights.keys()]);
  for (const [k, t] of raw.weights) assertOk(same.weights.get(k) === t, k);
});

Deno.test("inPlace processing equals copy-mode processing", () => {
  const raw = randomModel(smallConfig("gpt_neox"), 9);
  const copy = processWeights(raw);
  const inPlace = processWeights(cloneModel(raw), { inPlace: true });
  assertEquals([...inPlace.weights.keys()].sort(), [...copy.weights.keys()].sort());
  for (const [k, t] of copy.weights) {
    assertEquals(maxAbsDiff(inPlace.weights.get(k)!.data, t.data), 0, k);
  }
  // Already-applied transforms are skipped, so processing twice changes nothing.
  const twice = processWeights(copy);
  assertEquals(twice, copy);
});
