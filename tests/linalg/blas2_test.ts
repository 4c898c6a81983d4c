/**
 * The SIMD128 dgemv_/dger_ and the fused dlarf_ linked into lapack.wasm (wasm/lapack/blas2.c)
 * against plain-loop oracles written from the reference BLAS/LAPACK definitions: transposes,
 * increments (negative too), leading dimension > rows, alpha/beta special values, beta = 0
 * ignoring NaN in y, dgemv's four-column blocks with a remainder, dlarf's both sides with
 * trailing zeros in v and C; dnrm2_'s SIMD fast path and its fallback to Blue's scaled sums.
 */
import * as wasm from "../../wasm/lapack.wasm";
import { Rng } from "../../src/linalg/mod.ts";
import { assertAllClose } from "../_assert.ts";

/** Copies values into freshly malloc'ed WASM memory; returns pointers and a free-all. */
function alloc(values: Record<string, Float64Array | Int32Array>): {
  ptr: Record<string, number>;
  read: (name: string, n: number) => Float64Array;
  free: () => void;
} {
  const ptr: Record<string, number> = {};
  for (const [name, v] of Object.entries(values)) {
    ptr[name] = wasm.malloc(Math.max(v.byteLength, 8));
    const view = v instanceof Float64Array
      ? new Float64Array(wasm.memory.buffer, ptr[name], v.length)
      : new Int32Array(wasm.memory.buffer, ptr[name], v.length);
    view.set(v as never);
  }
  return {
    ptr,
    read: (name, n) => Float64Array.from(new Float64Array(wasm.memory.buffer, ptr[name], n)),
    free: () => Object.values(ptr).forEach((p) => wasm.free(p)),
  };
}

/** One i32 cell per BLAS integer argument (Fortran passes every scalar by reference). */
function intCells(values: Record<string, number>): Record<string, Int32Array> {
  return Object.fromEntries(Object.entries(values).map(([name, v]) => [name, Int32Array.of(v)]));
}

/** Element i (0-based) of a BLAS vector of length n with increment inc. */
function idx(i: number, n: number, inc: number): number {
  return inc > 0 ? i * inc : (n - 1 - i) * -inc;
}

Deno.test("blas2: SIMD dgemv_ matches the reference definition", () => {
  const rng = new Rng(50);
  for (const trans of ["N", "T"]) {
    for (
      const [m, n, lda, incx, incy] of [
        [7, 5, 9, 1, 1],
        [33, 17, 33, 2, -1],
        [1, 9, 3, -2, 3],
        [37, 11, 40, 1, 2],
      ]
    ) {
      for (const [alpha, beta] of [[1.5, 0], [-0.5, 2], [0, 0.5], [1, 1]]) {
        const lenx = trans === "N" ? n! : m!, leny = trans === "N" ? m! : n!;
        const a = rng.normals(lda! * n!);
        const x = rng.normals(1 + (lenx - 1) * Math.abs(incx!));
        const y = rng.normals(1 + (leny - 1) * Math.abs(incy!));
        // beta = 0 must not read y (NaN there must vanish); the gaps between strided entries
        // keep finite values that must stay untouched.
        if (beta === 0) { for (let i = 0; i < leny; i++) y[idx(i, leny, incy!)] = NaN; }
        const expected = Float64Array.from(y);
        for (let i = 0; i < leny; i++) {
          let s = 0;
          for (let p = 0; p < lenx; p++) {
            const aij = trans === "N" ? a[i + p * lda!]! : a[p + i * lda!]!;
            s += aij * x[idx(p, lenx, incx!)]!;
          }
          const yi = idx(i, leny, incy!);
          expected[yi] = alpha! * s + (beta === 0 ? 0 : beta! * y[yi]!);
        }
        const mem = alloc({
          ...intCells({
            trans: trans.charCodeAt(0),
            m: m!,
            n: n!,
            lda: lda!,
            incx: incx!,
            incy: incy!,
          }),
          alpha: Float64Array.of(alpha!),
          beta: Float64Array.of(beta!),
          a,
          x,
          y,
        });
        try {
          const p = mem.ptr;
          wasm.dgemv_(
            p.trans!,
            p.m!,
            p.n!,
            p.alpha!,
            p.a!,
            p.lda!,
            p.x!,
            p.incx!,
            p.beta!,
            p.y!,
            p.incy!,
            1,
          );
          const got = mem.read("y", y.length);
          assertAllClose(got, expected, 1e-13, `dgemv ${trans} ${m}×${n} α=${alpha} β=${beta}`);
        } finally {
          mem.free();
        }
      }
    }
  }
});

Deno.test("blas2: SIMD dger_ matches the reference definition", () => {
  const rng = new Rng(51);
  for (
    const [m, n, lda, incx, incy, alpha] of [[9, 4, 11, 1, 1, 0.7], [17, 6, 17, -1, 2, -2], [
      3,
      3,
      3,
      3,
      -3,
      0,
    ]]
  ) {
    const a = rng.normals(lda! * n!);
    const x = rng.normals(1 + (m! - 1) * Math.abs(incx!));
    const y = rng.normals(1 + (n! - 1) * Math.abs(incy!));
    const expected = Float64Array.from(a);
    for (let j = 0; j < n!; j++) {
      for (let i = 0; i < m!; i++) {
        expected[i + j * lda!] = a[i + j * lda!]! +
          alpha! * x[idx(i, m!, incx!)]! * y[idx(j, n!, incy!)]!;
      }
    }
    const mem = alloc({
      ...intCells({ m: m!, n: n!, lda: lda!, incx: incx!, incy: incy! }),
      alpha: Float64Array.of(alpha!),
      a,
      x,
      y,
    });
    try {
      const p = mem.ptr;
      wasm.dger_(p.m!, p.n!, p.alpha!, p.x!, p.incx!, p.y!, p.incy!, p.a!, p.lda!);
      assertAllClose(mem.read("a", a.length), expected, 1e-14, `dger ${m}×${n}`);
    } finally {
      mem.free();
    }
  }
});

