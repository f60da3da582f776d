"""Functions swept by tests/test_sweep.py.

They live in a module of their own (not in the test file) so that worker
processes started with ``spawn`` import them cheaply, without pytest.
"""

import os
import time

import numpy as np

import spectra

#: Points (values of ``i``) at which ``flaky`` raises; tests change it in-process.
FAIL = set()


def spectral(gain, activation, n, *, rng):
    """A tiny real workload: log singular values of a Jacobian product of a random cell."""
    if gain < 0:
        raise ValueError(f"negative gain {gain}")
    cell = spectra.ElmanRNN.random(n, gain=gain, activation=activation, rng=rng)
    h0 = np.random.default_rng(rng).standard_normal(n)
    traj = cell.run(steps=12, h0=h0)
    P = traj.product(12, 4)
    return {"svals": np.linalg.svd(P, compute_uv=False), "log_norm": np.log(np.linalg.norm(P, 2)),
            "final": traj.states[-1]}


def draw(i, *, rng):
    """One uniform draw from the point's stream."""
    return {"i": i, "u": float(np.random.default_rng(rng).random())}


def slow_draw(i, delay, *, rng):
    """``draw`` after sleeping ``delay`` seconds (for the kill-and-resume test)."""
    time.sleep(delay)
    return draw(i, rng=rng)


def no_rng(a, b=2):
    return a * b


def flaky(i):
    if i in FAIL:
        raise RuntimeError(f"point {i} failed")
    return i * i


def blas_threads():
    """What the worker sees: thread counts of the loaded BLAS/OpenMP libraries and the env."""
    from threadpoolctl import threadpool_info

    return {"pools": [[d["internal_api"], d["num_threads"]] for d in threadpool_info()],
            "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                   "MKL_NUM_THREADS")}}


def die(i):
    """Kill the worker process (not an exception: the process vanishes)."""
    if i == 1:
        os._exit(3)
    time.sleep(0.2)
    return i


def interrupt_at_2(i):
    """Like Ctrl-C arriving while point 2 runs."""
    if i == 2 and 2 in FAIL:
        raise KeyboardInterrupt
    return i
