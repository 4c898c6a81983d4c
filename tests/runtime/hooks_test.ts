/** Hook names per architecture and the `names` filter (exact, `*` globs, RegExp, typos). */
import { gpt2Config, hookNames, neoxConfig, selectHooks } from "../../src/runtime/mod.ts";
import { assertEquals, assertThrows } from "../_assert.ts";

Deno.test("hookNames: GPT-2 has positions and resid_mid; NeoX has rotary hooks and neither", () => {
  const g = hookNames(gpt2Config({ nLayers: 2 }));
  const n = hookNames(neoxConfig({ nLayers: 2 }));
  assertEquals(g.includes("hook_pos_embed") && g.includes("blocks.1.hook_resid_mid"), true);
  assertEquals(n.includes("hook_pos_embed") || n.includes("blocks.1.hook_resid_mid"), false);
  assertEquals(
    n.includes("blocks.1.attn.hook_rot_q") && !g.includes("blocks.1.attn.hook_rot_q"),
    true,
  );
  assertEquals(g.length, 2 + 2 * 17 + 3);
  assertEquals(new Set(g).size, g.length);
});

Deno.test("selectHooks: exact names, globs, RegExp; a pattern matching nothing names itself", () => {
  const cfg = gpt2Config({ nLayers: 3 });
  assertEquals([...selectHooks(cfg, ["blocks.*.attn.hook_pattern"])], [
    "blocks.0.attn.hook_pattern",
    "blocks.1.attn.hook_pattern",
    "blocks.2.attn.hook_pattern",
  ]);
  assertEquals([...selectHooks(cfg, ["logits", "blocks.1.ln1.*"])], [
    "blocks.1.ln1.hook_scale",
    "blocks.1.ln1.hook_normalized",
    "logits",
  ]);
  // '*' spans dots; the rest is literal: layer 1's hook_z only.
  assertEquals(selectHooks(cfg, ["blocks.1*hook_z"]).size, 1);
  assertEquals([...selectHooks(cfg, /^blocks\.2\.hook_resid_(pre|post)$/g)], [
    "blocks.2.hook_resid_pre",
    "blocks.2.hook_resid_post",
  ]);
  assertEquals(selectHooks(cfg, undefined).size, hookNames(cfg).length);
  assertThrows(
    () => selectHooks(cfg, ["blocks.3.attn.hook_pattern"]),
    RangeError,
    /'blocks\.3\.attn\.hook_pattern' matches no hook/,
  );
});
