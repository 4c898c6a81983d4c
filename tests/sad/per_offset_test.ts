import { assertAllClose, assertAlmostEquals } from "../_assert.ts";
import { type Matrix, matrix, pinv, Rng, svd, transpose } from "../../src/linalg/mod.ts";
import { rotaryMatrix, type RotarySpec } from "../../src/circuits/mod.ts";
import { headRotations } from "../../src/sad/mod.ts";
import { perOffsetContributions, perOffsetHead } from "../../src/sad/per_offset.ts";

const D = 9, H = 4;
const spec: RotarySpec = { dHead: H, rotaryDim: 2, base: 10000 };

function mm(a: Matrix, b: Matrix): Matrix {
  const out = matrix(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k]! * b.data[k * b.cols + j]!;
      out.data[i * b.cols + j] = s;
    }
  }
  return out;
}
const vec = (v: Float64Array) => matrix(v.length, 1, v);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

Deno.test("per-offset rotary SAD equals the dense ACC formula with one SVD per offset", () => {
  const rng = new Rng(8);
  const wQ = matrix(D, H, rng.normals(D * H)), wK = matrix(D, H, rng.normals(D * H));
  const bQ = Float64Array.from(rng.normals(H)), bK = Float64Array.from(rng.normals(H));
  const wKaug = matrix(D + 1, H, Float64Array.from([...wK.data, ...bK]));
  const cd = mm(transpose(pinv(wQ)), vec(bQ)).data; // W_Qᵀ c_d = b_Q
  const d = 5;
  const xs = Array.from({ length: d + 1 }, () => Float64Array.from(rng.normals(D)));
  const xd = Float64Array.from(xs[d]!, (v, i) => v + cd[i]!);
  const lift = (x: Float64Array) => Float64Array.from([...x, 1]);
  // Ω_Δ = W_Q M_Δ W̃_Kᵀ, M_Δ = R_dᵀR_s = R_{s−d}
  const omega = (offset: number) => mm(mm(wQ, rotaryMatrix(offset, spec)), transpose(wKaug));
  const head = perOffsetHead({ wQ, bQ, wK, bK }, spec);
  const q = Float64Array.from(
    { length: H },
    (_, j) => dot(xs[d]!, wQ.data.filter((_, i) => i % H === j)) + bQ[j]!,
  );
  const keys = xs.map((x) =>
    Float64Array.from(
      { length: H },
      (_, j) => dot(x, wK.data.filter((_, i) => i % H === j)) + bK[j]!,
    )
  );
  const rot = headRotations(1, 1, H, 4)(0, 0);
  for (let s = 1; s <= d; s++) {
    const dense = svd(omega(s - d), { backend: "reference" });
    const oracle = new Float64Array(H);
    let lTilde = 0;
    for (let t = 0; t <= d; t++) {
      const w = t === s ? 1 : -1 / d;
      const od = mm(matrix(1, D, xd), omega(t - d)).data; // x̃_dᵀ Ω_{t−d}
      lTilde += w * dot(od, lift(xs[t]!));
      for (let k = 0; k < H; k++) {
        const v = dense.vt.data.subarray(k * (D + 1), (k + 1) * (D + 1));
        oracle[k] = oracle[k]! + w * dot(od, v) * dot(v, lift(xs[t]!));
      }
    }
    const got = perOffsetContributions(head, d, s, q, keys, rot, "test");
    assertAlmostEquals(got.lTilde, lTilde, 1e-9 * Math.max(1, Math.abs(lTilde)));
    assertAllClose(got.c, oracle, 1e-9 * Math.max(1, ...oracle.map(Math.abs)), `key ${s}`);
    assertAlmostEquals(
      got.rotated.reduce((a, b) => a + b, 0),
      lTilde,
      1e-9 * Math.max(1, Math.abs(lTilde)),
    );
  }
});
