/**
 * The QK circuit of one head as a factored bilinear form Ω = A Bᵀ (never formed densely), with
 * the bias variants of method.md §4.3 and, for rotary models, the position-independent basis with
 * rotated residuals (§4.6, ACC++) or the per-offset Ω_Δ (ACC). Ω is the UNSCALED bilinear form:
 * the softmax logit is (x̂_dᵀ Ω x̂_s) / attnScale, attnScale = sqrt(d_head).
 *
 * | bias          | A (query side)   | B (key side)     | x̂_d        | x̂_s        | logit explained |
 * |---------------|------------------|------------------|-------------|-------------|-----------------|
 * | `offset`      | W_Q  (d×h)       | W_K  (d×h)       | x_d + c_d   | x_s + c_s   | all of it (c_d = b_Q W_Q⁺, c_s = b_K W_K⁺) |
 * | `augmented`   | [W_Q; b_Q]       | [W_K; b_K]       | [x_d; 1]    | [x_s; 1]    | all of it (SAD 2024, (d+1)×(d+1)) |
 * | `source`      | [W_Q; b_Q]       | W_K              | [x_d; 1]    | x_s         | all but x_d·W_Q b_K + b_Q·b_K (key-independent unless rotary) |
 * | `destination` | W_Q              | [W_K; b_K]       | x_d         | [x_s; 1]    | all but b_Q·k_s (ACC destination side) |
 * | `none`        | W_Q              | W_K              | x_d         | x_s         | x_d W_Q W_Kᵀ x_s only (TransformerLens `QK`) |
 *
 * Rotary (q' = R_d q, k' = R_s k, bias added before rotation): with y_d, y_s the un-rotated inputs
 * above, x̂_d = A⁺ᵀ R_d Aᵀ y_d and x̂_s = B⁺ᵀ R_s Bᵀ y_s (= M_dᵀ y_d, M_s y_s of §4.6), exact when A
 * and B have full column rank; or the per-offset form y_dᵀ Ω_{d−s} y_s with Ω_Δ = A R_{−Δ} Bᵀ.
 * @module
 */
import { LowRankProduct, matmul, type Matrix, transpose } from "../linalg/mod.ts";
import type { Model } from "../model/types.ts";
import { appendRow, headWeights, PinvTranspose } from "./head_weights.ts";
import { rotaryMatrix, type RotarySpec, rotate } from "./rotary.ts";

/** How the query/key biases enter Ω (method.md §4.3). */
export type QkBias = "offset" | "augmented" | "source" | "destination" | "none";

/** Every bias variant, default first. */
export const QK_BIASES: readonly QkBias[] = Object.freeze([
  "offset",
  "augmented",
  "source",
  "destination",
  "none",
]);

/** What the bilinear form x̂_dᵀ Ω x̂_s equals, per bias variant (for results and reports). */
export const QK_BIAS_NOTES: Readonly<Record<QkBias, string>> = Object.freeze({
  offset: "Ω = W_Q W_Kᵀ; biases as residual offsets c_d = b_Q W_Q⁺, c_s = b_K W_K⁺; " +
    "(x_d+c_d)ᵀ Ω (x_s+c_s) = q·k exactly (ACC++)",
  augmented: "Ω̃ = [W_Q; b_Q][W_K; b_K]ᵀ, (d+1)×(d+1); [x_d;1]ᵀ Ω̃ [x_s;1] = q·k exactly (SAD 2024)",
  source: "Ω_s = [W_Q; b_Q] W_Kᵀ, (d+1)×d; [x_d;1]ᵀ Ω_s x_s = q·k − (x_d W_Q + b_Q)·b_K " +
    "(ACC source side)",
  destination: "Ω_d = W_Q [W_K; b_K]ᵀ, d×(d+1); x_dᵀ Ω_d [x_s;1] = q·k − b_Q·k_s " +
    "(ACC destination side)",
  none: "Ω = W_Q W_Kᵀ without biases (TransformerLens QK): x_dᵀ Ω x_s = (x_d W_Q)·(x_s W_K)",
});

/** Options of {@linkcode qkCircuit}. */
export interface QkOptions {
  /** Bias variant; default `offset` (ACC++). */
  bias?: QkBias;
}

