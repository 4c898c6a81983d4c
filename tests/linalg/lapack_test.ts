import {
  eigh,
  LowRankProduct,
  type Matrix,
  matrix,
  qr,
  Rng,
  solve,
  svd,
} from "../../src/linalg/mod.ts";
import { NumericalError } from "../../src/errors.ts";
import * as wasm from "../../wasm/lapack.wasm";
import {
  lapackEigh,
  lapackLowRankSvd,
  lapackMemoryBytes,
  lapackQr,
  lapackSolve,
  lapackSvd,
} from "../../src/linalg/lapack.ts";
import {
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertOk,
  assertThrows,
} from "../_assert.ts";
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

/**
 * Mallocs 64 KiB chunks until the WASM memory grows, so that the heap has almost no free space
 * left (at most one growth step): a leak of more than that must then grow the memory again,
 * however much headroom the module started with (16 MiB). Returns the chunks, to be freed.
 */
function fillHeap(): number[] {
  const chunks: number[] = [];
  const start = lapackMemoryBytes();
  while (lapackMemoryBytes() === start) chunks.push(wasm.malloc(65536));
  return chunks;
}

Deno.test("lapack: repeated svd, qr, eigh, solve, LowRankProduct.svd calls do not grow WASM memory", () => {
  const rng = new Rng(13);
  const a = gaussian(40, 30, rng);
  const sym = matrix(30, 30);
  for (let i = 0; i < 30; i++) {
    for (let j = 0; j < 30; j++) sym.data[i * 30 + j] = a.data[i * 30 + j]! + a.data[j * 30 + i]!;
  }
  const rhs = gaussian(30, 3, rng);
  // LowRankProduct.svd over 24 shapes, more than its workspace-size cache holds (16), so the
  // cache is filled, cleared and refilled inside every round. Shapes come in pairs with the
  // same m×n and inner dimension 3, then 12: a size cached under the wrong key would be too
  // small for the second and fail with INFO < 0.
  const products = Array.from({ length: 24 }, (_, i) => {
    const m = 20 + (i >> 1), n = 30 + (i >> 1), r = i % 2 === 0 ? 3 : 12;
    return new LowRankProduct(gaussian(m, r, rng), gaussian(r, n, rng));
  });
  const oneRound = (): Float64Array[] => {
    svd(a);
    qr(a);
    eigh(sym);
    solve(sym, rhs);
    return products.map((p) => p.svd().s);
  };
  // The first round queries every workspace size (these shapes occur nowhere else).
  const queried = oneRound();
  for (let i = 0; i < 4; i++) oneRound(); // warm up the allocator
  const filler = fillHeap();
  try {
    oneRound(); // may grow once: the filler took the free blocks the routines had used
    // Errors must free too: a zero pivot found by dgetrf and an illegal argument reported by
    // LAPACK (both thrown inside a wrapper, after its malloc), and an overflowing product of
    // rescaled factors (found after lapackLowRankSvd returns).
    const overflowing = new LowRankProduct(matrix(2, 1, [1e200, 1e200]), matrix(1, 2, [1e200, 1]));
    const failures = (): void => {
      assertThrows(() => solve(matrix(2, 2, [1, 2, 2, 4]), matrix(2, 1, [1, 1])), NumericalError);
      assertThrows(() => overflowing.svd(), NumericalError, /s\[0\] = Infinity.*overflowed/);
      assertThrows(() => lapackQr(illegal), NumericalError, /illegal value/);
    };
    failures();
    const before = lapackMemoryBytes();
    let last: Float64Array[] = [];
    for (let i = 0; i < 100; i++) last = oneRound(); // 100 × (4 + 24) calls
    for (let i = 0; i < 1000; i++) failures();
    assertEquals(lapackMemoryBytes(), before);
    // Cached workspace sizes give bit-identical results to the queried ones.
    assertEquals(last, queried);
  } finally {
    for (const p of filler) wasm.free(p);
  }
});

/** A "matrix" with −1 rows and no data: every wrapper passes M or N = −1 to LAPACK. */
const illegal: Matrix = { rows: -1, cols: 0, data: new Float64Array(0) };

