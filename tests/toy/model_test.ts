import { makeConfig, type ToyConfig } from "../../src/toy/config.ts";
import { densify, importance, sampleBatch } from "../../src/toy/data.ts";
import {
  anisotropyOffset,
  initParams,
  lossAndGrad,
  omega,
  viewParams,
} from "../../src/toy/model.ts";
import { Rng } from "../../src/linalg/mod.ts";
import { assertAlmostEquals, assertOk } from "../_assert.ts";
import { HAS_NUMPY, runPython } from "../_helpers.ts";

const pairs = [{ query: 0, key: 1, weight: 1 }, { query: 2, key: 3, weight: 2 }];

function small(over: Partial<ToyConfig> = {}): ToyConfig {
  return makeConfig({
    nFeatures: 7,
    dModel: 4,
    dHead: 3,
    featureProb: 0.4,
    keysPerQuery: 4,
    batchSize: 6,
    targetScale: 3,
    lambda: 0.7,
    pairs,
    ...over,
  });
}

const variants: Array<[string, Partial<ToyConfig>]> = [
  ["CE, all tokens reconstructed", {}],
  ["MSE, anisotropy, query is key, queries reconstructed", {
    attnLoss: "mse",
    anisotropy: 0.7,
    queryIsKey: true,
    reconTokens: "query",
  }],
];

for (const [name, over] of variants) {
  Deno.test(`lossAndGrad: backward matches central finite differences in f64 (${name})`, () => {
    const cfg = small(over);
    const p = initParams(cfg, new Rng(1), new Float64Array(0));
    p.b.fill(0.1); // keep most ReLUs active so the check covers the reconstruction path
    const batch = sampleBatch(cfg, new Rng(2));
    const imp = importance(cfg.nFeatures, 0.9);
    const mu = cfg.anisotropy ? anisotropyOffset(cfg.dModel, cfg.anisotropy, new Rng(3)) : null;
    const g = viewParams(cfg, new Float64Array(p.flat.length));
    lossAndGrad(cfg, p, batch, imp, mu, g);
    const fd = new Float64Array(p.flat.length);
    for (let i = 0; i < p.flat.length; i++) {
      const x = p.flat[i]!, e = 1e-6;
      p.flat[i] = x + e;
      const lp = lossAndGrad(cfg, p, batch, imp, mu).total;
      p.flat[i] = x - e;
      const lm = lossAndGrad(cfg, p, batch, imp, mu).total;
      p.flat[i] = x;
      fd[i] = (lp - lm) / (2 * e);
    }
    let num = 0, den = 0;
    for (let i = 0; i < fd.length; i++) {
      num += (fd[i]! - g.flat[i]!) ** 2;
      den += fd[i]! ** 2;
    }
    const rel = Math.sqrt(num / den);
    assertOk(rel <= 1e-6, `relative gradient error ${rel} > 1e-6`);
  });
}

/** Independent dense forward: x = W f + μ, f' = ReLU(Wᵀx + b), logits x_qᵀ W_Qᵀ W_K x_k. */
function denseLoss(
  cfg: ToyConfig,
  flat: Float64Array,
  batch: ReturnType<typeof sampleBatch>,
  mu: Float64Array | null,
): number {
  const { nFeatures: n, dModel: d, dHead: h, keysPerQuery: m } = cfg;
  const P = viewParams(cfg, flat);
  const f = densify(batch.features, n);
  const B = batch.batchSize, T = batch.features.tokens;
  const X = new Float64Array(T * d);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < d; r++) {
      let s = mu ? mu[r]! : 0;
      for (let i = 0; i < n; i++) s += P.W[r * n + i]! * f[t * n + i]!;
      X[t * d + r] = s;
    }
  }
  const imp = importance(n, cfg.importanceDecay);
  let recon = 0;
  const nr = cfg.reconTokens === "all" ? T : B;
  for (let t = 0; t < nr; t++) {
    for (let i = 0; i < n; i++) {
      let z = P.b[i]!;
      for (let r = 0; r < d; r++) z += P.W[r * n + i]! * X[t * d + r]!;
      recon += imp[i]! * (Math.max(z, 0) - f[t * n + i]!) ** 2;
    }
  }
  const Om = omega(cfg, P);
  let attn = 0;
  for (let q = 0; q < B; q++) {
    const l: number[] = [];
    for (let j = 0; j < m; j++) {
      const kt = B + q * m + j;
      let s = 0;
      for (let a = 0; a < d; a++) {
        for (let c = 0; c < d; c++) s += X[q * d + a]! * Om[a * d + c]! * X[kt * d + c]!;
      }
      l.push(s);
    }
    const tl = Array.from(batch.targetLogits.subarray(q * m, (q + 1) * m));
    const lse = (v: number[]) => Math.log(v.reduce((a, x) => a + Math.exp(x), 0));
    const lz = lse(l), tz = lse(tl);
    for (let j = 0; j < m; j++) attn -= Math.exp(tl[j]! - tz) * (l[j]! - lz);
  }
  void h;
  return recon / nr + cfg.lambda * attn / B;
}

