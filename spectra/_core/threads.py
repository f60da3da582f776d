"""Thread policy for the BLAS/LAPACK calls of the hot routines.

Measured on a 2-core machine (OpenBLAS 0.3): multi-threaded BLAS gains little
below n ~ 1000, its QR/SVD at n <= 512 run 1.3-3x *slower* than with one
thread, and small multi-threaded calls collapse 5-100x as soon as another
process holds a core (the threads spin waiting for each other).  So:

* factorisations (QR, SVD, eigenvalues) and all matrix work at n < 1024:
  one thread;
* GEMM-bound sweeps at n >= 1024 (large products, matrix-free passes of a
  block of vectors through a long trajectory): up to ``get_threads()``
  threads, where the work per call amortises the synchronisation.

* batches (a batched trajectory, an ensemble): their members split over up
  to ``get_threads()`` worker threads, each with one BLAS thread, when a
  chunk's work per step is large enough (:mod:`spectra._core.parallel`:
  two Python threads pay the per-step interpreter cost twice and contend for
  the GIL: with ``members * n^3`` per chunk and step below 2^21 the split
  cost 1.2-4.6x the serial time on one busy core, from 2^21 1.02-1.2x,
  measured with ``benchmarks/bench_parallel.py``).

The policy only ever *lowers* the thread count in force, library by library:
a limit set by the caller (``threadpoolctl.threadpool_limits``,
``OPENBLAS_NUM_THREADS``) is respected.  The cap is ``set_threads(k)`` / ``with threads(k):``, else the
environment variable ``SPECTRA_NUM_THREADS``, else the number of CPUs this
process may run on.

threadpoolctl is imported on first use (not by ``import spectra``).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from .validation import check_int

__all__ = ["set_threads", "get_threads", "threads", "blas_threads", "policy_threads"]

_ENV = "SPECTRA_NUM_THREADS"
_LARGE = 1024          # matrix size from which GEMM-bound work may use several threads
_state = {"cap": None, "controller": None}


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def get_threads() -> int:
    """The largest number of threads spectra may use: BLAS threads of its GEMM-bound routines,
    or worker threads over the members of a batch.

    ``set_threads(k)`` (or ``with threads(k):``) if set, else the environment
    variable ``SPECTRA_NUM_THREADS``, else the number of CPUs available to
    this process.
    """
    if _state["cap"] is not None:
        return _state["cap"]
    env = os.environ.get(_ENV, "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"the environment variable {_ENV} must be a positive integer; "
                             f"got {env!r}") from None
        if value < 1:
            raise ValueError(f"the environment variable {_ENV} must be a positive integer; "
                             f"got {env!r}")
        return value
    return _cpu_count()


def set_threads(n) -> None:
    """Cap spectra's threads (``None``: back to the default); 1 keeps everything serial.

    Parameters
    ----------
    n : int or None
        At least 1.  Factorisations and matrices smaller than 1024 always use
        one BLAS thread (faster, and robust on shared machines); batches split
        their members over up to n worker threads where that pays; see the
        thread policy in the performance guide.

    Examples
    --------
    >>> import spectra
    >>> spectra.set_threads(1)
    >>> spectra.get_threads()
    1
    >>> spectra.set_threads(None)
    """
    _state["cap"] = check_int(n, "n", minimum=1, allow_none=True)


@contextmanager
def threads(n):
    """Context manager: ``set_threads(n)`` inside the block, the previous cap after it.

    Examples
    --------
    >>> import spectra
    >>> with spectra.threads(1):
    ...     spectra.get_threads()
    1
    """
    n = check_int(n, "n", minimum=1, allow_none=True)
    old = _state["cap"]
    _state["cap"] = n
    try:
        yield
    finally:
        _state["cap"] = old


def policy_threads(kind: str, n: int) -> int:
    """Threads the policy gives one kind of work on n x n matrices.

    ``kind`` is ``"gemm"`` (products, matrix-free passes) or ``"factor"``
    (QR, SVD, eigenvalues).
    """
    if kind == "gemm" and n >= _LARGE:
        return get_threads()
    return 1


def _controller():
    ctl = _state["controller"]
    if ctl is None:
        import scipy.linalg  # noqa: F401  (load scipy's own BLAS so that it is controlled too)
        from threadpoolctl import ThreadpoolController

        ctl = ThreadpoolController().select(user_api="blas")
        _state["controller"] = ctl
    return ctl


@contextmanager
def blas_threads(kind: str, n: int):
    """Apply the policy for the duration of a block (never raising the count in force).

    Every BLAS library loaded (numpy's and scipy's OpenBLAS are two) is lowered
    on its own: a limit set on one of them before the other was loaded leaves
    the other at its default, and scipy's LAPACK (``dgeqrt``, ``dgemqrt``)
    with two threads on a busy 2-core machine ran 35-50x slower (measured:
    40 QR steps at n = 256 took 27-38 s instead of 0.8 s, load average 8-11).
    """
    want = policy_threads(kind, n)
    lowered = [(lib, lib.num_threads) for lib in _controller().lib_controllers
               if lib.num_threads > want]
    if not lowered:
        yield
        return
    for lib, _ in lowered:
        lib.set_num_threads(want)
    try:
        yield
    finally:
        for lib, count in lowered:
            lib.set_num_threads(count)
