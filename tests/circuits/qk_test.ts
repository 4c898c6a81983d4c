import {
  bilinear,
  ovCircuit,
  processWeights,
  QK_BIASES,
  type QkBias,
  qkCircuit,
  rotaryMatrix,
} from "../../src/circuits/mod.ts";
import { matmul, type Matrix, Rng, svd } from "../../src/linalg/mod.ts";
import { assertAllClose, assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";
import { attention, layerNorm, rotate } from "./_dense_forward.ts";
import { randomModel, smallConfig } from "./_random_model.ts";
import type { Model } from "../../src/model/types.ts";

// All circuit arithmetic is float64: identities hold to ~1e-12 relative; we allow 1e-9·scale.
const REL = 1e-9;

function vec(rng: Rng, n: number, offset = 0): Float64Array {
  return Float64Array.from({ length: n }, () => offset + rng.normal());
}

/** q or k of one head computed directly from the model's tensors (independent of circuits/). */
function headVector(model: Model, l: number, h: number, x: Float64Array, which: "Q" | "K") {
  const { dModel: d, dHead: dh } = model.config;
  const W = model.weights.get(`blocks.${l}.attn.W_${which}`)!.data;
  const b = model.weights.get(`blocks.${l}.attn.b_${which}`)!.data;
  const out = new Float64Array(dh);
  for (let j = 0; j < dh; j++) {
    let s = b[h * dh + j]!;
    for (let i = 0; i < d; i++) s += x[i]! * W[(h * d + i) * dh + j]!;
    out[j] = s;
  }
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function expected(
  model: Model,
  bias: QkBias,
  l: number,
  h: number,
  xd: Float64Array,
  xs: Float64Array,
) {
  const q = headVector(model, l, h, xd, "Q"), k = headVector(model, l, h, xs, "K");
  const dh = model.config.dHead;
  const bQ = model.weights.get(`blocks.${l}.attn.b_Q`)!.data.subarray(h * dh, (h + 1) * dh);
  const bK = model.weights.get(`blocks.${l}.attn.b_K`)!.data.subarray(h * dh, (h + 1) * dh);
  const qNoBias = q.map((v, j) => v - bQ[j]!), kNoBias = k.map((v, j) => v - bK[j]!);
  switch (bias) {
    case "offset":
    case "augmented":
      return dot(q, k);
    case "source":
      return dot(q, k) - dot(q, bK);
    case "destination":
      return dot(q, k) - dot(bQ, k);
    case "none":
      return dot(qNoBias, kNoBias);
  }
}

for (const bias of QK_BIASES) {
  Deno.test(`QK ${bias}: x̂_dᵀ Ω x̂_s equals the direct q·k form (GPT-2-shaped, f64, ${REL} rel)`, () => {
    const model = processWeights(randomModel(smallConfig("gpt2"), 21));
    const rng = new Rng(1);
    const { dModel: d } = model.config;
    for (const [l, h] of [[0, 0], [1, 2]] as const) {
      const c = qkCircuit(model, l, h, { bias });
      const n = bias === "augmented" || bias === "source" ? d + 1 : d;
      const m = bias === "augmented" || bias === "destination" ? d + 1 : d;
      assertEquals([c.omega.rows, c.omega.cols], [n, m]);
      assertAlmostEquals(c.attnScale, 2, 0); // sqrt(d_head = 4)
      for (let trial = 0; trial < 5; trial++) {
        const xd = vec(rng, d, 0.3), xs = vec(rng, d, -0.2);
        const want = expected(model, bias, l, h, xd, xs);
        const got = bilinear(c.queryInput(xd), c, c.keyInput(xs));
        assertAlmostEquals(got, want, REL * (1 + Math.abs(want)), `${l}.${h}`);
        // And through the dense Ω (test oracle only).
        const dense = c.omega.toDense();
        const xq = c.queryInput(xd), xk = c.keyInput(xs);
        let viaDense = 0;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < m; j++) viaDense += xq[i]! * dense.data[i * m + j]! * xk[j]!;
        }
        assertAlmostEquals(viaDense, want, REL * (1 + Math.abs(want)));
      }
    }
  });
}

