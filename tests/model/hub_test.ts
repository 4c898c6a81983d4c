import { HubError } from "../../src/errors.ts";
import { generateModel } from "../../src/model/generate.ts";
import { hfHubDownload, HubFileNotFoundError } from "../../src/model/hub.ts";
import { loadModel } from "../../src/model/load.ts";
import { repoFolderName } from "../../src/model/hf_cache.ts";
import { assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { runDeno, withTempDir } from "../_helpers.ts";
import {
  type FakeRepo,
  gitBlobSha1,
  type HubServer,
  sha256Hex,
  startHubServer,
} from "../_hub_server.ts";

const SCRIPT = new URL("./_load_script.ts", import.meta.url).pathname;

/** Loads `id` at `revision` in a child Deno (_load_script.ts) with exactly `perms` and `env`. */
function loadInChild(
  perms: readonly string[],
  id: string,
  revision: string,
  env: Record<string, string>,
): ReturnType<typeof runDeno> {
  return runDeno(["run", "--quiet", "--no-prompt", ...perms, SCRIPT, id, revision], { env });
}
const COMMIT_A = "a".repeat(40);
const COMMIT_B = "b0".repeat(20);

async function readDir(dir: string): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out[e.name] = await Deno.readFile(`${dir}/${e.name}`);
  }
  return out;
}

/** Two commits of a tiny Pythia-shaped model: step1000 → A (seed 1), main → B (seed 2). */
async function fakeRepo(
  tmp: string,
  extra: Partial<Parameters<typeof generateModel>[1]> = {},
): Promise<FakeRepo> {
  const base = {
    architecture: "gpt_neox" as const,
    nLayers: 1,
    nHeads: 2,
    dModel: 16,
    dVocab: 300,
    nCtx: 8,
    ...extra,
  };
  await generateModel(`${tmp}/A`, { ...base, seed: 1 });
  await generateModel(`${tmp}/B`, { ...base, seed: 2 });
  return {
    refs: { main: COMMIT_B, step1000: COMMIT_A },
    commits: { [COMMIT_A]: await readDir(`${tmp}/A`), [COMMIT_B]: await readDir(`${tmp}/B`) },
  };
}

async function withHub(
  fn: (hub: HubServer, tmp: string, repo: FakeRepo) => Promise<void>,
  opts: {
    token?: string;
    gen?: Partial<Parameters<typeof generateModel>[1]>;
    cdnOrigin?: "same" | "other";
  } = {},
): Promise<void> {
  const tmp = await Deno.makeTempDir();
  const repo = await fakeRepo(tmp, opts.gen);
  const hub = await startHubServer({
    repos: { "EleutherAI/pythia-test": repo },
    renamed: { "old-org/pythia-old": "EleutherAI/pythia-test" },
    token: opts.token,
    cdnOrigin: opts.cdnOrigin,
  });
  try {
    await fn(hub, tmp, repo);
  } finally {
    await hub.close();
    await Deno.remove(tmp, { recursive: true });
  }
}

const ID = "EleutherAI/pythia-test";

Deno.test("hub: revisions, cache layout identical to huggingface_hub, then zero network", async () => {
  await withHub(async (hub, tmp) => {
    const cacheDir = `${tmp}/cache`;
    const o = { endpoint: hub.url, cacheDir, quiet: true, offline: false };
    const a = await loadModel(ID, { ...o, revision: "step1000" });
    assertEquals(a.commit, COMMIT_A);
    const localA = await loadModel(`${tmp}/A`);
    for (const [k, t] of localA.weights) assertEquals(a.weights.get(k)!.data, t.data, k);
    const b = await loadModel(ID, { ...o }); // main
    assertEquals(b.commit, COMMIT_B);
    assertOk(b.weights.get("embed.W_E")!.data[0] !== a.weights.get("embed.W_E")!.data[0]);
    // By commit hash too.
    assertEquals((await loadModel(ID, { ...o, revision: COMMIT_A })).commit, COMMIT_A);

    // Layout: refs, blobs named by etag (sha256 for LFS, git sha1 otherwise), relative symlinks.
    const root = `${cacheDir}/${repoFolderName(ID)}`;
    assertEquals(repoFolderName(ID), "models--EleutherAI--pythia-test");
    assertEquals(await Deno.readTextFile(`${root}/refs/main`), COMMIT_B);
    assertEquals(await Deno.readTextFile(`${root}/refs/step1000`), COMMIT_A);
    const st = await Deno.readFile(`${tmp}/A/model.safetensors`);
    const cfg = await Deno.readFile(`${tmp}/A/config.json`);
    assertEquals(
      await Deno.readLink(`${root}/snapshots/${COMMIT_A}/model.safetensors`),
      `../../blobs/${await sha256Hex(st)}`,
    );
    assertEquals(
      await Deno.readLink(`${root}/snapshots/${COMMIT_A}/config.json`),
      `../../blobs/${await gitBlobSha1(cfg)}`,
    );
    assertOk((await Deno.lstat(`${root}/blobs/${await sha256Hex(st)}`)).isFile);
    // Missing optional files are remembered the way huggingface_hub does.
    assertOk((await Deno.stat(`${root}/.no_exist/${COMMIT_A}/merges.txt`)).isFile);

    // Cached: no request at all, also with offline mode.
    const before = hub.requests.length;
    assertEquals((await loadModel(ID, { ...o, revision: "step1000" })).commit, COMMIT_A);
    assertEquals((await loadModel(ID, { ...o, offline: true })).commit, COMMIT_B);
    assertEquals(hub.requests.length, before);
  });
});

