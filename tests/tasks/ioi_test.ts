import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { HAS_PYTHON, runPython } from "../_helpers.ts";
import {
  ABBA_TEMPLATES,
  BABA_TEMPLATES,
  generateIoiPrompts,
  IOI_NAMES,
} from "../../src/tasks/ioi.ts";
import { filterByTopPrediction, ioiPositions } from "../../src/tasks/ioi_positions.ts";
import { SvlensError } from "../../src/errors.ts";

/**
 * An independent Python implementation of method.md §5 (Wang et al.'s gen_prompt_uniform with
 * the authors' character-scan ABBA construction), written from the spec, using python3's random.
 */
const PY_REFERENCE = String.raw`
import json, random, sys
NAMES = """Adam, Alan, Alex, Alice, Amy, Anderson, Andre, Andrew, Andy, Anna, Anthony,
Arthur, Austin, Brian, Carter, Charles, Charlie, Christian, Christopher, Clark, Cole, Collins, Daniel,
David, Dean, Edward, Elizabeth, Eric, Eva, Ford, Frank, George, Georgia, Graham, Grant, Henry, Ian, Jack,
Jacob, James, Jane, Jason, Jay, John, Jonathan, Jordan, Joseph, Justin, Kate, Kelly, Kevin, Laura, Leon,
Lewis, Lisa, Louis, Luke, Marco, Marcus, Maria, Mark, Martin, Mary, Matthew, Max, Michael, Morgan,
Patrick, Paul, Peter, Prince, Richard, River, Robert, Roman, Rose, Ruby, Russell, Ryan, Sarah, Scott,
Simon, Stephen, Steven, Taylor, Thomas, Victoria, Warren, William""".replace("\n", " ").split(", ")
NAMES = [n.strip() for n in NAMES]
assert len(NAMES) == 89
PLACES = ["store", "garden", "restaurant", "school", "hospital", "office", "house", "station"]
OBJECTS = ["ring", "kiss", "bone", "basketball", "computer", "necklace", "drink", "snack"]
BABA = [
"Then, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
"Then, [B] and [A] had a lot of fun at the [PLACE]. [B] gave a [OBJECT] to [A]",
"Then, [B] and [A] were working at the [PLACE]. [B] decided to give a [OBJECT] to [A]",
"Then, [B] and [A] were thinking about going to the [PLACE]. [B] wanted to give a [OBJECT] to [A]",
"Then, [B] and [A] had a long argument, and afterwards [B] said to [A]",
"After [B] and [A] went to the [PLACE], [B] gave a [OBJECT] to [A]",
"When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give it to [A]",
"When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give the [OBJECT] to [A]",
"While [B] and [A] were working at the [PLACE], [B] gave a [OBJECT] to [A]",
"While [B] and [A] were commuting to the [PLACE], [B] gave a [OBJECT] to [A]",
"After the lunch, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
"Afterwards, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
"Then, [B] and [A] had a long argument. Afterwards [B] said to [A]",
"The [PLACE] [B] and [A] went to had a [OBJECT]. [B] gave it to [A]",
"Friends [B] and [A] found a [OBJECT] at the [PLACE]. [B] gave it to [A]",
]
ABBA = BABA[:]
for i in range(len(ABBA)):
    first_clause = True
    for j in range(1, len(ABBA[i]) - 1):
        if ABBA[i][j - 1 : j + 2] == "[B]" and first_clause:
            ABBA[i] = ABBA[i][: j - 1] + "[A]" + ABBA[i][j + 2 :]
        elif ABBA[i][j - 1 : j + 2] == "[A]" and first_clause:
            first_clause = False
            ABBA[i] = ABBA[i][: j - 1] + "[B]" + ABBA[i][j + 2 :]

def gen(N, seed, prompt_type):
    random.seed(seed)
    if prompt_type == "mixed":
        templates = BABA[: 15 // 2].copy() + ABBA[: 15 // 2].copy()
        random.shuffle(templates)
    elif prompt_type == "BABA":
        templates = BABA[:]
    else:
        templates = ABBA[:]
    out = []
    for _ in range(N):
        temp = random.choice(templates)
        n1 = n2 = n3 = ""
        while len({n1, n2, n3}) < 3:
            n1 = random.choice(NAMES); n2 = random.choice(NAMES); n3 = random.choice(NAMES)
        nouns = {"[PLACE]": random.choice(PLACES), "[OBJECT]": random.choice(OBJECTS)}
        p = temp
        for k in nouns:
            p = p.replace(k, nouns[k])
        p = p.replace("[A]", n1).replace("[B]", n2)
        out.append({"text": p, "io": n1, "s": n2, "template": temp,
                    "templateIndex": templates.index(temp)})
    return out

cases = json.loads(sys.argv[1] if len(sys.argv) > 1 else "[]")
`;

Deno.test({
  name: "IOI prompts equal an independent python3 generator byte for byte (several seeds, N)",
  ignore: !HAS_PYTHON,
  fn: async () => {
    const cases: Array<[number, number, "mixed" | "BABA" | "ABBA"]> = [
      [128, 0, "mixed"],
      [256, 1, "mixed"],
      [50, 42, "mixed"],
      [33, 2024, "BABA"],
      [33, 7, "ABBA"],
      [0, 3, "mixed"],
    ];
    const script = PY_REFERENCE +
      `print(json.dumps([gen(n, s, t) for n, s, t in ${JSON.stringify(cases)}]))`;
    const expected = JSON.parse(await runPython(script)) as Array<Array<Record<string, unknown>>>;
    cases.forEach(([n, seed, promptType], i) => {
      const ours = generateIoiPrompts({ n, seed, promptType }).map((p) => ({
        text: p.text,
        io: p.io,
        s: p.s,
        template: p.template,
        templateIndex: p.templateIndex,
      }));
      assertEquals(ours, expected[i], `case n=${n} seed=${seed} ${promptType}`);
    });
  },
});

