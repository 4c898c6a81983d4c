import { assertAllClose, assertAlmostEquals, assertOk } from "../_assert.ts";
import { type Matrix, matrix, pinv, Rng, svd, transpose } from "../../src/linalg/mod.ts";
import { rotaryMatrix, type RotarySpec } from "../../src/circuits/mod.ts";
import { headBasis, headRotations } from "../../src/sad/mod.ts";
import {
  PER_OFFSET_BIASES,
  perOffsetContributions,
  perOffsetHead,
  perOffsetSingularValues,
} from "../../src/sad/per_offset.ts";

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

// Dense oracle per form (method.md §4.3, §4.6): A, B and the residual-side vectors x′ built
// explicitly, Ω_Δ = A R_dᵀR_s Bᵀ formed and decomposed densely, the ACC per-offset formula
// applied with vₖ of Ω_{d−s}; l̃ independently from the rotated head-space q·k.
for (const bias of PER_OFFSET_BIASES) {
  Deno.test(`per-offset rotary SAD (${bias}) equals the dense ACC formula with one SVD per offset`, () => {
    const rng = new Rng(8);
    const wQ = matrix(D, H, rng.normals(D * H)), wK = matrix(D, H, rng.normals(D * H));
    const bQ = Float64Array.from(rng.normals(H)), bK = Float64Array.from(rng.normals(H));
    const aug = (w: Matrix, b: Float64Array) =>
      matrix(D + 1, H, Float64Array.from([...w.data, ...b]));
    const qAug = bias === "source" || bias === "augmented";
    const kAug = bias === "destination" || bias === "augmented";
    const A = qAug ? aug(wQ, bQ) : wQ, B = kAug ? aug(wK, bK) : wK;
    const cd = mm(transpose(pinv(wQ)), vec(bQ)).data; // W_Qᵀ c_d = b_Q
    const cs = mm(transpose(pinv(wK)), vec(bK)).data; // W_Kᵀ c_s = b_K
    const lift = (x: Float64Array) => Float64Array.from([...x, 1]);
    const plus = (x: Float64Array, c: Float64Array) => Float64Array.from(x, (v, i) => v + c[i]!);
    const d = 5;
    const xs = Array.from({ length: d + 1 }, () => Float64Array.from(rng.normals(D)));
    const xd = qAug ? lift(xs[d]!) : plus(xs[d]!, cd);
    const xk = xs.map((x) => kAug ? lift(x) : plus(x, cs));
    // Ω_Δ with M_Δ = R_dᵀR_s = R_{s−d}
    const omega = (sMinusD: number) => mm(mm(A, rotaryMatrix(sMinusD, spec)), transpose(B));
    const head = perOffsetHead({ wQ, bQ, wK, bK }, spec, bias);
    const col = (w: Matrix, j: number) => w.data.filter((_, i) => i % H === j);
    const q = Float64Array.from({ length: H }, (_, j) => dot(xs[d]!, col(wQ, j)) + bQ[j]!);
    const keys = xs.map((x) =>
      Float64Array.from({ length: H }, (_, j) => dot(x, col(wK, j)) + bK[j]!)
    );
    // singular values of Ω_0 = A Bᵀ; for the §4.3 variants also those of the plain basis
    const s0 = svd(omega(0), { backend: "reference" }).s.subarray(0, H);
    assertAllClose(perOffsetSingularValues(head, 0), s0, 1e-9 * s0[0]!);
    if (bias !== "destination") {
      assertAllClose(headBasis({ wQ, bQ, wK, bK }, bias).s, s0, 1e-9 * s0[0]!);
    }
    const rot = headRotations(1, 1, H, 4)(0, 0);
    for (let s = 1; s <= d; s++) {
      const dense = svd(omega(s - d), { backend: "reference" });
      const n = B.rows;
      const oracle = new Float64Array(H);
      let lTilde = 0;
      for (let t = 0; t <= d; t++) {
        const w = t === s ? 1 : -1 / d;
        const od = mm(matrix(1, A.rows, xd), omega(t - d)).data; // x′_dᵀ Ω_{d−t}
        // l̃ from the rotated head-space vectors (q rotated at d, k_t at t)
        const rq = mm(rotaryMatrix(d, spec), vec(q)).data;
        const rk = mm(rotaryMatrix(t, spec), vec(keys[t]!)).data;
        lTilde += w * dot(rq, rk);
        for (let k = 0; k < H; k++) {
          const v = dense.vt.data.subarray(k * n, (k + 1) * n);
          oracle[k] = oracle[k]! + w * dot(od, v) * dot(v, xk[t]!);
        }
      }
      const sum = oracle.reduce((a, b) => a + b, 0);
      assertAlmostEquals(sum, lTilde, 1e-9 * Math.max(1, Math.abs(lTilde)), "dense Σcₖ = l̃");
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
}

Deno.test("per-offset bias forms give different contributions (same l̃)", () => {
  const rng = new Rng(3);
  const wQ = matrix(D, H, rng.normals(D * H)), wK = matrix(D, H, rng.normals(D * H));
  const bQ = Float64Array.from(rng.normals(H)), bK = Float64Array.from(rng.normals(H));
  const q = Float64Array.from(rng.normals(H));
  const keys = Array.from({ length: 5 }, () => Float64Array.from(rng.normals(H)));
  const rot = headRotations(1, 1, H, 4)(0, 0);
  const runs = PER_OFFSET_BIASES.map((b) =>
    perOffsetContributions(perOffsetHead({ wQ, bQ, wK, bK }, spec, b), 4, 2, q, keys, rot)
  );
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) {
      assertAlmostEquals(runs[i]!.lTilde, runs[j]!.lTilde, 1e-9 * Math.abs(runs[i]!.lTilde));
      const diff = Math.max(...runs[i]!.c.map((v, k) => Math.abs(v - runs[j]!.c[k]!)));
      assertOk(diff > 1e-3, `${PER_OFFSET_BIASES[i]} vs ${PER_OFFSET_BIASES[j]}: Δc ${diff}`);
    }
  }
});
