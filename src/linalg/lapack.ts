/**
 * The WebAssembly LAPACK backend: typed wrappers over `wasm/lapack.wasm` (LAPACK 3.11.0 and
 * reference BLAS compiled by `wasm/build.sh`, with SIMD128 dgemm/dgemv/dger linked in their place).
 * The module is an import-free Wasm ES-module import, so it loads with zero Deno permissions and
 * travels inside the module graph.
 *
 * Memory is managed explicitly: each call mallocs one block for all of its arrays inside the WASM
 * memory, copies in, calls LAPACK (Fortran calling convention: every argument by reference,
 * column-major arrays, hidden CHARACTER lengths last), copies out and frees in `finally`.
 *
 * Layout trick: a row-major m×n matrix is the column-major n×m matrix Aᵀ, so the SVD is taken
 * of Aᵀ = U′ S V′ᵀ; then u = V′ and vt = U′ᵀ lie in memory exactly as LAPACK writes them.
 * @module
 */
import * as wasm from "../../wasm/lapack.wasm";
import { NumericalError } from "../errors.ts";
import type { Matrix } from "./matrix.ts";
import { hasExtremeScale, maxAbs, powerOfTwoScale } from "./_validate.ts";
import type { RawSvd } from "./reference.ts";

const F64 = 8;
const I32 = 4;

/** Bytes of WASM linear memory currently reserved (grows, never shrinks; for leak tests). */
export function lapackMemoryBytes(): number {
  return wasm.memory.buffer.byteLength;
}

/** One named array of a {@linkcode Block}: `count` elements of `bytes` bytes. */
interface Part {
  count: number;
  bytes: 4 | 8;
}

/** One malloc'ed block holding named f64/i32 arrays; `free()` releases it. */
class Block {
  readonly base: number;
  readonly offsets: Record<string, number> = {};
  constructor(op: string, parts: Record<string, Part>) {
    let total = 0;
    for (const [name, { count, bytes }] of Object.entries(parts)) {
      total = Math.ceil(total / 8) * 8;
      this.offsets[name] = total;
      total += Math.max(count, 1) * bytes;
    }
    if (total > 2 ** 31 - 2 ** 24) {
      throw new NumericalError(
        `${op}: needs ${(total / 2 ** 20).toFixed(0)} MiB of WASM memory, more than the 2 GiB ` +
          `the LAPACK module can address; split the problem (e.g. use LowRankProduct)`,
      );
    }
    const base = wasm.malloc(total);
    if (base === 0) {
      throw new NumericalError(
        `${op}: could not allocate ${(total / 2 ** 20).toFixed(1)} MiB in WASM memory ` +
          `(limit 2 GiB); use smaller matrices or LowRankProduct`,
      );
    }
    this.base = base;
  }
  ptr(name: string): number {
    return this.base + this.offsets[name]!;
  }
  /** A fresh Float64Array view (views must be re-made after any malloc: memory may grow). */
  f64(name: string, count: number): Float64Array {
    return new Float64Array(wasm.memory.buffer, this.ptr(name), count);
  }
  i32(name: string, count: number): Int32Array {
    return new Int32Array(wasm.memory.buffer, this.ptr(name), count);
  }
  free(): void {
    wasm.free(this.base);
  }
}

/** The ASCII code of a one-character Fortran option, stored in an i32 cell. */
function setChar(block: Block, name: string, c: string): void {
  block.i32(name, 1)[0] = c.charCodeAt(0);
}

function setInts(block: Block, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) block.i32(name, 1)[0] = v;
}

/** Block parts: one i32 cell per name (the by-reference Fortran scalars and CHARACTERs). */
function i32Cells(...names: string[]): Record<string, Part> {
  return Object.fromEntries(names.map((name) => [name, { count: 1, bytes: I32 }]));
}

/** A block part of `count` f64 elements. */
function f64s(count: number): Part {
  return { count, bytes: F64 };
}

/** The workspace size a query call (LWORK = -1) left in `block`'s "query" cell, rounded up. */
function queriedLwork(block: Block): number {
  return Math.ceil(block.f64("query", 1)[0]!);
}

/** A fresh block holding the f64 workspace "work" of `lwork` elements. */
function workspace(op: string, lwork: number): Block {
  return new Block(`${op} workspace`, { work: f64s(lwork) });
}

