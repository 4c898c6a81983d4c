/**
 * Opening the shard files a checkpoint index names.
 * @module
 */
import { ModelFormatError } from "../errors.ts";

/**
 * `open(dir/shard)`, where a missing shard is a ModelFormatError naming the index and the fix
 * (Deno's own NotFound would say only which file).
 */
export async function openShard<T>(
  indexPath: string,
  dir: string,
  shard: string,
  open: (path: string) => Promise<T>,
): Promise<T> {
  try {
    return await open(`${dir}/${shard}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new ModelFormatError(
      `${indexPath} names the shard ${shard}, which is missing from ${dir}; the checkpoint is ` +
        "incomplete: download it again (all shards the index lists)",
      { cause: error },
    );
  }
}
