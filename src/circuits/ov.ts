/**
 * The OV circuit of one head: Ω_OV = W_V W_O (d_model×d_model, rank ≤ d_head) as a factored
 * product. A residual row vector x read by the head is written back as x W_V W_O (plus the
 * constant b_V W_O, which `foldValueBiases` moves into b_O). In its SVD the left singular vectors
 * u_k are read directions and the right ones v_k are written directions.
 * @module
 */
import { LowRankProduct } from "../linalg/mod.ts";
import type { Model } from "../model/types.ts";
import { headWeights } from "./head_weights.ts";

/** One head's OV circuit. */
export interface OvCircuit {
  /** Layer index. */
  readonly layer: number;
  /** Head index. */
  readonly head: number;
  /** W_V W_O, rows = read (input) side, columns = written (output) side. */
  readonly omega: LowRankProduct;
  /** b_V W_O: what the head writes regardless of its input (zero after `foldValueBiases`). */
  readonly bias: Float64Array;
}

/**
 * The OV circuit of head `head` in layer `layer`.
 *
 * @example
 * ```ts ignore
 * import { ovCircuit } from "./ov.ts";
 * const { omega } = ovCircuit(model, 9, 9);
 * const { u, s, vt } = omega.svd(); // u: read directions, vt rows: written directions
 * ```
 */
export function ovCircuit(model: Model, layer: number, head: number): OvCircuit {
  const { wV, wO, bV } = headWeights(model, layer, head);
  const d = wO.cols, h = wO.rows;
  const bias = new Float64Array(d);
  for (let j = 0; j < h; j++) {
    const b = bV[j]!;
    if (b === 0) continue;
    for (let k = 0; k < d; k++) bias[k]! += b * wO.data[j * d + k]!;
  }
  return { layer, head, omega: new LowRankProduct(wV, wO), bias };
}
