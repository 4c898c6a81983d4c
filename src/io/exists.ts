/**
 * "Is it already there" checks of the model cache, the loaders and resumable runs: whether a
 * path exists, and reading a text file that may be absent.
 * @module
 */

/**
 * Whether `path` exists (file, directory or a link to one). Only `NotFound` means "no"; any other
 * failure (a permission refusal, an I/O error) is rethrown so it is not mistaken for absence.
 *
 * @example
 * ```ts ignore
 * if (!(await exists("model/config.json"))) throw new Error("no config.json");
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The text of `path`, or `undefined` when it does not exist. Any other failure (a permission
 * refusal, an I/O error) is rethrown.
 *
 * @example
 * ```ts ignore
 * const ref = await readTextIfExists("cache/refs/main"); // undefined when absent
 * ```
 */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