Deno.test("QK offset: c_d W_Q = b_Q and c_s W_K = b_K exactly (full column rank)", () => {
  const model = processWeights(randomModel(smallConfig("gpt2"), 5));
  const c = qkCircuit(model, 1, 1);
  assertOk(c.offsetsExact);
  const dh = model.config.dHead;
  const bQ = model.weights.get("blocks.1.attn.b_Q")!.data.subarray(dh, 2 * dh);
  const wQ = c.queryFactor;
  const cw = new Float64Array(dh);
  for (let i = 0; i < wQ.rows; i++) {
    for (let j = 0; j < dh; j++) cw[j]! += c.queryOffset![i]! * wQ.data[i * dh + j]!;
  }
  assertAllClose(cw, bQ, 1e-12);
});

function reconstruct(u: Matrix, s: Float64Array, vt: Matrix): Float64Array {
  const us: Matrix = { rows: u.rows, cols: u.cols, data: u.data.slice() };
  for (let i = 0; i < u.rows; i++) {
    for (let k = 0; k < u.cols; k++) us.data[i * u.cols + k] = us.data[i * u.cols + k]! * s[k]!;
  }
  return matmul(us, vt).data;
}

for (const bias of QK_BIASES) {
  Deno.test(`QK ${bias}: factored SVD equals the dense SVD of Ω (σ to 1e-10·σ₁)`, () => {
    const model = processWeights(
      randomModel(smallConfig("gpt2", { dModel: 24, dHead: 6, nHeads: 4 }), 8),
    );
    const c = qkCircuit(model, 1, 3, { bias });
    const f = c.omega.svd();
    const dense = c.omega.toDense();
    const ref = svd(dense);
    const k = f.s.length;
    assertEquals(k, 6);
    assertAllClose(f.s, ref.s.subarray(0, k), 1e-10 * ref.s[0]!);
    assertOk(ref.s[k]! <= 1e-10 * ref.s[0]!, "rank ≤ d_head");
    const norm = Math.max(...Array.from(dense.data, Math.abs));
    assertAllClose(reconstruct(f.u, f.s, f.vt), dense.data, 1e-10 * norm);
    for (let i = 1; i < k; i++) assertOk(f.s[i - 1]! >= f.s[i]!, "descending");
  });
}

Deno.test("circuits reproduce the forward pass's attention scores (processed GPT-2, every head)", () => {
  const model = processWeights(randomModel(smallConfig("gpt2"), 33));
  const rng = new Rng(2);
  const { dModel: d, nHeads, nLayers, lnEps } = model.config;
  const xs = Array.from(
    { length: 5 },
    () => layerNorm(vec(rng, d, 1), undefined, undefined, lnEps),
  );
  for (let l = 0; l < nLayers; l++) {
    const { scores } = attention(model, l, xs);
    for (let h = 0; h < nHeads; h++) {
      for (const bias of ["offset", "augmented"] as const) {
        const c = qkCircuit(model, l, h, { bias });
        for (let t = 0; t < xs.length; t++) {
          for (let s = 0; s <= t; s++) {
            const got = bilinear(c.queryInput(xs[t]!), c, c.keyInput(xs[s]!)) / c.attnScale;
            assertAlmostEquals(got, scores[h]![t]![s]!, 1e-9, `${l}.${h} ${t}→${s}`);
          }
        }
      }
    }
  }
});

Deno.test("rotary: R_t orthogonal, R_a R_b = R_{a+b}, matches the oracle's rotate-half", () => {
  const spec = { dHead: 8, rotaryDim: 4, base: 10000 };
  const ra = rotaryMatrix(3, spec), rb = rotaryMatrix(-7.5, spec), rab = rotaryMatrix(-4.5, spec);
  assertAllClose(matmul(ra, rb).data, rab.data, 1e-12);
  const rt: Matrix = { rows: 8, cols: 8, data: rotaryMatrix(-3, spec).data };
  assertAllClose(matmul(ra, rt).data, rotaryMatrix(0, spec).data, 1e-12);
  const q = vec(new Rng(3), 8);
  const viaMatrix = matmul(ra, { rows: 8, cols: 1, data: q }).data;
  assertAllClose(viaMatrix, rotate(q, 3, 4, 10000), 1e-12);
});

