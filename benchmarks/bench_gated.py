"""Step-Jacobian products of LSTM and GRU trajectories: factored against formed blocks.

J_t @ X with m right-hand sides, either through one product with the stacked weight_hh
(G n x n; "factored") or by first forming the n x n blocks of J_t ("formed"), which is what
spectra does from m >= _FORM_FROM.  Also the dense alternative that keeps T matrices.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_gated.py
"""


import numpy as np

from _harness import median_time

import spectra
from spectra.cells import gated_jacobians as _gated





def _median(fn, repeats=5):
    """Median wall time (the house convention of benchmarks/_harness.py)."""
    return median_time(fn, repeats)[0]

def sweep(seq, m, steps):
    X = np.ones((seq.n, m))

    def fwd():
        Y = X
        for t in range(1, steps + 1):
            Y = seq.matmat(t, Y)
            Y = Y / np.max(np.abs(Y))
        Y = X
        for t in range(steps, 0, -1):
            Y = seq.rmatmat(t, Y)
            Y = Y / np.max(np.abs(Y))
    return fwd


N_VALUES = (64, 256)
M_VALUES = (1, 8, 32, 128)


def main():
    rng = np.random.default_rng(0)
    steps = 20
    print(f"{'cell':5} {'n':>4} {'m':>4} {'factored/formed':>16}  (time ratio of 20 forward + 20 backward steps)")
    for cls in (spectra.LSTM, spectra.GRU):
        for n in N_VALUES:
            traj = cls.random(n, input_size=4, rng=rng).run(rng.standard_normal((steps, 4)))
            seq = traj.jacobian_sequence
            for m in M_VALUES:
                saved = _gated._FORM_FROM
                try:
                    _gated._FORM_FROM = 10 ** 9
                    t_fac = _median(sweep(seq, m, steps))
                    _gated._FORM_FROM = 1
                    t_form = _median(sweep(seq, m, steps))
                finally:
                    _gated._FORM_FROM = saved
                print(f"{cls.__name__:5} {n:4d} {m:4d} {t_fac / t_form:16.2f}")
    n, T = 256, 1000
    traj = spectra.LSTM.random(n, rng=0).run(steps=T, h0=0.1 * np.ones(2 * n))
    stored = sum(v.nbytes for v in traj.jacobian_sequence.factors)
    print(f"LSTM n={n}, T={T}: factored Jacobians {stored / 2**20:.1f} MiB, "
          f"dense {T * (2 * n) ** 2 * 8 / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
