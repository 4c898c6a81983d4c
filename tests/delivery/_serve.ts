/**
 * Serves the repository's files over loopback HTTP (like a static host serving svlens from a
 * URL): GET only, no directory listings, nothing outside the root.
 * @module
 */
import { ROOT } from "../_helpers.ts";

const TYPES: Record<string, string> = {
  ts: "application/typescript; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json; charset=utf-8",
  wasm: "application/wasm",
};

/** A running file server; `url` ends with a slash. */
export interface RepoServer {
  url: string;
  /** Paths requested so far (to show what the remote run fetched). */
  requested: string[];
  close(): Promise<void>;
}

/** Starts serving the repository root on 127.0.0.1 (a free port). */
export function serveRepository(): Promise<RepoServer> {
  const root = ROOT.pathname;
  const requested: string[] = [];
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) =>
        resolve({
          url: `http://127.0.0.1:${port}/`,
          requested,
          close: () => server.shutdown(),
        }),
    }, async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requested.push(path);
      if (req.method !== "GET" || path.split("/").includes("..") || path.endsWith("/")) {
        return new Response("not found", { status: 404 });
      }
      try {
        const body = await Deno.readFile(root + path.slice(1));
        const ext = path.slice(path.lastIndexOf(".") + 1);
        return new Response(body, {
          headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    });
  });
}
