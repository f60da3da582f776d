"""The evidence behind spectra's thread policy: BLAS/LAPACK at 1 and at k threads.

Usage:  python benchmarks/bench_threads.py [--threads 2] [--n 64 256 512 2048]

For each size: GEMM (n x n) @ (n x n), GEMM (n x n) @ (n x 16) (a matrix-free pass),
numpy QR and SVD, timed with one thread and with ``--threads`` threads (medians,
same process).  Run it once on an idle machine and once while another process holds
a core (e.g. ``python -c "while True: pass" &``) to see the collapse of small
multi-threaded calls that motivates the policy (see README, "Thread policy").
"""

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from _harness import machine, write_json


def _median(fn, seconds=0.5):
    fn()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n", type=int, nargs="+", default=[64, 256, 512, 2048])
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = []
    print(f"# load average {os.getloadavg()[0]:.1f}; ratio = time with {args.threads} threads / time with 1")
    print(f"{'n':>6s} {'operation':22s} {'1 thread s':>12s} {args.threads:>3d} threads s {'ratio':>7s}")
    for n in args.n:
        A = rng.standard_normal((n, n))
        X = rng.standard_normal((n, 16))
        ops = {"gemm n x n": lambda: A @ A, "gemm n x 16": lambda: A @ X,
               "qr (numpy)": lambda: np.linalg.qr(A)}
        if n <= 1024:
            ops["svd (values)"] = lambda: np.linalg.svd(A, compute_uv=False)
        for name, fn in ops.items():
            with threadpool_limits(1):
                one = _median(fn)
            with threadpool_limits(args.threads):
                many = _median(fn)
            rows.append({"n": n, "op": name, "one_s": one, "many_s": many, "threads": args.threads})
            print(f"{n:6d} {name:22s} {one:12.5f} {many:15.5f} {many / one:7.2f}", flush=True)
    path = write_json(f"threads_{args.threads}", {"rows": rows, "load": os.getloadavg(),
                                                   "machine": machine()})
    print(f"# wrote {path}")


if __name__ == "__main__":
    main()
