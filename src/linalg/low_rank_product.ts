/**
 * A matrix kept as the product of two thin factors (like TransformerLens's FactoredMatrix):
 * attention circuits Ω = W_Q W_Kᵀ are 768×768 but rank ≤ 64, so their SVD is computed from the
 * factors without ever forming Ω.
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { matmul } from "./matmul.ts";
import { assertFiniteSvd, finishSvd, type SvdOptions, type SvdResult } from "./svd.ts";
import {
  assertFinite,
  assertFiniteResult,
  assertMatrix,
  factoredOverflowCause,
  hasExtremeScale,
  powerOfTwoScale,
} from "./_validate.ts";
import { type RawSvd, referenceQr, referenceSvd, scaledBy } from "./reference.ts";
import { defaultBackend } from "./backend.ts";
import { lapackLowRankSvd } from "./lapack.ts";

/**
 * The m×n matrix `a · b` held as factors a (m×r) and b (r×n).
 *
 * @example
 * ```ts
 * import { LowRankProduct, matrix } from "./mod.ts";
 * const p = new LowRankProduct(matrix(3, 1, [1, 2, 2]), matrix(1, 2, [0, 3]));
 * const { s, rank } = p.svd();
 * if (Math.abs(s[0]! - 9) > 1e-12 || rank !== 1) throw new Error("‖(1,2,2)‖·‖(0,3)‖ = 9");
 * ```
 */
export class LowRankProduct {
  /** Left factor, m×r. */
  readonly a: Matrix;
  /** Right factor, r×n. */
  readonly b: Matrix;

  /** Wraps `a` (m×r) and `b` (r×n); the factors are not copied. */
  constructor(a: Matrix, b: Matrix) {
    assertMatrix(a, "LowRankProduct", "a");
    assertMatrix(b, "LowRankProduct", "b");
    if (a.cols !== b.rows) {
      throw new RangeError(
        `LowRankProduct: inner dimensions differ: a is ${a.rows}×${a.cols}, b is ${b.rows}×${b.cols}`,
      );
    }
    this.a = a;
    this.b = b;
  }

  /** Rows of the product (m). */
  get rows(): number {
    return this.a.rows;
  }

  /** Columns of the product (n). */
  get cols(): number {
    return this.b.cols;
  }

  /** The transpose bᵀ · aᵀ, still factored. */
  transpose(): LowRankProduct {
    return new LowRankProduct(transposeOf(this.b), transposeOf(this.a));
  }

  /** The dense m×n product (for tests and small matrices only). */
  toDense(): Matrix {
    return matmul(this.a, this.b);
  }

  /**
   * Thin SVD of `a · b` without forming it: a = Q₁R₁, bᵀ = Q₂R₂ (thin QR), SVD of the small
   * core R₁R₂ᵀ = Û Σ V̂ᵀ, then U = Q₁Û and Vᵀ = V̂ᵀQ₂ᵀ. Cost O((m + n)·r²) instead of O(m·n·min).
   * Returns k = min(m, n, r) triplets with the same conventions as {@linkcode svd} (the rank
   * cutoff uses max(m, n) · eps unless `nullRtol` is given). Throws `NumericalError` when a
   * factor holds NaN/Inf (naming the factor and entry) and when the product of finite factors
   * overflows float64 (a singular value beyond ~1.8e308: rescale the factors).
   */
  svd(options: SvdOptions = {}): SvdResult {
    const { a, b } = this;
    const m = a.rows, n = b.cols;
    // One pass per factor: Σx² is finite and normal exactly when every entry is finite and the
    // scale is not extreme (hasExtremeScale); only then is a NaN/Inf check pass needed.
    const extreme = { a: hasExtremeScale(a.data), b: hasExtremeScale(b.data) };
    if (extreme.a) assertFinite(a, "LowRankProduct.svd", "factor a");
    if (extreme.b) assertFinite(b, "LowRankProduct.svd", "factor b");
    if (m === 0 || n === 0 || a.cols === 0) {
      const k = Math.min(m, n, a.cols);
      const raw: RawSvd = {
        u: { rows: m, cols: k, data: new Float64Array(m * k) },
        s: new Float64Array(k),
        vt: { rows: k, cols: n, data: new Float64Array(k * n) },
      };
      // k > 0 only when the inner dimension is 0 and m, n > 0: the product is zero.
      return finishSvd(completeZero(raw), m, n, options);
    }
    const backend = options.backend ?? defaultBackend();
    const overflow = (): string => factoredOverflowCause(a, b);
    if (backend === "lapack") {
      const raw = lapackLowRankSvd(a, b, extreme);
      assertFiniteSvd(raw, "LowRankProduct.svd", overflow);
      return finishSvd(raw, m, n, options);
    }
    // Factors of extreme scale are divided by exact powers of two, as the WASM path does: the
    // core R₁R₂ᵀ of two tiny factors would underflow.
    const ca = extreme.a ? powerOfTwoScale(a.data) : 1,
      cb = extreme.b ? powerOfTwoScale(b.data) : 1;
    const f1 = referenceQr(ca === 1 ? a : scaledBy(a, ca)); // Q1 m×k1, R1 k1×r
    const f2 = referenceQr(transposeOf(cb === 1 ? b : scaledBy(b, cb))); // Q2 n×k2, R2 k2×r
    const core = matmulTransB(f1.r, f2.r); // k1×k2
    // The core carries the product's scale: an overflow shows here first (R₁ and R₂ are
    // finite, as referenceQr scales its input), before the Jacobi SVD would see an Inf.
    assertFiniteResult("LowRankProduct.svd", { "core R₁R₂ᵀ": core.data }, overflow);
    const c = referenceSvd(core);
    const sv = ca === 1 && cb === 1 ? c.s : c.s.map((x) => x * ca * cb);
    const raw: RawSvd = { u: matmul(f1.q, c.u), s: sv, vt: matmulTransB(c.vt, f2.q) };
    assertFiniteSvd(raw, "LowRankProduct.svd", overflow);
    return finishSvd(raw, m, n, options);
  }
}

/** x · yᵀ for row-major x (p×r) and y (q×r): both operands are read along rows. */
function matmulTransB(x: Matrix, y: Matrix): Matrix {
  const p = x.rows, q = y.rows, r = x.cols;
  const out = new Float64Array(p * q);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < q; j++) {
      let sum = 0;
      for (let t = 0; t < r; t++) sum += x.data[i * r + t]! * y.data[j * r + t]!;
      out[i * q + j] = sum;
    }
  }
  return { rows: p, cols: q, data: out };
}

function transposeOf(a: Matrix): Matrix {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = a.data[i * a.cols + j]!;
  }
  return { rows: a.cols, cols: a.rows, data: out };
}

/** Orthonormal u and vt for an all-zero product (first k unit vectors). */
function completeZero(raw: RawSvd): RawSvd {
  const { u, vt } = raw;
  for (let j = 0; j < u.cols; j++) u.data[j * u.cols + j] = 1;
  for (let j = 0; j < vt.rows; j++) vt.data[j * vt.cols + j] = 1;
  return raw;
}
