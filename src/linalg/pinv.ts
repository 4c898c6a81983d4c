/**
 * Moore–Penrose pseudo-inverse through the SVD.
 * @module
 */
import type { Matrix } from "./matrix.ts";
import { EPS, svd, type SvdOptions } from "./svd.ts";
import { assertFiniteResult } from "./_validate.ts";

/**
 * The pseudo-inverse `a⁺` (n×m) of an m×n matrix: `V diag(1/s) Uᵀ` over the singular values
 * above `rtol · s_max` (default rtol = max(m, n) · eps); the others are treated as zero. Throws
 * `NumericalError` on NaN/Inf input and when a kept singular value is too small to invert in
 * float64 (raise `rtol` or rescale the input).
 *
 * @example
 * ```ts
 * import { matrix, pinv } from "./mod.ts";
 * const p = pinv(matrix(2, 1, [3, 4]));
 * if (Math.abs(p.data[0]! - 3 / 25) > 1e-15) throw new Error();
 * ```
 */
export function pinv(a: Matrix, rtol?: number, options: Omit<SvdOptions, "nullRtol"> = {}): Matrix {
  const m = a.rows, n = a.cols;
  const { u, s, vt } = svd(a, { ...options, nullRtol: rtol ?? Math.max(m, n) * EPS });
  const k = s.length;
  const cutoff = (rtol ?? Math.max(m, n) * EPS) * (k > 0 ? s[0]! : 0);
  const out = new Float64Array(n * m);
  for (let p = 0; p < k; p++) {
    const sp = s[p]!;
    if (!(sp > cutoff)) continue;
    const inv = 1 / sp;
    for (let i = 0; i < n; i++) {
      const vip = vt.data[p * n + i]! * inv;
      if (vip === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = out[i * m + j]! + vip * u.data[j * k + p]!;
    }
  }
  assertFiniteResult("pinv", { "a⁺": out }, () => {
    let smallest = 0;
    for (let p = 0; p < k; p++) if (s[p]! > cutoff) smallest = s[p]!;
    return `the smallest kept singular value ${smallest} (cutoff ${cutoff}) has no finite ` +
      `inverse in float64; raise rtol to at least ${smallest / (k > 0 ? s[0]! : 1)} or rescale a ` +
      `(pinv(a / c) = c · pinv(a))`;
  });
  return { rows: n, cols: m, data: out };
}
