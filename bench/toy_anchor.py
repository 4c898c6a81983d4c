"""numpy anchor for bench/toy.ts: exactly the svlens toy training step (method.md §2), written the
way a numpy/PyTorch user would (dense feature matrices, dense matmuls, float32), so the step-rate
comparison is like for like in the math: same data distribution (Bernoulli(p)·Uniform[0,1]
features, one query + m keys), same loss (importance-weighted reconstruction over all tokens +
λ·softmax cross-entropy over keys), same hand-derived gradients, same AdamW (torch semantics).

usage: python3 bench/toy_anchor.py STEPS N D H PAIRS P M BATCH SCALE [--check]
prints one JSON line {"steps_per_s": ..., "loss": ...}. With --check it instead reads a batch and
parameters from stdin (JSON) and prints loss and gradients (used by tests as an oracle).
"""
import json
import sys
import time

import numpy as np


def step_loss_grad(W, b, WQ, WK, Fq, Fk, T, imp, lam, m):
    """Loss and gradients. Fq: B×N query features, Fk: (B·m)×N key features, T: N×N template."""
    B = Fq.shape[0]
    F = np.concatenate([Fq, Fk], axis=0)  # all tokens
    X = F @ W.T  # tokens × D
    Z = X @ W + b  # tokens × N
    R = np.maximum(Z, 0)
    diff = R - F
    ntok = F.shape[0]
    recon = float((imp * diff * diff).sum() / ntok)
    dZ = (2.0 / ntok) * imp * diff * (Z > 0)
    dW = X.T @ dZ  # from Z = X W
    db = dZ.sum(axis=0)
    dX = dZ @ W.T
    # head
    Xq, Xk = X[:B], X[B:]
    Q = Xq @ WQ.T  # B×H
    K = (Xk @ WK.T).reshape(B, m, -1)  # B×m×H
    L = np.einsum("bh,bmh->bm", Q, K)
    TL = np.einsum("bk,bmk->bm", Fq @ T, Fk.reshape(B, m, -1))
    L = L - L.max(axis=1, keepdims=True)
    logp = L - np.log(np.exp(L).sum(axis=1, keepdims=True))
    TL = TL - TL.max(axis=1, keepdims=True)
    pt = np.exp(TL)
    pt /= pt.sum(axis=1, keepdims=True)
    attn = float(-(pt * logp).sum() / B)
    dL = lam * (np.exp(logp) - pt) / B  # B×m
    dQ = np.einsum("bm,bmh->bh", dL, K)
    dK = (dL[:, :, None] * Q[:, None, :]).reshape(B * m, -1)
    dWQ = dQ.T @ Xq
    dWK = dK.T @ Xk
    dX[:B] += dQ @ WQ
    dX[B:] += dK @ WK
    dW += dX.T @ F  # from X = F Wᵀ
    return recon + lam * attn, (dW, db, dWQ, dWK)


class AdamW:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.01):
        self.p, self.lr, self.b1, self.b2, self.eps, self.wd = params, lr, b1, b2, eps, wd
        self.m = [np.zeros_like(x) for x in params]
        self.v = [np.zeros_like(x) for x in params]
        self.t = 0

    def update(self, grads):
        self.t += 1
        bc1 = 1 - self.b1**self.t
        bc2 = np.sqrt(1 - self.b2**self.t)
        for p, g, m, v in zip(self.p, grads, self.m, self.v):
            p *= 1 - self.lr * self.wd
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (self.lr / bc1) * m / (np.sqrt(v) / bc2 + self.eps)


def features(rng, rows, n, p):
    mask = rng.random((rows, n), dtype=np.float32) < p
    return np.where(mask, rng.random((rows, n), dtype=np.float32), np.float32(0))


def main():
    if "--check" in sys.argv:
        d = json.load(sys.stdin)
        f64 = lambda k: np.array(d[k], dtype=np.float64)
        loss, grads = step_loss_grad(
            f64("W"), f64("b"), f64("WQ"), f64("WK"), f64("Fq"), f64("Fk"), f64("T"),
            f64("imp"), d["lam"], d["m"])
        print(json.dumps({"loss": loss, "grads": [g.ravel().tolist() for g in grads]}))
        return
    steps, n, dm, h, pairs, p, m, batch, scale = sys.argv[1:10]
    steps, n, dm, h, pairs, m, batch = map(int, (steps, n, dm, h, pairs, m, batch))
    p, scale = float(p), float(scale)
    rng = np.random.default_rng(0)
    f32 = np.float32
    W = (rng.standard_normal((dm, n)) * np.sqrt(2 / (n + dm))).astype(f32)
    b = np.zeros(n, f32)
    WQ = (rng.standard_normal((h, dm)) * np.sqrt(2 / (h + dm))).astype(f32)
    WK = (rng.standard_normal((h, dm)) * np.sqrt(2 / (h + dm))).astype(f32)
    T = np.zeros((n, n), f32)
    for q in range(pairs):
        T[q, pairs + q] = scale * (2 - q / max(pairs - 1, 1))
    imp = (0.9 ** np.arange(n)).astype(f32)
    opt = AdamW([W, b, WQ, WK])
    loss = 0.0
    for i in range(steps + 3):
        if i == 3:
            t0 = time.perf_counter()  # 3 warm-up steps
            c0 = time.process_time()
        Fq = features(rng, batch, n, p)
        Fk = features(rng, batch * m, n, p)
        loss, grads = step_loss_grad(W, b, WQ, WK, Fq, Fk, T, imp, f32(1.0), m)
        opt.update(grads)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(json.dumps({"steps_per_s": steps / dt, "cpu_steps_per_s": steps / cpu, "loss": float(loss)}))


if __name__ == "__main__":
    main()
