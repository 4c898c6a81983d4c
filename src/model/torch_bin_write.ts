/**
 * Writes PyTorch zip checkpoints (`pytorch_model.bin`) the way `torch.save(state_dict)` does:
 * `archive/data.pkl` (protocol-2 pickle of an `OrderedDict` of `_rebuild_tensor_v2` calls whose
 * storages are persistent ids `('storage', torch.XStorage, key, 'cpu', numel)`),
 * `archive/data/<key>` raw little-endian storages, `archive/version`, `archive/byteorder`.
 * Used by the model generator; read back by `torch_bin.ts`.
 * @module
 */
import { zipSync } from "npm:fflate@0.8.3";
import { encodeTensorData, type SafetensorsInput } from "./safetensors.ts";

const STORAGE_OF: Readonly<Record<SafetensorsInput["dtype"], string>> = {
  F32: "FloatStorage",
  F16: "HalfStorage",
  BF16: "BFloat16Storage",
  F64: "DoubleStorage",
  I64: "LongStorage",
  I32: "IntStorage",
};

/** Builds pickle opcodes (protocol 2 subset that torch.save emits). */
class PickleWriter {
  #parts: number[] = [];
  #enc = new TextEncoder();
  byte(...b: number[]): this {
    this.#parts.push(...b);
    return this;
  }
  u32(n: number): this {
    return this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  str(s: string): this {
    const b = this.#enc.encode(s);
    this.byte(0x58).u32(b.length); // BINUNICODE
    for (const x of b) this.#parts.push(x);
    return this;
  }
  int(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad pickle int ${n}`);
    if (n < 256) return this.byte(0x4b, n); // BININT1
    if (n < 2 ** 31) return this.byte(0x4a).u32(n); // BININT
    // LONG1 little-endian two's complement
    const bytes: number[] = [];
    let v = BigInt(n);
    while (v > 0n) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
    if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
    return this.byte(0x8a, bytes.length, ...bytes);
  }
  global(module: string, name: string): this {
    this.byte(0x63); // GLOBAL
    for (const x of this.#enc.encode(`${module}\n${name}\n`)) this.#parts.push(x);
    return this;
  }
  tuple(items: number[]): this {
    this.byte(0x28);
    for (const x of items) this.int(x);
    return this.byte(0x74);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

/**
 * Encodes `tensors` as a torch.save-compatible zip (contiguous tensors, one storage each).
 *
 * @example
 * ```ts
 * import { encodeTorchBin } from "./torch_bin_write.ts";
 * import { readTorchBin } from "./torch_bin.ts";
 * const bin = encodeTorchBin({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * readTorchBin(bin).get("w")?.data; // Float32Array [1, 2]
 * ```
 */
export function encodeTorchBin(tensors: Record<string, SafetensorsInput>): Uint8Array {
  const w = new PickleWriter();
  const files: Record<string, Uint8Array> = {};
  w.byte(0x80, 2).global("collections", "OrderedDict").byte(0x29, 0x52); // OrderedDict()
  w.byte(0x28); // MARK for SETITEMS
  let key = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const data = encodeTensorData(name, t);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const storageKey = String(key++);
    files[`archive/data/${storageKey}`] = data;
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    w.str(name);
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.byte(0x28); // MARK: args tuple
    w.byte(0x28).str("storage").global("torch", STORAGE_OF[t.dtype]).str(storageKey).str("cpu")
      .int(numel).byte(0x74, 0x51); // TUPLE, BINPERSID
    w.int(0).tuple(t.shape).tuple(stride).byte(0x89); // offset, size, stride, requires_grad=False
    w.global("collections", "OrderedDict").byte(0x29, 0x52); // backward_hooks
    w.byte(0x74, 0x52); // TUPLE, REDUCE
  }
  w.byte(0x75, 0x2e); // SETITEMS, STOP
  files["archive/data.pkl"] = w.bytes();
  files["archive/byteorder"] = new TextEncoder().encode("little");
  files["archive/version"] = new TextEncoder().encode("3\n");
  return zipSync(files, { level: 0 });
}
