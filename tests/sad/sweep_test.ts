import { assertEquals, assertThrows } from "../_assert.ts";
import { UsageError } from "../../src/errors.ts";
import {
  parseRevisions,
  parseShard,
  PYTHIA_130_REVISIONS,
  PYTHIA_ALL_REVISIONS,
  shardRevisions,
  stepOf,
} from "../../src/sad/mod.ts";

Deno.test("Pythia revision lists: 154 checkpoints (11 log-spaced + 143) and the 130 subset", () => {
  assertEquals(PYTHIA_ALL_REVISIONS.length, 154);
  assertEquals(PYTHIA_ALL_REVISIONS.slice(0, 12), [
    "step0",
    "step1",
    "step2",
    "step4",
    "step8",
    "step16",
    "step32",
    "step64",
    "step128",
    "step256",
    "step512",
    "step1000",
  ]); // deno-fmt-ignore
  assertEquals(PYTHIA_ALL_REVISIONS.at(-1), "step143000");
  assertEquals(PYTHIA_130_REVISIONS.length, 130);
  assertEquals([PYTHIA_130_REVISIONS[0], PYTHIA_130_REVISIONS.at(-1)], ["step14000", "step143000"]);
  for (const r of PYTHIA_130_REVISIONS) assertEquals(PYTHIA_ALL_REVISIONS.includes(r), true);
  assertEquals(parseRevisions("pythia-130").length, 130);
  assertEquals(parseRevisions("step1, step2"), ["step1", "step2"]);
  assertEquals(stepOf("step143000"), 143000);
  assertEquals(stepOf("main"), undefined);
});

Deno.test("shards partition the revisions; bad specs are usage errors", () => {
  const revs = parseRevisions("pythia-all");
  const parts = [0, 1, 2].map((i) => shardRevisions(revs, i, 3));
  assertEquals(parts.flat().sort(), [...revs].sort());
  assertEquals(parts[0]!.length + parts[1]!.length + parts[2]!.length, 154);
  assertEquals(parseShard("2/5"), { index: 2, count: 5 });
  assertEquals(parseShard(undefined), { index: 0, count: 1 });
  assertThrows(() => parseShard("5/5"), UsageError, /0 ≤ i < n/);
  assertThrows(() => parseRevisions("a,a"), UsageError, /twice/);
  assertThrows(() => parseRevisions("../x"), UsageError, /not a revision/);
});
