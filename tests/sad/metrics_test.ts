import { assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";
import { nRecon, sparseness } from "../../src/sad/metrics.ts";

Deno.test("N_recon: hand examples of the ACC rule (signed descending sort, 5-decimal rounding)", () => {
  // total 4; sorted 4, 1, -1 → cumulative 4/4 = 1 at n = 1
  assertEquals(nRecon([1, 4, -1]), 1);
  // total 3; sorted 2, 1.5, 0.5, -1 → 2/3, 3.5/3 ≥ 1 at n = 2 (negatives overshoot, then fall back)
  assertEquals(nRecon([0.5, -1, 2, 1.5]), 2);
  // all positive equal: needs every component
  assertEquals(nRecon([1, 1, 1, 1, 1]), 5);
  // rounding: 0.999996 rounds to 1.00000 at 5 decimals → counts as reached
  assertEquals(nRecon([0.999996, 0.000004]), 1);
  // 0.99999 does not round up → needs the second component
  assertEquals(nRecon([0.99999, 0.00001]), 2);
  // total ≤ 0: dropped (undefined), as ACC does
  assertEquals(nRecon([1, -2]), undefined);
  assertEquals(nRecon([0, 0]), undefined);
  // an explicit total (the directly computed l̃) is used instead of the sum
  assertEquals(nRecon([3, 1], 3), 1);
});

Deno.test("sparseness: bounds 1/K (one non-zero) and 1 (all equal |c|), scale invariance", () => {
  assertEquals(sparseness([0, 0, 0, 7]), 1 / 4);
  assertEquals(sparseness([-3, 3, 3, -3]), 1);
  // (1 + 2 + 3)² / (3 · 14) = 36 / 42
  assertAlmostEquals(sparseness([1, -2, 3]), 36 / 42, 1e-15);
  assertAlmostEquals(sparseness([10, -20, 30]), 36 / 42, 1e-15);
  assertOk(Number.isNaN(sparseness([0, 0])));
  const c = Array.from({ length: 64 }, (_, i) => Math.sin(i) * (i % 3));
  const s = sparseness(c);
  assertOk(s >= 1 / 64 && s <= 1);
});
