/**
 * Test helper: validates a results object (e.g. a parsed `results.json`) against the versioned
 * JSON Schema `schema/results.schema.json` with ajv (draft 2020-12). Any CLI test can call
 * `assertValidResults(JSON.parse(await Deno.readTextFile(`${dir}/results.json`)))`.
 * @module
 */
// Full specifiers, as everywhere in svlens (no import map; see RULES).
import { Ajv2020 } from "npm:ajv@8.20.0/dist/2020.js";
import type { ErrorObject, ValidateFunction } from "npm:ajv@8.20.0";

/** Path of the schema in the repository. */
export const SCHEMA_PATH: string = new URL("../../schema/results.schema.json", import.meta.url)
  .pathname;

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(Deno.readTextFileSync(SCHEMA_PATH));
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
  });
  // ISO 8601 UTC timestamps as `Date.toISOString` writes them.
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  validator = ajv.compile(schema);
  return validator;
}

/** Schema errors of `value` as readable lines (empty when valid). */
export function resultsErrors(value: unknown): string[] {
  const validate = compile();
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) =>
    `${e.instancePath || "/"} ${e.message ?? "is invalid"}${
      e.params && Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : ""
    }`
  );
}

/** Throws (listing every schema error) unless `value` is a valid results.json object. */
export function assertValidResults(value: unknown): void {
  const errors = resultsErrors(value);
  if (errors.length > 0) {
    throw new Error(`results.json does not match ${SCHEMA_PATH}:\n  ${errors.join("\n  ")}`);
  }
}