Deno.test("lapack: INFO < 0 from each wrapper is a NumericalError naming the routine and argument", () => {
  // LAPACK's own argument checks (xerbla_) with N or M = −1: which argument each routine
  // numbers as M/N is fixed by its Fortran signature.
  const cases: Array<[string, () => unknown, RegExp]> = [
    ["qr", () => lapackQr(illegal), /LAPACK dgeqrf: argument 1 .*\(reported by DGEQRF\)/],
    [
      "svd",
      () => lapackSvd({ rows: -1, cols: 0, data: new Float64Array(0) }),
      // lapackSvd hands dgesdd Aᵀ: M = cols = 0, N = rows = −1 (argument 3).
      /LAPACK dgesdd: argument 3 .*\(reported by DGESDD\)/,
    ],
    [
      "eigh",
      () => lapackEigh({ rows: -1, cols: -1, data: new Float64Array(1) }),
      /dsyevd: argument 3 .*DSYEVD/,
    ],
    [
      "solve",
      () => lapackSolve({ rows: -1, cols: -1, data: new Float64Array(1) }, matrix(0, 0)),
      /LAPACK dgetrf: argument 1 .*\(reported by DGETRF\)/,
    ],
    [
      "LowRankProduct",
      () => lapackLowRankSvd(illegal, matrix(0, 3)),
      // The whole factored SVD is one C routine (wasm/lapack/lowrank.c), checking M, N, R first.
      /LAPACK svl_lowrank_svd: argument 1 .*\(reported by SVL_LOWRANK_SVD\)/,
    ],
  ];
  for (const [name, call, pattern] of cases) {
    const error = assertThrows(call, NumericalError, pattern);
    assertMatch(error.message, /bug in svlens's LAPACK wrapper, please report it/, name);
  }
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

Deno.test("lapack: svl_dgeqrf_t gives dgeqrf's R, Y and τ bit for bit and dlarft's T", () => {
  // Shapes: GPT-2 heads (4 panels of 16), a ragged last panel, m < n, one column, square.
  const shapes: [number, number][] = [[769, 64], [50, 37], [10, 20], [5, 1], [33, 33]];
  const rng = new Rng(71);
  for (const [m, n] of shapes) {
    const k = Math.min(m, n), a0 = rng.normals(m * n);
    // Block: ints (m, n, k, lwork, info, chF, chC) | a | a2 | tau | tau2 | t | t2 | work.
    const lwork = 64 * Math.max(n, 1);
    const sizes = [8, m * n, m * n, k, k, k * k, k * k, lwork];
    const offsets: number[] = [];
    let total = 0;
    for (const s of sizes) {
      offsets.push(total);
      total += s * 8;
    }
    const base = wasm.malloc(total);
    try {
      const f64 = (i: number, len: number) =>
        new Float64Array(wasm.memory.buffer, base + offsets[i]!, len);
      const ptr = (i: number) => base + offsets[i]!;
      new Int32Array(wasm.memory.buffer, base, 7).set([m, n, k, lwork, 0, 70, 67]); // 'F', 'C'
      f64(1, m * n).set(a0);
      f64(2, m * n).set(a0);
      f64(6, k * k).fill(Number.NaN); // the strictly lower part must come out zero
      wasm.dgeqrf_(base, base + 4, ptr(1), base, ptr(3), ptr(7), base + 12, base + 16);
      wasm.dlarft_(
        base + 20,
        base + 24,
        base,
        base + 8,
        ptr(1),
        base,
        ptr(3),
        ptr(5),
        base + 8,
        1,
        1,
      );
      wasm.svl_dgeqrf_t(m, n, ptr(2), m, ptr(4), ptr(6), k, ptr(7), base + 16);
      assertEquals(new Int32Array(wasm.memory.buffer, base, 5)[4], 0);
      assertEquals(Array.from(f64(2, m * n)), Array.from(f64(1, m * n)), `R and Y, ${m}×${n}`);
      assertEquals(Array.from(f64(4, k)), Array.from(f64(3, k)), `τ, ${m}×${n}`);
      const t = f64(5, k * k), t2 = f64(6, k * k);
      let err = 0, scale = 0;
      for (let j = 0; j < k; j++) {
        for (let i = 0; i < k; i++) {
          if (i > j) {
            assertEquals(t2[i + j * k], 0, `T below the diagonal, ${m}×${n}`);
            continue;
          }
          err = Math.max(err, Math.abs(t2[i + j * k]! - t[i + j * k]!));
          scale = Math.max(scale, Math.abs(t[i + j * k]!));
        }
      }
      assertOk(err <= 1e-14 * scale, `T ${m}×${n}: max |Δ| = ${err} (max |T| = ${scale})`);
    } finally {
      wasm.free(base);
    }
  }
});

Deno.test("lapack: svl_transpose writes the column-major copy of a row-major matrix", () => {
  for (const [rows, cols] of [[769, 64], [7, 5], [1, 9], [9, 1], [16, 3]]) {
    const src = Float64Array.from({ length: rows! * cols! }, (_, i) => i + 0.5);
    const p = wasm.malloc(16 * rows! * cols!);
    try {
      new Float64Array(wasm.memory.buffer, p, rows! * cols!).set(src);
      wasm.svl_transpose(rows!, cols!, p, p + 8 * rows! * cols!);
      const got = new Float64Array(wasm.memory.buffer, p + 8 * rows! * cols!, rows! * cols!);
      for (let i = 0; i < rows!; i++) {
        for (let j = 0; j < cols!; j++) {
          if (got[i + j * rows!] !== src[i * cols! + j]) {
            throw new Error(`svl_transpose ${rows}×${cols}: wrong entry (${i}, ${j})`);
          }
        }
      }
    } finally {
      wasm.free(p);
    }
  }
});

Deno.test("lapack: the factored SVD's workspace query stays inside its one-cell answer (r ≫ m, n)", () => {
  // Lay out memory as lapackLowRankSvd will: its block is reused from the freed b1, and a
  // sentinel right after it catches any write past the block (the query once wrote dgesdd's
  // lwork `used` doubles past its cell: 16 KiB on for this shape).
  const m = 2, n = 3, r = 97;
  const b1 = wasm.malloc(8 * (1 + 3 * m * r + r * n + 2 * m * n + 8));
  const sentinel = wasm.malloc(64 * 1024);
  const fill = () => new Float64Array(wasm.memory.buffer, sentinel, 8192);
  fill().fill(12345);
  wasm.free(b1);
  const rng = new Rng(5);
  const a = gaussian(m, r, rng), b = gaussian(r, n, rng);
  const raw = lapackLowRankSvd(a, b);
  const changed = fill().findIndex((x) => x !== 12345);
  wasm.free(sentinel);
  assertEquals(changed, -1, "a write past the block");
  assertEquals(raw.s.length, 2);
});
