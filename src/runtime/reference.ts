/**
 * The reference forward pass of GPT-2 and GPT-NeoX (Pythia) in plain TypeScript, written to be
 * read (llm.c style: explicit loops, one named buffer per activation, `preatt` before softmax and
 * `att` after). It is the oracle for the ONNX graphs and the fallback backend.
 *
 * Conventions (TransformerLens): scores are `q·k / √d_head` with masked entries `-Infinity`;
 * LayerNorm's `hook_scale` is `√(var + ε)`; `hook_normalized` includes the affine `w`, `b` when the
 * model has them and is LNPre (`(x − mean)/scale`) when LayerNorm was folded. Activations are
 * float32; sums are accumulated in float64.
 * @module
 */
import type { Model, Tensor } from "../model/types.ts";
import { WeightReader } from "./_weights.ts";
import type { Batch } from "./batch.ts";
import { rotaryTables, rotateInPlace } from "./rotary.ts";

/** Error function, |error| < 1.2e-7 relative (Numerical Recipes `erfcc` Chebyshev fit). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(
    -z * z - 1.26551223 +
      t * (1.00002368 +
          t * (0.37409196 +
              t * (0.09678418 +
                  t * (-0.18628806 +
                      t * (0.27886807 +
                          t *
                            (-1.13520398 +
                              t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? 1 - r : r - 1;
}

/** GELU as the config names it: `gelu_new` (tanh approximation) or `gelu` (exact, erf). */
export function gelu(x: number, act: "gelu_new" | "gelu"): number {
  if (act === "gelu") return 0.5 * x * (1 + erf(x / Math.SQRT2));
  const c = Math.sqrt(2 / Math.PI);
  return 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x)));
}

/**
 * `out[t·outRow + outOff + j] = bias[bOff + j] + Σ_i inp[t·C + i] · W[wOff + i·OC + j]` for
 * `t < T`, `j < OC` (W row-major `[C, OC]`, TL layout). Four rows of `inp` share each pass over
 * W, which is what bounds speed (W is re-read T/4 times, not T).
 */
function matmul(
  out: Float32Array,
  outRow: number,
  outOff: number,
  inp: Float32Array,
  T: number,
  C: number,
  W: Float32Array,
  wOff: number,
  OC: number,
  bias: Float32Array | undefined,
  bOff: number,
): void {
  const acc = [
    new Float64Array(OC),
    new Float64Array(OC),
    new Float64Array(OC),
    new Float64Array(OC),
  ];
  for (let t0 = 0; t0 < T; t0 += 4) {
    const rows = Math.min(4, T - t0);
    for (let r = 0; r < 4; r++) {
      for (let j = 0; j < OC; j++) acc[r]![j] = bias === undefined ? 0 : bias[bOff + j]!;
    }
    const [a0, a1, a2, a3] = acc as [Float64Array, Float64Array, Float64Array, Float64Array];
    for (let i = 0; i < C; i++) {
      // Rows past T read row t0 again; their sums are never stored.
      const x0 = inp[t0 * C + i]!;
      const x1 = rows > 1 ? inp[(t0 + 1) * C + i]! : x0;
      const x2 = rows > 2 ? inp[(t0 + 2) * C + i]! : x0;
      const x3 = rows > 3 ? inp[(t0 + 3) * C + i]! : x0;
      const row = wOff + i * OC;
      for (let j = 0; j < OC; j++) {
        const w = W[row + j]!;
        a0[j]! += x0 * w;
        a1[j]! += x1 * w;
        a2[j]! += x2 * w;
        a3[j]! += x3 * w;
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < OC; j++) out[(t0 + r) * outRow + outOff + j] = acc[r]![j]!;
    }
  }
}

/** LayerNorm over rows of `inp` `[T, C]`; without `w`/`b` it is LNPre (folded model). */
function layerNorm(
  out: Float32Array,
  scale: Float32Array,
  inp: Float32Array,
  w: Float32Array | undefined,
  b: Float32Array | undefined,
  T: number,
  C: number,
  eps: number,
): void {
  for (let t = 0; t < T; t++) {
    let mean = 0;
    for (let i = 0; i < C; i++) mean += inp[t * C + i]!;
    mean /= C;
    let v = 0;
    for (let i = 0; i < C; i++) {
      const d = inp[t * C + i]! - mean;
      v += d * d;
    }
    const s = Math.sqrt(v / C + eps);
    scale[t] = s;
    for (let i = 0; i < C; i++) {
      const n = (inp[t * C + i]! - mean) / s;
      out[t * C + i] = n * (w === undefined ? 1 : w[i]!) + (b === undefined ? 0 : b[i]!);
    }
  }
}

/**
 * Runs `model` on a padded `batch` and returns the activations named in `keep` as TL-shaped
 * tensors (`[batch, pos, …]`, scores and patterns `[batch, head, query_pos, key_pos]`, logits
 * `[batch, nLogit, d_vocab]` at `batch.logitIndex`). Each prompt is run through the same loops;
 * keys at padded positions are masked.
 */
