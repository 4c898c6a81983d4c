/**
 * One attention head's weights as float64 matrices (TL layout: W_Q, W_K, W_V are d_model×d_head,
 * W_O is d_head×d_model, biases are vectors), and the pseudo-inverse transpose of a thin factor,
 * which turns head-space vectors into residual-space vectors (bias offsets, rotated residuals).
 * @module
 */
import type { Model } from "../model/types.ts";
import { type Matrix, pinv, qr, transpose } from "../linalg/mod.ts";
import { ModelFormatError } from "../errors.ts";

/** The float64 weights of one head. */
export interface HeadWeights {
  /** Query weights, d_model×d_head (q = x W_Q + b_Q). */
  wQ: Matrix;
  /** Key weights, d_model×d_head. */
  wK: Matrix;
  /** Value weights, d_model×d_head. */
  wV: Matrix;
  /** Output weights, d_head×d_model. */
  wO: Matrix;
  /** Query bias, d_head (zeros if the model has none). */
  bQ: Float64Array;
  /** Key bias, d_head. */
  bK: Float64Array;
  /** Value bias, d_head. */
  bV: Float64Array;
}

function tensor(model: Model, name: string, size: number): Float32Array {
  const t = model.weights.get(name);
  if (t === undefined) {
    throw new ModelFormatError(`weight '${name}' is missing from the model (TL layout expected)`);
  }
  if (t.data.length !== size) {
    throw new ModelFormatError(
      `weight '${name}' has ${t.data.length} elements (shape [${t.shape}]); expected ${size}`,
    );
  }
  return t.data;
}

/** Checks `layer`/`head` against the config, naming the valid range. */
export function checkHead(model: Model, layer: number, head: number): void {
  const { nLayers, nHeads } = model.config;
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayers) {
    throw new RangeError(`layer ${layer} does not exist: the model has layers 0..${nLayers - 1}`);
  }
  if (!Number.isInteger(head) || head < 0 || head >= nHeads) {
    throw new RangeError(`head ${head} does not exist: the model has heads 0..${nHeads - 1}`);
  }
}

/**
 * Extracts head `head` of layer `layer` as float64 matrices.
 *
 * @example
 * ```ts ignore
 * import { headWeights } from "./head_weights.ts";
 * const { wQ, bQ } = headWeights(model, 8, 6); // wQ: 768×64 for GPT-2 small
 * ```
 */
export function headWeights(model: Model, layer: number, head: number): HeadWeights {
  checkHead(model, layer, head);
  const { nHeads, dModel: d, dHead: dh } = model.config;
  const p = `blocks.${layer}.attn.`;
  const slice = (name: string, size: number): Float64Array => {
    const all = tensor(model, p + name, nHeads * size);
    return Float64Array.from(all.subarray(head * size, (head + 1) * size));
  };
  const bias = (name: string): Float64Array =>
    model.weights.has(p + name) ? slice(name, dh) : new Float64Array(dh);
  return {
    wQ: { rows: d, cols: dh, data: slice("W_Q", d * dh) },
    wK: { rows: d, cols: dh, data: slice("W_K", d * dh) },
    wV: { rows: d, cols: dh, data: slice("W_V", d * dh) },
    wO: { rows: dh, cols: d, data: slice("W_O", dh * d) },
    bQ: bias("b_Q"),
    bK: bias("b_K"),
    bV: bias("b_V"),
  };
}

/** Appends `row` as a last row: [f; row] ((n+1)×r), for the bias-augmented forms. */
export function appendRow(f: Matrix, row: Float64Array): Matrix {
  const data = new Float64Array((f.rows + 1) * f.cols);
  data.set(f.data);
  data.set(row, f.rows * f.cols);
  return { rows: f.rows + 1, cols: f.cols, data };
}

/**
 * F⁺ᵀ for a thin factor F (n×r, n ≥ r): maps z ∈ R^r to the minimum-norm y ∈ R^n with
 * Fᵀ y = z when F has full column rank (then exact), else the least-squares y = F⁺ᵀ z. Uses a
 * thin QR (F = QR, F⁺ᵀ z = Q R⁻ᵀ z: one triangular solve and one n×r product per vector);
 * falls back to the SVD pseudo-inverse when R is singular.
 */
export class PinvTranspose {
  /** Whether F has full column rank (R's diagonal clear of zero), i.e. the map is exact. */
  readonly fullRank: boolean;
  readonly #q: Matrix | undefined;
  readonly #r: Matrix | undefined;
  #dense: Matrix | undefined;

  /** Factorises `f` (n×r). */
  constructor(f: Matrix) {
    const n = f.rows, r = f.cols;
    const { q, r: rr } = qr(f);
    let maxDiag = 0, minDiag = Infinity;
    for (let j = 0; j < Math.min(n, r); j++) {
      const x = Math.abs(rr.data[j * rr.cols + j]!);
      maxDiag = Math.max(maxDiag, x);
      minDiag = Math.min(minDiag, x);
    }
    this.fullRank = n >= r && minDiag > 1e-10 * maxDiag;
    if (this.fullRank) {
      this.#q = q;
      this.#r = rr;
    } else {
      this.#dense = transpose(pinv(f));
    }
  }

  /** F⁺ᵀ as an n×r matrix (formed on first use). */
  get matrix(): Matrix {
    if (this.#dense === undefined) {
      const q = this.#q!;
      const n = q.rows, r = q.cols;
      const data = new Float64Array(n * r);
      const e = new Float64Array(r);
      for (let j = 0; j < r; j++) {
        e.fill(0);
        e[j] = 1;
        const col = this.apply(e);
        for (let i = 0; i < n; i++) data[i * r + j] = col[i]!;
      }
      this.#dense = { rows: n, cols: r, data };
    }
    return this.#dense;
  }

  /** F⁺ᵀ z for z ∈ R^r. */
  apply(z: ArrayLike<number>): Float64Array {
    if (this.#q === undefined) {
      const { rows: n, cols: r, data } = this.#dense!;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < r; j++) s += data[i * r + j]! * z[j]!;
        out[i] = s;
      }
      return out;
    }
    const q = this.#q, rr = this.#r!;
    const n = q.rows, r = q.cols, rc = rr.cols;
    // w = R⁻ᵀ z: forward substitution on the lower-triangular Rᵀ.
    const w = new Float64Array(r);
    for (let j = 0; j < r; j++) {
      let s = z[j]!;
      for (let t = 0; t < j; t++) s -= rr.data[t * rc + j]! * w[t]!;
      w[j] = s / rr.data[j * rc + j]!;
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < r; j++) s += q.data[i * r + j]! * w[j]!;
      out[i] = s;
    }
    return out;
  }
}
