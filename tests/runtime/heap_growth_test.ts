/**
 * Regression: `svlens sad --n 12` on a tiny Pythia hung forever (100% CPU) in about half of the
 * processes with 2 onnxruntime threads: its single ONNX run grew onnxruntime-web's WebAssembly
 * heap, and the worker thread trapped on memory above the old size (see `threads.ts`). With 2
 * threads onnxruntime now runs on a pre-sized heap that never grows. The hang only shows on a
 * process's first run at a new peak, so the case runs in fresh subprocesses, each killed after a
 * deadline so that a hang fails this test instead of blocking the suite. Each must run on the
 * thread count asked for and match the reference backend: |Δ| ≤ 1e-4 (float32, ln1 outputs are
 * O(1)).
 */
import { ortWasmPath } from "../../src/runtime/onnx_session.ts";
import { DEFAULT_THREADS } from "../../src/runtime/threads.ts";
import { assertEquals, assertMatch } from "../_assert.ts";

/** A run takes about 1 s; a hung one never ends. */
const DEADLINE_MS = 20_000;
/**
 * Fresh processes per case: without the pre-sized heap 12 of 20 hung, so 3 all pass with
 * p ≈ 0.4³ ≈ 6%, and the 6 runs of 2 threads (default and explicit) with p ≈ 0.4%.
 */
const PROCESSES = 3;

async function runChild(
  threads: number | undefined,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      `--allow-read=${ortWasmPath()}`,
      new URL("./_grow_child.ts", import.meta.url).pathname,
      ...(threads === undefined ? [] : [String(threads)]),
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(DEADLINE_MS),
  }).spawn();
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function checkFreshProcesses(threads: number | undefined): Promise<void> {
  for (let i = 0; i < PROCESSES; i++) {
    const t0 = performance.now();
    const result = await runChild(threads);
    const ms = performance.now() - t0;
    assertEquals(
      result.code,
      0,
      `process ${i} exited ${result.code} after ${ms.toFixed(0)} ms (killed at ` +
        `${DEADLINE_MS} ms = hung): ${result.stderr}`,
    );
    assertMatch(result.stdout, /^ok \S+ \d+\n?$/);
    const [, worst, ran] = result.stdout.trim().split(" ");
    assertEquals(Number(ran), threads ?? DEFAULT_THREADS, "threads onnxruntime ran with");
    assertEquals(Number(worst) <= 1e-4, true, `max |onnx − reference| = ${worst}`);
  }
}

Deno.test("onnx: the first run that grows the wasm heap (sad --n 12 batch) finishes, default threads", async () => {
  assertEquals(DEFAULT_THREADS, 2);
  await checkFreshProcesses(undefined);
});

Deno.test("onnx: the first run that grows the wasm heap finishes, 2 threads asked", async () => {
  await checkFreshProcesses(2);
});

Deno.test("onnx: the first run that grows the wasm heap finishes, 1 thread", async () => {
  await checkFreshProcesses(1);
});
