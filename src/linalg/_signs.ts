/**
 * Deterministic signs for column factors (eigenvectors, left singular vectors).
 * @module
 */
import type { Matrix } from "./matrix.ts";

/**
 * Makes the largest-|entry| of every column positive (the first such entry on exact ties;
 * deterministic eigenvector signs). `onFlip(j)` is called for each column j it negates, so a
 * caller can flip a paired factor with it.
 */
export function canonicalizeColumns(v: Matrix, onFlip?: (j: number) => void): void {
  const m = v.rows, k = v.cols;
  for (let j = 0; j < k; j++) {
    let best = 0, bestAbs = -1;
    for (let i = 0; i < m; i++) {
      const x = Math.abs(v.data[i * k + j]!);
      if (x > bestAbs) {
        bestAbs = x;
        best = i;
      }
    }
    if (v.data[best * k + j]! < 0) {
      for (let i = 0; i < m; i++) v.data[i * k + j] = -v.data[i * k + j]!;
      onFlip?.(j);
    }
  }
}
