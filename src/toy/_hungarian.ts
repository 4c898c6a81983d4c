/**
 * Maximum-weight assignment of rows to distinct columns (Hungarian algorithm, O(r²c)).
 * @module
 */

/**
 * For an r×c score matrix (r ≤ c, row-major) returns, for every row, the column assigned to it
 * so that the total score is maximal and no column is used twice.
 */
export function maxAssignment(score: ArrayLike<number>, rows: number, cols: number): number[] {
  if (rows > cols) throw new RangeError(`maxAssignment: needs rows ≤ cols, got ${rows}×${cols}`);
  // Shortest augmenting path formulation on costs = −score (1-based potentials, e-maxx style).
  const INF = Number.POSITIVE_INFINITY;
  const u = new Float64Array(rows + 1), v = new Float64Array(cols + 1);
  const p = new Int32Array(cols + 1), way = new Int32Array(cols + 1);
  const cost = (i: number, j: number) => -score[(i - 1) * cols + (j - 1)]!;
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(cols + 1).fill(INF);
    const used = new Uint8Array(cols + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = INF, j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = cost(i0, j) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= cols; j++) if (p[j]! > 0) out[p[j]! - 1] = j - 1;
  return out;
}
