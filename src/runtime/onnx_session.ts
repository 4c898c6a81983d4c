/**
 * Runs svlens-built ONNX graphs with onnxruntime-web (WebAssembly, {@linkcode DEFAULT_THREADS}
 * threads by default; with more than 1, on a pre-sized heap: see `wasm_heap.ts`).
 *
 * The runtime's 14 MB `ort-wasm-simd-threaded.wasm` is handed to onnxruntime as
 * `env.wasm.wasmBinary`, so onnxruntime never reads files itself. The bytes come, in order:
 * 1. through the module graph (`import … with { type: "bytes" }`): needs only the
 *    `--unstable-raw-imports` flag, no read permission, and works under `deno compile`;
 * 2. else from the file Deno resolved the npm package to, which needs exactly
 *    `--allow-read=<that file>` (the error names it).
 * Sessions are cached per model object and hook set, so repeated calls only pay for `run`.
 * @module
 */
import * as ort from "npm:onnxruntime-web@1.30.0";
import type { Model, Tensor } from "../model/types.ts";
import { SvlensError } from "../errors.ts";
import type { Batch } from "./batch.ts";
import { buildGraph, type BuiltGraph, type GraphInput } from "./onnx_graph.ts";
import { rotaryTables } from "./rotary.ts";
import { DEFAULT_THREADS } from "./threads.ts";
import { reserveOrtHeap, withOrtHeap } from "./wasm_heap.ts";

/** The specifier of onnxruntime-web's threaded SIMD runtime. */
export const ORT_WASM_SPECIFIER = "npm:onnxruntime-web@1.30.0/ort-wasm-simd-threaded.wasm";

/** onnxruntime-web could not start: the message says which permission or flag is missing. */
export class BackendUnavailableError extends SvlensError {}

let initialised: Promise<void> | undefined;
/** The pre-sized heap, until the first session creation hands it to onnxruntime. */
let pendingHeap: WebAssembly.Memory | undefined;

/** Where the runtime `.wasm` lives on this machine (for `--allow-read=`). */
export function ortWasmPath(): string {
  return new URL(import.meta.resolve(ORT_WASM_SPECIFIER)).pathname;
}

async function loadWasmBinary(): Promise<Uint8Array> {
  try {
    // A literal specifier, so `deno compile` embeds the file.
    const mod = await import("npm:onnxruntime-web@1.30.0/ort-wasm-simd-threaded.wasm", {
      with: { type: "bytes" },
    });
    return mod.default as Uint8Array;
  } catch {
    // Without --unstable-raw-imports the import is refused; fall back to reading the file.
  }
  const path = ortWasmPath();
  try {
    // Asked first, so an ungranted read fails here instead of prompting on a terminal.
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
      throw new Deno.errors.NotCapable(`Requires read access to "${path}"`);
    }
    return await Deno.readFile(path);
  } catch (error) {
    throw new BackendUnavailableError(
      `onnxruntime-web's runtime (${path}) could not be loaded: ${(error as Error).message}. ` +
        `Run Deno with --unstable-raw-imports (no read permission needed), or grant ` +
        `--allow-read=${path}, or use the reference backend (--backend reference)`,
      { cause: error },
    );
  }
}

/**
 * Configures onnxruntime-web once: the runtime bytes and the thread count. More than 1 thread
 * needs a heap that never grows (`wasm_heap.ts`); where the system refuses to reserve one,
 * onnxruntime runs on 1 thread instead.
 */
export function initOrt(numThreads: number = DEFAULT_THREADS): Promise<void> {
  initialised ??= (async () => {
    ort.env.wasm.wasmBinary = await loadWasmBinary();
    if (numThreads > 1) pendingHeap = reserveOrtHeap();
    ort.env.wasm.numThreads = pendingHeap === undefined ? 1 : numThreads;
    ort.env.logLevel = "error";
  })();
  return initialised.catch((error) => {
    initialised = undefined;
    throw error;
  });
}

/**
 * The thread count onnxruntime-web runs with: the requested one, or 1 where no pre-sized heap
 * could be reserved or onnxruntime found no threads support; `undefined` before
 * {@linkcode initOrt} has finished.
 */
export function ortThreads(): number | undefined {
  return ort.env.wasm.wasmBinary === undefined ? undefined : ort.env.wasm.numThreads;
}

interface Cached {
  graph: BuiltGraph;
  session: ort.InferenceSession;
  /** Runs in progress; an evicted session is released when the last one ends. */
  busy: number;
  evicted: boolean;
  released: boolean;
}

/**
 * Sessions kept per model, most recently used last. Each holds its own copy of the weights in
 * onnxruntime's one heap (4 GiB at most), so a loop over many hook sets must not keep them all.
 */
export const MAX_SESSIONS_PER_MODEL = 2;

const sessions = new WeakMap<Model, Map<string, Promise<Cached>>>();
/** Sessions created and not yet released, over all models. */
let liveSessions = 0;
/** Session creations run one at a time: two at once fail inside onnxruntime-web. */
let creating: Promise<unknown> = Promise.resolve();

/** Marks `entry` evicted and releases it now, or when its last run ends. */
async function retire(entry: Cached): Promise<void> {
  entry.evicted = true;
  if (entry.busy > 0 || entry.released) return;
  entry.released = true;
  liveSessions--;
  await entry.session.release();
}

function evict(cached: Promise<Cached>): void {
  cached.then(retire).catch(() => {}); // a session that failed to build has nothing to release
}

