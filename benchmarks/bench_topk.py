"""Matrix-free top-k singular values of dh_T/dh_0 through the trajectory's operator.

Usage:  python benchmarks/bench_topk.py [--n 4096] [--steps 100] [--k 6] [--threads 1]
                                        [--block-size B] [--svds] [--passes-only]
                                        [--precision float64|mixed|both]

Target: top-6 for n = 4096, T = 100 in under 40 s on one core, with working memory
(beyond the weights and the trajectory) below 10% of one dense n x n matrix.
Memory is measured with tracemalloc (numpy's allocations are traced) as the peak
during the call; ``--svds`` also times scipy's PROPACK ``svds`` through the same
operator for comparison (slow: about 75 s at n = 4096).  ``--precision mixed`` times
``precision="mixed"`` (single-precision passes, float64 anchors and certificate; the float32
copy of W counts in the memory), ``both`` times mixed and float64 in one run (mixed first)
and checks that their values agree within their residuals.
"""

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

import spectra
from _harness import machine, pin_threads, write_json


def passes(traj, op, block=16, repeats=3):
    """CPU time of one pass of a block through the trajectory each way: spectra's operator
    against the same loop written with W on the left (``W @ X``, ``W.T @ Y``)."""
    seq = spectra.as_jacobian_sequence(traj)
    W, D = seq.W, seq.row
    X = np.random.default_rng(2).standard_normal((op.shape[1], block))

    def fwd_plain():
        Y = X
        for d in D:
            Y = d[:, None] * (W @ Y)

    def bwd_plain():
        Y = X
        for d in D[::-1]:
            Y = W.T @ (d[:, None] * Y)

    contenders = {"spectra A @ X": lambda: op.matmat(X), "plain W @ X loop": fwd_plain,
                  "spectra A^T @ Y": lambda: op.rmatmat(X), "plain W.T @ Y loop": bwd_plain}
    times = {k: [] for k in contenders}
    for _ in range(repeats):                     # interleaved: the machine's load hits all alike
        for name, fn in contenders.items():
            c0 = time.process_time()
            fn()
            times[name].append(time.process_time() - c0)
    for name, ts in times.items():
        print(f"{name:22s} {np.median(ts):7.2f} s CPU per pass (median of {repeats})")
    write_json("topk_passes", {"times": times, "machine": machine(),
                               "when": time.strftime("%Y-%m-%d %H:%M:%S")})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--k", type=int, default=6)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--block-size", type=int, default=None)
    p.add_argument("--max-basis", type=int, default=None)
    p.add_argument("--svds", action="store_true")
    p.add_argument("--precision", choices=("float64", "mixed", "both"), default="float64")
    p.add_argument("--passes-only", action="store_true",
                   help="time one pass each way (block of 16) against W @ X / W.T @ Y, interleaved")
    args = p.parse_args(argv)
    pin_threads(args.threads)
    n, T, k = args.n, args.steps, args.k
    t0 = time.perf_counter()
    cell = spectra.ElmanRNN.random(n, init="gaussian", gain=1.2, rng=0)
    traj = cell.run(steps=T, h0=np.random.default_rng(1).standard_normal(n))
    op = traj.operator()
    print(f"# n={n} T={T} k={k} threads={args.threads}; network built in {time.perf_counter() - t0:.1f} s",
          flush=True)
    if args.passes_only:
        passes(traj, op)
        return
    dense_mb = n * n * 8 / 1e6
    load = os.getloadavg()[0]
    rows = []
    precisions = ("mixed", "float64") if args.precision == "both" else (args.precision,)
    for precision in precisions:
        tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        res = spectra.top_singular_values(op, k, rng=0, block_size=args.block_size,
                                          max_basis=args.max_basis, precision=precision)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"top_singular_values(precision={precision!r}): {secs:.1f} s wall, {cpu:.1f} s CPU, "
              f"{res.passes} passes ({res.single_passes} in float32), converged={res.converged}, "
              f"peak working memory {peak / 1e6:.1f} MB = {100 * peak / 1e6 / dense_mb:.1f}% of "
              f"one dense n x n matrix ({dense_mb:.0f} MB)", flush=True)
        print("values:", np.array2string(res.values, precision=10))
        print("relative residuals:", np.array2string(res.residuals / res.values[0], precision=2))
        rows.append({"n": n, "T": T, "k": k, "threads": args.threads, "precision": precision,
                     "seconds": secs, "cpu_seconds": cpu, "load_before": load,
                     "passes": res.passes, "single_passes": res.single_passes,
                     "converged": res.converged, "peak_mb": peak / 1e6, "dense_mb": dense_mb,
                     "values": res.values.tolist(), "residuals": res.residuals.tolist()})
    if len(rows) == 2:
        a, b = (np.array(r["values"]) for r in rows)
        bound = np.array(rows[0]["residuals"]) + np.array(rows[1]["residuals"])
        print(f"CPU ratio mixed / float64: {rows[0]['cpu_seconds'] / rows[1]['cpu_seconds']:.2f}; "
              f"values differ by at most {np.max(np.abs(a - b) / b[0]):.1e} relative "
              f"(within the sum of residuals: {bool(np.all(np.abs(a - b) <= bound + 1e-15 * b[0]))})")
    row = rows[-1]
    if args.svds:
        from scipy.sparse.linalg import svds

        t0 = time.perf_counter()
        s = np.sort(svds(op, k=k, solver="propack", return_singular_vectors=False,
                         random_state=0))[::-1]
        row["svds_seconds"] = time.perf_counter() - t0
        row["svds_max_rel_diff"] = float(np.max(np.abs(s - res.values) / res.values))
        print(f"scipy svds (PROPACK): {row['svds_seconds']:.1f} s, max relative difference "
              f"{row['svds_max_rel_diff']:.1e}")
    path = write_json(f"topk_n{n}_T{T}", {"rows": rows, "machine": machine(),
                                          "when": time.strftime("%Y-%m-%d %H:%M:%S")})
    print(f"# wrote {path}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
