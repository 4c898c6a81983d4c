import { assertEquals, assertMatch } from "../_assert.ts";
import { runCli } from "../_helpers.ts";
import { generateIoiPrompts } from "../../src/tasks/mod.ts";

// `svlens ioi` needs no Deno permissions at all: every run below grants none.

Deno.test("svlens ioi --json prints the generator's prompts with zero permissions", async () => {
  const r = await runCli(["ioi", "--n", "5", "--seed", "3", "--json"]);
  assertEquals(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  assertEquals(got, JSON.parse(JSON.stringify(generateIoiPrompts({ n: 5, seed: 3 }))));
  for (const p of got) {
    for (const key of ["text", "io", "s", "template"]) assertEquals(typeof p[key], "string");
  }
});

Deno.test("svlens ioi prints a human table; bad options exit 2 with usage", async () => {
  const r = await runCli(["ioi", "--n", "3"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim().split("\n").length, 3);
  assertMatch(r.stdout, /^ {3}0 {2}(ABBA|BABA) {2}IO=/);
  const bad = await runCli(["ioi", "--n=-1"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--n must be a non-negative integer/);
  const badType = await runCli(["ioi", "--type", "XYZ"]);
  assertEquals(badType.code, 2);
  assertMatch(badType.stderr, /usage: svlens ioi/);
});
