import { ModelFormatError } from "../../src/errors.ts";
import { readTorchBin } from "../../src/model/torch_bin.ts";
import { PyGlobal, unpickle } from "../../src/model/pickle.ts";
import { assertEquals, assertOk, assertThrows } from "../_assert.ts";
import { HAS_NUMPY, withTempDir } from "../_helpers.ts";
import { generateModel } from "../../src/model/generate.ts";
import { loadModel } from "../../src/model/load.ts";
import { SafetensorsFile } from "../../src/model/safetensors_file.ts";

const HELPER = new URL("./_torch_pickle.py", import.meta.url).pathname;

interface Spec {
  dtype: "f32" | "f16" | "bf16" | "f64" | "i64" | "bool";
  shape: number[];
  data: number[];
  transpose?: boolean;
  share?: string;
  offset?: number;
  param?: boolean;
  from_type?: boolean;
}

/** Writes a torch.save-style zip with the python helper (no torch needed) and returns its bytes. */
async function torchZip(
  tensors: Record<string, Spec>,
  extra: Record<string, unknown> = {},
): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/pytorch_model.bin`;
    const child = new Deno.Command("python3", { args: [HELPER], stdin: "piped", stderr: "piped" })
      .spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify({ out, tensors, ...extra })));
    await w.close();
    const res = await child.output();
    if (!res.success) throw new Error(new TextDecoder().decode(res.stderr));
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const seq = (n: number, f = (i: number) => i * 0.25 - 1) =>
  Array.from({ length: n }, (_, i) => f(i));

Deno.test({
  name:
    "torch_bin: reads torch.save zips (f32/f16/bf16/f64/i64/bool, strided, offset, shared, Parameter)",
  ignore: !HAS_NUMPY,
  async fn() {
    for (const [protocol, deflate] of [[2, false], [4, true], [5, false]] as const) {
      {
        const bytes = await torchZip({
          "a.weight": { dtype: "f32", shape: [2, 3], data: seq(6) },
          "b": { dtype: "f16", shape: [4], data: [1, -2, 0.5, 65504] },
          "c": { dtype: "bf16", shape: [2], data: [1, -3] },
          "d": { dtype: "f64", shape: [2], data: [0.1, 1e300] },
          "e": { dtype: "i64", shape: [3], data: [-1, 2 ** 40, 7] },
          "mask": { dtype: "bool", shape: [2, 2], data: [1, 0, 1, 1] },
          "t": { dtype: "f32", shape: [3, 2], data: seq(6, (i) => i * 10), transpose: true },
          "off": { dtype: "f32", shape: [2], data: [5, 6], offset: 3 },
          "tied": { dtype: "f32", shape: [2, 3], data: [], share: "a.weight" },
          "p": { dtype: "f32", shape: [1], data: [42], param: true },
          "ft": { dtype: "f32", shape: [2], data: [3, 4], from_type: true },
        }, { protocol, deflate });
        const sd = readTorchBin(bytes);
        assertEquals([...sd.keys()], [
          "a.weight",
          "b",
          "c",
          "d",
          "e",
          "mask",
          "t",
          "off",
          "tied",
          "p",
          "ft",
        ]);
        assertEquals(sd.get("a.weight")!.shape, [2, 3]);
        assertEquals([...sd.get("a.weight")!.data], seq(6));
        assertEquals([...sd.get("b")!.data], [1, -2, 0.5, 65504]);
        assertEquals([...sd.get("c")!.data], [1, -3]);
        assertEquals([...sd.get("d")!.data], [Math.fround(0.1), Infinity]);
        assertEquals([...sd.get("e")!.data], [-1n, 2n ** 40n, 7n]);
        assertEquals([...sd.get("mask")!.data], [1, 0, 1, 1]);
        assertEquals(sd.get("t")!.shape, [3, 2]);
        assertEquals([...sd.get("t")!.data], seq(6, (i) => i * 10));
        assertEquals([...sd.get("off")!.data], [5, 6]);
        assertEquals([...sd.get("tied")!.data], seq(6));
        assertEquals([...sd.get("p")!.data], [42]);
        assertEquals([...sd.get("ft")!.data], [3, 4]);
        assertEquals(sd.get("b")!.storageType, "HalfStorage");
      }
    }
  },
});

Deno.test({
  name: "torch_bin: malicious pickles are refused by name and never executed",
  ignore: !HAS_NUMPY,
  async fn() {
    const ok = { "w": { dtype: "f32", shape: [1], data: [1] } } as Record<string, Spec>;
    for (
      const [target, protocol] of [
        ["posix.system", 2],
        ["os.system", 4],
        ["builtins.eval", 2],
        ["subprocess.Popen", 4],
      ] as const
    ) {
      {
        const bytes = await torchZip(ok, { evil: target, protocol });
        const e = assertThrows(
          () => readTorchBin(bytes),
          ModelFormatError,
          /refusing to load global/,
        );
        // Protocol 2 writes python-2 module names (builtins → __builtin__, subprocess →
        // commands), as torch.save does; the refused name is quoted either way.
        const name = target.split(".")[1]!;
        assertOk(new RegExp(`"[\\w.]+\\.${name}"`).test(e.message), e.message);
      }
    }
    // Hidden inside a tensor's backward_hooks argument.
    const nested = await torchZip(ok, { nested_evil: "builtins.exec" });
    assertThrows(() => readTorchBin(nested), ModelFormatError, /"__builtin__.exec"/);
  },
});

Deno.test("pickle: hand-built streams, refused opcodes, truncation and bad structure", () => {
  const globals = new Map([[
    "collections.OrderedDict",
    new PyGlobal("collections", "OrderedDict", () => null),
  ]]);
  const p = (...b: (number | string)[]) =>
    Uint8Array.from(
      b.flatMap((x) => typeof x === "string" ? [...new TextEncoder().encode(x)] : [x]),
    );
  // {'a': [1, 2.5, None, True, 'x', b'\x01']} at protocol 2.
  const v = unpickle(
    p(
      0x80,
      2,
      0x7d,
      0x71,
      0,
      0x58,
      1,
      0,
      0,
      0,
      "a",
      0x5d,
      0x28,
      0x4b,
      1,
      0x47,
      0x40,
      0x04,
      0,
      0,
      0,
      0,
      0,
      0,
      0x4e,
      0x88,
      0x8c,
      1,
      "x",
      0x43,
      1,
      1,
      0x65,
      0x73,
      0x2e,
    ),
    { globals },
  );
  assertEquals(
    JSON.stringify(
      [...(v as { map: Map<string, unknown> }).map.entries()].map((
        [k, x],
      ) => [k, Array.isArray(x) ? x.length : x]),
    ),
    '[["a",6]]',
  );
  assertThrows(
    () => unpickle(p(0x80, 2, "cposix\nsystem\n", 0x2e), { globals }),
    ModelFormatError,
    /"posix.system"/,
  );
  assertThrows(
    () => unpickle(p(0x80, 4, 0x8c, 8, "builtins", 0x8c, 4, "eval", 0x93, 0x2e), { globals }),
    ModelFormatError,
    /"builtins.eval"/,
  );
  assertThrows(
    () => unpickle(p(0x80, 2, 0x28, 0x81, 0x2e), { globals }),
    ModelFormatError,
    /refusing opcode 0x81/,
  );
  assertThrows(
    () => unpickle(p(0x80, 2, "(S'x'\nios\nsystem\n."), { globals }),
    ModelFormatError,
    /opcode 0x53|refusing/,
  );
  assertThrows(() => unpickle(p(0x80, 2, 0x4e), { globals }), ModelFormatError, /without a STOP/);
  assertThrows(
    () => unpickle(p(0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f), { globals }),
    ModelFormatError,
    /truncated/,
  );
  assertThrows(() => unpickle(p(0x80, 2, 0x2e), { globals }), ModelFormatError, /underflow/);
  assertThrows(
    () => unpickle(p(0x80, 2, 0x68, 5, 0x2e), { globals }),
    ModelFormatError,
    /memo key 5/,
  );
  assertThrows(
    () => unpickle(p(0x80, 2, 0x4e, 0x4e, 0x52, 0x2e), { globals }),
    ModelFormatError,
    /REDUCE/,
  );
  assertThrows(
    () => unpickle(p(0x80, 2, 0x51, 0x2e), { globals }),
    ModelFormatError,
    /persistent|underflow/,
  );
});

Deno.test("pickle: a 300,000-item APPENDS (a 300 KB stream) parses; it overflowed the call stack", () => {
  const n = 300_000;
  const stream = new Uint8Array(n + 6);
  stream.set([0x80, 2, 0x5d, 0x28]); // PROTO 2, EMPTY_LIST, MARK
  stream.fill(0x4e, 4, 4 + n); // NONE × n
  stream.set([0x65, 0x2e], 4 + n); // APPENDS, STOP
  const list = unpickle(stream, { globals: new Map() });
  assertEquals((list as unknown[]).length, n);
  assertEquals((list as unknown[])[n - 1], null);
});

Deno.test("torch_bin: non-zip, legacy and broken archives are refused", () => {
  assertThrows(() => readTorchBin(new Uint8Array([1, 2, 3, 4])), ModelFormatError, /not a zip/);
  assertThrows(
    () => readTorchBin(new Uint8Array([0x80, 2, 0x8a, 0x0a])),
    ModelFormatError,
    /legacy/,
  );
  assertThrows(
    () => readTorchBin(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0])),
    ModelFormatError,
    /corrupt zip|no <archive>/,
  );
});

Deno.test({
  name:
    "torch_bin: a python-written GPT2LMHeadModel-style .bin (tied lm_head storage, bool mask) loads",
  ignore: !HAS_NUMPY,
  async fn() {
    await withTempDir(async (dir) => {
      await generateModel(`${dir}/st`, {
        architecture: "gpt2",
        nLayers: 1,
        nHeads: 2,
        dModel: 8,
        dVocab: 12,
        nCtx: 4,
        prefixed: true,
        seed: 4,
      });
      const f = await SafetensorsFile.open(`${dir}/st/model.safetensors`);
      const spec: Record<string, Spec> = {};
      for (const name of f.names()) {
        const t = await f.read(name);
        spec[name] = { dtype: "f32", shape: t.shape, data: [...(t.data as Float32Array)] };
      }
      f.close();
      spec["transformer.h.0.attn.bias"] = {
        dtype: "bool",
        shape: [1, 1, 4, 4],
        data: Array.from({ length: 16 }, (_, i) => ((i % 4) <= (i >> 2) ? 1 : 0)),
      };
      spec["lm_head.weight"] = {
        dtype: "f32",
        shape: [12, 8],
        data: [],
        share: "transformer.wte.weight",
      };
      await Deno.mkdir(`${dir}/bin`);
      await Deno.copyFile(`${dir}/st/config.json`, `${dir}/bin/config.json`);
      await Deno.writeFile(`${dir}/bin/pytorch_model.bin`, await torchZip(spec));
      const a = await loadModel(`${dir}/st`);
      const b = await loadModel(`${dir}/bin`);
      assertEquals(b.weightFile, "pytorch_model.bin");
      assertEquals([...b.weights.keys()], [...a.weights.keys()]);
      for (const [k, t] of a.weights) assertEquals(b.weights.get(k)!.data, t.data, k);
    });
  },
});