Deno.test("lossAndGrad: sparse forward equals an independent dense forward (f64 and f32)", () => {
  const cfg = small({ anisotropy: 0.5, nFeatures: 12, dModel: 5, dHead: 4, batchSize: 20 });
  const p = initParams(cfg, new Rng(4), new Float64Array(0));
  const batch = sampleBatch(cfg, new Rng(5));
  const mu = anisotropyOffset(cfg.dModel, 0.5, new Rng(6));
  const imp = importance(cfg.nFeatures, cfg.importanceDecay);
  const expect = denseLoss(cfg, p.flat, batch, mu);
  assertAlmostEquals(lossAndGrad(cfg, p, batch, imp, mu).total, expect, 1e-12 * Math.abs(expect));
  const p32 = viewParams(cfg, Float32Array.from(p.flat));
  const l32 = lossAndGrad(cfg, p32, batch, imp, mu).total;
  assertAlmostEquals(l32, expect, 1e-5 * Math.abs(expect));
});

for (const [name, over] of variants) {
  Deno.test(`lossAndGrad: float32 gradient (WebAssembly token loops + SIMD matmul) agrees with the float64 TypeScript path (${name})`, () => {
    const cfg = small({
      nFeatures: 40,
      dModel: 20,
      dHead: 16,
      featureProb: 0.1,
      batchSize: 64,
      ...over,
    });
    const p = initParams(cfg, new Rng(7), new Float64Array(0));
    const batch = sampleBatch(cfg, new Rng(8));
    const imp = importance(cfg.nFeatures, cfg.importanceDecay);
    const mu = cfg.anisotropy ? anisotropyOffset(cfg.dModel, cfg.anisotropy, new Rng(9)) : null;
    const g64 = viewParams(cfg, new Float64Array(p.flat.length));
    const g32 = viewParams(cfg, new Float32Array(p.flat.length));
    lossAndGrad(cfg, p, batch, imp, mu, g64);
    lossAndGrad(cfg, viewParams(cfg, Float32Array.from(p.flat)), batch, imp, mu, g32);
    let num = 0, den = 0;
    for (let i = 0; i < g64.flat.length; i++) {
      num += (g64.flat[i]! - g32.flat[i]!) ** 2;
      den += g64.flat[i]! ** 2;
    }
    // float32 rounding of inputs and sums over ~10³ terms: relative error ~1e-6 expected.
    const rel = Math.sqrt(num / den);
    assertOk(rel < 1e-5, `f32 vs f64 relative error ${rel}`);
  });
}

Deno.test("initParams: Xavier-normal scale, b = 0", () => {
  const cfg = makeConfig({ nFeatures: 300, dModel: 100, dHead: 50 });
  const p = initParams(cfg, new Rng(0), new Float64Array(0));
  const sd = (a: ArrayLike<number>) =>
    Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);
  assertAlmostEquals(sd(p.W), Math.sqrt(2 / 400), 0.03 * Math.sqrt(2 / 400));
  assertAlmostEquals(sd(p.WQ), Math.sqrt(2 / 150), 0.05 * Math.sqrt(2 / 150));
  assertOk(p.b.every((v) => v === 0));
});

Deno.test({
  name: "lossAndGrad: loss and gradients equal the numpy anchor's (bench/toy_anchor.py --check)",
  ignore: !HAS_NUMPY,
  fn: async () => {
    const cfg = small({ nFeatures: 9, dModel: 5, dHead: 4, batchSize: 12 });
    const p = initParams(cfg, new Rng(21), new Float64Array(0));
    p.b.fill(0.05);
    const batch = sampleBatch(cfg, new Rng(22));
    const imp = importance(cfg.nFeatures, cfg.importanceDecay);
    const g = viewParams(cfg, new Float64Array(p.flat.length));
    const loss = lossAndGrad(cfg, p, batch, imp, null, g).total;
    const n = cfg.nFeatures, B = cfg.batchSize;
    const F = densify(batch.features, n);
    const rows = (a: ArrayLike<number>, r: number, c: number) =>
      Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => a[i * c + j]!));
    const T = new Float64Array(n * n);
    for (const pr of cfg.pairs) T[pr.query * n + pr.key]! += pr.weight * cfg.targetScale;
    const input = {
      W: rows(p.W, cfg.dModel, n),
      b: Array.from(p.b),
      WQ: rows(p.WQ, cfg.dHead, cfg.dModel),
      WK: rows(p.WK, cfg.dHead, cfg.dModel),
      Fq: rows(F.subarray(0, B * n), B, n),
      Fk: rows(F.subarray(B * n), B * cfg.keysPerQuery, n),
      T: rows(T, n, n),
      imp: Array.from(imp),
      lam: cfg.lambda,
      m: cfg.keysPerQuery,
    };
    const script = `import runpy, sys; sys.argv = ["toy_anchor.py", "--check"]; ` +
      `runpy.run_path(${
        JSON.stringify(new URL("../../bench/toy_anchor.py", import.meta.url).pathname)
      }, run_name="__main__")`;
    const out = JSON.parse(
      await runPython(script, new TextEncoder().encode(JSON.stringify(input))),
    );
    assertAlmostEquals(out.loss, loss, 1e-12 * Math.abs(loss));
    const ours = [g.W, g.b, g.WQ, g.WK];
    out.grads.forEach((ref: number[], i: number) => {
      const mine = ours[i]!;
      let worst = 0;
      for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(ref[j]! - mine[j]!));
      assertOk(worst < 1e-12, `gradient block ${i}: max |diff| ${worst}`);
    });
  },
});
