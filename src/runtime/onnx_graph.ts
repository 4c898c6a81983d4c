/**
 * Builds an ONNX graph (opset 17) of a GPT-2 or GPT-NeoX forward pass from TL-layout weights,
 * whose outputs are exactly the requested TransformerLens hooks, named by hook name. The graph
 * mirrors `reference.ts` op for op; batch and position are symbolic dimensions, so one session
 * serves any batch. Inputs it may declare (only those it uses):
 * - `input_ids` int64 `[batch, pos]`
 * - `attn_mask` float `[batch, 1, pos, pos]`: 0 where a query may attend, -∞ elsewhere
 *   (causal and padded keys), added to the scaled scores
 * - `position_ids` int64 `[pos]` (GPT-2 learned positions)
 * - `rotary_cos`, `rotary_sin` float `[pos, 1, rotary_dim/2]` (NeoX)
 * - `logit_index` int64 `[batch, n_logit, 1]`: positions whose logits are computed
 *
 * LayerNorm is written out (ReduceMean, Sub, Sqrt, Div) rather than `LayerNormalization` so that
 * `hook_scale = √(var + ε)` is a tensor of the graph and the variance is two-pass, exactly as in
 * TransformerLens.
 * @module
 */
import onnxProto from "npm:onnx-proto@8.0.1";
import type { onnx } from "npm:onnx-proto@8.0.1";
import type { Model } from "../model/types.ts";
import { WeightReader } from "./_weights.ts";

const P = onnxProto.onnx;
const FLOAT = P.TensorProto.DataType.FLOAT;
const INT64 = P.TensorProto.DataType.INT64;

/** One graph input the caller must feed. */
export type GraphInput =
  | "input_ids"
  | "attn_mask"
  | "position_ids"
  | "rotary_cos"
  | "rotary_sin"
  | "logit_index";

/** A weight stored outside the `ModelProto` (ONNX external data), viewed without copying. */
export interface ExternalFile {
  /** The `location` the graph's initializer names. */
  path: string;
  /** The weight's bytes (a view of the model's own array). */
  data: Uint8Array;
}

/** A serialised ONNX model and the inputs it declares. */
export interface BuiltGraph {
  /** `ModelProto` bytes, ready for `InferenceSession.create`. */
  bytes: Uint8Array;
  /** Large weights as external data (pass as the session's `externalData`); empty if inline. */
  externalData: ExternalFile[];
  /** Inputs the graph declares (each must be fed). */
  inputs: GraphInput[];
  /** Graph outputs: the requested hook names. */
  outputs: string[];
}

type Attr = number | number[] | { f: number };

/** Accumulates nodes and initializers; names intermediate values `_1`, `_2`, ... */
class GraphBuilder {
  nodes: onnx.INodeProto[] = [];
  initializers: onnx.ITensorProto[] = [];
  external: ExternalFile[] = [];
  #next = 0;
  #consts = new Map<string, string>();
  /** Whether weights of 4 KiB or more become external data instead of inline `rawData`. */
  constructor(readonly useExternal: boolean) {}

