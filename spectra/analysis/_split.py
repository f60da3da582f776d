"""Analyses of a batch with its members split over worker threads (:mod:`spectra._core.parallel`).

The parallel machinery is imported on first use, so ``import spectra`` loads
neither ``threading`` nor ``concurrent.futures``.
"""

from __future__ import annotations

import numpy as np

from ..jacobians.progress import counted

__all__ = ["workers_for", "concatenated"]


def workers_for(seq, n, kind="gemm"):
    """Worker threads for an analysis of ``seq`` with n x n steps (1: serial)."""
    from .._core.parallel import batch_workers

    return batch_workers(seq, n, kind)


def concatenated(fn, seq, workers, steps, label, progress):
    """``fn(i, a, b, sub)`` for every chunk ``sub`` (members a..b-1 of ``seq``, counted for the
    progress bar, which only chunk 0 draws), in worker threads, concatenated along the batch."""
    from .._core.parallel import map_members

    def chunk(i, a, b, share):
        with counted(seq.members(a, b), steps, label, progress if i == 0 else False) as sub:
            return fn(i, a, b, sub)

    return np.concatenate(map_members(chunk, seq.batch_shape[0], workers))
