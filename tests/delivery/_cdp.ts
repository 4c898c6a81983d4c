/**
 * A tiny Chrome DevTools Protocol driver for headless Debian `chromium`: opens a page, records
 * every network request, console message, log entry and exception, evaluates an expression and
 * takes a full-page screenshot. No npm dependency (Deno's WebSocket speaks CDP directly).
 * @module
 */

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed (browser tests are skipped otherwise). */
export const HAS_CHROMIUM: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** What happened while a page was open. */
export interface PageVisit {
  /** URLs of every request the page made (the page's own file:// URL included). */
  requests: string[];
  /** Console errors, log errors and uncaught exceptions, as text. */
  errors: string[];
  /** The value of the evaluated expression (JSON-serialisable). */
  value: unknown;
  /** A PNG of the whole page. */
  screenshot: Uint8Array;
}

type Message = {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
};

/** A running headless Chromium with one CDP connection. */
export class Browser {
  #ws: WebSocket;
  #child: Deno.ChildProcess;
  #dir: string;
  #next = 1;
  #pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  #listeners: ((m: Message) => void)[] = [];

  private constructor(ws: WebSocket, child: Deno.ChildProcess, dir: string) {
    this.#ws = ws;
    this.#child = child;
    this.#dir = dir;
    ws.onmessage = (event) => {
      const m = JSON.parse(event.data as string) as Message;
      if (m.id !== undefined) {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.error) p?.reject(new Error(`CDP: ${m.error.message}`));
        else p?.resolve(m);
      } else this.#listeners.forEach((l) => l(m));
    };
  }

  /** Starts Chromium headless, isolated (fresh profile, no background networking). */
  static async launch(): Promise<Browser> {
    const dir = await Deno.makeTempDir({ prefix: "svlens-chromium-" });
    const child = new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        `--user-data-dir=${dir}`,
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    let port = "";
    let path = "";
    for (let i = 0; i < 300 && !path; i++) {
      try {
        const [p, w] = (await Deno.readTextFile(`${dir}/DevToolsActivePort`)).split("\n");
        if (p && w) [port, path] = [p, w];
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!path) {
      child.kill();
      await child.status;
      throw new Error("chromium did not open a DevTools port within 15 s");
    }
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("cannot connect to chromium's DevTools socket"));
    });
    return new Browser(ws, child, dir);
  }

  #send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Message> {
    const id = this.#next++;
    const p = new Promise<Message>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return p;
  }

  /**
   * Opens `url` in a new tab at `width` px, waits for the load event, evaluates `expression`
   * (its value must be JSON-serialisable) and screenshots the whole page.
   */
  async visit(url: string, expression: string, width = 1200): Promise<PageVisit> {
    const target = await this.#send("Target.createTarget", { url: "about:blank" });
    const targetId = target.result?.targetId as string;
    const attached = await this.#send("Target.attachToTarget", { targetId, flatten: true });
    const session = attached.result?.sessionId as string;
    const requests: string[] = [];
    const errors: string[] = [];
    let loaded: () => void = () => {};
    const load = new Promise<void>((r) => (loaded = r));
    const listener = (m: Message) => {
      if (m.sessionId !== session || !m.params) return;
      const p = m.params as Record<string, Record<string, unknown>>;
      switch (m.method) {
        case "Network.requestWillBeSent":
          requests.push(String(p.request?.url));
          break;
        case "Runtime.consoleAPICalled":
          if (m.params.type === "error" || m.params.type === "assert") {
            errors.push(`console.${m.params.type}: ${JSON.stringify(m.params.args)}`);
          }
          break;
        case "Log.entryAdded":
          if (p.entry?.level === "error") errors.push(`log: ${String(p.entry?.text)}`);
          break;
        case "Runtime.exceptionThrown":
          errors.push(`exception: ${JSON.stringify(p.exceptionDetails)}`);
          break;
        case "Page.loadEventFired":
          loaded();
          break;
      }
    };
    this.#listeners.push(listener);
    try {
      for (const domain of ["Page", "Runtime", "Log", "Network"]) {
        await this.#send(`${domain}.enable`, {}, session);
      }
      await this.#send("Emulation.setDeviceMetricsOverride", {
        width,
        height: 900,
        deviceScaleFactor: 1,
        mobile: false,
      }, session);
      await this.#send("Page.navigate", { url }, session);
      await Promise.race([
        load,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`page ${url} did not load in 20 s`)), 20_000)
        ),
      ]);
      // Let late console/log events arrive.
      await new Promise((r) => setTimeout(r, 200));
      const evaluated = await this.#send("Runtime.evaluate", {
        expression,
        returnByValue: true,
      }, session);
      const value = (evaluated.result?.result as { value?: unknown } | undefined)?.value;
      const shot = await this.#send("Page.captureScreenshot", {
        format: "png",
        captureBeyondViewport: true,
      }, session);
      const bin = atob(shot.result?.data as string);
      const screenshot = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      return { requests, errors, value, screenshot };
    } finally {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
      await this.#send("Target.closeTarget", { targetId });
    }
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      await this.#send("Browser.close");
    } catch {
      // The socket may close before the reply arrives.
    }
    const closed = new Promise((r) => (this.#ws.onclose = r));
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.close();
    await closed;
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#child.status;
    clearTimeout(timer);
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