Deno.test("hub: relative (renamed repo) and absolute (LFS CDN) redirects; unknown revision/repo/file", async () => {
  await withHub(async (hub, tmp) => {
    const o = { endpoint: hub.url, cacheDir: `${tmp}/cache`, quiet: true, offline: false };
    const m = await loadModel("old-org/pythia-old", o);
    assertEquals(m.commit, COMMIT_B);
    assertOk(
      hub.requests.some((r) => r.startsWith("HEAD /old-org/pythia-old/resolve/main/config.json")),
    );
    assertOk(hub.requests.some((r) => r.startsWith("GET /cdn-lfs/")));
    await assertRejects(
      () => loadModel(ID, { ...o, revision: "step999" }),
      HubError,
      /revision "step999" not found/,
    );
    await assertRejects(
      () => loadModel("nobody/nothing", o),
      HubError,
      /not found or access denied/,
    );
    await assertRejects(
      () => hfHubDownload(ID, "nope.json", o),
      HubFileNotFoundError,
      /nope.json does not exist/,
    );
    await assertRejects(
      () => loadModel("not a repo!", o),
      HubError,
      /neither an existing local directory nor a Hub repo id/,
    );
  });
});

Deno.test("hub: a server whose X-Repo-Commit is not a commit hash is refused; nothing is written outside the cache", async () => {
  await withHub(async (hub, tmp, repo) => {
    // huggingface_hub refuses such paths too: the commit names the snapshots/ folder.
    repo.refs["evil"] = "../../../escaped";
    repo.commits["../../../escaped"] = repo.commits[COMMIT_B]!;
    const o = { endpoint: hub.url, cacheDir: `${tmp}/cache/hub`, quiet: true, offline: false };
    await assertRejects(
      () => hfHubDownload(ID, "config.json", { ...o, revision: "evil" }),
      HubError,
      /X-Repo-Commit "\.\.\/\.\.\/\.\.\/escaped" is not a 40-hex commit hash/,
    );
    assertOk(hub.requests.some((r) => r.includes("/resolve/evil/config.json")), "asked the server");
    await assertRejects(() => Deno.lstat(`${tmp}/escaped`), Deno.errors.NotFound);
    await assertRejects(() => Deno.lstat(`${tmp}/cache/escaped`), Deno.errors.NotFound);
  });
});

Deno.test("hub: a huggingface_hub partial download is left alone; a killed svlens one is replaced", async () => {
  await withHub(async (hub, tmp) => {
    const cacheDir = `${tmp}/cache`;
    const etag = await sha256Hex(await Deno.readFile(`${tmp}/B/model.safetensors`));
    const blobs = `${cacheDir}/${repoFolderName(ID)}/blobs`;
    const partial = `${blobs}/${etag}.incomplete`;
    await Deno.mkdir(blobs, { recursive: true });
    await Deno.writeFile(partial, new Uint8Array([1, 2, 3]));
    // What a killed svlens download (no catch ran) leaves: reused, not left behind.
    await Deno.writeFile(`${blobs}/${etag}.svlens.incomplete`, new Uint8Array(7000));
    const m = await loadModel(ID, { endpoint: hub.url, cacheDir, quiet: true, offline: false });
    assertEquals(m.commit, COMMIT_B);
    assertEquals(await Deno.readFile(partial), new Uint8Array([1, 2, 3]));
    const left = [...Deno.readDirSync(blobs)].map((e) => e.name).filter((n) =>
      n.includes("svlens")
    );
    assertEquals(left, [], "no svlens partial file remains");
  });
});

