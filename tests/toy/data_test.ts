import { densify, importance, sampleBatch } from "../../src/toy/data.ts";
import { makeConfig } from "../../src/toy/config.ts";
import { Rng } from "../../src/linalg/mod.ts";
import { assertAllClose, assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";

Deno.test("sampleBatch: Bernoulli(p)·Uniform[0,1] features (geometric skipping matches p)", () => {
  const cfg = makeConfig({ nFeatures: 30, featureProb: 0.07, keysPerQuery: 4, batchSize: 2000 });
  const b = sampleBatch(cfg, new Rng(3));
  const n = cfg.nFeatures, tokens = b.features.tokens;
  assertEquals(tokens, 2000 * 5);
  const f = densify(b.features, n);
  // Per-feature frequency: binomial with 10 000 trials, sd ≈ 0.0026; 5 sd tolerance.
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let t = 0; t < tokens; t++) if (f[t * n + i]! > 0) c++;
    assertAlmostEquals(c / tokens, 0.07, 0.013, `feature ${i}`);
  }
  const vals = Array.from(b.features.val);
  const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
  assertAlmostEquals(mean, 0.5, 5 * Math.sqrt(1 / 12 / vals.length));
  assertOk(vals.every((v) => v >= 0 && v < 1));
  // Indices ascending within each token.
  for (let t = 0; t < tokens; t++) {
    for (let q = b.features.ptr[t]! + 1; q < b.features.ptr[t + 1]!; q++) {
      assertOk(b.features.idx[q]! > b.features.idx[q - 1]!);
    }
  }
});

Deno.test("sampleBatch: target logits equal f_qᵀ T f_k computed densely; seeded", () => {
  const cfg = makeConfig({
    nFeatures: 8,
    featureProb: 0.5,
    keysPerQuery: 3,
    batchSize: 50,
    targetScale: 2,
    pairs: [{ query: 0, key: 1, weight: 1 }, { query: 2, key: 1, weight: -0.5 }, {
      query: 3,
      key: 3,
      weight: 2,
    }],
  });
  const b = sampleBatch(cfg, new Rng(9));
  const f = densify(b.features, 8);
  const T = new Float64Array(64);
  for (const p of cfg.pairs) T[p.query * 8 + p.key]! += p.weight * cfg.targetScale;
  const expect = new Float64Array(50 * 3);
  for (let q = 0; q < 50; q++) {
    for (let j = 0; j < 3; j++) {
      const kt = 50 + q * 3 + j;
      let s = 0;
      for (let a = 0; a < 8; a++) {
        for (let c = 0; c < 8; c++) s += f[q * 8 + a]! * T[a * 8 + c]! * f[kt * 8 + c]!;
      }
      expect[q * 3 + j] = s;
    }
  }
  assertAllClose(b.targetLogits, expect, 1e-12);
  const again = sampleBatch(cfg, new Rng(9));
  assertEquals(Array.from(again.features.val), Array.from(b.features.val));
});

Deno.test("sampleBatch: queryIsKey puts the query itself at key 0", () => {
  const cfg = makeConfig({
    nFeatures: 10,
    featureProb: 0.4,
    keysPerQuery: 3,
    batchSize: 20,
    queryIsKey: true,
  });
  const b = sampleBatch(cfg, new Rng(1));
  const f = densify(b.features, 10);
  for (let q = 0; q < 20; q++) {
    assertEquals(
      Array.from(f.subarray((20 + q * 3) * 10, (20 + q * 3 + 1) * 10)),
      Array.from(f.subarray(q * 10, (q + 1) * 10)),
    );
  }
});

Deno.test("importance: I_i = decay^i", () => {
  assertAllClose(importance(4, 0.9), [1, 0.9, 0.81, 0.729], 1e-15);
});