  /** A float initializer (its bytes are viewed, never copied, on the JS side). */
  weight(name: string, dims: number[], data: Float32Array): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.useExternal && bytes.length >= 4096) {
      const path = `w${this.external.length}.bin`;
      this.external.push({ path, data: bytes });
      this.initializers.push({
        name,
        dims,
        dataType: FLOAT,
        dataLocation: P.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: "location", value: path },
          { key: "offset", value: "0" },
          { key: "length", value: String(bytes.length) },
        ],
      });
    } else {
      this.initializers.push({ name, dims, dataType: FLOAT, rawData: bytes });
    }
    return name;
  }

  /** A cached int64 constant vector (shapes, axes, slice bounds). */
  ints(values: number[]): string {
    const key = `i${values.join(",")}`;
    let name = this.#consts.get(key);
    if (name === undefined) {
      name = `const_${key}`;
      const data = BigInt64Array.from(values.map(BigInt));
      this.initializers.push({
        name,
        dims: [values.length],
        dataType: INT64,
        rawData: new Uint8Array(data.buffer),
      });
      this.#consts.set(key, name);
    }
    return name;
  }

  /** A cached float scalar constant. */
  scalar(value: number): string {
    const key = `f${value}`;
    let name = this.#consts.get(key);
    if (name === undefined) {
      name = `const_${key}`;
      this.weight(name, [], new Float32Array([value]));
      this.#consts.set(key, name);
    }
    return name;
  }

  /** Adds a node; returns its (first) output, named `out` or a fresh name. */
  op(opType: string, input: string[], attrs: Record<string, Attr> = {}, out?: string): string {
    const output = out ?? `_${++this.#next}`;
    const attribute: onnx.IAttributeProto[] = Object.entries(attrs).map(([name, v]) => {
      if (Array.isArray(v)) return { name, type: P.AttributeProto.AttributeType.INTS, ints: v };
      if (typeof v === "number") return { name, type: P.AttributeProto.AttributeType.INT, i: v };
      return { name, type: P.AttributeProto.AttributeType.FLOAT, f: v.f };
    });
    this.nodes.push({ opType, input, output: [output], attribute, name: `${opType}_${output}` });
    return output;
  }

  /**
   * Drops every node, initializer and external file that `outputs` do not depend on (e.g. the
   * last layer's MLP when only its pattern is requested); returns the names still read.
   */
  prune(outputs: readonly string[]): Set<string> {
    const needed = new Set(outputs);
    const kept: onnx.INodeProto[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      if (!node.output!.some((o) => needed.has(o))) continue;
      kept.push(node);
      for (const input of node.input!) needed.add(input);
    }
    this.nodes = kept.reverse();
    this.initializers = this.initializers.filter((t) => needed.has(t.name!));
    const locations = new Set(
      this.initializers.flatMap((t) =>
        (t.externalData ?? []).filter((e) => e.key === "location").map((e) => e.value)
      ),
    );
    this.external = this.external.filter((f) => locations.has(f.path));
    return needed;
  }
}

/** `[H, A, B]` → `[A, H·B]` (TL per-head `W_Q [H, C, D]` to one `[C, H·D]` MatMul operand). */
function headsToColumns(w: Float32Array, H: number, A: number, B: number): Float32Array {
  const out = new Float32Array(H * A * B);
  for (let h = 0; h < H; h++) {
    for (let a = 0; a < A; a++) {
      for (let b = 0; b < B; b++) out[a * H * B + h * B + b] = w[(h * A + a) * B + b]!;
    }
  }
  return out;
}

/** Options of {@linkcode buildGraph}. */
export interface BuildOptions {
  /** Hook names that become graph outputs (validated by the caller). */
  hooks: ReadonlySet<string>;
  /**
   * Keep large weights out of the `ModelProto` as external data (default true): the session then
   * copies each weight once from the model's arrays, instead of holding a serialised copy and
   * parsing it (about half the peak memory for GPT-2-small).
   */
  externalData?: boolean;
}

/**
 * Builds the forward graph of `model` that outputs exactly `hooks`. Layers past the last one a
 * requested hook needs are not built, nor is the unembedding unless `logits` is requested.
 */
