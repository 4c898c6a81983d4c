/**
 * `svlens ioi`: prints the authors' IOI prompts (CPython-exact generator). Needs no permissions.
 * @module
 */
import { intOption, parseCommandArgs } from "./_args.ts";
import { UsageError } from "../errors.ts";
import { generateIoiPrompts } from "../tasks/mod.ts";

const USAGE = `usage: svlens ioi [--n N] [--seed S] [--type mixed|BABA|ABBA] [--json]

Prints IOI prompts generated exactly as the authors' IOIDataset(prompt_type, N, seed) does
(Python random reproduced bit for bit). Defaults: --n 128 --seed 0 --type mixed.
  --json   print a JSON array of {text, io, s, c, place, object, template, templateIndex, kind}`;

/** Runs `svlens ioi` with the arguments after the command name; returns the exit status. */
export function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    n: { type: "string" },
    seed: { type: "string" },
    type: { type: "string" },
    json: { type: "boolean" },
  }, USAGE);
  if (parsed === undefined) return Promise.resolve(0);
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `svlens ioi takes no positional arguments, got '${parsed.positionals[0]}'\n${USAGE}`,
    );
  }
  const n = intOption("n", parsed.values.n, 128);
  const seed = intOption("seed", parsed.values.seed, 0);
  const promptType = parsed.values.type ?? "mixed";
  if (promptType !== "mixed" && promptType !== "BABA" && promptType !== "ABBA") {
    throw new UsageError(`--type must be mixed, BABA or ABBA, got '${promptType}'\n${USAGE}`);
  }
  const prompts = generateIoiPrompts({ n, seed, promptType });
  if (parsed.values.json) {
    console.log(JSON.stringify(prompts, null, 1));
  } else {
    for (const [i, p] of prompts.entries()) {
      console.log(
        `${String(i).padStart(4)}  ${p.kind}  IO=${p.io.padEnd(11)} S=${p.s.padEnd(11)} ${p.text}`,
      );
    }
  }
  return Promise.resolve(0);
}
