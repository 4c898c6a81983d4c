import { assertEquals, assertMatch } from "./_assert.ts";
import { runCli } from "./_helpers.ts";
import { VERSION } from "../src/version.ts";

Deno.test("svlens --version prints the version with no permissions", async () => {
  const r = await runCli(["--version"]);
  assertEquals(r.code, 0);
  assertEquals(r.stdout.trim(), `svlens ${VERSION}`);
});

Deno.test("svlens --help lists every command", async () => {
  const r = await runCli(["--help"]);
  assertEquals(r.code, 0);
  for (const name of ["toy", "svd", "cache", "ioi", "sad", "sweep", "report"]) {
    assertMatch(r.stdout, new RegExp(`^  ${name} `, "m"));
  }
});

Deno.test("an unknown command is a usage error (exit 2) naming the choices", async () => {
  const r = await runCli(["frobnicate"]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /unknown command 'frobnicate'; expected one of: toy, svd/);
});
