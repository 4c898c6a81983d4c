/**
 * The linear algebra the toy layer uses, from the linalg layer (one import site).
 * @module
 */
export {
  haarOrthogonal,
  type Matrix,
  matrix,
  pinv,
  qr,
  Rng,
  svd,
  type SvdResult,
} from "../linalg/mod.ts";
