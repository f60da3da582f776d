"""Parameter sweeps (issue 11): :func:`sweep` over a grid of :mod:`spectra.grid`, on local cores,
any ``concurrent.futures.Executor`` or a Dask cluster, resumable from a JSON-lines file.

``core`` holds :func:`sweep`; ``execution`` runs points (the worker-side wrapper and the
default process pool); ``store`` reads and writes the ``out`` file; ``records`` defines the
results.
"""

from .core import sweep
from .execution import process_pool
from .records import SweepRecord, SweepResult
from .store import load_sweep

__all__ = ["sweep", "SweepRecord", "SweepResult", "load_sweep", "process_pool"]
