import {
  type Backend,
  eigh,
  haarOrthogonal,
  matmul,
  matrix,
  pinv,
  qr,
  Rng,
  solve,
} from "../../src/linalg/mod.ts";
import { NumericalError } from "../../src/errors.ts";
import {
  assertAllClose,
  assertAlmostEquals,
  assertEquals,
  assertOk,
  assertThrows,
} from "../_assert.ts";
import { columnOrthoError, gaussian } from "./_util.ts";

const BACKENDS: Backend[] = ["reference", "lapack"];

/** max |x − y·z| with the product by plain loops. */
function productError(
  x: number[] | Float64Array,
  y: ReturnType<typeof matrix>,
  z: ReturnType<typeof matrix>,
): number {
  let worst = 0;
  for (let i = 0; i < y.rows; i++) {
    for (let j = 0; j < z.cols; j++) {
      let s = 0;
      for (let p = 0; p < y.cols; p++) s += y.data[i * y.cols + p]! * z.data[p * z.cols + j]!;
      worst = Math.max(worst, Math.abs(x[i * z.cols + j]! - s));
    }
  }
  return worst;
}

for (const backend of BACKENDS) {
  Deno.test(`qr[${backend}]: thin Q orthonormal, R upper with diag ≥ 0, Q·R = A`, () => {
    const rng = new Rng(20);
    for (const [m, n] of [[9, 4], [4, 9], [6, 6], [1, 3], [3, 1]] as const) {
      const a = gaussian(m, n, rng);
      const { q, r } = qr(a, { backend });
      const k = Math.min(m, n);
      assertEquals([q.rows, q.cols, r.rows, r.cols], [m, k, k, n]);
      assertOk(columnOrthoError(q) <= 1e-14, "QᵀQ = I");
      assertOk(productError(a.data, q, r) <= 1e-14 * 10, "Q·R = A");
      for (let i = 0; i < k; i++) {
        assertOk(r.data[i * n + i]! >= 0, "diag(R) ≥ 0");
        for (let j = 0; j < i; j++) assertEquals(r.data[i * n + j], 0);
      }
    }
  });

  Deno.test(`eigh[${backend}]: A·V = V·diag(λ), ascending, orthonormal; hand-checked 2×2`, () => {
    const g = gaussian(12, 12, new Rng(21));
    const a = matrix(12, 12);
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 12; j++) a.data[i * 12 + j] = g.data[i * 12 + j]! + g.data[j * 12 + i]!;
    }
    const { values, vectors } = eigh(a, { backend });
    assertOk(columnOrthoError(vectors) <= 1e-13);
    for (let i = 1; i < 12; i++) assertOk(values[i - 1]! <= values[i]!);
    const av = matmul(a, vectors);
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 12; j++) {
        assertAlmostEquals(av.data[i * 12 + j]!, vectors.data[i * 12 + j]! * values[j]!, 1e-12);
      }
    }
    const two = eigh(matrix(2, 2, [2, 1, 1, 2]), { backend });
    assertAllClose(two.values, [1, 3], 1e-14);
    assertAllClose(
      two.vectors.data,
      [Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2, Math.SQRT1_2],
      1e-14,
    );
    assertThrows(() => eigh(matrix(2, 2, [1, 2, 0, 1]), { backend }), RangeError, /not symmetric/);
  });

  Deno.test(`solve[${backend}]: A·x = b for matrix and vector right-hand sides; singular → error`, () => {
    const rng = new Rng(22);
    const a = gaussian(8, 8, rng), b = gaussian(8, 3, rng);
    const x = solve(a, b, { backend });
    assertOk(productError(b.data, a, x) <= 1e-12);
    const v = solve(matrix(2, 2, [2, 1, 1, 3]), new Float64Array([3, 5]), { backend });
    assertAllClose(v, [0.8, 1.4], 1e-15);
    assertThrows(
      () => solve(matrix(2, 2, [1, 2, 2, 4]), new Float64Array([1, 1]), { backend }),
      NumericalError,
      /singular/,
    );
  });

  Deno.test(`pinv[${backend}]: Penrose conditions on a rank-deficient matrix`, () => {
    const rng = new Rng(23);
    const a = matmul(gaussian(7, 3, rng), gaussian(3, 5, rng));
    const p = pinv(a, undefined, { backend });
    assertEquals([p.rows, p.cols], [5, 7]);
    const apa = matmul(matmul(a, p), a), pap = matmul(matmul(p, a), p);
    assertOk(productError(a.data, matrix(7, 7, matmul(a, p).data), a) <= 1e-12);
    assertAllClose(apa.data, a.data, 1e-12);
    assertAllClose(pap.data, p.data, 1e-12);
    const ap = matmul(a, p), pa = matmul(p, a);
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 7; j++) {
        assertAlmostEquals(ap.data[i * 7 + j]!, ap.data[j * 7 + i]!, 1e-12);
      }
    }
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        assertAlmostEquals(pa.data[i * 5 + j]!, pa.data[j * 5 + i]!, 1e-12);
      }
    }
  });
}

Deno.test("Rng: reproducible, uniform in [0,1), normal moments, unbiased int", () => {
  const a = new Rng(123), b = new Rng(123), c = new Rng(124);
  const xs = Array.from({ length: 5 }, () => a.uniform());
  assertEquals(xs, Array.from({ length: 5 }, () => b.uniform()));
  assertOk(xs[0] !== c.uniform(), "different seeds differ");
  const rng = new Rng(5);
  const n = 100000;
  let sum = 0, sum2 = 0, min = 1, max = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    sum += u;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  assertOk(min >= 0 && max < 1);
  assertAlmostEquals(sum / n, 0.5, 5 * Math.sqrt(1 / 12 / n)); // 5 standard errors
  sum = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    sum += z;
    sum2 += z * z;
  }
  assertAlmostEquals(sum / n, 0, 5 / Math.sqrt(n));
  assertAlmostEquals(sum2 / n, 1, 5 * Math.sqrt(2 / n));
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[rng.int(3)]!++;
  for (const k of counts) assertAlmostEquals(k, 10000, 5 * Math.sqrt(30000 * (1 / 3) * (2 / 3)));
  assertThrows(() => new Rng(0.5), RangeError);
  assertThrows(() => rng.int(0), RangeError);
});

Deno.test("haarOrthogonal: orthogonal, seeded, and Haar (E[tr Q] = 0, E[Q₁₁²] = 1/n)", () => {
  const q = haarOrthogonal(6, new Rng(30));
  assertOk(columnOrthoError(q) <= 1e-14);
  assertEquals(haarOrthogonal(6, new Rng(30)).data, q.data);
  // Without the diag(R) > 0 sign fix, Q₁₁ of Householder QR is biased (E[tr Q] ≠ 0).
  const rng = new Rng(31);
  const n = 3, trials = 4000;
  let tr = 0, q11sq = 0;
  for (let t = 0; t < trials; t++) {
    const h = haarOrthogonal(n, rng);
    tr += h.data[0]! + h.data[4]! + h.data[8]!;
    q11sq += h.data[0]! ** 2;
  }
  // Var(tr Q) = 1 for Haar O(n); Var(Q₁₁²) ≤ 1.
  assertAlmostEquals(tr / trials, 0, 5 / Math.sqrt(trials));
  assertAlmostEquals(q11sq / trials, 1 / n, 5 / Math.sqrt(trials));
});