Deno.test("blas2: fused dlarf_ applies H = I − τ v vᵀ like the reference definition", () => {
  const rng = new Rng(52);
  for (const side of ["L", "R"]) {
    for (
      const [m, n, ldc, incv, tau, zeroTail] of [
        [9, 5, 11, 1, 1.3, 0],
        [37, 13, 37, 1, 0.4, 3],
        [6, 8, 7, 2, -0.9, 1],
        [12, 7, 12, 3, 1.1, 2],
        [5, 4, 5, 1, 0, 0],
      ]
    ) {
      const len = side === "L" ? m! : n!;
      const v = rng.normals(1 + (len - 1) * Math.abs(incv!));
      // Trailing zeros in v (dlarf trims them) and, on the other side, zero columns or rows of C.
      // Positive increments only, as LAPACK calls it (the reference trimming assumes them).
      for (let i = len - zeroTail!; i < len; i++) v[idx(i, len, incv!)] = 0;
      const c = rng.normals(ldc! * n!);
      if (side === "L") c.fill(0, (n! - 1) * ldc!);
      else for (let j = 0; j < n!; j++) c[m! - 1 + j * ldc!] = 0;
      const vi = (i: number): number => v[idx(i, len, incv!)]!;
      const expected = Float64Array.from(c);
      for (let i = 0; i < m!; i++) {
        for (let j = 0; j < n!; j++) {
          // (H C)(i, j) = C(i, j) − τ v_i Σ_p v_p C(p, j);  (C H)(i, j) = C(i, j) − τ (Σ_p C(i, p) v_p) v_j
          let s = 0;
          if (side === "L") { for (let q = 0; q < m!; q++) s += vi(q) * c[q + j * ldc!]!; }
          else for (let q = 0; q < n!; q++) s += c[i + q * ldc!]! * vi(q);
          expected[i + j * ldc!] = c[i + j * ldc!]! - tau! * s * (side === "L" ? vi(i) : vi(j));
        }
      }
      const mem = alloc({
        ...intCells({ side: side.charCodeAt(0), m: m!, n: n!, ldc: ldc!, incv: incv! }),
        tau: Float64Array.of(tau!),
        v,
        c,
        work: new Float64Array(Math.max(m!, n!)),
      });
      try {
        const p = mem.ptr;
        wasm.dlarf_(p.side!, p.m!, p.n!, p.v!, p.incv!, p.tau!, p.c!, p.ldc!, p.work!, 1);
        assertAllClose(mem.read("c", c.length), expected, 1e-13, `dlarf ${side} ${m}×${n}`);
      } finally {
        mem.free();
      }
    }
  }
});

Deno.test("blas2: dnrm2_ is ‖x‖₂ to rounding, fast path and scaled (tiny, huge, subnormal) cases", () => {
  const rng = new Rng(53);
  /** ‖x‖₂ computed with scaling by max |x| (no overflow or underflow in the squares). */
  const oracle = (x: number[]): number => {
    const big = Math.max(0, ...x.map(Math.abs));
    if (big === 0) return 0;
    return big * Math.sqrt(x.reduce((acc, v) => acc + (v / big) ** 2, 0));
  };
  const normals = (n: number, scale: number): number[] =>
    Array.from(rng.normals(n), (v) => v * scale);
  const cases: Array<[string, number[]]> = [
    ["empty", []],
    ["one", [-3]],
    ["odd length", normals(7, 1)],
    ["zeros among values", [0, 3, 0, 0, 4, 0, 0]],
    ["all zero", [0, 0, 0, 0, 0]],
    ["long", normals(769, 1)],
    ["tiny (squares underflow)", normals(37, 1e-160)],
    ["subnormal", normals(9, 1e-310)],
    ["huge (squares overflow)", normals(37, 1e200)],
    ["near the top", [1e308, -1e308, 5e307]],
    ["huge and moderate", [...normals(10, 1), 1e300, ...normals(11, 1)]],
    ["tiny and moderate", [...normals(10, 1), 1e-170, ...normals(5, 1e-3)]],
    ["tiny only in the tail", [...normals(8, 1), 2e-160]],
  ];
  for (const [name, x] of cases) {
    for (const inc of [1, 2, -1]) {
      const n = x.length, len = n === 0 ? 1 : 1 + (n - 1) * Math.abs(inc);
      const data = new Float64Array(len).fill(7); // gaps between strided entries must be skipped
      x.forEach((v, i) => data[idx(i, n, inc)] = v);
      const mem = alloc({ ...intCells({ n, inc }), x: data });
      try {
        const got = wasm.dnrm2_(mem.ptr.n!, mem.ptr.x!, mem.ptr.inc!);
        const want = oracle(x);
        const err = want === 0 ? Math.abs(got) : Math.abs(got - want) / want;
        assertAllClose([err], [0], 4e-16 * Math.max(1, Math.sqrt(n)), `dnrm2 ${name}, inc ${inc}`);
      } finally {
        mem.free();
      }
    }
  }
});
