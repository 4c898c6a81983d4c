/**
 * PyTorch `pytorch_model.bin` (the zip format of `torch.save` since PyTorch 1.6): a zip holding
 * `<archive>/data.pkl` (a pickle of the state dict) and one raw little-endian file per storage
 * (`<archive>/data/<key>`). The pickle is read by the restricted unpickler in `pickle.ts` with an
 * allow-list of the handful of torch functions that rebuild tensors; anything else is refused
 * (a pickle that would call `os.system` raises ModelFormatError and runs nothing).
 * The legacy pre-1.6 (non-zip) format is refused with a hint.
 * @module
 */
import { unzipSync } from "npm:fflate@0.8.3";
import { ModelFormatError } from "../errors.ts";
import { describe, PyDict, PyGlobal, PyTuple, type PyValue, unpickle } from "./pickle.ts";
import { decodeTensor, type SafetensorsDtype } from "./safetensors.ts";

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

/** Storage types that map onto a safetensors dtype (decoded by the same code). */
const DTYPE_OF: Readonly<Record<string, SafetensorsDtype>> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
};

/** Decodes `numel` contiguous little-endian elements of storage type `type`. */
function decodeElements(
  type: string,
  shape: number[],
  bytes: Uint8Array,
  source: string,
): TorchTensor["data"] {
  const dtype = DTYPE_OF[type];
  if (dtype) {
    const entry = { dtype, shape, dataOffsets: [0, bytes.length] as [number, number] };
    return decodeTensor(entry, bytes, {}, source).data as TorchTensor["data"];
  }
  const out = new Int32Array(bytes.length / STORAGES[type]!);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) {
    out[i] = type === "ShortStorage"
      ? dv.getInt16(2 * i, true)
      : type === "CharStorage"
      ? dv.getInt8(i)
      : dv.getUint8(i); // ByteStorage, BoolStorage
  }
  return out;
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
  // Contiguous views decode straight from the storage bytes; strided ones are gathered first.
  const contiguous = stride.every((st, i) =>
    shape[i] === 1 || st === shape.slice(i + 1).reduce((x, y) => x * y, 1)
  );
  let bytes: Uint8Array;
  if (contiguous) {
    bytes = storage.bytes.subarray(offset * itemSize, (offset + numel) * itemSize);
  } else {
    bytes = new Uint8Array(numel * itemSize);
    const idx = new Array<number>(shape.length).fill(0);
    for (let n = 0; n < numel; n++) {
      let el = offset;
      for (let i = 0; i < shape.length; i++) el += idx[i]! * stride[i]!;
      bytes.set(storage.bytes.subarray(el * itemSize, (el + 1) * itemSize), n * itemSize);
      for (let i = shape.length - 1; i >= 0; i--) {
        if (++idx[i]! < shape[i]!) break;
        idx[i] = 0;
      }
    }
  }
  const data = decodeElements(storage.type, shape, bytes, `${source}: storage ${storage.key}`);
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
  // Tensors with Python state or of a subclass: `_rebuild_from_type_v2(func, type, args, state)`.
  // Only allow-listed rebuild functions, plain Tensor/Parameter types and empty state pass.
  add("torch", "Tensor");
  add("torch.nn.parameter", "Parameter");
  add("torch._tensor", "_rebuild_from_type_v2", (a) => {
    const [func, type, args, state] = a;
    if (!(func instanceof PyGlobal) || !func.call || func.module !== "torch._utils") {
      throw new ModelFormatError(`${source}: _rebuild_from_type_v2 with ${describe(func ?? null)}`);
    }
    if (!(type instanceof PyGlobal) || (type.name !== "Tensor" && type.name !== "Parameter")) {
      throw new ModelFormatError(
        `${source}: _rebuild_from_type_v2 with type ${describe(type ?? null)}`,
      );
    }
    if (!(args instanceof PyTuple)) {
      throw new ModelFormatError(`${source}: _rebuild_from_type_v2 arguments are not a tuple`);
    }
    if (
      !(state === null || state === undefined || (state instanceof PyDict && state.map.size === 0))
    ) {
      throw new ModelFormatError(`${source}: tensors with Python attributes are not supported`);
    }
    return func.call(args.items);
  });
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
