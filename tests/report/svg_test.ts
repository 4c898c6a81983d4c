import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { renderFigure } from "../../src/report/mod.ts";
import { MAX_HEATMAP_SIDE } from "../../src/report/svg.ts";
import { diverging, linearTicks, logTicks, sequential } from "../../src/report/_svg_util.ts";
import type { HeatmapFigure } from "../../src/report/mod.ts";

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

/** Every opened element is closed (a cheap well-formedness check of the generated markup). */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) assertEquals(stack.pop(), name, `closing </${name}>`);
    else stack.push(name!);
  }
  assertEquals(stack, []);
}

Deno.test("palettes: diverging is white at 0 and blue/red at the ends; viridis endpoints", () => {
  assertEquals(diverging(0.5), "#f7f7f7");
  assertEquals(diverging(0), "#053061");
  assertEquals(diverging(1), "#67001f");
  assertEquals(sequential(0), "#440154");
  assertEquals(sequential(1), "#fde725");
  assertEquals(diverging(NaN), "#f7f7f7", "non-finite input maps to the centre");
});

Deno.test("ticks: nice linear steps and decades", () => {
  assertEquals(linearTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assertEquals(linearTicks(-3, 7, 5), [-4, -2, 0, 2, 4, 6, 8]);
  assertEquals(linearTicks(0.07, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assertEquals(logTicks(0.001, 10), [0.001, 0.01, 0.1, 1, 10]);
});

Deno.test("heat map: one cell per value, colours centred on 0, labels escaped, tooltips", () => {
  const f: HeatmapFigure = {
    kind: "heatmap",
    title: "QK <L0H1>",
    xLabel: "key",
    yLabel: "query",
    x: ["<|endoftext|>", " a", " a"],
    y: ["q0", "q1"],
    values: [[-2, 0, 1], [2, NaN, 0.5]],
  };
  const svg = renderFigure(f);
  assertBalanced(svg);
  assertEquals(count(svg, /<rect x=[^>]*fill="#/g), 6, "one rect per cell");
  assertMatch(svg, /fill="#053061"><title>q0 × &lt;\|endoftext\|&gt;: -2<\/title>/);
  assertMatch(svg, /fill="#f7f7f7"><title>q0 × {2}a: 0<\/title>/);
  assertMatch(svg, /fill="#67001f"><title>q1 × &lt;\|endoftext\|&gt;: 2<\/title>/);
  assertMatch(svg, /fill="#bdbdbd"><title>q1 × {2}a: NaN<\/title>/);
  assertMatch(svg, /QK &lt;L0H1&gt;/);
  assertOk(!svg.includes("<L0H1>"), "raw text never reaches the markup");
});

Deno.test("heat map: non-negative data uses the sequential palette unless diverging", () => {
  const f: HeatmapFigure = {
    kind: "heatmap",
    title: "t",
    xLabel: "x",
    yLabel: "y",
    x: ["a", "b"],
    y: ["r"],
    values: [[0, 1]],
  };
  assertMatch(renderFigure(f), /fill="#440154"><title>r × a: 0/);
  assertMatch(renderFigure({ ...f, diverging: true }), /fill="#f7f7f7"><title>r × a: 0/);
});

Deno.test("heat map: large matrices are shown as block means, with a note", () => {
  const n = 2 * MAX_HEATMAP_SIDE + 1;
  const labels = Array.from({ length: n }, (_, i) => `t${i}`);
  const svg = renderFigure({
    kind: "heatmap",
    title: "big",
    xLabel: "x",
    yLabel: "y",
    x: labels,
    y: labels,
    values: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => i + j)),
  });
  const side = Math.ceil(n / 3);
  assertEquals(count(svg, /<rect x=[^>]*fill="#[0-9a-f]{6}"(>|\/>)/g), side * side);
  assertMatch(svg, new RegExp(`${n}×${n} shown as means of 3×3 blocks`));
  assertMatch(svg, /<title>t0…t2 × t0…t2: 2<\/title>/); // mean of i+j over a 3×3 block
});

Deno.test("line chart: log axes drop non-positive points; one polyline per series", () => {
  const svg = renderFigure({
    kind: "line",
    title: "l",
    xLabel: "step",
    yLabel: "loss",
    logX: true,
    logY: true,
    series: [{ name: "a", x: [0, 1, 10, 100], y: [5, 1, 0.1, -1] }, {
      name: "b",
      x: [1, 100],
      y: [1, 1],
    }],
  });
  assertBalanced(svg);
  assertEquals(count(svg, /<polyline/g), 2);
  assertEquals(count(svg, /<circle/g), 2 + 2, "points (0,5) and (100,-1) dropped");
  assertMatch(svg, />0\.1<\/text>/);
  assertMatch(svg, />100<\/text>/);
});

Deno.test("bar chart, grid and table render; empty figures do not throw", () => {
  const bar = renderFigure({
    kind: "bar",
    title: "spectrum",
    xLabel: "k",
    yLabel: "σ",
    categories: ["1", "2", "3"],
    series: [{ name: "σ", values: [3, -1, 0.5] }, { name: "τ", values: [1, 1, 1] }],
  });
  assertBalanced(bar);
  assertEquals(count(bar, /class="bar"/g), 6);
  const grid = renderFigure({ kind: "grid", title: "g", columns: 2, cells: [] });
  assertMatch(grid, /repeat\(2, /);
  const table = renderFigure({
    kind: "table",
    title: "t",
    columns: ["a", "b"],
    rows: [["<x>", 1.23456789]],
  });
  assertMatch(table, /<td>&lt;x&gt;<\/td><td class="num">1\.235<\/td>/);
  for (
    const svg of [
      renderFigure({ kind: "line", title: "e", xLabel: "", yLabel: "", series: [] }),
      renderFigure({ kind: "bar", title: "e", xLabel: "", yLabel: "", categories: [], series: [] }),
      renderFigure({
        kind: "heatmap",
        title: "e",
        xLabel: "",
        yLabel: "",
        x: [],
        y: [],
        values: [],
      }),
    ]
  ) {
    assertBalanced(svg);
    assertOk(!svg.includes('NaN"') && !svg.includes("Infinity"), svg.slice(0, 300));
  }
});
