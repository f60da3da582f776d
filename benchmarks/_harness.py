"""Shared timing utilities for the benchmarks.

Rules: every contender runs in the same process, on the same number of BLAS
threads (one by default: on small shared machines multi-threaded BLAS is
slower for these sizes and collapses when another process holds a core),
and results are reported as ratios of medians measured in one run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np


def pin_threads(n=1):
    """Limit BLAS/OpenMP threads for the rest of the process (threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(n)


CLOCK = {"clock": time.perf_counter}


def single_core():
    """The benchmark rules in one call: this process on one core (where the OS allows it), one
    BLAS thread, CPU-time clock."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pin_threads(1)
    use_cpu_clock()


def use_cpu_clock(flag=True):
    """Time with this process's CPU time instead of wall time (robust on a loaded machine;
    meaningful for single-threaded runs only)."""
    CLOCK["clock"] = time.process_time if flag else time.perf_counter


def median_time(fn, repeats=3, warmup=1):
    """Median time of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    clock = CLOCK["clock"]
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times), times


def matmul_bound_workload(n, T, rng):
    """The bound: a function doing T plain n x n matrix products P <- J_t P by hand
    (renormalised every 16 steps, as any long product must be)."""
    Js = rng.standard_normal((8, n, n)) / np.sqrt(n)

    def run():
        P = np.eye(n)
        for t in range(T):
            P = Js[t % 8] @ P
            if t % 16 == 15:
                P /= np.max(np.abs(P))
        return P

    return run


def matmul_bound(n, T, rng, repeats=3):
    """Median time of the bound (:func:`matmul_bound_workload`)."""
    return median_time(matmul_bound_workload(n, T, rng), repeats)


def machine():
    from threadpoolctl import threadpool_info

    return {"python": platform.python_version(), "numpy": np.__version__,
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "blas": [{k: d.get(k) for k in ("internal_api", "version", "num_threads")}
                     for d in threadpool_info()]}


def write_json(name, payload):
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path
