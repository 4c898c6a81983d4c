import { ModelFormatError } from "../../src/errors.ts";
import {
  encodeSafetensors,
  f32ToBf16Bits,
  f32ToF16Bits,
  parseSafetensorsHeader,
  readSafetensors,
} from "../../src/model/safetensors.ts";
import { openSafetensors, SafetensorsFile } from "../../src/model/safetensors_file.ts";
import { assertEquals, assertOk, assertRejects, assertThrows } from "../_assert.ts";
import { FIXTURES, HAS_FIXTURES, HAS_NUMPY, runPython, withTempDir } from "../_helpers.ts";

/** Builds a safetensors file from a raw header object and data bytes (for malformed cases). */
function rawFile(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const text = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

Deno.test("safetensors: round trip of every encodable dtype, header 8-aligned", () => {
  const bytes = encodeSafetensors({
    a: { dtype: "F32", shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-30, -7]) },
    b: { dtype: "F64", shape: [2], data: new Float64Array([Math.PI, -1e300]) },
    c: { dtype: "I64", shape: [3], data: new BigInt64Array([0n, -5n, 1n << 40n]) },
    d: { dtype: "I32", shape: [1, 2], data: new Int32Array([-3, 2147483647]) },
    e: { dtype: "F16", shape: [4], data: new Float32Array([1, -0.5, 65504, 2 ** -24]) },
    f: { dtype: "BF16", shape: [2], data: new Float32Array([1, -256]) },
    empty: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
  }, { format: "pt" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals(n % 8, 0);
  const { tensors, metadata } = readSafetensors(bytes, { float64: true });
  assertEquals(metadata, { format: "pt" });
  assertEquals(tensors.get("a")!.shape, [2, 3]);
  assertEquals([...tensors.get("a")!.data], [...new Float32Array([1, -2, 3.5, 0, 1e-30, -7])]);
  assertEquals([...tensors.get("b")!.data], [Math.PI, -1e300]);
  assertOk(tensors.get("b")!.data instanceof Float64Array);
  assertEquals([...tensors.get("c")!.data], [0n, -5n, 1n << 40n]);
  assertEquals([...tensors.get("d")!.data], [-3, 2147483647]);
  assertEquals([...tensors.get("e")!.data], [1, -0.5, 65504, 2 ** -24]);
  assertEquals([...tensors.get("f")!.data], [1, -256]);
  assertEquals(tensors.get("empty")!.shape, [0, 4]);
  // Without float64, F64 becomes Float32Array.
  const f32 = readSafetensors(bytes).tensors.get("b")!;
  assertOk(f32.data instanceof Float32Array);
  assertEquals([...f32.data], [Math.fround(Math.PI), -Infinity]);
});

Deno.test({
  name: "safetensors: F16/BF16 rounding agrees with numpy, and reads a python-written file",
  ignore: !HAS_NUMPY,
  async fn() {
    // Random values over many binades, incl. subnormal halves and overflow.
    const vals: number[] = [0, -0, 1, 65519, 65520, 1e-8, 3e-5, 6.1e-5, 1 / 3, -2.5e4, 1e6];
    let s = 12345;
    for (let i = 0; i < 2000; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      vals.push((s / 2 ** 31 - 0.5) * 2 ** ((i % 40) - 25));
    }
    const f32 = Float32Array.from(vals);
    const py = await runPython(
      `import sys, numpy as np, json, struct
x = np.frombuffer(sys.stdin.buffer.read(), dtype='<f4')
h = x.astype(np.float16).view(np.uint16)
u = x.view(np.uint32).astype(np.uint64)
# bf16 round-to-nearest-even (reference formula on integers)
b = ((u + 0x7fff + ((u >> 16) & 1)) >> 16) & 0xffff
# Also write a safetensors file by hand (independent writer) with f16 and f32 tensors.
hdr = {"__metadata__": {"k": "v"}, "x16": {"dtype": "F16", "shape": [len(x)], "data_offsets": [0, 2*len(x)]},
       "x32": {"dtype": "F32", "shape": [len(x)], "data_offsets": [2*len(x), 6*len(x)]}}
hb = json.dumps(hdr).encode()
blob = struct.pack('<Q', len(hb)) + hb + x.astype('<f2').tobytes() + x.astype('<f4').tobytes()
print(json.dumps({"h": h.tolist(), "b": b.tolist(), "file": blob.hex()}))`,
      new Uint8Array(f32.buffer),
    );
    const ref = JSON.parse(py) as { h: number[]; b: number[]; file: string };
    assertEquals(Array.from(f32, f32ToF16Bits), ref.h);
    assertEquals(Array.from(f32, f32ToBf16Bits), ref.b);
    const bytes = Uint8Array.from(ref.file.match(/../g)!.map((h) => parseInt(h, 16)));
    const { tensors, metadata } = readSafetensors(bytes);
    assertEquals(metadata, { k: "v" });
    assertEquals([...tensors.get("x32")!.data], [...f32]);
    // Decoding the f16 tensor must equal numpy's float16 → float32 (exact).
    const back = await runPython(
      `import sys, numpy as np, json
x = np.frombuffer(sys.stdin.buffer.read(), dtype='<f4')
print(json.dumps(x.astype(np.float16).astype(np.float32).view(np.uint32).tolist()))`,
      new Uint8Array(f32.buffer),
    );
    assertEquals(
      [...new Uint32Array((tensors.get("x16")!.data as Float32Array).buffer)],
      JSON.parse(back),
    );
  },
});

Deno.test("safetensors: strict validation rejects malformed files with clear messages", () => {
  const d8 = new Uint8Array(8);
  const ok = { t: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  assertEquals(readSafetensors(rawFile(ok, d8)).tensors.get("t")!.shape, [2]);
  const cases: [string, Uint8Array, RegExp][] = [
    ["short", new Uint8Array(5), /too short/],
    [
      "huge header length",
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
        return b;
      })(),
      /exceeds/,
    ],
    [
      "header past end",
      (() => {
        const b = rawFile(ok, d8);
        new DataView(b.buffer).setBigUint64(0, 10_000n, true);
        return b;
      })(),
      /does not fit/,
    ],
    ["not JSON", rawFile(null, d8, "{not json}"), /not valid JSON/],
    ["not an object", rawFile(null, d8, "[1,2,3]"), /start with/],
    ["bad UTF-8", rawFile(null, d8, '{"\xff":1}').map((v, i) => i === 10 ? 0xff : v), /UTF-8/],
    [
      "unknown dtype",
      rawFile({ t: { dtype: "F128", shape: [2], data_offsets: [0, 8] } }, d8),
      /unknown dtype "F128"/,
    ],
    [
      "negative dim",
      rawFile({ t: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, d8),
      /non-negative integers/,
    ],
    [
      "fractional dim",
      rawFile({ t: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } }, d8),
      /non-negative integers/,
    ],
    [
      "size mismatch",
      rawFile({ t: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, d8),
      /needs 12 bytes/,
    ],
    [
      "reversed offsets",
      rawFile({ t: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, d8),
      /begin <= end/,
    ],
    [
      "hole at start",
      rawFile({ t: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, d8),
      /contiguous/,
    ],
    [
      "overlap",
      rawFile({
        a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
      }, d8),
      /contiguous/,
    ],
    ["trailing bytes", rawFile(ok, new Uint8Array(12)), /trailing bytes/],
    ["truncated", rawFile(ok, new Uint8Array(4)), /truncated/],
    ["metadata not strings", rawFile({ __metadata__: { a: 1 }, ...ok }, d8), /must be a string/],
    [
      "offsets not pair",
      rawFile({ t: { dtype: "F32", shape: [2], data_offsets: [0] } }, d8),
      /data_offsets/,
    ],
    ["entry not object", rawFile({ t: 5 }, d8), /not an object/],
  ];
  for (const [label, bytes, pattern] of cases) {
    const e = assertThrows(() => readSafetensors(bytes), ModelFormatError, pattern);
    assertOk(e.message.length > 20, label);
  }
  // A dtype the format defines but svlens does not decode: header OK, decode refused.
  const u8 = rawFile({ t: { dtype: "U8", shape: [8], data_offsets: [0, 8] } }, d8);
  assertEquals(parseSafetensorsHeader(u8).tensors.get("t")!.dtype, "U8");
  assertThrows(() => readSafetensors(u8), ModelFormatError, /U8 is not supported/);
});

Deno.test("safetensors: lazy per-tensor file reads and sharded checkpoints", async () => {
  await withTempDir(async (dir) => {
    const a = new Float32Array(1000).map((_, i) => i * 0.5);
    const b = new Float32Array([9, 8, 7]);
    await Deno.writeFile(
      `${dir}/one.safetensors`,
      encodeSafetensors({
        a: { dtype: "F32", shape: [10, 100], data: a },
        b: { dtype: "F16", shape: [3], data: b },
      }),
    );
    const f = await SafetensorsFile.open(`${dir}/one.safetensors`);
    assertEquals(f.names(), ["a", "b"]);
    assertEquals([...(await f.read("b")).data], [9, 8, 7]);
    assertEquals([...(await f.read("a")).data], [...a]);
    await assertRejects(() => f.read("zzz"), ModelFormatError, /no tensor named "zzz"/);
    f.close();

    // Sharded: two shards + index, opened through the directory.
    await Deno.writeFile(
      `${dir}/model-00001-of-00002.safetensors`,
      encodeSafetensors({ a: { dtype: "F32", shape: [1000], data: a } }),
    );
    await Deno.writeFile(
      `${dir}/model-00002-of-00002.safetensors`,
      encodeSafetensors({ b: { dtype: "F32", shape: [3], data: b } }),
    );
    const index = {
      metadata: { total_size: 4012 },
      weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" },
    };
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
    const s = await openSafetensors(dir);
    assertEquals(s.names().sort(), ["a", "b"]);
    assertEquals(s.metadata(), { total_size: "4012" });
    assertEquals([...(await s.read("b")).data], [9, 8, 7]);
    assertEquals([...(await s.read("a")).data], [...a]);
    s.close();

    // Index pointing outside the directory, or to a shard without the tensor.
    await Deno.writeTextFile(
      `${dir}/bad.index.json`,
      JSON.stringify({ weight_map: { a: "../etc/passwd" } }),
    );
    await assertRejects(
      () => openSafetensors(`${dir}/bad.index.json`),
      ModelFormatError,
      /plain file name/,
    );
    await Deno.writeTextFile(
      `${dir}/bad2.index.json`,
      JSON.stringify({ weight_map: { b: "model-00001-of-00002.safetensors" } }),
    );
    await assertRejects(
      () => openSafetensors(`${dir}/bad2.index.json`),
      ModelFormatError,
      /does not contain/,
    );

    // A truncated file is refused at open time.
    const full = await Deno.readFile(`${dir}/one.safetensors`);
    await Deno.writeFile(`${dir}/trunc.safetensors`, full.subarray(0, full.length - 3));
    await assertRejects(
      () => SafetensorsFile.open(`${dir}/trunc.safetensors`),
      ModelFormatError,
      /truncated/,
    );
  });
});

Deno.test({
  name: "safetensors: reads the tiny-gpt2-hf fixture (real HF file)",
  ignore: !HAS_FIXTURES,
  async fn() {
    const f = await SafetensorsFile.open(`${FIXTURES}tiny-gpt2-hf/model.safetensors`);
    assertEquals(f.metadata(), { format: "pt" });
    assertEquals(f.entry("wte.weight")!.shape, [21, 2]);
    assertEquals(f.entry("h.0.attn.c_attn.weight")!.shape, [2, 6]);
    const wte = await f.read("wte.weight");
    assertEquals(wte.data.length, 42);
    assertOk([...wte.data].every((v) => Number.isFinite(Number(v))));
    f.close();
  },
});
