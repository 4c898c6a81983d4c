/**
 * Whether a path exists, for the "is it already there" checks of the model cache and loaders.
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
