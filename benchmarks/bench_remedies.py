"""Costs of the remedies: BPTT and the regulariser's gradient are O(T n^2); the lag decomposition
and the truncation curve are O(T^2 n^2).

Times are best-of-``repeats`` (the machines are shared: the minimum is the least disturbed run),
reported per step for the forward run and for one BPTT sweep, and as ratios to the BPTT sweep for
the rest, all in one process on one BLAS thread.  Doubling T should leave the per-step times and
the O(T n^2) ratios unchanged and double the O(T^2 n^2) ones.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_remedies.py --n 64 --steps 100 200 400
"""

import argparse

import numpy as np

import spectra
from spectra import init


from _harness import median_time, machine, pin_threads, write_json





def _median(fn, repeats=5):
    """Median wall time (the house convention of benchmarks/_harness.py)."""
    return median_time(fn, repeats)[0]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--steps", type=int, nargs="+", default=[100, 200, 400])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    pin_threads(args.threads)
    rng = np.random.default_rng(0)
    n, d, c = args.n, 8, 10
    cell = spectra.ElmanRNN(init.orthogonal(n, gain=0.95, rng=1), init.gaussian(n, d, rng=2))
    W_yh = init.gaussian(c, n, rng=3)
    rows = []
    print(f"n = {n}; per-step times of the forward run and of BPTT, the rest as ratios to BPTT")
    head = ["T", "fwd us/step", "bptt us/step", "bptt+lags", "trunc. curve", "Omega exact",
            "fixed_error", "immediate"]
    print("  ".join(f"{h:>12}" for h in head))
    for T in args.steps:
        x = rng.standard_normal((T, d))
        y = rng.integers(0, c, T)
        t_fwd = _median(lambda: cell.run(x), args.repeats)
        t_bptt = _median(lambda: spectra.bptt_gradient(cell, x, y, W_yh), args.repeats)
        cases = {
            "bptt+lags": lambda: spectra.bptt_gradient(cell, x, y, W_yh, decompose=True),
            "truncation curve": lambda: spectra.truncated_bptt_error(cell, x, y, W_yh),
            "Omega exact": lambda: spectra.vanishing_regularizer(cell, x, y, W_yh),
            "Omega fixed_error": lambda: spectra.vanishing_regularizer(cell, x, y, W_yh,
                                                                       gradient="fixed_error"),
            "Omega immediate": lambda: spectra.vanishing_regularizer(cell, x, y, W_yh,
                                                                     gradient="immediate"),
        }
        ratios = {k: _median(f, args.repeats) / t_bptt for k, f in cases.items()}
        rows.append({"T": T, "forward_seconds": t_fwd, "bptt_seconds": t_bptt, "ratios_to_bptt": ratios})
        print("  ".join([f"{T:>12d}", f"{1e6 * t_fwd / T:>12.1f}", f"{1e6 * t_bptt / T:>12.1f}"]
                        + [f"{v:>12.1f}" for v in ratios.values()]))
    path = write_json("remedies", {"n": n, "rows": rows, "machine": machine()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
