// The reference-BLAS drop-in dgemm_ (wasm/kernels/dgemm.c) that lapack.wasm may link ahead of
// BLAS/SRC/dgemm.f: Fortran calling convention, column-major, leading dimensions, alpha/beta.
import { dgemm_, memory } from "../../wasm/kernels.wasm";
import { reserveScratch } from "../../src/linalg/_kernels.ts";
import { assertOk } from "../_assert.ts";
import { boundRatio, naiveGemm, randomArray } from "./_matmul_oracle.ts";

const EPS64 = 2 ** -52;

/** Column-major m×n with leading dimension ld ≥ m, padding filled with `pad`. */
function colMajor(rows: number, cols: number, ld: number, seed: number, pad: number): Float64Array {
  const x = randomArray(ld * cols, seed);
  for (let j = 0; j < cols; j++) for (let i = rows; i < ld; i++) x[i + j * ld] = pad;
  return x;
}

function check(
  ta: "N" | "T",
  tb: "N" | "T",
  m: number,
  n: number,
  k: number,
  alpha: number,
  beta: number,
  seed: number,
) {
  const [ar, ac] = ta === "N" ? [m, k] : [k, m];
  const [br, bc] = tb === "N" ? [k, n] : [n, k];
  const [lda, ldb, ldc] = [ar + 3, br + 1, m + 2];
  const a = colMajor(ar, ac, lda, seed, 1e300);
  const b = colMajor(br, bc, ldb, seed + 1, 1e300);
  const c0 = colMajor(m, n, ldc, seed + 2, 777);
  if (beta === 0) c0.fill(NaN); // BLAS: beta = 0 must not read C
  // Oracle in row-major terms: op(A)(i,p) and op(B)(p,j) as dense row-major arrays.
  const opA = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) opA[i * k + p] = ta === "N" ? a[i + p * lda]! : a[p + i * lda]!;
  }
  const opB = new Float64Array(k * n);
  for (let p = 0; p < k; p++) {
    for (let j = 0; j < n; j++) opB[p * n + j] = tb === "N" ? b[p + j * ldb]! : b[j + p * ldb]!;
  }
  const { c, abs } = naiveGemm(opA, opB, m, k, n, false, false);

  const bytes = 64 + 8 * (a.length + b.length + c0.length);
  const base = reserveScratch(bytes);
  const i32 = new Int32Array(memory.buffer, base, 16);
  const u8 = new Uint8Array(memory.buffer, base, 64);
  const f64 = new Float64Array(memory.buffer);
  u8[0] = ta.charCodeAt(0);
  u8[1] = tb.charCodeAt(0);
  i32.set([m, n, k, lda, ldb, ldc], 1); // ints at base+4..base+24
  f64[(base + 32) / 8] = alpha;
  f64[(base + 40) / 8] = beta;
  const pa = base + 64;
  const pb = pa + 8 * a.length;
  const pc = pb + 8 * b.length;
  f64.set(a, pa / 8);
  f64.set(b, pb / 8);
  f64.set(c0, pc / 8);
  dgemm_(
    base,
    base + 1,
    base + 4,
    base + 8,
    base + 12,
    base + 32,
    pa,
    base + 16,
    pb,
    base + 20,
    base + 40,
    pc,
    base + 24,
    1,
    1,
  );
  const got = new Float64Array(memory.buffer, pc, c0.length);
  const gotC = new Float64Array(m * n);
  const want = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const old = beta === 0 ? 0 : c0[i + j * ldc]!;
      gotC[i * n + j] = got[i + j * ldc]!;
      want[i * n + j] = alpha * c[i * n + j]! + beta * old;
      bound[i * n + j] = Math.abs(alpha) * abs[i * n + j]! + Math.abs(beta * old);
    }
  }
  // Padding rows of C (i ≥ m) must be untouched.
  for (let j = 0; j < n; j++) {
    for (let i = m; i < ldc; i++) {
      assertOk(Object.is(got[i + j * ldc], c0[i + j * ldc]), `C padding changed at ${i},${j}`);
    }
  }
  const ratio = boundRatio(gotC, want, bound, k + 2, EPS64);
  assertOk(ratio <= 1, `${ta}${tb} ${m}×${n}×${k} α=${alpha} β=${beta}: ${ratio}× the bound`);
}

Deno.test("dgemm_ (Fortran convention) matches the oracle for all transposes, lds, alpha/beta", () => {
  let seed = 100;
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 17, 5],
    [65, 17, 33],
    [100, 30, 270],
    [1, 600, 300], // skinny paths (m×n×k here)
    [530, 3, 270],
    [18, 7, 301], // TN inner-product path (long K), with edge rows/columns and an odd K
    [48, 16, 737],
  ];
  for (const [m, n, k] of shapes) {
    for (const ta of ["N", "T"] as const) {
      for (const tb of ["N", "T"] as const) {
        for (const [alpha, beta] of [[1, 0], [-0.5, 1], [2, -1.5], [0, 0.25]]) {
          check(ta, tb, m, n, k, alpha!, beta!, seed++);
        }
      }
    }
  }
});
