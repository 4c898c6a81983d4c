/**
 * Benchmark: `svlens svd MODEL --circuit qk,ov --out DIR` on a GPT-2-small-shaped model (124M
 * parameters, generated safetensors): load + TL processing + 144 QK + 144 OV factored SVDs +
 * vocabulary readout + writing results, as a subprocess with exactly its documented permissions.
 * Targets: < 10 s wall on 2 cores, peak RSS < 1.5 GB. Anchor, side by side: numpy doing the same
 * pipeline (factored) and the dense per-head SVDs the authors' code uses
 * (`bench/svd_cli_anchor.py`).
 *
 *   deno run --allow-read --allow-write --allow-run --allow-env --allow-sys bench/svd_cli.ts \
 *     [--model DIR] [--dense-heads 6] [--no-anchor]
 *
 * Without --model a model is generated (seed 0) into a temporary directory and removed after.
 * Peak RSS comes from /usr/bin/time when installed, else from polling /proc/PID/status (VmHWM).
 * On a shared VM read CPU seconds beside wall seconds: wall time includes waiting for a core.
 * @module
 */
import { generateModel } from "../src/model/generate.ts";

const args = Deno.args;
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const denseHeads = Number(option("--dense-heads") ?? 6);
const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

async function hasTimeBinary(): Promise<boolean> {
  try {
    return (await Deno.stat("/usr/bin/time")).isFile;
  } catch {
    return false;
  }
}

/** Runs a command; returns stdout, wall seconds, CPU seconds (if known) and peak RSS in MB. */
async function measure(cmd: string[], env: Record<string, string> = {}): Promise<
  { stdout: string; stderr: string; code: number; wall: number; cpu?: number; rssMB: number }
