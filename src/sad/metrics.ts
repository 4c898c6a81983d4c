/**
 * The two sparsity measures of a contribution vector: N_recon by the ACC rule (method.md §3.4)
 * and Rolls–Tovee sparseness (§3.5).
 * @module
 */

/**
 * N_recon (ACC rule): with total l̃ = Σcₖ > 0, sort cₖ descending by SIGNED value and return the
 * smallest n whose cumulative ratio Σ_{first n} c / l̃, rounded to 5 decimals, is ≥ 1. Negative
 * contributions make the cumulative sum overshoot and fall back, so N_recon ≤ K.
 * Returns `undefined` when l̃ ≤ 0 (ACC drops such firings).
 *
 * @example
 * ```ts
 * import { nRecon } from "./metrics.ts";
 * // sorted 3, 1, −1: cumulative 3/3 = 1 → N_recon = 1
 * if (nRecon(Float64Array.from([1, 3, -1])) !== 1) throw new Error();
 * ```
 */
export function nRecon(c: ArrayLike<number>, total?: number): number | undefined {
  const sorted = Float64Array.from(c).sort().reverse();
  let lTilde = total;
  if (lTilde === undefined) {
    lTilde = 0;
    for (let i = 0; i < sorted.length; i++) lTilde += sorted[i]!;
  }
  if (!(lTilde > 0)) return undefined;
  let cum = 0;
  for (let n = 0; n < sorted.length; n++) {
    cum += sorted[n]!;
    if (Math.round((cum / lTilde) * 1e5) / 1e5 >= 1) return n + 1;
  }
  return sorted.length;
}

/**
 * Rolls–Tovee sparseness S(c) = (Σ|cₖ|)² / (K Σcₖ²) ∈ [1/K, 1]: 1 when all |cₖ| are equal,
 * 1/K for a single non-zero. LOWER = SPARSER. Scale invariant. `NaN` for an all-zero vector.
 *
 * @example
 * ```ts
 * import { sparseness } from "./metrics.ts";
 * if (sparseness([0, 0, 5, 0]) !== 0.25 || sparseness([2, -2]) !== 1) throw new Error();
 * ```
 */
export function sparseness(c: ArrayLike<number>): number {
  let l1 = 0, l2 = 0;
  for (let i = 0; i < c.length; i++) {
    l1 += Math.abs(c[i]!);
    l2 += c[i]! * c[i]!;
  }
  return l2 > 0 ? (l1 * l1) / (c.length * l2) : NaN;
}
