/**
 * The linear algebra the toy layer uses, from the linalg layer (one import site).
 * @module
 */
export { svd, type SvdResult } from "../linalg/svd.ts";
export { eigh } from "../linalg/eigh.ts";
export { qr } from "../linalg/qr.ts";
export { Rng } from "../linalg/rng.ts";
export { type Matrix, matrix } from "../linalg/matrix.ts";
