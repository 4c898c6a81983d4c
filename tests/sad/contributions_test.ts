import { assertAllClose, assertAlmostEquals, assertOk, assertThrows } from "../_assert.ts";
import { type Matrix, matrix, pinv, Rng, svd, transpose } from "../../src/linalg/mod.ts";
import { NumericalError } from "../../src/errors.ts";
import {
  type BiasVariant,
  firingContributions,
  headBasis,
  headRotations,
  rotatedContributions,
} from "../../src/sad/mod.ts";

const D = 10, H = 4, M = 6;

function randomHead(rng: Rng) {
  const wq = matrix(D, H, rng.normals(D * H));
  const wk = matrix(D, H, rng.normals(D * H));
  const bq = Float64Array.from(rng.normals(H));
  const bk = Float64Array.from(rng.normals(H));
  return { wQ: wq, wK: wk, bQ: bq, bK: bk };
}

/** x Wᵀ-free dense helpers written out plainly (the oracle path). */
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
function col(m: Matrix, j: number): Float64Array {
  return Float64Array.from({ length: m.rows }, (_, i) => m.data[i * m.cols + j]!);
}
function headVec(w: Matrix, b: Float64Array, x: Float64Array): Float64Array {
  return Float64Array.from({ length: w.cols }, (_, j) => dot(x, col(w, j)) + b[j]!);
}

/** The dense matrix of each bias variant and the query/key lifts it acts on. */
function denseOmega(
  head: ReturnType<typeof randomHead>,
  variant: BiasVariant,
): {
  omega: Matrix;
  liftQ: (x: Float64Array) => Float64Array;
  liftDk: (d: Float64Array) => Float64Array;
} {
  const { wQ: wq, wK: wk, bQ: bq, bK: bk } = head;
  const aug = (w: Matrix, b: Float64Array) =>
    matrix(w.rows + 1, w.cols, Float64Array.from([...w.data, ...b]));
  const wa = variant === "offset" ? wq : aug(wq, bq);
  const wb = variant === "augmented" ? aug(wk, bk) : wk;
  const omega = matrix(wa.rows, wb.rows);
  for (let i = 0; i < wa.rows; i++) {
    for (let j = 0; j < wb.rows; j++) {
      let s = 0;
      for (let h = 0; h < H; h++) s += wa.data[i * H + h]! * wb.data[j * H + h]!;
      omega.data[i * wb.rows + j] = s;
    }
  }
  // offset: c_d = W_Q⁺ᵀ b_Q (so W_Qᵀ c_d = b_Q)
  const cd = transpose(pinv(wq));
  const liftQ = variant === "offset"
    ? (x: Float64Array) =>
      Float64Array.from(x, (v, i) => v + dot(cd.data.subarray(i * H, i * H + H), bq))
    : (x: Float64Array) => Float64Array.from([...x, 1]);
  const liftDk = variant === "augmented"
    ? (d: Float64Array) => Float64Array.from([...d, 0])
    : (d: Float64Array) => d;
  return { omega, liftQ, liftDk };
}

