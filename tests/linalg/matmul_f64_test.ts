import { matmulF64 } from "../../src/linalg/matmul_f64.ts";
import { closeMatmulThreads, matmulThreadsActive } from "../../src/linalg/matmul_f32.ts";
import { assertEquals } from "../_assert.ts";
import { runDeno } from "../_helpers.ts";
import { checkMatmul, type MatmulUnderTest, registerMatmulTests } from "./_matmul_cases.ts";

const F64: MatmulUnderTest<Float64Array> = {
  name: "matmulF64",
  matmul: matmulF64,
  from: (values) => Float64Array.from(values),
  alloc: (length) => new Float64Array(length),
  eps: 2 ** -52,
  epsName: "eps64",
  oracleName: "naive",
  bytes: 8,
  // MC=96 / NC=512 cache-block boundaries.
  blockShapes: [[5, 20, 520], [100, 20, 9]],
  arenaBig: 800,
};

registerMatmulTests(F64);

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
          checkMatmul(F64, m, k, n, transA, transB, seed++, 2);
          assertEquals(matmulThreadsActive().threads, 2);
        }
      }
    }
  } finally {
    closeMatmulThreads();
  }
});
