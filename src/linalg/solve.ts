/**
 * Linear solves with a square matrix (LU with partial pivoting).
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
import { referenceSolve } from "./reference.ts";
import { lapackSolve } from "./lapack.ts";
import { type Backend, defaultBackend } from "./backend.ts";

/** Options of {@linkcode solve}. */
export interface SolveOptions {
  /** `"lapack"` (dgetrf + dgetrs) or `"reference"` (pure-TS LU). */
  backend?: Backend;
}

/**
 * Solves `a · x = b` for square `a` (n×n). `b` is an n×p matrix (returns n×p) or a length-n
 * vector (returns a vector). Throws RangeError on shape mismatch and `NumericalError` on NaN/Inf
 * in `a` or `b`, when `a` is exactly singular, and when the solution overflows float64 (`a`
 * nearly singular or badly scaled against `b`).
 *
 * @example
 * ```ts
 * import { matrix, solve } from "./mod.ts";
 * const x = solve(matrix(2, 2, [2, 0, 0, 4]), new Float64Array([2, 2]));
 * if (x[0] !== 1 || x[1] !== 0.5) throw new Error();
 * ```
 */
export function solve(a: Matrix, b: Matrix, options?: SolveOptions): Matrix;
/** Vector right-hand side: returns x with `a · x = b`. */
export function solve(a: Matrix, b: Float64Array, options?: SolveOptions): Float64Array;
export function solve(
  a: Matrix,
  b: Matrix | Float64Array,
  options: SolveOptions = {},
): Matrix | Float64Array {
  assertMatrix(a, "solve");
  assertSquare(a, "solve");
  const rhs: Matrix = b instanceof Float64Array ? { rows: b.length, cols: 1, data: b } : b;
  assertMatrix(rhs, "solve", "b");
  if (rhs.rows !== a.rows) {
    throw new RangeError(
      `solve: b has ${rhs.rows} rows but a is ${a.rows}×${a.cols}; they must match`,
    );
  }
  assertFinite(a, "solve", "matrix a");
  assertFinite(rhs, "solve", "right-hand side b");
  const backend = options.backend ?? defaultBackend();
  const x = backend === "reference" || a.rows === 0 || rhs.cols === 0
    ? referenceSolve(a, rhs)
    : lapackSolve(a, rhs);
  assertFiniteResult(
    "solve",
    { x: x.data },
    () =>
      `the solution overflowed float64 (max |a| = ${maxAbs(a.data)}, max |b| = ` +
      `${maxAbs(rhs.data)}): a is nearly singular or badly scaled; check its conditioning ` +
      `(svd(a).s), rescale a and b, or use pinv(a) for a least-squares solution`,
  );
  return b instanceof Float64Array ? x.data : x;
}
