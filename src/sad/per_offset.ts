/**
 * The per-offset rotary decomposition (ACC 2025, method.md §4.6 option): one SVD per relative
 * offset, Ω_Δ = A R_dᵀR_s Bᵀ (depends only on Δ = d − s). For a firing (d, s) the triplets of
 * Ω_{d−s} are used for every key s′, each multiplied by its own Ω_{d−s′}:
 *   cₖ = Σ_{s′} w_{s′} (x′_dᵀ Ω_{d−s′} vₖ)(vₖᵀ x′_{s′}),  w_s = 1, w_{s′≠s} = −1/(m−1),
 * exact because every Ω_Δ has the row space range(B) and Σₖ vₖvₖᵀ is its projector.
 *
 * The bias form (`--bias`) chooses the factors A, B and the residual-side vectors x′; the key
 * bias never cancels under RoPE (its term depends on Δ), so every form carries it exactly:
 * - `offset` (§4.3 C, default): A = W_Q, B = W_K, x′_d = x_d + c_d, x′_s = x_s + c_s with
 *   c_d = b_Q W_Q⁺, c_s = b_K W_K⁺ (Ω_Δ d×d, rank ≤ d_head).
 * - `source` (§4.3 B, ACC's Ω_s per offset): A = [W_Q; b_Qᵀ], x′_d = [x_d; 1]; B = W_K,
 *   x′_s = x_s + c_s.
 * - `destination` (§4.3 B, ACC's Ω_d per offset): A = W_Q, x′_d = x_d + c_d;
 *   B = [W_K; b_Kᵀ], x′_s = [x_s; 1] (what svlens once computed for every `--bias`).
 * - `augmented` (§4.3 A): A = [W_Q; b_Qᵀ], B = [W_K; b_Kᵀ], x′ = [x; 1] on both sides.
 *
 * In every form Aᵀx′_d = q = W_Qᵀx_d + b_Q and Bᵀx′_s = k = W_Kᵀx_s + b_K, so everything is
 * computed in head space: with A = Q₁R₁, B = Q₂R₂ and R₁M_ΔR₂ᵀ = Û Σ V̂ᵀ (M_Δ = R_dᵀR_s),
 * vₖ = Q₂V̂ₖ, x′_dᵀΩ_{Δ′}vₖ = (V̂ᵀR₂M_{Δ′}ᵀq)ₖ and vₖᵀx′ = (V̂ᵀR₂⁻ᵀk)ₖ. The forms differ only
 * in R₁ and R₂, i.e. in the singular vectors V̂ (hence in N_recon and sparseness), never in l̃.
 * @module
 */
import { appendRow } from "../circuits/head_weights.ts";
import { rotaryMatrix, type RotarySpec, rotate } from "../circuits/mod.ts";
import { matmul, type Matrix, pinv, qr, svd, transpose } from "../linalg/mod.ts";
import type { BiasVariant, QkWeights } from "./basis.ts";
import { checkSum, project } from "./contributions.ts";

/**
 * Bias forms of the per-offset decomposition: the three of {@linkcode BiasVariant} plus
 * `destination` (ACC 2025's Ω_d, key side augmented), which exists only per offset.
 */
export type PerOffsetBias = BiasVariant | "destination";

/** Every per-offset bias form, in the order the CLI lists them. */
export const PER_OFFSET_BIASES: readonly PerOffsetBias[] = [
  "offset",
  "augmented",
  "source",
  "destination",
];

/** What each per-offset bias form decomposes (recorded in results as `biasForm`). */
export function perOffsetForm(bias: PerOffsetBias): string {
  const form = {
    offset: "Ω_Δ = W_Q R_dᵀR_s W_Kᵀ (d×d); residual offsets c_d = b_Q W_Q⁺ and c_s = b_K W_K⁺: " +
      "x_d + c_d, x_s + c_s (method.md §4.3 C)",
    source: "Ω_Δ = [W_Q; b_Qᵀ] R_dᵀR_s W_Kᵀ ((d+1)×d, ACC 2025 Ω_s, §4.3 B): x̃_d = [x_d; 1], " +
      "keys x_s + c_s with c_s = b_K W_K⁺ (the key bias does not cancel under RoPE)",
    destination: "Ω_Δ = W_Q R_dᵀR_s [W_K; b_Kᵀ]ᵀ (d×(d+1), ACC 2025 Ω_d, §4.3 B): query " +
      "x_d + c_d with c_d = b_Q W_Q⁺, keys x̃_s = [x_s; 1]",
    augmented: "Ω_Δ = [W_Q; b_Qᵀ] R_dᵀR_s [W_K; b_Kᵀ]ᵀ ((d+1)×(d+1), §4.3 A): x̃ = [x; 1] on " +
      "both sides",
  } satisfies Record<PerOffsetBias, string>;
  return `per-offset ${bias}: ${form[bias]}; for firing (d, s) the SVD of Ω_{d−s}, other keys s′ ` +
    "projected on the same vₖ times Ω_{d−s′} (ACC 2025, method.md §4.6)";
}

