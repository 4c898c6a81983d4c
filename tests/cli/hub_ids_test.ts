/**
 * Hub ids with `svlens svd`, `svlens cache` and `svlens sad`, run with exactly the Deno
 * permissions the README documents (with the loopback Hub of `_hub_server.ts` in place of
 * huggingface.co in `--allow-net`, and a temporary huggingface_hub cache):
 *
 * - download (cold cache): `--allow-read=CACHE,OUT --allow-write=CACHE,OUT
 *   --allow-env=HF_HUB_CACHE,HF_HOME,XDG_CACHE_HOME,HOME,HF_ENDPOINT,HF_TOKEN,HF_HUB_OFFLINE
 *   --allow-net=<hub>`;
 * - from the cache: read permission on the cache, the `--allow-env` names that locate it, no
 *   network and no write permission on the cache.
 *
 * The model is a small random GPT-2 written by `src/model/generate.ts`; results of the Hub id
 * are compared with the same files loaded from a local directory (bit-identical: same bytes,
 * same code path after loading).
 */
import { assertEquals, assertMatch, assertOk } from "../_assert.ts";
import { runCli, withTempDir } from "../_helpers.ts";
import { gitBlobSha1, sha256Hex, startHubServer } from "../_hub_server.ts";
import { generateModel } from "../../src/model/generate.ts";
import { readSafetensors } from "../../src/model/safetensors.ts";

const REPO = "svlens-test/tiny-gpt2";
const COMMIT = "1".repeat(40);
const REV = "step1000";
/** The `--allow-env` list the README documents for downloads. */
const HUB_ENV =
  "--allow-env=HF_HUB_CACHE,HF_HOME,XDG_CACHE_HOME,HOME,HF_ENDPOINT,HF_TOKEN,HF_HUB_OFFLINE";

interface SvdJson {
  heads: { layer: number; head: number; singularValues: number[] }[];
}

function singularValues(stdout: string): number[][] {
  const json = JSON.parse(stdout) as SvdJson;
  assertOk(json.heads.length > 0, "svd --json lists heads");
  return json.heads.map((h) => h.singularValues);
}

/**
 * The Hub's ETag of a file (its blob name): sha256 for LFS files (≥ 1024 bytes here), else the
 * git blob sha1.
 */
async function etagOf(data: Uint8Array): Promise<string> {
  return data.length >= 1024 ? await sha256Hex(data) : await gitBlobSha1(data);
}