> {
  const timed = await hasTimeBinary();
  const argv = timed ? ["/usr/bin/time", "-f", "__TIME__ %e %U %S %M", ...cmd] : cmd;
  const t0 = performance.now();
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  let hwmKB = 0;
  const poll = timed ? undefined : setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`));
      if (m) hwmKB = Math.max(hwmKB, Number(m[1]));
    } catch { /* exited */ }
  }, 20);
  const out = await child.output();
  if (poll !== undefined) clearInterval(poll);
  const wall = (performance.now() - t0) / 1000;
  let stderr = decoder.decode(out.stderr);
  let cpu: number | undefined;
  const m = /__TIME__ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (m) {
    cpu = Number(m[2]) + Number(m[3]);
    hwmKB = Number(m[4]);
    stderr = stderr.replace(m[0], "");
  }
  return {
    stdout: decoder.decode(out.stdout),
    stderr,
    code: out.code,
    wall,
    cpu,
    rssMB: hwmKB / 1024,
  };
}

const fmt = (x: number | undefined, digits = 2) => x === undefined ? "—" : x.toFixed(digits);

let modelDir = option("--model");
let tempDir: string | undefined;
if (modelDir === undefined) {
  tempDir = await Deno.makeTempDir({ prefix: "svlens_bench_svd_" });
  modelDir = `${tempDir}/gpt2-small`;
  const t0 = performance.now();
  const g = await generateModel(modelDir, { architecture: "gpt2", preset: "small", seed: 0 });
  console.log(
    `generated ${modelDir} (GPT-2 small shape: ${g.config.nLayers}×${g.config.nHeads} heads, ` +
      `d=${g.config.dModel}, vocab ${g.config.dVocab}, seed 0) in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
const outDir = await Deno.makeTempDir({ prefix: "svlens_bench_svd_out_" });

try {
  const svlens = await measure([
    Deno.execPath(),
    "run",
    "--quiet",
    `--allow-read=${modelDir},${outDir}`,
    `--allow-write=${outDir}`,
    `${ROOT}cli.ts`,
    "svd",
    modelDir,
    "--circuit",
    "qk,ov",
    "--out",
    outDir,
    "--json",
  ]);
  if (svlens.code !== 0) throw new Error(`svlens svd failed:\n${svlens.stderr}`);
  const json = JSON.parse(svlens.stdout) as {
    summary: {
      heads: number;
      seconds: number;
      timings: { load: number; process: number; svd: number; readout: number; write: number };
    };
    heads: Array<{ circuit: string; singularValues: number[] }>;
  };

  let anchor:
    | {
      numpy: string;
      loadProcess: { wall: number; cpu: number };
      factored288: { wall: number; cpu: number };
      readout: { wall: number; cpu: number };
      densePerHead: { wall: number; cpu: number };
      sigmas: Array<{ circuit: string; i: number; s: number[] }>;
      peakRssMB: number;
    }
    | undefined;
  let anchorRun: Awaited<ReturnType<typeof measure>> | undefined;
  if (!args.includes("--no-anchor")) {
    // One BLAS thread: svlens's SVDs run on one thread too (only its readout product uses 2).
    anchorRun = await measure([
      "python3",
      `${ROOT}bench/svd_cli_anchor.py`,
      modelDir,
      String(denseHeads),
    ], { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" });
    if (anchorRun.code !== 0) throw new Error(`numpy anchor failed:\n${anchorRun.stderr}`);
    anchor = JSON.parse(anchorRun.stdout);
  }

  const load = Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
  console.log(
    `\nsvlens svd --circuit qk,ov (${json.summary.heads} heads) vs numpy; loadavg ${
      load.split(" ").slice(0, 3).join(" ")
    }`,
  );
  const rows: string[][] = [[
    "",
    "svlens wall s",
    "svlens CPU s",
    "numpy wall s",
    "numpy CPU s",
    "ratio (wall)",
  ]];
  if (anchor && anchorRun) {
    const numpyTotal = anchor.loadProcess.wall + anchor.factored288.wall + anchor.readout.wall;
    rows.push([
      "whole pipeline (process)",
      fmt(svlens.wall),
      fmt(svlens.cpu),
      fmt(numpyTotal),
      fmt(anchorRun.cpu),
      fmt(svlens.wall / numpyTotal),
    ]);
    const t = json.summary.timings;
    const phase = (name: string, ours: number, theirs?: { wall: number; cpu: number }) =>
      rows.push([
        name,
        fmt(ours),
        "",
        fmt(theirs?.wall),
        fmt(theirs?.cpu),
        theirs ? fmt(ours / theirs.wall) : "",
      ]);
    phase("  load + process", t.load + t.process, anchor.loadProcess);
    phase("  288 factored SVDs", t.svd, anchor.factored288);
    phase("  readout (1st pair, top-10)", t.readout, anchor.readout);
    phase("  results.json/report.html/arrays (57 MB)", t.write);
    phase("  Deno start-up, module load, exit", svlens.wall - json.summary.seconds);
    const dense288 = anchor.densePerHead.wall * 288;
    rows.push([
      "numpy dense SVDs ×288 (scaled)",
      "",
      "",
      fmt(dense288),
      fmt(anchor.densePerHead.cpu * 288),
      fmt(svlens.wall / (anchor.loadProcess.wall + dense288 + anchor.readout.wall)),
    ]);
  } else {
    rows.push(["whole pipeline (process)", fmt(svlens.wall), fmt(svlens.cpu), "", "", ""]);
  }
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  for (const r of rows) {
    console.log(
      r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  "),
    );
  }
  console.log(
    `peak RSS: svlens ${fmt(svlens.rssMB, 0)} MB (target < 1536)` +
      (anchor ? `, numpy ${fmt(anchor.peakRssMB, 0)} MB` : ""),
  );
  console.log(
    `target < 10 s wall: ${svlens.wall < 10 ? "met" : "NOT met"} (${fmt(svlens.wall)} s)`,
  );
  if (anchor) {
    // Cross-check: σ of the densely computed heads against svlens's factored ones.
    let worst = 0;
    for (const d of anchor.sigmas) {
      const ours = json.heads.filter((h) => h.circuit === d.circuit)[d.i]!.singularValues;
      const scale = d.s[0]!;
      for (let k = 0; k < d.s.length; k++) {
        worst = Math.max(worst, Math.abs(ours[k]! - d.s[k]!) / scale);
      }
    }
    console.log(
      `σ cross-check (${anchor.sigmas.length} dense numpy heads): max |Δσ|/σ₁ = ${
        worst.toExponential(2)
      }`,
    );
  }
} finally {
  await Deno.remove(outDir, { recursive: true });
  if (tempDir !== undefined) await Deno.remove(tempDir, { recursive: true });
}
