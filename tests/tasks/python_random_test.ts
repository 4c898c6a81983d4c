import { assertEquals, assertThrows } from "../_assert.ts";
import { HAS_PYTHON, runPython } from "../_helpers.ts";
import { PythonRandom } from "../../src/tasks/python_random.ts";

const SEEDS = [0, 1, 42, 12345, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, -7];

Deno.test({
  name: "PythonRandom equals CPython's random stream for several seeds (python3 oracle)",
  ignore: !HAS_PYTHON,
  fn: async () => {
    const script = `
import json, random
out = []
for seed in ${JSON.stringify(SEEDS)}:
    r = random.Random(seed)
    bits = [r.getrandbits(k) for k in (32, 1, 7, 31, 0, 16)]
    below = [r._randbelow(n) for n in (1, 2, 3, 7, 89, 1000, 2**31 + 3)]
    x = list(range(25)); r.shuffle(x)
    ch = [r.choice("abcdefghij") for _ in range(20)]
    flt = [r.random() for _ in range(3)]
    out.append({"bits": bits, "below": below, "shuffle": x, "choice": ch, "random": flt})
print(json.dumps(out))
`;
    const expected = JSON.parse(await runPython(script));
    const actual = SEEDS.map((seed) => {
      const r = new PythonRandom(seed);
      const bits = [32, 1, 7, 31, 0, 16].map((k) => r.getrandbits(k));
      const below = [1, 2, 3, 7, 89, 1000, 2 ** 31 + 3].map((n) => r.randbelow(n));
      const x = Array.from({ length: 25 }, (_, i) => i);
      r.shuffle(x);
      const letters = "abcdefghij".split("");
      const ch = Array.from({ length: 20 }, () => r.choice(letters));
      const flt = [r.random(), r.random(), r.random()];
      return { bits, below, shuffle: x, choice: ch, random: flt };
    });
    assertEquals(actual, expected);
  },
});

Deno.test("PythonRandom: a long stream crosses several twists deterministically", () => {
  const a = new PythonRandom(3);
  const b = new PythonRandom(3n);
  for (let i = 0; i < 2000; i++) assertEquals(a.nextUint32(), b.nextUint32());
});

Deno.test("PythonRandom rejects bad arguments with RangeError", () => {
  const r = new PythonRandom(0);
  assertThrows(() => r.getrandbits(33), RangeError, /0 ≤ k ≤ 32/);
  assertThrows(() => r.randbelow(0), RangeError, /randbelow/);
  assertThrows(() => r.choice([]), RangeError, /empty/);
  assertThrows(() => new PythonRandom(0.5), RangeError, /safe integer/);
});
