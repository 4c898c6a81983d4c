/**
 * Regression: `svlens sad --n 12` on a tiny Pythia hung forever (100% CPU) in about half of the
 * processes. Its single ONNX run grows onnxruntime-web's WebAssembly heap, and a heap growth
 * while 2 onnxruntime threads are active deadlocks; the default is now 1 thread. The hang only
 * shows on a process's first run at a new peak, so the case runs in fresh subprocesses, each
 * killed after a deadline so that a hang fails this test instead of blocking the suite. Each
 * must also match the reference backend: |Δ| ≤ 1e-4 (float32, ln1 outputs are O(1)).
 */
import { ortWasmPath } from "../../src/runtime/onnx_session.ts";
import { assertEquals, assertMatch } from "../_assert.ts";

/** A run takes about 1 s; a hung one never ends. */
const DEADLINE_MS = 20_000;
/** Fresh processes: with 2 threads about half of them hung, so 4 miss it with p ≈ 1/16. */
const PROCESSES = 4;

async function runChild(): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      `--allow-read=${ortWasmPath()}`,
      new URL("./_grow_child.ts", import.meta.url).pathname,
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

Deno.test("onnx: the first run that grows the wasm heap (sad --n 12 batch) finishes, default threads", async () => {
  for (let i = 0; i < PROCESSES; i++) {
    const t0 = performance.now();
    const result = await runChild();
    const ms = performance.now() - t0;
    assertEquals(
      result.code,
      0,
      `process ${i} exited ${result.code} after ${ms.toFixed(0)} ms (killed at ` +
        `${DEADLINE_MS} ms = hung): ${result.stderr}`,
    );
    assertMatch(result.stdout, /^ok /);
    const worst = Number(result.stdout.trim().split(" ")[1]);
    assertEquals(worst <= 1e-4, true, `max |onnx − reference| = ${worst}`);
  }
});
