import { runCli, withTempDir } from "../_helpers.ts";
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { assertValidResults } from "../report/_schema.ts";

/** The documented permissions of `svlens toy`: read/write on the output directory only. */
const perms = (dir: string) => [`--allow-write=${dir}`, `--allow-read=${dir}`];

/** The `--json` keys each preset must print (method.md §2.4; the key figures). */
const POINT_KEYS = [
  "cosQuery",
  "cosKey",
  "sigmaRatio",
  "sigmaGap",
  "meanMatchedCos",
  "subspaceQuery",
  "subspaceKey",
  "theoryCos",
  "theoryMinCos",
  "theorySubspaceMin",
  "theorySigmaRatioMaxDiff",
  "normEX",
  "rho",
];
const SWEEP_KEYS = [
  "meanMatchedCos",
  "sigmaGap",
  "theoryCos",
  "theorySubspaceMin",
  "normEX",
  "rho",
];
const EXPECTED: Record<string, { pairs: number; sweep?: string }> = {
  "single-pair": { pairs: 1 },
  "multi-pair": { pairs: 20 },
  "anisotropy": { pairs: 5, sweep: "anisotropy" },
  "lambda-sweep": { pairs: 1, sweep: "lambda" },
};

Deno.test("svlens toy --json: every preset runs (2 steps) with the documented permissions and prints its keys", async () => {
  await withTempDir(async (dir) => {
    for (const [name, want] of Object.entries(EXPECTED)) {
      const out = `${dir}/${name}`;
      const res = await runCli(
        ["toy", "--preset", name, "--steps", "2", "--seed", "3", "--out", out, "--json"],
        perms(dir),
      );
      assertEquals(res.code, 0, `${name}: ${res.stderr}`);
      const summary = JSON.parse(res.stdout);
      assertEquals(summary.preset, name);
      const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
      assertValidResults(results); // the versioned results.json schema
      assertEquals(results.command, "toy");
      assertEquals(results.seed, 3);
      assertEquals(results.parameters.steps, 2);
      assertEquals(results.parameters.pairs.length, want.pairs);
      assertOk(typeof results.parameters.theoryOracle.optimum === "string", name);
      if (want.sweep === "anisotropy") {
        assertOk(summary.rho.at(-1) > summary.rho[0] + 0.5, `ρ grows with α: ${summary.rho}`);
      }
      if (!want.sweep) {
        for (const key of POINT_KEYS) {
          assertOk(typeof summary[key] === "number", `${name}: summary.${key}: ${res.stdout}`);
        }
        assertEquals(results.matches.length, want.pairs);
        assertEquals(summary.theoryRanks, want.pairs);
        assertEquals(results.theory.cosU.length, want.pairs);
        assertEquals(results.theory.optimumSigmaRatio[0], 1);
      } else {
        assertEquals(summary.field, want.sweep);
        assertEquals(summary.values, results.parameters.sweep.values);
        for (const key of SWEEP_KEYS) {
          assertEquals(summary[key].length, summary.values.length, `${name}: ${key}`);
        }
        assertEquals(summary.points.length, summary.values.length);
        for (const p of summary.points) {
          for (const key of [want.sweep, ...POINT_KEYS]) {
            assertOk(typeof p[key] === "number", `${name}: point.${key}`);
          }
        }
      }
      assertMatch(await Deno.readTextFile(`${out}/report.html`), /<svg/);
      assertOk((await Deno.stat(`${out}/arrays.safetensors`)).size > 1000);
    }
  }, { prefix: "svlens_toy_" });
});

