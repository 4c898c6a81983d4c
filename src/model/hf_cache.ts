/**
 * The Hugging Face Hub cache, laid out exactly as Python's `huggingface_hub` lays it, so models
 * downloaded by transformers load here with zero network and vice versa:
 *
 * ```
 * <cache>/models--<org>--<name>/
 *   blobs/<etag>                      file contents (etag = sha256 for LFS, git sha1 otherwise)
 *   snapshots/<commit>/<file>         symlink → ../../blobs/<etag> (hard link or copy if
 *                                     symlinks are not permitted)
 *   refs/<revision>                   the commit hash a branch or tag pointed to
 *   .no_exist/<commit>/<file>         empty marker: the file does not exist at that commit
 * ```
 *
 * `<cache>` is `HF_HUB_CACHE` (or the legacy `HUGGINGFACE_HUB_CACHE`), else `HF_HOME/hub`, else
 * `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub` (`HOME`; a leading `~` is
 * expanded), as in huggingface_hub.
 * @module
 */
import { HubError } from "../errors.ts";
import { exists, readTextIfExists } from "../io/exists.ts";

/**
 * Environment variables svlens's Hub client reads, as huggingface_hub does (each needs
 * `--allow-env=<name>`; one not granted counts as unset). The legacy names
 * (`HUGGINGFACE_HUB_CACHE`, `TRANSFORMERS_OFFLINE`, `HUGGING_FACE_HUB_TOKEN`) are read after the
 * current ones.
 */
export const HUB_ENV_VARS: readonly string[] = [
  "HF_HUB_CACHE",
  "HUGGINGFACE_HUB_CACHE",
  "HF_HOME",
  "XDG_CACHE_HOME",
  "HOME",
  "HF_ENDPOINT",
  "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN",
  "HF_TOKEN_PATH",
  "HF_HUB_OFFLINE",
  "TRANSFORMERS_OFFLINE",
];

/**
 * Reads an environment variable; one the process may not read counts as unset (asked without a
 * permission prompt), so svlens runs with only the `--allow-env` names it documents.
 */
export function readEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    const v = Deno.env.get(name);
    return v === "" ? undefined : v;
  } catch {
    return undefined;
  }
}

/** `~` or `~/…` → the home directory, as Python's `os.path.expanduser` (other paths unchanged). */
function expandHome(path: string): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = readEnv("HOME");
  return home === undefined ? path : home + path.slice(1);
}

/** `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`; undefined if none. */
export function hfHome(): string | undefined {
  const home = readEnv("HF_HOME");
  if (home) return expandHome(home);
  const xdg = readEnv("XDG_CACHE_HOME");
  if (xdg) return `${expandHome(xdg)}/huggingface`;
  const user = readEnv("HOME");
  return user === undefined ? undefined : `${user}/.cache/huggingface`;
}

/** The Hub cache directory (see module docs for the order of precedence). */
export function hubCacheDir(): string {
  const explicit = readEnv("HF_HUB_CACHE") ?? readEnv("HUGGINGFACE_HUB_CACHE");
  if (explicit) return expandHome(explicit);
  const home = hfHome();
  if (home === undefined) {
    throw new HubError(
      "cannot locate the Hugging Face cache: set HF_HUB_CACHE or HF_HOME (and allow it with " +
        "--allow-env=HF_HUB_CACHE,HF_HOME,HOME), or pass a local model directory",
    );
  }
  return `${home}/hub`;
}

/** Checks a repo id (`name` or `org/name`) and returns it. */
export function validateRepoId(repo: string): string {
  if (
    !/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(repo) || repo.includes("..") ||
    repo.length > 96
  ) {
    throw new HubError(
      `${JSON.stringify(repo)} is neither an existing local directory nor a Hub repo id ` +
        `(expected e.g. gpt2 or EleutherAI/pythia-160m)`,
    );
  }
  return repo;
}

/** Checks a file name inside a repo (relative, no `..`). */
export function validateRepoFile(file: string): string {
  if (
    !file || file.startsWith("/") ||
    file.split("/").some((p) => p === ".." || p === "." || p === "")
  ) {
    throw new HubError(`bad file name in repo: ${JSON.stringify(file)}`);
  }
  return file;
}

