/**
 * Compile-ready: the `deno compile` dry run (tools/compile_dry_run.sh, see platform.md) exits 0
 * and embeds the CLI, its layers and the runtime Wasm; and no module reachable from cli.ts locates
 * files next to its own source (import.meta.url/dirname/filename), which a binary cannot serve.
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { ROOT, runDeno } from "../_helpers.ts";

Deno.test("compile dry run: tools/compile_dry_run.sh embeds the module graph and exits 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("bash", {
      args: [new URL("tools/compile_dry_run.sh", ROOT).pathname, `${dir}/svlens`],
      env: { NO_COLOR: "1", DENO: Deno.execPath() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    assertMatch(text, /Embedded Files/);
    assertMatch(text, /cli\.ts/);
    for (const layer of ["cli", "report", "io"]) assertMatch(text, new RegExp(`${layer}[/ ]`));
    assertMatch(text, /ort-wasm-simd-threaded\.wasm/);
    assertOk(!/deno\/deno \(/.test(text), "Deno's own binary is not embedded");
    assertMatch(text, /compile dry run ok/);
    assertEquals([...Deno.readDirSync(dir)].length, 0, "the non-svlens binary is discarded");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile-ready: no module reachable from cli.ts reads files beside its source", async () => {
  const info = await runDeno(["info", "--json", "cli.ts"]);
  assertEquals(info.code, 0, info.stderr);
  const graph = JSON.parse(info.stdout) as { modules: { specifier: string }[] };
  const local = graph.modules.map((m) => m.specifier).filter((s) =>
    s.startsWith(ROOT.href) && !s.includes("/node_modules/") && s.endsWith(".ts")
  );
  assertOk(local.length > 10, `module graph of cli.ts: ${local.length} local modules`);
  const offenders = local.filter((s) =>
    /import\.meta\.(url|dirname|filename)/.test(
      Deno.readTextFileSync(new URL(s)).replace(/^\s*(\*|\/\/).*$/gm, ""),
    )
  );
  assertEquals(offenders, [], "use static imports (Wasm ESM, bytes imports) instead");
});