/** One head's QK circuit. */
export interface QkCircuit {
  /** Layer index. */
  readonly layer: number;
  /** Head index. */
  readonly head: number;
  /** The bias variant. */
  readonly bias: QkBias;
  /** Ω = A Bᵀ, unscaled, rows = query-side inputs, columns = key-side inputs. */
  readonly omega: LowRankProduct;
  /** A: query-side factor (d or d+1)×d_head. */
  readonly queryFactor: Matrix;
  /** B: key-side factor (d or d+1)×d_head. */
  readonly keyFactor: Matrix;
  /** c_d = b_Q W_Q⁺ (`offset` only; computed on first access). */
  readonly queryOffset?: Float64Array;
  /** c_s = b_K W_K⁺ (`offset` only). */
  readonly keyOffset?: Float64Array;
  /**
   * Whether the offsets reproduce the biases exactly (W_Q, W_K of full column rank); always true
   * for the other variants. Computed on first access.
   */
  readonly offsetsExact: boolean;
  /** sqrt(d_head): the softmax logit is the bilinear form divided by this. */
  readonly attnScale: number;
  /** Rotary geometry when the model uses rotary embeddings. */
  readonly rotary?: RotarySpec;
  /**
   * x̂_d for a query-side residual input x (d_model; the LN-normalised stream the head reads) at
   * position `pos` (needed for rotary models, ignored otherwise).
   */
  queryInput(x: ArrayLike<number>, pos?: number): Float64Array;
  /** x̂_s for a key-side residual input at position `pos`. */
  keyInput(x: ArrayLike<number>, pos?: number): Float64Array;
  /**
   * Rotary only: the linear map y ↦ x̂ at position `pos` as a factored n×n matrix of rank ≤
   * d_head, F⁺ᵀ · (R_pos Fᵀ) with F = A (query side: M_dᵀ of method.md §4.6) or F = B (key side:
   * M_s). y is the un-rotated input (x + c, [x; 1] or x, per bias variant).
   */
  residualMap(pos: number, side: "query" | "key"): LowRankProduct;
  /**
   * Rotary only: Ω_Δ = A R_{−Δ} Bᵀ for the offset Δ = d − s, to be used with un-rotated inputs
   * (`queryInput(x)`/`keyInput(x)` without a position).
   */
  perOffset(delta: number): LowRankProduct;
}

function plus(x: ArrayLike<number>, c: Float64Array): Float64Array {
  const out = new Float64Array(c.length);
  for (let i = 0; i < c.length; i++) out[i] = x[i]! + c[i]!;
  return out;
}

function withOne(x: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(d + 1);
  for (let i = 0; i < d; i++) out[i] = x[i]!;
  out[d] = 1;
  return out;
}

/** fᵀ y for f (n×r), y (n). */
function projectT(f: Matrix, y: Float64Array): Float64Array {
  const out = new Float64Array(f.cols);
  for (let i = 0; i < f.rows; i++) {
    const yi = y[i]!;
    if (yi === 0) continue;
    for (let j = 0; j < f.cols; j++) out[j]! += yi * f.data[i * f.cols + j]!;
  }
  return out;
}

/**
 * The QK circuit of head `head` in layer `layer` with the chosen bias variant (default
 * `offset`). Use weights processed as TransformerLens does (`processWeights`) to reproduce the
 * authors' singular vectors; inputs are then the LNPre-normalised residual stream.
 *
 * @example
 * ```ts ignore
 * import { qkCircuit } from "./qk.ts";
 * const c = qkCircuit(model, 8, 6);           // offset variant
 * const { s } = c.omega.svd();                // 64 unscaled singular values, descending
 * const logit = bilinear(c.queryInput(xd), c.omega, c.keyInput(xs)) / c.attnScale;
 * ```
 */
