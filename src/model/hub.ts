/**
 * A Hugging Face Hub client compatible with Python's `huggingface_hub`:
 * files come from `{endpoint}/{repo}/resolve/{revision}/{file}` (`HF_ENDPOINT`, default
 * https://huggingface.co), `X-Repo-Commit` pins the commit, `X-Linked-Etag`/`ETag` name the blob,
 * and LFS files (sha256 ETag) are verified after download; regular files (git-sha1 ETag) too.
 * Relative redirects (renamed repos) and absolute ones (the LFS CDN) are followed; the token
 * (`HF_TOKEN`, `Authorization: Bearer`) is sent only to the endpoint's own origin.
 *
 * Cache-first: a file already in the huggingface_hub cache (see `hf_cache.ts`) is used without
 * any network request. `HF_HUB_OFFLINE=1` (or `offline: true`) forbids the network entirely.
 * Downloads stream to `blobs/<etag>.svlens.incomplete` and are renamed into place only
 * when complete and verified, so an interrupted or corrupted download never becomes a cache entry.
 * @module
 */
import { createHash } from "node:crypto";
import { HubError } from "../errors.ts";
import { progress } from "../io/progress.ts";
import { VERSION } from "../version.ts";
import {
  hfHome,
  hubCacheDir,
  isCommitHash,
  readEnv,
  RepoCache,
  validateRepoFile,
  validateRepoId,
  validateRevision,
} from "./hf_cache.ts";

/** The default Hub endpoint. */
export const DEFAULT_ENDPOINT = "https://huggingface.co";

/** Options shared by the Hub functions. Unset fields come from the environment. */
export interface HubOptions {
  /** Hub base URL (default `HF_ENDPOINT`, else https://huggingface.co). */
  endpoint?: string;
  /** Access token (default `HF_TOKEN`). */
  token?: string;
  /** Never use the network (default: `HF_HUB_OFFLINE` is 1/true/yes/on). */
  offline?: boolean;
  /** Cache directory (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** No progress lines on stderr. */
  quiet?: boolean;
}

/** The file does not exist in the repo at that revision (HTTP 404 `EntryNotFound`). */
export class HubFileNotFoundError extends HubError {}

/** Where a downloaded (or cached) file is. */
export interface HubFile {
  /** Path in the cache snapshot. */
  path: string;
  /** The commit hash it belongs to. */
  commit: string;
}

interface Resolved {
  endpoint: string;
  token?: string;
  offline: boolean;
  cacheDir: string;
  quiet: boolean;
}

/**
 * The token huggingface_hub would use: `HF_TOKEN`, the legacy `HUGGING_FACE_HUB_TOKEN`, else the
 * file `huggingface-cli login` writes (`HF_TOKEN_PATH`, default `HF_HOME/token`), read only where
 * read permission was granted (never prompts).
 */
function hubToken(): string | undefined {
  const env = readEnv("HF_TOKEN") ?? readEnv("HUGGING_FACE_HUB_TOKEN");
  if (env !== undefined) return env.trim();
  const home = hfHome();
  const path = readEnv("HF_TOKEN_PATH") ?? (home === undefined ? undefined : `${home}/token`);
  if (path === undefined) return undefined;
  try {
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return undefined;
    return Deno.readTextFileSync(path).trim() || undefined;
  } catch {
    return undefined; // no token file
  }
}

