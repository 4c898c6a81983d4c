/**
 * Tensor comparison for forward-pass tests: masked entries must be -Infinity in both, every other
 * entry within `atol + rtol·|expected|`.
 * @module
 */
import { AssertionError } from "node:assert/strict";

/** The largest |a − e| / (atol + rtol·|e|) over finite entries (≤ 1 passes), and where. */
export function closeness(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
): { ratio: number; maxAbs: number; index: number } {
  if (actual.length !== expected.length) {
    throw new AssertionError({ message: `length ${actual.length} != ${expected.length}` });
  }
  let ratio = 0, maxAbs = 0, index = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (e === -Infinity || a === -Infinity) {
      if (a !== e) return { ratio: Infinity, maxAbs: Infinity, index: i };
      continue;
    }
    const d = Math.abs(a - e);
    const r = d / (atol + rtol * Math.abs(e));
    if (!(r <= ratio)) {
      ratio = r;
      index = i;
    }
    if (d > maxAbs) maxAbs = d;
  }
  return { ratio, maxAbs, index };
}

/** Asserts {@linkcode closeness} ≤ 1, naming the worst entry. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  label: string,
): number {
  const c = closeness(actual, expected, atol, rtol);
  if (!(c.ratio <= 1)) {
    throw new AssertionError({
      message: `${label}: entry ${c.index} is ${actual[c.index]} vs ${expected[c.index]} ` +
        `(max |Δ| ${c.maxAbs}, tolerance ${atol} + ${rtol}·|expected|)`,
    });
  }
  return c.maxAbs;
}

/** `[B, X, Y, D]` → `[B, Y, X, D]` (e.g. minGPT's `[B, H, T, D]` to TL's `[B, T, H, D]`). */
export function swap12(data: Float32Array, shape: readonly number[]): Float32Array {
  const [B, X, Y, D] = shape as [number, number, number, number];
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++) {
    for (let x = 0; x < X; x++) {
      for (let y = 0; y < Y; y++) {
        for (let d = 0; d < D; d++) {
          out[((b * Y + y) * X + x) * D + d] = data[((b * X + x) * Y + y) * D + d]!;
        }
      }
    }
  }
  return out;
}
