"""Products, profiles, Lyapunov exponents: time as a ratio to the matmul bound.

Usage:  python benchmarks/bench_products.py [--n 256] [--steps 1000] [--repeats 3]

Workload: tanh Elman network, Gaussian weights with gain 1.2, n units, T
steps.  The bound is T plain n x n matrix products measured in the same run.
"""

import argparse
import sys

import numpy as np

import spectra
from _harness import machine, matmul_bound, median_time, pin_threads, use_cpu_clock, write_json


def _numpy_benettin(traj):
    Q = np.eye(traj.n)
    acc = np.zeros(traj.n)
    for A in traj.jacobians():
        Q, R = np.linalg.qr(A @ Q)
        acc += np.log(np.abs(np.diagonal(R)))
    return acc / traj.steps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = p.parse_args(argv)
    use_cpu_clock(args.clock == "cpu")
    pin_threads(args.threads)
    n, T = args.n, args.steps
    rng = np.random.default_rng(0)
    cell = spectra.ElmanRNN.random(n, init="gaussian", gain=1.2, input_size=n, rng=rng)
    traj = cell.run(rng.standard_normal((T, n)), h0=rng.standard_normal(n))
    bound, _ = matmul_bound(n, T, rng, args.repeats)
    # a vanishing regime (gain 0.5: every norm shrinks ~e^-0.7 per step, far below 1e-308 by
    # the end): spectra's routines never meet subnormal numbers, so it costs what the normal
    # regime costs; the naive loop without rescaling runs into subnormal operands
    vcell = spectra.ElmanRNN.random(n, init="gaussian", gain=0.5, input_size=n, rng=rng)
    vtraj = vcell.run(rng.standard_normal((T, n)), h0=rng.standard_normal(n))

    A = rng.standard_normal((n, n))
    S = A * 1e-310                                     # every entry subnormal

    def subnormal_gemms():
        for _ in range(T // 10):                       # a tenth of the bound's products
            S @ A

    cases = {
        "product dh_T/dh_0 (dense)": lambda: traj.product(),
        "gradient_norm_profile ord=2": lambda: spectra.gradient_norm_profile(traj),
        "gradient_norm_profile ord='fro'": lambda: spectra.gradient_norm_profile(traj, ord="fro"),
        "gradient_norm_profile vector": lambda: spectra.gradient_norm_profile(traj, vector=np.ones(n)),
        "product_log_singular_values": lambda: spectra.product_log_singular_values(traj),
        "lyapunov_spectrum (full, reorth_every='auto')": lambda: spectra.lyapunov_spectrum(traj),
        "lyapunov_spectrum (full, QR every step)": lambda: spectra.lyapunov_spectrum(traj, reorth_every=1),
        "numpy QR every step (Benettin, written out)": lambda: _numpy_benettin(traj),
        "gradient_norm_profile ord='fro', vanishing (gain 0.5)":
            lambda: spectra.gradient_norm_profile(vtraj, ord="fro"),
        "lyapunov_spectrum (QR every step), vanishing (gain 0.5)":
            lambda: spectra.lyapunov_spectrum(vtraj, reorth_every=1),
        "T/10 GEMMs with a subnormal operand (the hazard)": subnormal_gemms,
        "lyapunov_spectrum k=1": lambda: spectra.lyapunov_spectrum(traj, k=1, rng=0),
        "top_singular_values k=6 (operator)": lambda: spectra.top_singular_values(traj.operator(), 6, rng=0),
    }
    rows = []
    print(f"# n={n} T={T} threads={args.threads}; matmul bound (T products) = {bound:.3f} s")
    print(f"{'workload':52s} {'median s':>10s} {'ratio':>8s}")
    for name, fn in cases.items():
        med, times = median_time(fn, args.repeats)
        rows.append({"workload": name, "median_s": med, "times_s": times, "ratio_to_bound": med / bound})
        print(f"{name:52s} {med:10.3f} {med / bound:8.2f}")
        sys.stdout.flush()
    path = write_json(f"products_n{n}_T{T}", {"n": n, "T": T, "threads": args.threads,
                                              "bound_s": bound, "rows": rows, "machine": machine()})
    print(f"# wrote {path}")


if __name__ == "__main__":
    main()
