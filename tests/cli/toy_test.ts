import { runCli, withTempDir } from "../_helpers.ts";
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { assertValidResults } from "../report/_schema.ts";

/** The documented permissions of `svlens toy`: read/write on the output directory only. */
const perms = (dir: string) => [`--allow-write=${dir}`, `--allow-read=${dir}`];

Deno.test("svlens toy --json: runs with exactly the documented permissions, writes the run", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/run`;
    const res = await runCli(
      ["toy", "--steps", "30", "--seed", "3", "--out", out, "--json"],
      perms(dir),
    );
    assertEquals(res.code, 0, res.stderr);
    const summary = JSON.parse(res.stdout);
    for (
      const key of ["cosQuery", "cosKey", "sigmaRatio", "theoryCos", "meanMatchedCos", "sigmaGap"]
    ) {
      assertOk(typeof summary[key] === "number", `summary.${key} missing: ${res.stdout}`);
    }
    assertEquals(summary.preset, "single-pair");
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    assertValidResults(results); // the versioned results.json schema
    assertEquals(results.command, "toy");
    assertEquals(results.matches.length, 1);
    assertEquals(results.seed, 3);
    assertEquals(results.parameters.steps, 30);
    assertEquals(results.parameters.featureProb, 0.1);
    assertOk(results.figures.length >= 7);
    const html = await Deno.readTextFile(`${out}/report.html`);
    assertMatch(html, /<svg/);
    assertOk((await Deno.stat(`${out}/arrays.safetensors`)).size > 1000);
  }, { prefix: "svlens_toy_" });
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

Deno.test("svlens toy --preset anisotropy --json: per-point values with ‖E_X‖₂ and ρ", async () => {
  await withTempDir(async (dir) => {
    const res = await runCli(
      ["toy", "--preset", "anisotropy", "--steps", "3", "--out", dir, "--json"],
      perms(dir),
    );
    assertEquals(res.code, 0, res.stderr);
    const s = JSON.parse(res.stdout);
    assertEquals(s.field, "anisotropy");
    assertEquals(s.points.length, s.values.length);
    for (const p of s.points) {
      for (const key of ["anisotropy", "meanMatchedCos", "normEX", "rho", "sigmaGap"]) {
        assertOk(typeof p[key] === "number", `point.${key}`);
      }
    }
    // ρ grows with the offset α.
    assertOk(s.rho[s.rho.length - 1] > s.rho[0] + 0.5, `rho ${s.rho}`);
    assertValidResults(JSON.parse(await Deno.readTextFile(`${dir}/results.json`)));
  }, { prefix: "svlens_toy_" });
});
