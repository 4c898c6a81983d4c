/**
 * The two SAD statistics (method.md §3.4, §3.5) on one contribution vector. Kept private to the
 * toy layer: the toy needs only these two formulas.
 * @module
 */

/**
 * N_recon (ACC relative variant): sort c descending by signed value, the smallest n whose
 * cumulative sum reaches the total (ratio rounded to 5 decimals ≥ 1). NaN when total ≤ 0.
 */
export function nRecon(c: ArrayLike<number>): number {
  let total = 0;
  for (let k = 0; k < c.length; k++) total += c[k]!;
  if (!(total > 0)) return NaN;
  const sorted = Array.from(c).sort((a, b) => b - a);
  let acc = 0;
  for (let n = 0; n < sorted.length; n++) {
    acc += sorted[n]!;
    if (Math.round((acc / total) * 1e5) / 1e5 >= 1) return n + 1;
  }
  return sorted.length;
}

/** Rolls–Tovee sparseness (Σ|c|)² / (K Σc²) ∈ [1/K, 1]; lower = sparser. NaN for c = 0. */
export function sparseness(c: ArrayLike<number>): number {
  let s1 = 0, s2 = 0;
  for (let k = 0; k < c.length; k++) {
    s1 += Math.abs(c[k]!);
    s2 += c[k]! ** 2;
  }
  return s2 > 0 ? (s1 * s1) / (c.length * s2) : NaN;
}
