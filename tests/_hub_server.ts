/**
 * A loopback HTTP server in the Hugging Face Hub's URL layout, for tests (needs
 * `--allow-net=127.0.0.1`). It answers `HEAD`/`GET {repo}/resolve/{revision}/{file}` like the Hub:
 *
 * - regular files: 200, `ETag: "<git blob sha1>"`, `X-Repo-Commit`;
 * - LFS files (size ≥ `lfsThreshold`): 302 to an absolute `/cdn-lfs/<sha256>` URL with
 *   `X-Linked-Etag: "<sha256>"`, `X-Linked-Size`, `X-Repo-Commit`;
 * - renamed repos: 307 with a relative `Location` to the new name;
 * - branches/tags (`main`, `step1000`...) and full commit hashes as revisions;
 * - 404 with `X-Error-Code: EntryNotFound | RevisionNotFound | RepositoryNotFound`;
 * - `token`: every resolve request must carry `Authorization: Bearer <token>` (else 401);
 * - `mode`: `"corrupt"` flips one byte of served LFS content, `"corrupt-small"` of a regular
 *   file, `"interrupt"` sends half an LFS body then aborts the connection;
 * - `cdnOrigin: "other"`: the LFS CDN answers on a second port (another origin, like the real
 *   CDN host), so tests can check that the token stays with the Hub.
 *
 * Every request is logged in `requests` (method and path) so tests can assert zero network.
 * @module
 */

/** One repo: branches/tags → commit, and each commit's files. */
export interface FakeRepo {
  /** Branch or tag → commit hash (40 hex). */
  refs: Record<string, string>;
  /** Commit hash → file name → contents. */
  commits: Record<string, Record<string, Uint8Array>>;
}

/** Options of {@linkcode startHubServer}. */
export interface HubServerOptions {
  /** Repo id → repo. */
  repos: Record<string, FakeRepo>;
  /** Old repo id → new id (answered with a relative 307). */
  renamed?: Record<string, string>;
  /** Files at least this large are served as LFS files (default 1024 bytes). */
  lfsThreshold?: number;
  /** Required bearer token. */
  token?: string;
  /** `"other"`: serve `/cdn-lfs/` URLs from a second port (a different origin). */
  cdnOrigin?: "same" | "other";
}

/** A running fake Hub. */
export interface HubServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (use as HF_ENDPOINT). */
  url: string;
  /** Requests served so far, as `"GET /gpt2/resolve/main/config.json"`. */
  requests: string[];
  /** Headers of every request, in order (to check where the token was sent). */
  authHeaders: (string | null)[];
  /** Failure injection for served bodies. */
  mode: "ok" | "corrupt" | "corrupt-small" | "interrupt";
  /** Base URL of the LFS CDN (`url` unless `cdnOrigin: "other"`). */
  cdnUrl: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/** sha256 hex of `data`. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Git's blob id: sha1 of `blob <len>\0<data>`. */
