import { matmulF64 } from "../../src/linalg/matmul_f64.ts";
import { closeMatmulThreads, matmulThreadsActive } from "../../src/linalg/matmul_f32.ts";
import { kernelMemory } from "../../src/linalg/_kernels.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { runDeno } from "../_helpers.ts";
import { boundRatio, naiveGemm, randomArray } from "./_matmul_oracle.ts";

const EPS64 = 2 ** -52;

function check(
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  seed: number,
  threads = 1,
) {
  const a = Float64Array.from(randomArray(m * k, seed));
  const b = Float64Array.from(randomArray(k * n, seed + 1));
  const { c, abs } = naiveGemm(a, b, m, k, n, transA, transB);
  const got = matmulF64(a, b, m, k, n, { transA, transB, threads });
  assertEquals(got.length, m * n);
  const ratio = boundRatio(got, c, abs, k, EPS64);
  assertOk(
    ratio <= 1,
    `${m}×${k}×${n} transA=${transA} transB=${transB}: error is ${ratio}× the k·eps64·|A||B| bound`,
  );
}

// Sizes straddle the kernel's paths: tiny/vector-shaped (plain loop), 6×8 micro-tile edges, and the
// KC=256 / MC=96 / NC=512 cache-block boundaries.
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
  [5, 20, 520],
  [100, 20, 9],
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

Deno.test("matmulF64 matches the naive oracle within k·eps64·|A||B| for all transposes", () => {
  let seed = 1;
  for (const [m, k, n] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) check(m, k, n, transA, transB, seed++);
    }
  }
});

Deno.test("matmulF64 hand-checked 2×3·3×2 and its transposes", () => {
  const a = new Float64Array([1, 2, 3, 4, 5, 6]); // 2×3
  const b = new Float64Array([7, 8, 9, 10, 11, 12]); // 3×2
  assertEquals(Array.from(matmulF64(a, b, 2, 3, 2)), [58, 64, 139, 154]);
  // Aᵀ stored: a as 3×2 [[1,2],[3,4],[5,6]] → op(A) = 2×3 [[1,3,5],[2,4,6]].
  assertEquals(Array.from(matmulF64(a, b, 2, 3, 2, { transA: true })), [89, 98, 116, 128]);
  // Bᵀ stored: b as 2×3 → op(B) 3×2 [[7,10],[8,11],[9,12]].
  assertEquals(Array.from(matmulF64(a, b, 2, 3, 2, { transB: true })), [50, 68, 122, 167]);
});

Deno.test("matmulF64 out reuse overwrites garbage, leaves the tail, and accumulate adds", () => {
  const [m, k, n] = [19, 33, 21];
  const a = Float64Array.from(randomArray(m * k, 7));
  const b = Float64Array.from(randomArray(k * n, 8));
  const fresh = matmulF64(a, b, m, k, n);
  const out = new Float64Array(m * n + 5).fill(NaN);
  out[m * n + 4] = 42;
  const got = matmulF64(a, b, m, k, n, { out });
  assertOk(got === out, "returns the out array");
  assertEquals(Array.from(out.subarray(0, m * n)), Array.from(fresh));
  assertEquals(out[m * n + 4], 42);

  const c0 = Float64Array.from(randomArray(m * n, 9));
  const acc = Float64Array.from(c0);
  matmulF64(a, b, m, k, n, { out: acc, accumulate: true });
  const { c, abs } = naiveGemm(a, b, m, k, n, false, false);
  const want = c.map((x, i) => x + c0[i]!);
  // One more rounding for the final add: widen the bound by |C0|.
  const ratio = boundRatio(acc, want, abs.map((x, i) => x + Math.abs(c0[i]!)), k + 1, EPS64);
  assertOk(ratio <= 1, `accumulate error is ${ratio}× the bound`);
});

Deno.test("matmulF64 degenerate shapes: k = 0 gives zeros, m = 0 gives an empty result", () => {
  assertEquals(Array.from(matmulF64(new Float64Array(0), new Float64Array(0), 2, 0, 3)), [
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  const out = new Float64Array([1, 2]);
  matmulF64(new Float64Array(0), new Float64Array(0), 1, 0, 2, { out, accumulate: true });
  assertEquals(Array.from(out), [1, 2]);
  assertEquals(matmulF64(new Float64Array(0), new Float64Array(6), 0, 2, 3).length, 0);
});

Deno.test("matmulF64 rejects inconsistent shapes with messages naming the values", () => {
  const x = new Float64Array(6);
  assertThrows(() => matmulF64(x, x, 3, 3, 2), RangeError, /a has 6 elements.*3×3/);
  assertThrows(() => matmulF64(x, x, 2, 3, 3), RangeError, /b has 6 elements.*3×3/);
  assertThrows(() => matmulF64(x, x, 2, 3, 2, { out: new Float64Array(3) }), RangeError, /out/);
  assertThrows(() => matmulF64(x, x, -1, 3, 2), RangeError, /m must be/);
  assertThrows(() => matmulF64(x, x, 2, 1.5, 2), RangeError, /k must be/);
  assertThrows(() => matmulF64(x, x, 2, 3, 2, { accumulate: true }), TypeError, /accumulate/);
});

Deno.test("matmulF64 reuses its scratch arena: repeated calls do not grow wasm memory", () => {
  const [m, k, n] = [150, 130, 140];
  const a = Float64Array.from(randomArray(m * k, 11));
  const b = Float64Array.from(randomArray(k * n, 12));
  matmulF64(a, b, m, k, n);
  const after1 = kernelMemory.buffer.byteLength;
  for (let i = 0; i < 30; i++) matmulF64(a, b, m, k, n, { transA: i % 2 === 0 });
  // Smaller products fit in the arena already reserved.
  for (let i = 0; i < 30; i++) matmulF64(a, b, 20, 30, 40);
  assertEquals(kernelMemory.buffer.byteLength, after1);
  // Growth is bounded by the request: a product needing ~20 MB more grows by about that much.
  const big = 800;
  const x = new Float64Array(big * big);
  matmulF64(x, x, big, big, big >> 2);
  const grown = kernelMemory.buffer.byteLength - after1;
  assertOk(grown <= 8 * (big * big * 2 + big * (big >> 2)) + (1 << 20), `grew by ${grown} bytes`);
});

Deno.test("matmulF64 loads with zero permissions", async () => {
  const src = new URL("../../src/linalg/matmul_f64.ts", import.meta.url).href;
  const code = `import { matmulF64 } from "${src}";
const c = matmulF64(new Float64Array([1, 2]), new Float64Array([3, 4]), 1, 2, 1);
if (c[0] !== 11) throw new Error("bad " + c[0]);
console.log("ok");`;
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/probe.ts`;
    await Deno.writeTextFile(file, code);
    const r = await runDeno(["run", "--no-prompt", "--no-config", file]);
    assertEquals(r.stdout.trim(), "ok", r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("matmulF64 with threads: 2 matches the oracle", () => {
  try {
    let seed = 700;
    for (const [m, k, n] of [[131, 127, 141], [203, 61, 181]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          check(m, k, n, transA, transB, seed++, 2);
          assertEquals(matmulThreadsActive().threads, 2);
        }
      }
    }
  } finally {
    closeMatmulThreads();
  }
});