export function referenceForward(
  model: Model,
  batch: Batch,
  keep: ReadonlySet<string>,
): Map<string, Tensor> {
  const cfg = model.config;
  const W = new WeightReader(model);
  const { batch: B, pos: T } = batch;
  const C = cfg.dModel, H = cfg.nHeads, D = cfg.dHead, M = cfg.dMlp, V = cfg.dVocab;
  const R = cfg.rotaryDim;
  const attnScale = Math.sqrt(D);

  // Outputs: one [B, …] tensor per kept hook; `save` copies prompt b's buffer into it.
  const cache = new Map<string, Tensor>();
  const save = (name: string, shape: number[], buf: Float32Array, b: number): void => {
    if (!keep.has(name)) return;
    let t = cache.get(name);
    if (t === undefined) {
      t = { shape: [B, ...shape], data: new Float32Array(B * buf.length) };
      cache.set(name, t);
    }
    t.data.set(buf, b * buf.length);
  };

  const WE = W.get("embed.W_E", [V, C]);
  const Wpos = R === 0 ? W.get("pos_embed.W_pos", [cfg.nCtx, C]) : undefined;
  const tables = R > 0 ? rotaryTables(R, cfg.rotaryBase, T) : undefined;

  // Activation buffers for one prompt (llm.c names where they exist).
  const embed = new Float32Array(T * C);
  const posEmbed = new Float32Array(T * C);
  const residual = new Float32Array(T * C); // resid_pre of the current layer
  const ln1 = new Float32Array(T * C), ln1Scale = new Float32Array(T);
  const q = new Float32Array(T * H * D), k = new Float32Array(T * H * D);
  const v = new Float32Array(T * H * D);
  const preatt = new Float32Array(H * T * T), att = new Float32Array(H * T * T);
  const z = new Float32Array(T * H * D);
  const attnOut = new Float32Array(T * C);
  const residMid = new Float32Array(T * C);
  const ln2 = new Float32Array(T * C), ln2Scale = new Float32Array(T);
  const fch = new Float32Array(T * M), fchGelu = new Float32Array(T * M);
  const mlpOut = new Float32Array(T * C);
  const lnf = new Float32Array(T * C), lnfScale = new Float32Array(T);
  const logits = new Float32Array(batch.nLogit * V);

  for (let b = 0; b < B; b++) {
    const len = batch.lengths[b]!;

    // Embeddings: token rows of W_E (+ learned positions for GPT-2).
    for (let t = 0; t < T; t++) {
      const tok = batch.tokens[b * T + t]!;
      for (let i = 0; i < C; i++) {
        embed[t * C + i] = WE[tok * C + i]!;
        posEmbed[t * C + i] = Wpos === undefined ? 0 : Wpos[t * C + i]!;
        residual[t * C + i] = embed[t * C + i]! + posEmbed[t * C + i]!;
      }
    }
    save("hook_embed", [T, C], embed, b);
    save("hook_pos_embed", [T, C], posEmbed, b);

    for (let l = 0; l < cfg.nLayers; l++) {
      const p = `blocks.${l}.`;
      save(`${p}hook_resid_pre`, [T, C], residual, b);

      // ln1 → q, k, v per head (TL: W_Q [H, C, D], b_Q [H, D]).
      layerNorm(
        ln1,
        ln1Scale,
        residual,
        W.optional(`${p}ln1.w`, [C]),
        W.optional(`${p}ln1.b`, [C]),
        T,
        C,
        cfg.lnEps,
      );
      save(`${p}ln1.hook_scale`, [T, 1], ln1Scale, b);
      save(`${p}ln1.hook_normalized`, [T, C], ln1, b);
      for (const [name, out] of [["Q", q], ["K", k], ["V", v]] as const) {
        const w = W.get(`${p}attn.W_${name}`, [H, C, D]);
        const bias = W.optional(`${p}attn.b_${name}`, [H, D]);
        for (let h = 0; h < H; h++) {
          matmul(out, H * D, h * D, ln1, T, C, w, h * C * D, D, bias, h * D);
        }
      }
      save(`${p}attn.hook_q`, [T, H, D], q, b);
      save(`${p}attn.hook_k`, [T, H, D], k, b);
      save(`${p}attn.hook_v`, [T, H, D], v, b);
      if (tables !== undefined) {
        for (let t = 0; t < T; t++) {
          for (let h = 0; h < H; h++) {
            rotateInPlace(q, (t * H + h) * D, t, R, tables);
            rotateInPlace(k, (t * H + h) * D, t, R, tables);
          }
        }
        save(`${p}attn.hook_rot_q`, [T, H, D], q, b);
        save(`${p}attn.hook_rot_k`, [T, H, D], k, b);
      }

      // preatt[h, tq, tk] = q·k / √D for tk ≤ tq and tk < len, else -∞; att = softmax(preatt).
      for (let h = 0; h < H; h++) {
        for (let tq = 0; tq < T; tq++) {
          const row = (h * T + tq) * T;
          let max = -Infinity;
          for (let tk = 0; tk < T; tk++) {
            if (tk > tq || tk >= len) {
              preatt[row + tk] = -Infinity;
              continue;
            }
            let dot = 0;
            for (let e = 0; e < D; e++) dot += q[(tq * H + h) * D + e]! * k[(tk * H + h) * D + e]!;
            preatt[row + tk] = dot / attnScale;
            max = Math.max(max, preatt[row + tk]!);
          }
          let sum = 0;
          for (let tk = 0; tk < T; tk++) {
            const e = preatt[row + tk] === -Infinity ? 0 : Math.exp(preatt[row + tk]! - max);
            att[row + tk] = e;
            sum += e;
          }
          for (let tk = 0; tk < T; tk++) att[row + tk] = att[row + tk]! / sum;
          // z[tq, h] = Σ_tk att · v[tk, h]
          for (let e = 0; e < D; e++) {
            let acc = 0;
            for (let tk = 0; tk < T; tk++) acc += att[row + tk]! * v[(tk * H + h) * D + e]!;
            z[(tq * H + h) * D + e] = acc;
          }
        }
      }
      save(`${p}attn.hook_attn_scores`, [H, T, T], preatt, b);
      save(`${p}attn.hook_pattern`, [H, T, T], att, b);
      save(`${p}attn.hook_z`, [T, H, D], z, b);
      // W_O [H, D, C] is row-major [H·D, C]: one matmul over the concatenated heads.
      matmul(
        attnOut,
        C,
        0,
        z,
        T,
        H * D,
        W.get(`${p}attn.W_O`, [H, D, C]),
        0,
        C,
        W.optional(`${p}attn.b_O`, [C]),
        0,
      );
      save(`${p}hook_attn_out`, [T, C], attnOut, b);

      // MLP input: the block input (parallel residual, NeoX) or resid_mid (GPT-2).
      let mlpIn = residual;
      if (!cfg.parallelResidual) {
        for (let i = 0; i < T * C; i++) residMid[i] = residual[i]! + attnOut[i]!;
        save(`${p}hook_resid_mid`, [T, C], residMid, b);
        mlpIn = residMid;
      }
      layerNorm(
        ln2,
        ln2Scale,
        mlpIn,
        W.optional(`${p}ln2.w`, [C]),
        W.optional(`${p}ln2.b`, [C]),
        T,
        C,
        cfg.lnEps,
      );
      save(`${p}ln2.hook_scale`, [T, 1], ln2Scale, b);
      save(`${p}ln2.hook_normalized`, [T, C], ln2, b);
      matmul(
        fch,
        M,
        0,
        ln2,
        T,
        C,
        W.get(`${p}mlp.W_in`, [C, M]),
        0,
        M,
        W.optional(`${p}mlp.b_in`, [M]),
        0,
      );
      for (let i = 0; i < T * M; i++) fchGelu[i] = gelu(fch[i]!, cfg.act);
      save(`${p}mlp.hook_pre`, [T, M], fch, b);
      save(`${p}mlp.hook_post`, [T, M], fchGelu, b);
      matmul(
        mlpOut,
        C,
        0,
        fchGelu,
        T,
        M,
        W.get(`${p}mlp.W_out`, [M, C]),
        0,
        C,
        W.optional(`${p}mlp.b_out`, [C]),
        0,
      );
      save(`${p}hook_mlp_out`, [T, C], mlpOut, b);

      // resid_post = input + attn_out + mlp_out (both orders compute the same sum).
      for (let i = 0; i < T * C; i++) {
        residual[i] = cfg.parallelResidual
          ? residual[i]! + attnOut[i]! + mlpOut[i]!
          : residMid[i]! + mlpOut[i]!;
      }
      save(`${p}hook_resid_post`, [T, C], residual, b);
    }

    layerNorm(
      lnf,
      lnfScale,
      residual,
      W.optional("ln_final.w", [C]),
      W.optional("ln_final.b", [C]),
      T,
      C,
      cfg.lnEps,
    );
    save("ln_final.hook_scale", [T, 1], lnfScale, b);
    save("ln_final.hook_normalized", [T, C], lnf, b);
    if (keep.has("logits")) {
      // The LM head is the costliest matmul: only the requested positions.
      const WU = W.get("unembed.W_U", [C, V]);
      const bU = W.optional("unembed.b_U", [V]);
      const rows = new Float32Array(batch.nLogit * C);
      for (let j = 0; j < batch.nLogit; j++) {
        const t = batch.logitIndex[b * batch.nLogit + j]!;
        rows.set(lnf.subarray(t * C, (t + 1) * C), j * C);
      }
      matmul(logits, V, 0, rows, batch.nLogit, C, WU, 0, V, bU, 0);
      save("logits", [batch.nLogit, V], logits, b);
    }
  }
  return cache;
}
