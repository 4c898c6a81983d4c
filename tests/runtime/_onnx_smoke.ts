/** Subprocess body of the permission test: one tiny ONNX forward, prints `ok <max |Δ|>`. */
import { neoxConfig, randomModel, runWithCache } from "../../src/runtime/mod.ts";

const model = randomModel(neoxConfig(), { seed: 1 });
const names = ["blocks.1.attn.hook_pattern"];
const a = await runWithCache(model, [[1, 2, 3]], { names, backend: "onnx" });
const b = await runWithCache(model, [[1, 2, 3]], { names, backend: "reference" });
const x = a.get(names[0]!)!.data, y = b.get(names[0]!)!.data;
console.log(`ok ${Math.max(...x.map((v, i) => Math.abs(v - y[i]!)))}`);
