"""Pseudospectra from one Schur form versus a dense SVD per grid point.

    python benchmarks/bench_pseudospectra.py [n ...]

For each n, times ``spectra.pseudospectra`` on a 61 x 61 grid (tolerance 1e-6) against the
naive method, ``np.linalg.svd(z I - W)`` at every point (timed on a subset of points and
scaled), and checks the two agree.  Prints the ratio measured in one run; set
OPENBLAS_NUM_THREADS=1 for comparable numbers (done below when unset).
"""

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import spectra  # noqa: E402


def main(sizes):
    spectra.pseudospectra(np.eye(2), resolution=3)          # warm-up: imports scipy
    print(f"{'n':>5} {'schur+lanczos s':>16} {'dense svd s':>12} {'speed-up':>9} {'max rel diff':>13}")
    for n in sizes:
        W = spectra.random_nonnormal(n, spectral_radius=0.9, coupling=1.5, rng=n)
        t0 = time.perf_counter()
        ps = spectra.pseudospectra(W, resolution=61)
        fast = time.perf_counter() - t0
        # the dense method on every 7th point of the half grid (y >= 0)
        Z = (ps.x[None, :] + 1j * ps.y[30:, None]).ravel()[::7]
        t0 = time.perf_counter()
        dense = np.array([np.linalg.svd(z * np.eye(n) - W, compute_uv=False)[-1] for z in Z])
        # per point, times the 31 x 61 points of the half grid that real W needs (both methods)
        slow = (time.perf_counter() - t0) / Z.size * 31 * 61
        ours = ps.sigma_min[30:].ravel()[::7]
        diff = float(np.max(np.abs(ours - dense) / dense))
        print(f"{n:>5} {fast:>16.3f} {slow:>12.3f} {slow / fast:>9.1f} {diff:>13.1e}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [16, 64, 128, 256])
