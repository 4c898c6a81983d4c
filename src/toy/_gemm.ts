/**
 * `C = op(A)·op(B)` for the toy model's float32 (training, via the SIMD kernel) and float64
 * (gradient checks) parameter types.
 * @module
 */
import { matmulF32 } from "../linalg/matmul_f32.ts";

/** The float array types the toy model is generic over. */
export type Floats = Float32Array | Float64Array;

/** A zero-filled array of the same float type as `like`. */
export function zerosLike<A extends Floats>(like: A, n: number): A {
  return (like instanceof Float32Array ? new Float32Array(n) : new Float64Array(n)) as A;
}

/** Row-major C (m×n) = op(A)·op(B), written into `out` (overwritten). */
export function gemm<A extends Floats>(
  a: A,
  b: A,
  m: number,
  k: number,
  n: number,
  out: A,
  transA = false,
  transB = false,
): A {
  if (a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array) {
    matmulF32(a, b, m, k, n, { transA, transB, out });
    return out;
  }
  out.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = transA ? a[p * m + i]! : a[i * k + p]!;
      if (aip === 0) continue;
      const ci = i * n;
      if (transB) { for (let j = 0; j < n; j++) out[ci + j]! += aip * b[j * k + p]!; }
      else {
        const bp = p * n;
        for (let j = 0; j < n; j++) out[ci + j]! += aip * b[bp + j]!;
      }
    }
  }
  return out;
}
