/**
 * numpy as an optional independent oracle (skipped cleanly without python3 + numpy).
 */
import { eigh, LowRankProduct, Rng, svd } from "../../src/linalg/mod.ts";
import { assertAlmostEquals, assertEquals, assertOk } from "../_assert.ts";
import { HAS_NUMPY, runPython } from "../_helpers.ts";
import { columns, gaussian, subspaceDistance } from "./_util.ts";

function bytesOf(...arrays: Float64Array[]): Uint8Array {
  const total = arrays.reduce((s, a) => s + a.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  return out;
}

Deno.test({
  name: "numpy: svd singular values and eigh eigenvalues agree to 1e-12 relative",
  ignore: !HAS_NUMPY,
  async fn() {
    const a = gaussian(50, 35, new Rng(40));
    const out = await runPython(
      `import sys, json, numpy as np
a = np.frombuffer(sys.stdin.buffer.read(), dtype="<f8").reshape(50, 35)
s = np.linalg.svd(a, compute_uv=False)
w = np.linalg.eigvalsh(a.T @ a)
print(json.dumps({"s": s.tolist(), "w": w.tolist()}))`,
      bytesOf(a.data),
    );
    const ref = JSON.parse(out) as { s: number[]; w: number[] };
    const r = svd(a);
    for (let i = 0; i < 35; i++) assertAlmostEquals(r.s[i]!, ref.s[i]!, 1e-12 * ref.s[0]!);
    const ata = { rows: 35, cols: 35, data: new Float64Array(35 * 35) };
    for (let i = 0; i < 35; i++) {
      for (let j = 0; j < 35; j++) {
        let s = 0;
        for (let p = 0; p < 50; p++) s += a.data[p * 35 + i]! * a.data[p * 35 + j]!;
        ata.data[i * 35 + j] = s;
      }
    }
    const e = eigh(ata);
    for (let i = 0; i < 35; i++) assertAlmostEquals(e.values[i]!, ref.w[i]!, 1e-12 * ref.w[34]!);
  },
});

Deno.test({
  name: "numpy: factored SVD of a GPT-2-shaped QK circuit (769×64 factors) vs dense 769×769",
  ignore: !HAS_NUMPY,
  async fn() {
    const rng = new Rng(41);
    const m = 769, r = 64;
    const wq = gaussian(m, r, rng), wkT = gaussian(r, m, rng);
    const f = new LowRankProduct(wq, wkT).svd();
    const out = await runPython(
      `import sys, json, numpy as np
raw = np.frombuffer(sys.stdin.buffer.read(), dtype="<f8")
a = raw[:${m * r}].reshape(${m}, ${r}); b = raw[${m * r}:].reshape(${r}, ${m})
u, s, vt = np.linalg.svd(a @ b)
print(json.dumps({"s": s[:${r}].tolist(), "u": u[:, :${r}].ravel().tolist(),
                  "v": vt[:${r}].T.ravel().tolist(), "tail": float(s[${r}])}))`,
      bytesOf(wq.data, wkT.data),
    );
    const ref = JSON.parse(out) as { s: number[]; u: number[]; v: number[]; tail: number };
    assertEquals(f.s.length, r);
    assertEquals(f.rank, r);
    // numpy's dense s[64:] is rounding noise of Ω (rank 64): ≤ ~1e-13·s₀.
    assertOk(ref.tail <= 1e-12 * ref.s[0]!);
    for (let i = 0; i < r; i++) assertAlmostEquals(f.s[i]!, ref.s[i]!, 1e-10 * ref.s[0]!);
    const uRef = { rows: m, cols: r, data: Float64Array.from(ref.u) };
    const vRef = { rows: m, cols: r, data: Float64Array.from(ref.v) };
    const vF = { rows: m, cols: r, data: new Float64Array(m * r) };
    for (let k = 0; k < r; k++) {
      for (let j = 0; j < m; j++) vF.data[j * r + k] = f.vt.data[k * m + j]!;
    }
    assertOk(subspaceDistance(uRef, f.u) <= 1e-9, "left singular subspace");
    assertOk(subspaceDistance(vRef, vF) <= 1e-9, "right singular subspace");
    // Leading singular vector individually (σ₁ is well separated for a Gaussian product), up to sign.
    const u0 = columns(f.u, 0, 1).data, r0 = columns(uRef, 0, 1).data;
    let dot = 0;
    for (let i = 0; i < m; i++) dot += u0[i]! * r0[i]!;
    assertAlmostEquals(Math.abs(dot), 1, 1e-9);
  },
});
