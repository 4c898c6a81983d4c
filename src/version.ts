/** The svlens version, recorded in every results file. Keep equal to `deno.json`'s version. */
export const VERSION = "0.1.0";

/** Version of the `results.json` schema (bumped on incompatible changes). */
export const SCHEMA_VERSION = 1;
