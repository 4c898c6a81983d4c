/**
 * The paper's toy claims on small, fast configurations with fixed seeds (method.md §6.1).
 * Thresholds are the spec's (|cos| ≥ 0.95), not fitted to these runs.
 */
import { makeConfig } from "../../src/toy/config.ts";
import { runPoint } from "../../src/toy/experiment.ts";
import { preset } from "../../src/toy/presets.ts";
import { assertEquals, assertOk } from "../_assert.ts";

Deno.test("single pair T01 (N=20, D=H=10): u1 ∥ w0, v1 ∥ w1, one dominant σ, theory oracle, SAD", () => {
  const cfg = makeConfig({ batchSize: 256, steps: 1500, evalEvery: 500, seed: 1 });
  const p = runPoint(cfg);
  const s = p.summary;
  assertOk(s.matchedTriplet === 1, `pair matched triplet ${s.matchedTriplet}, expected 1`);
  assertOk(s.cosQuery! >= 0.95, `|cos(w0,u1)| = ${s.cosQuery}`);
  assertOk(s.cosKey! >= 0.95, `|cos(w1,v1)| = ${s.cosKey}`);
  assertOk(s.sigmaRatio! >= 10, `σ1/σ2 = ${s.sigmaRatio}`);
  assertOk(
    s.theoryCosQuery! >= 0.95 && s.theoryCosKey! >= 0.95,
    `theory ${s.theoryCosQuery}, ${s.theoryCosKey}`,
  );
  // Alignment grows over training.
  const snaps = p.train.snapshots;
  assertOk(snaps[snaps.length - 1]!.meanMatchedCos > snaps[0]!.meanMatchedCos + 0.2);
  // Toy SAD: target firings are carried by (almost) one triplet — sparseness near 1/K — and
  // the random rotation is much denser. (The strict ACC N_recon = 1 fraction is reported, not
  // asserted: tiny positive residual components push many firings to N_recon = 2.)
  assertOk(s.sadTargetFirings! >= 50, `only ${s.sadTargetFirings} target firings`);
  assertOk(s.sadTargetSparseness! <= 0.2, `SVD sparseness ${s.sadTargetSparseness}`);
  assertOk(s.sadTargetTopShare! >= 0.9, `top-component share ${s.sadTargetTopShare}`);
  assertOk(
    s.sadTargetRotatedSparseness! >= 2 * s.sadTargetSparseness!,
    `rotated sparseness ${s.sadTargetRotatedSparseness} vs SVD ${s.sadTargetSparseness}`,
  );
  assertOk(
    s.sadTargetRotatedMeanNRecon! > s.sadTargetMeanNRecon! + 1,
    `rotated ${s.sadTargetRotatedMeanNRecon} vs SVD ${s.sadTargetMeanNRecon}`,
  );
});

Deno.test("multi-pair (N=40, D=H=20, 5 pairs, weights 2→1): pairs occupy the top-5 triplets", () => {
  const pairs = Array.from({ length: 5 }, (_, p) => ({ query: p, key: 5 + p, weight: 2 - p / 4 }));
  const cfg = makeConfig({
    nFeatures: 40,
    dModel: 20,
    dHead: 20,
    featureProb: 0.05,
    pairs,
    targetScale: 3,
    batchSize: 256,
    steps: 3000,
    evalEvery: 0,
    seed: 2,
  });
  const s = runPoint(cfg).summary;
  assertOk(s.topPFraction === 1, `top-5 fraction ${s.topPFraction}`);
  assertOk(s.meanMatchedCos! >= 0.95, `mean matched |cos| ${s.meanMatchedCos}`);
  assertOk(s.sigmaGap! >= 5, `σ5/σ6 = ${s.sigmaGap}`);
  assertOk(s.subspaceMin! >= 0.95, `subspace min cos ${s.subspaceMin}`);
  assertOk(s.theoryMinCos! >= 0.95, `min |cos(trained_k, Ω*_k)| ${s.theoryMinCos}`);
});

Deno.test("single pair under anisotropy α = 1: trained u1 follows the oracle Σ_R⁺x_a, not w_0", () => {
  // The offset μ enters Σ_R and x_a, so the optimum's u1 leaves w_0 by an amount that depends on
  // μ's direction. Measured over seeds 0–5 (1,500–2,000 steps, batch 256): |cos(u1, w0)| from
  // 0.56 to 0.999, the oracle's query-side |cos| ≥ 0.997 throughout. Seed 0 (0.855 vs 0.997) is one where
  // plain alignment and the oracle differ, so this test tells them apart.
  const cfg = makeConfig({ anisotropy: 1, batchSize: 256, steps: 1500, evalEvery: 0, seed: 0 });
  const s = runPoint(cfg).summary;
  assertOk(s.theoryCosQuery! >= 0.95, `theory |cos| (query) ${s.theoryCosQuery}`);
  assertOk(s.theoryCosKey! >= 0.95, `theory |cos| (key) ${s.theoryCosKey}`);
  assertOk(
    s.theoryCosQuery! > s.cosQuery! + 0.05,
    `oracle ${s.theoryCosQuery} does not beat plain alignment |cos(u1, w0)| = ${s.cosQuery}`,
  );
});

Deno.test("anisotropy preset at its largest α (4): mean matched |cos| > 0.75, trained triplets match Ω*", () => {
  const pr = preset("anisotropy");
  const alpha = Math.max(...pr.sweep!.values);
  assertEquals(alpha, 4);
  const p = runPoint({ ...pr.config, anisotropy: alpha });
  const s = p.summary;
  // The paper's claim (method.md §2.6): avg |cos| stays above 0.75 (measured 0.817).
  assertOk(s.meanMatchedCos! > 0.75, `mean matched |cos| ${s.meanMatchedCos}`);
  // Theory oracle by rank (measured 0.961–0.983; the per-pair rank-one prediction gave 0.82).
  assertOk(s.theoryMinCos! >= 0.95, `min |cos(trained_k, Ω*_k)| ${s.theoryMinCos}`);
  assertOk(s.theorySubspaceMin! >= 0.95, `span cos ${s.theorySubspaceMin}`);
  // σ_k/σ_1 vs σ*_k/σ*_1 is reported, not asserted: CE's small-logit linearisation does not fix
  // the σ ratios (measured max gap 0.088 here, 0.13 on the isotropic 5-pair run above).
});
