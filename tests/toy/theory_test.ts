import { makeConfig } from "../../src/toy/config.ts";
import { densify, sampleBatch } from "../../src/toy/data.ts";
import { anisotropyOffset, initParams } from "../../src/toy/model.ts";
import { pinvApply, tokenMoments } from "../../src/toy/theory.ts";
import { Rng } from "../../src/linalg/mod.ts";
import { assertAllClose, assertAlmostEquals } from "../_assert.ts";

Deno.test("tokenMoments: closed-form E[x], E[xxᵀ] match Monte Carlo on sampled tokens", () => {
  const cfg = makeConfig({
    nFeatures: 12,
    dModel: 4,
    dHead: 4,
    featureProb: 0.2,
    batchSize: 4000,
    keysPerQuery: 4,
  });
  const p = initParams(cfg, new Rng(1), new Float64Array(0));
  const mu = anisotropyOffset(4, 0.8, new Rng(2));
  const mom = tokenMoments(cfg, p.W, mu);
  const b = sampleBatch(cfg, new Rng(3));
  const f = densify(b.features, 12);
  const T = b.features.tokens, d = 4, n = 12;
  const mean = new Float64Array(d), second = new Float64Array(d * d);
  const x = new Float64Array(d);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < d; r++) {
      let s = mu[r]!;
      for (let i = 0; i < n; i++) s += p.W[r * n + i]! * f[t * n + i]!;
      x[r] = s;
      mean[r]! += s / T;
    }
    for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) second[r * d + c]! += x[r]! * x[c]! / T;
  }
  // 20 000 tokens: Monte Carlo error ~ 1e-2 relative to the entries' scale (≈ 0.1–1).
  assertAllClose(mean, mom.mean, 0.02);
  assertAllClose(second, mom.second, 0.03);
});

Deno.test("pinvApply: equals the inverse on full rank, ignores the null space on rank deficient", () => {
  const S = new Float64Array([4, 1, 0, 1, 3, 0, 0, 0, 0]); // rank 2 in R^3
  const y = new Float64Array([1, 2, 5]);
  const x = pinvApply(S, 3, y);
  // On the span{e0, e1} block: [[4,1],[1,3]]⁻¹ (1,2) = (1/11)(3·1 − 1·2, −1·1 + 4·2) = (1/11, 7/11).
  assertAlmostEquals(x[0]!, 1 / 11, 1e-12);
  assertAlmostEquals(x[1]!, 7 / 11, 1e-12);
  assertAlmostEquals(x[2]!, 0, 1e-12);
});
