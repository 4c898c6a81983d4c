/**
 * The pure-TypeScript reference backend: one-sided Jacobi SVD, Householder QR, cyclic Jacobi
 * symmetric eigensolver and LU with partial pivoting, all in float64. Slow (O(n³) per sweep in
 * plain JS) but simple and independent of LAPACK, so tests use it as the oracle for the WASM
 * backend. Inputs are assumed validated (finite, well-shaped) by the public wrappers.
 * @module
 */
import { NumericalError } from "../errors.ts";
import type { Matrix } from "./matrix.ts";
import { powerOfTwoScale } from "./_validate.ts";

const EPS = 2.220446049250313e-16;

/** A raw thin SVD: u m×k, s (descending, ≥ 0), vt k×n with k = min(m, n). */
export interface RawSvd {
  /** Left singular vectors (columns), m×k. */
  u: Matrix;
  /** Singular values, descending. */
  s: Float64Array;
  /** Right singular vectors (rows), k×n. */
  vt: Matrix;
}

/**
 * Thin SVD by one-sided (Hestenes) Jacobi: rotates column pairs of A until all are mutually
 * orthogonal; then σ_j = ‖a_j‖, u_j = a_j/σ_j and V is the product of the rotations. Works on
 * A / 2^p with 2^p ≈ max |a| (exact), so the sums of squares neither overflow nor underflow; s
 * is scaled back (and is ±Inf only if a true singular value exceeds the float64 range).
 */
export function referenceSvd(a: Matrix): RawSvd {
  const c = powerOfTwoScale(a.data);
  const raw = jacobiSvd(c === 1 ? a : scaledBy(a, c));
  if (c !== 1) { for (let i = 0; i < raw.s.length; i++) raw.s[i] = raw.s[i]! * c; }
  return raw;
}

function jacobiSvd(a: Matrix): RawSvd {
  const m = a.rows, n = a.cols;
  if (m < n) {
    // A = (Aᵀ)ᵀ = (U' S V'ᵀ)ᵀ = V' S U'ᵀ.
    const t = jacobiSvd(transposed(a));
    return { u: transposed(t.vt), s: t.s, vt: transposed(t.u) };
  }
  // Column-major working copies: column j of A is g[j*m .. j*m+m).
  const g = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) g[j * m + i] = a.data[i * n + j]!;
  const v = new Float64Array(n * n);
  for (let j = 0; j < n; j++) v[j * n + j] = 1;
  const tol = EPS * Math.max(m, 1);
  let converged = n < 2;
  for (let sweep = 0; sweep < 80 && !converged; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        const op = p * m, oq = q * m;
        for (let i = 0; i < m; i++) {
          const x = g[op + i]!, y = g[oq + i]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || !(Math.abs(gamma) > tol * Math.sqrt(alpha * beta))) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let i = 0; i < m; i++) {
          const x = g[op + i]!, y = g[oq + i]!;
          g[op + i] = c * x - s * y;
          g[oq + i] = s * x + c * y;
        }
        const vp = p * n, vq = q * n;
        for (let i = 0; i < n; i++) {
          const x = v[vp + i]!, y = v[vq + i]!;
          v[vp + i] = c * x - s * y;
          v[vq + i] = s * x + c * y;
        }
      }
    }
    converged = !rotated;
  }
  if (!converged) {
    throw new NumericalError(
      `reference SVD (one-sided Jacobi) did not converge in 80 sweeps on a ${m}×${n} matrix; ` +
        `use the LAPACK backend or rescale the input`,
    );
  }
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < m; i++) ss += g[j * m + i]! ** 2;
    norms[j] = Math.sqrt(ss);
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => norms[y]! - norms[x]!);
  const u = new Float64Array(m * n); // row-major m×n
  const s = new Float64Array(n);
  const vt = new Float64Array(n * n);
  const smax = n > 0 ? norms[order[0]!]! : 0;
  const ok: boolean[] = [];
  for (let k = 0; k < n; k++) {
    const j = order[k]!;
    const sj = norms[j]!;
    s[k] = sj;
    for (let i = 0; i < n; i++) vt[k * n + i] = v[j * n + i]!;
    // Columns that are exactly zero, or pure rounding noise, get a completed basis vector below.
    const usable = sj > 0 && sj > smax * EPS * 1e-3;
    ok.push(usable);
    if (usable) { for (let i = 0; i < m; i++) u[i * n + k] = g[j * m + i]! / sj; }
  }
  orthonormalizeColumns(u, m, n, ok);
  return { u: { rows: m, cols: n, data: u }, s, vt: { rows: n, cols: n, data: vt } };
}

