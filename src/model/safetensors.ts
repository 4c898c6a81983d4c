/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON (`{"name": {"dtype", "shape", "data_offsets": [begin, end]},
 * "__metadata__": {...}}`), then the tensor bytes. Offsets are relative to the byte buffer that
 * follows the header and must tile it exactly (contiguous, non-overlapping, no holes), as the
 * reference Rust implementation requires. Every violation is a {@linkcode ModelFormatError}.
 *
 * This module works on bytes in memory; `safetensors_file.ts` reads tensors lazily from files
 * and sharded checkpoints.
 * @module
 */
import { ModelFormatError } from "../errors.ts";

/** Every dtype the safetensors format defines, with its size in bytes. */
export const SAFETENSORS_DTYPE_SIZES: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
});

/** A dtype svlens can decode (floats become Float32Array, or Float64Array for F64 if asked). */
export type SafetensorsDtype = "F32" | "F64" | "F16" | "BF16" | "I64" | "I32";

/** One tensor's entry in the header (offsets relative to the data buffer). */
export interface SafetensorsEntry {
  /** Dtype name as written in the file (any dtype the format defines). */
  dtype: string;
  /** Dimensions, outermost first. */
  shape: number[];
  /** `[begin, end)` byte range inside the data buffer. */
  dataOffsets: [number, number];
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** Tensor entries in file order (by data offset). */
  tensors: Map<string, SafetensorsEntry>;
  /** The `__metadata__` string map (empty if absent). */
  metadata: Record<string, string>;
  /** Absolute byte offset of the data buffer in the file (8 + N). */
  dataStart: number;
}

/** A decoded tensor. Float dtypes are Float32Array unless F64 was kept as Float64Array. */
export interface SafetensorsTensor {
  /** Dtype in the file. */
  dtype: SafetensorsDtype;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Row-major elements. */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array;
}

/** A tensor to encode; `F16`/`BF16` take Float32Array data and round to nearest even. */
export interface SafetensorsInput {
  /** Dtype to store. */
  dtype: SafetensorsDtype;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Row-major elements (length = product of shape). */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array;
}

/** Options for decoding tensors. */
export interface DecodeOptions {
  /** Keep F64 tensors as Float64Array instead of converting to Float32Array. */
  float64?: boolean;
  /**
   * The bytes are a fresh buffer the caller hands over (offset 0, whole buffer): the result may
   * view it without copying. Used by the file reader.
   */
  adopt?: boolean;
}

/** Largest header the reference implementation accepts (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Product of a shape's dimensions, or a ModelFormatError on overflow past 2^53. */
function shapeSize(shape: readonly number[], where: string): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) {
      throw new ModelFormatError(`${where}: shape [${shape}] has too many elements`);
    }
  }
  return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates the header at the start of a safetensors file.
 *
 * @param prefix the first bytes of the file: at least 8 + N (the whole file works too)
 * @param fileSize total file size in bytes (defaults to `prefix.length`)
 * @param source a name for error messages (file path)
 */