export function qkCircuit(
  model: Model,
  layer: number,
  head: number,
  options: QkOptions = {},
): QkCircuit {
  const bias = options.bias ?? "offset";
  if (!QK_BIASES.includes(bias)) {
    throw new RangeError(`unknown QK bias variant '${bias}'; expected one of ${QK_BIASES}`);
  }
  const { wQ, wK, bQ, bK } = headWeights(model, layer, head);
  const { dModel: d, dHead: dh, rotaryDim, rotaryBase } = model.config;
  const augQ = bias === "augmented" || bias === "source";
  const augK = bias === "augmented" || bias === "destination";
  const a = augQ ? appendRow(wQ, bQ) : wQ;
  const b = augK ? appendRow(wK, bK) : wK;
  const omega = new LowRankProduct(a, transpose(b));
  const rotary = rotaryDim > 0 ? { dHead: dh, rotaryDim, base: rotaryBase } : undefined;

  // Pseudo-inverses (a thin QR each) are formed only when offsets or rotated inputs are used,
  // so a spectrum-only caller pays for nothing but Ω's SVD.
  let pinvA: PinvTranspose | undefined, pinvB: PinvTranspose | undefined;
  const getPinvA = () => (pinvA ??= new PinvTranspose(a));
  const getPinvB = () => (pinvB ??= new PinvTranspose(b));
  // c W = b  ⇔  Wᵀ cᵀ = bᵀ: c = W⁺ᵀ b (row-space solution; exact for full column rank).
  let cD: Float64Array | undefined, cS: Float64Array | undefined;
  const queryOffset = () => bias === "offset" ? (cD ??= getPinvA().apply(bQ)) : undefined;
  const keyOffset = () => bias === "offset" ? (cS ??= getPinvB().apply(bK)) : undefined;

  const input = (
    x: ArrayLike<number>,
    pos: number | undefined,
    side: "query" | "key",
  ): Float64Array => {
    if (x.length !== d) {
      throw new RangeError(`${side} input has length ${x.length}; expected d_model = ${d}`);
    }
    const aug = side === "query" ? augQ : augK;
    const offset = side === "query" ? queryOffset() : keyOffset();
    const y = aug ? withOne(x, d) : offset ? plus(x, offset) : Float64Array.from(x);
    if (rotary === undefined || pos === undefined) return y;
    const f = side === "query" ? a : b;
    const p = side === "query" ? getPinvA() : getPinvB();
    return p.apply(rotate(projectT(f, y), pos, rotary));
  };

  return {
    layer,
    head,
    bias,
    omega,
    queryFactor: a,
    keyFactor: b,
    get queryOffset() {
      return queryOffset();
    },
    get keyOffset() {
      return keyOffset();
    },
    get offsetsExact() {
      return bias !== "offset" || (getPinvA().fullRank && getPinvB().fullRank);
    },
    attnScale: Math.sqrt(dh),
    rotary,
    queryInput: (x, pos) => input(x, pos, "query"),
    keyInput: (x, pos) => input(x, pos, "key"),
    residualMap(pos: number, side: "query" | "key"): LowRankProduct {
      if (rotary === undefined) {
        throw new RangeError(
          `residualMap needs a rotary model; layer ${layer} head ${head} has learned positions`,
        );
      }
      const f = side === "query" ? a : b;
      const p = side === "query" ? getPinvA() : getPinvB();
      return new LowRankProduct(p.matrix, matmul(rotaryMatrix(pos, rotary), transpose(f)));
    },
    perOffset(delta: number): LowRankProduct {
      if (rotary === undefined) {
        throw new RangeError(
          `perOffset needs a rotary model; layer ${layer} head ${head} has learned positions ` +
            `(Ω does not depend on the offset)`,
        );
      }
      return new LowRankProduct(a, matmul(rotaryMatrix(-delta, rotary), transpose(b)));
    },
  };
}

/** The bilinear value x̂_dᵀ Ω x̂_s computed from the factors (O((n_d + n_s)·d_head)). */
export function bilinear(
  xd: ArrayLike<number>,
  circuit: Pick<QkCircuit, "queryFactor" | "keyFactor">,
  xs: ArrayLike<number>,
): number {
  const q = projectT(circuit.queryFactor, Float64Array.from(xd));
  const k = projectT(circuit.keyFactor, Float64Array.from(xs));
  let s = 0;
  for (let j = 0; j < q.length; j++) s += q[j]! * k[j]!;
  return s;
}
