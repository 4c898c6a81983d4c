import { closeMatmulThreads, matmulF32, matmulThreadsActive } from "../../src/linalg/matmul_f32.ts";
import { kernelMemory, reserveScratch, sgemm } from "../../src/linalg/_kernels.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { runDeno } from "../_helpers.ts";
import { boundRatio, naiveGemm, randomArray } from "./_matmul_oracle.ts";

const EPS32 = 2 ** -23;

function check(
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  seed: number,
  threads = 1,
) {
  const a = Float32Array.from(randomArray(m * k, seed));
  const b = Float32Array.from(randomArray(k * n, seed + 1));
  const { c, abs } = naiveGemm(a, b, m, k, n, transA, transB);
  const got = matmulF32(a, b, m, k, n, { transA, transB, threads });
  assertEquals(got.length, m * n);
  const ratio = boundRatio(got, c, abs, k, EPS32);
  assertOk(
    ratio <= 1,
    `${m}×${k}×${n} transA=${transA} transB=${transB} threads=${threads}: error is ${ratio}× the k·eps32·|A||B| bound`,
  );
}

// Sizes straddle the kernel's paths: tiny/vector-shaped (plain loop), 6×8 micro-tile edges, and the
// KC=256 / MC=120 / NC=1024 cache-block boundaries.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 17, 1],
  [3, 3, 3],
  [1, 65, 17],
  [17, 1, 65],
  [17, 17, 17],
  [6, 8, 8],
  [7, 9, 9],
  [65, 3, 17],
  [65, 65, 65],
  [64, 64, 64],
  [13, 300, 11],
  [130, 70, 40],
  [5, 20, 1030],
  [125, 260, 33],
  // Skinny: at most 4 rows or columns stream B in 256×512 blocks (axpy, dot, or copy variants
  // chosen by the strides, i.e. by the transposes).
  [1, 300, 600],
  [2, 520, 70],
  [3, 9, 1100],
  [4, 270, 530],
  [600, 300, 1],
  [70, 520, 2],
  [530, 270, 4],
  [5, 300, 3],
];

Deno.test("matmulF32 matches the f64 oracle within k·eps32·|A||B| for all transposes", () => {
  let seed = 1;
  for (const [m, k, n] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) check(m, k, n, transA, transB, seed++);
    }
  }
});

Deno.test("matmulF32 hand-checked 2×3·3×2 and its transposes", () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]); // 2×3
  const b = new Float32Array([7, 8, 9, 10, 11, 12]); // 3×2
  assertEquals(Array.from(matmulF32(a, b, 2, 3, 2)), [58, 64, 139, 154]);
  // Aᵀ stored: a as 3×2 [[1,2],[3,4],[5,6]] → op(A) = 2×3 [[1,3,5],[2,4,6]].
  assertEquals(Array.from(matmulF32(a, b, 2, 3, 2, { transA: true })), [89, 98, 116, 128]);
  // Bᵀ stored: b as 2×3 → op(B) 3×2 [[7,10],[8,11],[9,12]].
  assertEquals(Array.from(matmulF32(a, b, 2, 3, 2, { transB: true })), [50, 68, 122, 167]);
});

Deno.test("matmulF32 out reuse overwrites garbage, leaves the tail, and accumulate adds", () => {
  const [m, k, n] = [19, 33, 21];
  const a = Float32Array.from(randomArray(m * k, 7));
  const b = Float32Array.from(randomArray(k * n, 8));
  const fresh = matmulF32(a, b, m, k, n);
  const out = new Float32Array(m * n + 5).fill(NaN);
  out[m * n + 4] = 42;
  const got = matmulF32(a, b, m, k, n, { out });
  assertOk(got === out, "returns the out array");
  assertEquals(Array.from(out.subarray(0, m * n)), Array.from(fresh));
  assertEquals(out[m * n + 4], 42);

  const c0 = Float32Array.from(randomArray(m * n, 9));
  const acc = Float32Array.from(c0);
  matmulF32(a, b, m, k, n, { out: acc, accumulate: true });
  const { c, abs } = naiveGemm(a, b, m, k, n, false, false);
  const want = c.map((x, i) => x + c0[i]!);
  // One more rounding for the final add: widen the bound by |C0|.
  const ratio = boundRatio(acc, want, abs.map((x, i) => x + Math.abs(c0[i]!)), k + 1, EPS32);
  assertOk(ratio <= 1, `accumulate error is ${ratio}× the bound`);
});

