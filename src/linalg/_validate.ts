/**
 * Shared argument and result checks for the linalg routines (private).
 * @module
 */
import { NumericalError } from "../errors.ts";
import type { Matrix } from "./matrix.ts";

/**
 * Throws NumericalError naming the first NaN/±Inf entry of `a` (row, column); `name` says which
 * argument it is ("input", "factor b", "right-hand side b", …).
 */
export function assertFinite(a: Matrix, op: string, name = "input"): void {
  const i = firstNonFinite(a.data);
  if (i < 0) return;
  const x = a.data[i]!;
  const r = Math.floor(i / a.cols), c = i % a.cols;
  throw new NumericalError(
    `${op}: ${name} (${a.rows}×${a.cols} matrix) has a non-finite entry ${x} at (${r}, ${c}); ` +
      `remove NaN/Inf values (check the weights or activations that produced it) before calling ${op}`,
  );
}

/**
 * Index of the first NaN/±Inf element of `d`, or -1 when every element is finite. The scan is
 * branch-free (x·0 is NaN exactly for non-finite x) over four independent sums, about 0.5 ns
 * per element here, so checking a result costs one fast pass.
 */
export function firstNonFinite(d: Float64Array): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, i = 0;
  const n = d.length, n4 = n - (n % 4);
  for (; i < n4; i += 4) {
    a0 += d[i]! * 0;
    a1 += d[i + 1]! * 0;
    a2 += d[i + 2]! * 0;
    a3 += d[i + 3]! * 0;
  }
  for (; i < n; i++) a0 += d[i]! * 0;
  if (a0 + a1 + a2 + a3 === 0) return -1;
  for (i = 0; i < n; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1; // unreachable: the sum is NaN only if some element is non-finite
}

/** Σx² of `d` in one branch-free pass over four sums (NaN when some entry is non-finite). */
function sumOfSquares(d: Float64Array): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, i = 0;
  const n = d.length, n4 = n - (n % 4);
  for (; i < n4; i += 4) {
    a0 += d[i]! * d[i]!;
    a1 += d[i + 1]! * d[i + 1]!;
    a2 += d[i + 2]! * d[i + 2]!;
    a3 += d[i + 3]! * d[i + 3]!;
  }
  for (; i < n; i++) a0 += d[i]! * d[i]!;
  return a0 + a1 + a2 + a3;
}

/**
 * Whether finite `d` has an entry with |x| ≥ 2^512 (≈ 1.3e154), whose square overflows; also
 * true when Σx² overflows without one (then too the data is near the top of the range). One
 * branch-free pass like {@linkcode firstNonFinite}.
 */
export function hasHugeEntry(d: Float64Array): boolean {
  return !(sumOfSquares(d) < Infinity);
}

/**
 * Whether `d` is so large or so small in scale that the product of two such factors leaves the
 * normal float64 range: {@linkcode hasHugeEntry}, or ‖d‖ < 2^-450 with a nonzero entry (Σx²
 * < 2^-900; a product of two such is subnormal, losing digits). Also true for NaN/Inf.
 */
export function hasExtremeScale(d: Float64Array): boolean {
  const s = sumOfSquares(d);
  if (!(s < Infinity)) return true;
  return s < 2 ** -900 && maxAbs(d) > 0;
}

/**
 * Throws NumericalError when some output array holds a NaN/±Inf although the inputs were finite
 * (the computation overflowed float64, or 0·∞ / ∞ − ∞ arose from an overflow). The message
 * names the first bad element and adds `cause()`, which should give the input scale and the fix;
 * it is evaluated only on failure.
 */
export function assertFiniteResult(
  op: string,
  outputs: Record<string, Float64Array>,
  cause: () => string,
): void {
  for (const [name, data] of Object.entries(outputs)) {
    const i = firstNonFinite(data);
    if (i >= 0) {
      throw new NumericalError(
        `${op}: the result is not finite (${name}[${i}] = ${data[i]}) although the input is ` +
          `finite: ${cause()}`,
      );
    }
  }
}

/** Why a factored SVD of finite factors a (m×r), b (r×n) came out non-finite, and the fix. */
export function factoredOverflowCause(a: Matrix, b: Matrix): string {
  return `the product a·b overflowed float64 (max |a| = ${maxAbs(a.data)}, max |b| = ` +
    `${maxAbs(b.data)}); rescale the factors: (a / c₁)·(b / c₂) has the same u and vt and ` +
    `singular values s / (c₁·c₂)`;
}

/** Largest |x| over `d` (0 for an empty array). */
export function maxAbs(d: Float64Array): number {
  let m = 0;
  for (let i = 0; i < d.length; i++) {
    const x = Math.abs(d[i]!);
    if (x > m) m = x;
  }
  return m;
}

/**
 * The power of two 2^⌊log₂ max |d|⌋ (1 for a zero or non-finite array), for exact rescaling:
 * dividing by it moves the largest entry into [1, 2) without rounding (only entries more than
 * 2^1022 times smaller than the largest can underflow, far below rounding level).
 */
export function powerOfTwoScale(d: Float64Array): number {
  const m = maxAbs(d);
  if (!(m > 0) || !Number.isFinite(m)) return 1;
  let e = Math.floor(Math.log2(m));
  // log2 may round across an integer near a power of two: nudge so 2^e ≤ m < 2^(e+1).
  if (2 ** e > m) e--;
  else if (2 ** (e + 1) <= m) e++;
  return 2 ** e;
}

/** Throws RangeError unless `a` is a structurally valid matrix. */
export function assertMatrix(a: Matrix, op: string, name = "a"): void {
  if (
    !Number.isInteger(a.rows) || !Number.isInteger(a.cols) || a.rows < 0 || a.cols < 0 ||
    !(a.data instanceof Float64Array) || a.data.length !== a.rows * a.cols
  ) {
    throw new RangeError(
      `${op}: ${name} must be a Matrix with a Float64Array of rows·cols elements, got ` +
        `${a.rows}×${a.cols} with ${a.data?.length} elements`,
    );
  }
}

/** Throws RangeError unless `a` is square. */
export function assertSquare(a: Matrix, op: string): void {
  if (a.rows !== a.cols) {
    throw new RangeError(`${op}: needs a square matrix, got ${a.rows}×${a.cols}`);
  }
}
