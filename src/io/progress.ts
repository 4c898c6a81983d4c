/**
 * Progress reporting on stderr for long work (training steps, downloads, prompts, revisions).
 * A live bar (count, percentage, rate, ETA) when stderr is a terminal; completely quiet when it
 * is not (pipes, CI logs, `--json` runs), so machine-read output stays clean. Never writes to
 * stdout. Needs no permissions.
 * @module
 */

/** A running progress indicator. */
export interface Progress {
  /** Advances by `n` (default 1); `note` replaces the trailing text. */
  tick(n?: number, note?: string): void;
  /** Marks the work finished and prints the final line (terminal only). */
  done(note?: string): void;
}

/** Where progress is drawn; defaults to `Deno.stderr`. */
export interface ProgressStream {
  /** Whether the stream is an interactive terminal (only then is anything drawn). */
  isTerminal(): boolean;
  /** Writes bytes synchronously; returns how many were written. */
  writeSync(p: Uint8Array): number;
}

/** Options of {@linkcode progress}. */
export interface ProgressOptions {
  /** Print nothing at all (e.g. under `--json`). */
  quiet?: boolean;
  /** The stream (tests pass a fake terminal); default `Deno.stderr`. */
  stream?: ProgressStream;
  /** Milliseconds between redraws (default 100). */
  intervalMs?: number;
}

const encoder = new TextEncoder();

function duration(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return "?";
  if (secs < 60) return `${secs.toFixed(1)}s`;
  const m = Math.floor(secs / 60);
  return m < 60
    ? `${m}m${String(Math.round(secs % 60)).padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * Starts a progress indicator for `total` units of work labelled `label` (`total` 0 = unknown:
 * a count without a bar).
 *
 * @example
 * ```ts
 * import { progress } from "./progress.ts";
 * const p = progress("training", 3);
 * for (let i = 0; i < 3; i++) p.tick(1, `loss ${(1 / (i + 1)).toFixed(2)}`);
 * p.done();
 * ```
 */
export function progress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? Deno.stderr;
  const live = !options.quiet && stream.isTerminal();
  const interval = options.intervalMs ?? 100;
  const started = performance.now();
  let count = 0;
  let lastDraw = -Infinity;
  let finished = false;
  const draw = (note: string, end: boolean) => {
    const secs = (performance.now() - started) / 1000;
    let text = `\r${label} `;
    if (total > 0) {
      const frac = Math.min(1, count / total);
      const width = 24;
      const filled = Math.round(frac * width);
      const eta = end || count === 0 ? "" : ` eta ${duration((secs / count) * (total - count))}`;
      text += `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${count}/${total} ` +
        `${Math.floor(frac * 100)}% ${duration(secs)}${eta}`;
    } else text += `${count} ${duration(secs)}`;
    if (secs > 0 && count > 0) text += ` (${(count / secs).toPrecision(3)}/s)`;
    stream.writeSync(encoder.encode(`${text}${note ? ` ${note}` : ""}\x1b[K${end ? "\n" : ""}`));
  };
  return {
    tick(n = 1, note = "") {
      count += n;
      if (!live || finished) return;
      const now = performance.now();
      if (now - lastDraw >= interval || (total > 0 && count >= total)) {
        lastDraw = now;
        draw(note, false);
      }
    },
    done(note = "") {
      if (!live || finished) return;
      finished = true;
      draw(note, true);
    },
  };
}
