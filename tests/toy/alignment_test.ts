import { maxAssignment } from "../../src/toy/_hungarian.ts";
import { analyzeAlignment, principalCosines } from "../../src/toy/alignment.ts";
import { makeConfig } from "../../src/toy/config.ts";
import { viewParams } from "../../src/toy/model.ts";
import { Rng } from "../../src/linalg/mod.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)])
  );
}

Deno.test("maxAssignment: optimal against brute force over all injections", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 30; trial++) {
    const r = 1 + rng.int(4), c = r + rng.int(3);
    const s = Array.from({ length: r * c }, () => rng.uniform());
    const got = maxAssignment(s, r, c);
    assertEquals(new Set(got).size, r);
    const value = got.reduce((a, col, i) => a + s[i * c + col]!, 0);
    let best = -Infinity;
    for (const perm of permutations(c)) {
      best = Math.max(best, perm.slice(0, r).reduce((a, col, i) => a + s[i * c + col]!, 0));
    }
    assertAlmostEquals(value, best, 1e-12);
  }
});

Deno.test("analyzeAlignment: planted Ω = 3·w_a w_bᵀ + 1·w_c w_dᵀ is recovered exactly", () => {
  // Orthonormal feature directions e_0..e_3 in D = 4 plus a generic 5th feature.
  const cfg = makeConfig({
    nFeatures: 5,
    dModel: 4,
    dHead: 4,
    pairs: [{ query: 2, key: 3, weight: 1 }, { query: 0, key: 1, weight: 3 }],
  });
  const p = viewParams(cfg, new Float64Array(4 * 5 + 5 + 32));
  for (let i = 0; i < 4; i++) p.W[i * 5 + i] = 1;
  for (let r = 0; r < 4; r++) p.W[r * 5 + 4] = 0.5;
  // Ω = W_Qᵀ W_K with W_Q rows 3e_0, e_2 and W_K rows e_1, e_3.
  p.WQ[0 * 4 + 0] = 3;
  p.WK[0 * 4 + 1] = 1;
  p.WQ[1 * 4 + 2] = 1;
  p.WK[1 * 4 + 3] = 1;
  const al = analyzeAlignment(cfg, p);
  assertAlmostEquals(al.sigma[0]!, 3, 1e-12);
  assertAlmostEquals(al.sigma[1]!, 1, 1e-12);
  assertEquals(al.matches.map((m) => m.triplet), [1, 0]);
  for (const m of al.matches) {
    assertAlmostEquals(m.cosQuery, 1, 1e-12);
    assertAlmostEquals(m.cosKey, 1, 1e-12);
  }
  assertAlmostEquals(al.meanMatchedCos, 1, 1e-12);
  assertOk(!Number.isFinite(al.sigmaGap) || al.sigmaGap > 1e6);
  assertAlmostEquals(al.cosU[4 * 4 + 0]!, 0.5, 1e-12); // generic feature: |cos| = 1/2
  for (const c of [...al.subspaceQuery, ...al.subspaceKey]) assertAlmostEquals(c, 1, 1e-12);
});

Deno.test("principalCosines: 45° between span{e0} and span{(e0+e1)/√2}", () => {
  const W = [1, 0, 0, 1, 0, 0]; // D = 3, N = 2: w_0 = e0, w_1 = e1
  const basis = new Float64Array([Math.SQRT1_2, 0, Math.SQRT1_2, 0, 0, 1]); // 3×2 columns
  const c = principalCosines(W, 3, 2, [0], basis, 2, 1);
  assertAlmostEquals(c[0]!, Math.SQRT1_2, 1e-12);
  const both = principalCosines(W, 3, 2, [0, 1], basis, 2, 2);
  assertAlmostEquals(both[0]!, 1, 1e-12); // e0+e1 lies in span{e0, e1}
  assertAlmostEquals(both[1]!, 0, 1e-12); // e2 is orthogonal to it
});
