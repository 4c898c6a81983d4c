import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import {
  checkResults,
  parseResults,
  ResultsFormatError,
  storeResults,
} from "../../src/report/mod.ts";
import { resultsErrors } from "./_schema.ts";
import { sampleRun } from "./_samples.ts";

const stored = (): Record<string, unknown> =>
  JSON.parse(JSON.stringify(storeResults(sampleRun("svd"))));

Deno.test("parseResults accepts what writeRun stores for every command", () => {
  for (const command of ["toy", "svd", "sad", "sweep"] as const) {
    const text = JSON.stringify(storeResults(sampleRun(command)));
    assertEquals(parseResults(text).command, command);
  }
});

/** Each mutation must be rejected by the runtime check and (but for lengths) the JSON Schema. */
const BAD: [string, (o: Record<string, unknown>) => void, RegExp][] = [
  ["not an object", (o) => Object.keys(o).forEach((k) => delete o[k]), /schemaVersion/],
  ["unknown command", (o) => (o.command = "train"), /command must be one of/],
  ["summary not an object", (o) => (o.summary = [1]), /summary must be an object/],
  [
    "unknown figure kind",
    (o) => ((o.figures as Record<string, unknown>[])[0]!.kind = "pie"),
    /figures\[0\]\.kind/,
  ],
  [
    "heat map row count",
    (o) => (o.figures as { values: unknown[] }[])[0]!.values.pop(),
    /figures\[0\]\.values must be an array of 9 rows/,
  ],
  [
    "string in a line",
    (o) => ((o.figures as { series: { y: unknown[] }[] }[])[2]!.series[0]!.y[0] = "x"),
    /series\[0\]\.y must be an array of numbers/,
  ],
  [
    "grid cell",
    (o) => ((o.figures as { cells: Record<string, unknown>[] }[])[4]!.cells[1]!.title = 3),
    /cells\[1\]\.title must be a string/,
  ],
];

for (const [name, mutate, pattern] of BAD) {
  Deno.test(`invalid results are rejected by both checks: ${name}`, () => {
    const o = stored();
    mutate(o);
    assertThrows(() => checkResults(o), ResultsFormatError, pattern);
    // JSON Schema cannot compare lengths of sibling arrays: that rule is runtime-only.
    if (!name.includes("row count")) {
      assertOk(resultsErrors(o).length > 0, "the JSON Schema rejects it too");
    }
  });
}
