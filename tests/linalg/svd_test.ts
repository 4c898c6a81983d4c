import {
  type Backend,
  haarOrthogonal,
  LowRankProduct,
  matmul,
  type Matrix,
  matrix,
  Rng,
  svd,
} from "../../src/linalg/mod.ts";
import { NumericalError } from "../../src/errors.ts";
import {
  assertAllClose,
  assertAlmostEquals,
  assertEquals,
  assertOk,
  assertThrows,
} from "../_assert.ts";
import {
  columnOrthoError,
  columns,
  frob,
  gaussian,
  reconstructionError,
  rowOrthoError,
  rowsAsColumns,
  subspaceDistance,
} from "./_util.ts";

const BACKENDS: Backend[] = ["reference", "lapack"];

for (const backend of BACKENDS) {
  Deno.test(`svd[${backend}]: random shapes reconstruct to 1e-12·‖A‖ with orthonormal factors`, () => {
    const rng = new Rng(1);
    for (const [m, n] of [[1, 1], [1, 7], [7, 1], [5, 5], [12, 5], [5, 12], [40, 33]] as const) {
      const a = gaussian(m, n, rng);
      const r = svd(a, { backend });
      const k = Math.min(m, n);
      assertEquals([r.u.rows, r.u.cols, r.s.length, r.vt.rows, r.vt.cols], [m, k, k, k, n]);
      assertOk(reconstructionError(a, r.u, r.s, r.vt) <= 1e-12 * frob(a), `${m}×${n} reconstruct`);
      assertOk(columnOrthoError(r.u) <= 1e-12, `${m}×${n} UᵀU`);
      assertOk(rowOrthoError(r.vt) <= 1e-12, `${m}×${n} VᵀV`);
      for (let i = 1; i < k; i++) assertOk(r.s[i - 1]! >= r.s[i]!, "descending");
      assertEquals(r.rank, k);
    }
  });

  Deno.test(`svd[${backend}]: canonical signs (largest-|entry| of each u_k positive)`, () => {
    const a = gaussian(9, 6, new Rng(2));
    const r = svd(a, { backend });
    for (let j = 0; j < 6; j++) {
      let best = 0;
      for (let i = 0; i < 9; i++) {
        if (Math.abs(r.u.data[i * 6 + j]!) > Math.abs(r.u.data[best * 6 + j]!)) best = i;
      }
      assertOk(r.u.data[best * 6 + j]! > 0);
    }
  });

  Deno.test(`svd[${backend}]: hand-checked diagonal and rank-1 matrices`, () => {
    const d = svd(matrix(3, 3, [0, 0, 0, 0, -5, 0, 0, 0, 2]), { backend });
    assertAllClose(d.s, [5, 2, 0], 1e-14);
    assertEquals(d.rank, 2);
    // e_1 ↦ −5 e_1 with u_0 = +e_1, so vt_0 = −e_1.
    assertAllClose(rowsAsColumns(d.vt, 0, 1).data, [0, -1, 0], 1e-14);
    const x = [1, 2, 2], y = [3, 4];
    const r1 = svd(matrix(3, 2, x.flatMap((xi) => y.map((yj) => xi * yj))), { backend });
    assertAlmostEquals(r1.s[0]!, 15, 1e-13);
    assertOk(r1.s[1]! <= 1e-14 * 15);
    assertEquals(r1.rank, 1);
    assertAllClose(columns(r1.u, 0, 1).data, [1 / 3, 2 / 3, 2 / 3], 1e-14);
  });

  Deno.test(`svd[${backend}]: zero and rank-deficient matrices`, () => {
    const z = svd(matrix(4, 3), { backend });
    assertAllClose(z.s, [0, 0, 0], 0);
    assertEquals(z.rank, 0);
    assertOk(columnOrthoError(z.u) <= 1e-14);
    assertOk(rowOrthoError(z.vt) <= 1e-14);
    const rng = new Rng(3);
    const a = matmul(gaussian(20, 4, rng), gaussian(4, 15, rng)); // rank 4
    const r = svd(a, { backend });
    assertEquals(r.rank, 4);
    assertOk(reconstructionError(a, r.u, r.s, r.vt) <= 1e-12 * frob(a));
    assertOk(columnOrthoError(r.u) <= 1e-12);
    assertOk(rowOrthoError(r.vt) <= 1e-12);
    // The 11 null singular values (rounding noise, ≤ nullCutoff) are null, not degenerate: no
    // flags, although they are within 1e-6 of each other.
    assertOk(r.s[4]! <= r.nullCutoff);
    assertEquals(r.nearDegenerate, new Array(15).fill(false));
  });

  Deno.test(`LowRankProduct[${backend}]: inner dimension above m or n, vectors, zero factor`, () => {
    const rng = new Rng(5);
    for (const [m, r, n] of [[3, 5, 4], [1, 3, 6], [7, 2, 1], [6, 6, 6]] as const) {
      const p = new LowRankProduct(gaussian(m, r, rng), gaussian(r, n, rng));
      const f = p.svd({ backend });
      const d = svd(p.toDense(), { backend });
      const k = Math.min(m, n, r);
      assertEquals([f.u.rows, f.u.cols, f.s.length, f.vt.rows, f.vt.cols], [m, k, k, k, n]);
      for (let i = 0; i < k; i++) assertAlmostEquals(f.s[i]!, d.s[i]!, 1e-12 * d.s[0]!);
      assertOk(reconstructionError(p.toDense(), f.u, f.s, f.vt) <= 1e-12 * frob(p.toDense()));
      assertOk(columnOrthoError(f.u) <= 1e-13 && rowOrthoError(f.vt) <= 1e-13);
    }
    const z = new LowRankProduct(matrix(4, 2), gaussian(2, 3, rng)).svd({ backend });
    assertEquals(z.rank, 0);
    assertAllClose(z.s, [0, 0], 0);
  });

  Deno.test(`svd[${backend}]: near-degenerate flags and a custom nullRtol`, () => {
    // Orthogonal mixing of diag(3, 2, 2 + 1e-9, 1e-3): the middle pair is degenerate at 1e-6.
    const q = haarOrthogonal(4, new Rng(6)), w = haarOrthogonal(4, new Rng(7));
    const d = [3, 2, 2 + 1e-9, 1e-3];
    const a = matrix(4, 4);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += q.data[i * 4 + k]! * d[k]! * w.data[j * 4 + k]!;
        a.data[i * 4 + j] = s;
      }
    }
    const r = svd(a, { backend });
    assertEquals(r.nearDegenerate, [false, true, true, false]);
    assertEquals(r.rank, 4);
    assertEquals(svd(a, { backend, degenerateRtol: 1e-12 }).nearDegenerate, [
      false,
      false,
      false,
      false,
    ]);
    const cut = svd(a, { backend, nullRtol: 1e-2 });
    assertEquals(cut.rank, 3);
    assertAlmostEquals(cut.nullCutoff, 3e-2, 1e-14);
  });

  Deno.test(`svd[${backend}]: near-degeneracy is a relative gap between neighbours above the cutoff`, () => {
    // U·diag(d)·Wᵀ with Haar U, W: σ = d to ~eps·d[0] = 2e-16 absolute, far inside every
    // margin below (each flagged gap ≤ 1e-2 × its threshold, each unflagged gap ≥ 1e5 ×).
    const q = haarOrthogonal(5, new Rng(9)), w = haarOrthogonal(5, new Rng(10));
    const mixed = (d: number[]): Matrix => {
      const a = matrix(5, 5);
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 5; j++) {
          let s = 0;
          for (let k = 0; k < 5; k++) s += q.data[i * 5 + k]! * d[k]! * w.data[j * 5 + k]!;
          a.data[i * 5 + j] = s;
        }
      }
      return a;
    };
    const flags = (d: number[]): boolean[] => svd(mixed(d), { backend }).nearDegenerate;
    // 1e-7 and 5e-8 differ by 2×: not degenerate, though their gap (5e-8) is below 1e-6·σ₁
    // (the rule before compared gaps with σ₁ and flagged them).
    assertEquals(flags([1, 0.5, 0.25, 1e-7, 5e-8]), [false, false, false, false, false]);
    // 1e-7 and 1e-7·(1 − 1e-8): relative gap 1e-8 ≤ 1e-6 — degenerate at any scale.
    assertEquals(flags([1, 0.5, 0.25, 1e-7, 1e-7 * (1 - 1e-8)]), [
      false,
      false,
      false,
      true,
      true,
    ]);
    // A triple block at the top: 1, 1 − 1e-9, 1 − 2e-9 (each neighbour gap ≈ 1e-9).
    assertEquals(flags([1, 1 - 1e-9, 1 - 2e-9, 0.5, 0.1]), [true, true, true, false, false]);
    // Values below the null cutoff (5·eps·σ₁ ≈ 1.1e-15) are null, never degenerate, and do
    // not flag the last value above the cutoff: rank 3, no flags.
    const nullPair = svd(mixed([1, 0.5, 1e-3, 1e-20, 0]), { backend });
    assertEquals(nullPair.rank, 3);
    assertEquals(nullPair.nearDegenerate, [false, false, false, false, false]);
    // A pair straddling the cutoff: s₂ = 2e-3 is kept, s₃ = 2e-3·(1 − 1e-9) is null (cutoff
    // 2e-3 − 1e-12 between them, each 1e-12 ≫ 2e-16 away): the kept one is not flagged.
    const straddle = svd(mixed([1, 0.5, 2e-3, 2e-3 * (1 - 1e-9), 0]), {
      backend,
      nullRtol: 2e-3 * (1 - 5e-10),
    });
    assertEquals(straddle.rank, 3);
    assertEquals(straddle.nearDegenerate, [false, false, false, false, false]);
    // With nullRtol = 0 everything positive is in the rank, so two equal tiny values above
    // the rounding noise now count: σ = 1e-6 twice (relative gap ≤ 1e-9 after rounding).
    const tinyPair = svd(mixed([1, 0.5, 0.25, 1e-6, 1e-6]), { backend, nullRtol: 0 });
    assertEquals(tinyPair.nearDegenerate, [false, false, false, true, true]);
  });

  Deno.test(`svd[${backend}]: NaN/Inf input is a NumericalError naming the entry`, () => {
    assertThrows(
      () => svd(matrix(2, 2, [1, NaN, 0, 1]), { backend }),
      NumericalError,
      /NaN at \(0, 1\)/,
    );
    assertThrows(
      () => svd(matrix(2, 2, [1, 0, Infinity, 1]), { backend }),
      NumericalError,
      /Infinity at \(1, 0\)/,
    );
  });

  Deno.test(`LowRankProduct[${backend}]: factored SVD equals dense SVD (values 1e-10 rel, subspaces)`, () => {
    const rng = new Rng(4);
    const a = gaussian(60, 8, rng), b = gaussian(8, 50, rng);
    const p = new LowRankProduct(a, b);
    const f = p.svd({ backend });
    const d = svd(p.toDense(), { backend });
    assertEquals(f.s.length, 8);
    assertEquals(f.rank, 8);
    for (let i = 0; i < 8; i++) assertAlmostEquals(f.s[i]!, d.s[i]!, 1e-10 * d.s[0]!);
    assertOk(subspaceDistance(columns(d.u, 0, 8), f.u) <= 1e-10, "left subspace");
    assertOk(subspaceDistance(rowsAsColumns(d.vt, 0, 8), rowsAsColumns(f.vt, 0, 8)) <= 1e-10);
    // Distinct singular values: individual vectors agree after canonical signs.
    assertAllClose(columns(f.u, 0, 3).data, columns(d.u, 0, 3).data, 1e-9);
    assertOk(reconstructionError(p.toDense(), f.u, f.s, f.vt) <= 1e-12 * frob(p.toDense()));
    assertOk(columnOrthoError(f.u) <= 1e-12);
    assertOk(rowOrthoError(f.vt) <= 1e-12);
  });
}

