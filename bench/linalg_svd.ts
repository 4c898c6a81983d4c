/**
 * Benchmark: svlens's WASM LAPACK SVD and factored QK SVD against numpy, side by side.
 *
 *   deno run --allow-run=python3 bench/linalg_svd.ts [--quick] [--dense-heads 12]
 *     [--numpy-threads 1|N|default] [--no-anchor]
 *
 * (1) dgesdd (thin SVD, f64) at 64², 256², 768² vs numpy.linalg.svd — target ≤ 2× numpy at 768².
 * (2) QK SVD of 144 GPT-2-small heads (factors 769×64, bias row included): svlens
 *     LowRankProduct.svd vs numpy's dense SVD of each 769×769 Ω (target ≥ 25× faster; numpy's
 *     per-head time is measured on --dense-heads heads and scaled to 144) and vs the same factored
 *     algorithm in numpy (target ≤ 1.5× numpy's time).
 * Both sides report process CPU time and wall time, and a ratio for each. On a shared, overloaded
 * VM wall time mostly measures waiting for a core, so with 1 numpy thread read the CPU ratio
 * (svlens's CPU includes V8's background compiler and GC threads, which only counts against
 * svlens); with several numpy threads (--numpy-threads default) read the wall ratio on an idle
 * machine. svlens runs single-threaded; numpy gets 1 BLAS thread unless told otherwise.
 * @module
 */
import { cpuUsage } from "node:process";
import { LowRankProduct, matrix, Rng, svd } from "../src/linalg/mod.ts";

const args = Deno.args;
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes("--quick");
const denseHeads = Number(option("--dense-heads") ?? (quick ? 2 : 12));
const numpyThreads = option("--numpy-threads") ?? "1";
const noAnchor = args.includes("--no-anchor");
const sizes: [number, number][] = quick
  ? [[64, 20], [256, 3], [768, 1]]
  : [[64, 50], [256, 10], [768, 5]];
const HEADS = 144, D = 769, R = 64, SEED = 0;

/** Wall and CPU milliseconds. */
interface Time {
  wall: number;
  cpu: number;
}

function timeOnce(fn: () => unknown): Time {
  const c0 = cpuUsage(), t0 = performance.now();
  fn();
  const wall = performance.now() - t0, c = cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function medianTime(fn: () => unknown, reps: number): Time {
  // Warm-up: V8 compiles WASM with its baseline tier first and tiers hot functions up later.
  const w0 = performance.now();
  for (let i = 0; i < 3 || performance.now() - w0 < 300; i++) fn();
  const ts = Array.from({ length: reps }, () => timeOnce(fn));
  return { wall: median(ts.map((t) => t.wall)), cpu: median(ts.map((t) => t.cpu)) };
}

const rng = new Rng(SEED);
const ours: Record<string, Time> = {};
for (const [n, reps] of sizes) {
  const a = matrix(n, n, rng.normals(n * n));
  ours[`dense${n}`] = medianTime(() => svd(a), reps);
}
const heads = Array.from(
  { length: HEADS },
  () => new LowRankProduct(matrix(D, R, rng.normals(D * R)), matrix(R, D, rng.normals(R * D))),
);
for (let i = 0; i < 20; i++) heads[i]!.svd();
ours.factored = timeOnce(() => {
  for (const h of heads) h.svd();
});
ours.densePerHead = timeOnce(() => svd(heads[0]!.toDense()));

interface Anchor {
  numpy: string;
  dense: Record<string, Time>;
  qk: { factoredTotal: Time; densePerHead: Time };
}

async function anchor(): Promise<Anchor> {
  const threads: Record<string, string> = numpyThreads === "default" ? {} : {
    OPENBLAS_NUM_THREADS: numpyThreads,
    OMP_NUM_THREADS: numpyThreads,
    MKL_NUM_THREADS: numpyThreads,
  };
  const cfg = { seed: SEED, sizes, heads: HEADS, d: D, r: R, denseHeads };
  const py = await new Deno.Command("python3", {
    args: [new URL("./linalg_svd_anchor.py", import.meta.url).pathname, JSON.stringify(cfg)],
    env: threads,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!py.success) throw new Error("python3 anchor failed (needs numpy)");
  return JSON.parse(new TextDecoder().decode(py.stdout));
}

if (noAnchor) {
  console.log(JSON.stringify(ours));
  Deno.exit(0);
}
const np = await anchor();

const fmt = (ms: number): string =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(2)} ms`;
const both = (t: Time): string => `${fmt(t.cpu)} (${fmt(t.wall)})`;
const rows: string[][] = [];
for (const [n] of sizes) {
  const a = ours[`dense${n}`]!, b = np.dense[String(n)]!;
  rows.push([
    `dgesdd ${n}×${n}, median`,
    both(a),
    both(b),
    `${(a.cpu / b.cpu).toFixed(2)}× numpy`,
    `${(a.wall / b.wall).toFixed(2)}×`,
    n === 768 ? "≤ 2×" : "",
  ]);
}
const scale = HEADS / denseHeads;
const npDense = { cpu: np.qk.densePerHead.cpu * HEADS, wall: np.qk.densePerHead.wall * HEADS };
rows.push([
  `QK ×144: ours factored vs numpy dense 769² (${denseHeads} heads ×${scale})`,
  both(ours.factored!),
  both(npDense),
  `${(npDense.cpu / ours.factored!.cpu).toFixed(1)}× faster`,
  `${(npDense.wall / ours.factored!.wall).toFixed(1)}× faster`,
  "≥ 25× faster",
]);
rows.push([
  "QK ×144: factored, ours vs numpy (same algorithm)",
  both(ours.factored!),
  both(np.qk.factoredTotal),
  `${(ours.factored!.cpu / np.qk.factoredTotal.cpu).toFixed(2)}× numpy`,
  `${(ours.factored!.wall / np.qk.factoredTotal.wall).toFixed(2)}×`,
  "≤ 1.5×",
]);
rows.push([
  "(info) dense 769² SVD, one head",
  both(ours.densePerHead!),
  both(np.qk.densePerHead),
  `${(ours.densePerHead!.cpu / np.qk.densePerHead.cpu).toFixed(2)}× numpy`,
  `${(ours.densePerHead!.wall / np.qk.densePerHead.wall).toFixed(2)}×`,
  "",
]);
const header = [
  "case",
  "svlens CPU (wall)",
  `numpy ${np.numpy} CPU (wall)`,
  "ratio CPU",
  "ratio wall",
  "target",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log(
  `seed ${SEED}; svlens: 1 thread (WASM); numpy: ${numpyThreads} BLAS thread(s) ` +
    `(--numpy-threads N|default); ${navigator.hardwareConcurrency} cores`,
);