/** The INFO a LAPACK call left in `block`'s "info" cell; throws for INFO < 0. */
function checkedInfo(block: Block, routine: string): number {
  const info = block.i32("info", 1)[0]!;
  checkArgInfo(routine, info);
  return info;
}

/** Copies row-major rows×cols `src` into `dst` column-major (leading dimension rows). */
function toColumnMajor(src: Float64Array, rows: number, cols: number, dst: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) dst[i + j * rows] = src[i * cols + j]!;
  }
}

/** A row-major copy of the column-major rows×cols matrix `cm` (leading dimension rows). */
function fromColumnMajor(cm: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[i * cols + j] = cm[i + j * rows]!;
  }
  return out;
}

/**
 * Divides `x` in place by 2^p ≈ max |x| (exact) when its scale is extreme (some |x| ≥ 2^512,
 * or ‖x‖ < 2^-450; see {@linkcode hasExtremeScale}), and returns the divisor (1 otherwise).
 * dgeqrf's reflectors (dlarfg) form α − β with |β| the column norm, which overflows once a norm
 * exceeds ~9e307 although R and Q are representable; and a product of two tiny factors loses
 * its digits to underflow. Other inputs run unchanged (cost: one pass).
 */
function divideIfExtreme(x: Float64Array): number {
  if (!hasExtremeScale(x)) return 1;
  const scale = powerOfTwoScale(x);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! / scale;
  return scale;
}

/** Raises a NumericalError for INFO < 0 (an argument LAPACK rejected: a bug in this wrapper). */
function checkArgInfo(routine: string, info: number): void {
  if (info < 0) {
    const namePtr = wasm.svl_xerbla_name();
    const bytes = new Uint8Array(wasm.memory.buffer, namePtr, 32);
    const end = bytes.indexOf(0);
    const name = new TextDecoder().decode(bytes.subarray(0, end < 0 ? 32 : end)).trim();
    throw new NumericalError(
      `LAPACK ${routine}: argument ${-info} had an illegal value` +
        (name ? ` (reported by ${name})` : "") +
        `; this is a bug in svlens's LAPACK wrapper, please report it`,
    );
  }
}

type SvdDriver = "dgesdd" | "dgesvd";

/**
 * Thin SVD with LAPACK: dgesdd (divide and conquer), falling back to dgesvd (QR iteration) if
 * dgesdd reports INFO > 0 (failed to converge). Input assumed finite and non-empty.
 */
export function lapackSvd(a: Matrix, options: { driver?: SvdDriver } = {}): RawSvd {
  const m = a.rows, n = a.cols, k = Math.min(m, n);
  const driver = options.driver ?? "dgesdd";
  let info = callSvd(driver, a);
  if (info.info > 0 && driver === "dgesdd") info = callSvd("dgesvd", a);
  if (info.info > 0) {
    throw new NumericalError(
      `LAPACK ${info.driver}: the SVD of a ${m}×${n} matrix did not converge (INFO = ` +
        `${info.info}); check the input for extreme scaling (max |a| = ${maxAbs(a.data)})`,
    );
  }
  return {
    u: { rows: m, cols: k, data: info.u },
    s: info.s,
    vt: { rows: k, cols: n, data: info.vt },
  };
}