Deno.test("hub: offline mode with an empty cache fails clearly", async () => {
  await withHub(async (hub, tmp) => {
    await assertRejects(
      () =>
        loadModel(ID, { endpoint: hub.url, cacheDir: `${tmp}/cache`, offline: true, quiet: true }),
      HubError,
      /offline mode \(--offline, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE\).*not fully cached/,
    );
    assertEquals(hub.requests.length, 0);
  });
});

for (const mode of ["corrupt", "interrupt"] as const) {
  Deno.test(`hub: a ${mode}ed download is an error and leaves nothing in the cache`, async () => {
    await withHub(async (hub, tmp) => {
      const cacheDir = `${tmp}/cache`;
      const o = { endpoint: hub.url, cacheDir, quiet: true, offline: false };
      hub.mode = mode;
      await assertRejects(
        () => loadModel(ID, o),
        HubError,
        mode === "corrupt"
          ? /sha256 of the downloaded bytes .* was not cached/
          : /interrupted|ended after/,
      );
      const root = `${cacheDir}/${repoFolderName(ID)}`;
      const blobs = [];
      for await (const e of Deno.readDir(`${root}/blobs`)) blobs.push(e.name);
      const st = await sha256Hex(await Deno.readFile(`${tmp}/B/model.safetensors`));
      assertOk(!blobs.includes(st), "no blob for the bad file");
      assertOk(!blobs.some((b) => b.endsWith(".incomplete")), "no partial file");
      await assertRejects(
        () => Deno.lstat(`${root}/snapshots/${COMMIT_B}/model.safetensors`),
        Deno.errors.NotFound,
      );
      hub.mode = "ok";
      assertEquals((await loadModel(ID, o)).commit, COMMIT_B);
    });
  });
}

Deno.test("hub: HF_TOKEN is sent as a bearer token; without it a private repo is refused", async () => {
  await withHub(async (hub, tmp) => {
    const o = { endpoint: hub.url, cacheDir: `${tmp}/cache`, quiet: true, offline: false };
    await assertRejects(() => loadModel(ID, o), HubError, /set HF_TOKEN/);
    const m = await loadModel(ID, { ...o, token: "hf_secret" });
    assertEquals(m.commit, COMMIT_B);
    assertOk(hub.authHeaders.includes("Bearer hf_secret"));
    // The LFS CDN is another origin: the token stays with the Hub.
    const cdn = hub.requests.flatMap((r, i) => r.startsWith("GET /cdn-lfs/") ? [i] : []);
    assertOk(cdn.length > 0, "the weights came from the CDN");
    for (const i of cdn) assertEquals(hub.authHeaders[i], null, hub.requests[i]);
  }, { token: "hf_secret", cdnOrigin: "other" });
});

Deno.test("hub: a corrupted regular (non-LFS) file fails its git blob sha1 and is not cached", async () => {
  await withHub(async (hub, tmp, repo) => {
    const cacheDir = `${tmp}/cache`;
    const o = { endpoint: hub.url, cacheDir, quiet: true, offline: false };
    hub.mode = "corrupt-small";
    await assertRejects(
      () => hfHubDownload(ID, "config.json", o),
      HubError,
      /config.json: git blob sha1 of the downloaded bytes .* was not cached/,
    );
    const blobs = [...Deno.readDirSync(`${cacheDir}/${repoFolderName(ID)}/blobs`)];
    assertEquals(blobs.map((e) => e.name), [], "no blob, no partial file");
    hub.mode = "ok";
    const { path } = await hfHubDownload(ID, "config.json", o);
    assertEquals(await Deno.readFile(path), repo.commits[COMMIT_B]!["config.json"]);
    assertEquals(
      [...Deno.readDirSync(`${cacheDir}/${repoFolderName(ID)}/blobs`)].map((e) => e.name),
      [await gitBlobSha1(repo.commits[COMMIT_B]!["config.json"]!)],
    );
  });
});