function resolveOptions(o: HubOptions): Resolved {
  // huggingface_hub: HF_HUB_OFFLINE or, for transformers users, TRANSFORMERS_OFFLINE.
  const off = readEnv("HF_HUB_OFFLINE") ?? readEnv("TRANSFORMERS_OFFLINE");
  const endpoint = (o.endpoint ?? readEnv("HF_ENDPOINT") ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
  try {
    new URL(endpoint);
  } catch {
    throw new HubError(`HF_ENDPOINT ${JSON.stringify(endpoint)} is not a URL`);
  }
  return {
    endpoint,
    token: o.token ?? hubToken(),
    offline: o.offline ?? (off !== undefined && /^(1|on|yes|true)$/i.test(off)),
    cacheDir: o.cacheDir ?? hubCacheDir(),
    quiet: o.quiet ?? false,
  };
}

/** Strips `W/` and quotes from an ETag header value. */
function normalizeEtag(v: string | null): string | undefined {
  if (!v) return undefined;
  return v.replace(/^W\//, "").replace(/^"|"$/g, "");
}

function resolveUrl(r: Resolved, repo: string, revision: string, file: string): string {
  const enc = (s: string) => s.split("/").map(encodeURIComponent).join("/");
  return `${r.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${enc(file)}`;
}

function headersFor(r: Resolved, url: string): Headers {
  const h = new Headers({ "user-agent": `svlens/${VERSION}`, "accept-encoding": "identity" });
  if (r.token && new URL(url).origin === new URL(r.endpoint).origin) {
    h.set("authorization", `Bearer ${r.token}`);
  }
  return h;
}

async function request(r: Resolved, url: string, method: "HEAD" | "GET"): Promise<Response> {
  try {
    return await fetch(url, { method, redirect: "manual", headers: headersFor(r, url) });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      const host = new URL(url).host;
      throw new HubError(
        `network access to ${host} is not permitted: the file is not cached, so svlens must ` +
          `download it; run with --allow-net=${netAllowList(r.endpoint, host)}, or set ` +
          `HF_HUB_OFFLINE=1 and use a cached or local model`,
        { cause: error },
      );
    }
    throw new HubError(`cannot reach ${url}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The `--allow-net` value that lets downloads from `endpoint` work, given that `refused` was
 * refused: for huggingface.co the Hub plus every CDN it redirects to (LFS and Xet hosts under
 * huggingface.co and hf.co, which change over time, hence the wildcards); for a mirror, its host
 * and the refused one (its CDN).
 */
function netAllowList(endpoint: string, refused: string): string {
  const hub = new URL(endpoint).host;
  if (hub === new URL(DEFAULT_ENDPOINT).host) return HUB_NET_HOSTS;
  return [...new Set([hub, refused])].join(",");
}

/** `--allow-net` hosts for https://huggingface.co and the CDNs its downloads redirect to. */
export const HUB_NET_HOSTS = "huggingface.co,*.huggingface.co,*.hf.co";

function httpError(res: Response, what: string, repo: string, revision: string): HubError {
  const code = res.headers.get("x-error-code");
  if (res.status === 404 && code === "EntryNotFound") {
    return new HubFileNotFoundError(`${what} does not exist in ${repo} at revision ${revision}`);
  }
  if (res.status === 404 && code === "RevisionNotFound") {
    return new HubError(
      `revision ${JSON.stringify(revision)} not found in ${repo} (check the branch, tag or commit)`,
    );
  }
  if (
    res.status === 401 || res.status === 403 || code === "RepositoryNotFound" ||
    code === "GatedRepo"
  ) {
    return new HubError(
      `${repo}: repository not found or access denied (HTTP ${res.status}); check the id, or set HF_TOKEN ` +
        `(and --allow-env=HF_TOKEN) for private or gated repos`,
    );
  }
  if (res.status === 404) {
    return new HubFileNotFoundError(`${what} not found in ${repo} at ${revision} (HTTP 404)`);
  }
  return new HubError(`${what} from ${repo}@${revision}: HTTP ${res.status} ${res.statusText}`);
}

interface FileMeta {
  commit: string;
  etag: string;
  size?: number;
  /** Where to GET the bytes (the CDN location for LFS files, else the resolve URL). */
  location: string;
}

/** HEAD like huggingface_hub's `get_hf_file_metadata`: follows same-origin redirects only. */
async function fileMetadata(
  r: Resolved,
  repo: string,
  revision: string,
  file: string,
): Promise<FileMeta> {
  let url = resolveUrl(r, repo, revision, file);
  for (let hop = 0; hop < 10; hop++) {
    const res = await request(r, url, "HEAD");
    await res.body?.cancel();
    const loc = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && loc) {
      const next = new URL(loc, url).href;
      if (new URL(next).origin === new URL(url).origin && !res.headers.get("x-linked-etag")) {
        url = next; // renamed repo, or a same-host hop
        continue;
      }
      return meta(res, next);
    }
    if (!res.ok) throw httpError(res, file, repo, revision);
    return meta(res, url);
  }
  throw new HubError(`too many redirects resolving ${file} in ${repo}`);

  function meta(res: Response, location: string): FileMeta {
    const commit = res.headers.get("x-repo-commit") ?? undefined;
    const etag = normalizeEtag(res.headers.get("x-linked-etag") ?? res.headers.get("etag"));
    const sizeText = res.headers.get("x-linked-size") ?? res.headers.get("content-length");
    if (!commit || !etag) {
      throw new HubError(
        `${url}: the server sent no X-Repo-Commit/ETag headers; is HF_ENDPOINT (${r.endpoint}) a Hugging Face Hub?`,
      );
    }
    // The commit names a cache folder: anything but a commit hash could point outside the cache.
    if (!isCommitHash(commit)) {
      throw new HubError(
        `${url}: the server's X-Repo-Commit ${
          JSON.stringify(commit.slice(0, 80))
        } is not a 40-hex commit hash; is HF_ENDPOINT (${r.endpoint}) a Hugging Face Hub?`,
      );
    }
    const size = sizeText !== null && /^\d+$/.test(sizeText) ? Number(sizeText) : undefined;
    return { commit, etag, size, location };
  }
}

/** Streams `url` into `dest` (a temp file), verifying length and hash against `meta`. */
async function downloadBlob(
  r: Resolved,
  meta: FileMeta,
  dest: string,
  label: string,
): Promise<void> {
  let url = meta.location;
  let res: Response | undefined;
  for (let hop = 0; hop < 10; hop++) {
    res = await request(r, url, "GET");
    const loc = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && loc) {
      await res.body?.cancel();
      url = new URL(loc, url).href;
      res = undefined;
      continue;
    }
    break;
  }
  if (!res) throw new HubError(`too many redirects downloading ${label}`);
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new HubError(`downloading ${label}: HTTP ${res.status} ${res.statusText}`);
  }
  const lfs = /^[0-9a-f]{64}$/.test(meta.etag);
  const gitBlob = /^[0-9a-f]{40}$/.test(meta.etag) && meta.size !== undefined;
  const hash = createHash(lfs ? "sha256" : "sha1");
  if (gitBlob) hash.update(`blob ${meta.size}\0`);
  const bar = progress(`downloading ${label}`, meta.size ?? 0, { quiet: r.quiet });
  const file = await Deno.open(dest, { write: true, create: true, truncate: true });
  let got = 0;
  try {
    try {
      for await (const chunk of res.body) {
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) off += await file.write(chunk.subarray(off));
        got += chunk.length;
        bar.tick(chunk.length);
      }
    } catch (error) {
      throw new HubError(
        `download of ${label} was interrupted after ${got}${
          meta.size !== undefined ? ` of ${meta.size}` : ""
        } bytes ` +
          `(${(error as Error).message}); nothing was cached; run again`,
        { cause: error },
      );
    }
    if (meta.size !== undefined && got !== meta.size) {
      throw new HubError(
        `download of ${label} ended after ${got} of ${meta.size} bytes; nothing was cached; run again`,
      );
    }
    const digest = hash.digest("hex");
    if ((lfs || gitBlob) && digest !== meta.etag) {
      throw new HubError(
        `${label}: ${
          lfs ? "sha256" : "git blob sha1"
        } of the downloaded bytes is ${digest} but the Hub ` +
          `says ${meta.etag}; the file was corrupted in transit and was not cached; run again`,
      );
    }
    bar.done(`${got} bytes`);
  } finally {
    file.close();
  }
}

/**
 * Returns the path of `file` of `repo` at `revision` in the cache, downloading it first if it
 * is not cached (unless offline). Throws {@linkcode HubFileNotFoundError} if the repo has no
 * such file, HubError for network, permission, offline or verification problems.
 */
export async function hfHubDownload(
  repo: string,
  file: string,
  options: HubOptions & { revision?: string } = {},
): Promise<HubFile> {
  validateRepoId(repo);
  validateRepoFile(file);
  const revision = validateRevision(options.revision ?? "main");
  const r = resolveOptions(options);
  const cache = new RepoCache(repo, r.cacheDir);
  const cachedCommit = await cache.resolveRevision(revision);
  if (cachedCommit) {
    const path = await cache.cachedFile(cachedCommit, file);
    if (path) return { path, commit: cachedCommit };
    if (await cache.knownMissing(cachedCommit, file)) {
      throw new HubFileNotFoundError(
        `${file} does not exist in ${repo} at ${revision} (cached answer)`,
      );
    }
  }
  if (r.offline) {
    throw new HubError(
      `offline mode (--offline, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE) and ${repo}@${revision}/${file} is not in the cache at ${cache.root}; ` +
        `download it once with network access, or pass a local model directory`,
    );
  }
  const meta = await fileMetadata(r, repo, revision, file);
  if (!(await cache.hasBlob(meta.etag))) {
    const blob = cache.blobPath(meta.etag);
    await Deno.mkdir(`${cache.root}/blobs`, { recursive: true });
    // Not huggingface_hub's own `<etag>.incomplete`: a Python download running at the same time
    // resumes from that file under its lock, which svlens does not take. A fixed name, so what a
    // killed run left is overwritten by the next one rather than left behind.
    const tmp = `${blob}.svlens.incomplete`;
    try {
      await downloadBlob(r, meta, tmp, `${repo}/${file}`);
      await Deno.rename(tmp, blob);
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw error;
    }
  }
  const path = await cache.linkSnapshot(meta.commit, file, meta.etag);
  await cache.writeRef(revision, meta.commit);
  return { path, commit: meta.commit };
}

/** Which files {@linkcode snapshotDownload} fetches. */
export interface SnapshotPatterns {
  /** Files that must exist (the first also pins the commit). */
  required: string[];
  /** The first of these that exists is fetched (e.g. weight formats by preference); an
   * `*.index.json` also brings every shard it lists. */
  oneOf?: string[];
  /** Fetched when they exist. */
  optional?: string[];
}

/** Shard files named by a `*.index.json` weight map. */
async function shardsOf(indexPath: string): Promise<string[]> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(indexPath));
  } catch (error) {
    throw new HubError(`${indexPath}: not valid JSON (${(error as Error).message})`);
  }
  const map = (json as { weight_map?: Record<string, unknown> })?.weight_map;
  if (typeof map !== "object" || map === null) {
    throw new HubError(`${indexPath}: missing "weight_map"`);
  }
  const shards = [...new Set(Object.values(map))];
  for (const s of shards) {
    if (typeof s !== "string") {
      throw new HubError(`${indexPath}: shard name ${String(s)} is not a string`);
    }
    validateRepoFile(s);
  }
  return shards as string[];
}

/**
 * Makes the files of `repo` at `revision` that `patterns` names available in the cache and
 * returns the snapshot directory. Uses the cache without any network request when it already
 * holds the required files and one of `oneOf` (with its shards).
 */
export async function snapshotDownload(
  repo: string,
  options: HubOptions & { revision?: string; patterns: SnapshotPatterns },
): Promise<{ dir: string; commit: string }> {
  validateRepoId(repo);
  const revision = validateRevision(options.revision ?? "main");
  const r = resolveOptions(options);
  const cache = new RepoCache(repo, r.cacheDir);
  const { required, oneOf = [], optional = [] } = options.patterns;

  const commit = await cache.resolveRevision(revision);
  if (commit) {
    const complete = async (): Promise<boolean> => {
      for (const f of required) if (!(await cache.cachedFile(commit, f))) return false;
      if (oneOf.length === 0) return true;
      for (const f of oneOf) {
        const p = await cache.cachedFile(commit, f);
        if (!p) continue;
        if (!f.endsWith(".index.json")) return true;
        let all = true;
        for (const s of await shardsOf(p)) if (!(await cache.cachedFile(commit, s))) all = false;
        if (all) return true;
      }
      return false;
    };
    if (await complete()) return { dir: cache.snapshotDir(commit), commit };
  }
  if (r.offline) {
    throw new HubError(
      `offline mode (--offline, HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE) and ${repo}@${revision} is not fully cached in ${cache.root} ` +
        `(needs ${
          [...required, oneOf.length ? `one of ${oneOf.join(" | ")}` : ""].filter(Boolean).join(
            ", ",
          )
        }); ` +
        `download it once with network access, or pass a local model directory`,
    );
  }
  const opts = { ...options, revision };
  const first = await hfHubDownload(repo, required[0]!, opts);
  const pinned = { ...options, revision: first.commit };
  await cache.writeRef(revision, first.commit);
  for (const f of required.slice(1)) await hfHubDownload(repo, f, pinned);
  if (oneOf.length > 0) {
    let found = false;
    for (const f of oneOf) {
      try {
        const got = await hfHubDownload(repo, f, pinned);
        if (f.endsWith(".index.json")) {
          for (const s of await shardsOf(got.path)) await hfHubDownload(repo, s, pinned);
        }
        found = true;
        break;
      } catch (error) {
        if (!(error instanceof HubFileNotFoundError)) throw error;
        await cache.markMissing(first.commit, f);
      }
    }
    if (!found) {
      throw new HubError(
        `${repo}@${revision} has none of ${oneOf.join(", ")}; not a supported model repo`,
      );
    }
  }
  for (const f of optional) {
    try {
      await hfHubDownload(repo, f, pinned);
    } catch (error) {
      if (!(error instanceof HubFileNotFoundError)) throw error;
      await cache.markMissing(first.commit, f);
    }
  }
  return { dir: cache.snapshotDir(first.commit), commit: first.commit };
}
