/**
 * AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments,
 * ε added after the bias-corrected square root; amsgrad off).
 * @module
 */
import type { Floats } from "./_gemm.ts";

/** AdamW hyper-parameters (torch defaults except lr, which torch also defaults to 1e-3). */
export interface AdamWOptions {
  /** Learning rate. */
  lr: number;
  /** β1 (0.9). */
  beta1: number;
  /** β2 (0.999). */
  beta2: number;
  /** ε (1e-8). */
  eps: number;
  /** Decoupled weight decay (0.01). */
  weightDecay: number;
}

/** AdamW state over one flat parameter vector. */
export class AdamW {
  /** Hyper-parameters in use. */
  readonly options: AdamWOptions;
  /** Steps taken so far. */
  step = 0;
  readonly #m: Float64Array;
  readonly #v: Float64Array;

  /** State for `n` parameters. */
  constructor(n: number, options: AdamWOptions) {
    this.options = { ...options };
    this.#m = new Float64Array(n);
    this.#v = new Float64Array(n);
  }

  /** One update of `params` in place from `grad`. */
  update(params: Floats, grad: Floats): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.options;
    if (params.length !== this.#m.length || grad.length !== this.#m.length) {
      throw new RangeError(
        `AdamW: expected ${this.#m.length} parameters and gradients, got ${params.length}, ${grad.length}`,
      );
    }
    this.step++;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = Math.sqrt(1 - beta2 ** this.step);
    const stepSize = lr / bc1;
    const decay = 1 - lr * weightDecay;
    const m = this.#m, v = this.#v;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] = params[i]! * decay - stepSize * mi / (Math.sqrt(vi) / bc2 + eps);
    }
  }
}