Deno.test("matmulF32 out may alias an operand (A ← A·B)", () => {
  const n = 37;
  const a = Float32Array.from(randomArray(n * n, 21));
  const b = Float32Array.from(randomArray(n * n, 22));
  const want = matmulF32(a, b, n, n, n);
  matmulF32(a, b, n, n, n, { out: a });
  assertEquals(Array.from(a), Array.from(want));
});

Deno.test("matmulF32 degenerate shapes: k = 0 gives zeros, m = 0 gives an empty result", () => {
  assertEquals(Array.from(matmulF32(new Float32Array(0), new Float32Array(0), 2, 0, 3)), [
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  const out = new Float32Array([1, 2]);
  matmulF32(new Float32Array(0), new Float32Array(0), 1, 0, 2, { out, accumulate: true });
  assertEquals(Array.from(out), [1, 2]);
  assertEquals(matmulF32(new Float32Array(0), new Float32Array(6), 0, 2, 3).length, 0);
});

Deno.test("matmulF32 rejects inconsistent shapes with messages naming the values", () => {
  const x = new Float32Array(6);
  assertThrows(() => matmulF32(x, x, 3, 3, 2), RangeError, /a has 6 elements.*3×3/);
  assertThrows(() => matmulF32(x, x, 2, 3, 3), RangeError, /b has 6 elements.*3×3/);
  assertThrows(() => matmulF32(x, x, 2, 3, 2, { out: new Float32Array(3) }), RangeError, /out/);
  assertThrows(() => matmulF32(x, x, -1, 3, 2), RangeError, /m must be/);
  assertThrows(() => matmulF32(x, x, 2, 1.5, 2), RangeError, /k must be/);
  assertThrows(() => matmulF32(x, x, 2, 3, 2, { accumulate: true }), TypeError, /accumulate/);
});

Deno.test("matmulF32 reuses its scratch arena: repeated calls do not grow wasm memory", () => {
  const [m, k, n] = [150, 130, 140];
  const a = Float32Array.from(randomArray(m * k, 11));
  const b = Float32Array.from(randomArray(k * n, 12));
  matmulF32(a, b, m, k, n);
  const after1 = kernelMemory.buffer.byteLength;
  for (let i = 0; i < 30; i++) matmulF32(a, b, m, k, n, { transA: i % 2 === 0 });
  // Smaller products fit in the arena already reserved.
  for (let i = 0; i < 30; i++) matmulF32(a, b, 20, 30, 40);
  assertEquals(kernelMemory.buffer.byteLength, after1);
  // Growth is bounded by the request: a product needing ~12 MB more grows by about that much.
  const big = 1000;
  const x = new Float32Array(big * big);
  matmulF32(x, x, big, big, big >> 2);
  const grown = kernelMemory.buffer.byteLength - after1;
  assertOk(grown <= 4 * (big * big * 2 + big * (big >> 2)) + (1 << 20), `grew by ${grown} bytes`);
});

Deno.test("matmulF32 loads and runs 2 threads with zero permissions; the process exits", async () => {
  const src = new URL("../../src/linalg/matmul_f32.ts", import.meta.url).href;
  const code = `import { matmulF32, matmulThreadsActive } from "${src}";
const c = matmulF32(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 2, 1);
if (c[0] !== 11) throw new Error("bad " + c[0]);
const n = 160;
const a = new Float32Array(n * n).fill(1);
const big = matmulF32(a, a, n, n, n, { threads: 2 });
if (big[n * n - 1] !== n) throw new Error("bad threaded " + big[n * n - 1]);
console.log("ok", matmulThreadsActive().threads);`;
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/probe.ts`;
    await Deno.writeTextFile(file, code);
    // No closeMatmulThreads(): the unref'ed helper must not keep the process alive.
    const r = await runDeno(["run", "--no-prompt", "--no-config", file]);
    assertEquals(r.stdout.trim(), "ok 2", r.stderr);
    assertEquals(r.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("matmulF32 with threads: 2 splits rows or columns and still matches the oracle", () => {
  try {
    let seed = 500;
    // Above the 2^21 multiply-add threshold; m ≥ n splits rows, m < n splits columns; odd edges.
    const shapes: [number, number, number][] = [[131, 127, 141], [203, 61, 181], [150, 128, 130]];
    for (const [m, k, n] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          // Fresh inputs each call, so a helper that skipped its block would leave stale C.
          check(m, k, n, transA, transB, seed++, 2);
          assertEquals(matmulThreadsActive().threads, 2);
        }
      }
    }
    const [m, k, n] = [140, 150, 160];
    const a = Float32Array.from(randomArray(m * k, 900));
    const b = Float32Array.from(randomArray(k * n, 901));
    const c0 = Float32Array.from(randomArray(m * n, 902));
    const one = matmulF32(a, b, m, k, n, { out: Float32Array.from(c0), accumulate: true });
    const two = matmulF32(a, b, m, k, n, {
      out: Float32Array.from(c0),
      accumulate: true,
      threads: 2,
    });
    // Same kernel, same blocking along k: each entry is summed identically on either thread.
    assertEquals(Array.from(two), Array.from(one));
  } finally {
    closeMatmulThreads();
  }
  assertEquals(matmulThreadsActive().threads, 1);
  assertThrows(
    () => matmulF32(new Float32Array(1), new Float32Array(1), 1, 1, 1, { threads: 0 }),
    RangeError,
    /threads/,
  );
});

Deno.test("strided sgemm core: non-unit strides on every operand (skinny copy path, blocked)", () => {
  // The TS API always passes one unit stride per operand; the exported kernel accepts any.
  for (const [m, k, n] of [[3, 300, 530], [40, 70, 50]] as const) {
    const a = randomArray(m * k, 31);
    const b = randomArray(k * n, 32);
    const { c: want, abs } = naiveGemm(a, b, m, k, n, false, false);
    // A(i,p) at 2·(i·k + p); B(p,j) at 3·(j·k + p) + 1 (column-major, spaced); C(i,j) at 2·(j·m + i).
    const aLen = 2 * m * k, bLen = 3 * k * n + 1, cLen = 2 * m * n;
    const base = reserveScratch(4 * (sgemm.workLen + aLen + bLen + cLen) + 64);
    const pa = base + 4 * sgemm.workLen, pb = pa + 4 * aLen, pc = pb + 4 * bLen;
    const f32 = new Float32Array(kernelMemory.buffer);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) f32[pa / 4 + 2 * (i * k + p)] = a[i * k + p]!;
    }
    for (let p = 0; p < k; p++) {
      for (let j = 0; j < n; j++) f32[pb / 4 + 3 * (j * k + p) + 1] = b[p * n + j]!;
    }
    f32.fill(NaN, pc / 4, pc / 4 + cLen);
    sgemm.run(m, n, k, 1, pa, 2 * k, 2, pb + 4, 3, 3 * k, 0, pc, 2, 2 * m, base);
    const got = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) got[i * n + j] = f32[pc / 4 + 2 * (j * m + i)]!;
    }
    const ratio = boundRatio(got, want, abs, k, EPS32);
    assertOk(ratio <= 1, `${m}×${k}×${n} strided: error is ${ratio}× the bound`);
  }
});