Deno.test("hub: sharded safetensors and a .bin-only revision download and load", async () => {
  await withHub(async (hub, tmp, repo) => {
    // Make commit A a pytorch_model.bin-only checkpoint (as many Pythia revisions are).
    await generateModel(`${tmp}/binA`, {
      architecture: "gpt_neox",
      nLayers: 1,
      nHeads: 2,
      dModel: 16,
      dVocab: 300,
      nCtx: 8,
      seed: 1,
      safetensors: false,
      pytorch: true,
    });
    repo.commits[COMMIT_A] = await readDir(`${tmp}/binA`);
    const o = { endpoint: hub.url, cacheDir: `${tmp}/cache`, quiet: true, offline: false };
    const bin = await loadModel(ID, { ...o, revision: "step1000" });
    assertEquals(bin.weightFile, "pytorch_model.bin");
    const root = `${tmp}/cache/${repoFolderName(ID)}`;
    assertOk((await Deno.stat(`${root}/.no_exist/${COMMIT_A}/model.safetensors`)).isFile);
    const sharded = await loadModel(ID, o);
    assertEquals(sharded.weightFile, "model.safetensors.index.json");
    const shards = [];
    for await (const e of Deno.readDir(`${root}/snapshots/${COMMIT_B}`)) {
      if (/^model-\d{5}-of-\d{5}\.safetensors$/.test(e.name) && e.isSymlink) shards.push(e.name);
    }
    assertOk(shards.length >= 2, `${shards.length} shards`);
  }, { gen: { maxShardBytes: 12_000 } });
});

Deno.test("hub: a hand-built huggingface_hub cache loads with read-only, no-network permissions", async () => {
  await withTempDir(async (tmp) => {
    await generateModel(`${tmp}/src`, {
      architecture: "gpt2",
      nLayers: 1,
      nHeads: 2,
      dModel: 16,
      dVocab: 300,
      nCtx: 8,
      seed: 9,
    });
    // Exactly what huggingface_hub writes: blobs by etag, relative symlinks, refs/main.
    const hub = `${tmp}/home/hub`;
    const root = `${hub}/models--openai-community--gpt2`;
    const commit = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
    await Deno.mkdir(`${root}/blobs`, { recursive: true });
    await Deno.mkdir(`${root}/snapshots/${commit}`, { recursive: true });
    await Deno.mkdir(`${root}/refs`, { recursive: true });
    await Deno.writeTextFile(`${root}/refs/main`, commit);
    for await (const e of Deno.readDir(`${tmp}/src`)) {
      const data = await Deno.readFile(`${tmp}/src/${e.name}`);
      const etag = e.name.endsWith(".safetensors")
        ? await sha256Hex(data)
        : await gitBlobSha1(data);
      await Deno.writeFile(`${root}/blobs/${etag}`, data);
      await Deno.symlink(`../../blobs/${etag}`, `${root}/snapshots/${commit}/${e.name}`);
    }
    const expected = await loadModel(`${tmp}/src`);
    let sum = 0;
    for (const t of expected.weights.values()) for (const v of t.data) sum += v;
    const env = [
      "HF_HUB_CACHE",
      "HF_HOME",
      "XDG_CACHE_HOME",
      "HOME",
      "HF_ENDPOINT",
      "HF_TOKEN",
      "HF_HUB_OFFLINE",
    ];
    for (
      const [vars, perms] of [
        [{ HF_HOME: `${tmp}/home` }, [`--allow-read=${tmp}/home`, `--allow-env=${env.join(",")}`]],
        [{ HF_HUB_CACHE: hub }, [`--allow-read=${hub}`, `--allow-env=${env.join(",")}`]],
        // Only the variables needed to find the cache, nothing else granted.
        [{ HF_HUB_CACHE: hub }, [`--allow-read=${hub}`, "--allow-env=HF_HUB_CACHE"]],
      ] as const
    ) {
      const res = await loadInChild(perms, "openai-community/gpt2", "main", {
        ...vars,
        HF_ENDPOINT: "http://127.0.0.1:9",
      });
      assertEquals(res.code, 0, res.stdout + res.stderr);
      const out = JSON.parse(res.stdout);
      assertEquals(out.commit, commit);
      assertEquals(out.dModel, 16);
      assertOk(Math.abs(out.sum - sum) < 1e-9 * Math.max(1, Math.abs(sum)), `${out.sum} vs ${sum}`);
      assertOk(out.tokenizer.includes("vocab.json"));
    }
    // Not cached + no network permission: a clear error naming --allow-net.
    const res = await loadInChild(
      [`--allow-read=${hub}`, `--allow-write=${hub}`, "--allow-env=HF_HUB_CACHE"],
      "EleutherAI/pythia-70m",
      "main",
      { HF_HUB_CACHE: hub },
    );
    assertEquals(res.code, 1);
    assertOk(/--allow-net=huggingface.co/.test(JSON.parse(res.stdout).message), res.stdout);
  });
});

