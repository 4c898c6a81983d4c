import { closeMatmulThreads, matmulF32, matmulThreadsActive } from "../../src/linalg/matmul_f32.ts";
import { kernelMemory, reserveScratch, sgemm } from "../../src/linalg/_kernels.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { runDeno } from "../_helpers.ts";
import { checkMatmul, type MatmulUnderTest, registerMatmulTests } from "./_matmul_cases.ts";
import { boundRatio, naiveGemm, randomArray } from "./_matmul_oracle.ts";

const EPS32 = 2 ** -23;

const F32: MatmulUnderTest<Float32Array> = {
  name: "matmulF32",
  matmul: matmulF32,
  from: (values) => Float32Array.from(values),
  alloc: (length) => new Float32Array(length),
  eps: EPS32,
  epsName: "eps32",
  oracleName: "f64",
  bytes: 4,
  // MC=120 / NC=1024 cache-block boundaries.
  blockShapes: [[5, 20, 1030]],
  arenaBig: 1000,
};

registerMatmulTests(F32);

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
          checkMatmul(F32, m, k, n, transA, transB, seed++, 2);
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
