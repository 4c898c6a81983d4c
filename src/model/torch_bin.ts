/**
 * PyTorch `pytorch_model.bin` (the zip format of `torch.save` since PyTorch 1.6): a zip holding
 * `<archive>/data.pkl` (a pickle of the state dict) and one raw little-endian file per storage
 * (`<archive>/data/<key>`). The pickle is read by the restricted unpickler in `pickle.ts` with an
 * allow-list of the handful of torch functions that rebuild tensors; anything else is refused
 * (a pickle that would call `os.system` raises ModelFormatError and runs nothing).
 * The legacy pre-1.6 (non-zip) format is refused with a hint.
 * @module
 */
// deno-lint-ignore no-import-prefix -- full specifiers so run-from-URL resolves the same (RULES)
import { unzipSync } from "npm:fflate@0.8.3";
import { ModelFormatError } from "../errors.ts";
import { describe, PyDict, PyGlobal, PyTuple, type PyValue, unpickle } from "./pickle.ts";

/** A tensor read from a PyTorch checkpoint. */
export interface TorchTensor {
  /** Storage type name, e.g. `FloatStorage`. */
  storageType: string;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Elements: floats as Float32Array, `LongStorage` as BigInt64Array, other ints as Int32Array. */
  data: Float32Array | BigInt64Array | Int32Array;
}

/** Storage types the loader understands, with element sizes. */
const STORAGES: Readonly<Record<string, number>> = {
  FloatStorage: 4,
  HalfStorage: 2,
  BFloat16Storage: 2,
  DoubleStorage: 8,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
};

/** A storage referenced by a persistent id, with its bytes. */
class StorageRef {
  constructor(readonly type: string, readonly bytes: Uint8Array, readonly key: string) {}
}

/** A rebuilt tensor inside the pickle (wrapped so the unpickler treats it as opaque). */
class TensorBox {
  constructor(readonly tensor: TorchTensor) {}
}

type OpaqueTensor = { readonly opaque: TensorBox };

function isTensor(v: PyValue | undefined): v is OpaqueTensor {
  return typeof v === "object" && v !== null && "opaque" in v && v.opaque instanceof TensorBox;
}

const MAX_ELEMENTS = 1 << 30;

function asInt(v: PyValue, what: string, source: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new ModelFormatError(
      `${source}: ${what} must be a non-negative integer, got ${String(v)}`,
    );
  }
  return v;
}

function intTuple(v: PyValue, what: string, source: string): number[] {
  if (!(v instanceof PyTuple)) {
    throw new ModelFormatError(`${source}: ${what} must be a tuple, got ${describe(v)}`);
  }
  if (v.items.length > 64) throw new ModelFormatError(`${source}: ${what} has too many dimensions`);
  return v.items.map((x, i) => asInt(x, `${what}[${i}]`, source));
}

let halfTable: Float32Array | undefined;
function half(bits: number): number {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const f = h & 0x3ff;
      halfTable[h] = e === 0
        ? s * f * 2 ** -24
        : e === 31
        ? (f ? NaN : s * Infinity)
        : s * (1 + f / 1024) * 2 ** (e - 15);
    }
  }
  return halfTable[bits]!;
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: gathers a strided view. */
function rebuildTensor(args: readonly PyValue[], source: string): OpaqueTensor {
  const [storageV, offsetV, sizeV, strideV] = args;
  const storage = typeof storageV === "object" && storageV !== null && "opaque" in storageV
    ? storageV.opaque
    : undefined;
  if (!(storage instanceof StorageRef)) {
    throw new ModelFormatError(
      `${source}: tensor storage is a ${describe(storageV ?? null)}, not a storage reference`,
    );
  }
  const offset = asInt(offsetV ?? null, "storage offset", source);
  const shape = intTuple(sizeV ?? null, "tensor size", source);
  const stride = intTuple(strideV ?? null, "tensor stride", source);
  if (shape.length !== stride.length) {
    throw new ModelFormatError(
      `${source}: size [${shape}] and stride [${stride}] differ in length`,
    );
  }
  const itemSize = STORAGES[storage.type]!;
  const storageLen = storage.bytes.length / itemSize;
  let numel = 1;
  let maxIndex = offset;
  for (let i = 0; i < shape.length; i++) {
    numel *= shape[i]!;
    if (numel > MAX_ELEMENTS) {
      throw new ModelFormatError(`${source}: tensor size [${shape}] is too large`);
    }
    maxIndex += (shape[i]! - 1) * stride[i]!;
  }
  if (numel > storageLen) {
    // Only expanded (stride-0) views can do this; state dicts never hold them, and refusing
    // them bounds memory by the file size.
    throw new ModelFormatError(
      `${source}: tensor size [${shape}] has ${numel} elements but its storage ${storage.key} only ` +
        `${storageLen}; expanded views are not supported`,
    );
  }
  if (numel > 0 && maxIndex >= storageLen) {
    throw new ModelFormatError(
      `${source}: tensor (offset ${offset}, size [${shape}], stride [${stride}]) reads past the end of ` +
        `storage ${storage.key} (${storageLen} elements)`,
    );
  }
  const dv = new DataView(storage.bytes.buffer, storage.bytes.byteOffset, storage.bytes.byteLength);
  const read = (idx: number): number => {
    const b = idx * itemSize;
    switch (storage.type) {
      case "FloatStorage":
        return dv.getFloat32(b, true);
      case "HalfStorage":
        return half(dv.getUint16(b, true));
      case "BFloat16Storage":
        return new Float32Array(new Uint32Array([dv.getUint16(b, true) << 16]).buffer)[0]!;
      case "DoubleStorage":
        return dv.getFloat64(b, true);
      case "IntStorage":
        return dv.getInt32(b, true);
      case "ShortStorage":
        return dv.getInt16(b, true);
      case "CharStorage":
        return dv.getInt8(b);
      default: // ByteStorage, BoolStorage
        return dv.getUint8(b);
    }
  };
  const isLong = storage.type === "LongStorage";
  const isFloat = /Float|Half|Double/.test(storage.type);
  const data = isLong
    ? new BigInt64Array(numel)
    : isFloat
    ? new Float32Array(numel)
    : new Int32Array(numel);
  // Row-major walk over the view; contiguous FloatStorage tensors take a fast path.
  const contiguous = stride.every((s, i) => s === shape.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous && storage.type === "FloatStorage" && data instanceof Float32Array) {
    const start = storage.bytes.byteOffset + offset * 4;
    if (start % 4 === 0) {
      data.set(new Float32Array(storage.bytes.buffer, start, numel));
      return { opaque: new TensorBox({ storageType: storage.type, shape, data }) };
    }
  }
  const idx = new Array<number>(shape.length).fill(0);
  for (let n = 0; n < numel; n++) {
    let s = offset;
    for (let i = 0; i < shape.length; i++) s += idx[i]! * stride[i]!;
    if (data instanceof BigInt64Array) data[n] = dv.getBigInt64(s * 8, true);
    else data[n] = read(s);
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++idx[i]! < shape[i]!) break;
      idx[i] = 0;
    }
  }
  return { opaque: new TensorBox({ storageType: storage.type, shape, data }) };
}

