/**
 * Backend selection for the decompositions: WASM LAPACK (fast, default) or the pure-TS
 * reference implementations (the test oracle).
 * @module
 */

/** Which implementation a decomposition runs on. */
export type Backend = "lapack" | "reference";

let current: Backend = "lapack";

/** The backend used when an options object names none. */
export function defaultBackend(): Backend {
  return current;
}

/**
 * Sets the process-wide default backend (e.g. `"reference"` to cross-check a whole run
 * against the pure-TS implementations). Returns the previous default.
 */
export function setDefaultBackend(backend: Backend): Backend {
  if (backend !== "lapack" && backend !== "reference") {
    throw new RangeError(`backend must be "lapack" or "reference", got ${String(backend)}`);
  }
  const previous = current;
  current = backend;
  return previous;
}
