/**
 * `svlens svd`: placeholder until its issue lands (see `issues`).
 * @module
 */
import { SvlensError } from "../errors.ts";

/** Runs `svlens svd` with the arguments after the command name; returns the exit status. */
export function run(_args: string[]): Promise<number> {
  return Promise.reject(new SvlensError("svlens svd is not implemented yet"));
}