function allowList(source: string): Map<string, PyGlobal> {
  const g = new Map<string, PyGlobal>();
  const add = (module: string, name: string, call?: (a: readonly PyValue[]) => PyValue) =>
    g.set(`${module}.${name}`, new PyGlobal(module, name, call));
  add("collections", "OrderedDict", (a) => {
    if (a.length !== 0) {
      throw new ModelFormatError(`${source}: OrderedDict with arguments is not supported`);
    }
    return new PyDict();
  });
  add("torch._utils", "_rebuild_tensor_v2", (a) => rebuildTensor(a, source));
  add("torch._utils", "_rebuild_tensor", (a) => rebuildTensor(a, source));
  const param = (a: readonly PyValue[]): PyValue => {
    const t = a[0];
    if (!isTensor(t)) {
      throw new ModelFormatError(
        `${source}: _rebuild_parameter needs a tensor, got ${describe(t ?? null)}`,
      );
    }
    return t;
  };
  add("torch._utils", "_rebuild_parameter", param);
  add("torch._utils", "_rebuild_parameter_with_state", param);
  for (const s of Object.keys(STORAGES)) add("torch", s);
  return g;
}

/**
 * Reads a PyTorch zip checkpoint (`pytorch_model.bin`) into a map of named tensors.
 * Only the state dict's tensors are returned; non-tensor entries are refused.
 */
export function readTorchBin(
  bytes: Uint8Array,
  source = "pytorch_model.bin",
): Map<string, TorchTensor> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5) {
    throw new ModelFormatError(
      `${source}: legacy (pre-PyTorch-1.6, non-zip) checkpoint; re-save it with a recent torch.save ` +
        `or convert it to safetensors`,
    );
  }
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new ModelFormatError(`${source}: not a zip file (PyTorch checkpoints are zip archives)`);
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    throw new ModelFormatError(`${source}: corrupt zip archive (${(error as Error).message})`);
  }
  const pklName = Object.keys(files).find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pklName) {
    throw new ModelFormatError(
      `${source}: no <archive>/data.pkl in the zip; not a torch.save file`,
    );
  }
  const prefix = pklName.slice(0, -"data.pkl".length);
  const byteorder = files[`${prefix}byteorder`];
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== "little") {
    throw new ModelFormatError(`${source}: big-endian checkpoints are not supported`);
  }
  const persistentLoad = (pid: PyValue): PyValue => {
    if (!(pid instanceof PyTuple) || pid.items.length < 5 || pid.items[0] !== "storage") {
      throw new ModelFormatError(
        `${source}: unexpected persistent id (expected ('storage', type, key, location, numel))`,
      );
    }
    const [, type, key] = pid.items;
    if (!(type instanceof PyGlobal) || type.module !== "torch" || !(type.name in STORAGES)) {
      throw new ModelFormatError(
        `${source}: persistent id names ${describe(type ?? null)}, not a torch storage type`,
      );
    }
    if (typeof key !== "string" || !/^[\w.-]+$/.test(key)) {
      throw new ModelFormatError(
        `${source}: bad storage key ${
          typeof key === "string" ? JSON.stringify(key) : describe(key ?? null)
        }`,
      );
    }
    const data = files[`${prefix}data/${key}`];
    if (!data) throw new ModelFormatError(`${source}: storage ${key} is missing from the zip`);
    if (data.length % STORAGES[type.name]! !== 0) {
      throw new ModelFormatError(
        `${source}: storage ${key} has ${data.length} bytes, not a whole number of ${type.name} elements`,
      );
    }
    return { opaque: new StorageRef(type.name, data, key) };
  };
  const root = unpickle(files[pklName]!, { globals: allowList(source), persistentLoad, source });
  if (!(root instanceof PyDict)) {
    throw new ModelFormatError(
      `${source}: top-level object is a ${describe(root)}, expected a state dict`,
    );
  }
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of root.map) {
    if (typeof k !== "string") {
      throw new ModelFormatError(`${source}: state dict key ${String(k)} is not a string`);
    }
    if (!isTensor(v)) {
      throw new ModelFormatError(
        `${source}: state dict entry ${JSON.stringify(k)} is a ${describe(v)}, not a tensor`,
      );
    }
    out.set(k, v.opaque.tensor);
  }
  return out;
}
