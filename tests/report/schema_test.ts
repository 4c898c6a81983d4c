import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { storeResults } from "../../src/report/mod.ts";
import { SCHEMA_VERSION } from "../../src/version.ts";
import { assertValidResults, resultsErrors, SCHEMA_PATH } from "./_schema.ts";
import { sampleRun } from "./_samples.ts";

const roundTrip = (v: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(v));

Deno.test("schema version in the schema file equals SCHEMA_VERSION", () => {
  const schema = JSON.parse(Deno.readTextFileSync(SCHEMA_PATH));
  assertEquals(schema.properties.schemaVersion.const, SCHEMA_VERSION);
  assertEquals(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
});

for (const command of ["toy", "svd", "sad", "sweep"] as const) {
  Deno.test(`sample ${command} results (every figure kind) validate`, () => {
    const arrays = { s: { shape: [2], data: new Float64Array(2) } };
    assertValidResults(roundTrip(storeResults(sampleRun(command), arrays)));
  });
}

Deno.test("NaN written as null is valid; wrong shapes are rejected with a path", () => {
  const run = sampleRun("toy");
  run.figures = [{
    kind: "line",
    title: "t",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "a", x: [1, 2], y: [NaN, 1] }],
  }];
  assertValidResults(roundTrip(storeResults(run)));

  const bad = roundTrip(storeResults(sampleRun("svd")));
  (bad.figures as Record<string, unknown>[])[0]!.kind = "pie";
  delete bad.createdAt;
  const errors = resultsErrors(bad);
  assertOk(errors.some((e) => e.includes("createdAt")), errors.join("\n"));
  assertOk(errors.some((e) => e.startsWith("/figures/0")), errors.join("\n"));
  assertThrows(() => assertValidResults(bad), Error, /does not match/);
});

Deno.test("per-command rules: toy/sad need a seed, svd/sad/sweep name the model", () => {
  const toy = roundTrip(storeResults(sampleRun("toy")));
  delete toy.seed;
  assertOk(resultsErrors(toy).some((e) => e.includes("seed")));
  const svd = roundTrip(storeResults(sampleRun("svd")));
  svd.parameters = {};
  assertOk(resultsErrors(svd).some((e) => e.includes("model")));
  const sweep = roundTrip(storeResults(sampleRun("sweep")));
  delete (sweep.parameters as Record<string, unknown>).revisions;
  assertOk(resultsErrors(sweep).some((e) => e.includes("revisions")));
});
