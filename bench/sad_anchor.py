"""numpy anchor for bench/sad.ts: the decomposition part of `svlens sad` (per head: factored
SVD basis, then for every firing the relative-logit contributions, N_recon, sparseness and the
rotation control), on the same model weights and the same firing list, vectorised per head as a
Python user would write it. Activations are random with the shapes of the run (the work does not
depend on their values). Prints one JSON line: {"seconds": ..., "firings": ...}.

usage: python3 bench/sad_anchor.py MODEL_DIR RUN_DIR
"""
import json, struct, sys, time
import numpy as np

model_dir, run_dir = sys.argv[1], sys.argv[2]


def read_safetensors(path, names=None):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, e in header.items():
            if name == "__metadata__" or (names is not None and not names(name)):
                continue
            a, b = e["data_offsets"]
            f.seek(base + a)
            dt = {"F32": np.float32, "F64": np.float64}[e["dtype"]]
            out[name] = np.frombuffer(f.read(b - a), dtype=dt).reshape(e["shape"])
        return out


cfg = json.load(open(f"{model_dir}/config.json"))
C, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
dh = C // H
w = read_safetensors(f"{model_dir}/model.safetensors", lambda n: "c_attn" in n)
firings = read_safetensors(f"{run_dir}/arrays.safetensors")["firings"]
rng = np.random.default_rng(0)
n_prompts = int(firings[:, 2].max()) + 1
T = int(firings[:, 3].max()) + 1
X = {l: rng.standard_normal((n_prompts, T, C)) for l in range(L)}
Q = [np.linalg.qr(rng.standard_normal((dh, dh)))[0] for _ in range(L * H)]

t0 = time.perf_counter()
count = 0
for l in range(L):
    W = w[f"h.{l}.attn.c_attn.weight"].astype(np.float64)
    B = w[f"h.{l}.attn.c_attn.bias"].astype(np.float64)
    x = X[l]
    prefix = np.cumsum(x, axis=1)
    for h in range(H):
        sel = firings[(firings[:, 0] == l) & (firings[:, 1] == h)]
        if len(sel) == 0:
            continue
        wq, wk = W[:, h * dh:(h + 1) * dh], W[:, C + h * dh:C + (h + 1) * dh]
        bq = B[h * dh:(h + 1) * dh]
        r1, r2 = np.linalg.qr(wq, mode="r"), np.linalg.qr(wk, mode="r")
        u, s, vt = np.linalg.svd(r1 @ r2.T)
        gq = np.linalg.solve(r1, u).T
        gk = np.linalg.solve(r2, vt.T).T
        p, d, k = sel[:, 2].astype(int), sel[:, 3].astype(int), sel[:, 4].astype(int)
        m = d + 1
        xj = x[p, k]
        dx = xj - (prefix[p, d] - xj) / (m - 1)[:, None]
        q = x[p, d] @ wq + bq
        dk = dx @ wk
        a, sb = q @ gq.T, (dk @ gk.T) * s
        c = a * sb
        lt = np.einsum("ij,ij->i", q, dk)
        assert np.all(np.abs(c.sum(1) - lt) <= 1e-6 * np.maximum(np.abs(lt), np.abs(c).sum(1)))
        rot = Q[l * H + h]
        cr = (a @ rot) * (sb @ rot)
        for cc in (c, cr):
            srt = -np.sort(-cc, axis=1)
            ratio = np.round(np.cumsum(srt, axis=1) / lt[:, None], 5)
            nrecon = np.argmax(ratio >= 1.0, axis=1) + 1
            sparse = np.abs(cc).sum(1) ** 2 / (dh * (cc ** 2).sum(1))
        count += len(sel)
print(json.dumps({"seconds": time.perf_counter() - t0, "firings": count}))
