/**
 * The presets against method.md §2.1/§2.4 and the issue: single pair (N=20, D=H=10, T₀₁ = 1),
 * 20 pairs on 40 distinct features (N=100, D=H=50) with distinct weights 2 → 1, the anisotropy
 * and λ sweeps.
 */
import { preset, PRESETS } from "../../src/toy/presets.ts";
import { DEFAULT_CONFIG } from "../../src/toy/config.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";

Deno.test("preset single-pair: N=20, D=H=10, one pair T₀₁ = 1", () => {
  const c = preset("single-pair").config;
  assertEquals([c.nFeatures, c.dModel, c.dHead], [20, 10, 10]);
  assertEquals(c.pairs, [{ query: 0, key: 1, weight: 1 }]);
  assertEquals(c.targetScale, 1);
  assertEquals(preset("single-pair").sweep, undefined);
});

Deno.test("preset multi-pair: N=100, D=H=50, 20 pairs on 40 distinct features, weights 2 → 1", () => {
  const c = preset("multi-pair").config;
  assertEquals([c.nFeatures, c.dModel, c.dHead], [100, 50, 50]);
  assertEquals(c.pairs.length, 20);
  const features = c.pairs.flatMap((p) => [p.query, p.key]);
  assertEquals(new Set(features).size, 40);
  assertOk(features.every((f) => f >= 0 && f < 100));
  const w = c.pairs.map((p) => p.weight);
  assertEquals(w[0], 2);
  assertEquals(w[19], 1);
  // Linearly spaced and strictly decreasing (distinct, so each triplet is well defined).
  for (let i = 1; i < 20; i++) assertAlmostEquals(w[i - 1]! - w[i]!, 1 / 19, 1e-12);
});

Deno.test("sweep presets: anisotropy from α = 0 upward; λ over method.md's {0.1, 0.5, 1, 10}", () => {
  const a = preset("anisotropy");
  assertEquals(a.sweep?.field, "anisotropy");
  assertEquals(a.sweep?.values[0], 0);
  assertOk(a.sweep!.values.every((v, i, xs) => i === 0 || v > xs[i - 1]!), "increasing α");
  const l = preset("lambda-sweep");
  assertEquals(l.sweep, { field: "lambda", values: [0.1, 0.5, 1, 10] });
  assertEquals(l.config.pairs, [{ query: 0, key: 1, weight: 1 }]);
  assertEquals([l.config.nFeatures, l.config.dModel, l.config.dHead], [20, 10, 10]);
});

Deno.test("presets: §2.4 training defaults unless the preset says otherwise; overrides apply", () => {
  for (const name of PRESETS) {
    const c = preset(name, { seed: 7, steps: 5 }).config;
    assertEquals([c.seed, c.steps], [7, 5], name);
    assertEquals(c.lr, 1e-3, name);
    assertEquals([c.beta1, c.beta2, c.eps, c.weightDecay], [0.9, 0.999, 1e-8, 0.01], name);
    assertEquals(c.batchSize, 1024, name);
    assertEquals(c.attnLoss, "ce", name);
    assertEquals(c.keysPerQuery, DEFAULT_CONFIG.keysPerQuery, name);
  }
});