for (const bias of ["offset", "augmented", "none"] as const) {
  Deno.test(`rotary QK ${bias}: rotated residuals x̂_dᵀ Ω x̂_s and per-offset Ω_Δ equal rotated q·k`, () => {
    const config = smallConfig("gpt_neox", { dModel: 16, dHead: 8, rotaryDim: 4, nHeads: 2 });
    const model = processWeights(randomModel(config, 12));
    const rng = new Rng(4);
    const { dModel: d, dHead: dh } = config;
    const c = qkCircuit(model, 1, 1, { bias });
    for (let trial = 0; trial < 6; trial++) {
      const pd = rng.int(40), ps = rng.int(pd + 1);
      const xd = vec(rng, d, 0.2), xs = vec(rng, d, 0.1);
      let q = headVector(model, 1, 1, xd, "Q"), k = headVector(model, 1, 1, xs, "K");
      if (bias === "none") {
        const bQ = model.weights.get("blocks.1.attn.b_Q")!.data.subarray(dh, 2 * dh);
        const bK = model.weights.get("blocks.1.attn.b_K")!.data.subarray(dh, 2 * dh);
        q = q.map((v, j) => v - bQ[j]!);
        k = k.map((v, j) => v - bK[j]!);
      }
      const want = dot(rotate(q, pd, 4, 10000), rotate(k, ps, 4, 10000));
      const got = bilinear(c.queryInput(xd, pd), c, c.keyInput(xs, ps));
      assertAlmostEquals(got, want, REL * (1 + Math.abs(want)), `positions ${pd},${ps}`);
      // Per-offset form: un-rotated inputs with Ω_{d−s}.
      const omegaDelta = c.perOffset(pd - ps).toDense();
      const yq = c.queryInput(xd), yk = c.keyInput(xs);
      let viaDelta = 0;
      for (let i = 0; i < yq.length; i++) {
        for (let j = 0; j < yk.length; j++) {
          viaDelta += yq[i]! * omegaDelta.data[i * yk.length + j]! * yk[j]!;
        }
      }
      assertAlmostEquals(viaDelta, want, REL * (1 + Math.abs(want)));
    }
    // The explicit maps M_dᵀ, M_s (factored) send the un-rotated inputs to x̂_d, x̂_s.
    const x = vec(rng, d), pos = 7;
    for (const side of ["query", "key"] as const) {
      const y = side === "query" ? c.queryInput(x) : c.keyInput(x);
      const want = side === "query" ? c.queryInput(x, pos) : c.keyInput(x, pos);
      const M = c.residualMap(pos, side).toDense();
      const got = Array.from({ length: M.rows }, (_, i) => {
        let s = 0;
        for (let j = 0; j < M.cols; j++) s += M.data[i * M.cols + j]! * y[j]!;
        return s;
      });
      assertAllClose(got, want, 1e-10);
    }
    // Position-independent Ω ≠ Ω_Δ in general, but Ω_0 = Ω.
    assertAllClose(c.perOffset(0).toDense().data, c.omega.toDense().data, 1e-12);
  });
}

Deno.test("OV: Ω_OV = W_V W_O (dense oracle), bias b_V W_O vanishes after foldValueBiases", () => {
  const raw = randomModel(smallConfig("gpt2"), 17);
  const { dModel: d, dHead: dh } = raw.config;
  const c = ovCircuit(raw, 0, 2);
  const wv = raw.weights.get("blocks.0.attn.W_V")!.data;
  const wo = raw.weights.get("blocks.0.attn.W_O")!.data;
  const dense = c.omega.toDense().data;
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let j = 0; j < dh; j++) s += wv[(2 * d + i) * dh + j]! * wo[(2 * dh + j) * d + k]!;
      assertAlmostEquals(dense[i * d + k]!, s, 1e-12);
    }
  }
  assertOk(Math.max(...Array.from(c.bias, Math.abs)) > 1e-3);
  const processed = ovCircuit(processWeights(raw), 0, 2);
  assertEquals(Array.from(processed.bias).every((x) => x === 0), true);
  assertEquals(processed.omega.svd().s.length, dh);
});

Deno.test("qkCircuit rejects bad layer/head/bias; perOffset needs rotary", () => {
  const model = randomModel(smallConfig("gpt2"), 1);
  let threw = 0;
  for (
    const f of [
      () => qkCircuit(model, 2, 0),
      () => qkCircuit(model, 0, 3),
      () => qkCircuit(model, 0, 0, { bias: "bogus" as QkBias }),
      () => qkCircuit(model, 0, 0).perOffset(1),
    ]
  ) {
    try {
      f();
    } catch (e) {
      assertOk(e instanceof RangeError);
      threw++;
    }
  }
  assertEquals(threw, 4);
});
