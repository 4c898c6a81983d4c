import { AdamW } from "../../src/toy/adamw.ts";
import { assertAllClose } from "../_assert.ts";

Deno.test("AdamW: two steps equal the hand-computed torch.optim.AdamW update", () => {
  const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
  const opt = new AdamW(2, { lr, beta1: b1, beta2: b2, eps, weightDecay: wd });
  const p = new Float64Array([1, -2]);
  // Step 1, g = (0.5, -3): m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g² → update = lr·g/(|g|+eps).
  opt.update(p, new Float64Array([0.5, -3]));
  const s1 = [
    1 * (1 - lr * wd) - lr * 0.5 / (0.5 + eps),
    -2 * (1 - lr * wd) - lr * -3 / (3 + eps),
  ];
  assertAllClose(p, s1, 1e-15);
  // Step 2, g = (1, 1).
  opt.update(p, new Float64Array([1, 1]));
  const expect = [0, 1].map((i) => {
    const g1 = [0.5, -3][i]!, g2 = 1;
    const m = b1 * (1 - b1) * g1 + (1 - b1) * g2;
    const v = b2 * (1 - b2) * g1 * g1 + (1 - b2) * g2 * g2;
    const mh = m / (1 - b1 ** 2), vh = v / (1 - b2 ** 2);
    return s1[i]! * (1 - lr * wd) - lr * mh / (Math.sqrt(vh) + eps);
  });
  assertAllClose(p, expect, 1e-14);
});