Deno.test("svlens toy --set: open parameters reach the run (MSE variant) and are recorded", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/run`;
    const res = await runCli(
      [
        "toy",
        "--steps",
        "3",
        "--set",
        "p=0.05",
        "--set",
        "lambda=2",
        "--set",
        "attnLoss=mse",
        "--set",
        "queryIsKey=true",
        "--set",
        "batchSize=64",
        "--out",
        out,
        "--json",
      ],
      perms(dir),
    );
    assertEquals(res.code, 0, res.stderr);
    const params = JSON.parse(await Deno.readTextFile(`${out}/results.json`)).parameters;
    assertEquals(params.featureProb, 0.05);
    assertEquals(params.lambda, 2);
    assertEquals(params.attnLoss, "mse");
    assertEquals(params.queryIsKey, true);
    assertEquals(params.batchSize, 64);
    assertEquals(params.steps, 3);
    assertMatch(params.theoryOracle.optimum, /Σ_S⁺, Σ = E\[x xᵀ\]/); // MSE: uncentred keys
    // The loss really was MSE: cross-entropy is at least the target softmax's entropy, which is
    // log m = 2.30 for the ≥ 95% of queries without feature 0 (p = 0.05), so CE ≥ 2.19; the
    // squared logit error of near-zero Xavier-init logits against mostly-zero targets is ≪ 1.
    const attn = JSON.parse(res.stdout).finalAttn;
    assertOk(attn < 1, `L_attn = ${attn}: not the MSE loss`);
  }, { prefix: "svlens_toy_" });
});

Deno.test("svlens toy --set: unknown keys, bad values and the swept field are usage errors (exit 2)", async () => {
  const unknown = await runCli(["toy", "--set", "nope=1"]);
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /unknown key 'nope'; valid keys: .*featureProb.*attnLoss/);
  for (
    const [args, pattern] of [
      [["--set", "attnLoss=xe"], /attnLoss must be one of ce, mse/],
      [["--set", "p=abc"], /featureProb must be a number/],
      [["--set", "lambda"], /expected key=value/],
      [["--set", "queryIsKey=yes"], /queryIsKey must be true or false/],
      [["--set", "steps=-1"], /steps must be a non-negative integer/],
      [["--preset", "multi-pair", "--set", "nFeatures=10"], /target pair feature/],
      [["--preset", "anisotropy", "--set", "alpha=1"], /sweeps anisotropy/],
    ] as const
  ) {
    const res = await runCli(["toy", ...args]);
    assertEquals(res.code, 2, `${args.join(" ")}: ${res.stderr}`);
    assertMatch(res.stderr, pattern);
  }
});

Deno.test("svlens toy: human table on stdout, report path on stderr", async () => {
  await withTempDir(async (dir) => {
    const res = await runCli(["toy", "--steps", "10", "--out", `${dir}/r`], perms(dir));
    assertEquals(res.code, 0, res.stderr);
    assertMatch(res.stdout, /σ1\/σ2/);
    assertMatch(res.stderr, /report: .*\/r\/report\.html/);
  }, { prefix: "svlens_toy_" });
});

Deno.test("svlens toy: usage errors exit 2, missing write permission exits 1 naming the fix", async () => {
  const bad = await runCli(["toy", "--preset", "nope"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--preset must be one of/);
  const steps = await runCli(["toy", "--steps", "-4"]);
  assertEquals(steps.code, 2);
  const denied = await runCli(["toy", "--steps", "2", "--out", "/tmp/svlens_toy_denied"]);
  assertEquals(denied.code, 1);
  assertMatch(denied.stderr, /--allow-write=\/tmp\/svlens_toy_denied/);
});

Deno.test("svlens toy: an --out that is a file, or a run file that is a directory, fails before writing", async () => {
  await withTempDir(async (dir) => {
    const perms = [`--allow-read=${dir}`, `--allow-write=${dir}`];
    await Deno.writeTextFile(`${dir}/afile`, "x");
    const file = await runCli(["toy", "--steps", "2", "--out", `${dir}/afile`], perms);
    assertEquals(file.code, 1, file.stderr);
    assertMatch(file.stderr, /^error: --out .*afile is a file; give a directory/);
    // report.html a directory: nothing of the run is written (the others are not replaced).
    await Deno.mkdir(`${dir}/run/report.html`, { recursive: true });
    await Deno.writeTextFile(`${dir}/run/results.json`, "old");
    const blocked = await runCli(["toy", "--steps", "2", "--out", `${dir}/run`], perms);
    assertEquals(blocked.code, 1, blocked.stderr);
    assertMatch(blocked.stderr, /^error: .*report\.html is a directory; remove it/);
    assertEquals(await Deno.readTextFile(`${dir}/run/results.json`), "old");
  });
});
