"""Parameter sweeps: :func:`sweep` over a grid (:mod:`.grid`, 0.1 address ``spectra.grid``), on
local cores, any ``concurrent.futures.Executor`` or a Dask cluster, resumable from a JSON-lines file.

``grid`` defines parameter grids; ``core`` holds :func:`sweep`; ``execution`` runs points (the
worker-side wrapper and the default process pool); ``store`` reads and writes the ``out``
file; ``records`` defines the results.

May import: numpy, :mod:`spectra._core` (dask and pandas inside functions, when installed).
Swept functions are the caller's: nothing here knows an analysis.
"""

from .core import sweep
from .execution import process_pool
from .records import SweepRecord, SweepResult
from .store import load_sweep

__all__ = ["sweep", "SweepRecord", "SweepResult", "load_sweep", "process_pool"]