export function parseSafetensorsHeader(
  prefix: Uint8Array,
  fileSize: number = prefix.length,
  source = "safetensors data",
): SafetensorsHeader {
  const fix = "re-download or re-export the file";
  if (fileSize < 8 || prefix.length < 8) {
    throw new ModelFormatError(
      `${source}: ${fileSize} bytes is too short for a safetensors file (needs an 8-byte header length); ${fix}`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelFormatError(
      `${source}: header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit; not a safetensors file or corrupted; ${fix}`,
    );
  }
  const n = Number(n64);
  if (n < 2 || 8 + n > fileSize) {
    throw new ModelFormatError(
      `${source}: header length ${n} does not fit in a ${fileSize}-byte file; truncated or not safetensors; ${fix}`,
    );
  }
  if (prefix.length < 8 + n) {
    throw new ModelFormatError(`${source}: only ${prefix.length} of ${8 + n} header bytes given`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(prefix.subarray(8, 8 + n));
  } catch {
    throw new ModelFormatError(`${source}: header is not valid UTF-8; ${fix}`);
  }
  if (text[0] !== "{") {
    throw new ModelFormatError(
      `${source}: header must start with '{', got ${JSON.stringify(text.slice(0, 8))}; ${fix}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError(
      `${source}: header is not valid JSON (${(error as Error).message}); ${fix}`,
    );
  }
  if (!isPlainObject(json)) throw new ModelFormatError(`${source}: header JSON is not an object`);

  const metadata: Record<string, string> = {};
  const entries: [string, SafetensorsEntry][] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isPlainObject(raw)) {
        throw new ModelFormatError(`${source}: __metadata__ must be an object of strings`);
      }
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== "string") {
          throw new ModelFormatError(
            `${source}: __metadata__.${k} must be a string, got ${JSON.stringify(v)}`,
          );
        }
        metadata[k] = v;
      }
      continue;
    }
    const where = `${source}: tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(raw)) throw new ModelFormatError(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw;
    if (typeof dtype !== "string" || !Object.hasOwn(SAFETENSORS_DTYPE_SIZES, dtype)) {
      throw new ModelFormatError(
        `${where}: unknown dtype ${JSON.stringify(dtype)} (expected one of ${
          Object.keys(SAFETENSORS_DTYPE_SIZES).join(", ")
        })`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ModelFormatError(
        `${where}: shape ${JSON.stringify(shape)} must be an array of non-negative integers`,
      );
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
    ) {
      throw new ModelFormatError(
        `${where}: data_offsets ${
          JSON.stringify(offsets)
        } must be [begin, end] with 0 <= begin <= end`,
      );
    }
    const begin = offsets[0] as number;
    const end = offsets[1] as number;
    const bytes = shapeSize(shape as number[], where) * SAFETENSORS_DTYPE_SIZES[dtype]!;
    if (!Number.isSafeInteger(bytes) || bytes !== end - begin) {
      throw new ModelFormatError(
        `${where}: ${dtype} shape [${shape}] needs ${bytes} bytes but data_offsets [${begin}, ${end}] span ${
          end - begin
        }`,
      );
    }
    entries.push([name, { dtype, shape: [...shape] as number[], dataOffsets: [begin, end] }]);
  }
  entries.sort((a, b) =>
    a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]
  );
  const dataLength = fileSize - 8 - n;
  let cursor = 0;
  for (const [name, e] of entries) {
    if (e.dataOffsets[0] !== cursor) {
      throw new ModelFormatError(
        `${source}: tensor ${JSON.stringify(name)} starts at byte ${
          e.dataOffsets[0]
        } but the previous tensor ends at ${cursor} ` +
          `(offsets must be contiguous and non-overlapping); ${fix}`,
      );
    }
    cursor = e.dataOffsets[1];
  }
  if (cursor !== dataLength) {
    throw new ModelFormatError(
      `${source}: tensors cover ${cursor} data bytes but the file holds ${dataLength} after the header ` +
        `(${cursor > dataLength ? "truncated file" : "trailing bytes"}); ${fix}`,
    );
  }
  return { tensors: new Map(entries), metadata, dataStart: 8 + n };
}

let f16Table: Float32Array | undefined;

/** Float value of every IEEE half-precision bit pattern (built once, 256 KiB). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

/** Copies `bytes` into a fresh, aligned ArrayBuffer. */
function copyOf(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

/**
 * Decodes one tensor's bytes (exactly its `[begin, end)` range) into a typed array.
 * F32/F16/BF16 (and F64 unless `float64`) → Float32Array; I64 → BigInt64Array; I32 → Int32Array.
 */
export function decodeTensor(
  entry: SafetensorsEntry,
  bytes: Uint8Array,
  options: DecodeOptions = {},
  name = "tensor",
): SafetensorsTensor {
  const count = shapeSize(entry.shape, name);
  const size = SAFETENSORS_DTYPE_SIZES[entry.dtype];
  if (size === undefined || bytes.length !== count * size) {
    throw new ModelFormatError(
      `${name}: ${bytes.length} bytes do not hold ${count} ${entry.dtype} elements`,
    );
  }
  const shape = [...entry.shape];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const own = options.adopt === true && bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const aligned = (b: Uint8Array): ArrayBuffer => own ? b.buffer as ArrayBuffer : copyOf(b);
  switch (entry.dtype) {
    case "F32": {
      if (LITTLE_ENDIAN) return { dtype: "F32", shape, data: new Float32Array(aligned(bytes)) };
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
      return { dtype: "F32", shape, data: out };
    }
    case "F64": {
      const f64 = LITTLE_ENDIAN ? new Float64Array(aligned(bytes)) : (() => {
        const o = new Float64Array(count);
        for (let i = 0; i < count; i++) o[i] = dv.getFloat64(8 * i, true);
        return o;
      })();
      return { dtype: "F64", shape, data: options.float64 ? f64 : Float32Array.from(f64) };
    }
    case "F16": {
      const t = halfTable();
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = t[dv.getUint16(2 * i, true)]!;
      return { dtype: "F16", shape, data: out };
    }
    case "BF16": {
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = dv.getUint16(2 * i, true) << 16;
      return { dtype: "BF16", shape, data: new Float32Array(bits.buffer) };
    }
    case "I64": {
      if (LITTLE_ENDIAN) return { dtype: "I64", shape, data: new BigInt64Array(aligned(bytes)) };
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getBigInt64(8 * i, true);
      return { dtype: "I64", shape, data: out };
    }
    case "I32": {
      if (LITTLE_ENDIAN) return { dtype: "I32", shape, data: new Int32Array(aligned(bytes)) };
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, true);
      return { dtype: "I32", shape, data: out };
    }
    default:
      throw new ModelFormatError(
        `${name}: dtype ${entry.dtype} is not supported by svlens (supported: F32, F16, BF16, F64, I64, I32); ` +
          `convert the checkpoint to float32 or float16`,
      );
  }
}

/** Parses a whole safetensors file held in memory and decodes every tensor. */
export function readSafetensors(
  bytes: Uint8Array,
  options: DecodeOptions & { source?: string } = {},
): { tensors: Map<string, SafetensorsTensor>; metadata: Record<string, string> } {
  const header = parseSafetensorsHeader(bytes, bytes.length, options.source);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, e] of header.tensors) {
    const sub = bytes.subarray(
      header.dataStart + e.dataOffsets[0],
      header.dataStart + e.dataOffsets[1],
    );
    tensors.set(name, decodeTensor(e, sub, options, `${options.source ?? "safetensors"}: ${name}`));
  }
  return { tensors, metadata: header.metadata };
}

const SCRATCH_F32 = new Float32Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F32.buffer);

