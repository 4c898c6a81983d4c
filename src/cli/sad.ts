/**
 * `svlens sad`: placeholder until its issue lands (see `issues`).
 * @module
 */
import { SvlensError } from "../errors.ts";

/** Runs `svlens sad` with the arguments after the command name; returns the exit status. */
export function run(_args: string[]): Promise<number> {
  return Promise.reject(new SvlensError("svlens sad is not implemented yet"));
}
