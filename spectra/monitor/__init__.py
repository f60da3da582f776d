"""A gradient monitor for training loops.

The tutorials this project grew from give one practical rule: watch the
per-layer gradient norms while training; a steady geometric decay towards
the first layers means vanishing gradients, a sudden jump or a NaN means an
explosion.  :class:`GradientMonitor` does that bookkeeping:

* at chosen steps (every k steps, or a list ``at_steps``) it records the norm of
  every gradient you hand it (numpy arrays, or a torch module whose
  parameters carry ``.grad``: read by duck typing, torch is never imported),
  and the global norm;
* optionally, cheap spectral summaries: the top-k singular values of weight
  matrices and of the Jacobian product of a trajectory, by block Lanczos
  through the matrix-free operator (:func:`spectra.top_singular_values`),
  never a full SVD;
* optionally, per-lag (or per-layer) gradient norms of a recurrent or deep
  network via :func:`spectra.gradient_norm_profile`, from a trajectory you
  pass or from a cell it runs;
* it flags non-finite values, explosions (a norm growing by more than
  ``explode_factor`` between two recordings) and, if asked, vanishing (a norm
  shrinking by more than ``vanish_factor``), as events; ``raise_on`` turns
  chosen kinds into a :class:`GradientAlarm`;
* the history is a list of tidy records (``records``, ``to_dict()``) and
  ``plot()`` draws it (matplotlib, loaded on first use).

Lives here: :class:`GradientMonitor` (:mod:`._monitor`), the reading of
gradients from arrays and torch modules (:mod:`._reading`), events and alarms
(:mod:`._alarms`: :class:`Event`, :class:`GradientAlarm`) and the records of
the history (:mod:`._history`: :class:`StepRecord`).

May import: numpy, :mod:`spectra._core`, :mod:`spectra.cells`,
:mod:`spectra.jacobians`, :mod:`spectra.linalg`, :mod:`spectra.analysis`.
Not ``spectra.plot``, not even inside a function: the figures of a monitor
live in ``spectra.plot`` (:func:`spectra.plot.plot_monitor`), which imports
this package, so the import graph runs plot -> monitor only.
:meth:`GradientMonitor.plot` delegates to that function through the top-level
namespace (``spectra.plot``, a leaf loaded on first attribute access, as in
user code), so ``import spectra`` never loads matplotlib.

Examples
--------
>>> import numpy as np
>>> from spectra.monitor import GradientMonitor
>>> mon = GradientMonitor(every=2, explode_factor=10.0)
>>> for step in range(6):
...     g = np.full(4, 1.0 if step < 4 else 50.0)
...     _ = mon.record(step, {"W1": g, "W2": 0.5 * g})
>>> mon.steps
[0, 2, 4]
>>> [(e.step, e.kind, e.name) for e in mon.events]
[(4, 'explode', 'W1'), (4, 'explode', 'W2'), (4, 'explode', 'total')]
"""

from ._alarms import Event, GradientAlarm
from ._history import StepRecord
from ._monitor import GradientMonitor

__all__ = ["GradientMonitor", "StepRecord", "Event", "GradientAlarm"]
