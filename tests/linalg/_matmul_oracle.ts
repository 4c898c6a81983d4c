/**
 * Independent oracle for the GEMM tests: a naive triple loop in f64 over explicitly transposed
 * indexing, plus the elementwise bound |A|·|B| the rounding-error tolerance scales with.
 * @module
 */

/** Deterministic uniform values in [-1, 1) (mulberry32), seeded so failures reproduce. */
export function randomArray(length: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** op(A)·op(B) and |op(A)|·|op(B)| in f64, row-major m×n. */
export function naiveGemm(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): { c: Float64Array; abs: Float64Array } {
  const c = new Float64Array(m * n);
  const abs = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let p = 0; p < k; p++) {
        const x = transA ? a[p * m + i]! : a[i * k + p]!;
        const y = transB ? b[j * k + p]! : b[p * n + j]!;
        s += x * y;
        t += Math.abs(x * y);
      }
      c[i * n + j] = s;
      abs[i * n + j] = t;
    }
  }
  return { c, abs };
}

/**
 * Largest |got − want| / (k·eps·(|A||B|) + tiny) over all entries: ≤ 1 means every entry is within
 * the classical dot-product rounding bound k·eps·Σ|a_ip b_pj| (eps = unit roundoff × 2).
 */
export function boundRatio(
  got: ArrayLike<number>,
  want: Float64Array,
  abs: Float64Array,
  k: number,
  eps: number,
  extra = 0,
): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    const tol = Math.max(k, 1) * eps * (abs[i]! + extra) + Number.MIN_VALUE;
    worst = Math.max(worst, err / tol);
  }
  return worst;
}
