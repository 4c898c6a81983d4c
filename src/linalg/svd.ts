/**
 * Thin singular value decomposition with svlens's conventions: descending singular values,
 * canonical signs, a numerical rank with an explicit null-space cutoff, and flags on nearly
 * equal neighbouring singular values (whose individual vectors are ill-defined).
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { assertFinite, assertFiniteResult, assertMatrix, maxAbs } from "./_validate.ts";
import { type RawSvd, referenceSvd } from "./reference.ts";
import { type Backend, defaultBackend } from "./backend.ts";
import { lapackSvd } from "./lapack.ts";
import { canonicalizeColumns } from "./_signs.ts";

/** Machine epsilon of float64. */
export const EPS = 2.220446049250313e-16;

/**
 * Default relative gap below which neighbouring singular values are flagged near-degenerate:
 * s[k] − s[k+1] ≤ 1e-6 · s[k] (see {@linkcode SvdResult.nearDegenerate}).
 */
export const DEFAULT_DEGENERATE_RTOL = 1e-6;

/** A thin SVD `a = u · diag(s) · vt` in svlens's conventions. */
export interface SvdResult {
  /** Left singular vectors as columns, m×k (k = number of triplets). */
  u: Matrix;
  /** Singular values, descending, ≥ 0. */
  s: Float64Array;
  /** Right singular vectors as rows, k×n. */
  vt: Matrix;
  /** Number of singular values above `nullCutoff`. */
  rank: number;
  /**
   * `nearDegenerate[k]` is true when s[k] and a neighbour s[k±1] are both above `nullCutoff`
   * and their relative gap is small: s[k] − s[k+1] ≤ `degenerateRtol` · s[k] (s descending).
   * u_k and v_k are then only defined up to a rotation within that block. The gap is relative
   * to the pair itself, not to s[0], so small but well-separated values (1e-7 and 5e-8 next to
   * 1) are not flagged. Values at or below `nullCutoff` are null, not degenerate: they are
   * never flagged and never make a neighbour flagged (they count against `rank` instead).
   */
  nearDegenerate: boolean[];
  /** The absolute cutoff used for `rank` (`nullRtol · s[0]`). */
  nullCutoff: number;
}

/** Options of {@linkcode svd} and `LowRankProduct.svd`. */
export interface SvdOptions {
  /** `"lapack"` (WASM LAPACK dgesdd, default) or `"reference"` (pure-TS one-sided Jacobi). */
  backend?: Backend;
  /** Singular values ≤ nullRtol · s_max count as zero; default max(m, n) · eps. */
  nullRtol?: number;
  /**
   * Relative gap flagging near-degenerate neighbours, s[k] − s[k+1] ≤ degenerateRtol · s[k];
   * default {@linkcode DEFAULT_DEGENERATE_RTOL} (1e-6).
   */
  degenerateRtol?: number;
}

/**
 * Thin SVD of an m×n float64 matrix: u (m×k), s (k, descending), vt (k×n), k = min(m, n),
 * with `u · diag(s) · vt = a`. Signs are canonical: the largest-magnitude entry of each column
 * of u is positive (the partner row of vt flips with it). Throws `NumericalError` on NaN/Inf
 * input, when the backend fails to converge, and when a finite input gives a non-finite result
 * (a singular value beyond the float64 range, ~1.8e308: rescale the input).
 *
 * @example
 * ```ts
 * import { matrix, svd } from "./mod.ts";
 * const { s, rank } = svd(matrix(2, 2, [3, 0, 0, -2]));
 * if (s[0] !== 3 || s[1] !== 2 || rank !== 2) throw new Error("diag(3, 2)");
 * ```
 */
export function svd(a: Matrix, options: SvdOptions = {}): SvdResult {
  assertMatrix(a, "svd");
  assertFinite(a, "svd");
  const backend = options.backend ?? defaultBackend();
  const raw = a.rows === 0 || a.cols === 0
    ? emptySvd(a.rows, a.cols)
    : backend === "reference"
    ? referenceSvd(a)
    : lapackSvd(a);
  assertFiniteSvd(
    raw,
    "svd",
    () =>
      `the computation overflowed float64 (max |a| = ${maxAbs(a.data)}); rescale the input: ` +
      `svd(a / c) has the same u and vt and singular values s / c`,
  );
  return finishSvd(raw, a.rows, a.cols, options);
}

/** Throws NumericalError if u, s or vt of a raw SVD holds a NaN/±Inf (see assertFiniteResult). */
export function assertFiniteSvd(raw: RawSvd, op: string, cause: () => string): void {
  assertFiniteResult(op, { s: raw.s, u: raw.u.data, vt: raw.vt.data }, cause);
}

/**
 * Applies the conventions to a raw thin SVD (descending, finite s assumed): canonical signs,
 * rank, near-degeneracy flags. Used by every SVD path so they agree exactly in convention.
 */
export function finishSvd(raw: RawSvd, m: number, n: number, options: SvdOptions): SvdResult {
  const { u, s, vt } = raw;
  const k = s.length;
  canonicalizeSigns(u, vt);
  const smax = k > 0 ? s[0]! : 0;
  const nullRtol = options.nullRtol ?? Math.max(m, n) * EPS;
  if (!(nullRtol >= 0)) throw new RangeError(`svd: nullRtol must be ≥ 0, got ${nullRtol}`);
  const degenerateRtol = options.degenerateRtol ?? DEFAULT_DEGENERATE_RTOL;
  if (!(degenerateRtol >= 0)) {
    throw new RangeError(`svd: degenerateRtol must be ≥ 0, got ${degenerateRtol}`);
  }
  const nullCutoff = nullRtol * smax;
  let rank = 0;
  for (let i = 0; i < k; i++) if (s[i]! > nullCutoff) rank++;
  // Pairs within the rank whose gap is small relative to the larger of the two.
  const nearDegenerate = new Array<boolean>(k).fill(false);
  for (let i = 0; i + 1 < k; i++) {
    const hi = s[i]!, lo = s[i + 1]!;
    if (lo > nullCutoff && hi - lo <= degenerateRtol * hi) {
      nearDegenerate[i] = true;
      nearDegenerate[i + 1] = true;
    }
  }
  return { u, s, vt, rank, nearDegenerate, nullCutoff };
}

/**
 * Flips (u_k, vt_k) jointly so the largest-|entry| of each column u_k is positive (the first
 * such entry on exact ties). `u · diag(s) · vt` is unchanged.
 */
export function canonicalizeSigns(u: Matrix, vt: Matrix): void {
  const n = vt.cols;
  canonicalizeColumns(u, (j) => {
    for (let c = 0; c < n; c++) vt.data[j * n + c] = -vt.data[j * n + c]!;
  });
}

function emptySvd(m: number, n: number): RawSvd {
  const k = Math.min(m, n);
  return {
    u: { rows: m, cols: k, data: new Float64Array(m * k) },
    s: new Float64Array(k),
    vt: { rows: k, cols: n, data: new Float64Array(k * n) },
  };
}