/** Float32 → IEEE half bits, round to nearest even (overflow → ±Inf). */
export function f32ToF16Bits(value: number): number {
  SCRATCH_F32[0] = value;
  const x = SCRATCH_U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** Float32 → bfloat16 bits, round to nearest even. */
export function f32ToBf16Bits(value: number): number {
  SCRATCH_F32[0] = value;
  const x = SCRATCH_U32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Encodes one tensor's elements as little-endian bytes of `t.dtype` (the data-buffer part of a
 * safetensors file). RangeError/TypeError on a shape/data mismatch.
 */
export function encodeTensorData(name: string, t: SafetensorsInput): Uint8Array {
  const count = shapeSize(t.shape, name);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(
      `encodeSafetensors: ${name}: shape [${t.shape}] must be non-negative integers`,
    );
  }
  if (t.data.length !== count) {
    throw new RangeError(
      `encodeSafetensors: ${name}: data has ${t.data.length} elements but shape [${t.shape}] needs ${count}`,
    );
  }
  const size = SAFETENSORS_DTYPE_SIZES[t.dtype]!;
  const d0 = t.data;
  // Fast path: the host is little-endian and the array already has the stored element type.
  if (
    LITTLE_ENDIAN &&
    ((t.dtype === "F32" && d0 instanceof Float32Array) ||
      (t.dtype === "F64" && d0 instanceof Float64Array) ||
      (t.dtype === "I64" && d0 instanceof BigInt64Array) ||
      (t.dtype === "I32" && d0 instanceof Int32Array))
  ) {
    return new Uint8Array(d0.buffer, d0.byteOffset, d0.byteLength).slice();
  }
  const out = new Uint8Array(count * size);
  const dv = new DataView(out.buffer);
  const d = t.data;
  const wantInt = t.dtype === "I64" || t.dtype === "I32";
  if (wantInt !== (d instanceof BigInt64Array || d instanceof Int32Array)) {
    throw new TypeError(
      `encodeSafetensors: ${name}: ${d.constructor.name} cannot be stored as ${t.dtype}`,
    );
  }
  for (let i = 0; i < count; i++) {
    switch (t.dtype) {
      case "F32":
        dv.setFloat32(4 * i, d[i] as number, true);
        break;
      case "F64":
        dv.setFloat64(8 * i, d[i] as number, true);
        break;
      case "F16":
        dv.setUint16(2 * i, f32ToF16Bits(d[i] as number), true);
        break;
      case "BF16":
        dv.setUint16(2 * i, f32ToBf16Bits(d[i] as number), true);
        break;
      case "I32":
        dv.setInt32(4 * i, Number(d[i]), true);
        break;
      case "I64":
        dv.setBigInt64(8 * i, BigInt(d[i]!), true);
        break;
    }
  }
  return out;
}

