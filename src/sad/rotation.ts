/**
 * The random-rotation control's orthogonal matrices (method.md §3.6): one Haar-random K×K Q per
 * head, drawn from one seeded generator in (layer, head) order over ALL heads of the model, so a
 * head's Q does not depend on which heads are analysed (nor on the checkpoint).
 * @module
 */
import { haarOrthogonal, type Matrix, Rng } from "../linalg/mod.ts";

/** Returns `(layer, head) → Q` for a model with `nHeads` heads per layer and K = `k`. */
export function headRotations(
  nLayers: number,
  nHeads: number,
  k: number,
  seed: number,
): (layer: number, head: number) => Matrix {
  const rng = new Rng(seed);
  const all: Matrix[] = [];
  for (let i = 0; i < nLayers * nHeads; i++) all.push(haarOrthogonal(k, rng));
  return (layer, head) => {
    const q = all[layer * nHeads + head];
    if (!q) throw new RangeError(`no rotation for head ${layer}.${head}`);
    return q;
  };
}