function callSvd(
  driver: SvdDriver,
  a: Matrix,
): { driver: SvdDriver; info: number; u: Float64Array; s: Float64Array; vt: Float64Array } {
  // LAPACK sees Aᵀ: M = n rows, N = m columns (column-major), see the module note.
  const M = a.cols, N = a.rows, k = Math.min(M, N);
  const ldu = Math.max(M, 1), ldvt = Math.max(k, 1);
  const block = new Block(`svd (${driver})`, {
    ...i32Cells("jobz", "m", "n", "lda", "ldu", "ldvt", "lwork", "info"),
    query: f64s(1),
    a: f64s(M * N),
    s: f64s(k),
    u: f64s(M * k),
    vt: f64s(k * N),
    iwork: { count: 8 * k, bytes: I32 },
  });
  let work: Block | undefined;
  try {
    setChar(block, "jobz", "S");
    setInts(block, { m: M, n: N, lda: Math.max(M, 1), ldu, ldvt });
    const run = (workPtr: number, lwork: number): number => {
      setInts(block, { lwork, info: 0 });
      block.f64("a", M * N).set(a.data); // dgesdd/dgesvd overwrite A: refill on every call
      wasm.svl_xerbla_reset();
      const p = (name: string): number => block.ptr(name);
      if (driver === "dgesdd") {
        wasm.dgesdd_(
          p("jobz"),
          p("m"),
          p("n"),
          p("a"),
          p("lda"),
          p("s"),
          p("u"),
          p("ldu"),
          p("vt"),
          p("ldvt"),
          workPtr,
          p("lwork"),
          p("iwork"),
          p("info"),
          1,
        );
      } else {
        wasm.dgesvd_(
          p("jobz"),
          p("jobz"),
          p("m"),
          p("n"),
          p("a"),
          p("lda"),
          p("s"),
          p("u"),
          p("ldu"),
          p("vt"),
          p("ldvt"),
          workPtr,
          p("lwork"),
          p("info"),
          1,
          1,
        );
      }
      return checkedInfo(block, driver);
    };
    run(block.ptr("query"), -1);
    const lwork = Math.max(1, queriedLwork(block));
    work = workspace(`svd (${driver})`, lwork);
    const info = run(work.ptr("work"), lwork);
    // u (row-major m×k) = V′ = VT′ᵀ: the bytes of VT′; vt (k×n) = U′ᵀ: the bytes of U′.
    return {
      driver,
      info,
      s: Float64Array.from(block.f64("s", k)),
      u: Float64Array.from(block.f64("vt", k * N)),
      vt: Float64Array.from(block.f64("u", M * k)),
    };
  } finally {
    work?.free();
    block.free();
  }
}

/** Thin QR with dgeqrf + dorgqr; returns row-major q (m×k) and r (k×n), k = min(m, n). */
export function lapackQr(a: Matrix): { q: Matrix; r: Matrix } {
  const m = a.rows, n = a.cols, k = Math.min(m, n);
  const block = new Block("qr", {
    ...i32Cells("m", "n", "k", "lda", "lwork", "info"),
    query: f64s(1),
    a: f64s(m * n),
    tau: f64s(k),
  });
  let work: Block | undefined;
  try {
    setInts(block, { m, n, k, lda: Math.max(m, 1) });
    toColumnMajor(a.data, m, n, block.f64("a", m * n));
    const scale = divideIfExtreme(block.f64("a", m * n));
    const p = (name: string): number => block.ptr(name);
    const call = (routine: "dgeqrf" | "dorgqr", workPtr: number, lwork: number): void => {
      setInts(block, { lwork, info: 0 });
      wasm.svl_xerbla_reset();
      if (routine === "dgeqrf") {
        wasm.dgeqrf_(p("m"), p("n"), p("a"), p("lda"), p("tau"), workPtr, p("lwork"), p("info"));
      } else {
        wasm.dorgqr_(
          p("m"),
          p("k"),
          p("k"),
          p("a"),
          p("lda"),
          p("tau"),
          workPtr,
          p("lwork"),
          p("info"),
        );
      }
      checkedInfo(block, routine);
    };
    call("dgeqrf", p("query"), -1);
    let lwork = queriedLwork(block);
    call("dorgqr", p("query"), -1);
    lwork = Math.max(1, lwork, queriedLwork(block));
    work = workspace("qr", lwork);
    call("dgeqrf", work.ptr("work"), lwork);
    // R: upper triangle of the first k rows (column-major in memory).
    const r = new Float64Array(k * n);
    const cm = block.f64("a", m * n);
    for (let i = 0; i < k; i++) {
      for (let j = i; j < n; j++) r[i * n + j] = cm[i + j * m]! * scale;
    }
    call("dorgqr", work.ptr("work"), lwork);
    const q = fromColumnMajor(block.f64("a", m * k), m, k);
    return { q: { rows: m, cols: k, data: q }, r: { rows: k, cols: n, data: r } };
  } finally {
    work?.free();
    block.free();
  }
}

