/**
 * The toy model (method.md §2.1, §2.3): token x = W f + μ, reconstruction f' = ReLU(Wᵀx + b),
 * one head with logits l_j = (W_Q x_q)·(W_K x_j) = x_qᵀ Ω x_j, Ω = W_Qᵀ W_K, and the loss
 * L = L_recon + λ·L_attn with a hand-written backward pass.
 *
 * The features are sparse, so the forward pass never forms W f densely: with G = WᵀW,
 * A = W_Q W, B = W_K W (small products done by the matmul kernel once per step) every token
 * costs O(nnz·(N + H)) instead of O(D·(N + H)). The code is generic over Float32Array
 * (training) and Float64Array (finite-difference checks).
 * @module
 */
import type { Rng } from "./_linalg.ts";
import type { ToyConfig } from "./config.ts";
import type { ToyBatch } from "./data.ts";
import { type Floats, gemm, zerosLike } from "./_gemm.ts";
import { kernelTokenPass } from "./_kernel.ts";

/** Parameter views into one flat vector (the optimizer's unit). */
export interface ToyParams<A extends Floats = Floats> {
  /** All parameters: W, b, W_Q, W_K in this order. */
  flat: A;
  /** W, D×N row-major (column i = feature i's direction). */
  W: A;
  /** b, N. */
  b: A;
  /** W_Q, H×D row-major. */
  WQ: A;
  /** W_K, H×D row-major. */
  WK: A;
}

/** Loss terms of one evaluation. */
export interface ToyLoss {
  /** L = recon + λ·attn. */
  total: number;
  /** Importance-weighted reconstruction loss (mean over reconstructed tokens). */
  recon: number;
  /** Attention loss (CE mean over queries, or MSE mean over query-key pairs). */
  attn: number;
}

/** Number of parameters. */
export function paramCount(cfg: ToyConfig): number {
  const { nFeatures: n, dModel: d, dHead: h } = cfg;
  return d * n + n + 2 * h * d;
}

/** Views of `flat` as {@linkcode ToyParams}. */
export function viewParams<A extends Floats>(cfg: ToyConfig, flat: A): ToyParams<A> {
  const { nFeatures: n, dModel: d, dHead: h } = cfg;
  if (flat.length !== paramCount(cfg)) {
    throw new RangeError(`toy params: expected ${paramCount(cfg)} values, got ${flat.length}`);
  }
  const W = flat.subarray(0, d * n) as A;
  const b = flat.subarray(d * n, d * n + n) as A;
  const WQ = flat.subarray(d * n + n, d * n + n + h * d) as A;
  const WK = flat.subarray(d * n + n + h * d) as A;
  return { flat, W, b, WQ, WK };
}

/** Xavier-normal init of W, W_Q, W_K (std = sqrt(2/(fan_in+fan_out))), b = 0. */
export function initParams<A extends Floats>(cfg: ToyConfig, rng: Rng, like: A): ToyParams<A> {
  const { nFeatures: n, dModel: d, dHead: h } = cfg;
  const p = viewParams(cfg, zerosLike(like, paramCount(cfg)));
  const fill = (a: Floats, std: number) => {
    for (let i = 0; i < a.length; i++) a[i] = std * rng.normal();
  };
  fill(p.W, Math.sqrt(2 / (n + d)));
  fill(p.WQ, Math.sqrt(2 / (h + d)));
  fill(p.WK, Math.sqrt(2 / (h + d)));
  return p;
}

/** The anisotropy offset μ = α·(uniformly random unit vector) in R^D. */
export function anisotropyOffset(d: number, alpha: number, rng: Rng): Float64Array {
  const mu = new Float64Array(d);
  let norm = 0;
  for (let i = 0; i < d; i++) {
    mu[i] = rng.normal();
    norm += mu[i]! ** 2;
  }
  for (let i = 0; i < d; i++) mu[i] = alpha * mu[i]! / Math.sqrt(norm);
  return mu;
}

/** Per-step derived products and token buffers, reused across steps. */
interface Workspace<A extends Floats> {
  G: A;
  At: A;
  Bt: A;
  dG: A;
  dAt: A;
  dBt: A;
  tmpDN: A;
  tmpHD: A;
  q: Float64Array;
  k: Float64Array;
  z: Float64Array;
}

const workspaces = new WeakMap<object, Workspace<Floats>>();

