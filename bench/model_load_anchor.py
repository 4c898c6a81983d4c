"""Anchor for bench/model_load.ts: numpy loads an HF GPT-2 / GPT-NeoX model.safetensors and
rearranges it into TransformerLens layout exactly as TL's convert_gpt2_weights /
convert_neox_weights do (einops patterns written as reshape/transpose), contiguous float32.
Prints JSON {"seconds": ..., "tensors": N, "checksum": sum of W_Q of block 0}."""
import json, struct, sys, time
import numpy as np

t0 = time.perf_counter()
d = sys.argv[1]
cfg = json.load(open(f"{d}/config.json"))
with open(f"{d}/model.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
    buf = np.fromfile(f, dtype=np.uint8)
hdr.pop("__metadata__", None)
DT = {"F32": np.float32, "F16": np.float16, "BF16": None}
def get(k):
    e = hdr[k]; b, t = e["data_offsets"]
    return buf[b:t].view(DT[e["dtype"]]).reshape(e["shape"]).astype(np.float32)
c = np.ascontiguousarray
w = {}
if cfg["model_type"] == "gpt2":
    p = "transformer." if "transformer.wte.weight" in hdr else ""
    D, H = cfg["n_embd"], cfg["n_head"]; dh = D // H
    w["embed.W_E"] = get(p + "wte.weight"); w["pos_embed.W_pos"] = get(p + "wpe.weight")
    for l in range(cfg["n_layer"]):
        h = f"{p}h.{l}."; b = f"blocks.{l}."
        w[b + "ln1.w"] = get(h + "ln_1.weight"); w[b + "ln1.b"] = get(h + "ln_1.bias")
        W = get(h + "attn.c_attn.weight"); B = get(h + "attn.c_attn.bias")
        for i, x in enumerate("QKV"):
            w[b + "attn.W_" + x] = c(np.split(W, 3, axis=1)[i].reshape(D, H, dh).transpose(1, 0, 2))
            w[b + "attn.b_" + x] = c(B.reshape(3, H, dh)[i])
        w[b + "attn.W_O"] = get(h + "attn.c_proj.weight").reshape(H, dh, D); w[b + "attn.b_O"] = get(h + "attn.c_proj.bias")
        w[b + "ln2.w"] = get(h + "ln_2.weight"); w[b + "ln2.b"] = get(h + "ln_2.bias")
        w[b + "mlp.W_in"] = get(h + "mlp.c_fc.weight"); w[b + "mlp.b_in"] = get(h + "mlp.c_fc.bias")
        w[b + "mlp.W_out"] = get(h + "mlp.c_proj.weight"); w[b + "mlp.b_out"] = get(h + "mlp.c_proj.bias")
    w["ln_final.w"] = get(p + "ln_f.weight"); w["ln_final.b"] = get(p + "ln_f.bias")
    head = get("lm_head.weight") if "lm_head.weight" in hdr else w["embed.W_E"]
else:
    p = "gpt_neox." if "gpt_neox.embed_in.weight" in hdr else ""
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]; dh = D // H
    w["embed.W_E"] = get(p + "embed_in.weight")
    for l in range(cfg["num_hidden_layers"]):
        h = f"{p}layers.{l}."; b = f"blocks.{l}."
        w[b + "ln1.w"] = get(h + "input_layernorm.weight"); w[b + "ln1.b"] = get(h + "input_layernorm.bias")
        W = get(h + "attention.query_key_value.weight").reshape(H, 3, dh, D).transpose(1, 0, 3, 2)
        B = get(h + "attention.query_key_value.bias").reshape(H, 3, dh).transpose(1, 0, 2)
        for i, x in enumerate("QKV"):
            w[b + "attn.W_" + x] = c(W[i]); w[b + "attn.b_" + x] = c(B[i])
        w[b + "attn.W_O"] = c(get(h + "attention.dense.weight").reshape(D, H, dh).transpose(1, 2, 0))
        w[b + "attn.b_O"] = get(h + "attention.dense.bias")
        w[b + "ln2.w"] = get(h + "post_attention_layernorm.weight"); w[b + "ln2.b"] = get(h + "post_attention_layernorm.bias")
        w[b + "mlp.W_in"] = c(get(h + "mlp.dense_h_to_4h.weight").T); w[b + "mlp.b_in"] = get(h + "mlp.dense_h_to_4h.bias")
        w[b + "mlp.W_out"] = c(get(h + "mlp.dense_4h_to_h.weight").T); w[b + "mlp.b_out"] = get(h + "mlp.dense_4h_to_h.bias")
    w["ln_final.w"] = get(p + "final_layer_norm.weight"); w["ln_final.b"] = get(p + "final_layer_norm.bias")
    head = get("embed_out.weight") if "embed_out.weight" in hdr else w["embed.W_E"]
w["unembed.W_U"] = c(head.T); w["unembed.b_U"] = np.zeros(head.shape[0], np.float32)
print(json.dumps({"seconds": time.perf_counter() - t0, "tensors": len(w),
                  "checksum": float(w["blocks.0.attn.W_Q"].astype(np.float64).sum())}))
