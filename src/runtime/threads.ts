/**
 * How many threads onnxruntime-web runs with by default, and why it is one.
 * @module
 */

/**
 * onnxruntime-web's default thread count: 1.
 *
 * With 2 or more threads, a `session.run` that has to grow the WebAssembly heap (the first run
 * of a process that reaches a new peak of activation memory, e.g. `svlens sad --n 12` on a tiny
 * Pythia: 12 prompts of 37–66 tokens) hangs forever at 100% CPU in about half of the processes
 * (onnxruntime-web 1.30, Deno 2.9); the same run never hangs with 1 thread, nor with 2 threads
 * when the heap starts large enough that it does not grow (measured by raising the runtime's
 * initial memory). Later runs that stay under the peak never hang. The heap's growth cannot be
 * controlled from outside the runtime, so 1 thread is the only safe default; a caller that
 * needs speed may still ask for more (`threads` of `runWithCache`) and accept the risk.
 */
export const DEFAULT_THREADS = 1;
