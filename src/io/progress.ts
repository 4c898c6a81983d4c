/**
 * Progress reporting on stderr for long work (training steps, downloads, prompts, revisions).
 * A live bar when stderr is a terminal; otherwise one line at start and one at the end, so logs
 * stay short. Never writes to stdout.
 * @module
 */

/** A running progress indicator. */
export interface Progress {
  /** Advances by `n` (default 1); `note` replaces the trailing text. */
  tick(n?: number, note?: string): void;
  /** Marks the work finished and prints the final line. */
  done(note?: string): void;
}

const encoder = new TextEncoder();

/** Starts a progress indicator for `total` units of work labelled `label`. */
export function progress(
  label: string,
  total: number,
  options: { quiet?: boolean } = {},
): Progress {
  const live = !options.quiet && Deno.stderr.isTerminal();
  const started = performance.now();
  let count = 0;
  let lastDraw = 0;
  const write = (text: string) => {
    if (!options.quiet) Deno.stderr.writeSync(encoder.encode(text));
  };
  const draw = (note: string) => {
    const frac = total > 0 ? Math.min(1, count / total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    write(
      `\r${label} [${"#".repeat(filled)}${
        ".".repeat(width - filled)
      }] ${count}/${total} ${secs}s ${note}\x1b[K`,
    );
  };
  if (!live) write(`${label}: ${total} ...\n`);
  return {
    tick(n = 1, note = "") {
      count += n;
      const now = performance.now();
      if (live && (now - lastDraw > 100 || count >= total)) {
        lastDraw = now;
        draw(note);
      }
    },
    done(note = "") {
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      if (live) {
        draw(note);
        write("\n");
      } else write(`${label}: done in ${secs}s ${note}\n`);
    },
  };
}