export function buildGraph(model: Model, options: BuildOptions): BuiltGraph {
  const cfg = model.config;
  const W = new WeightReader(model);
  const g = new GraphBuilder(options.externalData ?? true);
  const { dModel: C, nHeads: H, dHead: D, dMlp: M, dVocab: V } = cfg;
  const R = cfg.rotaryDim;
  const hooks = options.hooks;
  const inputs = new Set<GraphInput>(["input_ids", "attn_mask"]);
  // Deepest layer any requested hook depends on (final hooks need every layer).
  let depth = 0;
  for (const name of hooks) {
    const m = /^blocks\.(\d+)\./.exec(name);
    depth = Math.max(depth, m ? Number(m[1]) + 1 : name.startsWith("hook_") ? 0 : cfg.nLayers);
  }
  /** Names `value` as `hook` when requested (Identity), so the output carries the hook name. */
  const emit = (hook: string, value: string): string =>
    hooks.has(hook) ? g.op("Identity", [value], {}, hook) : value;

  const layerNorm = (x: string, prefix: string): string => {
    const centred = g.op("Sub", [x, g.op("ReduceMean", [x], { axes: [-1], keepdims: 1 })]);
    const variance = g.op("ReduceMean", [g.op("Mul", [centred, centred])], {
      axes: [-1],
      keepdims: 1,
    });
    const scale = emit(
      `${prefix}.hook_scale`,
      g.op("Sqrt", [g.op("Add", [variance, g.scalar(cfg.lnEps)])]),
    );
    let y = g.op("Div", [centred, scale]);
    const w = W.optional(`${prefix}.w`, [C]);
    const b = W.optional(`${prefix}.b`, [C]);
    if (w !== undefined) y = g.op("Mul", [y, g.weight(`${prefix}.w`, [C], w)]);
    if (b !== undefined) y = g.op("Add", [y, g.weight(`${prefix}.b`, [C], b)]);
    return emit(`${prefix}.hook_normalized`, y);
  };
  /** x @ W (+ b) with W row-major `[rows, cols]`. */
  const linear = (
    x: string,
    name: string,
    rows: number,
    cols: number,
    w: Float32Array,
    b?: Float32Array,
  ): string => {
    const y = g.op("MatMul", [x, g.weight(name, [rows, cols], w)]);
    return b === undefined ? y : g.op("Add", [y, g.weight(`${name}.bias`, [cols], b)]);
  };
  const gelu = (x: string): string => {
    let inner: string;
    if (cfg.act === "gelu") {
      inner = g.op("Erf", [g.op("Div", [x, g.scalar(Math.SQRT2)])]);
    } else {
      const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
      const arg = g.op("Add", [x, g.op("Mul", [cube, g.scalar(0.044715)])]);
      inner = g.op("Tanh", [g.op("Mul", [arg, g.scalar(Math.sqrt(2 / Math.PI))])]);
    }
    return g.op("Mul", [g.op("Mul", [x, g.scalar(0.5)]), g.op("Add", [inner, g.scalar(1)])]);
  };
  const rotate = (x: string): string => {
    // x [B, T, H, D]: pairs (i, i + R/2) for i < R/2; dims ≥ R pass through.
    inputs.add("rotary_cos").add("rotary_sin");
    const axis = g.ints([-1]);
    const part = (from: number, to: number): string =>
      g.op("Slice", [x, g.ints([from]), g.ints([to]), axis]);
    const x1 = part(0, R / 2), x2 = part(R / 2, R);
    const out1 = g.op("Sub", [g.op("Mul", [x1, "rotary_cos"]), g.op("Mul", [x2, "rotary_sin"])]);
    const out2 = g.op("Add", [g.op("Mul", [x2, "rotary_cos"]), g.op("Mul", [x1, "rotary_sin"])]);
    return g.op("Concat", R < D ? [out1, out2, part(R, D)] : [out1, out2], { axis: -1 });
  };

  // Embeddings.
  const embed = emit(
    "hook_embed",
    g.op("Gather", [g.weight("embed.W_E", [V, C], W.get("embed.W_E", [V, C])), "input_ids"]),
  );
  let residual = embed;
  if (R === 0) {
    inputs.add("position_ids");
    const wpos = g.weight(
      "pos_embed.W_pos",
      [cfg.nCtx, C],
      W.get("pos_embed.W_pos", [cfg.nCtx, C]),
    );
    const pos = g.op("Expand", [g.op("Gather", [wpos, "position_ids"]), g.op("Shape", [embed])]);
    residual = g.op("Add", [embed, emit("hook_pos_embed", pos)]);
  }

  for (let l = 0; l < depth; l++) {
    const p = `blocks.${l}.`;
    residual = emit(`${p}hook_resid_pre`, residual);
    const x = layerNorm(residual, `${p}ln1`);
    const qkv: string[] = [];
    for (const n of ["Q", "K", "V"]) {
      const w = headsToColumns(W.get(`${p}attn.W_${n}`, [H, C, D]), H, C, D);
      const flat = linear(x, `${p}attn.W_${n}`, C, H * D, w, W.optional(`${p}attn.b_${n}`, [H, D]));
      qkv.push(
        emit(`${p}attn.hook_${n.toLowerCase()}`, g.op("Reshape", [flat, g.ints([0, 0, H, D])])),
      );
    }
    let [q, k] = qkv as [string, string];
    const v = qkv[2]!;
    if (R > 0) {
      q = emit(`${p}attn.hook_rot_q`, rotate(q));
      k = emit(`${p}attn.hook_rot_k`, rotate(k));
    }
    const qh = g.op("Transpose", [q], { perm: [0, 2, 1, 3] }); // [B, H, T, D]
    const kt = g.op("Transpose", [k], { perm: [0, 2, 3, 1] }); // [B, H, D, T]
    const dots = g.op("Div", [g.op("MatMul", [qh, kt]), g.scalar(Math.sqrt(D))]);
    const scores = emit(`${p}attn.hook_attn_scores`, g.op("Add", [dots, "attn_mask"]));
    const pattern = emit(`${p}attn.hook_pattern`, g.op("Softmax", [scores], { axis: -1 }));
    const vh = g.op("Transpose", [v], { perm: [0, 2, 1, 3] });
    const z = emit(
      `${p}attn.hook_z`,
      g.op("Transpose", [g.op("MatMul", [pattern, vh])], { perm: [0, 2, 1, 3] }),
    );
    const zFlat = g.op("Reshape", [z, g.ints([0, 0, H * D])]);
    const attnOut = emit(
      `${p}hook_attn_out`,
      linear(
        zFlat,
        `${p}attn.W_O`,
        H * D,
        C,
        W.get(`${p}attn.W_O`, [H, D, C]),
        W.optional(`${p}attn.b_O`, [C]),
      ),
    );
    let mlpIn = residual;
    if (!cfg.parallelResidual) mlpIn = emit(`${p}hook_resid_mid`, g.op("Add", [residual, attnOut]));
    const x2 = layerNorm(mlpIn, `${p}ln2`);
    const pre = emit(
      `${p}mlp.hook_pre`,
      linear(
        x2,
        `${p}mlp.W_in`,
        C,
        M,
        W.get(`${p}mlp.W_in`, [C, M]),
        W.optional(`${p}mlp.b_in`, [M]),
      ),
    );
    const post = emit(`${p}mlp.hook_post`, gelu(pre));
    const mlpOut = emit(
      `${p}hook_mlp_out`,
      linear(
        post,
        `${p}mlp.W_out`,
        M,
        C,
        W.get(`${p}mlp.W_out`, [M, C]),
        W.optional(`${p}mlp.b_out`, [C]),
      ),
    );
    residual = cfg.parallelResidual
      ? g.op("Add", [g.op("Add", [residual, attnOut]), mlpOut])
      : g.op("Add", [mlpIn, mlpOut]);
    residual = emit(`${p}hook_resid_post`, residual);
  }

  if (
    depth === cfg.nLayers && [...hooks].some((h) => h.startsWith("ln_final.") || h === "logits")
  ) {
    const final = layerNorm(residual, "ln_final");
    if (hooks.has("logits")) {
      inputs.add("logit_index");
      const rows = g.op("GatherND", [final, "logit_index"], { batch_dims: 1 }); // [B, n, C]
      linear(
        rows,
        "unembed.W_U",
        C,
        V,
        W.get("unembed.W_U", [C, V]),
        W.optional("unembed.b_U", [V]),
      );
      g.nodes.at(-1)!.output = ["logits"];
    }
  }

  const dims = (...names: (string | number)[]): onnx.ITensorShapeProto => ({
    dim: names.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
  });
  const io = (
    name: string,
    elemType: number,
    shape?: onnx.ITensorShapeProto,
  ): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: shape === undefined ? { elemType } : { elemType, shape } },
  });
  const declared: Record<GraphInput, onnx.IValueInfoProto> = {
    input_ids: io("input_ids", INT64, dims("batch", "pos")),
    attn_mask: io("attn_mask", FLOAT, dims("batch", 1, "pos", "pos")),
    position_ids: io("position_ids", INT64, dims("pos")),
    rotary_cos: io("rotary_cos", FLOAT, dims("pos", 1, R / 2)),
    rotary_sin: io("rotary_sin", FLOAT, dims("pos", 1, R / 2)),
    logit_index: io("logit_index", INT64, dims("batch", "n_logit", 1)),
  };
  const outputs = [...hooks];
  const read = g.prune(outputs);
  const inputList = [...inputs].filter((n) => read.has(n));
  const graph: onnx.IGraphProto = {
    name: `svlens_${cfg.architecture}`,
    node: g.nodes,
    initializer: g.initializers,
    input: inputList.map((n) => declared[n]),
    output: outputs.map((n) => io(n, FLOAT)),
  };
  const modelProto = P.ModelProto.create({
    irVersion: 8,
    producerName: "svlens",
    opsetImport: [{ domain: "", version: 17 }],
    graph,
  });
  return {
    bytes: P.ModelProto.encode(modelProto).finish(),
    externalData: g.external,
    inputs: inputList,
    outputs,
  };
}