/**
 * Thin SVD of the product a·b (a: m×r, b: r×n) without forming it, entirely inside WASM
 * (`svl_lowrank_svd`, wasm/lapack/lowrank.c): blocked Householder QR of a and bᵀ (a = Q₁R₁,
 * bᵀ = Q₂R₂; dgeqrf's algorithm, also returning T of the compact WY form Q = I − Y T Yᵀ), core
 * R₁R₂ᵀ by dgemm, dgesdd of the core, then U = Q₁[Û; 0] and V = Q₂[V̂; 0] (Q₁, Q₂ are never
 * formed). Returns kc = min(m, n, r) triplets (descending). Inputs finite with m, n, r ≥ 1.
 *
 * Applying Q to [Ĉ; 0] only needs Yᵀ[Ĉ; 0] = Y₁ᵀĈ, Y₁ the top k×k block of Y: three dgemm
 * calls, two of them k×k, and one m×k·k×kc. That is about half of dormqr's flops, which applies
 * the reflectors in blocks and so cannot use the zero rows of [Ĉ; 0] after its first block. U is
 * computed transposed (column-major kc×m), which is row-major U as returned; V (n×kc) likewise
 * is row-major Vᵀ.
 *
 * `extreme` says whether a and b are of extreme scale (see {@linkcode divideIfExtreme}); callers
 * that have scanned the factors already pass it, otherwise it is computed here.
 */
export function lapackLowRankSvd(
  a: Matrix,
  b: Matrix,
  extreme: { a: boolean; b: boolean } = {
    a: hasExtremeScale(a.data),
    b: hasExtremeScale(b.data),
  },
): RawSvd {
  const m = a.rows, r = a.cols, n = b.cols;
  const kc = Math.min(m, n, r);
  const block = new Block("LowRankProduct.svd", {
    query: f64s(1),
    aRows: f64s(m * r),
    a: f64s(m * r),
    bt: f64s(n * r),
    s: f64s(kc),
    ut: f64s(kc * m),
    v: f64s(n * kc),
    iwork: { count: 8 * kc, bytes: I32 },
  });
  let work: Block | undefined;
  try {
    const p = (name: string): number => block.ptr(name);
    const call = (workPtr: number, lwork: number): number => {
      wasm.svl_xerbla_reset();
      const info = wasm.svl_lowrank_svd(
        m,
        n,
        r,
        p("a"),
        p("bt"),
        p("s"),
        p("ut"),
        p("v"),
        workPtr,
        lwork,
        p("iwork"),
      );
      checkArgInfo("svl_lowrank_svd", info);
      return info;
    };
    // Workspace: the query's answer (shape-dependent only, so cached for repeats).
    const key = `${m},${n},${r}`;
    let lwork = lworkCache.get(key) ?? 0;
    if (lwork === 0) {
      call(p("query"), -1);
      lwork = Math.max(1, queriedLwork(block));
      if (lworkCache.size >= 16) lworkCache.clear();
      lworkCache.set(key, lwork);
    }
    work = workspace("LowRankProduct.svd", lwork);
    block.f64("aRows", m * r).set(a.data);
    wasm.svl_transpose(m, r, p("aRows"), p("a"));
    block.f64("bt", n * r).set(b.data); // row-major b is column-major bᵀ (n×r) as is
    // Factors with 2^-450 ≤ ‖·‖_F < 2^512 keep the core finite and normal (|core entries| ≤
    // ‖a‖_F‖b‖_F); others are scaled, and only s · scaleA · scaleB can then overflow or
    // underflow (overflow is checked by the caller; an underflowing σ is below any cutoff).
    const scaleA = extreme.a ? divideIfExtreme(block.f64("a", m * r)) : 1;
    const scaleB = extreme.b ? divideIfExtreme(block.f64("bt", n * r)) : 1;
    const info = call(work.ptr("work"), lwork);
    if (info > 0) {
      throw new NumericalError(
        `LAPACK dgesdd: the ${Math.min(m, r)}×${Math.min(n, r)} core SVD of a factored ${m}×${n} ` +
          `matrix did not converge (INFO = ${info}); try svd(product.toDense()) which falls ` +
          `back to dgesvd`,
      );
    }
    const s = block.f64("s", kc).slice();
    if (scaleA !== 1 || scaleB !== 1) {
      for (let i = 0; i < kc; i++) s[i] = s[i]! * scaleA * scaleB;
    }
    // Column-major Uᵀ (kc×m) is row-major u (m×kc), column-major V (n×kc) row-major vt (kc×n).
    return {
      u: { rows: m, cols: kc, data: block.f64("ut", kc * m).slice() },
      s,
      vt: { rows: kc, cols: n, data: block.f64("v", n * kc).slice() },
    };
  } finally {
    work?.free();
    block.free();
  }
}

/** LowRankProduct.svd workspace sizes by "m,n,r" (the query's answer depends on the shape only). */
const lworkCache = new Map<string, number>();

