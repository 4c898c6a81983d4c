/**
 * The in-memory model every layer above `model/` works with: a normalised config and weights in
 * TransformerLens's layout and names (`blocks.0.attn.W_Q` [n_heads, d_model, d_head], ...),
 * whatever file format or architecture they came from.
 * @module
 */

/** The architectures svlens supports (Hugging Face `model_type`). */
export type Architecture = "gpt2" | "gpt_neox";

/** A model's hyper-parameters, normalised from `config.json` (TransformerLens's names). */
export interface ModelConfig {
  /** `gpt2` (GPT-2) or `gpt_neox` (Pythia). */
  architecture: Architecture;
  /** Number of transformer blocks. */
  nLayers: number;
  /** Attention heads per block. */
  nHeads: number;
  /** Residual stream width. */
  dModel: number;
  /** Width of one head (`dModel / nHeads`). */
  dHead: number;
  /** MLP hidden width. */
  dMlp: number;
  /** Vocabulary size (rows of `embed.W_E`). */
  dVocab: number;
  /** Context window (maximum positions). */
  nCtx: number;
  /** LayerNorm epsilon. */
  lnEps: number;
  /** MLP activation: `gelu_new` (tanh approximation, GPT-2) or `gelu` (exact erf, Pythia). */
  act: "gelu_new" | "gelu";
  /** Number of rotary dimensions per head (0 for learned absolute positions, GPT-2). */
  rotaryDim: number;
  /** Rotary base (10000 for Pythia); unused when `rotaryDim` is 0. */
  rotaryBase: number;
  /** Attention and MLP both read the block input (GPT-NeoX `use_parallel_residual`). */
  parallelResidual: boolean;
  /** Whether the unembedding is the transposed token embedding (GPT-2) or separate. */
  tiedEmbeddings: boolean;
}

/** A float32 tensor, row-major, with an explicit shape. */
export interface Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Row-major elements, length = product of `shape`. */
  readonly data: Float32Array;
}

/**
 * Weights keyed by TransformerLens state-dict names and shapes:
 * `embed.W_E` [d_vocab, d_model], `pos_embed.W_pos` [n_ctx, d_model] (GPT-2 only),
 * `blocks.{l}.ln1.w|b` [d_model], `blocks.{l}.attn.W_Q|W_K|W_V` [n_heads, d_model, d_head],
 * `blocks.{l}.attn.b_Q|b_K|b_V` [n_heads, d_head], `blocks.{l}.attn.W_O` [n_heads, d_head, d_model],
 * `blocks.{l}.attn.b_O` [d_model], `blocks.{l}.ln2.w|b`, `blocks.{l}.mlp.W_in` [d_model, d_mlp],
 * `blocks.{l}.mlp.b_in` [d_mlp], `blocks.{l}.mlp.W_out` [d_mlp, d_model], `blocks.{l}.mlp.b_out`,
 * `ln_final.w|b`, `unembed.W_U` [d_model, d_vocab], `unembed.b_U` [d_vocab].
 * After LayerNorm folding the `ln*.w|b` entries are absent (the model then uses LNPre).
 */
export type Weights = Map<string, Tensor>;

/** What weight processing was applied (TransformerLens's option names). */
export interface Processing {
  /** LayerNorm scale and bias folded into the reading weights (`fold_ln`). */
  foldLayerNorm: boolean;
  /** Mean over d_model removed from every matrix writing to the residual stream. */
  centerWritingWeights: boolean;
  /** Unembedding centred so logits have zero mean per position. */
  centerUnembed: boolean;
  /** Value biases folded into the output bias (`b_V = 0`). */
  foldValueBiases: boolean;
}

/** Raw Hugging Face weights (TL's `from_pretrained_no_processing`): no transform applied. */
export const NO_PROCESSING: Readonly<Processing> = Object.freeze({
  foldLayerNorm: false,
  centerWritingWeights: false,
  centerUnembed: false,
  foldValueBiases: false,
});

/** A loaded model: config, TL-layout weights, and what processing they carry. */
export interface Model {
  /** Normalised hyper-parameters. */
  config: ModelConfig;
  /** Weights in TransformerLens layout. */
  weights: Weights;
  /** Processing already applied to `weights`. */
  processing: Processing;
}
