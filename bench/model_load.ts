/**
 * Benchmark: loading a GPT-2-small-shaped (124M) and a pythia-160m-shaped model from generated
 * HF `model.safetensors` into TransformerLens-layout float32 weights — svlens `loadModel` (a
 * subprocess with only `--allow-read=<dir>`) beside numpy doing the same reads and TL
 * rearrangements (`bench/model_load_anchor.py`). Prints wall and CPU seconds, peak RSS and the
 * ratio, and cross-checks a checksum (sum of block 0's W_Q).
 *
 *   deno run --allow-read --allow-write --allow-run --allow-env bench/model_load.ts [--only gpt2|pythia]
 *
 * Models are generated (seed 0) into a temporary directory and removed afterwards. On a shared VM
 * read CPU seconds beside wall seconds: wall time includes waiting for a core.
 * @module
 */
import { generateModel } from "../src/model/generate.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const only = Deno.args.includes("--only") ? Deno.args[Deno.args.indexOf("--only") + 1] : undefined;
const decoder = new TextDecoder();

/** Runs `cmd` under /usr/bin/time; returns stdout, wall/CPU seconds and peak RSS (MB). */
async function measure(
  cmd: string[],
): Promise<{ stdout: string; wall: number; cpu: number; rssMB: number }> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "__TIME__ %e %U %S %M", ...cmd],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = decoder.decode(out.stderr);
  const m = /__TIME__ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (!out.success || !m) throw new Error(`${cmd.join(" ")} failed:\n${stderr}`);
  return {
    stdout: decoder.decode(out.stdout),
    wall: Number(m[1]),
    cpu: Number(m[2]) + Number(m[3]),
    rssMB: Number(m[4]) / 1024,
  };
}

const svlensScript = `
import { loadModel } from "${ROOT}src/model/load.ts";
const t0 = performance.now();
const m = await loadModel(Deno.args[0]);
let s = 0;
for (const v of m.weights.get("blocks.0.attn.W_Q").data) s += v;
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, tensors: m.weights.size, checksum: s }));
`;

const tmp = await Deno.makeTempDir();
try {
  const script = `${tmp}/load.ts`;
  await Deno.writeTextFile(script, svlensScript);
  console.log(
    "model         | svlens wall s | cpu s | RSS MB | numpy wall s | cpu s | RSS MB | wall ratio | checksum Δ",
  );
  console.log(
    "------------- | ------------- | ----- | ------ | ------------ | ----- | ------ | ---------- | ----------",
  );
  for (const arch of ["gpt2", "gpt_neox"] as const) {
    if (only && (only === "gpt2") !== (arch === "gpt2")) continue;
    const dir = `${tmp}/${arch}`;
    await generateModel(dir, { architecture: arch, preset: "small", seed: 0, tokenizer: "none" });
    const deno = await measure([
      Deno.execPath(),
      "run",
      "--quiet",
      `--allow-read=${ROOT},${tmp}`,
      script,
      dir,
    ]);
    const py = await measure(["python3", `${ROOT}bench/model_load_anchor.py`, dir]);
    const a = JSON.parse(deno.stdout);
    const b = JSON.parse(py.stdout);
    const name = arch === "gpt2" ? "gpt2-small" : "pythia-160m";
    console.log(
      `${name.padEnd(13)} | ${deno.wall.toFixed(2).padStart(13)} | ${
        deno.cpu.toFixed(2).padStart(5)
      } | ` +
        `${deno.rssMB.toFixed(0).padStart(6)} | ${py.wall.toFixed(2).padStart(12)} | ${
          py.cpu.toFixed(2).padStart(5)
        } | ` +
        `${py.rssMB.toFixed(0).padStart(6)} | ${(deno.wall / py.wall).toFixed(2).padStart(9)}× | ` +
        `${Math.abs(a.checksum - b.checksum).toExponential(1)}`,
    );
    if (a.tensors !== b.tensors) throw new Error(`tensor count ${a.tensors} vs ${b.tensors}`);
    await Deno.remove(dir, { recursive: true });
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
