/**
 * Shape-checked access to TL-layout weights, shared by the reference forward and the graph
 * builder, so both refuse the same malformed models with the same messages.
 * @module
 */
import { ModelFormatError, UnsupportedArchitectureError } from "../errors.ts";
import type { Model, ModelConfig, Weights } from "../model/types.ts";

/** Throws unless the architecture and hyper-parameters are ones the forward passes implement. */
export function checkConfig(config: ModelConfig): void {
  if (config.architecture !== "gpt2" && config.architecture !== "gpt_neox") {
    throw new UnsupportedArchitectureError(
      `architecture '${config.architecture}' has no forward pass in svlens; supported: gpt2, gpt_neox`,
    );
  }
  if (config.dHead * config.nHeads !== config.dModel && config.architecture === "gpt_neox") {
    throw new ModelFormatError(
      `gpt_neox needs d_head·n_heads = d_model, got ${config.dHead}·${config.nHeads} ≠ ${config.dModel}`,
    );
  }
  if (config.rotaryDim % 2 !== 0 || config.rotaryDim > config.dHead) {
    throw new ModelFormatError(
      `rotary_dim ${config.rotaryDim} must be even and at most d_head ${config.dHead}`,
    );
  }
  if (config.architecture === "gpt2" && config.rotaryDim !== 0) {
    throw new UnsupportedArchitectureError(
      "gpt2 with rotary embeddings is not a model svlens knows",
    );
  }
}

/** Reads weights by TL name, checking shapes; optional ones (biases, LN affine) may be absent. */
export class WeightReader {
  readonly #weights: Weights;
  /** Wraps a model's weights. */
  constructor(model: Model) {
    checkConfig(model.config);
    this.#weights = model.weights;
  }

  /** The data of `name`, which must exist with exactly `shape`. */
  get(name: string, shape: readonly number[]): Float32Array {
    const t = this.#weights.get(name);
    if (t === undefined) {
      throw new ModelFormatError(
        `weight '${name}' is missing; the model's weights must use TransformerLens names`,
      );
    }
    return this.#check(name, t.shape, shape, t.data);
  }

  /** The data of `name` with `shape`, or `undefined` when absent (a zero bias, a folded LN). */
  optional(name: string, shape: readonly number[]): Float32Array | undefined {
    const t = this.#weights.get(name);
    return t === undefined ? undefined : this.#check(name, t.shape, shape, t.data);
  }

  #check(
    name: string,
    actual: readonly number[],
    shape: readonly number[],
    data: Float32Array,
  ): Float32Array {
    const n = shape.reduce((a, b) => a * b, 1);
    if (
      actual.length !== shape.length || actual.some((d, i) => d !== shape[i]) || data.length !== n
    ) {
      throw new ModelFormatError(
        `weight '${name}' has shape [${
          actual.join(", ")
        }] (${data.length} values) but the config ` +
          `implies [${shape.join(", ")}]`,
      );
    }
    return data;
  }
}
