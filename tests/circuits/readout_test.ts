import {
  effectiveRank,
  headSvds,
  processWeights,
  readoutHeads,
  summarizeSpectrum,
  vocabReadout,
} from "../../src/circuits/mod.ts";
import { type Matrix, Rng, svd } from "../../src/linalg/mod.ts";
import { assertAllClose, assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";
import { randomModel, smallConfig } from "./_random_model.ts";

/** Brute-force float64 scores of every token against one direction (oracle). */
function bruteForce(
  table: Float32Array,
  V: number,
  d: number,
  dir: number[],
  rowsAreTokens: boolean,
) {
  return Array.from({ length: V }, (_, t) => {
    let s = 0;
    for (let i = 0; i < d; i++) {
      s += dir[i]! * (rowsAreTokens ? table[t * d + i]! : table[i * V + t]!);
    }
    return s;
  });
}

for (
  const [table, vocab] of [["embed", 50], ["unembed", 50], ["embed", 5001], [
    "unembed",
    4300,
  ]] as const
) {
  Deno.test(`vocabReadout(${table}, ${vocab} tokens): top/bottom tokens equal a brute-force f64 ranking`, () => {
    // 5001 and 4300 tokens span several 2048-row blocks, the last one partial.
    const model = randomModel(smallConfig("gpt2", { dVocab: vocab }), 2);
    const { dModel: d, dVocab: V } = model.config;
    const rng = new Rng(9);
    const k = 3;
    const dirs: Matrix = { rows: d, cols: k, data: rng.normals(d * k) };
    const out = vocabReadout(model, dirs, { table, topK: 4 });
    assertEquals(out.length, k);
    const data = model.weights.get(table === "embed" ? "embed.W_E" : "unembed.W_U")!.data;
    for (let c = 0; c < k; c++) {
      const dir = Array.from({ length: d }, (_, i) => dirs.data[i * k + c]!);
      const scores = bruteForce(data, V, d, dir, table === "embed");
      const order = scores.map((s, t) => [s, t] as const).sort((a, b) => b[0] - a[0]);
      assertEquals(out[c]!.top.map((e) => e.token), order.slice(0, 4).map((x) => x[1]));
      assertEquals(out[c]!.bottom.map((e) => e.token), order.slice(-4).reverse().map((x) => x[1]));
      for (const e of out[c]!.top) assertAlmostEquals(e.score, scores[e.token]!, 1e-4);
    }
  });
}

Deno.test("vocabReadout: a planted embedding direction reads out as its token; d+1 shifts scores", () => {
  const model = randomModel(smallConfig("gpt2", { dVocab: 40 }), 4);
  const { dModel: d } = model.config;
  const we = model.weights.get("embed.W_E")!.data;
  const token = 17;
  const aug: Matrix = { rows: d + 1, cols: 1, data: new Float64Array(d + 1) };
  for (let i = 0; i < d; i++) aug.data[i] = we[token * d + i]! * 10;
  aug.data[d] = 5; // the [x; 1] component: same shift for every token
  const [r] = vocabReadout(model, aug, { table: "embed", topK: 2 });
  assertEquals(vocabReadout(model, aug, { table: "embed", topK: 0 }), [{ top: [], bottom: [] }]);
  assertEquals(r!.top[0]!.token, token);
  let s = 5;
  for (let i = 0; i < d; i++) s += we[token * d + i]! * aug.data[i]!;
  assertAlmostEquals(r!.top[0]!.score, s, 1e-3);
});

Deno.test("effectiveRank and summarizeSpectrum: known values, degeneracy flags", () => {
  assertAlmostEquals(effectiveRank([1, 0, 0]), 1, 1e-15);
  assertAlmostEquals(effectiveRank([3, 3, 3, 3]), 4, 1e-12);
  assertEquals(effectiveRank([0, 0]), 0);
  const between = effectiveRank([2, 1]);
  assertOk(between > 1 && between < 2);
  // diag(5, 2, 2, 0): a degenerate pair inside the numerical rank.
  const a: Matrix = { rows: 4, cols: 4, data: new Float64Array(16) };
  [5, 2, 2, 0].forEach((v, i) => (a.data[i * 5] = v));
  const summary = summarizeSpectrum(svd(a));
  assertEquals(summary.singularValues, [5, 2, 2, 0]);
  assertEquals(summary.numericalRank, 3);
  assertEquals(summary.nearDegenerate, [false, true, true, false]);
  assertOk(summary.hasDegeneracy);
});

Deno.test("readoutHeads: u_k vs W_E, v_k vs W_E (QK) or W_U (OV), per head, any bias shape", () => {
  const model = processWeights(randomModel(smallConfig("gpt2", { dVocab: 37 }), 6));
  const heads: Array<[number, number]> = [[0, 1], [1, 2]];
  for (
    const [circuit, bias] of [["qk", "offset"], ["qk", "source"], ["qk", "augmented"], [
      "ov",
      "offset",
    ]] as const
  ) {
    const svds = headSvds(model, { circuit, bias, heads });
    const readouts = readoutHeads(model, svds, { vectors: 2, topK: 3 });
    for (const [i, h] of svds.entries()) {
      const { u, vt } = h.svd;
      for (let k = 0; k < 2; k++) {
        const uk: Matrix = { rows: u.rows, cols: 1, data: new Float64Array(u.rows) };
        for (let r = 0; r < u.rows; r++) uk.data[r] = u.data[r * u.cols + k]!;
        const vk: Matrix = {
          rows: vt.cols,
          cols: 1,
          data: vt.data.slice(k * vt.cols, (k + 1) * vt.cols),
        };
        const r = readouts[i]![k]!;
        assertEquals(r.sigma, h.svd.s[k]);
        const vTable = circuit === "ov" ? "unembed" : "embed";
        // Same tokens; scores agree to float32 rounding (the batched product sums in another order).
        for (
          const [got, want] of [
            [r.u, vocabReadout(model, uk, { table: "embed", topK: 3 })[0]!],
            [r.v, vocabReadout(model, vk, { table: vTable, topK: 3 })[0]!],
          ] as const
        ) {
          for (const end of ["top", "bottom"] as const) {
            assertEquals(got[end].map((e) => e.token), want[end].map((e) => e.token));
            assertAllClose(got[end].map((e) => e.score), want[end].map((e) => e.score), 1e-5);
          }
        }
      }
    }
  }
});
