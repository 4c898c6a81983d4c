/**
 * The linear algebra the toy layer uses, from the linalg layer (one import site).
 * @module
 */
export {
  eigh,
  haarOrthogonal,
  type Matrix,
  matrix,
  qr,
  Rng,
  svd,
  type SvdResult,
} from "../linalg/mod.ts";
