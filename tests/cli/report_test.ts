import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { runCli, withTempDir } from "../_helpers.ts";
import { writeRun } from "../../src/report/mod.ts";
import { sampleRun } from "../report/_samples.ts";
import { assertValidResults } from "../report/_schema.ts";

/** The documented permissions of `svlens report DIR`. */
const perms = (dir: string) => [`--allow-read=${dir}`, `--allow-write=${dir}`];

Deno.test("svlens report DIR re-renders report.html from results.json", async () => {
  await withTempDir(async (dir) => {
    await writeRun(dir, sampleRun("sad"));
    const before = await Deno.readTextFile(`${dir}/results.json`);
    await Deno.remove(`${dir}/report.html`);
    const r = await runCli(["report", dir, "--json"], perms(dir));
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout), { report: `${dir}/report.html`, figures: 6 });
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assertOk(html.includes("Sample sad report"));
    assertEquals((html.match(/<svg /g) ?? []).length, 4 + 6); // heat×2, line, bar, grid of 6
    assertEquals(await Deno.readTextFile(`${dir}/results.json`), before, "results untouched");
    assertValidResults(JSON.parse(before));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, ["report.html", "results.json"], "no temporary files left");
  });
});

Deno.test("svlens report: missing DIR is a usage error (exit 2)", async () => {
  const r = await runCli(["report"]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /missing DIR[\s\S]*usage: svlens report DIR/);
});

Deno.test("svlens report: no results.json is a clear failure (exit 1)", async () => {
  await withTempDir(async (dir) => {
    const r = await runCli(["report", dir], perms(dir));
    assertEquals(r.code, 1);
    assertMatch(r.stderr, /no results\.json in '.*'; pass the directory/);
  });
});

Deno.test("svlens report: invalid results.json names the file and the field", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/results.json`, "{ not json");
    let r = await runCli(["report", dir], perms(dir));
    assertEquals(r.code, 1);
    assertMatch(r.stderr, /results\.json is not valid JSON/);

    await writeRun(dir, sampleRun("toy"));
    const obj = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
    obj.figures[0].values[1] = [1, 2];
    await Deno.writeTextFile(`${dir}/results.json`, JSON.stringify(obj));
    r = await runCli(["report", dir], perms(dir));
    assertEquals(r.code, 1);
    assertMatch(r.stderr, /figures\[0\]\.values\[1\] must have 9 values/);

    obj.schemaVersion = 99;
    await Deno.writeTextFile(`${dir}/results.json`, JSON.stringify(obj));
    r = await runCli(["report", dir], perms(dir));
    assertEquals(r.code, 1);
    assertMatch(r.stderr, /schemaVersion 99 .* upgrade svlens/);
  });
});
