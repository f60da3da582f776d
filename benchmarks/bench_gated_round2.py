"""Issue 19 item 5: LSTM and GRU profiles and full Lyapunov spectra against the matmul bound.

Usage:  taskset -c 1 python benchmarks/bench_gated_round2.py [--n 256] [--steps 1000] [--repeats 1]

The bound is T plain products of N x N matrices (``_harness.matmul_bound_workload``) with
N = 2n for the LSTM (its state is (h, c)) and N = n for the GRU.  Contenders: the spectral
and Frobenius lag profiles (``gradient_norm_profile``) and the full Lyapunov spectrum
(``lyapunov_spectrum``, "auto").  Before timing, the Lyapunov exponents are checked against a
QR at every step (largest absolute difference) and the spectral profile against the
Frobenius one (sigma_max <= ||.||_F <= sqrt(N) sigma_max).  One BLAS thread, CPU time.
"""

import argparse
import sys

import numpy as np

import spectra
from _harness import machine, matmul_bound_workload, median_time, pin_threads, use_cpu_clock, write_json


def run(cls, n, T, args, rows):
    rng = np.random.default_rng(0)
    cell = cls.random(n, input_size=8, rng=rng)
    traj = cell.run(rng.standard_normal((T, 8)))
    N = traj.n
    bound, _ = median_time(matmul_bound_workload(N, T, rng), args.repeats)
    rows.append(dict(cell=cls.__name__, n=n, T=T, workload=f"bound ({N} x {N} products)",
                     median_s=bound, ratio=1.0))
    print(f"# {cls.__name__} n={n} (state {N}) T={T}: bound {bound:.3f} s")
    ref = spectra.lyapunov_spectrum(traj, reorth_every=1)
    fro = spectra.gradient_norm_profile(traj, ord="fro").log_norms

    def check_lyap(r):
        fine = np.isfinite(ref.exponents)
        return float(np.max(np.abs(r.exponents[fine] - ref.exponents[fine])))

    def check_prof(p):       # sigma_max <= ||P||_F <= sqrt(N) sigma_max, in logs
        gap = fro - p.log_norms
        return float(max(0.0, -gap.min(), gap.max() - 0.5 * np.log(N)))

    cases = [("gradient_norm_profile ord=2", lambda: spectra.gradient_norm_profile(traj), check_prof),
             ("gradient_norm_profile ord='fro'", lambda: spectra.gradient_norm_profile(traj, ord="fro"),
              None),
             ("lyapunov_spectrum (auto)", lambda: spectra.lyapunov_spectrum(traj), check_lyap)]
    for name, fn, check in cases:
        res = fn()
        dev = check(res) if check else None
        med, times = median_time(fn, args.repeats, warmup=0)
        extra = {}
        if name.startswith("lyapunov"):
            extra = dict(qr_count=res.qr_count, spread=float(ref.exponents[0] - ref.exponents[-1]))
        rows.append(dict(cell=cls.__name__, n=n, T=T, workload=name, median_s=med, times_s=times,
                         ratio=med / bound, check=dev, **extra))
        print(f"{name:34s} {med:8.3f} s {med / bound:6.2f}x bound"
              + (f"   check {dev:.1e}" if dev is not None else "")
              + (f"   {extra}" if extra else ""))
        sys.stdout.flush()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--cells", nargs="+", default=["LSTM", "GRU"])
    args = p.parse_args(argv)
    use_cpu_clock(True)
    pin_threads(1)
    rows = []
    for name in args.cells:
        run(getattr(spectra, name), args.n, args.steps, args, rows)
    path = write_json("gated_round2", {"rows": rows, "machine": machine()})
    print(f"# wrote {path}")


if __name__ == "__main__":
    main()