/** Per-head state of the per-offset decomposition (SVDs cached per offset). */
export interface PerOffsetHead {
  /** The bias form. */
  bias: PerOffsetBias;
  /** R₁ (d_head×d_head) of A = Q₁R₁ (A = W_Q, or [W_Q; b_Qᵀ] for source/augmented). */
  r1: Matrix;
  /** R₂ of B = Q₂R₂ (B = W_K, or [W_K; b_Kᵀ] for destination/augmented). */
  r2: Matrix;
  /** R₂⁻ᵀ (pseudo-inverse when singular). */
  r2invT: Matrix;
  /** Rotary geometry. */
  spec: RotarySpec;
  /** M_Δ's index (s − d) → the SVD of the core: singular values and V̂ᵀ. */
  cache: Map<number, { s: Float64Array; vt: Matrix }>;
}

/** Prepares the per-offset state of one head for bias form `bias` (default `offset`). */
export function perOffsetHead(
  weights: QkWeights,
  spec: RotarySpec,
  bias: PerOffsetBias = "offset",
): PerOffsetHead {
  const queryAugmented = bias === "source" || bias === "augmented";
  const keyAugmented = bias === "destination" || bias === "augmented";
  const a = queryAugmented ? appendRow(weights.wQ, weights.bQ) : weights.wQ;
  const b = keyAugmented ? appendRow(weights.wK, weights.bK) : weights.wK;
  const r1 = qr(a).r;
  const r2 = qr(b).r;
  return { bias, r1, r2, r2invT: transpose(pinv(r2)), spec, cache: new Map() };
}

/** The SVD of the core R₁M R₂ᵀ for M = R_dᵀR_s with s − d = `sMinusD`, cached. */
function coreSvd(head: PerOffsetHead, sMinusD: number): { s: Float64Array; vt: Matrix } {
  let r = head.cache.get(sMinusD);
  if (!r) {
    const core = matmul(matmul(head.r1, rotaryMatrix(sMinusD, head.spec)), transpose(head.r2));
    const { s, vt } = svd(core);
    r = { s, vt };
    head.cache.set(sMinusD, r);
  }
  return r;
}

/**
 * Singular values of Ω_Δ (Δ = d − s = `delta`, default 0) in the head's bias form. Ω_0 = A Bᵀ
 * is the position-independent QK form, so for offset/augmented/source these equal the
 * singular values of the matching non-rotary basis.
 */
export function perOffsetSingularValues(head: PerOffsetHead, delta = 0): Float64Array {
  return coreSvd(head, -delta).s;
}

/** One firing's per-offset contributions (SVD basis and rotated basis) and its l̃. */
export interface PerOffsetFiring {
  /** cₖ in the Ω_{d−s} basis. */
  c: Float64Array;
  /** The same in the rotated basis (V̂Q). */
  rotated: Float64Array;
  /** l̃ computed directly from the rotated query and keys. */
  lTilde: number;
}

/**
 * Contributions for query position `d` with head-space query `q` (= W_Qᵀx_d + b_Q, NOT rotated)
 * and unrotated head-space keys `keys[t]` (= W_Kᵀx_t + b_K, t = 0..d), target key `s`.
 * `rotation` is the K×K orthogonal Q of the control. Throws `NumericalError` when Σcₖ ≠ l̃.
 */
export function perOffsetContributions(
  head: PerOffsetHead,
  d: number,
  s: number,
  q: Float64Array,
  keys: readonly Float64Array[],
  rotation: Matrix,
  where = "",
): PerOffsetFiring {
  const vt = coreSvd(head, s - d).vt;
  const k = vt.rows;
  const m = d + 1;
  const c = new Float64Array(k);
  const cr = new Float64Array(k);
  const qd = rotate(q, d, head.spec);
  let lTilde = 0;
  for (let t = 0; t <= d; t++) {
    const w = t === s ? 1 : -1 / (m - 1);
    const key = keys[t]!;
    // α = V̂ᵀR₂M_{t−d}ᵀq, β = V̂ᵀR₂⁻ᵀk_t
    const mtq = project(transpose(rotaryMatrix(t - d, head.spec)), q);
    const alpha = project(vt, project(head.r2, mtq));
    const beta = project(vt, project(head.r2invT, key));
    for (let i = 0; i < k; i++) c[i] = c[i]! + w * alpha[i]! * beta[i]!;
    for (let j = 0; j < k; j++) {
      let qa = 0, qb = 0;
      for (let i = 0; i < k; i++) {
        const qij = rotation.data[i * k + j]!;
        qa += qij * alpha[i]!;
        qb += qij * beta[i]!;
      }
      cr[j] = cr[j]! + w * qa * qb;
    }
    const kt = rotate(key, t, head.spec);
    let dot = 0;
    for (let i = 0; i < qd.length; i++) dot += qd[i]! * kt[i]!;
    lTilde += w * dot;
  }
  const check = (v: Float64Array, label: string) => {
    let sum = 0, abs = 0;
    for (let i = 0; i < k; i++) {
      sum += v[i]!;
      abs += Math.abs(v[i]!);
    }
    checkSum(sum, lTilde, abs, `${where} (per-offset${label})`);
  };
  check(c, "");
  check(cr, ", rotated basis");
  return { c, rotated: cr, lTilde };
}