Deno.test("hub: downloads with exactly the documented scoped permissions (no symlink: hard link)", async () => {
  await withHub(async (hub, tmp) => {
    const cache = `${tmp}/cache`;
    await Deno.mkdir(cache);
    const res = await loadInChild(
      [
        `--allow-read=${cache}`,
        `--allow-write=${cache}`,
        "--allow-env=HF_HUB_CACHE,HF_HOME,XDG_CACHE_HOME,HOME,HF_ENDPOINT,HF_TOKEN,HF_HUB_OFFLINE",
        "--allow-net=127.0.0.1",
      ],
      ID,
      "step1000",
      { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.url },
    );
    assertEquals(res.code, 0, res.stdout + res.stderr);
    assertEquals(JSON.parse(res.stdout).commit, COMMIT_A);
    const snap = `${cache}/${repoFolderName(ID)}/snapshots/${COMMIT_A}/model.safetensors`;
    const info = await Deno.lstat(snap);
    assertOk(info.isFile && info.nlink === 2, "scoped write permission cannot symlink: hard link");
    // And then offline, read-only.
    const again = await loadInChild(
      [`--allow-read=${cache}`, "--allow-env=HF_HUB_CACHE,HF_HUB_OFFLINE"],
      ID,
      "step1000",
      { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" },
    );
    assertEquals(again.code, 0, again.stdout + again.stderr);
  });
});

Deno.test("hub: HF_HUB_OFFLINE and HF_TOKEN from the environment", async () => {
  await withHub(async (hub, tmp) => {
    const cache = `${tmp}/cache`;
    await Deno.mkdir(cache);
    const perms = [
      `--allow-read=${cache}`,
      `--allow-write=${cache}`,
      "--allow-env=HF_HUB_CACHE,HF_ENDPOINT,HF_TOKEN,HF_HUB_OFFLINE",
      "--allow-net=127.0.0.1",
    ];
    const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.url };
    const offline = await loadInChild(perms, ID, "main", {
      ...env,
      HF_HUB_OFFLINE: "1",
      HF_TOKEN: "hf_env",
    });
    assertEquals(offline.code, 1);
    assertOk(/offline mode/.test(JSON.parse(offline.stdout).message), offline.stdout);
    assertEquals(hub.requests.length, 0);
    const noToken = await loadInChild(perms, ID, "main", env);
    assertEquals(noToken.code, 1);
    assertOk(/HF_TOKEN/.test(JSON.parse(noToken.stdout).message), noToken.stdout);
    const ok = await loadInChild(perms, ID, "main", { ...env, HF_TOKEN: "hf_env" });
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    assertEquals(JSON.parse(ok.stdout).commit, COMMIT_B);
  }, { token: "hf_env" });
});

Deno.test("hub: huggingface_hub's legacy variables, ~ in paths, and the login token file", async () => {
  await withHub(async (hub, tmp) => {
    const cache = `${tmp}/cache`, home = `${tmp}/hf-home`;
    await Deno.mkdir(cache);
    await Deno.mkdir(home);
    const base = { HF_ENDPOINT: hub.url };
    // TRANSFORMERS_OFFLINE works like HF_HUB_OFFLINE; HUGGINGFACE_HUB_CACHE like HF_HUB_CACHE,
    // and "~/" expands to HOME.
    const legacy = await loadInChild(
      [
        `--allow-read=${cache}`,
        "--allow-env=HUGGINGFACE_HUB_CACHE,HOME,HF_ENDPOINT,TRANSFORMERS_OFFLINE",
      ],
      ID,
      "main",
      { ...base, HOME: tmp, HUGGINGFACE_HUB_CACHE: "~/cache", TRANSFORMERS_OFFLINE: "1" },
    );
    assertEquals(legacy.code, 1);
    const message = JSON.parse(legacy.stdout).message;
    assertOk(/offline mode/.test(message) && message.includes(`${cache}/models--`), message);
    assertEquals(hub.requests.length, 0);
    // The token `huggingface-cli login` writes to HF_HOME/token, used where it may be read.
    await Deno.writeTextFile(`${home}/token`, "hf_env\n");
    const perms = [
      `--allow-write=${cache}`,
      "--allow-env=HF_HUB_CACHE,HF_HOME,HF_ENDPOINT",
      "--allow-net=127.0.0.1",
    ];
    const env = { ...base, HF_HUB_CACHE: cache, HF_HOME: home };
    const unread = await loadInChild([`--allow-read=${cache}`, ...perms], ID, "main", env);
    assertEquals(unread.code, 1, "no read permission on the token file: no token, no prompt");
    assertOk(/HF_TOKEN/.test(JSON.parse(unread.stdout).message), unread.stdout);
    const ok = await loadInChild(
      [`--allow-read=${cache},${home}/token`, ...perms],
      ID,
      "main",
      env,
    );
    assertEquals(ok.code, 0, ok.stdout + ok.stderr);
    assertEquals(JSON.parse(ok.stdout).commit, COMMIT_B);
  }, { token: "hf_env" });
});
