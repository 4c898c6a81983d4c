/**
 * Linear algebra for svlens: a row-major float64 `Matrix`, SVD / QR / eigh / solve / pinv on
 * WebAssembly LAPACK with a pure-TypeScript reference backend, the factored `LowRankProduct`,
 * Haar-random orthogonal matrices and a seeded `Rng`.
 *
 * @example
 * ```ts
 * import { LowRankProduct, matrix, Rng, svd } from "./mod.ts";
 * const rng = new Rng(0);
 * const a = matrix(5, 2, rng.normals(10)), b = matrix(2, 4, rng.normals(8));
 * const dense = svd(new LowRankProduct(a, b).toDense());
 * const factored = new LowRankProduct(a, b).svd();
 * if (Math.abs(dense.s[0]! - factored.s[0]!) > 1e-10 * dense.s[0]!) throw new Error();
 * ```
 * @module
 */
export { at, identity, type Matrix, matrix, transpose } from "./matrix.ts";
export { Rng } from "./rng.ts";
export { matmul } from "./matmul.ts";
export {
  closeMatmulThreads,
  matmulF32,
  type MatmulOptions,
  matmulThreadsActive,
} from "./matmul_f32.ts";
export { matmulF64 } from "./matmul_f64.ts";
export {
  canonicalizeSigns,
  DEFAULT_DEGENERATE_RTOL,
  EPS,
  svd,
  type SvdOptions,
  type SvdResult,
} from "./svd.ts";
export { qr, type QrOptions, type QrResult } from "./qr.ts";
export { eigh, type EighOptions, type EighResult } from "./eigh.ts";
export { solve, type SolveOptions } from "./solve.ts";
export { pinv } from "./pinv.ts";
export { LowRankProduct } from "./low_rank_product.ts";
export { haarOrthogonal } from "./haar.ts";
export { type Backend, defaultBackend, setDefaultBackend } from "./backend.ts";
