/**
 * The pre-sized onnxruntime heap: its size, the hand-over to onnxruntime's descriptor only, and
 * that `WebAssembly.Memory` is always restored. The end-to-end check (2 threads, fresh processes,
 * no hang) is heap_growth_test.ts.
 */
import { SvlensError } from "../../src/errors.ts";
import { HEAP_PAGES, reserveOrtHeap, withOrtHeap } from "../../src/runtime/wasm_heap.ts";
import { assertEquals, assertRejects } from "../_assert.ts";

/** onnxruntime-web 1.30's own descriptor (ort-wasm-simd-threaded.mjs). */
const ORT_DESCRIPTOR = { initial: 256, maximum: 65536, shared: true };

Deno.test("wasm heap: reserved at emscripten's cap (4 GiB − 64 KiB), shared, still growable to 4 GiB", () => {
  const heap = reserveOrtHeap();
  if (heap === undefined) throw new Error("this machine refused to reserve a 4 GiB shared memory");
  assertEquals(HEAP_PAGES, 65535);
  assertEquals(heap.buffer.byteLength, 4294901760);
  assertEquals(heap.buffer instanceof SharedArrayBuffer, true);
});

Deno.test("wasm heap: onnxruntime's descriptor gets the heap once; others are built unchanged", async () => {
  const original = WebAssembly.Memory;
  const heap = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
  const got = await withOrtHeap(heap, () => {
    const other = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    assertEquals(other.buffer.byteLength, 65536);
    assertEquals(other instanceof original, true);
    // linalg's kernel pool: same maximum, another initial size.
    const pool = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    assertEquals(pool === heap, false);
    assertEquals(pool.buffer.byteLength, 64 * 65536);
    const first = new WebAssembly.Memory(ORT_DESCRIPTOR);
    // Handed over: the global is already restored, so a second one is a fresh 16 MiB memory.
    assertEquals(WebAssembly.Memory === original, true);
    const second = new WebAssembly.Memory(ORT_DESCRIPTOR);
    return Promise.resolve([first, second] as const);
  });
  assertEquals(got[0] === heap, true);
  assertEquals(got[1] === heap, false);
  assertEquals(got[1].buffer.byteLength, 256 * 65536);
  assertEquals(WebAssembly.Memory === original, true);
});

Deno.test("wasm heap: an init that never asks for the heap is an error; the global is restored", async () => {
  const original = WebAssembly.Memory;
  const heap = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  await assertRejects(() => withOrtHeap(heap, () => Promise.resolve(1)), SvlensError);
  assertEquals(WebAssembly.Memory === original, true);
  await assertRejects(
    () => withOrtHeap(heap, () => Promise.reject(new RangeError("init failed"))),
    RangeError,
  );
  assertEquals(WebAssembly.Memory === original, true);
});
