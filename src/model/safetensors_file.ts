/**
 * Lazy safetensors reading from disk: only the header is read on open, each tensor is read on
 * demand with seek + read, so a 500 MB checkpoint never has to sit in memory twice. Sharded
 * checkpoints (`model.safetensors.index.json` + shards) expose the same interface.
 * Needs read permission on the files.
 * @module
 */
import { ModelFormatError } from "../errors.ts";
import { openShard } from "./_shard.ts";
import {
  type DecodeOptions,
  decodeTensor,
  encodeSafetensorsHeader,
  encodeTensorData,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsInput,
  type SafetensorsTensor,
  type TensorSpec,
} from "./safetensors.ts";

/** A set of named tensors readable on demand (one file, or the shards of a checkpoint). */
export interface TensorSource {
  /** Tensor names, in file order. */
  names(): string[];
  /** The header entry of `name`, or undefined if absent. */
  entry(name: string): SafetensorsEntry | undefined;
  /** Reads and decodes one tensor; ModelFormatError if absent or malformed. */
  read(name: string, options?: DecodeOptions): Promise<SafetensorsTensor>;
  /** Metadata (`__metadata__` of the file, or of the index for sharded checkpoints). */
  metadata(): Record<string, string>;
  /** Closes open file handles. */
  close(): void;
}

/** Reads exactly `buf.length` bytes at `position` (throws ModelFormatError on a short read). */
async function readExactly(
  file: Deno.FsFile,
  position: number,
  buf: Uint8Array,
  source: string,
): Promise<void> {
  await file.seek(position, Deno.SeekMode.Start);
  let got = 0;
  while (got < buf.length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) {
      throw new ModelFormatError(
        `${source}: unexpected end of file at byte ${position + got} (file shrank or is truncated)`,
      );
    }
    got += n;
  }
}

/** One safetensors file opened for lazy per-tensor reads. */
export class SafetensorsFile implements TensorSource {
  /** The validated header. */
  readonly header: SafetensorsHeader;
  /** File path (used in error messages). */
  readonly path: string;
  #file: Deno.FsFile;

  private constructor(path: string, file: Deno.FsFile, header: SafetensorsHeader) {
    this.path = path;
    this.#file = file;
    this.header = header;
  }

