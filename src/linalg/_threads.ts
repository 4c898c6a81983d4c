/**
 * Multi-threaded GEMM: the thread-shareable twin of the kernels (wasm/kernels_mt.wasm) runs on one
 * shared WebAssembly.Memory in the calling thread and in `threads − 1` helper workers. Calls stay
 * synchronous: the caller posts each helper its block of C through a control block in shared
 * memory, computes its own block, then `Atomics.wait`s for the helpers.
 *
 * Helpers are `node:worker_threads` workers evaluated from a source string: that needs no
 * permissions (Deno's web Workers need read access to a worker file), and they are `unref`ed, so
 * an idle pool never keeps the process alive. If the pool cannot start, callers fall back to one
 * thread; {@linkcode matmulThreadsActive} tells which happened.
 * @module
 */
import { Worker } from "node:worker_threads";
import kernelsMt from "./_kernels_mt_source.js";
import type { GemmKernel } from "./_kernels.ts";

const PAGE = 65536;
const MAX_PAGES = 65536;
const CTRL_INTS = 32;
const STACK_BYTES = 64 * 1024;
/** How long a helper may take to start before we give up on threads (ms). */
const START_TIMEOUT_MS = 30_000;
/** How long to wait for a helper's block before declaring the pool broken (ms). */
const JOB_TIMEOUT_MS = 600_000;

