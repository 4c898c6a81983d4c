/**
 * Golden test: the real trained GPT-nano (minGPT, llm-viz fixture) must reproduce every recorded
 * activation of its batch-3 forward pass (qkv as hook_q|k|v side by side, probs as softmax(logits)). Tolerance: |Δ| ≤ 2e-5 + 1e-4·|expected| (float32 work;
 * the observed maximum is printed), masked scores exactly -Infinity.
 */
import { runWithCache } from "../../src/runtime/mod.ts";
import type { Tensor } from "../../src/model/types.ts";
import { HAS_FIXTURES } from "../_helpers.ts";
import { assertEquals } from "../_assert.ts";
import { assertClose, swap12 } from "./_close.ts";
import { loadGptNano, loadGptNanoPartials } from "./_gpt_nano.ts";

const ATOL = 2e-5, RTOL = 1e-4;

/** Recorded name → [hook name, transform of the recorded tensor to TL layout]. */
function expectations(partials: Map<string, Tensor>): Array<[string, string, Float32Array]> {
  const p = (k: string): Tensor => partials.get(k)!;
  const heads = (k: string): Float32Array => swap12(p(k).data, p(k).shape);
  const B = 3;
  const posEmb = new Float32Array(B * p("pos_emb").data.length);
  for (let b = 0; b < B; b++) posEmb.set(p("pos_emb").data, b * p("pos_emb").data.length);
  return [
    ["tok_emb", "hook_embed", p("tok_emb").data],
    ["pos_emb", "hook_pos_embed", posEmb],
    ["x", "blocks.0.hook_resid_pre", p("x").data],
    ["ln1", "blocks.0.ln1.hook_normalized", p("ln1").data],
    ["q", "blocks.0.attn.hook_q", heads("q")],
    ["k", "blocks.0.attn.hook_k", heads("k")],
    ["v", "blocks.0.attn.hook_v", heads("v")],
    ["att", "blocks.0.attn.hook_attn_scores", p("att").data],
    ["attSm", "blocks.0.attn.hook_pattern", p("attSm").data],
    ["y", "blocks.0.attn.hook_z", p("y").data],
    ["yProj", "blocks.0.hook_attn_out", p("yProj").data],
    ["attnResid", "blocks.0.hook_resid_mid", p("attnResid").data],
    ["ln2", "blocks.0.ln2.hook_normalized", p("ln2").data],
    ["fc", "blocks.0.mlp.hook_pre", p("fc").data],
    ["gelu", "blocks.0.mlp.hook_post", p("gelu").data],
    ["mlp", "blocks.0.hook_mlp_out", p("mlp").data],
    ["mlpResid", "blocks.0.hook_resid_post", p("mlpResid").data],
    ["block0", "blocks.0.hook_resid_post", p("block0").data],
    ["block1", "blocks.1.hook_resid_post", p("block1").data],
    ["block2", "blocks.2.hook_resid_post", p("block2").data],
    ["ln_f", "ln_final.hook_normalized", p("ln_f").data],
    ["lm_head", "logits", p("lm_head").data],
  ];
}

function softmaxRows(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    let max = -Infinity, sum = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, x[r * n + i]!);
    for (let i = 0; i < n; i++) sum += Math.exp(x[r * n + i]! - max);
    for (let i = 0; i < n; i++) out[r * n + i] = Math.exp(x[r * n + i]! - max) / sum;
  }
  return out;
}

export async function checkGolden(backend: "onnx" | "reference"): Promise<void> {
  const model = loadGptNano();
  const partials = loadGptNanoPartials();
  const idx = partials.get("idx")!;
  const tokens = [0, 1, 2].map((b) => Array.from(idx.data.subarray(b * 11, (b + 1) * 11)));
  const cache = await runWithCache(model, tokens, { backend });
  const report: string[] = [];
  for (const [recorded, hook, expected] of expectations(partials)) {
    const got = cache.get(hook);
    if (got === undefined) throw new Error(`hook ${hook} not captured`);
    assertEquals(got.data.length, expected.length, `${hook} size`);
    report.push(
      `${recorded}:${
        assertClose(got.data, expected, ATOL, RTOL, `${recorded} → ${hook}`).toExponential(1)
      }`,
    );
  }
  // minGPT's fused c_attn output: per position [q | k | v], each with the heads side by side.
  const qkv = new Float32Array(partials.get("qkv")!.data.length);
  const d = model.config.dModel;
  ["q", "k", "v"].forEach((name, part) => {
    const hook = cache.get(`blocks.0.attn.hook_${name}`)!.data; // [B, T, H, d_head] = [B, T, d]
    for (let bt = 0; bt < hook.length / d; bt++) {
      qkv.set(hook.subarray(bt * d, (bt + 1) * d), bt * 3 * d + part * d);
    }
  });
  report.push(
    `qkv:${
      assertClose(qkv, partials.get("qkv")!.data, ATOL, RTOL, "qkv → hook_q|k|v").toExponential(1)
    }`,
  );
  const probs = softmaxRows(cache.get("logits")!.data, 3);
  report.push(
    `probs:${
      assertClose(probs, partials.get("probs")!.data, ATOL, RTOL, "probs").toExponential(1)
    }`,
  );
  console.log(`[${backend}] max |Δ| per recorded partial: ${report.join(" ")}`);
}

Deno.test({
  name: "golden: GPT-nano reference forward reproduces every recorded partial",
  ignore: !HAS_FIXTURES,
  fn: () => checkGolden("reference"),
});

Deno.test({
  name: "golden: GPT-nano ONNX graph (onnxruntime-web) reproduces every recorded partial",
  ignore: !HAS_FIXTURES,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => checkGolden("onnx"),
});
