import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { exists } from "../../src/io/exists.ts";
import { ROOT, runCli, withTempDir } from "../_helpers.ts";
import { assertValidResults } from "../report/_schema.ts";
import { writeGpt2Dir } from "./_gpt2_dir.ts";
import { startHubServer } from "../_hub_server.ts";
import { main } from "../../cli.ts";
import { liveSessionCount } from "../../src/runtime/onnx_session.ts";

// Documented permissions of `svlens sweep` on local checkpoint directories (README):
// --allow-read=MODEL,OUT --allow-write=OUT (+ --unstable-raw-imports for the onnx backend).

const REVS = ["step0", "step10", "step20", "step30"];

async function checkpoints(root: string): Promise<void> {
  for (const [i, rev] of REVS.entries()) {
    await writeGpt2Dir(`${root}/${rev}`, { nLayer: 1, nHead: 2, nEmbd: 16, seed: 100 + i });
  }
}

function sweepArgs(model: string, out: string, extra: string[] = []): string[] {
  return [
    "sweep",
    model,
    "--revisions",
    REVS.join(","),
    "--n",
    "8",
    "--backend",
    "reference",
    "--out",
    out,
    "--json",
    ...extra,
  ];
}

const perms = (model: string, ...outs: string[]) => [
  `--allow-read=${[model, ...outs].join(",")}`,
  `--allow-write=${outs.join(",")}`,
];

/** results.json without what legitimately differs between runs (timestamps). */
async function comparable(dir: string): Promise<unknown> {
  const r = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
  assertValidResults(r);
  delete r.createdAt;
  return r;
}