export async function gitBlobSha1(data: Uint8Array): Promise<string> {
  const head = new TextEncoder().encode(`blob ${data.length}\0`);
  const all = new Uint8Array(head.length + data.length);
  all.set(head);
  all.set(data, head.length);
  const d = await crypto.subtle.digest("SHA-1", all);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Starts the fake Hub on 127.0.0.1 (a free port). */
export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const threshold = options.lfsThreshold ?? 1024;
  // Hashes are computed on demand, so tests may change `repos` while the server runs.
  const etags = new Map<Uint8Array, { sha256: string; sha1: string }>();
  const tagsOf = async (data: Uint8Array) => {
    let t = etags.get(data);
    if (!t) {
      t = { sha256: await sha256Hex(data), sha1: await gitBlobSha1(data) };
      etags.set(data, t);
    }
    return t;
  };
  const lfsObject = async (sha: string): Promise<Uint8Array | undefined> => {
    for (const repo of Object.values(options.repos)) {
      for (const files of Object.values(repo.commits)) {
        for (const data of Object.values(files)) {
          if (data.length >= threshold && (await tagsOf(data)).sha256 === sha) return data;
        }
      }
    }
    return undefined;
  };
  const state: HubServer = {
    url: "",
    requests: [],
    authHeaders: [],
    mode: "ok",
    cdnUrl: "",
    close: () => Promise.resolve(),
  };
  const notFound = (code: string) =>
    new Response(code, { status: 404, headers: { "x-error-code": code } });

  const handler = async (req: Request): Promise<Response> => {
    const u = new URL(req.url);
    const path = decodeURIComponent(u.pathname);
    state.requests.push(`${req.method} ${path}`);
    state.authHeaders.push(req.headers.get("authorization"));
    const head = req.method === "HEAD";
    const cdn = path.match(/^\/cdn-lfs\/([0-9a-f]{64})$/);
    if (cdn) {
      const data = await lfsObject(cdn[1]!);
      if (!data) return new Response("no such object", { status: 404 });
      const headers = { "content-length": String(data.length), etag: `"${cdn[1]}"` };
      if (head) return new Response(null, { headers });
      if (state.mode === "corrupt") {
        const bad = data.slice();
        bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0xff;
        return new Response(bad, { headers });
      }
      if (state.mode === "interrupt") {
        // Half the bytes, then the stream ends although Content-Length promised more.
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(data.slice(0, data.length >> 1));
            c.close();
          },
        });
        return new Response(body, { headers });
      }
      return new Response(data.slice(), { headers });
    }
    const i = path.indexOf("/resolve/");
    if (i < 1) return new Response("not found", { status: 404 });
    const repoId = path.slice(1, i);
    const rest = path.slice(i + "/resolve/".length);
    const slash = rest.indexOf("/");
    const revision = rest.slice(0, slash);
    const file = rest.slice(slash + 1);
    const newId = options.renamed?.[repoId];
    if (newId) {
      return new Response(null, {
        status: 307,
        headers: { location: `/${newId}/resolve/${encodeURIComponent(revision)}/${file}` },
      });
    }
    if (options.token && req.headers.get("authorization") !== `Bearer ${options.token}`) {
      return new Response("unauthorized", {
        status: 401,
        headers: { "x-error-code": "RepositoryNotFound" },
      });
    }
    const repo = options.repos[repoId];
    if (!repo) {
      return new Response("no repo", {
        status: 401,
        headers: { "x-error-code": "RepositoryNotFound" },
      });
    }
    const commit = /^[0-9a-f]{40}$/.test(revision) ? revision : repo.refs[revision];
    if (!commit || !repo.commits[commit]) return notFound("RevisionNotFound");
    const data = repo.commits[commit]![file];
    if (!data) return notFound("EntryNotFound");
    const tags = await tagsOf(data);
    if (data.length >= threshold) {
      return new Response(null, {
        status: 302,
        headers: {
          location: `${state.cdnUrl}/cdn-lfs/${tags.sha256}`,
          "x-linked-etag": `"${tags.sha256}"`,
          "x-linked-size": String(data.length),
          "x-repo-commit": commit,
          etag: `"${tags.sha1}"`,
        },
      });
    }
    const headers = {
      etag: `"${tags.sha1}"`,
      "x-repo-commit": commit,
      "content-length": String(data.length),
    };
    const body = data.slice();
    if (state.mode === "corrupt-small" && body.length) body[0] = body[0]! ^ 0xff;
    return new Response(head ? null : body, { headers });
  };
  const listen = () => Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const server = listen();
  const cdn = options.cdnOrigin === "other" ? listen() : undefined;
  state.url = `http://127.0.0.1:${server.addr.port}`;
  state.cdnUrl = cdn ? `http://127.0.0.1:${cdn.addr.port}` : state.url;
  state.close = async () => {
    await server.shutdown();
    await cdn?.shutdown();
  };
  return await Promise.resolve(state);
}
