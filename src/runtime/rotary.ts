/**
 * GPT-NeoX rotary position embeddings (Pythia): the first `rotaryDim` dimensions of every query
 * and key head rotate; dimension `i` pairs with `i + rotaryDim/2` ("rotate half", not the
 * interleaved GPT-J pairing), at angle `pos · base^(-2i/rotaryDim)`. The rest pass through.
 * @module
 */

/** cos/sin tables `[nPos, rotaryDim/2]`, computed in float64 and stored as float32. */
export interface RotaryTables {
  /** `cos(pos · θ_i)`, row-major `[nPos, rotaryDim/2]`. */
  cos: Float32Array;
  /** `sin(pos · θ_i)`, row-major `[nPos, rotaryDim/2]`. */
  sin: Float32Array;
}

/**
 * The angle tables for positions `0..nPos-1`; both backends read these same numbers.
 *
 * @example
 * ```ts
 * const { cos } = rotaryTables(4, 10000, 2);
 * // position 1, pair 1: cos(1 · 10000^(-2/4)) = cos(0.01)
 * if (Math.abs(cos[3]! - Math.cos(0.01)) > 1e-7) throw new Error("rotary table");
 * ```
 */
export function rotaryTables(rotaryDim: number, base: number, nPos: number): RotaryTables {
  const half = rotaryDim / 2;
  const cos = new Float32Array(nPos * half);
  const sin = new Float32Array(nPos * half);
  for (let p = 0; p < nPos; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * Math.pow(base, (-2 * i) / rotaryDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Rotates one head vector in place: `x[off..off+rotaryDim)` at position `pos`
 * (`x_i' = x_i cos − x_{i+h} sin`, `x_{i+h}' = x_{i+h} cos + x_i sin`, `h = rotaryDim/2`).
 */
export function rotateInPlace(
  x: Float32Array,
  off: number,
  pos: number,
  rotaryDim: number,
  tables: RotaryTables,
): void {
  const half = rotaryDim / 2;
  for (let i = 0; i < half; i++) {
    const c = tables.cos[pos * half + i]!;
    const s = tables.sin[pos * half + i]!;
    const x1 = x[off + i]!;
    const x2 = x[off + i + half]!;
    x[off + i] = x1 * c - x2 * s;
    x[off + i + half] = x2 * c + x1 * s;
  }
}
