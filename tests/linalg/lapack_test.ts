import { matrix, Rng, solve, svd } from "../../src/linalg/mod.ts";
import { NumericalError } from "../../src/errors.ts";
import * as wasm from "../../wasm/lapack.wasm";
import { lapackMemoryBytes, lapackSvd } from "../../src/linalg/lapack.ts";
import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { runDeno } from "../_helpers.ts";
import { columnOrthoError, frob, gaussian, reconstructionError, rowOrthoError } from "./_util.ts";

Deno.test("lapack: dgesdd agrees with the Jacobi reference (values 1e-12 rel, vectors)", () => {
  const rng = new Rng(10);
  for (const [m, n] of [[30, 20], [20, 30], [25, 25]] as const) {
    const a = gaussian(m, n, rng);
    const l = svd(a, { backend: "lapack" });
    const r = svd(a, { backend: "reference" });
    for (let i = 0; i < l.s.length; i++) assertAlmostEquals(l.s[i]!, r.s[i]!, 1e-12 * r.s[0]!);
    // Gaussian matrices have well-separated singular values: canonical vectors agree.
    let worst = 0;
    for (let i = 0; i < l.u.data.length; i++) {
      worst = Math.max(worst, Math.abs(l.u.data[i]! - r.u.data[i]!));
    }
    assertOk(worst <= 1e-9, `u differs by ${worst}`);
  }
});

Deno.test("lapack: dgesvd fallback path gives the same decomposition as dgesdd", () => {
  const a = gaussian(17, 11, new Rng(11));
  const d = lapackSvd(a, { driver: "dgesdd" });
  const v = lapackSvd(a, { driver: "dgesvd" });
  for (let i = 0; i < 11; i++) assertAlmostEquals(d.s[i]!, v.s[i]!, 1e-13 * d.s[0]!);
  assertOk(reconstructionError(a, v.u, v.s, v.vt) <= 1e-12 * frob(a));
  assertOk(columnOrthoError(v.u) <= 1e-13 && rowOrthoError(v.vt) <= 1e-13);
});

Deno.test("lapack: 200×150 reconstruction 1e-12·‖A‖ and orthogonality 1e-13", () => {
  const a = gaussian(200, 150, new Rng(12));
  const r = svd(a);
  assertOk(reconstructionError(a, r.u, r.s, r.vt) <= 1e-12 * frob(a));
  assertOk(columnOrthoError(r.u) <= 1e-13, "UᵀU = I");
  assertOk(rowOrthoError(r.vt) <= 1e-13, "V Vᵀ = I");
  // Independent check of σ₁: power iteration on AᵀA with plain loops.
  let v = new Float64Array(150).fill(1);
  let sigma = 0;
  for (let it = 0; it < 300; it++) {
    const av = new Float64Array(200);
    for (let i = 0; i < 200; i++) {
      for (let j = 0; j < 150; j++) av[i] = av[i]! + a.data[i * 150 + j]! * v[j]!;
    }
    const w = new Float64Array(150);
    for (let i = 0; i < 200; i++) {
      for (let j = 0; j < 150; j++) w[j] = w[j]! + a.data[i * 150 + j]! * av[i]!;
    }
    const norm = Math.hypot(...w);
    sigma = Math.sqrt(norm / Math.hypot(...v));
    v = w.map((x) => x / norm);
  }
  assertAlmostEquals(r.s[0]!, sigma, 1e-6 * sigma);
});

Deno.test("lapack: 1000 repeated calls do not grow WASM memory", () => {
  const rng = new Rng(13);
  const a = gaussian(40, 30, rng);
  for (let i = 0; i < 20; i++) svd(a); // warm up the allocator
  const before = lapackMemoryBytes();
  for (let i = 0; i < 1000; i++) svd(a);
  assertEquals(lapackMemoryBytes(), before);
  // Errors thrown after allocation must free too (a zero pivot found inside dgetrf).
  for (let i = 0; i < 1000; i++) {
    assertThrows(() => solve(matrix(2, 2, [1, 2, 2, 4]), matrix(2, 1, [1, 1])), NumericalError);
  }
  assertEquals(lapackMemoryBytes(), before);
});

Deno.test("lapack: 1×n and n×1 vectors", () => {
  const row = matrix(1, 4, [3, 0, -4, 0]);
  const r = svd(row);
  assertAlmostEquals(r.s[0]!, 5, 1e-14);
  assertEquals([r.u.rows, r.u.cols, r.vt.rows, r.vt.cols], [1, 1, 1, 4]);
  assertEquals(r.u.data[0], 1);
  const col = svd(matrix(4, 1, [0, -3, 0, 4]));
  assertAlmostEquals(col.s[0]!, 5, 1e-14);
  // Canonical sign: largest |u| entry (4/5 at row 3) positive, so vt = [+1].
  assertAlmostEquals(col.u.data[3]!, 0.8, 1e-15);
  assertAlmostEquals(col.vt.data[0]!, 1, 1e-15);
});

Deno.test("lapack: the module imports with zero permissions", async () => {
  const code = `import { svd, LowRankProduct, matrix } from "${
    new URL("../../mod.ts", import.meta.url).href
  }";
const r = svd(matrix(2, 2, [0, 2, 1, 0]));
const f = new LowRankProduct(matrix(2, 1, [1, 1]), matrix(1, 2, [1, 0])).svd();
console.log(r.s.join(","), f.rank);`;
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/zero_perm.ts`;
    await Deno.writeTextFile(file, code);
    const out = await runDeno(["run", "--quiet", "--no-prompt", file]);
    assertEquals(out.stderr, "");
    assertEquals(out.stdout.trim(), "2,1 1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lapack: an illegal argument is recorded by xerbla_ (no print, no abort)", () => {
  // dgeqrf with M = −1: LAPACK calls xerbla_("DGEQRF", 1) and returns INFO = −1.
  const p = wasm.malloc(64);
  try {
    const i32 = new Int32Array(wasm.memory.buffer, p, 16);
    i32.set([-1, 1, 1, 1, 0]); // m, n, lda, lwork, info
    wasm.svl_xerbla_reset();
    wasm.dgeqrf_(p, p + 4, p + 32, p + 8, p + 40, p + 48, p + 12, p + 16);
    assertEquals(new Int32Array(wasm.memory.buffer, p, 16)[4], -1);
    assertEquals(wasm.svl_xerbla_info(), 1);
    const name = new Uint8Array(wasm.memory.buffer, wasm.svl_xerbla_name(), 6);
    assertEquals(new TextDecoder().decode(name), "DGEQRF");
  } finally {
    wasm.free(p);
  }
});
