/**
 * The per-offset rotary decomposition (ACC 2025, method.md §4.6 option): one SVD per relative
 * offset, Ω_Δ = W_Q M_Δ W̃_Kᵀ with M_Δ = R_dᵀR_s (depends only on s − d) and the key bias kept
 * as an augmented row (it does not cancel under RoPE). For a firing (d, s) the triplets of
 * Ω_{s−d} are used for every key s′, each multiplied by its own Ω_{s′−d}:
 *   cₖ = Σ_{s′} w_{s′} (x̃_dᵀ Ω_{s′−d} vₖ)(vₖᵀ x̃_{s′}),  w_s = 1, w_{s′≠s} = −1/(m−1),
 * exact because every Ω_Δ has the row space of W̃_K. In head space with W_Q = Q₁R₁,
 * W̃_K = Q₂R₂ and R₁M_ΔR₂ᵀ = Û Σ V̂ᵀ: x̃_dᵀΩ_{Δ′}vₖ = (V̂ᵀR₂M_{Δ′}ᵀq)ₖ and vₖᵀx̃ = (V̂ᵀR₂⁻ᵀk)ₖ.
 * @module
 */
import { rotaryMatrix, type RotarySpec, rotate } from "../circuits/mod.ts";
import { matmul, type Matrix, pinv, qr, svd, transpose } from "../linalg/mod.ts";
import type { QkWeights } from "./basis.ts";
import { checkSum, project } from "./contributions.ts";

/** Per-head state of the per-offset decomposition (SVDs cached per offset). */
export interface PerOffsetHead {
  /** R₁ (d_head×d_head) of W_Q = Q₁R₁. */
  r1: Matrix;
  /** R₂ of W̃_K = [W_K; b_Kᵀ] = Q₂R₂. */
  r2: Matrix;
  /** R₂⁻ᵀ (pseudo-inverse when singular). */
  r2invT: Matrix;
  /** Rotary geometry. */
  spec: RotarySpec;
  /** offset (s − d) → V̂ᵀ (rows = right singular vectors in head coordinates). */
  cache: Map<number, Matrix>;
}

/** Prepares the per-offset state of one head. */
export function perOffsetHead(weights: QkWeights, spec: RotarySpec): PerOffsetHead {
  const h = weights.wK.cols;
  const wkAug: Matrix = {
    rows: weights.wK.rows + 1,
    cols: h,
    data: Float64Array.from([...weights.wK.data, ...weights.bK]),
  };
  const r1 = qr(weights.wQ).r;
  const r2 = qr(wkAug).r;
  return { r1, r2, r2invT: transpose(pinv(r2)), spec, cache: new Map() };
}

function vhatT(head: PerOffsetHead, offset: number): Matrix {
  let v = head.cache.get(offset);
  if (!v) {
    const core = matmul(matmul(head.r1, rotaryMatrix(offset, head.spec)), transpose(head.r2));
    v = svd(core).vt;
    head.cache.set(offset, v);
  }
  return v;
}

/** One firing's per-offset contributions (SVD basis and rotated basis) and its l̃. */
export interface PerOffsetFiring {
  /** cₖ in the Ω_{s−d} basis. */
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
  const vt = vhatT(head, s - d);
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
