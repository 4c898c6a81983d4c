import { assertAlmostEquals, assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { runWithCache } from "../../src/runtime/mod.ts";
import { foldedRandomModel, ioiWordTokenizer } from "./_fixtures.ts";
import { sadOnIoi } from "../../src/sad/mod.ts";

for (
  const [rotary, mode] of [[false, "residual"], [true, "residual"], [true, "per-offset"]] as const
) {
  Deno.test(`sadOnIoi (${rotary ? `rotary, ${mode}` : "GPT-2"}): sums check, l̃ equals the forward scores, canonical pairs`, async () => {
    const tok = ioiWordTokenizer();
    const model = foldedRandomModel(rotary, tok.size);
    const result = await sadOnIoi(model, tok, {
      n: 12,
      seed: 2,
      tau: "1/m",
      backend: "reference",
      headTypes: new Map([["1.0", "name-mover"], ["0.1", "previous-token"]]),
      rotary: mode,
    });
    assertEquals(result.heads.length, 4);
    assertEquals(result.analysed.length, 12);
    // independent oracle: hook_attn_scores of a forward on the same truncated prompts
    const tokens = result.positions.map((p) => p.tokens.slice(0, p.end + 1));
    const cache = await runWithCache(model, tokens, {
      names: ["blocks.*.attn.hook_attn_scores"],
      backend: "reference",
    });
    let checked = 0;
    for (const h of result.heads) {
      assertOk(h.firings.length > 0, `head ${h.layer}.${h.head} has firings`);
      assertEquals(h.summary.nFirings, h.firings.length);
      const hist = h.summary.svd.histogram.reduce((a, b) => a + b, 0);
      assertEquals(hist, h.firings.length - h.summary.nDropped);
      const scores = cache.get(`blocks.${h.layer}.attn.hook_attn_scores`)!;
      const T = scores.shape[2]!;
      for (const f of h.firings.slice(0, 20)) {
        assertOk(f.key >= 1 && f.key <= f.query && f.query <= result.positions[f.prompt]!.end);
        const base = ((f.prompt * 2 + h.head) * T + f.query) * T;
        const row = Array.from(
          { length: f.query + 1 },
          (_, s) => scores.data[base + s]! * Math.sqrt(8),
        );
        const want = row[f.key]! - (row.reduce((a, b) => a + b, 0) - row[f.key]!) / f.query;
        assertAlmostEquals(f.lTilde, want, 1e-4 * Math.max(1, Math.abs(want)));
        if (f.reason === "threshold") assertOk(f.attention >= 1 / (f.query + 1));
        checked++;
      }
    }
    assertOk(checked > 20);
    const nm = result.heads.find((h) => h.layer === 1 && h.head === 0)!;
    const canon = nm.firings.filter((f) => f.reason === "name-mover");
    assertEquals(canon.length, 12);
    for (const f of canon) {
      const p = result.positions[f.prompt]!;
      assertEquals([f.query, f.key], [p.end, p.io]);
    }
    assertEquals(nm.summary.canonical?.type, "name-mover");
  });
}

Deno.test("sadOnIoi: the top-prediction filter keeps exactly the prompts whose END argmax is IO", async () => {
  const tok = ioiWordTokenizer();
  const model = foldedRandomModel(false, tok.size);
  const all = await sadOnIoi(model, tok, { n: 10, backend: "reference", heads: [[0, 0]] });
  // Make prompt 0's IO name the top prediction everywhere, so the filter keeps some prompts.
  model.weights.get("unembed.b_U")!.data[all.positions[0]!.ioToken] = 1e3;
  const filtered = await sadOnIoi(model, tok, {
    n: 10,
    backend: "reference",
    heads: [[0, 0]],
    filterTopPrediction: true,
  });
  const tokens = all.positions.map((p) => p.tokens.slice(0, p.end + 1));
  const cache = await runWithCache(model, tokens, {
    names: ["logits"],
    backend: "reference",
    logitPositions: "last",
  });
  const logits = cache.get("logits")!;
  const V = logits.shape[2]!;
  const expected = all.positions.flatMap((p, b) => {
    const row = Array.from(logits.data.subarray(b * V, (b + 1) * V));
    return row.indexOf(Math.max(...row)) === p.ioToken ? [b] : [];
  });
  assertOk(expected.includes(0) && expected.length < 10, `kept ${expected}`);
  assertEquals(filtered.analysed, expected);
  for (const f of filtered.heads[0]!.firings) assertOk(expected.includes(f.prompt));
});

Deno.test("sadOnIoi --rotary per-offset reaches the decomposition: same l̃, different contributions", async () => {
  const tok = ioiWordTokenizer();
  const model = foldedRandomModel(true, tok.size);
  const opts = { n: 6, seed: 4, tau: "1/m" as const, backend: "reference" as const };
  const residual = await sadOnIoi(model, tok, { ...opts, rotary: "residual" });
  const perOffset = await sadOnIoi(model, tok, { ...opts, rotary: "per-offset" });
  const a = residual.heads.flatMap((h) => h.firings);
  const b = perOffset.heads.flatMap((h) => h.firings);
  assertEquals(a.length, b.length);
  a.forEach((f, i) =>
    assertAlmostEquals(f.lTilde, b[i]!.lTilde, 1e-9 * Math.max(1, Math.abs(f.lTilde)))
  );
  assertOk(a.some((f, i) => Math.abs(f.sparseness - b[i]!.sparseness) > 1e-6), "bases differ");
});

Deno.test("sadOnIoi --rotary per-offset honours --bias: same l̃, different bases; Ω_0 spectra; destination only per offset", async () => {
  const tok = ioiWordTokenizer();
  const model = foldedRandomModel(true, tok.size);
  const opts = { n: 6, seed: 4, tau: "1/m" as const, backend: "reference" as const };
  const runs = await Promise.all(
    (["offset", "source", "augmented", "destination"] as const).map((bias) =>
      sadOnIoi(model, tok, { ...opts, rotary: "per-offset", bias })
    ),
  );
  const [offset] = runs;
  const a = offset!.heads.flatMap((h) => h.firings);
  for (const r of runs.slice(1)) {
    const b = r.heads.flatMap((h) => h.firings);
    assertEquals(a.length, b.length);
    a.forEach((f, i) =>
      assertAlmostEquals(f.lTilde, b[i]!.lTilde, 1e-9 * Math.max(1, Math.abs(f.lTilde)))
    );
    assertOk(a.some((f, i) => Math.abs(f.sparseness - b[i]!.sparseness) > 1e-6), "bases differ");
  }
  // Ω_0 = W_Q W_Kᵀ: the reported spectrum equals the residual (position-independent) basis's
  const residual = await sadOnIoi(model, tok, { ...opts, rotary: "residual", bias: "offset" });
  residual.heads.forEach((h, i) =>
    h.s.forEach((v, k) =>
      assertAlmostEquals(offset!.heads[i]!.s[k]!, v, 1e-9 * Math.max(1, h.s[0]!))
    )
  );
  await assertRejects(
    () => sadOnIoi(model, tok, { ...opts, rotary: "residual", bias: "destination" }),
    RangeError,
    /needs --rotary per-offset/,
  );
});
