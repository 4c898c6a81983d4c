/**
 * Rotary position embeddings (GPT-NeoX / Pythia, method.md §4.6): the per-position rotation R_t
 * of a head vector, as a matrix and applied to vectors. "Rotate half" pairing: within the first
 * `rotaryDim` dims, dim i (< rotaryDim/2) pairs with i + rotaryDim/2 at angle
 * θ_{t,i} = t · base^(−2i/rotaryDim); dims ≥ rotaryDim are not rotated. The bias is added before
 * the rotation (q' = R_t (W_Qᵀ x + b_Q)), so the rotated logit is qᵀ R_dᵀ R_s k = qᵀ R_{s−d} k.
 * @module
 */
import type { Matrix } from "../linalg/mod.ts";

/** Rotary geometry of a head. */
export interface RotarySpec {
  /** Head width. */
  dHead: number;
  /** Number of rotated dims (even, ≤ dHead; 0 = no rotary). */
  rotaryDim: number;
  /** Frequency base (10000 for Pythia). */
  base: number;
}

function check(spec: RotarySpec): void {
  const { dHead, rotaryDim } = spec;
  if (!Number.isInteger(rotaryDim) || rotaryDim < 0 || rotaryDim > dHead || rotaryDim % 2 !== 0) {
    throw new RangeError(
      `rotaryDim must be an even integer in [0, dHead=${dHead}], got ${rotaryDim}`,
    );
  }
}

/**
 * R_t as a dHead×dHead matrix (column convention: q' = R_t q). Non-integer and negative t are
 * allowed (R_{−t} = R_tᵀ).
 *
 * @example
 * ```ts
 * import { rotaryMatrix } from "./rotary.ts";
 * const r = rotaryMatrix(0, { dHead: 4, rotaryDim: 2, base: 10000 });
 * if (r.data[0] !== 1 || r.data[1] !== 0) throw new Error("R_0 is the identity");
 * ```
 */
export function rotaryMatrix(t: number, spec: RotarySpec): Matrix {
  check(spec);
  const { dHead: n, rotaryDim: rd, base } = spec;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  const half = rd / 2;
  for (let i = 0; i < half; i++) {
    const theta = t * Math.pow(base, (-2 * i) / rd);
    const c = Math.cos(theta), s = Math.sin(theta);
    out[i * n + i] = c;
    out[(i + half) * n + (i + half)] = c;
    out[i * n + (i + half)] = -s;
    out[(i + half) * n + i] = s;
  }
  return { rows: n, cols: n, data: out };
}

/** R_t q for a head vector q (length dHead). */
export function rotate(q: ArrayLike<number>, t: number, spec: RotarySpec): Float64Array {
  check(spec);
  const { rotaryDim: rd, base } = spec;
  const out = Float64Array.from(q);
  const half = rd / 2;
  for (let i = 0; i < half; i++) {
    const theta = t * Math.pow(base, (-2 * i) / rd);
    const c = Math.cos(theta), s = Math.sin(theta);
    out[i] = q[i]! * c - q[i + half]! * s;
    out[i + half] = q[i + half]! * c + q[i]! * s;
  }
  return out;
}
