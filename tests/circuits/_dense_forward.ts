/**
 * Test oracle: a tiny, obviously-correct float64 forward pass over TL-layout weights (explicit
 * loops, llm.c style). Reads LayerNorm with affine weights when present and LNPre when they were
 * folded; GPT-NeoX rotary ("rotate half" on the first rotaryDim dims) and parallel residual.
 * Only for checking that weight processing preserves attention scores and log-probabilities.
 * @module
 */
import type { Model } from "../../src/model/types.ts";

/** Per-layer attention scores [head][query][key] (scaled by 1/sqrt(d_head), causal part only). */
export type Scores = number[][][];

function w(model: Model, name: string): Float32Array | undefined {
  return model.weights.get(name)?.data;
}

function req(model: Model, name: string): Float32Array {
  const t = w(model, name);
  if (t === undefined) throw new Error(`missing ${name}`);
  return t;
}

/** LayerNorm (affine if weights present, else LNPre) of one row. */
export function layerNorm(
  x: Float64Array,
  gamma: Float32Array | undefined,
  beta: Float32Array | undefined,
  eps: number,
): Float64Array {
  const d = x.length;
  let mean = 0;
  for (let i = 0; i < d; i++) mean += x[i]!;
  mean /= d;
  let v = 0;
  for (let i = 0; i < d; i++) v += (x[i]! - mean) ** 2;
  const scale = Math.sqrt(v / d + eps);
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    out[i] = (x[i]! - mean) / scale * (gamma ? gamma[i]! : 1) + (beta ? beta[i]! : 0);
  }
  return out;
}

/** Applies GPT-NeoX rotary (rotate half over the first `rot` dims) to a head vector at `pos`. */
export function rotate(q: Float64Array, pos: number, rot: number, base: number): Float64Array {
  const out = q.slice();
  const half = rot / 2;
  for (let i = 0; i < half; i++) {
    const theta = pos * Math.pow(base, (-2 * i) / rot);
    const c = Math.cos(theta), s = Math.sin(theta);
    out[i] = q[i]! * c - q[i + half]! * s;
    out[i + half] = q[i + half]! * c + q[i]! * s;
  }
  return out;
}

/** q, k or v rows of one head: (x_t · W[h] + b[h]) for every position. */
function project(
  xs: Float64Array[],
  weight: Float32Array,
  bias: Float32Array,
  h: number,
  d: number,
  dh: number,
): Float64Array[] {
  return xs.map((x) => {
    const out = new Float64Array(dh);
    for (let j = 0; j < dh; j++) {
      let s = bias[h * dh + j]!;
      for (let i = 0; i < d; i++) s += x[i]! * weight[(h * d + i) * dh + j]!;
      out[j] = s;
    }
    return out;
  });
}

/**
 * Attention of layer `l` on normalised inputs `xs` (rows already through ln1 or LNPre): returns
 * the scaled scores and the attention output (Σ_h z_h W_O,h + b_O) per position.
 */
export function attention(
  model: Model,
  l: number,
  xs: Float64Array[],
): { scores: number[][][]; out: Float64Array[] } {
  const { nHeads, dModel: d, dHead: dh, rotaryDim, rotaryBase } = model.config;
  const T = xs.length;
  const p = `blocks.${l}.attn.`;
  const wo = req(model, p + "W_O");
  const out = xs.map(() => Float64Array.from(req(model, p + "b_O")));
  const scores: number[][][] = [];
  for (let h = 0; h < nHeads; h++) {
    let q = project(xs, req(model, p + "W_Q"), req(model, p + "b_Q"), h, d, dh);
    let k = project(xs, req(model, p + "W_K"), req(model, p + "b_K"), h, d, dh);
    const v = project(xs, req(model, p + "W_V"), req(model, p + "b_V"), h, d, dh);
    if (rotaryDim > 0) {
      q = q.map((x, t) => rotate(x, t, rotaryDim, rotaryBase));
      k = k.map((x, t) => rotate(x, t, rotaryDim, rotaryBase));
    }
    const sh: number[][] = [];
    for (let t = 0; t < T; t++) {
      const row: number[] = [];
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        for (let j = 0; j < dh; j++) dot += q[t]![j]! * k[s]![j]!;
        row.push(dot / Math.sqrt(dh));
      }
      sh.push(row);
      const m = Math.max(...row);
      const e = row.map((x) => Math.exp(x - m));
      const z = e.reduce((a, b) => a + b, 0);
      const zv = new Float64Array(dh);
      for (let s = 0; s <= t; s++) {
        for (let j = 0; j < dh; j++) zv[j]! += (e[s]! / z) * v[s]![j]!;
      }
      for (let j = 0; j < dh; j++) {
        for (let c = 0; c < d; c++) out[t]![c]! += zv[j]! * wo[(h * dh + j) * d + c]!;
      }
    }
    scores.push(sh);
  }
  return { scores, out };
}

