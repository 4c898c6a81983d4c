/**
 * Token positions of an IOI prompt (method.md §5 step 5): IO, S1, S2, END, punct, verb, found the
 * way the authors' `get_idx_dict` finds them, for any tokenizer with an `encode` method.
 * @module
 */
import { SvlensError } from "../errors.ts";
import type { IoiPrompt } from "./ioi.ts";

/** The part of a tokenizer the IOI positions need. */
export interface TextEncoderLike {
  /** Token ids of `text` (no special tokens, no BOS). */
  encode(text: string): number[];
}

/** Token positions (0-based) of one IOI prompt, plus its tokens. */
export interface IoiPositions {
  /** Token ids of the full prompt (including the final IO name). */
  tokens: number[];
  /** First position of the IO name. */
  io: number;
  /** First position of the subject name. */
  s1: number;
  /** Last position of the subject name (before the final word). */
  s2: number;
  /** The token just before the final name (`len(tokens) − 2`). */
  end: number;
  /** The last "." token if the text has a ".", else the last "," token. */
  punct: number;
  /** The last " gave"/" give"/" said" token (later list entries win), or −1 if none. */
  verb: number;
  /** First token id of " " + IO (the correct next token at END). */
  ioToken: number;
  /** First token id of " " + S. */
  sToken: number;
}

function lastIndexOf(tokens: number[], id: number): number {
  return tokens.lastIndexOf(id);
}

/**
 * The authors' word index: for each word of `words` present in the text (later entries win),
 * the first occurrence of its first token, or the last occurrence when it occurs more than once
 * (i.e. the last occurrence). Returns −1 when no word is present.
 */
function wordIndex(text: string, tokens: number[], words: string[], tok: TextEncoderLike): number {
  let idx = -1;
  for (const word of words) {
    if (!text.includes(word)) continue;
    const id = tok.encode(word)[0];
    if (id === undefined) continue;
    const at = lastIndexOf(tokens, id);
    if (at >= 0) idx = at;
  }
  return idx;
}

/**
 * Positions of `prompt` under `tokenizer` (method.md §5.5). IO and S1 are the first and S2 the
 * last occurrence of the first token of " "+name among the tokens of the text minus its last
 * word; END = number of tokens − 2 (the authors' "first pad index − 2").
 * Throws an `SvlensError` naming the prompt when a name token cannot be found.
 */
export function ioiPositions(prompt: IoiPrompt, tokenizer: TextEncoderLike): IoiPositions {
  const tokens = tokenizer.encode(prompt.text);
  const words = prompt.text.split(" ");
  const head = tokenizer.encode(words.slice(0, -1).join(" "));
  const ioToken = tokenizer.encode(" " + prompt.io)[0];
  const sToken = tokenizer.encode(" " + prompt.s)[0];
  if (ioToken === undefined || sToken === undefined) {
    throw new SvlensError(`IOI names '${prompt.io}'/'${prompt.s}' encode to no tokens`);
  }
  const io = head.indexOf(ioToken);
  const s1 = head.indexOf(sToken);
  const s2 = lastIndexOf(head, sToken);
  if (io < 0 || s1 < 0) {
    throw new SvlensError(
      `IOI prompt "${prompt.text}": the token of " ${io < 0 ? prompt.io : prompt.s}" does not ` +
        "occur in its tokens; this tokenizer splits names differently from GPT-2/Pythia",
    );
  }
  return {
    tokens,
    io,
    s1,
    s2,
    end: tokens.length - 2,
    punct: wordIndex(prompt.text, tokens, [",", "."], tokenizer),
    verb: wordIndex(prompt.text, tokens, [" gave", " give", " said"], tokenizer),
    ioToken,
    sToken,
  };
}

/**
 * Keeps the prompts whose top prediction at END is the IO token (method.md §5.6).
 * `topToken(i)` returns the argmax token at END of prompt `i` (from a forward pass).
 */
export function filterByTopPrediction<T extends { positions: IoiPositions }>(
  items: T[],
  topToken: (index: number) => number,
): T[] {
  return items.filter((item, i) => topToken(i) === item.positions.ioToken);
}
