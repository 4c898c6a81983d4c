/**
 * A small deterministic byte-level BPE trainer (GPT-2 conventions: bytes mapped to printable
 * characters, GPT-2's pre-tokenisation regex) used to give generated models a working tokenizer.
 * Trained on a built-in English text; ties between pair counts break lexicographically.
 * @module
 */

/** GPT-2's byte → printable-character table (`bytes_to_unicode`). */
export function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const table = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  }
  return table;
}

/** GPT-2's pre-tokenisation pattern. */
const SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const CORPUS =
  `The quick brown fox jumps over the lazy dog. When Mary and John went to the store, John gave
a drink to Mary. The capital of France is Paris, and the capital of Germany is Berlin. Attention
heads read from and write to the residual stream; their query-key circuit decides where to look
and their output-value circuit decides what to move. In 1905, 1915 and 2024 there were 12, 24 and
768 of them. Hello world! Hello, world. Singular vectors of a matrix are the directions that the
matrix stretches the most. A model that sorts numbers must compare them: 3 1 2 becomes 1 2 3.
The cat sat on the mat, the dog sat on the log, and the bird sang in the tree all day long.`;

/**
 * Learns up to `maxVocab - 256` merges over the built-in text. Returns the vocabulary (token →
 * id: the 256 byte symbols in byte order, then merged tokens) and merges as `"a b"` strings.
 */
export function trainByteLevelBpe(
  maxVocab: number,
): { vocab: Record<string, number>; merges: string[] } {
  const b2u = bytesToUnicode();
  const vocab: Record<string, number> = {};
  b2u.forEach((c, i) => (vocab[c] = i));
  const enc = new TextEncoder();
  const words = new Map<string, { syms: string[]; count: number }>();
  for (const m of CORPUS.match(SPLIT) ?? []) {
    const key = Array.from(enc.encode(m), (b) => b2u[b]!).join("");
    const w = words.get(key);
    if (w) w.count++;
    else words.set(key, { syms: Array.from(enc.encode(m), (b) => b2u[b]!), count: 1 });
  }
  const merges: string[] = [];
  let next = 256;
  while (next < maxVocab) {
    const pairs = new Map<string, number>();
    for (const { syms, count } of words.values()) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]} ${syms[i + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + count);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      if (c > bestCount || (c === bestCount && best !== undefined && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (best === undefined) break;
    const [a, b] = best.split(" ") as [string, string];
    const merged = a + b;
    if (vocab[merged] !== undefined) {
      // Already a token through another merge path; record the merge without a new id.
      merges.push(best);
    } else {
      merges.push(best);
      vocab[merged] = next++;
    }
    for (const w of words.values()) {
      const out: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(w.syms[i]!);
      }
      w.syms = out;
    }
  }
  return { vocab, merges };
}
