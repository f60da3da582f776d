"""Alarms: what the monitor flags (:class:`Event`), when (:class:`NormWatch`), and the exception.

A norm is flagged ``nonfinite`` when it is NaN or infinite, ``explode`` when
it grew by more than ``explode_factor`` since the previous recording of the
same series, and ``vanish`` when it fell by more than ``vanish_factor``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.errors import NumericalError
from .._core.results import Result

__all__ = ["KINDS", "Event", "GradientAlarm", "NormWatch"]

#: Event kinds, most serious first.
KINDS = ("nonfinite", "explode", "vanish")


class GradientAlarm(NumericalError):
    """Raised by :meth:`GradientMonitor.record` for an event of a kind listed in ``raise_on``.

    The step is recorded before raising; ``events`` holds that step's events.
    """

    def __init__(self, message, events=()):
        super().__init__(message)
        self.events = tuple(events)


@dataclass(frozen=True, repr=False)
class Event(Result):
    """Something the monitor flagged at one recording.

    Attributes
    ----------
    step : int
    kind : {"nonfinite", "explode", "vanish"}
    name : str
        The gradient (parameter name, ``"total"``), ``"weight:<name>"`` for a
        weight matrix, or ``"trajectory"``.
    value : float
        The value that triggered the event (NaN/inf for ``nonfinite``).
    previous : float or None
        The same series at the previous recording.
    factor : float or None
        value / previous (explode) or previous / value (vanish); ``inf`` when
        that ratio is beyond the float range: a fall to exactly 0 (the message
        says "fell to 0") or a change by more than about 1.8e308 (the message
        gives the factor as a power of ten).
    message : str

    Examples
    --------
    >>> from spectra.monitor import Event
    >>> e = Event(4, "explode", "W1", 50.0, 1.0, 50.0, "W1: norm grew 50x (1 -> 50)")
    >>> e.to_dict()["factor"], Event(5, "nonfinite", "W1", float("inf")).to_dict()["value"]
    (50.0, 'inf')
    """

    step: int
    kind: str
    name: str
    value: float
    previous: float | None = None
    factor: float | None = None
    message: str = ""


class NormWatch:
    """The last finite value of each named series, and the event a new value raises.

    Examples
    --------
    >>> from spectra.monitor._alarms import NormWatch
    >>> watch = NormWatch()
    >>> watch.check(0, "W", 1.0, explode_factor=10.0) is None
    True
    >>> watch.check(1, "W", 20.0, explode_factor=10.0).kind
    'explode'
    """

    def __init__(self):
        self.last = {}

    def check(self, step, name, value, *, explode_factor=None, vanish_factor=None, growth=True,
              count=None):
        """The :class:`Event` that ``value`` raises for series ``name`` at ``step``, or None.

        Parameters
        ----------
        step : int
        name : str
        value : float
        explode_factor, vanish_factor : float or None
            Thresholds on the growth and the fall since the previous finite value.
        growth : bool
            Judge growth and fall (otherwise only non-finite values raise).
        count : ndarray, optional
            The array ``value`` measures, to count its non-finite entries.
        """
        if not math.isfinite(value):
            bad = ""
            if count is not None:
                nbad = int(count.size - np.count_nonzero(np.isfinite(count)))
                bad = f" ({nbad} non-finite entr{'y' if nbad == 1 else 'ies'})"
            return Event(step, "nonfinite", name, value, self.last.get(name), None,
                         f"{name}: non-finite values{bad}")
        prev = self.last.get(name)
        self.last[name] = value
        if not growth or prev is None or not math.isfinite(prev):
            return None
        if explode_factor is not None and prev > 0 and value > explode_factor * prev:
            f, text = _ratio(value, prev)
            return Event(step, "explode", name, value, prev, f,
                         f"{name}: norm grew {text} ({prev:.3g} -> {value:.3g})")
        if vanish_factor is not None and prev > 0 and value * vanish_factor < prev:
            if value == 0.0:
                return Event(step, "vanish", name, value, prev, math.inf,
                             f"{name}: norm fell to 0 (from {prev:.3g})")
            f, text = _ratio(prev, value)
            return Event(step, "vanish", name, value, prev, f,
                         f"{name}: norm fell {text} ({prev:.3g} -> {value:.3g})")
        return None


def _ratio(big, small):
    """``(big / small, "<factor>x")`` for positive finite values; a power of ten when it overflows.

    >>> _ratio(50.0, 1.0)
    (50.0, '50x')
    >>> _ratio(1e300, 1e-300)
    (inf, '1e+600x')
    """
    with np.errstate(over="ignore"):
        f = float(np.float64(big) / np.float64(small))
    if math.isfinite(f):
        return f, f"{f:.3g}x"
    return math.inf, f"1e+{math.log10(big) - math.log10(small):.0f}x"
