/**
 * A pre-sized WebAssembly heap for onnxruntime-web, so that its heap never grows while worker
 * threads run: under Deno, a growth made by one thread is not yet visible to the wasm code of
 * another, which then traps (the evidence is in `threads.ts`).
 * @module
 */
import { SvlensError } from "../errors.ts";

/**
 * 65535 pages = 4 GiB − 64 KiB: emscripten's own heap cap (`emscripten_get_heap_max`), so a
 * heap of this size never grows. Not 65536: a 4 GiB size reads as 0 in wasm32's `size_t`.
 */
export const HEAP_PAGES = 65_535;

/**
 * The shared memory that onnxruntime-web 1.30's glue creates: 16 MiB, growable to 4 GiB. Matched
 * exactly, so that another shared memory built meanwhile (linalg's kernel pool: 64 pages, same
 * maximum) is left alone.
 */
const ORT_INITIAL_PAGES = 256;
const ORT_MAXIMUM_PAGES = 65_536;

/**
 * Reserves a shared memory of {@linkcode HEAP_PAGES} for onnxruntime-web, or returns
 * `undefined` where the system refuses to commit 4 GiB (strict overcommit, a small address-space
 * limit). On Linux this only maps address space: pages use RAM once written, so the RSS is the
 * same as with a heap that grows on demand.
 */
export function reserveOrtHeap(): WebAssembly.Memory | undefined {
  try {
    return new WebAssembly.Memory({
      initial: HEAP_PAGES,
      maximum: ORT_MAXIMUM_PAGES,
      shared: true,
    });
  } catch {
    return undefined;
  }
}

/**
 * Runs `init` (the call that makes onnxruntime-web instantiate its runtime: the first
 * `InferenceSession.create`) while `new WebAssembly.Memory(…)` with onnxruntime's exact
 * descriptor (shared, 256 pages, at most 65536) returns `heap` instead of a 16 MiB memory. The
 * glue has no hook for its memory (no `wasmMemory` option), hence the temporary wrapper; it is
 * removed as soon as the heap is handed over, and in any case when `init` settles. Any other
 * memory created meanwhile is built unchanged.
 * @throws {SvlensError} when `init` succeeded without asking for the heap (onnxruntime was
 * already initialised, or its glue changed): the runtime then runs on a heap that may grow.
 */
export async function withOrtHeap<T>(heap: WebAssembly.Memory, init: () => Promise<T>): Promise<T> {
  const original = WebAssembly.Memory;
  let handedOver = false;
  const restore = (): void => {
    if (WebAssembly.Memory === wrapper) WebAssembly.Memory = original;
  };
  const wrapper = new Proxy(original, {
    construct(target, args: [WebAssembly.MemoryDescriptor], newTarget): object {
      const descriptor = args[0];
      if (
        !handedOver && descriptor?.shared === true && descriptor.initial === ORT_INITIAL_PAGES &&
        descriptor.maximum === ORT_MAXIMUM_PAGES
      ) {
        handedOver = true;
        restore();
        return heap;
      }
      return Reflect.construct(target, args, newTarget === wrapper ? target : newTarget);
    },
  });
  WebAssembly.Memory = wrapper;
  let result: T;
  try {
    result = await init();
  } finally {
    restore();
  }
  if (!handedOver) {
    throw new SvlensError(
      "onnxruntime-web started without the pre-sized WebAssembly heap (was it initialised " +
        "elsewhere, or has its glue changed?); with more than 1 thread its heap growth can " +
        "hang the process. Use 1 thread (threads: 1)",
    );
  }
  return result;
}
