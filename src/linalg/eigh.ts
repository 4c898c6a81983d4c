/**
 * Eigendecomposition of a real symmetric matrix.
 * @module
 */
import type { Matrix } from "./matrix.ts";
import {
  assertFinite,
  assertFiniteResult,
  assertMatrix,
  assertSquare,
  maxAbs,
} from "./_validate.ts";
import { referenceEigh } from "./reference.ts";
import { lapackEigh } from "./lapack.ts";
import { type Backend, defaultBackend } from "./backend.ts";
import { canonicalizeColumns } from "./_signs.ts";

/** Options of {@linkcode eigh}. */
export interface EighOptions {
  /** `"lapack"` (dsyevd) or `"reference"` (pure-TS cyclic Jacobi). */
  backend?: Backend;
}

/** Eigenvalues (ascending) and orthonormal eigenvectors (the columns of `vectors`). */
export interface EighResult {
  /** Eigenvalues in ascending order. */
  values: Float64Array;
  /** n×n; column j is the unit eigenvector of `values[j]`, largest-|entry| positive. */
  vectors: Matrix;
}

/**
 * Symmetric eigendecomposition `a = V diag(values) Vᵀ`. `a` must be symmetric to within
 * √eps of its largest entry (else RangeError: symmetrise with (A + Aᵀ)/2 first). Throws
 * `NumericalError` on NaN/Inf input, on a convergence failure, and when a finite input gives a
 * non-finite result (an eigenvalue beyond the float64 range, ~1.8e308: rescale the input).
 *
 * @example
 * ```ts
 * import { eigh, matrix } from "./mod.ts";
 * const { values } = eigh(matrix(2, 2, [2, 1, 1, 2]));
 * if (Math.abs(values[0]! - 1) > 1e-12 || Math.abs(values[1]! - 3) > 1e-12) throw new Error();
 * ```
 */
export function eigh(a: Matrix, options: EighOptions = {}): EighResult {
  assertMatrix(a, "eigh");
  assertSquare(a, "eigh");
  assertFinite(a, "eigh");
  assertSymmetric(a);
  const backend = options.backend ?? defaultBackend();
  const result = backend === "reference" || a.rows === 0 ? referenceEigh(a) : lapackEigh(a);
  assertFiniteResult(
    "eigh",
    { values: result.values, vectors: result.vectors.data },
    () =>
      `the computation overflowed float64 (max |a| = ${maxAbs(a.data)}); rescale the input: ` +
      `eigh(a / c) has the same vectors and values / c`,
  );
  canonicalizeColumns(result.vectors);
  return result;
}

function assertSymmetric(a: Matrix): void {
  const n = a.rows;
  let scale = 0, worst = 0, wi = 0, wj = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a.data[i]!));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = Math.abs(a.data[i * n + j]! - a.data[j * n + i]!);
      if (d > worst) {
        worst = d;
        wi = i;
        wj = j;
      }
    }
  }
  if (worst > 1.4901161193847656e-8 * scale) {
    throw new RangeError(
      `eigh: matrix is not symmetric: |a[${wi},${wj}] − a[${wj},${wi}]| = ${worst} ` +
        `(max |a| = ${scale}); pass the symmetric part (A + Aᵀ)/2`,
    );
  }
}
