/**
 * Minimal safetensors encoder for run arrays (F32/F64 only), used until the model layer's
 * `encodeSafetensors` lands; the format: u64 LE header length, JSON header padded with spaces
 * to 8 bytes, then the little-endian tensor bytes in header order.
 * @module
 */
import type { ArrayEntry } from "./types.ts";
import { SvlensError } from "../errors.ts";

/** Encodes named arrays (and string metadata) as a safetensors file. */
export function encodeArrays(
  arrays: Record<string, ArrayEntry>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, { shape, data }] of Object.entries(arrays)) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new SvlensError(
        `array '${name}' has shape [${
          shape.join(", ")
        }] (${count} values) but ${data.length} values; pass a matching shape`,
      );
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const dtype = data instanceof Float64Array ? "F64" : "F32";
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
