/**
 * Typed errors shared by every layer. Messages say what was wrong, the offending value, and
 * what to do about it; the CLI prints `error: <message>` and exits 1 (2 for usage errors).
 * @module
 */

/** Base class of every svlens error: the CLI prints its message without a stack trace. */
export class SvlensError extends Error {
  /** Creates an error whose message names the problem and the fix. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line usage: the CLI prints the usage line and exits 2. */
export class UsageError extends SvlensError {}

/** A file that is not what its format says it is (safetensors, pickle, config, tokenizer...). */
export class ModelFormatError extends SvlensError {}

/** A model architecture svlens does not support; refused before any work is done. */
export class UnsupportedArchitectureError extends SvlensError {}

/** A numerical routine failed (LAPACK INFO != 0, non-finite input, no convergence). */
export class NumericalError extends SvlensError {}

/** A network or Hugging Face cache problem (offline with nothing cached, HTTP error, bad hash). */
export class HubError extends SvlensError {}
