/**
 * How many threads onnxruntime-web runs with by default, and why more than one needs a heap
 * that never grows.
 * @module
 */

/**
 * onnxruntime-web's default thread count: 2 (about 2× faster than 1 on 2 free cores).
 *
 * Under Deno 2.9 (onnxruntime-web 1.30), a `session.run` that grows the shared WebAssembly heap
 * (the first run of a process at a new peak of activation memory) while 2 threads run hung
 * forever at 100% CPU in 12 of 20 fresh processes. Cause: the main thread grows the memory
 * (`memory.grow` in emscripten's `emscripten_resize_heap`), and the pthread worker's wasm then
 * reads above the old size and traps ("memory access out of bounds", logged by an instrumented
 * copy of the glue); the glue's `uncaughtException` handler ends that worker, and the main
 * thread waits for its share of the work forever. A 30-line repro without onnxruntime (the main
 * thread grows a shared memory while a `node:worker_threads` worker spins in wasm, then reads
 * above the old size) traps in 44 of 200 rounds under Deno 2.9.6 and 0 of 200 under Node 20,
 * while a worker blocked in `Atomics.wait` or `memory.atomic.wait32` during the growth never
 * does (0 of 100 each, Deno): a Deno isolate running wasm sees another thread's growth late.
 * Presumably V8 refreshes an isolate's memory size on an interrupt and Deno, unlike Node, runs
 * without V8's signal-based bounds checks (not verified). svlens cannot change that; it can
 * keep the heap from growing.
 *
 * Fix: with more than 1 thread, onnxruntime gets a heap already at emscripten's cap
 * (4 GiB − 64 KiB, `wasm_heap.ts`), so it never grows. On Linux that maps address space only:
 * peak RSS of `bench/forward.ts` stayed 1.56 GB (8.4 s on 2 threads vs 17.3 s on 1), and 80 of
 * 80 fresh processes of the repro finished with 2 threads (the glue's growth hook never ran).
 * Where the system refuses to reserve 4 GiB, onnxruntime runs on 1 thread (`ortThreads()`).
 */
export const DEFAULT_THREADS = 2;
