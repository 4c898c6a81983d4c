import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { runCli, withTempDir } from "../_helpers.ts";
import { assertValidResults } from "../report/_schema.ts";
import { writeGpt2Dir } from "./_gpt2_dir.ts";
import { processWeights } from "../../src/circuits/mod.ts";
import { loadModel } from "../../src/model/load.ts";
import { loadTokenizer } from "../../src/model/tokenizer.ts";
import { readSafetensors } from "../../src/model/safetensors.ts";
import { sadOnIoi } from "../../src/sad/mod.ts";

// Documented permissions of `svlens sad` (README): --allow-read=MODEL,OUTDIR --allow-write=OUTDIR
// (Deno.rename of the atomic write needs read on OUTDIR too), plus
// --unstable-raw-imports for the default onnx backend.

Deno.test("svlens sad (reference backend) writes a valid run and --json per-head summaries, exact permissions", async () => {
  await withTempDir(async (tmp) => {
    const model = `${tmp}/gpt2`;
    const out = `${tmp}/run`;
    await writeGpt2Dir(model, { nLayer: 2, nHead: 2, nEmbd: 16 });
    const r = await runCli(
      [
        "sad",
        model,
        "--n",
        "8",
        "--seed",
        "1",
        "--backend",
        "reference",
        "--tau",
        "1/m",
        "--out",
        out,
        "--json",
      ],
      [`--allow-read=${model},${out}`, `--allow-write=${out}`],
    );
    assertEquals(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assertEquals(json.heads.length, 4);
    for (const h of json.heads) {
      for (const key of ["meanNRecon", "histogram", "meanSparseness", "rotated"]) {
        assertOk(key in h, key);
      }
      assertEquals(h.histogram.length, 8);
    }
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    assertValidResults(results);
    assertEquals(results.command, "sad");
    assertEquals(results.seed, 1);
    const kinds = results.figures.map((f: { kind: string }) => f.kind);
    assertOk(kinds.includes("grid") && kinds.includes("heatmap"));
    const html = await Deno.readTextFile(`${out}/report.html`);
    assertMatch(html, /<svg/);
    // the same numbers in-process (independent of the CLI plumbing)
    const loaded = await loadModel(model);
    const tok = await loadTokenizer(model);
    const direct = await sadOnIoi(processWeights(loaded), tok, {
      n: 8,
      seed: 1,
      tau: "1/m",
      backend: "reference",
    });
    assertEquals(
      json.heads.map((h: { nFirings: number }) => h.nFirings),
      direct.heads.map((h) => h.summary.nFirings),
    );
    const arrays = readSafetensors(await Deno.readFile(`${out}/arrays.safetensors`));
    const firings = arrays.tensors.get("firings")!;
    const nFirings = direct.heads.reduce((a, h) => a + h.firings.length, 0);
    assertEquals([...firings.shape], [nFirings, 12]);
  });
});

Deno.test("svlens sad: usage errors exit 2; a missing model exits 1", async () => {
  const bad = await runCli(["sad", "x", "--tau", "2"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--tau must be a number/);
  const types = await runCli(["sad", "x", "--head-types", "9.9=bogus"]);
  assertEquals(types.code, 2);
  const none = await runCli(["sad"]);
  assertEquals(none.code, 2);
  const bias = await runCli(["sad", "x", "--bias", "bogus"]);
  assertEquals(bias.code, 2);
  assertMatch(bias.stderr, /--bias must be offset, augmented, source or destination/);
  // destination (ACC's Ω_d) exists only per offset: refused before the model is read
  const dest = await runCli(["sad", "x", "--bias", "destination"]);
  assertEquals(dest.code, 2);
  assertMatch(dest.stderr, /--bias destination .* needs --rotary per-offset/);
  const zero = await runCli(["sad", "x", "--n", "0"]);
  assertEquals(zero.code, 2);
  assertMatch(zero.stderr, /--n must be at least 1/);
  const tmp = await Deno.makeTempDir();
  const missing = await runCli(["sad", `${tmp}/nope`, "--backend", "reference"], [
    `--allow-read=${tmp}`,
  ]);
  assertEquals(missing.code, 1);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("svlens sad: --bias destination on a model without rotary, or a head it lacks, exits 2", async () => {
  await withTempDir(async (tmp) => {
    const model = `${tmp}/gpt2`;
    await writeGpt2Dir(model, { nLayer: 1, nHead: 2, nEmbd: 16 });
    const r = await runCli(
      ["sad", model, "--backend", "reference", "--rotary", "per-offset", "--bias", "destination"],
      [`--allow-read=${model}`],
    );
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /no rotary embeddings/);
    // a head the model does not have is a usage error too, named with the model's size
    const head = await runCli(["sad", model, "--backend", "reference", "--heads", "0.1,5.0"], [
      `--allow-read=${model}`,
    ]);
    assertEquals(head.code, 2, head.stderr);
    assertMatch(head.stderr, /--heads 5\.0 does not exist: .* has 1 layers × 2 heads/);
    // --rotary per-offset on a model without rotary runs, but says it changes nothing.
    const rotary = await runCli(
      [
        "sad",
        model,
        "--backend",
        "reference",
        "--n",
        "2",
        "--heads",
        "0.0",
        "--rotary",
        "per-offset",
      ],
      [`--allow-read=${model}`],
    );
    assertEquals(rotary.code, 0, rotary.stderr);
    assertMatch(
      rotary.stderr,
      /warning: --rotary per-offset has no effect: .* no rotary embeddings/,
    );
  });
});

Deno.test("svlens sad with the default onnx backend runs under its documented permissions", async () => {
  await withTempDir(async (tmp) => {
    const model = `${tmp}/gpt2`;
    await writeGpt2Dir(model, { nLayer: 1, nHead: 2, nEmbd: 16, seed: 2 });
    const r = await runCli(
      ["sad", model, "--n", "4", "--heads", "0.1", "--json"],
      ["--unstable-raw-imports", `--allow-read=${model}`],
    );
    assertEquals(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assertEquals(json.heads.map((h: { head: string }) => h.head), ["0.1"]);
    assertEquals(json.parameters.backend, "onnx");
    // Without --out (and --json) the table ends by saying nothing was written and how to.
    const table = await runCli(
      ["sad", model, "--n", "2", "--heads", "0.1", "--backend", "reference"],
      [`--allow-read=${model}`],
    );
    assertEquals(table.code, 0, table.stderr);
    assertMatch(table.stdout, /nothing written: add --out DIR \(and --allow-write=DIR/);
    // Without --unstable-raw-imports (nor a read grant on onnxruntime's .wasm) the default falls
    // back to the reference forward pass, says so, and records it; an explicit onnx fails.
    const args = ["sad", model, "--n", "2", "--heads", "0.1", "--json"];
    const fallback = await runCli(args, [`--allow-read=${model}`]);
    assertEquals(fallback.code, 0, fallback.stderr);
    assertMatch(fallback.stderr, /warning: .*--unstable-raw-imports.*Using the reference backend/s);
    assertEquals(JSON.parse(fallback.stdout).parameters.backend, "reference");
    const explicit = await runCli([...args, "--backend", "onnx"], [`--allow-read=${model}`]);
    assertEquals(explicit.code, 1, explicit.stderr);
    assertMatch(explicit.stderr, /error: onnxruntime-web's runtime .* could not be loaded/);
  });
});