Deno.test("ABBA templates swap the first-clause names; kinds follow the first mention", () => {
  assertEquals(
    ABBA_TEMPLATES[0],
    "Then, [A] and [B] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
  );
  assertEquals(ABBA_TEMPLATES.length, 15);
  for (const t of ABBA_TEMPLATES) assertOk(t.indexOf("[A]") < t.indexOf("[B]"));
  for (const t of BABA_TEMPLATES) assertOk(t.indexOf("[B]") < t.indexOf("[A]"));
  const prompts = generateIoiPrompts({ n: 64, seed: 5 });
  for (const p of prompts) {
    assertEquals(p.kind, ABBA_TEMPLATES.includes(p.template) ? "ABBA" : "BABA");
    assertOk(new Set([p.io, p.s, p.c]).size === 3 && IOI_NAMES.includes(p.io));
    assertOk(p.text.endsWith(" " + p.io));
  }
  // A name that is a prefix of the other: text search would call this ABBA prompt BABA.
  const andre = generateIoiPrompts({ n: 170, seed: 93 })[169]!;
  assertEquals([andre.io, andre.s], ["Andrew", "Andre"]);
  assertEquals(andre.kind, "ABBA");
});

/** A word-level tokenizer (" word" tokens, punctuation separate) with ids from a growing map. */
function wordTokenizer(): { encode(text: string): number[]; vocab: Map<string, number> } {
  const vocab = new Map<string, number>();
  return {
    vocab,
    encode(text: string): number[] {
      const pieces = text.match(/ ?[A-Za-z]+| ?[.,]/g) ?? [];
      return pieces.map((piece) => {
        if (!vocab.has(piece)) vocab.set(piece, vocab.size);
        return vocab.get(piece)!;
      });
    },
  };
}

Deno.test("IOI positions follow §5.5 on a word-level tokenizer (hand-checked example)", () => {
  const tok = wordTokenizer();
  const prompt = generateIoiPrompts({ n: 1, seed: 0 })[0]!;
  const fixed = {
    ...prompt,
    text: "Then, Mary and John went to the store. John gave a ring to Mary",
    io: "Mary",
    s: "John",
  };
  // tokens: Then , ␣Mary ␣and ␣John ␣went ␣to ␣the ␣store . ␣John ␣gave ␣a ␣ring ␣to ␣Mary
  //         0    1  2     3    4     5     6   7    8      9  10    11    12 13    14  15
  const pos = ioiPositions(fixed, tok);
  assertEquals(
    { io: pos.io, s1: pos.s1, s2: pos.s2, end: pos.end, punct: pos.punct, verb: pos.verb },
    { io: 2, s1: 4, s2: 10, end: 14, punct: 9, verb: 11 },
  );
  assertEquals(pos.tokens.length, 16);
  assertEquals(pos.ioToken, tok.vocab.get(" Mary"));

  const said = {
    ...fixed,
    text: "Then, John and Mary had a long argument, and afterwards John said to Mary",
  };
  const p2 = ioiPositions(said, tok);
  // Then , ␣John ␣and ␣Mary ␣had ␣a ␣long ␣argument , ␣and ...: no "." → the last "," (9)
  assertEquals(p2.punct, 9);
  assertEquals(p2.verb, p2.tokens.indexOf(tok.vocab.get(" said")!));
  assertEquals([p2.s1, p2.io], [2, 4]);
});

Deno.test("IOI positions for every generated prompt point at the right tokens", () => {
  const tok = wordTokenizer();
  for (const p of generateIoiPrompts({ n: 128, seed: 0 })) {
    const pos = ioiPositions(p, tok);
    const id = (w: string) => tok.vocab.get(w);
    assertEquals(pos.tokens[pos.io], id(" " + p.io));
    assertEquals(pos.tokens[pos.s1], id(" " + p.s));
    assertEquals(pos.tokens[pos.s2], id(" " + p.s));
    assertOk(pos.s2 > pos.s1 && pos.end === pos.tokens.length - 2);
    assertEquals(pos.tokens[pos.end + 1], id(" " + p.io));
    assertOk(pos.verb > pos.s2 && pos.verb < pos.end + 1);
  }
});

Deno.test("ioiPositions names the prompt when a name token is missing; filter keeps IO-top", () => {
  const tok = { encode: (t: string) => (t.startsWith(" ") ? [99] : t.split(" ").map(() => 1)) };
  const p = generateIoiPrompts({ n: 1, seed: 0 })[0]!;
  assertThrows(() => ioiPositions(p, tok), SvlensError, /does not occur/);
  const wt = wordTokenizer();
  const items = generateIoiPrompts({ n: 4, seed: 1 }).map((q) => ({
    positions: ioiPositions(q, wt),
  }));
  const kept = filterByTopPrediction(
    items,
    (i) => (i % 2 === 0 ? items[i]!.positions.ioToken : -1),
  );
  assertEquals(kept, [items[0], items[2]]);
});
