/**
 * Atomic file output: write to a temporary file beside the target, then rename it into place,
 * so a failed or killed run never leaves a half-written result.
 * @module
 */

/**
 * Writes `data` to `path` atomically (temporary file in the same directory + rename).
 * Creates missing parent directories. Needs write permission on the directory.
 *
 * @example
 * ```ts ignore
 * await writeFileAtomic("out/results.json", new TextEncoder().encode("{}"));
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}

/** Writes UTF-8 `text` to `path` atomically; see {@linkcode writeFileAtomic}. */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}
