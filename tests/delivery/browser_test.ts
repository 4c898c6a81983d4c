/**
 * Opens every kind of report (toy, svd, sad, sweep shapes, every figure kind) in headless
 * Chromium and checks that the plots rendered, nothing was logged as an error, and the page made
 * no network request beyond its own file. Screenshots stay in the printed temp dir (CI artifact).
 * Skipped when /usr/bin/chromium is absent.
 */
import { assertEquals, assertOk } from "../_assert.ts";
import { writeRun } from "../../src/report/mod.ts";
import { sampleRun } from "../report/_samples.ts";
import { runCli } from "../_helpers.ts";
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
    const results = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    const browser = await Browser.launch();
    try {
      const url = `file://${out}/report.html`;
      const visit = await browser.visit(url, PROBE);
      await Deno.writeFile(`${dir}/toy.png`, visit.screenshot);
      const p = JSON.parse(visit.value as string) as Probe;
      assertEquals(visit.errors, []);
      assertEquals(visit.requests, [url]);
      assertEquals(p.kinds.length, results.figures.length, "one <figure> per results figure");
      assertOk(p.drawn > 0 && p.drawn === p.svgs, `${p.drawn} of ${p.svgs} plots laid out`);
      console.log(`toy report screenshot: ${dir}/toy.png`);
    } finally {
      await browser.close();
    }
  },
});