/**
 * Makes the columns of row-major `q` (m×k) orthonormal: columns flagged `ok` are kept (they are
 * orthonormal already); each other column is re-orthogonalised against the kept ones, or, if
 * little of it survives, replaced by the unit basis vector e_i with the largest orthogonal part.
 */
export function orthonormalizeColumns(q: Float64Array, m: number, k: number, ok: boolean[]): void {
  const residual = (col: Float64Array): number => {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < k; p++) {
        if (!ok[p]) continue;
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[i * k + p]! * col[i]!;
        for (let i = 0; i < m; i++) col[i] = col[i]! - dot * q[i * k + p]!;
      }
    }
    let nn = 0;
    for (let i = 0; i < m; i++) nn += col[i]! * col[i]!;
    return Math.sqrt(nn);
  };
  const col = new Float64Array(m);
  for (let j = 0; j < k; j++) {
    if (ok[j]) continue;
    for (let i = 0; i < m; i++) col[i] = q[i * k + j]!;
    let norm = residual(col);
    if (!(norm > 0.5)) {
      // Σ_i ‖residual(e_i)‖² = m − #kept ≥ 1, so the best basis vector always survives.
      let best = 0, bestNorm = -1;
      for (let cand = 0; cand < m && bestNorm <= 0.5; cand++) {
        col.fill(0);
        col[cand] = 1;
        const nn = residual(col);
        if (nn > bestNorm) {
          best = cand;
          bestNorm = nn;
        }
      }
      col.fill(0);
      col[best] = 1;
      norm = residual(col);
    }
    for (let i = 0; i < m; i++) q[i * k + j] = col[i]! / norm;
    ok[j] = true;
  }
}

/**
 * Thin Householder QR: a (m×n) = q (m×k) · r (k×n), k = min(m, n), with diag(r) ≥ 0. Works on
 * A / 2^p with 2^p ≈ max |a| (exact), so column norms neither overflow nor underflow; r is
 * scaled back.
 */
export function referenceQr(a: Matrix): { q: Matrix; r: Matrix } {
  const m = a.rows, n = a.cols, k = Math.min(m, n);
  const scale = powerOfTwoScale(a.data);
  const w = Float64Array.from(a.data); // row-major working copy
  if (scale !== 1) { for (let i = 0; i < w.length; i++) w[i] = w[i]! / scale; }
  const vs: Float64Array[] = [];
  const betas: number[] = [];
  for (let j = 0; j < k; j++) {
    const len = m - j;
    const v = new Float64Array(len);
    let norm = 0;
    for (let i = 0; i < len; i++) {
      v[i] = w[(j + i) * n + j]!;
      norm += v[i]! * v[i]!;
    }
    norm = Math.sqrt(norm);
    if (norm === 0) {
      vs.push(v.fill(0));
      betas.push(0);
      continue;
    }
    const alpha = v[0]! >= 0 ? -norm : norm;
    v[0] = v[0]! - alpha;
    let vnorm2 = 0;
    for (let i = 0; i < len; i++) vnorm2 += v[i]! * v[i]!;
    const beta = vnorm2 === 0 ? 0 : 2 / vnorm2;
    // Apply H = I − β v vᵀ to the trailing columns.
    for (let c = j; c < n; c++) {
      let dot = 0;
      for (let i = 0; i < len; i++) dot += v[i]! * w[(j + i) * n + c]!;
      dot *= beta;
      for (let i = 0; i < len; i++) w[(j + i) * n + c] = w[(j + i) * n + c]! - dot * v[i]!;
    }
    vs.push(v);
    betas.push(beta);
  }
  const r = new Float64Array(k * n);
  for (let i = 0; i < k; i++) for (let c = i; c < n; c++) r[i * n + c] = w[i * n + c]! * scale;
  // q = H_0 … H_{k−1} · I[:, :k], applied right to left.
  const q = new Float64Array(m * k);
  for (let i = 0; i < k; i++) q[i * k + i] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j]!, beta = betas[j]!;
    if (beta === 0) continue;
    const len = m - j;
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let i = 0; i < len; i++) dot += v[i]! * q[(j + i) * k + c]!;
      dot *= beta;
      for (let i = 0; i < len; i++) q[(j + i) * k + c] = q[(j + i) * k + c]! - dot * v[i]!;
    }
  }
  fixQrSigns(q, r, m, k, n);
  return { q: { rows: m, cols: k, data: q }, r: { rows: k, cols: n, data: r } };
}