function erf(x: number): number {
  // Taylor series below 3 (cancellation error < 1e-12 there); above, the continued fraction
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated bottom-up.
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = ax, term = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = ax;
  for (let n = 80; n >= 1; n--) f = ax + (n / 2) / f;
  return Math.sign(x) * (1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f);
}

function act(model: Model, x: number): number {
  if (model.config.act === "gelu") return 0.5 * x * (1 + erf(x / Math.SQRT2));
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

function mlp(model: Model, l: number, x: Float64Array): Float64Array {
  const { dModel: d, dMlp: m } = model.config;
  const p = `blocks.${l}.mlp.`;
  const win = req(model, p + "W_in"), bin = req(model, p + "b_in");
  const wout = req(model, p + "W_out"), bout = req(model, p + "b_out");
  const out = Float64Array.from(bout);
  for (let j = 0; j < m; j++) {
    let s = bin[j]!;
    for (let i = 0; i < d; i++) s += x[i]! * win[i * m + j]!;
    const a = act(model, s);
    for (let c = 0; c < d; c++) out[c]! += a * wout[j * d + c]!;
  }
  return out;
}

/** Full forward on `tokens`: per-layer scores and log-probabilities [position][vocab]. */
export function forward(
  model: Model,
  tokens: number[],
): { scores: Scores[]; logProbs: number[][] } {
  const { dModel: d, dVocab: V, nLayers, lnEps } = model.config;
  const we = req(model, "embed.W_E");
  const wpos = w(model, "pos_embed.W_pos");
  let resid = tokens.map((tok, t) => {
    const x = new Float64Array(d);
    for (let i = 0; i < d; i++) x[i] = we[tok * d + i]! + (wpos ? wpos[t * d + i]! : 0);
    return x;
  });
  const scores: Scores[] = [];
  for (let l = 0; l < nLayers; l++) {
    const ln1 = resid.map((x) =>
      layerNorm(x, w(model, `blocks.${l}.ln1.w`), w(model, `blocks.${l}.ln1.b`), lnEps)
    );
    const a = attention(model, l, ln1);
    scores.push(a.scores);
    const mid = resid.map((x, t) => x.map((v, i) => v + a.out[t]![i]!));
    const mlpIn = model.config.parallelResidual ? resid : mid;
    resid = mid.map((x, t) => {
      const y = layerNorm(
        mlpIn[t]!,
        w(model, `blocks.${l}.ln2.w`),
        w(model, `blocks.${l}.ln2.b`),
        lnEps,
      );
      const o = mlp(model, l, y);
      return x.map((v, i) => v + o[i]!);
    });
  }
  const wu = req(model, "unembed.W_U");
  const bu = w(model, "unembed.b_U");
  const logProbs = resid.map((x) => {
    const y = layerNorm(x, w(model, "ln_final.w"), w(model, "ln_final.b"), lnEps);
    const logits: number[] = [];
    for (let v = 0; v < V; v++) {
      let s = bu ? bu[v]! : 0;
      for (let i = 0; i < d; i++) s += y[i]! * wu[i * V + v]!;
      logits.push(s);
    }
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((a, b) => a + Math.exp(b - m), 0));
    return logits.map((z) => z - lse);
  });
  return { scores, logProbs };
}