function workspace<A extends Floats>(cfg: ToyConfig, like: A, batch: ToyBatch): Workspace<A> {
  const { nFeatures: n, dModel: d, dHead: h } = cfg;
  const key = like.buffer;
  let ws = workspaces.get(key) as Workspace<A> | undefined;
  const nk = batch.batchSize * batch.keysPerQuery;
  if (!ws || ws.G.length !== n * n || ws.At.length !== n * h || ws.k.length < nk * h) {
    ws = {
      G: zerosLike(like, n * n),
      At: zerosLike(like, n * h),
      Bt: zerosLike(like, n * h),
      dG: zerosLike(like, n * n),
      dAt: zerosLike(like, n * h),
      dBt: zerosLike(like, n * h),
      tmpDN: zerosLike(like, d * n),
      tmpHD: zerosLike(like, h * d),
      q: new Float64Array(batch.batchSize * h),
      k: new Float64Array(nk * h),
      z: new Float64Array(n),
    };
    workspaces.set(key, ws as Workspace<Floats>);
  }
  if (ws.q.length < batch.batchSize * h) ws.q = new Float64Array(batch.batchSize * h);
  return ws;
}

/**
 * Evaluates the loss on `batch` and, if `grad` is given, writes dL/dparams into it
 * (overwriting). `mu` is the anisotropy offset (null for none), `imp` the importance weights.
 */