/** Flips column j of q and row j of r wherever r[j, j] < 0, so diag(r) ≥ 0. */
export function fixQrSigns(
  q: Float64Array,
  r: Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  for (let j = 0; j < k; j++) {
    if (!(r[j * n + j]! < 0)) continue;
    for (let c = j; c < n; c++) r[j * n + c] = -r[j * n + c]!; // below the diagonal stays +0
    for (let i = 0; i < m; i++) q[i * k + j] = -q[i * k + j]!;
  }
}

/**
 * Symmetric eigendecomposition by cyclic Jacobi rotations: values ascending, vectors as the
 * columns of an n×n matrix. Only the symmetric part (A + Aᵀ)/2 is used. Works on A / 2^p with
 * 2^p ≈ max |a| (exact), so the convergence test's sums of squares cannot overflow (which
 * ended the sweeps early on entries above ~1e154); the values are scaled back.
 */
export function referenceEigh(a: Matrix): { values: Float64Array; vectors: Matrix } {
  const n = a.rows;
  const scale = powerOfTwoScale(a.data);
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      w[i * n + j] = 0.5 * (a.data[i * n + j]! / scale + a.data[j * n + i]! / scale);
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let converged = n < 2;
  for (let sweep = 0; sweep < 80 && !converged; sweep++) {
    let off = 0, total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = w[i * n + j]! ** 2;
        total += x;
        if (i !== j) off += x;
      }
    }
    if (off <= (EPS * EPS) * total || off === 0) {
      converged = true;
      break;
    }
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = w[p * n + q]!;
        if (apq === 0) continue;
        const app = w[p * n + p]!, aqq = w[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        // W ← Jᵀ W J with J the rotation in the (p, q) plane.
        for (let k = 0; k < n; k++) {
          const wkp = w[k * n + p]!, wkq = w[k * n + q]!;
          w[k * n + p] = c * wkp - s * wkq;
          w[k * n + q] = s * wkp + c * wkq;
        }
        for (let k = 0; k < n; k++) {
          const wpk = w[p * n + k]!, wqk = w[q * n + k]!;
          w[p * n + k] = c * wpk - s * wqk;
          w[q * n + k] = s * wpk + c * wqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!, vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  if (!converged) {
    throw new NumericalError(
      `reference eigh (Jacobi) did not converge in 80 sweeps on a ${n}×${n} matrix; ` +
        `use the LAPACK backend`,
    );
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) =>
    w[x * n + x]! - w[y * n + y]!
  );
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = w[src * n + src]! * scale;
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors: { rows: n, cols: n, data: vectors } };
}

/**
 * Solves a·x = b (a: n×n, b: n×p) by LU with partial pivoting; throws NumericalError on an
 * exactly singular pivot.
 */
export function referenceSolve(a: Matrix, b: Matrix): Matrix {
  const n = a.rows, p = b.cols;
  const lu = Float64Array.from(a.data);
  const x = Float64Array.from(b.data);
  for (let c = 0; c < n; c++) {
    let piv = c, best = Math.abs(lu[c * n + c]!);
    for (let i = c + 1; i < n; i++) {
      const val = Math.abs(lu[i * n + c]!);
      if (val > best) {
        best = val;
        piv = i;
      }
    }
    if (best === 0) {
      throw new NumericalError(
        `solve: the ${n}×${n} matrix is singular (zero pivot in column ${c}); ` +
          `use pinv for a least-squares solution`,
      );
    }
    if (piv !== c) {
      for (let k = 0; k < n; k++) swap(lu, c * n + k, piv * n + k);
      for (let k = 0; k < p; k++) swap(x, c * p + k, piv * p + k);
    }
    const d = lu[c * n + c]!;
    for (let i = c + 1; i < n; i++) {
      const f = lu[i * n + c]! / d;
      if (f === 0) continue;
      lu[i * n + c] = f;
      for (let k = c + 1; k < n; k++) lu[i * n + k] = lu[i * n + k]! - f * lu[c * n + k]!;
      for (let k = 0; k < p; k++) x[i * p + k] = x[i * p + k]! - f * x[c * p + k]!;
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    const d = lu[i * n + i]!;
    for (let k = 0; k < p; k++) {
      let sum = x[i * p + k]!;
      for (let j = i + 1; j < n; j++) sum -= lu[i * n + j]! * x[j * p + k]!;
      x[i * p + k] = sum / d;
    }
  }
  return { rows: n, cols: p, data: x };
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/** a / c elementwise (c a power of two: exact). */
export function scaledBy(a: Matrix, c: number): Matrix {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i]! / c;
  return { rows: a.rows, cols: a.cols, data: out };
}

function transposed(a: Matrix): Matrix {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = a.data[i * a.cols + j]!;
  }
  return { rows: a.cols, cols: a.rows, data: out };
}
