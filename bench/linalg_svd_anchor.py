"""numpy anchor for bench/linalg_svd.ts: times the same cases with numpy and prints one JSON object.

Usage: python3 bench/linalg_svd_anchor.py '{"sizes": [[64, 50]], "heads": 144, "denseHeads": 12}'
Times are {"wall", "cpu"} milliseconds: medians (dense SVD) or totals (QK heads).
"""
import json
import sys
import time

import numpy as np


def time_once(fn):
    """Wall and process-CPU milliseconds of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return {"wall": (time.perf_counter() - t0) * 1e3, "cpu": (time.process_time() - c0) * 1e3}


def median_time(fn, reps):
    fn()  # warm-up
    ts = [time_once(fn) for _ in range(reps)]
    return {k: float(np.median([t[k] for t in ts])) for k in ("wall", "cpu")}


def factored_svd(a, b):
    """The algorithm svlens uses: QR of both factors, SVD of the r×r core (method.md §4.5)."""
    q1, r1 = np.linalg.qr(a)
    q2, r2 = np.linalg.qr(b.T)
    uh, s, vth = np.linalg.svd(r1 @ r2.T)
    return q1 @ uh, s, (q2 @ vth.T).T


def main():
    cfg = json.loads(sys.argv[1])
    rng = np.random.default_rng(cfg.get("seed", 0))
    out = {"numpy": np.__version__, "dense": {}, "qk": {}}
    for n, reps in cfg["sizes"]:
        a = rng.standard_normal((n, n))
        out["dense"][str(n)] = median_time(lambda: np.linalg.svd(a, full_matrices=False), reps)
    heads, d, r = cfg["heads"], cfg["d"], cfg["r"]
    factors = [(rng.standard_normal((d, r)), rng.standard_normal((r, d))) for _ in range(heads)]
    factored_svd(*factors[0])

    def all_factored():
        for a, b in factors:
            factored_svd(a, b)

    out["qk"]["factoredTotal"] = time_once(all_factored)
    dense_heads = cfg["denseHeads"]
    np.linalg.svd(factors[0][0] @ factors[0][1])

    def some_dense():
        for a, b in factors[:dense_heads]:
            np.linalg.svd(a @ b)

    t = time_once(some_dense)
    out["qk"]["densePerHead"] = {k: v / dense_heads for k, v in t.items()}
    print(json.dumps(out))


main()