Deno.test("LowRankProduct[lapack]: GPT-2 head shape, ill-conditioned and rank-deficient factors", () => {
  // 769×64 · 64×769 as in a QK circuit: the blocked QR and the compact-WY application of Q to
  // [Û; 0] (wasm/build.sh block sizes, lapackLowRankSvd) against the dense 769² dgesdd.
  const rng = new Rng(8);
  const a = gaussian(769, 64, rng), b = gaussian(64, 769, rng);
  // Columns of a scaled over 8 decades (κ(a) ≈ 1e8); the last 8 rows of b zero (rank 56).
  for (let i = 0; i < 769; i++) {
    for (let j = 0; j < 64; j++) a.data[i * 64 + j]! *= 10 ** (-8 * j / 63);
  }
  b.data.fill(0, 56 * 769);
  const p = new LowRankProduct(a, b);
  const f = p.svd({ backend: "lapack" });
  const dense = p.toDense();
  const d = svd(dense, { backend: "lapack" });
  assertEquals(f.rank, 56);
  for (let i = 0; i < 64; i++) assertAlmostEquals(f.s[i]!, d.s[i]!, 1e-10 * d.s[0]!);
  assertOk(reconstructionError(dense, f.u, f.s, f.vt) <= 1e-12 * frob(dense), "reconstruction");
  assertOk(columnOrthoError(f.u) <= 1e-13, "u orthonormal");
  assertOk(rowOrthoError(f.vt) <= 1e-13, "vt orthonormal");
  assertOk(subspaceDistance(columns(d.u, 0, 8), columns(f.u, 0, 8)) <= 1e-9, "top-8 subspace");
});
