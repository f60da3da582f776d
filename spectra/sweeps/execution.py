"""Running points: the per-point wrapper (runs in the workers), the default process pool,
and submitting to any ``concurrent.futures.Executor``."""

from __future__ import annotations

import math
import numbers
import os
import sys
import time
import traceback

import numpy as np

from . import grid as _grid
from .._core.validation import check_int, describe
from .records import SweepRecord

__all__ = ["process_pool"]

#: Environment variables read by BLAS / OpenMP runtimes when they load.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

_HOST = None


# -- per-point work (runs in the workers) ----------------------------------------------------------
def _error(exc: BaseException, where: str, *, skip_frames: int = 0) -> dict:
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    return {"type": type(exc).__name__, "message": str(exc),
            "traceback": "".join(traceback.format_exception(type(exc), exc, tb)), "where": where}


def _host() -> str:
    global _HOST
    if _HOST is None:
        import socket

        _HOST = socket.gethostname()
    return _HOST


def _run_point(fn, params, rng_seed, index, key):
    """Run one point; never raises for an exception of ``fn`` (it goes in the record)."""
    kwargs = _grid._copy(params)
    if rng_seed is not None:
        kwargs["rng"] = rng_seed
    result = error = None
    start = time.perf_counter()
    try:
        value = fn(**kwargs)
    except Exception as exc:  # recorded, not raised: one bad point must not stop a sweep
        elapsed = time.perf_counter() - start
        error = _error(exc, "fn", skip_frames=1)
    else:
        elapsed = time.perf_counter() - start
        try:
            result = _grid._json_value(value, "the result of `fn`", finite=False, objects=True)
        except (TypeError, ValueError) as exc:
            error = _error(exc, "result")
    return SweepRecord(index=index, key=key, params=params, result=result, error=error,
                       elapsed=elapsed, rng_seed=rng_seed, host=_host(), pid=os.getpid())


# -- executors -----------------------------------------------------------------------------------
def _cpu_count() -> int:
    counter = getattr(os, "process_cpu_count", None)  # Python >= 3.13: honours affinity
    if counter is not None:
        return counter() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _pin_worker_threads():
    """Worker initializer: one BLAS/OpenMP thread per worker process.

    A spawned worker has loaded numpy's BLAS before this runs (unpickling
    the initializer imports spectra, hence numpy), so libraries already
    loaded are limited at run time through threadpoolctl; the environment
    variables cover libraries loaded later (e.g. the BLAS bundled with
    scipy, torch's), which read them when they load.
    """
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return
    threadpool_limits(limits=1)


def process_pool(max_workers=None):
    """The process pool :func:`sweep` uses by default, for reuse across sweeps.

    Parameters
    ----------
    max_workers : int, optional
        Number of worker processes (default: the cores this process may
        use).

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Workers started with the ``spawn`` method, each limited to one
        BLAS/OpenMP thread.  Use it as a context manager (or call
        ``shutdown()``) when done.

    Notes
    -----
    ``spawn`` starts each worker as a fresh interpreter.  ``fork`` would start
    faster but copies the parent mid-flight: BLAS and OpenMP thread pools
    (GNU OpenMP is not fork-safe), locks held by other threads (a Dask
    client, a progress thread, logging) and any library state the parent
    set up, which can deadlock or silently change results; Python 3.12
    warns about forking a multi-threaded process and 3.14 stopped using fork
    by default.  ``spawn`` behaves the same on Linux, macOS and Windows.
    Its price is a startup of a fraction of a second per worker, paid once
    per pool, and that ``fn`` must be importable by the workers: a function
    defined at module level (in a script, behind
    ``if __name__ == "__main__":``), not a lambda, a local function, or a
    function typed into an interactive session.  For the latter on Linux,
    pass ``concurrent.futures.ProcessPoolExecutor(mp_context=
    multiprocessing.get_context("fork"))`` as the executor (BLAS threads are
    then not pinned), or use a thread pool.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = _cpu_count() if max_workers is None else check_int(max_workers, "max_workers", minimum=1)
    return ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_pin_worker_threads)


def _resolve_executor(executor):
    """(kind, executor-or-workers): kind is "serial", "own" (workers: int) or "given"."""
    from concurrent.futures import Executor

    if executor is None:
        return "own", _cpu_count()
    if isinstance(executor, str):
        if executor != "serial":
            raise ValueError(f"`executor` must be None, 'serial', a number of worker processes "
                             f"or a concurrent.futures.Executor; got {executor!r}")
        return "serial", None
    if isinstance(executor, numbers.Integral) and not isinstance(executor, (bool, np.bool_)):
        return "own", check_int(executor, "executor", minimum=1)
    if isinstance(executor, Executor):
        return "given", executor
    raise TypeError(f"`executor` must be None, 'serial', a number of worker processes or a "
                    f"concurrent.futures.Executor (for Dask: client.get_executor()); "
                    f"got {describe(executor)}")


def _check_picklable(fn, start_method):
    """Fail early, in the caller, when a process pool could not run ``fn``."""
    import pickle

    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"`fn` must be picklable to run in a process pool (a function defined at "
                        f"module level, not a lambda or a local function); got {describe(fn)} "
                        f"({type(exc).__name__}: {exc}); pass executor='serial' or a "
                        f"concurrent.futures.ThreadPoolExecutor to run it in this process") from exc
    main = sys.modules.get("__main__")
    if (start_method != "fork" and getattr(fn, "__module__", None) == "__main__"
            and getattr(main, "__file__", None) is None):
        raise TypeError(f"`fn` ({describe(fn)}) was defined in an interactive session, which "
                        f"worker processes started with {start_method!r} cannot import; define "
                        f"it in a module, or pass executor='serial', a ThreadPoolExecutor or a "
                        f"ProcessPoolExecutor with mp_context=multiprocessing.get_context('fork')")


def _run_on(executor, tasks, finish, *, owned: bool):
    """Submit every task to ``executor`` and hand each record to ``finish`` as it completes."""
    from concurrent.futures import as_completed

    futures = {}
    try:
        for pos, task in enumerate(tasks):
            try:
                futures[executor.submit(_run_point, *task)] = task
            except Exception as exc:  # e.g. a pool that broke while we were still submitting
                for rest in tasks[pos:]:
                    finish(_executor_failure(rest, exc))
                break
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the executor failed the point; fn's own errors never get here
                rec = _executor_failure(task, exc)
            finish(rec)
    finally:
        for fut in futures:
            fut.cancel()
        if owned:
            executor.shutdown(wait=True, cancel_futures=True)


def _executor_failure(task, exc) -> SweepRecord:
    _, params, rng_seed, index, key = task
    return SweepRecord(index=index, key=key, params=params, result=None,
                       error=_error(exc, "executor"), elapsed=math.nan, rng_seed=rng_seed)
