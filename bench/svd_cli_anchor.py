"""numpy anchor for bench/svd_cli.ts: the work of `svlens svd MODEL --circuit qk,ov` in numpy.

Usage: python3 bench/svd_cli_anchor.py MODEL_DIR DENSE_HEADS

Loads model.safetensors (GPT-2 layout) with numpy, applies TransformerLens's fold_ln + centring to
the attention weights, embedding and unembedding, then
  (a) factored: all 144 QK (offset variant: Ω = W_Q W_Kᵀ) + 144 OV (W_V W_O) SVDs by QR of both
      factors and an SVD of the 64×64 core (the algorithm svlens uses), and the vocabulary
      readout of each head's first singular pair (W_E / W_U products, float32);
  (b) dense: np.linalg.svd of the 768×768 Ω of DENSE_HEADS QK and DENSE_HEADS OV heads (what
      the authors' code does per head), timed per head and scaled to 288.
Prints one JSON object: times {wall, cpu} in seconds, peak RSS in MB, and σ of the dense heads.
"""
import json
import resource
import struct
import sys
import time

import numpy as np


def clock():
    return time.perf_counter(), time.process_time()


def since(t):
    w, c = clock()
    return {"wall": w - t[0], "cpu": c - t[1]}


def load(model_dir):
    raw = np.memmap(model_dir + "/model.safetensors", dtype=np.uint8, mode="r")
    n = struct.unpack("<Q", bytes(raw[:8]))[0]
    header = json.loads(bytes(raw[8:8 + n]))
    base = 8 + n
    tensors = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        tensors[k] = np.frombuffer(raw[base + a: base + b], dtype="<f4").reshape(v["shape"])
    return tensors


def main():
    model_dir, dense_heads = sys.argv[1], int(sys.argv[2])
    cfg = json.load(open(model_dir + "/config.json"))
    d, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    dh = d // H
    out = {"numpy": np.__version__}

    t = clock()
    T = load(model_dir)
    key = lambda name: name if name in T else "transformer." + name
    heads = []  # (wq, wk, wv, wo) per head, processed, float64
    for l in range(L):
        p = "h.%d." % l
        g = T[key(p + "ln_1.weight")].astype(np.float64)
        W = T[key(p + "attn.c_attn.weight")].astype(np.float64)
        WO = T[key(p + "attn.c_proj.weight")].astype(np.float64)
        for h in range(H):
            def fold(x):
                w = g[:, None] * W[:, x * d + h * dh: x * d + (h + 1) * dh]
                return w - w.mean(0, keepdims=True)
            wo = WO[h * dh:(h + 1) * dh, :]
            heads.append((fold(0), fold(1), fold(2), wo - wo.mean(1, keepdims=True)))
    wte = T[key("wte.weight")].astype(np.float32)
    we = wte - wte.mean(1, keepdims=True)  # centre writing weights
    gf = T[key("ln_f.weight")].astype(np.float32)
    wu = gf[:, None] * wte.T  # tied unembedding, ln_final folded
    wu = wu - wu.mean(0, keepdims=True)  # fold_ln centring over d_model
    wu = wu - wu.mean(1, keepdims=True)  # centre_unembed
    out["loadProcess"] = since(t)

    def factored(a, b):
        q1, r1 = np.linalg.qr(a)
        q2, r2 = np.linalg.qr(b)
        uh, s, vth = np.linalg.svd(r1 @ r2.T)
        return q1 @ uh, s, q2 @ vth.T

    t = clock()
    lead_u, lead_v_qk, lead_v_ov = [], [], []
    for wq, wk, wv, wo in heads:
        u, s, v = factored(wq, wk)
        lead_u.append(u[:, 0])
        lead_v_qk.append(v[:, 0])
    for wq, wk, wv, wo in heads:
        u, s, v = factored(wv, wo.T)
        lead_u.append(u[:, 0])
        lead_v_ov.append(v[:, 0])
    out["factored288"] = since(t)

    t = clock()
    emb = we @ np.array(lead_u + lead_v_qk, dtype=np.float32).T
    unemb = wu.T @ np.array(lead_v_ov, dtype=np.float32).T
    for scores in (emb, unemb):
        top = np.argpartition(-scores, 10, axis=0)[:10]
        bottom = np.argpartition(scores, 10, axis=0)[:10]
    out["readout"] = since(t)

    t = clock()
    sigmas = []
    for i in range(dense_heads):
        wq, wk, _, _ = heads[i]
        sigmas.append({"circuit": "qk", "i": i, "s": np.linalg.svd(wq @ wk.T, compute_uv=True)[1][:dh].tolist()})
    for i in range(dense_heads):
        _, _, wv, wo = heads[i]
        sigmas.append({"circuit": "ov", "i": i, "s": np.linalg.svd(wv @ wo, compute_uv=True)[1][:dh].tolist()})
    dense = since(t)
    out["densePerHead"] = {k: v / (2 * dense_heads) for k, v in dense.items()}
    out["sigmas"] = sigmas
    out["peakRssMB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


main()
