"""Batch-normalised MLPs: the factored (B n) x (B n) layer Jacobians against dense ones.

A batch-norm layer over B examples couples them, so its Jacobian is (B n) x (B n).  spectra
keeps it factored (W, x_hat, 1/sigma, f'): a product with m vectors costs O(B n^2 m + B n m).
The contenders, in one run on one BLAS thread:

* ``vector profile``: ``gradient_norm_profile(traj, vector=v)`` (one backward sweep, factored);
* ``dense backprop``: the same sweep with the step Jacobians formed first (``jacobian(l)``, what
  a generic tool would do), forming included;
* ``top-3, Lanczos``: ``top_singular_values(traj.operator(), 3)`` through the factored operator;
* ``dense product + SVD``: ``traj.product()`` then a full SVD.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_deep.py [--n 64] [--batch 32] [--depth 16]
"""

import argparse

import numpy as np

import spectra

from _harness import machine, median_time, pin_threads, write_json


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    pin_threads(args.threads)
    rng = np.random.default_rng(0)
    n, B, L = args.n, args.batch, args.depth
    net = spectra.MLP.random([n] * (L + 1), init="he_normal", activation="relu", norm="batch", rng=rng)
    traj = net.run(rng.standard_normal((B, n)))
    N = B * n
    v = rng.standard_normal(N)

    def dense_backprop():
        g = v.copy()
        for l in range(L, 0, -1):
            g = traj.jacobian(l).T @ g
        return g

    results = {
        "vector profile": median_time(lambda: spectra.gradient_norm_profile(traj, vector=v))[0],
        "dense backprop": median_time(dense_backprop)[0],
        "top-3, Lanczos": median_time(lambda: spectra.top_singular_values(traj.operator(), 3, rng=0))[0],
        "dense product + SVD": median_time(
            lambda: np.linalg.svd(traj.product(), compute_uv=False), repeats=1)[0],
    }
    base = results["vector profile"]
    print(f"ReLU MLP with batch norm: n = {n}, B = {B} (state {N}), depth {L}, "
          f"{args.threads} BLAS thread(s); times as ratios to the vector profile")
    for name, t in results.items():
        print(f"  {name:22s} {t / base:10.1f}")
    path = write_json("bench_deep", {"n": n, "batch": B, "depth": L, "seconds": results,
                                     "machine": machine()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