/** Checks a revision (branch, tag or commit) is safe to use as a path component under refs/. */
export function validateRevision(revision: string): string {
  if (
    !revision || revision.split("/").some((p) => p === ".." || p === "." || p === "") ||
    /[\s\\]/.test(revision)
  ) {
    throw new HubError(`bad revision ${JSON.stringify(revision)}`);
  }
  return revision;
}

/** `models--org--name` for `org/name` (huggingface_hub's `repo_folder_name`). */
export function repoFolderName(repo: string): string {
  return `models--${repo.split("/").join("--")}`;
}

/** Whether `s` is a full 40-hex commit hash. */
export function isCommitHash(s: string): boolean {
  return /^[0-9a-f]{40}$/.test(s);
}

/** One repo's folder in the cache. */
export class RepoCache {
  /** Absolute folder `<cache>/models--org--name`. */
  readonly root: string;
  /** The repo id. */
  readonly repo: string;

  /** Opens the cache folder of `repo` under `cacheDir` (default {@linkcode hubCacheDir}). */
  constructor(repo: string, cacheDir: string = hubCacheDir()) {
    this.repo = validateRepoId(repo);
    this.root = `${cacheDir}/${repoFolderName(repo)}`;
  }

  /** The commit a revision resolves to in the cache (a commit itself, or `refs/<revision>`). */
  async resolveRevision(revision: string): Promise<string | undefined> {
    validateRevision(revision);
    if (isCommitHash(revision)) return revision;
    const commit = (await readTextIfExists(`${this.root}/refs/${revision}`))?.trim();
    return commit !== undefined && isCommitHash(commit) ? commit : undefined;
  }

  /** `snapshots/<commit>` folder. */
  snapshotDir(commit: string): string {
    return `${this.root}/snapshots/${commit}`;
  }

  /** Path of `file` in the snapshot of `commit` if present (following its symlink), else undefined. */
  async cachedFile(commit: string, file: string): Promise<string | undefined> {
    const path = `${this.snapshotDir(commit)}/${validateRepoFile(file)}`;
    return (await exists(path)) ? path : undefined;
  }

  /** Whether `.no_exist/<commit>/<file>` records that the file is absent at that commit. */
  knownMissing(commit: string, file: string): Promise<boolean> {
    return exists(`${this.root}/.no_exist/${commit}/${validateRepoFile(file)}`);
  }

  /** Records that `file` does not exist at `commit` (best effort, as huggingface_hub does). */
  async markMissing(commit: string, file: string): Promise<void> {
    const path = `${this.root}/.no_exist/${commit}/${validateRepoFile(file)}`;
    try {
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(path, new Uint8Array(0));
    } catch {
      // A read-only cache still works; the marker only saves a request next time.
    }
  }

  /** `blobs/<etag>`. */
  blobPath(etag: string): string {
    if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$|^[\w-]{1,128}$/.test(etag)) {
      throw new HubError(`unexpected ETag ${JSON.stringify(etag)} from the Hub`);
    }
    return `${this.root}/blobs/${etag}`;
  }

  /** Whether the blob for `etag` is already cached. */
  hasBlob(etag: string): Promise<boolean> {
    return exists(this.blobPath(etag));
  }

  /** Writes `refs/<revision>` = commit (skipped when the revision is the commit itself). */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    const path = `${this.root}/refs/${validateRevision(revision)}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.writeTextFile(tmp, commit);
    await Deno.rename(tmp, path);
  }

  /**
   * Points `snapshots/<commit>/<file>` at `blobs/<etag>`: a relative symlink as huggingface_hub
   * makes; if symlinks are not permitted (e.g. path-scoped Deno permissions, Windows), a hard
   * link, else a copy.
   */
  async linkSnapshot(commit: string, file: string, etag: string): Promise<string> {
    const dest = `${this.snapshotDir(commit)}/${validateRepoFile(file)}`;
    await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
    const depth = file.split("/").length + 1; // up to models--x/
    const target = `${"../".repeat(depth)}blobs/${etag}`;
    await Deno.remove(dest).catch(() => {});
    try {
      await Deno.symlink(target, dest);
      return dest;
    } catch {
      // fall through
    }
    try {
      await Deno.link(this.blobPath(etag), dest);
      return dest;
    } catch {
      // fall through
    }
    const tmp = `${dest}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.copyFile(this.blobPath(etag), tmp);
    await Deno.rename(tmp, dest);
    return dest;
  }
}
