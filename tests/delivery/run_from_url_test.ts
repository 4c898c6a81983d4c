/**
 * Run-from-URL: serve the repository over loopback HTTP and run svlens from
 * `http://127.0.0.1:PORT/cli.ts` with only each command's documented permissions, from a
 * directory outside the repository (so deno.json and node_modules are not used, as for a user)
 * and a DENO_DIR of its own: every svlens module (and Wasm ESM import) comes over HTTP, npm
 * packages from the registry.
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { ROOT, runDeno } from "../_helpers.ts";
import { writeRun } from "../../src/report/mod.ts";
import { sampleRun } from "../report/_samples.ts";
import { assertValidResults } from "../report/_schema.ts";
import { serveRepository } from "./_serve.ts";

/**
 * Deno's cache for these runs, kept between runs in the ignored .build/ so npm packages are
 * downloaded once; the served modules are always fetched anew (each server has a new port).
 */
const denoDir = new URL(".build/deno-dir-url-test/", ROOT).pathname;

async function fromUrl(
  args: string[],
  permissions: string[],
): Promise<{ code: number; stdout: string; stderr: string; requested: string[] }> {
  const server = await serveRepository();
  // Run outside the repository so its deno.json and node_modules are not picked up.
  const cwd = await Deno.makeTempDir();
  try {
    const r = await runDeno(["run", "--quiet", ...permissions, `${server.url}cli.ts`, ...args], {
      cwd,
      env: { DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
    });
    return { ...r, requested: server.requested };
  } finally {
    await server.close();
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("run from URL: svlens --help with no permissions at all", async () => {
  const r = await fromUrl(["--help"], []);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /usage: svlens <command>/);
  assertOk(r.requested.includes("/cli.ts"), "cli.ts came over HTTP");
});

Deno.test("run from URL: svlens report DIR with --allow-read=DIR --allow-write=DIR", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeRun(dir, sampleRun("svd"));
    await Deno.remove(`${dir}/report.html`);
    const r = await fromUrl(["report", dir], [`--allow-read=${dir}`, `--allow-write=${dir}`]);
    assertEquals(r.code, 0, r.stderr);
    assertOk(r.requested.includes("/src/report/mod.ts"), "the report layer came over HTTP");
    assertMatch(await Deno.readTextFile(`${dir}/report.html`), /Sample svd report/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "run from URL: svlens toy with only --allow-read=DIR --allow-write=DIR",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/toy`;
      const r = await fromUrl(
        ["toy", "--steps", "50", "--seed", "1", "--out", out, "--json"],
        // Read access is needed too: Deno.rename (the atomic write) requires it.
        [`--allow-read=${dir}`, `--allow-write=${dir}`],
      );
      assertEquals(r.code, 0, r.stderr);
      JSON.parse(r.stdout); // --json prints only the JSON summary
      const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
      assertValidResults(results);
      assertEquals(results.command, "toy");
      assertEquals(results.seed, 1);
      assertMatch(await Deno.readTextFile(`${out}/report.html`), /<svg /);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