  /** Opens `path`, reads and validates its header only. */
  static async open(path: string): Promise<SafetensorsFile> {
    const file = await Deno.open(path, { read: true });
    try {
      const size = (await file.stat()).size;
      if (size < 8) parseSafetensorsHeader(new Uint8Array(0), size, path);
      const lenBuf = new Uint8Array(8);
      await readExactly(file, 0, lenBuf, path);
      const n = new DataView(lenBuf.buffer).getBigUint64(0, true);
      // Validate the length before allocating anything.
      const prefixLen = n > BigInt(MAX_HEADER_BYTES) || Number(n) + 8 > size ? 8 : 8 + Number(n);
      const prefix = new Uint8Array(prefixLen);
      await readExactly(file, 0, prefix, path);
      const header = parseSafetensorsHeader(prefix, size, path);
      return new SafetensorsFile(path, file, header);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Tensor names in file order. */
  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  /** Header entry of `name`. */
  entry(name: string): SafetensorsEntry | undefined {
    return this.header.tensors.get(name);
  }

  /** The file's `__metadata__`. */
  metadata(): Record<string, string> {
    return this.header.metadata;
  }

  /** Reads one tensor's bytes from disk and decodes them. */
  async read(name: string, options: DecodeOptions = {}): Promise<SafetensorsTensor> {
    const e = this.header.tensors.get(name);
    if (!e) {
      throw new ModelFormatError(`${this.path}: no tensor named ${JSON.stringify(name)}`);
    }
    const buf = new Uint8Array(e.dataOffsets[1] - e.dataOffsets[0]);
    await readExactly(this.#file, this.header.dataStart + e.dataOffsets[0], buf, this.path);
    return decodeTensor(e, buf, { ...options, adopt: true }, `${this.path}: ${name}`);
  }

  /** Closes the file handle. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}

/** The tensors of a sharded checkpoint (`model.safetensors.index.json` + shard files). */
export class ShardedSafetensors implements TensorSource {
  #shards: Map<string, SafetensorsFile>;
  #where: Map<string, SafetensorsFile>;
  #metadata: Record<string, string>;

  private constructor(
    shards: Map<string, SafetensorsFile>,
    where: Map<string, SafetensorsFile>,
    metadata: Record<string, string>,
  ) {
    this.#shards = shards;
    this.#where = where;
    this.#metadata = metadata;
  }

  /**
   * Opens the index at `indexPath` and every shard it names (in the same directory). Checks
   * that each tensor the index maps to a shard is really in that shard.
   */
  static async open(indexPath: string): Promise<ShardedSafetensors> {
    let json: unknown;
    try {
      json = JSON.parse(await Deno.readTextFile(indexPath));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
        throw error;
      }
      throw new ModelFormatError(`${indexPath}: not valid JSON (${(error as Error).message})`);
    }
    const map = (json as { weight_map?: unknown })?.weight_map;
    if (typeof map !== "object" || map === null || Array.isArray(map)) {
      throw new ModelFormatError(`${indexPath}: missing "weight_map" object`);
    }
    const rawMeta = (json as { metadata?: unknown }).metadata;
    const metadata: Record<string, string> = {};
    if (typeof rawMeta === "object" && rawMeta !== null) {
      for (const [k, v] of Object.entries(rawMeta)) metadata[k] = String(v);
    }
    const dir = indexPath.includes("/") ? indexPath.slice(0, indexPath.lastIndexOf("/")) : ".";
    const shards = new Map<string, SafetensorsFile>();
    const where = new Map<string, SafetensorsFile>();
    try {
      for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
        if (
          typeof shard !== "string" || shard === "" || shard.includes("/") ||
          shard.includes("\\") || shard === "." || shard === ".."
        ) {
          throw new ModelFormatError(
            `${indexPath}: tensor ${JSON.stringify(tensor)} maps to ${JSON.stringify(shard)}, ` +
              `which is not a plain file name in the checkpoint directory`,
          );
        }
        let file = shards.get(shard);
        if (!file) {
          file = await openShard(indexPath, dir, shard, (path) => SafetensorsFile.open(path));
          shards.set(shard, file);
        }
        if (!file.entry(tensor)) {
          throw new ModelFormatError(
            `${indexPath}: tensor ${
              JSON.stringify(tensor)
            } is mapped to ${shard}, which does not contain it`,
          );
        }
        where.set(tensor, file);
      }
    } catch (error) {
      for (const f of shards.values()) f.close();
      throw error;
    }
    return new ShardedSafetensors(shards, where, metadata);
  }

  /** Tensor names in index order. */
  names(): string[] {
    return [...this.#where.keys()];
  }

  /** Header entry of `name` (from its shard). */
  entry(name: string): SafetensorsEntry | undefined {
    return this.#where.get(name)?.entry(name);
  }

  /** The index's `metadata` (values as strings). */
  metadata(): Record<string, string> {
    return this.#metadata;
  }

  /** Reads one tensor from its shard. */
  read(name: string, options: DecodeOptions = {}): Promise<SafetensorsTensor> {
    const file = this.#where.get(name);
    if (!file) {
      return Promise.reject(
        new ModelFormatError(`sharded checkpoint: no tensor named ${JSON.stringify(name)}`),
      );
    }
    return file.read(name, options);
  }

  /** Closes every shard. */
  close(): void {
    for (const f of this.#shards.values()) f.close();
  }
}

/**
 * Opens a checkpoint for lazy reads: a `.safetensors` file, a `.index.json` file, or a
 * directory holding `model.safetensors` or `model.safetensors.index.json`.
 */
export async function openSafetensors(path: string): Promise<TensorSource> {
  if (path.endsWith(".index.json")) return await ShardedSafetensors.open(path);
  const info = await Deno.stat(path);
  if (!info.isDirectory) return await SafetensorsFile.open(path);
  for (const name of ["model.safetensors", "model.safetensors.index.json"]) {
    try {
      await Deno.stat(`${path}/${name}`);
      return await openSafetensors(`${path}/${name}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  throw new ModelFormatError(
    `${path}: no model.safetensors or model.safetensors.index.json in this directory`,
  );
}

/**
 * Writes a safetensors file tensor by tensor: `fill(spec)` is called once per spec, in order,
 * and its data is written before the next is asked for, so peak memory is one tensor. The file
 * is written beside `path` and renamed into place (never left half-written). Needs write
 * permission on the directory.
 */
export async function writeSafetensorsFile(
  path: string,
  specs: readonly TensorSpec[],
  fill: (spec: TensorSpec) => SafetensorsInput["data"] | Promise<SafetensorsInput["data"]>,
  metadata?: Record<string, string>,
): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    const writeAll = async (bytes: Uint8Array) => {
      let done = 0;
      while (done < bytes.length) done += await file.write(bytes.subarray(done));
    };
    await writeAll(encodeSafetensorsHeader(specs, metadata));
    for (const spec of specs) {
      const data = await fill(spec);
      await writeAll(
        encodeTensorData(spec.name, { dtype: spec.dtype, shape: [...spec.shape], data }),
      );
    }
    file.close();
    await Deno.rename(tmp, path);
  } catch (error) {
    try {
      file.close();
    } catch {
      // already closed
    }
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
}
