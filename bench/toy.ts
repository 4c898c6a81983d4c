/**
 * Toy-model benchmark: training steps/s of the multi-pair preset (N=100, D=H=50, 20 pairs,
 * batch 1024, m=10) in svlens vs a numpy implementation of exactly the same step
 * (bench/toy_anchor.py: same data distribution, loss, gradients and AdamW, dense float32), run
 * side by side and alternated; achieved GFLOP/s; and the wall time of the README's demo
 * (`svlens toy`, single pair, default 3000 steps; target < 60 s on 2 cores).
 *
 * Run: `deno run --allow-run --allow-read --allow-write --allow-env --allow-sys=loadavg bench/toy.ts
 * [--steps 40] [--rounds 2] [--no-demo]`. The machine is shared: besides wall-clock rates the
 * process CPU rates (≈ uncontended single-thread speed) are printed, plus the load average.
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { preset } from "../src/toy/presets.ts";
import { importance, sampleBatch } from "../src/toy/data.ts";
import { initParams, lossAndGrad, viewParams } from "../src/toy/model.ts";
import { AdamW } from "../src/toy/adamw.ts";
import { Rng } from "../src/linalg/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "40" },
    rounds: { type: "string", default: "2" },
    "no-demo": { type: "boolean", default: false },
  },
});
const steps = Number(values.steps);
const rounds = Number(values.rounds);
const cfg = preset("multi-pair").config;
const { nFeatures: N, dModel: D, dHead: H, batchSize: B, keysPerQuery: m } = cfg;
const tokens = B * (1 + m);

/** FLOPs of the dense formulation (what numpy executes) per step. */
const denseFlops = 2 *
  (5 * tokens * N * D + tokens * D * H * 3 + 3 * B * m * H + B * N * N + B * m * N);

interface Rate {
  wall: number;
  cpu: number;
  sparseFlops: number;
}

function svlensRate(): Rate {
  const p = initParams(cfg, new Rng(0), new Float32Array(0));
  const g = viewParams(cfg, new Float32Array(p.flat.length));
  const imp = importance(N, cfg.importanceDecay);
  const opt = new AdamW(p.flat.length, cfg);
  const rng = new Rng(1);
  let nnz = 0;
  const step = () => {
    const b = sampleBatch(cfg, rng);
    nnz += b.features.idx.length;
    lossAndGrad(cfg, p, b, imp, null, g);
    opt.update(p.flat, g.flat);
  };
  for (let i = 0; i < 3; i++) step();
  nnz = 0;
  const c0 = process.cpuUsage(), t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  // Executed multiply-adds per step (sparse formulation): per token z = G f (nnz·N), dG (≤ nnz·N),
  // projection (nnz·H) and its scatter (nnz·H); per key logits/dq/dk (3H); per step the small
  // products G, At, Bt and their backward (≈ 6·N·D·H-sized).
  const avgNnz = nnz / steps;
  const sparseFlops = 2 *
    (avgNnz * (2 * N + 2 * H) + 3 * B * m * H + 2 * N * N * D + 4 * N * D * H);
  return { wall: steps / wall, cpu: steps / cpu, sparseFlops };
}

async function numpyRate(threads: string): Promise<Rate | undefined> {
  try {
    const out = await new Deno.Command("python3", {
      args: [
        new URL("./toy_anchor.py", import.meta.url).pathname,
        String(steps),
        String(N),
        String(D),
        String(H),
        String(cfg.pairs.length),
        String(cfg.featureProb),
        String(m),
        String(B),
        String(cfg.targetScale),
      ],
      env: { OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    return { wall: r.steps_per_s, cpu: r.cpu_steps_per_s, sparseFlops: denseFlops };
  } catch (error) {
    console.error(`numpy anchor unavailable: ${(error as Error).message.split("\n")[0]}`);
    return undefined;
  }
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const load = () => {
  try {
    return Deno.loadavg()[0]!.toFixed(1);
  } catch {
    return "?";
  }
};

console.log(
  `toy multi-pair step: N=${N} D=${D} H=${H} B=${B} m=${m}, ${steps} steps × ${rounds} rounds, load ${load()}`,
);
const ts: Rate[] = [], np1: Rate[] = [], np2: Rate[] = [];
for (let r = 0; r < rounds; r++) {
  ts.push(svlensRate());
  const a = await numpyRate("1");
  if (a) np1.push(a);
  const b = await numpyRate("2");
  if (b) np2.push(b);
}
const row = (name: string, rs: Rate[], flops: number) => {
  if (rs.length === 0) return;
  const w = median(rs.map((r) => r.wall)), c = median(rs.map((r) => r.cpu));
  console.log(
    `${name.padEnd(28)} ${w.toFixed(2).padStart(8)} steps/s wall  ${
      c.toFixed(2).padStart(8)
    } steps/s CPU` +
      `  ${(flops * w / 1e9).toFixed(2).padStart(6)} GFLOP/s executed  ${
        (denseFlops * w / 1e9).toFixed(2).padStart(6)
      } GFLOP/s dense-equivalent`,
  );
};
row("svlens (TS, 1 thread)", ts, ts[0]!.sparseFlops);
row("numpy (OpenBLAS 1 thread)", np1, denseFlops);
row("numpy (OpenBLAS 2 threads)", np2, denseFlops);
const best = [...np1, ...np2];
if (best.length) {
  const wTs = median(ts.map((r) => r.wall)), cTs = median(ts.map((r) => r.cpu));
  const wNp = Math.max(
    median(np1.map((r) => r.wall)),
    np2.length ? median(np2.map((r) => r.wall)) : 0,
  );
  const cNp = np1.length ? median(np1.map((r) => r.cpu)) : NaN;
  console.log(
    `ratio svlens / best numpy: ${(wTs / wNp).toFixed(2)}× wall, ${
      (cTs / cNp).toFixed(2)
    }× CPU (1-thread numpy)  (target ≥ 3×)`,
  );
}

if (!values["no-demo"]) {
  const dir = await Deno.makeTempDir({ prefix: "svlens_toy_bench_" });
  const c0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      `--allow-write=${dir}`,
      `--allow-read=${dir}`,
      new URL("../cli.ts", import.meta.url).pathname,
      "toy",
      "--out",
      dir,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - c0) / 1000;
  const s = JSON.parse(new TextDecoder().decode(out.stdout));
  console.log(
    `demo \`svlens toy\` (single pair, ${
      s.stepsPerSecond ? Math.round(s.stepsPerSecond * s.trainSeconds) : "?"
    } steps): ` +
      `${wall.toFixed(1)} s wall (target < 60 s), training ${
        s.trainSeconds.toFixed(1)
      } s, load ${load()}`,
  );
  await Deno.remove(dir, { recursive: true });
}
