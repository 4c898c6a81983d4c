/**
 * The Indirect Object Identification (IOI) prompt generator of Wang et al. (2022) as vendored by
 * the paper's authors (method.md §5), with CPython's `random` reproduced exactly so that a seed
 * gives the very prompts Python gives.
 * @module
 */
import { PythonRandom } from "./python_random.ts";

/** The 89 names of the authors' IOI generator, in their order. */
export const IOI_NAMES: readonly string[] = Object.freeze([
  "Adam",
  "Alan",
  "Alex",
  "Alice",
  "Amy",
  "Anderson",
  "Andre",
  "Andrew",
  "Andy",
  "Anna",
  "Anthony",
  "Arthur",
  "Austin",
  "Brian",
  "Carter",
  "Charles",
  "Charlie",
  "Christian",
  "Christopher",
  "Clark",
  "Cole",
  "Collins",
  "Daniel",
  "David",
  "Dean",
  "Edward",
  "Elizabeth",
  "Eric",
  "Eva",
  "Ford",
  "Frank",
  "George",
  "Georgia",
  "Graham",
  "Grant",
  "Henry",
  "Ian",
  "Jack",
  "Jacob",
  "James",
  "Jane",
  "Jason",
  "Jay",
  "John",
  "Jonathan",
  "Jordan",
  "Joseph",
  "Justin",
  "Kate",
  "Kelly",
  "Kevin",
  "Laura",
  "Leon",
  "Lewis",
  "Lisa",
  "Louis",
  "Luke",
  "Marco",
  "Marcus",
  "Maria",
  "Mark",
  "Martin",
  "Mary",
  "Matthew",
  "Max",
  "Michael",
  "Morgan",
  "Patrick",
  "Paul",
  "Peter",
  "Prince",
  "Richard",
  "River",
  "Robert",
  "Roman",
  "Rose",
  "Ruby",
  "Russell",
  "Ryan",
  "Sarah",
  "Scott",
  "Simon",
  "Stephen",
  "Steven",
  "Taylor",
  "Thomas",
  "Victoria",
  "Warren",
  "William",
]); // deno-fmt-ignore

/** Places substituted for `[PLACE]`. */
export const IOI_PLACES: readonly string[] = Object.freeze([
  "store", "garden", "restaurant", "school", "hospital", "office", "house", "station",
]); // deno-fmt-ignore

/** Objects substituted for `[OBJECT]`. */
export const IOI_OBJECTS: readonly string[] = Object.freeze([
  "ring", "kiss", "bone", "basketball", "computer", "necklace", "drink", "snack",
]); // deno-fmt-ignore

/** The 15 BABA templates (`[A]` = indirect object, `[B]` = subject). */
export const BABA_TEMPLATES: readonly string[] = Object.freeze([
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
]);

/**
 * The ABBA twin of a BABA template: every `[B]` before the first `[A]` becomes `[A]` and that
 * first `[A]` becomes `[B]` (the authors' left-to-right scan).
 */
export function abbaFromBaba(template: string): string {
  const firstA = template.indexOf("[A]");
  if (firstA < 0) return template;
  const head = template.slice(0, firstA).replaceAll("[B]", "[A]");
  return head + "[B]" + template.slice(firstA + 3);
}

/** The 15 ABBA templates, derived from {@linkcode BABA_TEMPLATES}. */
export const ABBA_TEMPLATES: readonly string[] = Object.freeze(BABA_TEMPLATES.map(abbaFromBaba));

/** One generated IOI prompt. */
export interface IoiPrompt {
  /** The full sentence, ending with the indirect-object name. */
  text: string;
  /** The indirect object (the correct completion), `[A]`. */
  io: string;
  /** The subject (named twice), `[B]`. */
  s: string;
  /** The third name drawn by the generator (unused by two-name templates). */
  c: string;
  /** The place substituted for `[PLACE]`. */
  place: string;
  /** The object substituted for `[OBJECT]`. */
  object: string;
  /** The template string with placeholders. */
  template: string;
  /** Index of the template in the (shuffled) template list, like the authors' `TEMPLATE_IDX`. */
  templateIndex: number;
  /** `ABBA` when the IO name appears before the subject's first mention, else `BABA`. */
  kind: "ABBA" | "BABA";
}

/** Options of {@linkcode generateIoiPrompts}. */
export interface IoiOptions {
  /** Number of prompts (default 128). */
  n?: number;
  /** Python `random.seed` value (default 0). */
  seed?: number;
  /** Template family: `mixed` (7 BABA + 7 ABBA, shuffled; default), `BABA` or `ABBA` (all 15). */
  promptType?: "mixed" | "BABA" | "ABBA";
}

/** The template list the authors' `IOIDataset` builds (consuming `rng` for `mixed`). */
function templatesFor(promptType: "mixed" | "BABA" | "ABBA", rng: PythonRandom): string[] {
  if (promptType === "BABA") return [...BABA_TEMPLATES];
  if (promptType === "ABBA") return [...ABBA_TEMPLATES];
  const half = Math.floor(BABA_TEMPLATES.length / 2);
  const templates = [...BABA_TEMPLATES.slice(0, half), ...ABBA_TEMPLATES.slice(0, half)];
  rng.shuffle(templates);
  return templates;
}

/**
 * Generates IOI prompts exactly as the authors' `IOIDataset(prompt_type, N, seed=seed)` does
 * (no prefixes, not symmetric): `random.seed(seed)`, templates shuffled for `mixed`, then per
 * prompt a template, three distinct names, a place and an object.
 *
 * @example
 * ```ts
 * import { generateIoiPrompts } from "./ioi.ts";
 * const [p] = generateIoiPrompts({ n: 1, seed: 0 });
 * if (!p!.text.endsWith(" " + p!.io)) throw new Error("the prompt ends with the IO name");
 * ```
 */
export function generateIoiPrompts(options: IoiOptions = {}): IoiPrompt[] {
  const n = options.n ?? 128;
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`IOI prompt count must be a non-negative integer, got ${n}`);
  }
  const rng = new PythonRandom(seed);
  const templates = templatesFor(options.promptType ?? "mixed", rng);
  const prompts: IoiPrompt[] = [];
  for (let count = 0; count < n; count++) {
    const template = rng.choice(templates);
    let n1 = "", n2 = "", n3 = "";
    while (new Set([n1, n2, n3]).size < 3) {
      n1 = rng.choice(IOI_NAMES);
      n2 = rng.choice(IOI_NAMES);
      n3 = rng.choice(IOI_NAMES);
    }
    const place = rng.choice(IOI_PLACES);
    const object = rng.choice(IOI_OBJECTS);
    const text = template.replaceAll("[PLACE]", place).replaceAll("[OBJECT]", object)
      .replaceAll("[A]", n1).replaceAll("[B]", n2);
    // ABBA: the IO name is mentioned first. Read from the template, not the text: a name can be
    // a prefix of the other ("Andre", "Andrew").
    const kind = template.indexOf("[A]") < template.indexOf("[B]") ? "ABBA" : "BABA";
    prompts.push({
      text,
      io: n1,
      s: n2,
      c: n3,
      place,
      object,
      template,
      templateIndex: templates.indexOf(template),
      kind,
    });
  }
  return prompts;
}
