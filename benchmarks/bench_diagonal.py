"""Diagonal step Jacobians (SelectiveSSM, MinGRU, MinLSTM): DiagonalJacobians against the
same steps as dense matrices (DenseJacobians), on one pinned core with one BLAS thread.

Reports time ratios (dense / diagonal) from one run for the product dh_T/dh_0, the
gradient-norm profile over all lags and the Lyapunov spectrum of a SelectiveSSM run, and
checks that both give the same numbers.

    taskset -c 0 python benchmarks/bench_diagonal.py
"""

import numpy as np

from _harness import machine, median_time, pin_threads

import spectra


def main(channels=16, state_size=16, T=500):
    pin_threads(1)
    cell = spectra.SelectiveSSM.random(channels, state_size=state_size, rng=0)
    X = np.random.default_rng(1).standard_normal((T, channels))
    traj = cell.run(X)
    diag = traj.jacobian_sequence
    dense = spectra.DenseJacobians(diag.matrices())
    n = cell.n
    tasks = {
        "product dh_T/dh_0": lambda s: s.product(),
        "gradient_norm_profile": lambda s: spectra.gradient_norm_profile(s).log_norms,
        "lyapunov_spectrum (k=n)": lambda s: spectra.lyapunov_spectrum(s).exponents,
    }
    print(f"SelectiveSSM d={channels}, N={state_size} (n={n}), T={T}; {machine()}")
    print(f"{'task':26} {'diagonal s':>11} {'dense s':>9} {'dense/diagonal':>15}")
    for name, fn in tasks.items():
        a, b = fn(diag), fn(dense)
        assert np.allclose(a, b, rtol=1e-8, atol=1e-12), name
        t_diag = median_time(lambda: fn(diag), repeats=3)[0]
        t_dense = median_time(lambda: fn(dense), repeats=1, warmup=0)[0]
        print(f"{name:26} {t_diag:11.4f} {t_dense:9.3f} {t_dense / t_diag:15.0f}")


if __name__ == "__main__":
    main()
