/**
 * Non-finite values in and out of the linalg entry points: NaN/Inf inputs are NumericalErrors
 * naming the argument and entry; finite inputs whose exact result lies beyond float64's range
 * (|x| > Number.MAX_VALUE ≈ 1.8e308) are NumericalErrors naming the scale and the fix instead of
 * silently returning NaN/Inf; and finite inputs near the range's ends whose results are
 * representable still give the closed-form answer (relative tolerance 1e-14 unless stated).
 * @module
 */
import {
  type Backend,
  eigh,
  LowRankProduct,
  matmul,
  matrix,
  pinv,
  qr,
  Rng,
  solve,
  svd,
} from "../../src/linalg/mod.ts";
import { NumericalError } from "../../src/errors.ts";
import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { gaussian } from "./_util.ts";

const BACKENDS: Backend[] = ["reference", "lapack"];
const BIG = 1.7e308;

/** |actual − expected| ≤ rtol · |expected|. */
function assertRel(actual: number, expected: number, rtol = 1e-14, what?: string): void {
  assertAlmostEquals(actual, expected, rtol * Math.abs(expected), what);
}

for (const backend of BACKENDS) {
  Deno.test(`svd[${backend}]: a singular value beyond float64 is a NumericalError, not s = [Inf, 0]`, () => {
    // [[c, c], [c, c]] has σ₁ = 2c exactly: unrepresentable for c = 1.7e308.
    assertOk(2 * BIG === Infinity);
    assertThrows(
      () => svd(matrix(2, 2, [BIG, BIG, BIG, BIG]), { backend }),
      NumericalError,
      /^svd: the result is not finite \(s\[0\] = Infinity\).*overflowed.*max \|a\| = 1\.7e\+308.*rescale/,
    );
    // Representable results next to the limit are returned exactly: σ = |diagonal|.
    const r = svd(matrix(2, 2, [0, BIG, -BIG / 2, 0]), { backend });
    assertRel(r.s[0]!, BIG);
    assertRel(r.s[1]!, BIG / 2);
    assertEquals(r.rank, 2);
  });

  Deno.test(`svd[${backend}]: entries at 1e±160 give svd(G)·1e±160 (no overflow or underflow inside)`, () => {
    const g = gaussian(6, 4, new Rng(40));
    const base = svd(g, { backend }).s; // well-scaled oracle
    for (const scale of [1e160, 1e-160]) {
      const a = matrix(6, 4, g.data.map((x) => x * scale));
      const s = svd(a, { backend }).s;
      for (let i = 0; i < 4; i++) assertRel(s[i]!, base[i]! * scale, 1e-13, `σ${i} at ${scale}`);
    }
    // A subnormal 1×1 matrix: σ = |a| (the Jacobi reference returned 0 before scaling).
    assertEquals(svd(matrix(1, 1, [-1e-310]), { backend }).s[0], 1e-310);
  });

  Deno.test(`LowRankProduct[${backend}]: tiny factors (1e-150, 1e-160) give the same vectors`, () => {
    // Two 1e-160 factors make a product near 1e-320 (subnormal): the core R₁R₂ᵀ underflowed and
    // the singular vectors came out wrong (cos 0.66) before both factors were scaled first.
    const rng = new Rng(41);
    const a = gaussian(30, 8, rng), b = gaussian(8, 25, rng);
    const base = new LowRankProduct(a, b).svd({ backend });
    for (const scale of [1e-150, 1e-160]) {
      const tiny = (m: typeof a) => matrix(m.rows, m.cols, m.data.map((x) => x * scale));
      const r = new LowRankProduct(tiny(a), tiny(b)).svd({ backend });
      assertEquals(r.rank, 8, `rank at ${scale}`);
      let du = 0, dv = 0;
      for (let i = 0; i < r.u.data.length; i++) {
        du = Math.max(du, Math.abs(r.u.data[i]! - base.u.data[i]!));
      }
      for (let i = 0; i < r.vt.data.length; i++) {
        dv = Math.max(dv, Math.abs(r.vt.data[i]! - base.vt.data[i]!));
      }
      assertOk(du < 1e-12 && dv < 1e-12, `vectors at ${scale}: max |Δu| ${du}, |Δv| ${dv}`);
      // σ·scale² is normal at 1e-150 (1e-300): there it is exact to rounding.
      if (scale === 1e-150) assertRel(r.s[0]!, base.s[0]! * scale * scale, 1e-13, "σ₁");
    }
  });

  Deno.test(`LowRankProduct[${backend}]: an overflowing product is a NumericalError naming both scales`, () => {
    // (1e200, 1e200)ᵀ·(1e200, 1): σ = √2·1e200·‖(1e200, 1)‖ ≈ 1.4e400.
    const p = new LowRankProduct(matrix(2, 1, [1e200, 1e200]), matrix(1, 2, [1e200, 1]));
    assertThrows(
      () => p.svd({ backend }),
      NumericalError,
      /^LowRankProduct\.svd: the result is not finite .*max \|a\| = 1e\+200, max \|b\| = 1e\+200.*rescale the factors/,
    );
    // Large but representable: σ = ‖a‖·‖b‖ = 5e153 · 1e154 for a rank-1 product.
    const q = new LowRankProduct(matrix(2, 1, [3e153, 4e153]), matrix(1, 3, [0, 1e154, 0]));
    const f = q.svd({ backend });
    assertRel(f.s[0]!, 5e307);
    assertEquals(f.rank, 1);
    // Factors near the top of the range with a representable product: σ = √2·1e308 · 1e-10
    // (the QR of (1e308, 1e308)ᵀ overflowed inside dgeqrf before the factors were rescaled).
    const h = new LowRankProduct(matrix(2, 1, [1e308, 1e308]), matrix(1, 2, [0, -1e-10]));
    const fh = h.svd({ backend });
    assertRel(fh.s[0]!, Math.SQRT2 * 1e298);
    assertRel(Math.abs(fh.u.data[0]!), Math.SQRT1_2);
  });

  Deno.test(`LowRankProduct[${backend}]: NaN/Inf in a factor names the factor and the entry`, () => {
    const rng = new Rng(41);
    const a = gaussian(4, 2, rng), b = gaussian(2, 3, rng);
    a.data[5] = NaN; // (2, 1)
    assertThrows(
      () => new LowRankProduct(a, b).svd({ backend }),
      NumericalError,
      /^LowRankProduct\.svd: factor a \(4×2 matrix\) has a non-finite entry NaN at \(2, 1\)/,
    );
    a.data[5] = 0;
    b.data[3] = -Infinity; // (1, 0)
    assertThrows(
      () => new LowRankProduct(a, b).svd({ backend }),
      NumericalError,
      /^LowRankProduct\.svd: factor b \(2×3 matrix\) has a non-finite entry -Infinity at \(1, 0\)/,
    );
  });

  Deno.test(`qr[${backend}]: column norm beyond float64 → NumericalError; 1e308 columns exact`, () => {
    assertThrows(
      () => qr(matrix(2, 1, [BIG, BIG]), { backend }),
      NumericalError,
      /^qr: the result is not finite \(r\[0\] = -?Infinity\).*max \|a\| = 1\.7e\+308.*rescale/,
    );
    // ‖(1e308, 1e308)‖ = √2·1e308 < MAX_VALUE; q = (1, 1)/√2.
    const { q, r } = qr(matrix(2, 1, [1e308, 1e308]), { backend });
    assertRel(r.data[0]!, Math.SQRT2 * 1e308);
    assertRel(q.data[0]!, Math.SQRT1_2);
    assertRel(q.data[1]!, Math.SQRT1_2);
    assertThrows(
      () => qr(matrix(2, 2, [1, 2, NaN, 4]), { backend }),
      NumericalError,
      /^qr: input \(2×2 matrix\) has a non-finite entry NaN at \(1, 0\)/,
    );
  });

  Deno.test(`eigh[${backend}]: an eigenvalue beyond float64 → NumericalError; 1e308 entries exact`, () => {
    // [[c, c], [c, c]]: eigenvalues 0 and 2c = Inf for c = 1.7e308.
    assertThrows(
      () => eigh(matrix(2, 2, [BIG, BIG, BIG, BIG]), { backend }),
      NumericalError,
      /^eigh: the result is not finite \(values\[1\] = Infinity\).*max \|a\| = 1\.7e\+308.*rescale/,
    );
    // [[d, e], [e, d]]: eigenvalues d ∓ e, all representable (the symmetric part used to be
    // formed as (a + aᵀ)/2, whose sum overflowed to Inf for d = 1e308).
    const two = eigh(matrix(2, 2, [1e308, 5e307, 5e307, 1e308]), { backend });
    assertRel(two.values[0]!, 5e307);
    assertRel(two.values[1]!, 1.5e308);
    const diag = eigh(matrix(2, 2, [BIG, 0, 0, -BIG]), { backend });
    assertEquals(Array.from(diag.values), [-BIG, BIG]);
    // At 1e200 the Jacobi reference's convergence test used to overflow (Inf ≤ Inf) and stop
    // with the unrotated diagonal [1e200, 1e200].
    const mid = eigh(matrix(2, 2, [1e200, 5e199, 5e199, 1e200]), { backend });
    assertRel(mid.values[0]!, 5e199);
    assertRel(mid.values[1]!, 1.5e200);
    assertThrows(
      () => eigh(matrix(2, 2, [1, Infinity, Infinity, 1]), { backend }),
      NumericalError,
      /^eigh: input \(2×2 matrix\) has a non-finite entry Infinity at \(0, 1\)/,
    );
  });

  Deno.test(`solve[${backend}]: an overflowing solution → NumericalError; NaN names a or b`, () => {
    // diag(1e-300, 1)·x = (1e300, 1) has x₀ = 1e600.
    assertThrows(
      () => solve(matrix(2, 2, [1e-300, 0, 0, 1]), new Float64Array([1e300, 1]), { backend }),
      NumericalError,
      /^solve: the result is not finite \(x\[0\] = .*overflowed.*max \|a\| = 1, max \|b\| = 1e\+300.*nearly singular/,
    );
    const x = solve(matrix(2, 2, [1e-300, 0, 0, 1]), new Float64Array([1e7, 1]), { backend });
    assertRel(x[0]!, 1e307);
    assertEquals(x[1], 1);
    assertThrows(
      () => solve(matrix(2, 2, [1, 0, 0, NaN]), new Float64Array([1, 1]), { backend }),
      NumericalError,
      /^solve: matrix a \(2×2 matrix\) has a non-finite entry NaN at \(1, 1\)/,
    );
    assertThrows(
      () => solve(matrix(2, 2, [1, 0, 0, 1]), matrix(2, 2, [1, 1, Infinity, 1]), { backend }),
      NumericalError,
      /^solve: right-hand side b \(2×2 matrix\) has a non-finite entry Infinity at \(1, 0\)/,
    );
  });

  Deno.test(`pinv[${backend}]: a kept singular value with no finite inverse → NumericalError`, () => {
    // σ = 1e-310 is above the default cutoff, but 1/σ = 1e310 > MAX_VALUE.
    assertThrows(
      () => pinv(matrix(1, 1, [1e-310]), undefined, { backend }),
      NumericalError,
      /^pinv: the result is not finite .*smallest kept singular value 1e-310.*raise rtol/,
    );
    assertRel(pinv(matrix(1, 1, [-1e-300]), undefined, { backend }).data[0]!, -1e300);
    // Dropping it (rtol ≥ 1) gives the zero pseudo-inverse.
    assertEquals(Array.from(pinv(matrix(1, 1, [1e-310]), 1, { backend }).data), [0]);
  });
}

Deno.test("matmul: an overflowing product → NumericalError; NaN/Inf inputs name a or b", () => {
  assertThrows(
    () => matmul(matrix(1, 1, [1e200]), matrix(1, 1, [1e200])),
    NumericalError,
    /^matmul: the result is not finite .*max \|a\| = 1e\+200, max \|b\| = 1e\+200.*rescale/,
  );
  assertEquals(matmul(matrix(1, 2, [1e200, 0]), matrix(2, 1, [1e100, 5])).data[0], 1e300);
  assertThrows(
    () => matmul(matrix(1, 2, [1, NaN]), matrix(2, 1, [1, 1])),
    NumericalError,
    /^matmul: a \(1×2 matrix\) has a non-finite entry NaN at \(0, 1\)/,
  );
  // 0·Inf = NaN: the product is non-finite because of b, and the message says so.
  assertThrows(
    () => matmul(matrix(1, 1, [0]), matrix(1, 1, [Infinity])),
    NumericalError,
    /^matmul: b \(1×1 matrix\) has a non-finite entry Infinity at \(0, 0\)/,
  );
});
