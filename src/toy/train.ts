/**
 * Training loop: fresh batches each step, float32 parameters, AdamW, and alignment snapshots
 * (the curve of matched |cos| and σ's over training).
 * @module
 */
import type { ToyConfig } from "./config.ts";
import { importance, sampleBatch } from "./data.ts";
import { anisotropyOffset, initParams, lossAndGrad, type ToyParams, viewParams } from "./model.ts";
import { AdamW } from "./adamw.ts";
import { analyzeAlignment } from "./alignment.ts";
import { Rng } from "./_linalg.ts";

/** One point of the alignment-over-training curve. */
export interface TrainSnapshot {
  /** Steps taken. */
  step: number;
  /** Mean total loss over the steps since the previous snapshot (NaN at step 0). */
  loss: number;
  /** Mean reconstruction loss over the same steps. */
  recon: number;
  /** Mean attention loss over the same steps. */
  attn: number;
  /** σ_1..σ_K. */
  sigma: number[];
  /** Per pair ½(|cos(w_a,u)| + |cos(w_b,v)|) of its matched triplet. */
  pairCos: number[];
  /** Mean of pairCos. */
  meanMatchedCos: number;
  /** Mean principal-angle cosine, query side (attended query features vs top singular vectors). */
  subspaceQuery: number;
  /** Same on the key side. */
  subspaceKey: number;
}

/** A trained toy model. */
export interface TrainResult {
  /** The configuration used. */
  config: ToyConfig;
  /** Final parameters (float32). */
  params: ToyParams<Float32Array>;
  /** Anisotropy offset μ (null when α = 0). */
  mu: Float64Array | null;
  /** Alignment-over-training snapshots (step 0, every evalEvery steps, final). */
  snapshots: TrainSnapshot[];
  /** Wall time of the training loop in seconds (snapshots included). */
  seconds: number;
}

/** Callbacks for progress reporting. */
export interface TrainOptions {
  /** Called after every step. */
  onStep?: (step: number, loss: number) => void;
}

/** Trains the toy model described by `cfg` (deterministic given cfg.seed). */
export function train(cfg: ToyConfig, options: TrainOptions = {}): TrainResult {
  const t0 = performance.now();
  const initRng = new Rng(cfg.seed);
  const dataRng = new Rng(cfg.seed + 1);
  const params = initParams(cfg, initRng, new Float32Array(0));
  const mu = cfg.anisotropy > 0 ? anisotropyOffset(cfg.dModel, cfg.anisotropy, initRng) : null;
  const grad = viewParams(cfg, new Float32Array(params.flat.length));
  const opt = new AdamW(params.flat.length, cfg);
  const imp = importance(cfg.nFeatures, cfg.importanceDecay);
  const snapshots: TrainSnapshot[] = [];
  let sum = { loss: 0, recon: 0, attn: 0, n: 0 };
  const snap = (step: number) => {
    const al = analyzeAlignment(cfg, params);
    const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);
    snapshots.push({
      step,
      loss: sum.n ? sum.loss / sum.n : NaN,
      recon: sum.n ? sum.recon / sum.n : NaN,
      attn: sum.n ? sum.attn / sum.n : NaN,
      sigma: al.sigma,
      pairCos: al.matches.map((mt) => 0.5 * (mt.cosQuery + mt.cosKey)),
      meanMatchedCos: al.meanMatchedCos,
      subspaceQuery: mean(al.subspaceQuery),
      subspaceKey: mean(al.subspaceKey),
    });
    sum = { loss: 0, recon: 0, attn: 0, n: 0 };
  };
  snap(0);
  for (let step = 1; step <= cfg.steps; step++) {
    const batch = sampleBatch(cfg, dataRng);
    const l = lossAndGrad(cfg, params, batch, imp, mu, grad);
    if (!Number.isFinite(l.total)) {
      throw new RangeError(`toy training diverged at step ${step} (loss ${l.total}); lower --lr`);
    }
    opt.update(params.flat, grad.flat);
    sum.loss += l.total;
    sum.recon += l.recon;
    sum.attn += l.attn;
    sum.n++;
    options.onStep?.(step, l.total);
    if ((cfg.evalEvery > 0 && step % cfg.evalEvery === 0) || step === cfg.steps) snap(step);
  }
  return { config: cfg, params, mu, snapshots, seconds: (performance.now() - t0) / 1000 };
}
