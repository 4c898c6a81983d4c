/**
 * Thin singular value decomposition with svlens's conventions: descending singular values,
 * canonical signs, a numerical rank with an explicit null-space cutoff, and flags on nearly
 * equal neighbouring singular values (whose individual vectors are ill-defined).
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { assertFinite, assertMatrix } from "./_validate.ts";
import { type RawSvd, referenceSvd } from "./reference.ts";
import { type Backend, defaultBackend } from "./backend.ts";
import { lapackSvd } from "./lapack.ts";
import { canonicalizeColumns } from "./_signs.ts";

/** Machine epsilon of float64. */
export const EPS = 2.220446049250313e-16;

/** Default relative gap below which neighbouring singular values are flagged near-degenerate. */
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
   * `nearDegenerate[k]` is true when s[k] is within `degenerateRtol · s[0]` of a neighbour:
   * u_k and v_k are then only defined up to a rotation within that block.
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
  /** Relative gap (to s_max) flagging near-degenerate neighbours; default 1e-6. */
  degenerateRtol?: number;
}

/**
 * Thin SVD of an m×n float64 matrix: u (m×k), s (k, descending), vt (k×n), k = min(m, n),
 * with `u · diag(s) · vt = a`. Signs are canonical: the largest-magnitude entry of each column
 * of u is positive (the partner row of vt flips with it). Throws `NumericalError` on NaN/Inf
 * input or when the backend fails to converge.
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
  return finishSvd(raw, a.rows, a.cols, options);
}

/**
 * Applies the conventions to a raw thin SVD (descending s assumed): canonical signs, rank,
 * near-degeneracy flags. Used by every SVD path so they agree exactly in convention.
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
  const gap = degenerateRtol * smax;
  const nearDegenerate: boolean[] = [];
  for (let i = 0; i < k; i++) {
    const prev = i > 0 && s[i - 1]! - s[i]! <= gap;
    const next = i + 1 < k && s[i]! - s[i + 1]! <= gap;
    nearDegenerate.push(prev || next);
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
