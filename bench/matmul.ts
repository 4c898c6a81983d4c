/**
 * Matrix-multiply benchmark: svlens's SIMD128 kernels (`matmulF32`, `matmulF64`) on 1 and 2
 * threads vs numpy (OpenBLAS) on the same number of threads, side by side with the time ratio.
 * Target (issue 2, item 3): f32 768³ ≥ 20 GFLOP/s on one thread.
 *
 * Run: `deno run --allow-run=python3 --allow-sys=loadavg bench/matmul.ts [--reps 15] [--quick]`
 * (without python3 or `--allow-run` it prints svlens's figures alone). The machine is shared, so
 * the median and best of `--reps` runs are reported next to the load average, plus the process
 * CPU time per call (all threads), which for 1-thread runs approximates the uncontended time.
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { closeMatmulThreads, matmulF32, matmulThreadsActive } from "../src/linalg/matmul_f32.ts";
import { matmulF64 } from "../src/linalg/matmul_f64.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { reps: { type: "string", default: "15" }, quick: { type: "boolean", default: false } },
});
const reps = Number(values.reps);

interface Case {
  m: number;
  k: number;
  n: number;
  dtype: "float32" | "float64";
  threads: 1 | 2;
  note: string;
}

const cases: Case[] = [];
for (const threads of [1, 2] as const) {
  cases.push({ m: 768, k: 768, n: 768, dtype: "float32", threads, note: "target ≥ 20 GFLOP/s @1" });
  if (values.quick) continue;
  cases.push({ m: 768, k: 768, n: 768, dtype: "float64", threads, note: "dgemm (SVD inner)" });
  cases.push({ m: 2048, k: 768, n: 768, dtype: "float32", threads, note: "GPT-2 attn proj" });
  cases.push({ m: 256, k: 64, n: 256, dtype: "float32", threads, note: "toy-sized" });
}

/** Seeded uniform [-1, 1) (mulberry32). */
function uniform(length: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length }, () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  });
}

interface Timing {
  median: number;
  best: number;
  /** Process CPU time per call (all threads); ≈ wall time of an uncontended 1-thread run. */
  cpu: number;
}

function timeSvlens(c: Case): Timing & { threadsUsed: number } {
  const a64 = uniform(c.m * c.k, 1);
  const b64 = uniform(c.k * c.n, 2);
  const run = c.dtype === "float32"
    ? (() => {
      const a = Float32Array.from(a64), b = Float32Array.from(b64);
      const out = new Float32Array(c.m * c.n);
      return () => matmulF32(a, b, c.m, c.k, c.n, { out, threads: c.threads });
    })()
    : (() => {
      const out = new Float64Array(c.m * c.n);
      return () => matmulF64(a64, b64, c.m, c.k, c.n, { out, threads: c.threads });
    })();
  run();
  run();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((x, y) => x - y);
  const threadsUsed = c.threads === 1 ? 1 : matmulThreadsActive().threads;
  return {
    median: times[reps >> 1]!,
    best: times[0]!,
    cpu: (cpu.user + cpu.system) / 1000 / reps,
    threadsUsed,
  };
}

async function timeNumpy(
  list: Case[],
  threads: number,
): Promise<Timing[] | undefined> {
  try {
    const script = new URL("./matmul_numpy.py", import.meta.url).pathname;
    const json = JSON.stringify(list.map(({ m, k, n, dtype }) => ({ m, k, n, dtype })));
    const out = await new Deno.Command("python3", {
      args: [script, json, String(reps)],
      env: { OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(`numpy anchor failed: ${new TextDecoder().decode(out.stderr).trim()}`);
      return undefined;
    }
    const rows: { median_ms: number; best_ms: number; cpu_ms: number }[] = JSON.parse(
      new TextDecoder().decode(out.stdout),
    );
    return rows.map((r) => ({ median: r.median_ms, best: r.best_ms, cpu: r.cpu_ms }));
  } catch (error) {
    console.error(`numpy anchor unavailable (${(error as Error).message}); svlens figures only`);
    return undefined;
  }
}

function loadavg(): string {
  try {
    return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
  } catch {
    return "n/a (needs --allow-sys=loadavg)";
  }
}

const gflops = (c: Case, ms: number): number => (2 * c.m * c.k * c.n) / ms / 1e6;

console.log(`matmul benchmark: median of ${reps} runs (best in brackets); load avg ${loadavg()}`);
const rows: string[][] = [];
for (const threads of [1, 2] as const) {
  const group = cases.filter((c) => c.threads === threads);
  const ours = group.map(timeSvlens);
  const np = await timeNumpy(group, threads);
  group.forEach((c, i) => {
    const o = ours[i]!;
    const p = np?.[i];
    rows.push([
      `${c.m}×${c.k}×${c.n}`,
      c.dtype === "float32" ? "f32" : "f64",
      `${threads}${o.threadsUsed !== threads ? ` (ran on ${o.threadsUsed})` : ""}`,
      `${o.median.toFixed(2)} [${o.best.toFixed(2)}]`,
      gflops(c, o.best).toFixed(1),
      o.cpu.toFixed(2),
      p ? `${p.median.toFixed(2)} [${p.best.toFixed(2)}]` : "—",
      p ? gflops(c, p.best).toFixed(1) : "—",
      p ? p.cpu.toFixed(2) : "—",
      p ? (o.median / p.median).toFixed(2) + "×" : "—",
      c.note,
    ]);
  });
}
closeMatmulThreads();

const header = [
  "m×k×n",
  "type",
  "threads",
  "svlens ms med [best]",
  "GFLOP/s (best)",
  "cpu ms",
  "numpy ms med [best]",
  "GFLOP/s (best)",
  "cpu ms",
  "svlens/numpy (median)",
  "note",
];
const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
const line = (r: string[]): string => r.map((x, j) => x.padEnd(widths[j]!)).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
console.log(`load avg after: ${loadavg()}`);