/** Paths of every file and link under `dir`, relative to it, sorted. */
function walk(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}/${prefix}`)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...walk(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

Deno.test("Hub ids with svd, cache and sad: documented permissions, huggingface_hub cache layout, offline reruns", async (t) => {
  await withTempDir(async (tmp) => {
    const local = `${tmp}/local`;
    const generated = await generateModel(local, {
      architecture: "gpt2",
      nLayers: 1,
      nHeads: 2,
      dModel: 16,
      dVocab: 512,
      nCtx: 128,
      seed: 7,
    });
    const files: Record<string, Uint8Array> = {};
    for (const f of generated.files) files[f] = await Deno.readFile(`${local}/${f}`);
    const server = await startHubServer({
      repos: { [REPO]: { refs: { [REV]: COMMIT }, commits: { [COMMIT]: files } } },
    });
    try {
      const host = new URL(server.url).host;
      const cache = `${tmp}/hf/hub`;
      // HF_HUB_OFFLINE / HF_TOKEN of the calling environment must not leak in ("" = unset).
      const env = {
        HF_HUB_CACHE: cache,
        HF_ENDPOINT: server.url,
        HF_HUB_OFFLINE: "",
        HF_TOKEN: "",
      };
      const svdArgs = (model: string, out: string) => [
        "svd",
        model,
        "--revision",
        REV,
        "--out",
        out,
        "--json",
      ];
      const sadArgs = (model: string) => [
        "sad",
        model,
        "--revision",
        REV,
        "--n",
        "2",
        "--heads",
        "0.0",
        "--backend",
        "reference",
      ];
      /** The documented download grant for `cacheDir` and `out`, less `--allow-net`. */
      const downloadPerms = (out: string, cacheDir = cache) => [
        `--allow-read=${cacheDir},${out}`,
        `--allow-write=${cacheDir},${out}`,
        HUB_ENV,
      ];

      // The same files as a local directory: the reference the Hub runs must reproduce.
      const localOut = `${tmp}/svd-local`;
      const fromDir = await runCli(svdArgs(local, localOut), [
        `--allow-read=${local},${localOut}`,
        `--allow-write=${localOut}`,
      ]);
      assertEquals(fromDir.code, 0, fromDir.stderr);
      const expected = singularValues(fromDir.stdout);

      await t.step("missing permissions on a cold cache: exit 1 naming the flag", async () => {
        const out = `${tmp}/svd-denied`;
        const [noNet, noWrite, noEnv] = await Promise.all([
          runCli(svdArgs(REPO, out), downloadPerms(out), { env }),
          runCli(svdArgs(REPO, out), [
            `--allow-read=${cache},${out}`,
            `--allow-write=${out}`,
            HUB_ENV,
            `--allow-net=${host}`,
          ], { env }),
          runCli(svdArgs(REPO, out), [
            `--allow-read=${cache},${out}`,
            `--allow-write=${cache},${out}`,
            `--allow-net=${host}`,
          ], { env }),
        ]);
        assertEquals(noNet.code, 1, noNet.stderr);
        assertMatch(noNet.stderr, new RegExp(`--allow-net=${host.replace(/\./g, "\\.")}`));
        assertEquals(noWrite.code, 1, noWrite.stderr);
        assertMatch(noWrite.stderr, /--allow-write/);
        assertMatch(noWrite.stderr, new RegExp(cache.replace(/[.]/g, "\\.")));
        assertEquals(noEnv.code, 1, noEnv.stderr);
        assertMatch(noEnv.stderr, /--allow-env=HF_HUB_CACHE/);
        // For huggingface.co itself (HF_ENDPOINT unset) the message names the Hub and its CDN
        // hosts; the refusal happens before any connection.
        const hfNoNet = await runCli(svdArgs(REPO, out), downloadPerms(out), {
          env: { ...env, HF_ENDPOINT: "" },
        });
        assertEquals(hfNoNet.code, 1, hfNoNet.stderr);
        assertMatch(hfNoNet.stderr, /--allow-net=huggingface\.co,\*\.huggingface\.co,\*\.hf\.co\b/);
        // Offline (HF_HUB_OFFLINE=1, or svd's --offline) on a cold cache: refused before any
        // request, although the network is allowed.
        const before = server.requests.length;
        const granted = [...downloadPerms(out), `--allow-net=${host}`];
        const [offline, offlineFlag] = await Promise.all([
          runCli(svdArgs(REPO, out), granted, { env: { ...env, HF_HUB_OFFLINE: "1" } }),
          runCli([...svdArgs(REPO, out), "--offline"], granted, { env }),
        ]);
        for (const r of [offline, offlineFlag]) {
          assertEquals(r.code, 1, r.stderr);
          assertMatch(
            r.stderr,
            /offline mode \(--offline, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE\).*not fully cached/,
          );
        }
        assertEquals(server.requests.length, before, "no request in offline mode");
        // Nothing half-written was left in the cache by the refused runs.
        let blobs: string[] = [];
        try {
          blobs = walk(`${cache}/models--svlens-test--tiny-gpt2/blobs`);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
        assertEquals(blobs.filter((b) => b.endsWith(".incomplete")), []);
      });

      await t.step(
        "the CDN host must be allowed too: refused, then named in the message",
        async () => {
          // Endpoint http://localhost:PORT; the server redirects LFS files to 127.0.0.1:PORT, a
          // different host, as huggingface.co redirects to its CDNs.
          const port = new URL(server.url).port;
          const cdnCache = `${tmp}/hf-cdn`;
          const out = `${tmp}/svd-cdn`;
          const perms = (net: string) => [...downloadPerms(out, cdnCache), `--allow-net=${net}`];
          const cdnEnv = {
            ...env,
            HF_HUB_CACHE: cdnCache,
            HF_ENDPOINT: `http://localhost:${port}`,
          };
          const hubOnly = await runCli(svdArgs(REPO, out), perms(`localhost:${port}`), {
            env: cdnEnv,
          });
          assertEquals(hubOnly.code, 1, hubOnly.stderr);
          assertMatch(
            hubOnly.stderr,
            new RegExp(
              `network access to 127\\.0\\.0\\.1:${port} .*--allow-net=localhost:${port},127\\.0\\.0\\.1:${port}\\b`,
            ),
          );
          const both = await runCli(
            svdArgs(REPO, out),
            perms(`localhost:${port},127.0.0.1:${port}`),
            { env: cdnEnv },
          );
          assertEquals(both.code, 0, both.stderr);
          assertEquals(singularValues(both.stdout), expected);
        },
      );

      await t.step("svd downloads into an empty cache laid out as huggingface_hub's", async () => {
        const out = `${tmp}/svd-hub`;
        const before = server.requests.length;
        const r = await runCli(svdArgs(REPO, out), [...downloadPerms(out), `--allow-net=${host}`], {
          env,
        });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(singularValues(r.stdout), expected);
        const made = server.requests.slice(before);
        assertOk(
          made.some((q) => q.startsWith(`GET /${REPO}/resolve/${REV}/config.json`)),
          made.join(),
        );
        assertOk(made.some((q) => q.startsWith("GET /cdn-lfs/")), "LFS via the CDN");

        const root = `${cache}/models--svlens-test--tiny-gpt2`;
        assertEquals((await Deno.readTextFile(`${root}/refs/${REV}`)).trim(), COMMIT);
        // Blobs named by the Hub's ETag; each snapshot file links (or is a copy of) its blob.
        const wantBlobs: string[] = [];
        for (const [name, data] of Object.entries(files)) {
          const etag = await etagOf(data);
          wantBlobs.push(etag);
          const snap = `${root}/snapshots/${COMMIT}/${name}`;
          assertEquals(await Deno.readFile(snap), data, name);
          const lst = await Deno.lstat(snap);
          if (lst.isSymlink) {
            assertEquals(await Deno.readLink(snap), `../../blobs/${etag}`, name);
          } else {
            assertEquals(
              lst.ino,
              (await Deno.stat(`${root}/blobs/${etag}`)).ino,
              `${name} hard link`,
            );
          }
        }
        assertEquals(walk(`${root}/blobs`), [...new Set(wantBlobs)].sort());
        assertEquals(
          walk(`${root}/snapshots`),
          generated.files.map((f) => `${COMMIT}/${f}`).sort(),
        );
        assertEquals(walk(root).filter((p) => !/^(blobs|snapshots|refs)\//.test(p)), []);
      });

      /** svd of REPO from a warm cache: exit 0, the local directory's σ, no request to the Hub. */
      const svdFromCache = async (
        out: string,
        perms: string[],
        runEnv: Record<string, string>,
      ): Promise<void> => {
        const before = server.requests.length;
        const r = await runCli(svdArgs(REPO, out), [...perms, `--allow-write=${out}`], {
          env: runEnv,
        });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(singularValues(r.stdout), expected);
        assertEquals(server.requests.length, before, "no request");
      };

      await t.step(
        "svd again with no network and HF_HUB_OFFLINE=1: the same σ from the cache",
        async () => {
          const out = `${tmp}/svd-offline`;
          await svdFromCache(
            out,
            [`--allow-read=${cache},${out}`, "--allow-env=HF_HUB_CACHE,HF_HUB_OFFLINE"],
            { ...env, HF_HUB_OFFLINE: "1" },
          );
        },
      );

      await t.step(
        "a cache written by huggingface_hub (relative symlinks) loads read-only",
        async () => {
          // With path-scoped permissions Deno refuses Deno.symlink, so svlens hard-links snapshot
          // files; huggingface_hub makes relative symlinks. Rebuild the cache that way.
          const linked = `${tmp}/hf-symlinked`;
          const root = `${linked}/models--svlens-test--tiny-gpt2`;
          const src = `${cache}/models--svlens-test--tiny-gpt2`;
          await Deno.mkdir(`${root}/snapshots/${COMMIT}`, { recursive: true });
          await Deno.mkdir(`${root}/refs`);
          await Deno.copyFile(`${src}/refs/${REV}`, `${root}/refs/${REV}`);
          await Deno.mkdir(`${root}/blobs`);
          for (const b of walk(`${src}/blobs`)) {
            await Deno.copyFile(`${src}/blobs/${b}`, `${root}/blobs/${b}`);
          }
          for (const [name, data] of Object.entries(files)) {
            await Deno.symlink(
              `../../blobs/${await etagOf(data)}`,
              `${root}/snapshots/${COMMIT}/${name}`,
            );
          }
          const out = `${tmp}/svd-symlinked`;
          await svdFromCache(out, [`--allow-read=${linked},${out}`, "--allow-env=HF_HUB_CACHE"], {
            ...env,
            HF_HUB_CACHE: linked,
          });
        },
      );

      await t.step(
        "the README's cached example: cache under $HOME, --allow-env=HOME only",
        async () => {
          // $HOME/.cache/huggingface/hub is the default cache; other HF_* variables of this
          // process are not allowed, so they count as unset.
          const home = `${tmp}/home`;
          await Deno.mkdir(`${home}/.cache/huggingface`, { recursive: true });
          await Deno.rename(`${tmp}/hf/hub`, `${home}/.cache/huggingface/hub`);
          try {
            const homeCache = `${home}/.cache/huggingface/hub`;
            const out = `${tmp}/svd-home`;
            await svdFromCache(out, [`--allow-read=${homeCache},${out}`, "--allow-env=HOME"], {
              HOME: home,
              HF_ENDPOINT: server.url,
            });
          } finally {
            await Deno.rename(`${home}/.cache/huggingface/hub`, `${tmp}/hf/hub`);
          }
        },
      );

      await t.step("cache and sad from the warm cache: read-only cache, no network", async () => {
        const before = server.requests.length;
        const cacheRun = (model: string, read: string, out: string, extra: string[]) =>
          runCli(
            [
              "cache",
              model,
              "--revision",
              REV,
              "--tokens",
              "1,2,3",
              "--out",
              `${out}/acts.safetensors`,
            ],
            [
              "--unstable-raw-imports",
              `--allow-read=${read},${out}`,
              `--allow-write=${out}`,
              ...extra,
            ],
            { env },
          );
        const sadRun = (model: string, read: string, out: string, extra: string[]) =>
          runCli(
            [...sadArgs(model), "--out", out, "--json"],
            [`--allow-read=${read},${out}`, `--allow-write=${out}`, ...extra],
            { env },
          );
        const hubEnv = ["--allow-env=HF_HUB_CACHE"];
        const [acts, actsLocal, sad, sadLocal] = await Promise.all([
          cacheRun(REPO, cache, `${tmp}/acts-hub`, hubEnv),
          cacheRun(local, local, `${tmp}/acts-local`, []),
          sadRun(REPO, cache, `${tmp}/sad-hub`, hubEnv),
          sadRun(local, local, `${tmp}/sad-local`, []),
        ]);
        for (const r of [acts, actsLocal, sad, sadLocal]) {
          assertEquals(r.code, 0, r.stderr);
        }
        assertEquals(server.requests.length, before, "no request");

        const hubTensors = readSafetensors(await Deno.readFile(`${tmp}/acts-hub/acts.safetensors`));
        const localTensors = readSafetensors(
          await Deno.readFile(`${tmp}/acts-local/acts.safetensors`),
        );
        assertOk(hubTensors.tensors.size > 0, "hooks saved");
        assertEquals(
          [...hubTensors.tensors.keys()].sort(),
          [...localTensors.tensors.keys()].sort(),
        );
        for (const [name, tensor] of hubTensors.tensors) {
          const other = localTensors.tensors.get(name)!;
          assertEquals([...tensor.shape], [...other.shape], name);
          assertEquals(tensor.data, other.data, name);
        }
        assertEquals(hubTensors.metadata?.model, REPO);

        const hubSad = JSON.parse(sad.stdout), localSad = JSON.parse(sadLocal.stdout);
        assertEquals(hubSad.heads.length, 1);
        assertEquals(hubSad.heads, localSad.heads);
        const results = JSON.parse(await Deno.readTextFile(`${tmp}/sad-hub/results.json`));
        assertEquals(results.parameters.model, REPO);
        assertEquals(results.parameters.revision, REV);
      });

      await t.step(
        "from the cache but without read permission on it: exit 1 naming the flag",
        async () => {
          const r = await runCli(sadArgs(REPO), ["--allow-env=HF_HUB_CACHE"], { env });
          assertEquals(r.code, 1, r.stderr);
          assertMatch(r.stderr, /--allow-read/);
        },
      );
    } finally {
      await server.close();
    }
  });
});