/** The session for `hooks` (built on first use), counted busy: the caller must decrement. */
async function sessionFor(model: Model, hooks: ReadonlySet<string>): Promise<Cached> {
  let perModel = sessions.get(model);
  if (perModel === undefined) sessions.set(model, perModel = new Map());
  const key = [...hooks].sort().join("\n");
  let cached = perModel.get(key);
  if (cached !== undefined) {
    perModel.delete(key); // re-inserted below as the most recently used
  } else {
    cached = (async () => {
      await initOrt();
      const graph = buildGraph(model, { hooks });
      const create = (): Promise<ort.InferenceSession> =>
        ort.InferenceSession.create(graph.bytes, {
          executionProviders: ["wasm"],
          graphOptimizationLevel: "all",
          externalData: graph.externalData,
          // Idle threads sleep instead of spinning: on a shared 2-core machine spinning only
          // steals time from the thread doing the work.
          extra: { session: { intra_op: { allow_spinning: "0" } } },
        });
      const createNext = (): Promise<ort.InferenceSession> => {
        // The first creation instantiates the runtime, which then takes the pre-sized heap.
        const heap = pendingHeap;
        pendingHeap = undefined;
        return heap === undefined ? create() : withOrtHeap(heap, create);
      };
      const next = creating.then(createNext, createNext);
      creating = next.catch(() => {});
      const session = await next;
      liveSessions++;
      // Neither the serialised model nor the weight views are needed once the session holds
      // its own copies.
      const lean = { ...graph, bytes: new Uint8Array(0), externalData: [] };
      return { graph: lean, session, busy: 0, evicted: false, released: false };
    })();
    const building = cached;
    building.catch(() => {
      if (perModel.get(key) === building) perModel.delete(key);
    });
  }
  perModel.set(key, cached);
  for (const [oldKey, old] of perModel) {
    if (perModel.size <= MAX_SESSIONS_PER_MODEL) break;
    perModel.delete(oldKey);
    evict(old);
  }
  // Counted in the same continuation that receives it, so no eviction can release it before.
  const entry = await cached;
  entry.busy++;
  return entry;
}

/** The additive mask `[B, 1, T, T]`: 0 where key ≤ query and key < the prompt's length. */
function attentionMask(batch: Batch): Float32Array {
  const { batch: B, pos: T } = batch;
  const mask = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) {
    const len = batch.lengths[b]!;
    for (let q = 0; q < T; q++) {
      for (let k = 0; k < T; k++) mask[(b * T + q) * T + k] = k <= q && k < len ? 0 : -Infinity;
    }
  }
  return mask;
}

function feeds(model: Model, batch: Batch, inputs: GraphInput[]): Record<string, ort.Tensor> {
  const { batch: B, pos: T } = batch;
  const R = model.config.rotaryDim;
  const out: Record<string, ort.Tensor> = {};
  for (const name of inputs) {
    switch (name) {
      case "input_ids":
        out[name] = new ort.Tensor("int64", BigInt64Array.from(batch.tokens, BigInt), [B, T]);
        break;
      case "attn_mask":
        out[name] = new ort.Tensor("float32", attentionMask(batch), [B, 1, T, T]);
        break;
      case "position_ids":
        out[name] = new ort.Tensor(
          "int64",
          BigInt64Array.from({ length: T }, (_, i) => BigInt(i)),
          [T],
        );
        break;
      case "rotary_cos":
      case "rotary_sin": {
        const tables = rotaryTables(R, model.config.rotaryBase, T);
        out[name] = new ort.Tensor("float32", name === "rotary_cos" ? tables.cos : tables.sin, [
          T,
          1,
          R / 2,
        ]);
        break;
      }
      case "logit_index":
        out[name] = new ort.Tensor("int64", BigInt64Array.from(batch.logitIndex, BigInt), [
          B,
          batch.nLogit,
          1,
        ]);
        break;
    }
  }
  return out;
}

/**
 * Runs `model` on `batch` with onnxruntime-web and returns the hooks in `keep` (same names,
 * shapes and conventions as {@linkcode referenceForward}).
 */
export async function onnxForward(
  model: Model,
  batch: Batch,
  keep: ReadonlySet<string>,
): Promise<Map<string, Tensor>> {
  if (keep.size === 0) return new Map();
  const entry = await sessionFor(model, keep); // counted busy
  const { graph, session } = entry;
  let results: ort.InferenceSession.OnnxValueMapType;
  try {
    results = await session.run(feeds(model, batch, graph.inputs));
  } finally {
    entry.busy--;
    if (entry.evicted) await retire(entry);
  }
  const cache = new Map<string, Tensor>();
  for (const name of graph.outputs) {
    const t = results[name];
    if (t === undefined) throw new SvlensError(`onnxruntime returned no '${name}'`);
    cache.set(name, { shape: t.dims.map(Number), data: t.data as Float32Array });
  }
  return cache;
}

/** How many sessions are cached for `model` (one per distinct hook set). */
export function cachedSessionCount(model: Model): number {
  return sessions.get(model)?.size ?? 0;
}

/** The hook sets of `model`'s cached sessions, least recently used first. */
export function cachedHookSets(model: Model): string[][] {
  return [...(sessions.get(model)?.keys() ?? [])].map((key) => key.split("\n"));
}

/** Sessions created and not yet released, over all models (a leak shows here). */
export function liveSessionCount(): number {
  return liveSessions;
}

/**
 * Releases every cached session of `model` (they are otherwise kept for reuse); one still
 * running is released when its run ends.
 */
export async function releaseSessions(model: Model): Promise<void> {
  const perModel = sessions.get(model);
  sessions.delete(model);
  if (perModel === undefined) return;
  for (const cached of perModel.values()) {
    try {
      await retire(await cached);
    } catch {
      // a session that failed to build has nothing to release
    }
  }
}
