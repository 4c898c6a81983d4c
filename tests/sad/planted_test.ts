import { assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";
import { runWithCache } from "../../src/runtime/mod.ts";
import {
  analyseHead,
  type FiringPositions,
  headRotations,
  plantedModel,
  plantedPrompts,
  summarizeHead,
} from "../../src/sad/mod.ts";

for (
  const [architecture, rotary] of [["gpt2", "residual"], ["gpt_neox", "residual"], [
    "gpt_neox",
    "per-offset",
  ]] as const
) {
  Deno.test(`planted ${architecture} model (${rotary}): N_recon = 1 and S = 1/K on planted firings; rotation is denser`, async () => {
    const { model, plants } = plantedModel({ architecture, nLayers: 2, nHeads: 4, seed: 4 });
    const K = model.config.dHead;
    const { tokens, planted } = plantedPrompts(plants, model.config.dVocab, { n: 24, length: 10 });
    const cache = await runWithCache(model, tokens, {
      names: [
        "blocks.*.ln1.hook_normalized",
        "blocks.*.attn.hook_pattern",
        "blocks.*.attn.hook_attn_scores",
      ],
      backend: "reference",
    });
    const positions: FiringPositions[] = tokens.map((t) => ({
      length: t.length,
      end: t.length - 1,
      io: -1,
      s1: -1,
      s2: -1,
    }));
    const rotations = headRotations(2, 4, K, 0);
    let plantedSeen = 0;
    for (const plant of plants) {
      const { layer, head } = plant;
      const acts = {
        normalized: cache.get(`blocks.${layer}.ln1.hook_normalized`)!,
        pattern: cache.get(`blocks.${layer}.attn.hook_pattern`)!,
      };
      const scores = cache.get(`blocks.${layer}.attn.hook_attn_scores`)!;
      const result = analyseHead(model, layer, head, acts, positions, rotations(layer, head), {
        rotary,
      });
      const mine = result.firings.filter((f) =>
        tokens[f.prompt]![f.query] === plant.queryToken &&
        tokens[f.prompt]![f.key] === plant.keyToken
      );
      const expected = planted.filter((p) => p.plant === plant).length;
      assertOk(mine.length >= expected, `head ${layer}.${head}: ${mine.length} planted firings`);
      for (const f of mine) {
        assertOk(f.attention > 0.99, `planted attention ${f.attention}`);
        assertEquals(f.nRecon, 1);
        assertAlmostEquals(f.sparseness, 1 / K, 1e-9);
        // independent oracle for l̃: the forward pass's own scores (f32, ×√d_head, unscaled)
        const T = scores.shape[2]!;
        const base = ((f.prompt * 4 + head) * T + f.query) * T;
        const row = Array.from(
          { length: f.query + 1 },
          (_, s) => scores.data[base + s]! * Math.sqrt(K),
        );
        const lj = row[f.key]!;
        const mean = (row.reduce((a, b) => a + b, 0) - lj) / f.query;
        assertAlmostEquals(f.lTilde, lj - mean, 1e-4 * Math.abs(lj - mean));
        plantedSeen++;
      }
      const s = summarizeHead(layer, head, mine, K);
      assertEquals(s.svd.histogram[0], mine.length);
      assertOk(s.rotated.meanNRecon > 2, `rotated mean N_recon ${s.rotated.meanNRecon}`);
      // a rotated one-hot vector has S ≈ E[q²]²/E[q⁴] = 1/3 for Gaussian-like entries ≫ 1/K
      assertOk(s.rotated.meanSparseness > 2 / K, `rotated sparseness ${s.rotated.meanSparseness}`);
    }
    assertOk(plantedSeen >= planted.length, `${plantedSeen} planted firings`);
  });
}

Deno.test("a head with no firings (τ = 1 is never reached) gives an empty result", async () => {
  const { model } = plantedModel({ nLayers: 1, nHeads: 2, seed: 1 });
  const tokens = [[0, 1, 2, 3], [3, 2, 1, 0]];
  const cache = await runWithCache(model, tokens, {
    names: ["blocks.0.ln1.hook_normalized", "blocks.0.attn.hook_pattern"],
    backend: "reference",
  });
  const acts = {
    normalized: cache.get("blocks.0.ln1.hook_normalized")!,
    pattern: cache.get("blocks.0.attn.hook_pattern")!,
  };
  const positions = tokens.map(() => ({ length: 4, end: 3, io: -1, s1: -1, s2: -1 }));
  const r = analyseHead(
    model,
    0,
    1,
    acts,
    positions,
    headRotations(1, 2, model.config.dHead, 0)(0, 1),
    {
      tau: 1.01,
    },
  );
  assertEquals(r.firings, []);
});

Deno.test("the planted demo script's rows: N_recon 1 and S = 1/K everywhere, rotation denser", async () => {
  const { plantedDemo } = await import("../../src/sad/planted_demo.ts");
  const rows = await plantedDemo(0);
  assertEquals(rows.length, 24);
  for (const r of rows) {
    assertOk(r.firings > 0, `${r.model} ${r.head}`);
    assertEquals(r.nRecon, 1);
    assertAlmostEquals(r.sparseness, 1 / 16, 1e-9);
    assertOk(r.rotatedNRecon > 2 && r.rotatedSparseness > 2 / 16);
  }
});
