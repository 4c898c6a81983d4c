/**
 * The float32 training step's sparse per-token loops in WebAssembly (wasm/toy.wasm, built from
 * wasm/toy/toy.c by wasm/toy/build_toy.sh; import-free, loaded as a Wasm ES module, so it needs
 * no permissions). Softmax/CE stays in TypeScript (the module has no libm).
 * @module
 */
import {
  __heap_base as heapBase,
  memory,
  toy_logits as wasmLogits,
  toy_logits_back as wasmLogitsBack,
  toy_project as wasmProject,
  toy_recon as wasmRecon,
  toy_scatter as wasmScatter,
} from "../../wasm/toy.wasm";
import type { ToyBatch } from "./data.ts";

/** Inputs of one token pass (per-step products already formed). */
export interface KernelInputs {
  n: number;
  h: number;
  batch: ToyBatch;
  nRecon: number;
  G: Float32Array;
  At: Float32Array;
  Bt: Float32Array;
  cb: Float64Array;
  aq: Float64Array;
  ak: Float64Array;
  imp: Float64Array;
  /** Whether to compute gradients. */
  grad: boolean;
  /** Computes the loss sum over queries and fills dl (B·m) from logits (B·m). */
  attnLoss: (logits: Float32Array, dl: Float32Array) => number;
}

/** Outputs: loss sums and gradients w.r.t. the per-step products. */
export interface KernelOutputs {
  recon: number;
  attn: number;
  dG: Float32Array;
  dAt: Float32Array;
  dBt: Float32Array;
  dc: Float32Array;
  daq: Float32Array;
  dak: Float32Array;
}

const BASE = Math.ceil(heapBase / 16) * 16;

/** Runs the token loops in WebAssembly. */
export function kernelTokenPass(x: KernelInputs): KernelOutputs {
  const { n, h, batch } = x;
  const B = batch.batchSize, m = batch.keysPerQuery;
  const f = batch.features;
  const nnz = f.idx.length;
  let off = BASE;
  const take = (count: number) => {
    const at = off;
    off += Math.ceil((count * 4) / 16) * 16;
    return at;
  };
  const p = {
    ptr: take(f.tokens + 1),
    idx: take(nnz),
    val: take(nnz),
    G: take(n * n),
    At: take(n * h),
    Bt: take(n * h),
    cb: take(n),
    imp: take(n),
    aq: take(h),
    ak: take(h),
    dG: take(n * n),
    dAt: take(n * h),
    dBt: take(n * h),
    dc: take(n),
    daq: take(h),
    dak: take(h),
    z: take(n),
    dz: take(n),
    q: take(B * h),
    k: take(B * m * h),
    logits: take(B * m),
    dl: take(B * m),
    dq: take(B * h),
    dk: take(B * m * h),
  };
  const mem = memory;
  if (off > mem.buffer.byteLength) mem.grow(Math.ceil((off - mem.buffer.byteLength) / 65536));
  const buf = mem.buffer;
  const f32 = (at: number, len: number) => new Float32Array(buf, at, len);
  new Int32Array(buf, p.ptr, f.tokens + 1).set(f.ptr);
  new Int32Array(buf, p.idx, nnz).set(f.idx);
  f32(p.val, nnz).set(f.val);
  f32(p.G, n * n).set(x.G);
  f32(p.At, n * h).set(x.At);
  f32(p.Bt, n * h).set(x.Bt);
  f32(p.cb, n).set(x.cb);
  f32(p.imp, n).set(x.imp);
  f32(p.aq, h).set(x.aq);
  f32(p.ak, h).set(x.ak);
  for (
    const [at, len] of [[p.dG, n * n], [p.dAt, n * h], [p.dBt, n * h], [p.dc, n], [p.daq, h], [
      p.dak,
      h,
    ]] as const
  ) f32(at, len).fill(0);
  const g = x.grad ? 1 : 0;
  const recon = wasmRecon(
    x.nRecon,
    p.ptr,
    p.idx,
    p.val,
    n,
    p.G,
    p.cb,
    p.imp,
    1 / x.nRecon,
    p.dG,
    p.dc,
    p.z,
    p.dz,
    g,
  );
  const project = wasmProject;
  project(0, B, p.ptr, p.idx, p.val, h, p.At, p.aq, p.q);
  project(B, B * m, p.ptr, p.idx, p.val, h, p.Bt, p.ak, p.k);
  wasmLogits(B, m, h, p.q, p.k, p.logits);
  const attn = x.attnLoss(f32(p.logits, B * m), f32(p.dl, B * m));
  if (x.grad) {
    wasmLogitsBack(B, m, h, p.q, p.k, p.dl, p.dq, p.dk);
    const scatter = wasmScatter;
    scatter(0, B, p.ptr, p.idx, p.val, h, p.dq, p.dAt, p.daq);
    scatter(B, B * m, p.ptr, p.idx, p.val, h, p.dk, p.dBt, p.dak);
  }
  return {
    recon,
    attn,
    dG: f32(p.dG, n * n),
    dAt: f32(p.dAt, n * h),
    dBt: f32(p.dBt, n * h),
    dc: f32(p.dc, n),
    daq: f32(p.daq, h),
    dak: f32(p.dak, h),
  };
}
