/**
 * The GEMM tests both dtypes share, parameterised by the routine under test: accuracy against the
 * naive f64 oracle over every transpose, hand-checked products, out/accumulate semantics,
 * degenerate shapes, shape errors and scratch-arena reuse. Each dtype's test file adds its own
 * permission and threading checks.
 * @module
 */
import type { MatmulOptions } from "../../src/linalg/matmul_f32.ts";
import { kernelMemory } from "../../src/linalg/_kernels.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { boundRatio, naiveGemm, randomArray } from "./_matmul_oracle.ts";

/** One GEMM routine and the dtype facts its tests scale with. */
export interface MatmulUnderTest<T extends Float32Array | Float64Array> {
  /** Function name, as the test names print it ("matmulF32"). */
  name: string;
  /** The routine: C = op(A)·op(B), row-major. */
  matmul(a: T, b: T, m: number, k: number, n: number, opts?: MatmulOptions<T>): T;
  /** A copy of `values` in this dtype. */
  from(values: ArrayLike<number>): T;
  /** A zero-filled array of this dtype. */
  alloc(length: number): T;
  /** Unit roundoff of the dtype, e.g. 2⁻²³. */
  eps: number;
  /** How messages name eps ("eps32"). */
  epsName: string;
  /** How the accuracy test names the oracle ("f64" or "naive"). */
  oracleName: string;
  /** Bytes per element. */
  bytes: number;
  /** Shapes on this dtype's MC/NC cache-block boundaries, inserted in the shared shape list. */
  blockShapes: [number, number, number][];
  /** Square size of the arena-growth probe (big × big × big/4). */
  arenaBig: number;
}

/**
 * Asserts that `spec.matmul` matches the naive oracle within k·eps·|A||B| elementwise for one
 * shape, transpose pair and thread count.
 */
export function checkMatmul<T extends Float32Array | Float64Array>(
  spec: MatmulUnderTest<T>,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  seed: number,
  threads = 1,
): void {
  const a = spec.from(randomArray(m * k, seed));
  const b = spec.from(randomArray(k * n, seed + 1));
  const { c, abs } = naiveGemm(a, b, m, k, n, transA, transB);
  const got = spec.matmul(a, b, m, k, n, { transA, transB, threads });
  assertEquals(got.length, m * n);
  const ratio = boundRatio(got, c, abs, k, spec.eps);
  assertOk(
    ratio <= 1,
    `${m}×${k}×${n} transA=${transA} transB=${transB} threads=${threads}: error is ${ratio}× the k·${spec.epsName}·|A||B| bound`,
  );
}

/**
 * Sizes straddle the kernel's paths: tiny/vector-shaped (plain loop), 6×8 micro-tile edges, the
 * KC=256 cache-block boundary and the dtype's own MC/NC boundaries (`blockShapes`).
 */
