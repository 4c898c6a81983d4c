import { fuzz } from "./run.ts";
import { assertEquals, assertOk } from "../_assert.ts";

Deno.test("fuzz (always-on, 500 cases per target): only typed errors from untrusted files", () => {
  const reports = fuzz({ iterations: 500, seed: 20261122 });
  for (const [name, r] of Object.entries(reports)) {
    assertEquals(r.failures, [], `${name}: untyped errors`);
    assertEquals(r.cases, 500, name);
    const refused = Object.values(r.refused).reduce((a, b) => a + b, 0);
    assertEquals(r.accepted + refused, r.cases, name);
    // The mutations must actually exercise the error paths (and some inputs must survive).
    assertOk(refused > 100, `${name}: only ${refused} refused`);
  }
});