/**
 * Encodes tensors as a safetensors file (tensors in insertion order; header padded with spaces
 * to a multiple of 8 bytes so the data buffer is 8-aligned, as the Python library does).
 *
 * @example
 * ```ts
 * import { encodeSafetensors, readSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * readSafetensors(bytes).tensors.get("w")?.data; // Float32Array [1, 2]
 * ```
 */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const chunks: Uint8Array[] = [];
  const specs: TensorSpec[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    specs.push({ name, dtype: t.dtype, shape: t.shape });
    chunks.push(encodeTensorData(name, t));
  }
  const head = encodeSafetensorsHeader(specs, metadata);
  const out = new Uint8Array(head.length + chunks.reduce((a, c) => a + c.length, 0));
  out.set(head, 0);
  let p = head.length;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** A tensor's name, dtype and shape (what the header records). */
export interface TensorSpec {
  /** Tensor name. */
  name: string;
  /** Dtype to store. */
  dtype: SafetensorsDtype;
  /** Dimensions, outermost first. */
  shape: readonly number[];
}

/**
 * The first bytes of a safetensors file for tensors stored in `specs` order: the 8-byte length
 * and the JSON header, space-padded so the data buffer starts 8-aligned. Lets callers stream
 * large tensors to disk one at a time.
 */
export function encodeSafetensorsHeader(
  specs: readonly TensorSpec[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, dtype, shape } of specs) {
    if (name === "__metadata__") {
      throw new RangeError("encodeSafetensors: '__metadata__' is reserved");
    }
    if (Object.hasOwn(header, name)) {
      throw new RangeError(`encodeSafetensors: duplicate tensor ${name}`);
    }
    const size = SAFETENSORS_DTYPE_SIZES[dtype];
    if (size === undefined) {
      throw new RangeError(`encodeSafetensors: ${name}: unsupported dtype ${dtype}`);
    }
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new RangeError(
        `encodeSafetensors: ${name}: shape [${shape}] must be non-negative integers`,
      );
    }
    const bytes = shapeSize(shape, name) * size;
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  return out;
}
