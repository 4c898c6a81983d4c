import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { progress, type ProgressStream } from "../../src/io/progress.ts";

function fake(terminal: boolean): ProgressStream & { text: () => string } {
  const chunks: Uint8Array[] = [];
  return {
    isTerminal: () => terminal,
    writeSync: (p) => (chunks.push(p.slice()), p.length),
    text: () => chunks.map((c) => new TextDecoder().decode(c)).join(""),
  };
}

Deno.test("progress draws a live bar on a terminal and ends with a newline", () => {
  const s = fake(true);
  const p = progress("train", 4, { stream: s, intervalMs: 0 });
  for (let i = 0; i < 4; i++) p.tick(1, `loss ${i}`);
  p.done("ok");
  const text = s.text();
  assertMatch(text, /\rtrain \[######\.{18}\] 1\/4 25% .*loss 0/);
  assertMatch(text, /\rtrain \[#{24}\] 4\/4 100% [\d.]+s .*ok/);
  assertOk(text.endsWith("ok\u001b[K\n"), "clears to the end of the line, then a newline");
  assertOk(text.indexOf("\n") === text.length - 1, "one line, redrawn in place");
});

Deno.test("progress is silent when stderr is not a terminal, or quiet", () => {
  for (const [terminal, quiet] of [[false, false], [true, true]] as const) {
    const s = fake(terminal);
    const p = progress("x", 2, { stream: s, quiet, intervalMs: 0 });
    p.tick();
    p.tick();
    p.done();
    assertEquals(s.text(), "");
  }
});

Deno.test("progress with unknown total counts without a bar; redraws are throttled", () => {
  const s = fake(true);
  const p = progress("download", 0, { stream: s, intervalMs: 60_000 });
  for (let i = 0; i < 100; i++) p.tick();
  p.done();
  const draws = s.text().split("\r").length - 1;
  assertEquals(draws, 2, "first tick + done only");
  assertMatch(s.text(), /\rdownload 100 /);
});
