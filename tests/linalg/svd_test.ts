import {
  type Backend,
  haarOrthogonal,
  LowRankProduct,
  matmul,
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
    // The null singular values are mutually near-degenerate; the signal ones are not.
    assertEquals(r.nearDegenerate.slice(0, 4), [false, false, false, false]);
    assertOk(r.nearDegenerate.slice(4).every((f) => f));
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