/** Symmetric eigendecomposition with dsyevd: ascending values, eigenvectors as columns. */
export function lapackEigh(a: Matrix): { values: Float64Array; vectors: Matrix } {
  const n = a.rows;
  const block = new Block("eigh", {
    ...i32Cells("jobz", "uplo", "n", "lda", "lwork", "liwork", "info"),
    query: f64s(1),
    iquery: { count: 1, bytes: I32 },
    a: f64s(n * n),
    w: f64s(n),
  });
  let work: Block | undefined;
  try {
    setChar(block, "jobz", "V");
    setChar(block, "uplo", "L");
    setInts(block, { n, lda: Math.max(n, 1) });
    // Symmetric part, so the triangle LAPACK reads carries both halves' information; halves
    // are added separately where x + y would overflow (entries above ~9e307).
    const av = block.f64("a", n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = a.data[i * n + j]!, y = a.data[j * n + i]!, sum = x + y;
        av[i + j * n] = Number.isFinite(sum) ? 0.5 * sum : 0.5 * x + 0.5 * y;
      }
    }
    const p = (name: string): number => block.ptr(name);
    const call = (workPtr: number, lwork: number, iworkPtr: number, liwork: number): number => {
      setInts(block, { lwork, liwork, info: 0 });
      wasm.svl_xerbla_reset();
      wasm.dsyevd_(
        p("jobz"),
        p("uplo"),
        p("n"),
        p("a"),
        p("lda"),
        p("w"),
        workPtr,
        p("lwork"),
        iworkPtr,
        p("liwork"),
        p("info"),
        1,
        1,
      );
      return checkedInfo(block, "dsyevd");
    };
    call(p("query"), -1, p("iquery"), -1);
    const lwork = Math.max(1, queriedLwork(block));
    const liwork = Math.max(1, block.i32("iquery", 1)[0]!);
    work = new Block("eigh workspace", {
      work: f64s(lwork),
      iwork: { count: liwork, bytes: I32 },
    });
    const info = call(work.ptr("work"), lwork, work.ptr("iwork"), liwork);
    if (info > 0) {
      throw new NumericalError(
        `LAPACK dsyevd: the eigendecomposition of a ${n}×${n} matrix did not converge ` +
          `(INFO = ${info}); check the input for extreme scaling`,
      );
    }
    const values = Float64Array.from(block.f64("w", n));
    const vectors = fromColumnMajor(block.f64("a", n * n), n, n);
    return { values, vectors: { rows: n, cols: n, data: vectors } };
  } finally {
    work?.free();
    block.free();
  }
}

/** Solves a·x = b (a n×n, b n×p) with dgetrf + dgetrs; NumericalError if a is singular. */
export function lapackSolve(a: Matrix, b: Matrix): Matrix {
  const n = a.rows, nrhs = b.cols;
  const block = new Block("solve", {
    ...i32Cells("trans", "n", "nrhs", "lda", "info"),
    a: f64s(n * n),
    ipiv: { count: n, bytes: I32 },
    b: f64s(n * nrhs),
  });
  try {
    // Row-major a is column-major aᵀ: factor aᵀ = P L U, then solve (aᵀ)ᵀ x = b with TRANS = 'T'.
    setChar(block, "trans", "T");
    setInts(block, { n, nrhs, lda: Math.max(n, 1), info: 0 });
    block.f64("a", n * n).set(a.data);
    toColumnMajor(b.data, n, nrhs, block.f64("b", n * nrhs));
    const p = (name: string): number => block.ptr(name);
    wasm.svl_xerbla_reset();
    wasm.dgetrf_(p("n"), p("n"), p("a"), p("lda"), p("ipiv"), p("info"));
    const info = checkedInfo(block, "dgetrf");
    if (info > 0) {
      throw new NumericalError(
        `solve: the ${n}×${n} matrix is singular (LAPACK dgetrf: U[${info - 1}, ${info - 1}] ` +
          `is exactly zero); use pinv for a least-squares solution`,
      );
    }
    wasm.dgetrs_(
      p("trans"),
      p("n"),
      p("nrhs"),
      p("a"),
      p("lda"),
      p("ipiv"),
      p("b"),
      p("lda"),
      p("info"),
      1,
    );
    checkedInfo(block, "dgetrs");
    return { rows: n, cols: nrhs, data: fromColumnMajor(block.f64("b", n * nrhs), n, nrhs) };
  } finally {
    block.free();
  }
}
