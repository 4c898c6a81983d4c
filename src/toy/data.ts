/**
 * Toy data (method.md §2.2–2.3): sparse features per token, one query and m keys per sample,
 * the template's target logits, and the importance weights.
 * @module
 */
import type { Rng } from "./_linalg.ts";
import type { ToyConfig } from "./config.ts";

/**
 * Sparse feature vectors of many tokens in CSR form: token t has the nonzero features
 * `idx[ptr[t]..ptr[t+1])` (ascending) with values `val[...]`.
 */
export interface SparseFeatures {
  /** Number of tokens. */
  tokens: number;
  /** Row pointers, length tokens + 1. */
  ptr: Int32Array;
  /** Feature indices of the nonzeros. */
  idx: Int32Array;
  /** Values of the nonzeros (in (0, 1)). */
  val: Float64Array;
}

/**
 * One batch: tokens 0..B−1 are the queries, token B + b·m + j is key j of query b.
 * `targetLogits[b·m + j]` = f_qᵀ T f_k (already scaled by targetScale).
 */
export interface ToyBatch {
  /** B. */
  batchSize: number;
  /** m. */
  keysPerQuery: number;
  /** Features of all B·(1+m) tokens. */
  features: SparseFeatures;
  /** Target logits, B·m. */
  targetLogits: Float64Array;
}

const INV32 = 1 / 4294967296;

/** Importance weights I_i = decay^i. */
export function importance(n: number, decay: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = decay ** i;
  return out;
}

/**
 * Draws a fresh batch. Nonzero positions are drawn by geometric skipping (one uniform per
 * nonzero instead of one per feature), which has exactly the Bernoulli(p) distribution.
 */
export function sampleBatch(cfg: ToyConfig, rng: Rng, batchSize = cfg.batchSize): ToyBatch {
  const n = cfg.nFeatures;
  const m = cfg.keysPerQuery;
  const tokens = batchSize * (1 + m);
  const p = cfg.featureProb;
  const ptr = new Int32Array(tokens + 1);
  let cap = Math.max(16, Math.ceil(tokens * n * p * 1.3) + 64);
  let idx: Int32Array = new Int32Array(cap);
  let val: Float64Array = new Float64Array(cap);
  let nnz = 0;
  const logq = p < 1 ? Math.log1p(-p) : -Infinity;
  for (let t = 0; t < tokens; t++) {
    ptr[t] = nnz;
    const b = t >= batchSize ? Math.floor((t - batchSize) / m) : -1;
    if (cfg.queryIsKey && b >= 0 && (t - batchSize) % m === 0) {
      // Key 0 is the query itself: copy its features.
      const s = ptr[b]!, e = ptr[b + 1]!;
      if (nnz + (e - s) > cap) ({ idx, val, cap } = grow(idx, val, nnz + (e - s)));
      for (let q = s; q < e; q++) {
        idx[nnz] = idx[q]!;
        val[nnz++] = val[q]!;
      }
      continue;
    }
    let i = -1;
    for (;;) {
      // Number of zeros before the next nonzero ~ Geometric(p).
      // 32-bit uniforms (u ∈ (0, 1] for the log) are plenty for features and halve the cost.
      const skip = p >= 1 ? 0 : Math.floor(Math.log((rng.nextUint32() + 1) * INV32) / logq);
      i += skip + 1;
      if (i >= n) break;
      if (nnz >= cap) ({ idx, val, cap } = grow(idx, val, nnz + 1));
      idx[nnz] = i;
      val[nnz++] = rng.nextUint32() * INV32;
    }
  }
  ptr[tokens] = nnz;
  const features = { tokens, ptr, idx: idx.subarray(0, nnz), val: val.subarray(0, nnz) };
  return {
    batchSize,
    keysPerQuery: m,
    features,
    targetLogits: targetLogits(cfg, features, batchSize),
  };
}

function grow(
  idx: Int32Array,
  val: Float64Array,
  need: number,
): { idx: Int32Array; val: Float64Array; cap: number } {
  const cap = Math.max(need, idx.length * 2);
  const i2 = new Int32Array(cap);
  i2.set(idx);
  const v2 = new Float64Array(cap);
  v2.set(val);
  return { idx: i2, val: v2, cap };
}

/** f_qᵀ T f_k for every (query, key) of a batch laid out as in {@linkcode ToyBatch}. */
export function targetLogits(
  cfg: ToyConfig,
  features: SparseFeatures,
  batchSize: number,
): Float64Array {
  const n = cfg.nFeatures;
  const m = cfg.keysPerQuery;
  // CSR over key features: entries keyStart[c]..keyStart[c+1] hold (a, T_ac) so a key's
  // nonzeros look up the query features they pair with.
  const keyStart = new Int32Array(n + 1);
  for (const pr of cfg.pairs) keyStart[pr.key + 1]!++;
  for (let c = 0; c < n; c++) keyStart[c + 1]! += keyStart[c]!;
  const keyA = new Int32Array(cfg.pairs.length), keyW = new Float64Array(cfg.pairs.length);
  const fill = keyStart.slice(0, n);
  for (const pr of cfg.pairs) {
    const at = fill[pr.key]!++;
    keyA[at] = pr.query;
    keyW[at] = pr.weight * cfg.targetScale;
  }
  const dense = new Float64Array(n);
  const out = new Float64Array(batchSize * m);
  const { ptr, idx, val } = features;
  for (let b = 0; b < batchSize; b++) {
    for (let q = ptr[b]!; q < ptr[b + 1]!; q++) dense[idx[q]!] = val[q]!;
    for (let j = 0; j < m; j++) {
      const t = batchSize + b * m + j;
      let acc = 0;
      for (let q = ptr[t]!; q < ptr[t + 1]!; q++) {
        const c = idx[q]!;
        for (let e = keyStart[c]!; e < keyStart[c + 1]!; e++) {
          acc += keyW[e]! * dense[keyA[e]!]! * val[q]!;
        }
      }
      out[b * m + j] = acc;
    }
    for (let q = ptr[b]!; q < ptr[b + 1]!; q++) dense[idx[q]!] = 0;
  }
  return out;
}

/** Dense copy (tokens × N, row-major) of sparse features, for tests and small analyses. */
export function densify(f: SparseFeatures, n: number): Float64Array {
  const out = new Float64Array(f.tokens * n);
  for (let t = 0; t < f.tokens; t++) {
    for (let q = f.ptr[t]!; q < f.ptr[t + 1]!; q++) out[t * n + f.idx[q]!] = f.val[q]!;
  }
  return out;
}
