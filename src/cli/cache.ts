/**
 * `svlens cache`: placeholder until its issue lands (see `issues`).
 * @module
 */
import { SvlensError } from "../errors.ts";

/** Runs `svlens cache` with the arguments after the command name; returns the exit status. */
export function run(_args: string[]): Promise<number> {
  return Promise.reject(new SvlensError("svlens cache is not implemented yet"));
}