for (const variant of ["offset", "augmented", "source"] as const) {
  Deno.test(`SAD ${variant}: Σ contributions = dense relative logit; each c_k = dense-SVD c_k`, () => {
    const rng = new Rng(11);
    const head = randomHead(rng);
    const basis = headBasis(head, variant);
    const { omega, liftQ, liftDk } = denseOmega(head, variant);
    const dense = svd(omega, { backend: "reference" });
    const keys = Array.from({ length: M }, () => Float64Array.from(rng.normals(D)));
    const xq = Float64Array.from(rng.normals(D));
    // Dense logits l_i = (x_q W_Q + b_Q)·(x_i W_K + b_K): the oracle, no SVD involved.
    const q = headVec(head.wQ, head.bQ, xq);
    const logits = keys.map((x) => dot(q, headVec(head.wK, head.bK, x)));
    for (let j = 0; j < M; j++) {
      const others = logits.filter((_, i) => i !== j);
      const lTilde = logits[j]! - others.reduce((a, b) => a + b, 0) / (M - 1);
      const dx = Float64Array.from(
        keys[j]!,
        (v, i) => v - keys.filter((_, t) => t !== j).reduce((a, x) => a + x[i]!, 0) / (M - 1),
      );
      const dk = headVec(head.wK, new Float64Array(H), dx);
      const f = firingContributions(basis, q, dk);
      const sum = f.c.reduce((a, b) => a + b, 0);
      assertAlmostEquals(sum, lTilde, 1e-10 * Math.max(1, Math.abs(lTilde)), `key ${j} sum`);
      assertAlmostEquals(f.lTilde, lTilde, 1e-10 * Math.max(1, Math.abs(lTilde)));
      // per-triplet oracle from the dense SVD (sign flips of (u_k, v_k) cancel)
      const xt = liftQ(xq), dt = liftDk(dx);
      const oracle = Float64Array.from({ length: H }, (_, k) => {
        const u = col(dense.u, k);
        const v = dense.vt.data.subarray(k * dense.vt.cols, (k + 1) * dense.vt.cols);
        return dense.s[k]! * dot(xt, u) * dot(v, dt);
      });
      assertAllClose(f.c, oracle, 1e-9 * Math.max(1, ...oracle.map(Math.abs)), `key ${j} c_k`);
      assertAllClose(basis.s, dense.s.subarray(0, H), 1e-10 * dense.s[0]!);
    }
  });
}

Deno.test("rotation control: rotated contributions still sum to l̃; the bilinear form is unchanged", () => {
  const rng = new Rng(5);
  const head = randomHead(rng);
  const basis = headBasis(head);
  const rot = headRotations(1, 1, H, 9)(0, 0);
  // Q is orthogonal (QᵀQ = I to 1e-12)
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < H; j++) {
      let s = 0;
      for (let k = 0; k < H; k++) s += rot.data[k * H + i]! * rot.data[k * H + j]!;
      assertAlmostEquals(s, i === j ? 1 : 0, 1e-12);
    }
  }
  // Ũ Σ̃ Ṽᵀ with Ũ = UQ, Σ̃ = QᵀΣQ, Ṽ = VQ equals U Σ Vᵀ: check on the H-space maps Gᵀ Σ G.
  const q = Float64Array.from(rng.normals(H)), dk = Float64Array.from(rng.normals(H));
  const f = firingContributions(basis, q, dk);
  const r = rotatedContributions(rot, f);
  assertAlmostEquals(r.reduce((a, b) => a + b, 0), f.lTilde, 1e-10 * Math.abs(f.lTilde) + 1e-12);
  assertOk(r.some((v, k) => Math.abs(v - f.c[k]!) > 1e-6), "the rotated contributions differ");
  // Different heads get different Q from the same seed; the same seed reproduces them.
  const rots = headRotations(2, 2, H, 9);
  assertAllClose(rots(0, 0).data, rot.data, 0);
  assertOk(Math.abs(rots(1, 1).data[0]! - rot.data[0]!) > 0);
});

Deno.test("the per-firing sum check throws NumericalError when the basis is inexact", () => {
  const rng = new Rng(3);
  const head = randomHead(rng);
  const basis = headBasis(head);
  const broken = { ...basis, s: Float64Array.from(basis.s, (v, k) => (k === 1 ? v * 1.01 : v)) };
  const q = Float64Array.from(rng.normals(H)), dk = Float64Array.from(rng.normals(H));
  assertThrows(
    () => firingContributions(broken, q, dk, "test"),
    NumericalError,
    /sum check failed at test/,
  );
});

Deno.test("a rank-deficient W_Q (zero column, zero bias there) still decomposes exactly", () => {
  const rng = new Rng(21);
  const head = randomHead(rng);
  for (let i = 0; i < D; i++) head.wQ.data[i * H + 2] = 0;
  head.bQ[2] = 0;
  const basis = headBasis(head);
  assertAlmostEquals(basis.s[H - 1]!, 0, 1e-12 * basis.s[0]!);
  const x = Float64Array.from(rng.normals(D)), dx = Float64Array.from(rng.normals(D));
  const q = headVec(head.wQ, head.bQ, x);
  const dk = headVec(head.wK, new Float64Array(H), dx);
  const f = firingContributions(basis, q, dk);
  assertAlmostEquals(f.c.reduce((a, b) => a + b, 0), dot(q, dk), 1e-10 * Math.abs(dot(q, dk)));
});