// Control block of helper t (Int32 slots): 0 job sequence (caller → helper), 1 done sequence
// (helper → caller), 2 state (0 starting, 1 ready, 2 failed), 3 shutdown, 4 kind (0 f32, 1 f64),
// 5..18 kernel arguments (m n k a rsa csa b rsb csb beta c rsc csc work), 19 status (0 ok).
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
parentPort.once("message", ({ module, memory, ctrlByte, stackTop }) => {
  const ctrl = new Int32Array(memory.buffer, ctrlByte, ${CTRL_INTS});
  let ex;
  try {
    ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
    ex.__stack_pointer.value = stackTop;
    Atomics.store(ctrl, 2, 1);
  } catch {
    Atomics.store(ctrl, 2, 2);
  }
  Atomics.notify(ctrl, 2);
  if (Atomics.load(ctrl, 2) !== 1) return;
  let seq = 0;
  for (;;) {
    Atomics.wait(ctrl, 0, seq);
    const s = Atomics.load(ctrl, 0);
    if (s === seq) continue;
    seq = s;
    if (Atomics.load(ctrl, 3) === 1) break;
    let status = 0;
    try {
      const f = ctrl[4] === 0 ? ex.svl_sgemm : ex.svl_dgemm;
      f(ctrl[5], ctrl[6], ctrl[7], 1, ctrl[8], ctrl[9], ctrl[10], ctrl[11], ctrl[12], ctrl[13],
        ctrl[14], ctrl[15], ctrl[16], ctrl[17], ctrl[18]);
    } catch {
      status = 1;
    }
    ctrl[19] = status;
    Atomics.store(ctrl, 1, seq);
    Atomics.notify(ctrl, 1);
  }
});
`;

interface MtExports {
  svl_sgemm: GemmKernel;
  svl_dgemm: GemmKernel;
  svl_sgemm_work_len: () => number;
  svl_dgemm_work_len: () => number;
  __heap_base: WebAssembly.Global;
}

/** A started pool: the shared memory, this thread's instance, and the helpers. */
export interface ThreadPool {
  /** Threads in all (helpers + the calling thread). */
  readonly threads: number;
  /** The shared memory every thread's instance runs on. */
  readonly memory: WebAssembly.Memory;
  /** Returns the byte offset of a scratch region of `bytes` bytes in `memory` (grow-only). */
  reserve(bytes: number): number;
  /** Work-buffer elements one thread needs, per element type (0 f32, 1 f64). */
  workLen(kind: 0 | 1): number;
  /**
   * Runs `C = A·B + beta·C` (strided, byte-offset pointers into `memory`), split into one block of
   * C per thread (at most `threads`); thread t uses the work buffer at `work + t·workBytes`.
   */
  gemm(kind: 0 | 1, args: GemmArgs, work: number, workBytes: number, threads: number): void;
}

/** Arguments of one strided kernel call (pointers are byte offsets, alpha = 1). */
export interface GemmArgs {
  m: number;
  n: number;
  k: number;
  a: number;
  rsa: number;
  csa: number;
  b: number;
  rsb: number;
  csb: number;
  beta: number;
  c: number;
  rsc: number;
  csc: number;
}

let pool: Pool | undefined;
let failure: string | undefined;

/**
 * The shared pool with at least `threads` threads, started on first use; undefined if it could
 * not start (then the caller runs on one thread).
 */
export function threadPool(threads: number): ThreadPool | undefined {
  if (pool !== undefined && pool.threads >= threads && !pool.broken) return pool;
  if (failure !== undefined) return undefined;
  closeMatmulThreads();
  try {
    pool = new Pool(threads);
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
    pool = undefined;
  }
  return pool;
}

/**
 * Stops the matmul helper threads (they are also `unref`ed, so they never keep the process
 * alive). A later call with `threads > 1` starts them again.
 */
export function closeMatmulThreads(): void {
  pool?.close();
  pool = undefined;
}

/**
 * How many threads the last threaded matmul could use: the pool's size, or 1 if the pool is not
 * started or failed to start (with the reason).
 */
export function matmulThreadsActive(): { threads: number; failure?: string } {
  return pool === undefined || pool.broken
    ? { threads: 1, ...(failure === undefined ? {} : { failure }) }
    : { threads: pool.threads };
}

class Pool implements ThreadPool {
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  broken = false;
  readonly #exports: MtExports;
  readonly #workers: Worker[] = [];
  readonly #ctrl: Int32Array[] = [];
  readonly #arenaBase: number;
  #seq = 0;

  constructor(threads: number) {
    this.threads = threads;
    this.memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(kernelsMt, { env: { memory: this.memory } });
    this.#exports = instance.exports as unknown as MtExports;
    const heapBase = Math.ceil(Number(this.#exports.__heap_base.value) / 16) * 16;
    const helpers = threads - 1;
    const stacksBase = heapBase + helpers * CTRL_INTS * 4;
    this.#arenaBase = stacksBase + helpers * STACK_BYTES;
    this.#grow(this.#arenaBase);
    try {
      for (let t = 0; t < helpers; t++) {
        const ctrlByte = heapBase + t * CTRL_INTS * 4;
        const ctrl = new Int32Array(this.memory.buffer, ctrlByte, CTRL_INTS);
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        worker.unref();
        worker.on("error", () => {
          this.broken = true;
        });
        worker.postMessage({
          module: kernelsMt,
          memory: this.memory,
          ctrlByte,
          stackTop: stacksBase + (t + 1) * STACK_BYTES,
        });
        this.#workers.push(worker);
        this.#ctrl.push(ctrl);
      }
      for (const ctrl of this.#ctrl) {
        // Deno runs workers on their own threads and event loops, so blocking here is safe.
        Atomics.wait(ctrl, 2, 0, START_TIMEOUT_MS);
        const state = Atomics.load(ctrl, 2);
        if (state !== 1) {
          throw new Error(
            state === 0
              ? `a matmul helper thread did not start within ${START_TIMEOUT_MS} ms`
              : "a matmul helper thread could not instantiate kernels_mt.wasm",
          );
        }
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  reserve(bytes: number): number {
    this.#grow(this.#arenaBase + bytes);
    return this.#arenaBase;
  }

  workLen(kind: 0 | 1): number {
    return kind === 0 ? this.#exports.svl_sgemm_work_len() : this.#exports.svl_dgemm_work_len();
  }

  gemm(kind: 0 | 1, args: GemmArgs, work: number, workBytes: number, threads: number): void {
    const e = kind === 0 ? 4 : 8;
    const parts = splitBlocks(args, Math.min(threads, this.threads), e);
    const seq = ++this.#seq;
    const posted: Int32Array[] = [];
    for (let t = 1; t < parts.length; t++) {
      const p = parts[t]!;
      const ctrl = this.#ctrl[t - 1]!;
      ctrl[4] = kind;
      ctrl.set(
        [p.m, p.n, p.k, p.a, p.rsa, p.csa, p.b, p.rsb, p.csb, p.beta, p.c, p.rsc, p.csc],
        5,
      );
      ctrl[18] = work + t * workBytes;
      Atomics.store(ctrl, 0, seq);
      Atomics.notify(ctrl, 0);
      posted.push(ctrl);
    }
    const own = parts[0]!;
    const run = kind === 0 ? this.#exports.svl_sgemm : this.#exports.svl_dgemm;
    run(
      own.m,
      own.n,
      own.k,
      1,
      own.a,
      own.rsa,
      own.csa,
      own.b,
      own.rsb,
      own.csb,
      own.beta,
      own.c,
      own.rsc,
      own.csc,
      work,
    );
    for (const ctrl of posted) {
      const deadline = performance.now() + JOB_TIMEOUT_MS;
      while (Atomics.load(ctrl, 1) !== seq) {
        Atomics.wait(ctrl, 1, seq - 1, 1000);
        if (performance.now() > deadline) {
          this.broken = true;
          throw new Error(`a matmul helper thread did not answer within ${JOB_TIMEOUT_MS} ms`);
        }
      }
      if (ctrl[19] !== 0) {
        this.broken = true;
        throw new Error("a matmul helper thread's kernel trapped");
      }
    }
  }

  close(): void {
    for (const ctrl of this.#ctrl) {
      Atomics.store(ctrl, 3, 1);
      Atomics.add(ctrl, 0, 1);
      Atomics.notify(ctrl, 0);
    }
    for (const worker of this.#workers) void worker.terminate();
    this.#workers.length = 0;
    this.#ctrl.length = 0;
    this.broken = true;
  }

  #grow(end: number): void {
    if (end > MAX_PAGES * PAGE) {
      throw new RangeError(
        `linalg kernels: a scratch of ${end} bytes exceeds the 4 GiB WebAssembly address space; ` +
          `split the product into smaller blocks`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
  }
}

/**
 * Splits C into at most `threads` blocks along its longer side, block edges on multiples of the
 * micro-tile (24 rows / 16 columns), so each thread packs only its share of A (rows) or B (cols).
 */
function splitBlocks(g: GemmArgs, threads: number, e: number): GemmArgs[] {
  const byRows = g.m >= g.n;
  const len = byRows ? g.m : g.n;
  const align = byRows ? 24 : 16;
  const chunk = Math.max(align, Math.ceil(len / threads / align) * align);
  const parts: GemmArgs[] = [];
  for (let s = 0; s < len; s += chunk) {
    const size = Math.min(chunk, len - s);
    parts.push(
      byRows
        ? { ...g, m: size, a: g.a + s * g.rsa * e, c: g.c + s * g.rsc * e }
        : { ...g, n: size, b: g.b + s * g.csb * e, c: g.c + s * g.csc * e },
    );
  }
  return parts;
}
