"""numpy anchor for bench/matmul.ts: times C = A @ B (op(A), op(B) as given) for each case.

Usage: OPENBLAS_NUM_THREADS=N python3 bench/matmul_numpy.py '<json cases>' REPS
Each case: {"m": int, "k": int, "n": int, "dtype": "float32"|"float64"}. Prints one JSON list of
{"median_ms", "best_ms", "cpu_ms"} (cpu: process CPU time per call, all threads) in the same order. Same seeded-uniform inputs idea as the Deno side.
"""
import json
import sys
import time

import numpy as np

cases = json.loads(sys.argv[1])
reps = int(sys.argv[2])
rng = np.random.default_rng(1)
out = []
for c in cases:
    a = rng.uniform(-1, 1, (c["m"], c["k"])).astype(c["dtype"])
    b = rng.uniform(-1, 1, (c["k"], c["n"])).astype(c["dtype"])
    dst = np.empty((c["m"], c["n"]), dtype=c["dtype"])
    for _ in range(2):
        np.matmul(a, b, out=dst)
    times = []
    cpu0 = time.process_time()
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(a, b, out=dst)
        times.append((time.perf_counter() - t0) * 1e3)
    cpu = (time.process_time() - cpu0) * 1e3 / reps
    times.sort()
    out.append({"median_ms": times[len(times) // 2], "best_ms": times[0], "cpu_ms": cpu})
print(json.dumps(out))