Deno.test("svlens sweep: resumable after a kill; shards merge to the unsharded run; Hub revisions", async (t) => {
  await withTempDir(async (tmp) => {
    const model = `${tmp}/ckpt`;
    await checkpoints(model);
    const clean = `${tmp}/clean`;
    const full = await runCli(sweepArgs(model, clean), perms(model, clean));
    assertEquals(full.code, 0, full.stderr);
    assertEquals(JSON.parse(full.stdout).done, REVS.length);
    assertEquals(JSON.parse(full.stdout).curves[0].x, [0, 10, 20, 30]);

    await t.step("killed midway, resumed, equals the uninterrupted run", async () => {
      const resumed = `${tmp}/resumed`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          ...perms(model, resumed),
          new URL("cli.ts", ROOT).pathname,
          ...sweepArgs(model, resumed),
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      let first = false;
      for (let i = 0; i < 6000 && !first; i++) {
        try {
          first = (await Deno.stat(`${resumed}/revisions/step0.json`)).isFile;
        } catch { /* not yet */ }
        if (!first) await new Promise((r) => setTimeout(r, 5));
      }
      child.kill("SIGKILL");
      const status = await child.status;
      assertOk(first, "the sweep wrote its first record");
      assertOk(!status.success, "the sweep was killed before finishing");
      const doneBefore = [...Deno.readDirSync(`${resumed}/revisions`)]
        .filter((e) => e.name.endsWith(".json")).length;
      assertOk(
        doneBefore >= 1 && doneBefore < REVS.length,
        `${doneBefore} records before the kill`,
      );
      let hasReport = true;
      try {
        await Deno.stat(`${resumed}/results.json`);
      } catch {
        hasReport = false;
      }
      assertOk(!hasReport, "no report before every revision is done");
      const again = await runCli(sweepArgs(model, resumed), perms(model, resumed));
      assertEquals(again.code, 0, again.stderr);
      assertEquals(JSON.parse(again.stdout).done, REVS.length);
      assertEquals(await comparable(resumed), await comparable(clean));
    });

    await t.step(
      "shards computed from copies of MODEL at different paths merge to the unsharded run",
      async () => {
        // Shard 1/2 runs "on another machine": the same checkpoints under another path.
        const elsewhere = `${tmp}/machine2/ckpt`;
        for (const rev of ["step10", "step30"]) {
          await Deno.mkdir(`${elsewhere}/${rev}`, { recursive: true });
          for (const entry of Deno.readDirSync(`${model}/${rev}`)) {
            await Deno.copyFile(
              `${model}/${rev}/${entry.name}`,
              `${elsewhere}/${rev}/${entry.name}`,
            );
          }
        }
        const a = `${tmp}/a`, b = `${tmp}/b`, merged = `${tmp}/merged`;
        const ra = await runCli(sweepArgs(model, a, ["--shard", "0/2"]), perms(model, a));
        assertEquals(ra.code, 0, ra.stderr);
        assertEquals(JSON.parse(ra.stdout).pending, ["step10", "step30"]);
        const rb = await runCli(sweepArgs(elsewhere, b, ["--shard", "1/2"]), perms(elsewhere, b));
        assertEquals(rb.code, 0, rb.stderr);
        const record = JSON.parse(await Deno.readTextFile(`${b}/revisions/step10.json`));
        assertEquals(record.modelSource, await Deno.realPath(elsewhere));
        assertEquals(JSON.parse(record.parametersKey).model, "ckpt", "the name, not the path");
        // No MODEL and no SAD options: the parameters and the revision list come from the records.
        const m = await runCli(
          ["sweep", "--merge", "--from", `${a},${b}`, "--out", merged, "--json"],
          [`--allow-read=${a},${b},${merged}`, `--allow-write=${merged}`],
        );
        assertEquals(m.code, 0, m.stderr);
        assertEquals(JSON.parse(m.stdout).done, REVS.length);
        assertEquals(await comparable(merged), await comparable(clean));
        assertEquals(
          [...Deno.readDirSync(`${merged}/revisions`)].map((e) => e.name).sort(),
          REVS.map((r) => `${r}.json`).sort(),
        );

        // A resumed (non-merge) run reuses only records computed from the same MODEL directory.
        const other = await runCli(
          sweepArgs(elsewhere, a, ["--shard", "0/2"]),
          perms(elsewhere, a),
        );
        assertEquals(other.code, 1, other.stderr);
        assertMatch(other.stderr, /step0\.json was computed from .*\/ckpt, not .*machine2\/ckpt/);
      },
    );

    await t.step("a merge missing a shard exits 1 naming the pending revisions", async () => {
      const merged = `${tmp}/merged-partial`;
      const m = await runCli(
        ["sweep", "--merge", "--from", `${tmp}/a`, "--out", merged],
        [`--allow-read=${tmp}/a,${merged}`, `--allow-write=${merged}`],
      );
      assertEquals(m.code, 1, m.stderr);
      assertMatch(m.stderr, /2 of 4 revisions have no record .*: step10, step30 \(shard 1\/2\)/);
      assertEquals(await exists(`${merged}/results.json`), false, "no report");
      // The shard found was gathered: merging the missing one in completes the sweep.
      const rest = await runCli(
        ["sweep", "--merge", "--from", `${tmp}/b`, "--out", merged, "--json"],
        [`--allow-read=${tmp}/b,${merged}`, `--allow-write=${merged}`],
      );
      assertEquals(rest.code, 0, rest.stderr);
      assertEquals(await comparable(merged), await comparable(clean));
      // An explicit --revisions list is honoured over the records' list.
      const more = await runCli(
        ["sweep", "--merge", "--out", merged, "--revisions", `${REVS.join(",")},step40`],
        [`--allow-read=${merged}`, `--allow-write=${merged}`],
      );
      assertEquals(more.code, 1, more.stderr);
      assertMatch(more.stderr, /1 of 5 revisions have no record in .*: step40/);
    });

    await t.step(
      "merging shards of different sweeps, or with SAD options, is refused",
      async () => {
        const c = `${tmp}/c`;
        const rc = await runCli(
          sweepArgs(model, c, ["--shard", "1/2", "--seed", "9"]),
          perms(model, c),
        );
        assertEquals(rc.code, 0, rc.stderr);
        const out = `${tmp}/merged-mixed`;
        const m = await runCli(
          ["sweep", "--merge", "--from", `${tmp}/a,${c}`, "--out", out],
          [`--allow-read=${tmp}/a,${c},${out}`, `--allow-write=${out}`],
        );
        assertEquals(m.code, 1, m.stderr);
        assertMatch(m.stderr, /different sweep parameters \(seed: 9 vs 0; rotationSeed: 9 vs 0\)/);
        assertEquals(await exists(`${out}/results.json`), false);
        const opts = await runCli(sweepArgs(model, out, ["--merge", "--from", `${tmp}/a`]));
        assertEquals(opts.code, 2, opts.stderr);
        assertMatch(opts.stderr, /drop MODEL \(.*ckpt\), --n, --backend/);
        const from = await runCli(sweepArgs(model, out, ["--from", `${tmp}/a`]));
        assertEquals(from.code, 2, from.stderr);
        assertMatch(from.stderr, /--from names the shard directories of --merge/);
      },
    );

    await t.step(
      "Hub revisions (loopback Hub server) give the same curves; a rerun needs no network",
      async () => {
        const refs: Record<string, string> = {};
        const commits: Record<string, Record<string, Uint8Array>> = {};
        for (const [i, rev] of REVS.entries()) {
          const commit = `${i}`.repeat(40);
          refs[rev] = commit;
          commits[commit] = {};
          for (const f of ["config.json", "model.safetensors", "vocab.json", "merges.txt"]) {
            commits[commit]![f] = await Deno.readFile(`${model}/${rev}/${f}`);
          }
        }
        const server = await startHubServer({
          repos: { "svlens-test/tiny-ckpt": { refs, commits } },
        });
        try {
          const cache = `${tmp}/hf`, out = `${tmp}/hub-run`;
          const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: server.url };
          const hub = await runCli(sweepArgs("svlens-test/tiny-ckpt", out), [
            `--allow-net=${new URL(server.url).host}`,
            "--allow-env=HF_HUB_CACHE,HF_ENDPOINT",
            `--allow-read=${cache},${out}`,
            `--allow-write=${cache},${out}`,
          ], { env });
          assertEquals(hub.code, 0, hub.stderr);
          assertEquals(JSON.parse(hub.stdout).curves, JSON.parse(full.stdout).curves);
          assertOk(server.requests.some((r) => r.includes("/resolve/step10/")));
          // every revision is done: no network permission, no cache write needed
          const again = await runCli(sweepArgs("svlens-test/tiny-ckpt", out), [
            "--allow-env=HF_HUB_CACHE,HF_ENDPOINT",
            `--allow-read=${cache},${out}`,
            `--allow-write=${out}`,
          ], { env });
          assertEquals(again.code, 0, again.stderr);
          assertEquals(JSON.parse(again.stdout).done, REVS.length);
        } finally {
          await server.close();
        }
      },
    );

    await t.step(
      "a head with no firings: the terminal table shows — and the run succeeds",
      async () => {
        // τ = 1 selects no firing; before the fix the table crashed on the records' null means.
        const out = `${tmp}/no-firings`;
        const args = sweepArgs(model, out, ["--tau", "1"]).filter((a) => a !== "--json");
        const r = await runCli(args, perms(model, out));
        assertEquals(r.code, 0, r.stderr);
        const rows = r.stdout.split("\n").filter((l) => /^0\.[01] /.test(l));
        assertEquals(rows.length, 2 * REVS.length, r.stdout);
        for (const row of rows) assertOk(row.includes("—"), row);
        assertValidResults(JSON.parse(await Deno.readTextFile(`${out}/results.json`)));
      },
    );

    await t.step("other parameters into the same OUT are refused", async () => {
      const clash = await runCli(sweepArgs(model, clean, ["--seed", "9"]), perms(model, clean));
      assertEquals(clash.code, 1);
      assertOk(/different sweep parameters/.test(clash.stderr), clash.stderr);
    });
  });
});

Deno.test("svlens sweep: --bias destination without --rotary per-offset is a usage error (exit 2)", async () => {
  const r = await runCli([
    "sweep",
    "x",
    "--revisions",
    "step1",
    "--out",
    "o",
    "--bias",
    "destination",
  ]);
  assertEquals(r.code, 2, r.stderr);
  assertOk(r.stderr.includes("--rotary per-offset"), r.stderr);
});

Deno.test({
  name: "svlens sweep (onnx backend): each revision's onnxruntime session is released",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const model = `${tmp}/ckpt`;
      await checkpoints(model);
      const before = liveSessionCount();
      const args = sweepArgs(model, `${tmp}/out`).map((a) => a === "reference" ? "onnx" : a);
      assertEquals(await main(args), 0);
      // Every revision is a new model with its own session; none may outlive its revision.
      assertEquals(liveSessionCount(), before);
    });
  },
});
