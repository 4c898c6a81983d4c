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

type Json = Record<string, unknown>;
const sadHead = (o: Json): Json => ((o.summary as Json).heads as Json[])[0]!;
const sweepCurve = (o: Json): Json => (o.curves as Json[])[0]!;

/** Mutations of a valid sad / sweep results.json that the schema must reject, by error path. */
const INCOMPLETE: [string, "sad" | "sweep", (o: Json) => void, RegExp][] = [
  ["sad head without the rotation control", "sad", (o) => delete sadHead(o).rotated, /rotated/],
  [
    "sad rotation control without its sparseness",
    "sad",
    (o) => delete (sadHead(o).rotated as Json).meanSparseness,
    /\/rotated .*meanSparseness/,
  ],
  [
    "sad head without its mean sparseness",
    "sad",
    (o) => delete sadHead(o).meanSparseness,
    /heads\/0 .*meanSparseness/,
  ],
  [
    "sad without the rotation seed",
    "sad",
    (o) => delete (o.parameters as Json).rotationSeed,
    /rotationSeed/,
  ],
  [
    "sad canonical pair without its rotated basis",
    "sad",
    (o) => delete (sadHead(o).canonical as Json).rotated,
    /canonical .*rotated/,
  ],
  ["sad histogram of non-counts", "sad", (o) => (sadHead(o).histogram = [0.5]), /histogram/],
  ["sad tau out of range", "sad", (o) => ((o.parameters as Json).tau = 2), /tau/],
  ["sweep without curves", "sweep", (o) => delete o.curves, /curves/],
  [
    "sweep curve without the rotated N_recon",
    "sweep",
    (o) => delete sweepCurve(o).rotatedNRecon,
    /rotatedNRecon/,
  ],
  ["sweep curve with a string", "sweep", (o) => (sweepCurve(o).nRecon = ["1"]), /nRecon\/0/],
  ["sweep curve head id", "sweep", (o) => (sweepCurve(o).head = "L9H6"), /curves\/0\/head/],
  [
    "sweep with pending revisions",
    "sweep",
    (o) => ((o.summary as Json).pending = ["step2000"]),
    /pending/,
  ],
];

for (const [name, command, mutate, pattern] of INCOMPLETE) {
  Deno.test(`schema rejects an incomplete ${command} run: ${name}`, () => {
    const o = roundTrip(storeResults(sampleRun(command)));
    assertEquals(resultsErrors(o), [], "the sample is valid before the mutation");
    mutate(o);
    const errors = resultsErrors(o);
    assertOk(errors.some((e) => pattern.test(e)), errors.join("\n") || "no error");
  });
}
