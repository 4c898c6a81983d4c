/**
 * Shared test helpers: running the CLI in a subprocess with exact permissions, the shared
 * fixtures folder, and python3/numpy detection for optional oracles.
 * @module
 */

/** Project root (with a trailing slash). */
export const ROOT: URL = new URL("../", import.meta.url);

/** `../shared/fixtures/` beside the project root (absent in a user's clone). */
export const FIXTURES: string = new URL("../../shared/fixtures/", import.meta.url).pathname;

/** Whether the shared fixtures folder exists (tests that need it are ignored otherwise). */
export const HAS_FIXTURES: boolean = (() => {
  try {
    return Deno.statSync(FIXTURES).isDirectory;
  } catch {
    return false;
  }
})();

/** Whether `python3 -c code` runs and succeeds. */
function pythonRuns(code: string): boolean {
  try {
    const out = new Deno.Command("python3", {
      args: ["-c", code],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    return out.success;
  } catch {
    return false;
  }
}

/** Whether `python3 -c "import numpy"` works (optional oracle; tests skip without it). */
export const HAS_NUMPY: boolean = pythonRuns("import numpy");

/** Whether python3 runs at all (plain-Python oracles; tests skip without it). */
export const HAS_PYTHON: boolean = HAS_NUMPY || pythonRuns("1");

/** What a subprocess printed and returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno run <permissions> cli.ts <args>` from the project root. `permissions` are exactly
 * the flags a command documents (e.g. `["--allow-write=/tmp/x"]`); nothing else is granted.
 */
export async function runCli(
  args: string[],
  permissions: string[] = [],
  options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<RunResult> {
  return await runDeno([
    "run",
    "--quiet",
    ...permissions,
    new URL("cli.ts", ROOT).pathname,
    ...args,
  ], options);
}

/** Runs the Deno executable with `args` and collects its output. */
export async function runDeno(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd ?? ROOT.pathname,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs python3 with `script` on stdin; returns stdout (throws on failure). */
export async function runPython(script: string, stdin?: Uint8Array): Promise<string> {
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  if (!out.success) throw new Error(`python3 failed: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/**
 * Runs `fn` with a fresh temporary directory and removes it afterwards (also when `fn` throws).
 * `options` go to `Deno.makeTempDir` (e.g. a `prefix`).
 */
export async function withTempDir(
  fn: (dir: string) => Promise<void>,
  options?: Deno.MakeTempOptions,
): Promise<void> {
  const dir = await Deno.makeTempDir(options);
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
