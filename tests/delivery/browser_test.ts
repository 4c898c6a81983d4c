/**
 * Opens every kind of report in headless Chromium: the sample shapes of toy, svd, sad and sweep
 * (every figure kind), and the reports real `svlens toy`, `svd`, `sad` and `sweep` runs write
 * (tiny generated GPT-2 checkpoints); checks that the plots rendered, nothing was logged as an
 * error, and the page made no network request beyond its own file. Screenshots stay in the
 * printed temp dirs (CI artifacts). Skipped when /usr/bin/chromium is absent.
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { writeRun } from "../../src/report/mod.ts";
import { sampleRun } from "../report/_samples.ts";
import { runCli } from "../_helpers.ts";
import { writeGpt2Dir } from "../cli/_gpt2_dir.ts";
import { assertValidResults } from "../report/_schema.ts";
import { Browser, HAS_CHROMIUM } from "./_cdp.ts";

/** What the page reports about itself: counted in the browser, after layout. */
const PROBE = `JSON.stringify({
  svgs: document.querySelectorAll("svg").length,
  drawn: [...document.querySelectorAll("svg.fig")].filter((s) => {
    const r = s.getBoundingClientRect(); return r.width > 50 && r.height > 50;
  }).length,
  kinds: [...document.querySelectorAll("figure")].map((f) => f.className),
  titles: [...document.querySelectorAll("svg.fig .fig-title, figure > h3")].map((t) => t.textContent),
  cells: document.querySelectorAll("svg.heatmap g.cells rect").length,
  bars: document.querySelectorAll("svg.bar rect.bar").length,
  lines: document.querySelectorAll("svg.line polyline.series").length,
  tableRows: document.querySelectorAll("table.data tbody tr").length,
  scripts: document.scripts.length,
  brokenKeys: [...document.querySelectorAll("dl.kv dt")].filter((d) => {
    const r = document.createRange(); r.selectNodeContents(d); return r.getClientRects().length > 2;
  }).map((d) => d.textContent),
  csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content ?? "",
})`;

interface Probe {
  svgs: number;
  drawn: number;
  kinds: string[];
  titles: string[];
  cells: number;
  bars: number;
  lines: number;
  tableRows: number;
  scripts: number;
  /** Parameter / summary names wrapped over more than two lines (squeezed by a long value). */
  brokenKeys: string[];
  csp: string;
}

