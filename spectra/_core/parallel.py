"""Batches in parallel: the members of a batched analysis split over worker threads.

An analysis of B independent members (a batched trajectory, an ensemble of
networks) is split into contiguous chunks of members, one per worker thread;
each chunk runs the serial code on its own members, with every BLAS library
at one thread for the duration.  Threads rather than processes: nothing is
copied, and numpy releases the GIL where the time goes.  Measured (a thread
blocked in the call while another runs Python): ``matmul`` (also on stacks),
``numpy.linalg.qr``, ``eigh``/``eigvalsh``, ``svd`` (also on stacks) and
scipy's ``dgeqrf`` release it; scipy's ``dgeqrt``, ``dgemqrt`` and ``dsyevd``
hold it for the whole call.

Where the serial path treats its members independently, each member's
arithmetic is the same whatever the chunk it is in, so the results are
bit for bit those of the serial path (products, Frobenius and gradient
profiles, Lyapunov spectra); ``share`` lets the chunks agree on a decision
that the serial path takes for the whole batch (the re-orthonormalisation
schedule of a Lyapunov spectrum: the largest of the chunks' values).

How many workers: :func:`member_workers`, from measured size thresholds
(``benchmarks/bench_parallel.py``); ``spectra.set_threads(1)`` (or
``SPECTRA_NUM_THREADS=1``, or a process bound to one CPU) keeps everything
serial.
"""

from __future__ import annotations

import threading

from .threads import blas_threads, get_threads

__all__ = ["member_workers", "batch_workers", "map_members", "split_members", "in_worker"]

# Work of one step of one chunk (members per chunk times n^3, the flops of its
# matrix products up to a factor 2) from which a split into worker threads pays;
# below it the per-step Python cost, which holds the GIL, dominates.
# Measured with benchmarks/bench_parallel.py: see docs/user/performance.rst.
# "logsv" (log singular values of a batch: numpy's qr at every step) pays from 2^20
# (1.56x on 2 quiet cores at B = 64, n = 32); "wy" (a full Lyapunov spectrum at
# n >= 48: compact-WY QRs by scipy's dgeqrt/dgemqrt, which hold the GIL) never
# pays (0.86x for 4 runs at n = 256, 0.72x at n = 64, quiet machine, 2026-12-03).
MIN_CHUNK_WORK = {"gemm": 2 ** 21, "lyapunov": 2 ** 21, "matvec": 2 ** 21, "logsv": 2 ** 20,
                  "wy": float("inf")}

_local = threading.local()


def in_worker() -> bool:
    """True inside a chunk run by :func:`map_members` (nested analyses stay serial)."""
    return getattr(_local, "inside", False)


def member_workers(size: int, n: int, kind: str = "gemm") -> int:
    """Worker threads for an analysis of ``size`` members with n x n steps.

    1 (serial) inside a worker, for fewer than 2 members, when
    ``spectra.get_threads()`` is 1, or when a chunk's work per step
    (``members per chunk * n^3``; ``* n^2`` for ``"matvec"``) is below the
    measured threshold of ``kind`` (``"gemm"``: products and matrix profiles;
    ``"lyapunov"``: Lyapunov spectra by numpy QRs; ``"wy"``: full Lyapunov
    spectra by compact-WY QRs, which hold the GIL: never split; ``"logsv"``: log
    singular values; ``"matvec"``: the profile of a gradient vector); else
    ``min(get_threads(), size)``.

    Examples
    --------
    >>> import spectra
    >>> from spectra._core.parallel import member_workers
    >>> with spectra.threads(1):
    ...     member_workers(64, 256)
    1
    >>> with spectra.threads(2):
    ...     member_workers(64, 256), member_workers(64, 4)
    (2, 1)
    """
    if size < 2 or in_worker():
        return 1
    workers = min(get_threads(), size)
    if workers < 2:
        return 1
    if (size // workers) * n ** (2 if kind == "matvec" else 3) < MIN_CHUNK_WORK[kind]:
        return 1
    return workers


def batch_workers(seq, n: int, kind: str = "gemm") -> int:
    """:func:`member_workers` for a Jacobian sequence: 1 unless it is ``splittable``
    (a batch of shape ``(B,)`` whose class implements ``members(start, stop)``)."""
    return member_workers(seq.batch_shape[0], n, kind) if seq.splittable else 1


def split_members(size: int, parts: int) -> list:
    """``[(start, stop), ...]``: ``parts`` contiguous chunks of ``range(size)``, sizes differing by <= 1."""
    parts = max(1, min(parts, size))
    q, r = divmod(size, parts)
    bounds, a = [], 0
    for i in range(parts):
        b = a + q + (1 if i < r else 0)
        bounds.append((a, b))
        a = b
    return bounds


def _alone(value):
    return value


class _Rendezvous:
    """The chunks' ``share(value)``: every chunk waits for all, then gets the largest value."""

    def __init__(self, parties):
        self.barrier = threading.Barrier(parties)
        self.values = [None] * parties

    def share(self, i):
        def share(value):
            self.values[i] = value
            self.barrier.wait()
            out = max(self.values)
            self.barrier.wait()        # nobody overwrites a value before all have read
            return out
        return share


def map_members(fn, size: int, workers: int) -> list:
    """``[fn(i, start, stop, share) for each chunk i]``, the chunks in worker threads.

    The members ``range(size)`` are split into ``workers`` contiguous chunks
    (:func:`split_members`); chunk 0 runs in the calling thread, the others
    in a pool, all with every BLAS library at one thread.  ``share(value)``
    returns the largest value passed by all chunks at the same call (a
    barrier: every chunk must call it equally often); with one chunk it
    returns ``value``.  The first exception raised in a chunk is re-raised
    (the others are released from their barrier).

    Examples
    --------
    >>> from spectra._core.parallel import map_members
    >>> map_members(lambda i, a, b, share: (a, b, share(b - a)), 5, 2)
    [(0, 3, 3), (3, 5, 3)]
    """
    bounds = split_members(size, workers)
    if len(bounds) == 1:
        return [fn(0, 0, size, _alone)]
    meet = _Rendezvous(len(bounds))

    def run(i, a, b):
        _local.inside = True
        try:
            return fn(i, a, b, meet.share(i))
        except BaseException:
            meet.barrier.abort()
            raise
        finally:
            _local.inside = False

    from concurrent.futures import ThreadPoolExecutor     # (not loaded by ``import spectra``)

    results, errors = [], []
    with blas_threads("factor", 0), \
            ThreadPoolExecutor(len(bounds) - 1, thread_name_prefix="spectra-members") as pool:
        futures = [pool.submit(run, i, a, b) for i, (a, b) in enumerate(bounds[1:], 1)]
        for i, job in enumerate([None] + futures):
            try:
                results.append(run(0, *bounds[0]) if job is None else job.result())
            except BaseException as exc:            # noqa: PERF203 - one per chunk
                errors.append(exc)
    if errors:
        first = next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)),
                     errors[0])
        raise first
    return results