function shapes(blockShapes: [number, number, number][]): [number, number, number][] {
  return [
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
    ...blockShapes,
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
}

/** Registers the dtype-independent GEMM tests for `spec`. */
export function registerMatmulTests<T extends Float32Array | Float64Array>(
  spec: MatmulUnderTest<T>,
): void {
  const { name, matmul } = spec;

  Deno.test(
    `${name} matches the ${spec.oracleName} oracle within k·${spec.epsName}·|A||B| for all transposes`,
    () => {
      let seed = 1;
      for (const [m, k, n] of shapes(spec.blockShapes)) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) checkMatmul(spec, m, k, n, transA, transB, seed++);
        }
      }
    },
  );

  Deno.test(`${name} hand-checked 2×3·3×2 and its transposes`, () => {
    const a = spec.from([1, 2, 3, 4, 5, 6]); // 2×3
    const b = spec.from([7, 8, 9, 10, 11, 12]); // 3×2
    assertEquals(Array.from(matmul(a, b, 2, 3, 2)), [58, 64, 139, 154]);
    // Aᵀ stored: a as 3×2 [[1,2],[3,4],[5,6]] → op(A) = 2×3 [[1,3,5],[2,4,6]].
    assertEquals(Array.from(matmul(a, b, 2, 3, 2, { transA: true })), [89, 98, 116, 128]);
    // Bᵀ stored: b as 2×3 → op(B) 3×2 [[7,10],[8,11],[9,12]].
    assertEquals(Array.from(matmul(a, b, 2, 3, 2, { transB: true })), [50, 68, 122, 167]);
  });

  Deno.test(`${name} out reuse overwrites garbage, leaves the tail, and accumulate adds`, () => {
    const [m, k, n] = [19, 33, 21];
    const a = spec.from(randomArray(m * k, 7));
    const b = spec.from(randomArray(k * n, 8));
    const fresh = matmul(a, b, m, k, n);
    const out = spec.alloc(m * n + 5).fill(NaN) as T;
    out[m * n + 4] = 42;
    const got = matmul(a, b, m, k, n, { out });
    assertOk(got === out, "returns the out array");
    assertEquals(Array.from(out.subarray(0, m * n)), Array.from(fresh));
    assertEquals(out[m * n + 4], 42);

    const c0 = spec.from(randomArray(m * n, 9));
    const acc = spec.from(c0);
    matmul(a, b, m, k, n, { out: acc, accumulate: true });
    const { c, abs } = naiveGemm(a, b, m, k, n, false, false);
    const want = c.map((x, i) => x + c0[i]!);
    // One more rounding for the final add: widen the bound by |C0|.
    const ratio = boundRatio(acc, want, abs.map((x, i) => x + Math.abs(c0[i]!)), k + 1, spec.eps);
    assertOk(ratio <= 1, `accumulate error is ${ratio}× the bound`);
  });

  Deno.test(`${name} degenerate shapes: k = 0 gives zeros, m = 0 gives an empty result`, () => {
    assertEquals(Array.from(matmul(spec.alloc(0), spec.alloc(0), 2, 0, 3)), [0, 0, 0, 0, 0, 0]);
    const out = spec.from([1, 2]);
    matmul(spec.alloc(0), spec.alloc(0), 1, 0, 2, { out, accumulate: true });
    assertEquals(Array.from(out), [1, 2]);
    assertEquals(matmul(spec.alloc(0), spec.alloc(6), 0, 2, 3).length, 0);
  });

  Deno.test(`${name} rejects inconsistent shapes with messages naming the values`, () => {
    const x = spec.alloc(6);
    assertThrows(() => matmul(x, x, 3, 3, 2), RangeError, /a has 6 elements.*3×3/);
    assertThrows(() => matmul(x, x, 2, 3, 3), RangeError, /b has 6 elements.*3×3/);
    assertThrows(() => matmul(x, x, 2, 3, 2, { out: spec.alloc(3) }), RangeError, /out/);
    assertThrows(() => matmul(x, x, -1, 3, 2), RangeError, /m must be/);
    assertThrows(() => matmul(x, x, 2, 1.5, 2), RangeError, /k must be/);
    assertThrows(() => matmul(x, x, 2, 3, 2, { accumulate: true }), TypeError, /accumulate/);
  });

  Deno.test(`${name} reuses its scratch arena: repeated calls do not grow wasm memory`, () => {
    const [m, k, n] = [150, 130, 140];
    const a = spec.from(randomArray(m * k, 11));
    const b = spec.from(randomArray(k * n, 12));
    matmul(a, b, m, k, n);
    const after1 = kernelMemory.buffer.byteLength;
    for (let i = 0; i < 30; i++) matmul(a, b, m, k, n, { transA: i % 2 === 0 });
    // Smaller products fit in the arena already reserved.
    for (let i = 0; i < 30; i++) matmul(a, b, 20, 30, 40);
    assertEquals(kernelMemory.buffer.byteLength, after1);
    // Growth is bounded by the request: a product needing 2·big² + big²/4 more elements grows by
    // about that much.
    const big = spec.arenaBig;
    const x = spec.alloc(big * big);
    matmul(x, x, big, big, big >> 2);
    const grown = kernelMemory.buffer.byteLength - after1;
    assertOk(
      grown <= spec.bytes * (big * big * 2 + big * (big >> 2)) + (1 << 20),
      `grew by ${grown} bytes`,
    );
  });
}