Deno.test({
  name: "browser: every report kind renders its plots offline, without errors or requests",
  ignore: !HAS_CHROMIUM,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "svlens-report-shots-" });
    const browser = await Browser.launch();
    try {
      for (const command of ["toy", "svd", "sad", "sweep"] as const) {
        const run = sampleRun(command);
        await writeRun(`${dir}/${command}`, run, {
          s: { shape: [3], data: new Float64Array([3, 2, 1]) },
        });
        const url = `file://${dir}/${command}/report.html`;
        const visit = await browser.visit(url, PROBE);
        await Deno.writeFile(`${dir}/${command}.png`, visit.screenshot);
        const p = JSON.parse(visit.value as string) as Probe;
        assertEquals(visit.errors, [], `${command}: page logged errors`);
        assertEquals(visit.requests, [url], `${command}: only the page itself is loaded`);
        assertEquals(p.scripts, 0);
        assertOk(p.csp.includes("default-src 'none'"), "CSP forbids loading anything");
        assertEquals(p.kinds, [
          "figure kind-heatmap",
          "figure kind-heatmap",
          "figure kind-line",
          "figure kind-bar",
          "figure kind-grid",
          "figure kind-table",
        ]);
        // 2 heat maps + line + bar + 6 grid cells, each laid out at a visible size.
        assertEquals(p.svgs, 10);
        assertEquals(p.drawn, 10);
        assertEquals(p.titles.slice(0, 4), run.figures.slice(0, 4).map((f) => f.title));
        assertOk(p.titles.includes("N_recon per head") && p.titles.includes("Heads"));
        assertEquals(p.cells, 9 * 9 + 3 * 4, "one rect per heat-map cell");
        assertEquals(p.lines, 2);
        assertEquals(p.bars, 16 + 6 * 5, "spectrum bars + histogram bars");
        assertEquals(p.tableRows, 2);
        assertOk(visit.screenshot.length > 20_000, "a non-trivial screenshot");
      }
      console.log(`report screenshots: ${dir}/{toy,svd,sad,sweep}.png`);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "browser: the request and error detectors catch a page that loads something",
  ignore: !HAS_CHROMIUM,
  async fn() {
    // A control page without the CSP that fetches an image: the detector must see it.
    const dir = await Deno.makeTempDir();
    const browser = await Browser.launch();
    try {
      await Deno.writeTextFile(
        `${dir}/control.html`,
        `<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>`,
      );
      const visit = await browser.visit(`file://${dir}/control.html`, "1");
      assertOk(visit.requests.includes("http://127.0.0.1:9/x.png"), visit.requests.join(", "));
      assertOk(visit.errors.some((e) => e.includes("boom")), visit.errors.join("\n"));
    } finally {
      await browser.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

type ResultsFigure = { kind: string; title: string; cells?: ResultsFigure[] };

/** Plots (SVGs) a figure of results.json renders to: one per chart, per grid cell, none per table. */
function plotCount(f: ResultsFigure): number {
  if (f.kind === "grid") return (f.cells ?? []).reduce((n, c) => n + plotCount(c), 0);
  return f.kind === "table" ? 0 : 1;
}

/**
 * Opens the report a real command wrote in `out` and checks it against its results.json: one
 * `<figure>` per figure in order, every plot laid out, no console error, no request. Keeps the
 * screenshot at `shot` (in the test's temp dir).
 */
async function assertRealReport(browser: Browser, out: string, shot: string): Promise<void> {
  const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
  assertValidResults(results);
  const figures = results.figures as ResultsFigure[];
  const url = `file://${out}/report.html`;
  const visit = await browser.visit(url, PROBE);
  await Deno.writeFile(shot, visit.screenshot);
  const p = JSON.parse(visit.value as string) as Probe;
  const what = `${results.command} report`;
  assertEquals(visit.errors, [], `${what}: page logged errors`);
  assertEquals(visit.requests, [url], `${what}: only the page itself is loaded`);
  assertEquals(p.scripts, 0);
  assertEquals(p.brokenKeys, [], `${what}: names of long parameters stay readable`);
  assertEquals(p.kinds.length, figures.length, `${what}: one <figure> per results figure`);
  assertEquals(p.kinds, figures.map((f) => `figure kind-${f.kind}`));
  const plots = figures.reduce((n, f) => n + plotCount(f), 0);
  assertOk(plots > 0, `${what} has plots`);
  assertEquals(p.svgs, plots, `${what}: one SVG per chart and grid cell`);
  assertEquals(p.drawn, plots, `${what}: every plot laid out at a visible size`);
  for (const f of figures) assertOk(p.titles.includes(f.title), `${what}: title '${f.title}'`);
  if (figures.some((f) => f.kind === "table")) assertOk(p.tableRows > 0, `${what}: table rows`);
  const lineFigures = figures.filter((f) => f.kind === "line").length;
  assertOk(p.lines >= lineFigures, `${what}: ${p.lines} lines for ${lineFigures} line charts`);
  assertOk(visit.screenshot.length > 10_000, `${what}: a non-trivial screenshot`);
}

Deno.test({
  name: "browser: a real `svlens toy` report renders without errors or requests",
  ignore: !HAS_CHROMIUM,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "svlens-toy-shot-" });
    const out = `${dir}/toy`;
    const r = await runCli(
      ["toy", "--steps", "50", "--out", out, "--json"],
      [`--allow-read=${dir}`, `--allow-write=${dir}`],
    );
    assertEquals(r.code, 0, r.stderr);
    const browser = await Browser.launch();
    try {
      await assertRealReport(browser, out, `${dir}/toy.png`);
      console.log(`toy report screenshot: ${dir}/toy.png`);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name: "browser: real `svlens svd`, `sad` and `sweep` reports (tiny GPT-2 checkpoints) render",
  ignore: !HAS_CHROMIUM,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "svlens-model-shots-" });
    const model = `${dir}/gpt2`, ckpt = `${dir}/ckpt`;
    await writeGpt2Dir(model, { nLayer: 2, nHead: 2, nEmbd: 16, seed: 1 });
    for (const [i, rev] of ["step0", "step100"].entries()) {
      await writeGpt2Dir(`${ckpt}/${rev}`, { nLayer: 1, nHead: 2, nEmbd: 16, seed: 10 + i });
    }
    // Each command with its documented permissions (README), the reference backend for speed.
    const perms = (read: string, out: string) => [
      `--allow-read=${read},${out}`,
      `--allow-write=${out}`,
    ];
    const sad = ["--n", "8", "--tau", "1/m", "--backend", "reference", "--json"];
    const runs = await Promise.all([
      runCli(["svd", model, "--out", `${dir}/svd`], perms(model, `${dir}/svd`)),
      runCli(["sad", model, ...sad, "--out", `${dir}/sad`], perms(model, `${dir}/sad`)),
      runCli(
        ["sweep", ckpt, "--revisions", "step0,step100", ...sad, "--out", `${dir}/sweep`],
        perms(ckpt, `${dir}/sweep`),
      ),
    ]);
    for (const r of runs) assertEquals(r.code, 0, r.stderr);
    const browser = await Browser.launch();
    try {
      for (const command of ["svd", "sad", "sweep"]) {
        await assertRealReport(browser, `${dir}/${command}`, `${dir}/${command}.png`);
      }
      console.log(`report screenshots: ${dir}/{svd,sad,sweep}.png`);
    } finally {
      await browser.close();
      // The reports and screenshots stay (CI artifacts); the generated models need not.
      for (const d of [model, ckpt]) await Deno.remove(d, { recursive: true });
    }
  },
});