export function lossAndGrad<A extends Floats>(
  cfg: ToyConfig,
  params: ToyParams<A>,
  batch: ToyBatch,
  imp: Float64Array,
  mu: Float64Array | null,
  grad?: ToyParams<A>,
  options: { kernel?: boolean } = {},
): ToyLoss {
  const { nFeatures: n, dModel: d, dHead: h } = cfg;
  const { W, b, WQ, WK } = params;
  const B = batch.batchSize;
  const m = batch.keysPerQuery;
  const { ptr, idx, val } = batch.features;
  const ws = workspace(cfg, params.flat, batch);
  const { G, At, Bt, dG, dAt, dBt, q, k, z } = ws;

  // Small dense products, once per step: G = WᵀW (N×N), At = (W_Q W)ᵀ, Bt = (W_K W)ᵀ (N×H).
  gemm(W, W, n, d, n, G, true, false);
  gemm(W, WQ, n, d, h, At, true, true);
  gemm(W, WK, n, d, h, Bt, true, true);
  // Offsets from μ: c = Wᵀμ (N), aq = W_Q μ, ak = W_K μ (H).
  const c = new Float64Array(n), aq = new Float64Array(h), ak = new Float64Array(h);
  if (mu) {
    for (let dd = 0; dd < d; dd++) {
      const md = mu[dd]!;
      if (md === 0) continue;
      for (let i = 0; i < n; i++) c[i]! += W[dd * n + i]! * md;
      for (let hh = 0; hh < h; hh++) {
        aq[hh]! += WQ[hh * d + dd]! * md;
        ak[hh]! += WK[hh * d + dd]! * md;
      }
    }
  }
  if (grad) {
    dG.fill(0);
    dAt.fill(0);
    dBt.fill(0);
    grad.flat.fill(0);
  }
  const dc = new Float64Array(n), daq = new Float64Array(h), dak = new Float64Array(h);
  const dz = new Float64Array(n), act = new Int32Array(n);
  const attnScale = cfg.attnLoss === "ce" ? B : B * m;

  if (params.flat instanceof Float32Array && options.kernel !== false) {
    // float32 training: the per-token loops run in WebAssembly (same math as below).
    const cb = new Float64Array(n);
    for (let i = 0; i < n; i++) cb[i] = c[i]! + b[i]!;
    const out = kernelTokenPass({
      n,
      h,
      batch,
      nRecon: cfg.reconTokens === "all" ? batch.features.tokens : B,
      G: G as Float32Array,
      At: At as Float32Array,
      Bt: Bt as Float32Array,
      cb,
      aq,
      ak,
      imp,
      grad: grad !== undefined,
      attnLoss: (logits, dl) => {
        let sum = 0;
        for (let bb = 0; bb < B; bb++) {
          sum += attnRow(cfg, logits, batch.targetLogits, bb * m, m, B, dl);
        }
        return sum;
      },
    });
    const recon = out.recon / (cfg.reconTokens === "all" ? batch.features.tokens : B);
    const attn = out.attn / attnScale;
    if (grad) {
      dG.set(out.dG);
      dAt.set(out.dAt);
      dBt.set(out.dBt);
      grad.b.set(out.dc);
      dc.set(out.dc);
      daq.set(out.daq);
      dak.set(out.dak);
      backToWeights(cfg, params, grad, ws, mu, dc, daq, dak);
    }
    return { total: recon + cfg.lambda * attn, recon, attn };
  }

  // Reconstruction: z = G f + c + b, f' = ReLU(z), L = mean_t Σ_i I_i (f'_i − f_i)².
  const nRecon = cfg.reconTokens === "all" ? batch.features.tokens : B;
  const scaleR = 1 / nRecon;
  let recon = 0;
  const cb = new Float64Array(n);
  for (let i = 0; i < n; i++) cb[i] = c[i]! + b[i]!;
  for (let t = 0; t < nRecon; t++) {
    z.set(cb);
    const s = ptr[t]!, e = ptr[t + 1]!;
    for (let q0 = s; q0 < e; q0++) {
      const fi = val[q0]!, row = idx[q0]! * n;
      for (let i = 0; i < n; i++) z[i]! += fi * G[row + i]!;
    }
    // f as dense values only where nonzero: walk the sorted nonzeros alongside i. Only the
    // active ReLUs (z > 0) carry gradient; collect them so the backward loops skip the rest.
    let q0 = s, na = 0;
    for (let i = 0; i < n; i++) {
      let f = 0;
      if (q0 < e && idx[q0] === i) f = val[q0++]!;
      const zi = z[i]!;
      if (zi > 0) {
        const diff = zi - f;
        recon += imp[i]! * diff * diff;
        dz[na] = 2 * imp[i]! * diff * scaleR;
        act[na++] = i;
      } else recon += imp[i]! * f * f;
    }
    if (grad) {
      for (let a = 0; a < na; a++) {
        dc[act[a]!]! += dz[a]!;
        grad.b[act[a]!]! += dz[a]!;
      }
      for (let q1 = s; q1 < e; q1++) {
        const fi = val[q1]!, row = idx[q1]! * n;
        for (let a = 0; a < na; a++) dG[row + act[a]!]! += fi * dz[a]!;
      }
    }
  }
  recon *= scaleR;

  // Head: q_b = A f_b + aq, k_bj = B f_bj + ak, l_bj = q_b·k_bj.
  const project = (t: number, M: A, off: Float64Array, out: Float64Array, o: number) => {
    for (let hh = 0; hh < h; hh++) out[o + hh] = off[hh]!;
    for (let q0 = ptr[t]!; q0 < ptr[t + 1]!; q0++) {
      const fi = val[q0]!, row = idx[q0]! * h;
      for (let hh = 0; hh < h; hh++) out[o + hh]! += fi * M[row + hh]!;
    }
  };
  for (let bb = 0; bb < B; bb++) project(bb, At, aq, q, bb * h);
  for (let r = 0; r < B * m; r++) project(B + r, Bt, ak, k, r * h);

  let attn = 0;
  const logits = new Float64Array(m), dl = new Float64Array(m);
  const dq = new Float64Array(h);
  const tl = batch.targetLogits;
  for (let bb = 0; bb < B; bb++) {
    const qo = bb * h;
    for (let j = 0; j < m; j++) {
      const ko = (bb * m + j) * h;
      let acc = 0;
      for (let hh = 0; hh < h; hh++) acc += q[qo + hh]! * k[ko + hh]!;
      logits[j] = acc;
    }
    attn += attnRow(cfg, logits, tl.subarray(bb * m, (bb + 1) * m), 0, m, B, dl);
    if (!grad) continue;
    dq.fill(0);
    for (let j = 0; j < m; j++) {
      const ko = (bb * m + j) * h, g = dl[j]!;
      for (let hh = 0; hh < h; hh++) dq[hh]! += g * k[ko + hh]!;
      // dk_bj = dl_j q_b, scattered to dBt through the key's nonzeros.
      const t = B + bb * m + j;
      for (let hh = 0; hh < h; hh++) dak[hh]! += g * q[qo + hh]!;
      for (let q0 = ptr[t]!; q0 < ptr[t + 1]!; q0++) {
        const fg = val[q0]! * g, row = idx[q0]! * h;
        for (let hh = 0; hh < h; hh++) dBt[row + hh]! += fg * q[qo + hh]!;
      }
    }
    for (let hh = 0; hh < h; hh++) daq[hh]! += dq[hh]!;
    for (let q0 = ptr[bb]!; q0 < ptr[bb + 1]!; q0++) {
      const fi = val[q0]!, row = idx[q0]! * h;
      for (let hh = 0; hh < h; hh++) dAt[row + hh]! += fi * dq[hh]!;
    }
  }
  attn /= attnScale;

  if (grad) backToWeights(cfg, params, grad, ws, mu, dc, daq, dak);
  return { total: recon + cfg.lambda * attn, recon, attn };
}

