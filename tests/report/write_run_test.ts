import { assertEquals, assertOk as assert, assertRejects } from "../_assert.ts";
import { SvlensError } from "../../src/errors.ts";
import { HAS_NUMPY, runPython, withTempDir } from "../_helpers.ts";
import { formatTable, writeRun } from "../../src/report/mod.ts";
import { SCHEMA_VERSION, VERSION } from "../../src/version.ts";
import { sampleRun } from "./_samples.ts";

Deno.test("writeRun writes results.json with the envelope, arrays and report.html", async () => {
  await withTempDir(async (dir) => {
    const arrays = {
      "s": { shape: [3], data: new Float64Array([3, 2, 1]) },
      "W": { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    };
    await writeRun(`${dir}/run`, sampleRun("svd"), arrays);
    const stored = JSON.parse(await Deno.readTextFile(`${dir}/run/results.json`));
    assertEquals(stored.schemaVersion, SCHEMA_VERSION);
    assertEquals(stored.svlensVersion, VERSION);
    assertEquals(stored.command, "svd");
    assert(!Number.isNaN(Date.parse(stored.createdAt)), "createdAt is a date");
    assertEquals(stored.arrays, {
      s: { dtype: "F64", shape: [3] },
      W: { dtype: "F32", shape: [2, 3] },
    });
    const html = await Deno.readTextFile(`${dir}/run/report.html`);
    assert(html.startsWith("<!DOCTYPE html>"), "html document");
    assert(!/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), "no scripts or URLs");
    assert(html.includes("Also in results.json: <code>heads</code> (2 entries)."), "extra keys");
    const leftovers = [...Deno.readDirSync(`${dir}/run`)].map((e) => e.name).sort();
    assertEquals(leftovers, ["arrays.safetensors", "report.html", "results.json"]);
    if (HAS_NUMPY) {
      // Independent reader: parse the safetensors layout with numpy only.
      const out = await runPython(`
import json, struct, numpy as np
b = open(${JSON.stringify(`${dir}/run/arrays.safetensors`)}, "rb").read()
n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8+n]); assert (8+n) % 8 == 0
for k in ["W", "s"]:
    t = h[k]; s, e = t["data_offsets"]
    a = np.frombuffer(b[8+n+s:8+n+e], dtype={"F32": "<f4", "F64": "<f8"}[t["dtype"]]).reshape(t["shape"])
    print(k, a.tolist())
print(h["__metadata__"]["command"])`);
      assertEquals(out.trim().split("\n"), [
        "W [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]",
        "s [3.0, 2.0, 1.0]",
        "svd",
      ]);
    }
  });
});

Deno.test("writeRun without arrays writes no safetensors file and no index", async () => {
  await withTempDir(async (dir) => {
    await writeRun(dir, sampleRun("toy"));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, ["report.html", "results.json"]);
    const stored = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
    assertEquals(stored.arrays, undefined);
  });
});

Deno.test("writeRun rejects an array whose shape does not match its data, writing nothing", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(
      () => writeRun(dir, sampleRun("toy"), { x: { shape: [2, 2], data: new Float32Array(3) } }),
      SvlensError,
      /'x' has shape \[2, 2\]/,
    );
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  });
});

Deno.test("formatTable aligns text left and numbers right", () => {
  const text = formatTable(["head", "sigma"], [["9.6", 12.5], ["10.10", 3]]);
  assertEquals(text.split("\n"), [
    "head   sigma",
    "-----  -----",
    "9.6     12.5",
    "10.10      3",
  ]);
});

/** Whether Python's `safetensors` package is importable (the README's snippet uses it). */
const HAS_PY_SAFETENSORS: boolean = (() => {
  try {
    return new Deno.Command("python3", {
      args: ["-c", "import safetensors.numpy"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "README snippet: safetensors.numpy.load_file reads arrays.safetensors",
  ignore: !HAS_PY_SAFETENSORS,
  async fn() {
    await withTempDir(async (dir) => {
      await writeRun(dir, sampleRun("toy"), {
        "u": { shape: [2, 2], data: new Float64Array([1, 0, 0, 1]) },
      });
      const out = await runPython(`
from safetensors.numpy import load_file
arrays = load_file(${JSON.stringify(`${dir}/arrays.safetensors`)})
print(arrays["u"].dtype, arrays["u"].tolist())`);
      assertEquals(out.trim(), "float64 [[1.0, 0.0], [0.0, 1.0]]");
    });
  },
});
