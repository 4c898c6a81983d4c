#!/usr/bin/env -S deno run
/**
 * The `svlens` command: dispatches to one module per subcommand under `src/cli/`.
 * Exit status: 0 success, 2 usage error, 1 any other failure (one-line cause on stderr).
 * @module
 */
import { SvlensError, UsageError } from "./src/errors.ts";
import { VERSION } from "./src/version.ts";

type Command = (args: string[]) => Promise<number>;

/** Each subcommand's module is loaded only when it runs, so `toy` never loads onnxruntime. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: Command }> }> = {
  toy: {
    summary: "train the toy model; singular vectors vs features",
    load: () => import("./src/cli/toy.ts"),
  },
  svd: { summary: "SVD of every head's QK or OV circuit", load: () => import("./src/cli/svd.ts") },
  cache: {
    summary: "run a model and save activations (TransformerLens hook names)",
    load: () => import("./src/cli/cache.ts"),
  },
  ioi: {
    summary: "print IOI prompts (the authors' generator, CPython-exact)",
    load: () => import("./src/cli/ioi.ts"),
  },
  sad: {
    summary: "Sparse Attention Decomposition on IOI prompts",
    load: () => import("./src/cli/sad.ts"),
  },
  sweep: {
    summary: "SAD over training checkpoints (revisions)",
    load: () => import("./src/cli/sweep.ts"),
  },
  report: {
    summary: "re-render DIR/report.html from DIR/results.json",
    load: () => import("./src/cli/report.ts"),
  },
};

/** The top-level usage text. */
export const USAGE: string = [
  `svlens ${VERSION}: singular vectors of attention heads and the features they align with`,
  "",
  "usage: svlens <command> [options]    (svlens <command> --help for its options)",
  "",
  ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)}${c.summary}`),
  "",
  "  --help     show this help",
  "  --version  print the version",
].join("\n");

/** Runs the CLI on `args` and returns the exit status (never calls `Deno.exit`). */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    console.log(`svlens ${VERSION}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(
      `error: unknown command '${name}'; expected one of: ${Object.keys(COMMANDS).join(", ")}`,
    );
    console.error(USAGE);
    return 2;
  }
  try {
    const { run } = await command.load();
    return await run(rest);
  } catch (error) {
    return reportError(error, name);
  }
}

function reportError(error: unknown, command: string): number {
  if (error instanceof UsageError) {
    // Errors from parsing carry the usage already; value checks point to it.
    const usage = error.message.includes("\nusage: ")
      ? ""
      : `\n(svlens ${command} --help shows the usage)`;
    console.error(`error: ${error.message}${usage}`);
    return 2;
  }
  if (error instanceof SvlensError) {
    console.error(`error: ${error.message}`);
    return 1;
  }
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    console.error(
      `error: ${(error as Error).message}\n(see README: each command's Deno permissions)`,
    );
    return 1;
  }
  console.error(
    `error: unexpected failure: ${error instanceof Error ? error.stack : String(error)}`,
  );
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