/**
 * Attention loss of one query's m keys (logits and targets at offset `o`), and dL/dlogit into
 * `dl` (same offset): CE(p_target, p_head) = −Σ p_t log p_h with d/dl = λ(p_h − p_t)/B, or the
 * squared error with d/dl = 2λ(l − t)/(B·m). Returns the unnormalised loss of this row.
 */
function attnRow(
  cfg: ToyConfig,
  logits: Floats,
  tl: Float64Array,
  o: number,
  m: number,
  B: number,
  dl: Floats,
): number {
  let loss = 0;
  if (cfg.attnLoss === "ce") {
    let mx = -Infinity, mt = -Infinity;
    for (let j = 0; j < m; j++) {
      mx = Math.max(mx, logits[o + j]!);
      mt = Math.max(mt, tl[o + j]!);
    }
    let zs = 0, zt = 0;
    for (let j = 0; j < m; j++) {
      zs += Math.exp(logits[o + j]! - mx);
      zt += Math.exp(tl[o + j]! - mt);
    }
    const lz = Math.log(zs) + mx;
    for (let j = 0; j < m; j++) {
      const pt = Math.exp(tl[o + j]! - mt) / zt;
      const ph = Math.exp(logits[o + j]! - lz);
      loss -= pt * (logits[o + j]! - lz);
      dl[o + j] = cfg.lambda * (ph - pt) / B;
    }
  } else {
    for (let j = 0; j < m; j++) {
      const r = logits[o + j]! - tl[o + j]!;
      loss += r * r;
      dl[o + j] = cfg.lambda * 2 * r / (B * m);
    }
  }
  return loss;
}

/** Chain rule from the per-step products (G, At, Bt, c, aq, ak) back to W, W_Q, W_K. */
function backToWeights<A extends Floats>(
  cfg: ToyConfig,
  params: ToyParams<A>,
  grad: ToyParams<A>,
  ws: Workspace<A>,
  mu: Float64Array | null,
  dc: Float64Array,
  daq: Float64Array,
  dak: Float64Array,
): void {
  const { nFeatures: n, dModel: d, dHead: h } = cfg;
  const { W, WQ, WK } = params;
  const { dG, dAt, dBt, tmpDN, tmpHD } = ws;
  // G = WᵀW with dG accumulated as dL/dG[i][j] (z_j = Σ_i f_i G_ij): dW = W (dG + dGᵀ).
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const s = dG[i * n + j]! + dG[j * n + i]!;
      dG[i * n + j] = s;
      dG[j * n + i] = s;
    }
  }
  gemm(W, dG, d, n, n, tmpDN);
  addInto(grad.W, tmpDN);
  // At = Wᵀ W_Qᵀ: dW += W_Qᵀ dAtᵀ, dW_Q += dAtᵀ Wᵀ (same for K).
  gemm(WQ, dAt, d, h, n, tmpDN, true, true);
  addInto(grad.W, tmpDN);
  gemm(WK, dBt, d, h, n, tmpDN, true, true);
  addInto(grad.W, tmpDN);
  gemm(dAt, W, h, n, d, tmpHD, true, true);
  addInto(grad.WQ, tmpHD);
  gemm(dBt, W, h, n, d, tmpHD, true, true);
  addInto(grad.WK, tmpHD);
  if (mu) {
    // c = Wᵀμ, aq = W_Q μ, ak = W_K μ.
    for (let dd = 0; dd < d; dd++) {
      const md = mu[dd]!;
      for (let i = 0; i < n; i++) grad.W[dd * n + i]! += md * dc[i]!;
      for (let hh = 0; hh < h; hh++) {
        grad.WQ[hh * d + dd]! += daq[hh]! * md;
        grad.WK[hh * d + dd]! += dak[hh]! * md;
      }
    }
  }
}

function addInto(dst: Floats, src: Floats): void {
  for (let i = 0; i < dst.length; i++) dst[i]! += src[i]!;
}

/** Ω = W_Qᵀ W_K (D×D, row-major) in float64. */
export function omega(cfg: ToyConfig, params: ToyParams): Float64Array {
  const { dModel: d, dHead: h } = cfg;
  const out = new Float64Array(d * d);
  for (let hh = 0; hh < h; hh++) {
    for (let i = 0; i < d; i++) {
      const qi = params.WQ[hh * d + i]!;
      for (let j = 0; j < d; j++) out[i * d + j]! += qi * params.WK[hh * d + j]!;
    }
  }
  return out;
}
