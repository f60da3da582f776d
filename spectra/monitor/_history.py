"""The history: one :class:`StepRecord` per recording, and the views a monitor gives of a list of them.

The functions take the list of records (oldest first) and return series
(:func:`series`), tidy long-format rows (:func:`tidy_records`) or the
gradient names (:func:`gradient_names`); :class:`GradientMonitor` exposes
them as properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._core.results import Result, to_jsonable
from ._alarms import KINDS

__all__ = ["StepRecord", "SERIES_KINDS", "series", "tidy_records", "gradient_names"]

#: The kinds of series a history holds.
SERIES_KINDS = ("grad_norm", "weight_sv", "lag_log_norm", "jacobian_sv")


@dataclass(frozen=True, repr=False)
class StepRecord(Result):
    """Everything recorded at one step.

    Attributes
    ----------
    step : int
    grad_norms : dict of str to float
        Frobenius norm of each gradient, in the order given, plus ``"total"``
        (the global norm, what gradient clipping uses) when there are any.
    weight_top : dict of str to (k,) ndarray
        Top-k singular values of each weight matrix.
    lag_log_norms : (T,) ndarray or None
        log ||dh_T/dh_{T-lag}|| (or of v^T dh_T/dh_{T-lag}) for lag = 1..T.
    jacobian_top : (k,) ndarray or None
        Top-k singular values of dh_T/dh_0 of the trajectory.
    events : tuple of Event

    Examples
    --------
    >>> import numpy as np
    >>> from spectra.monitor import StepRecord
    >>> rec = StepRecord(3, {"W": 2.0, "total": 2.0}, lag_log_norms=np.log([0.5, 0.25]))
    >>> rec.status, rec.to_dict()["lag_log_norms"]
    ('ok', [-0.6931471805599453, -1.3862943611198906])
    """

    step: int
    grad_norms: dict = field(default_factory=dict)
    weight_top: dict = field(default_factory=dict)
    lag_log_norms: np.ndarray | None = None
    jacobian_top: np.ndarray | None = None
    events: tuple = ()

    @property
    def status(self) -> str:
        """``"ok"``, or the most serious event kind: nonfinite > explode > vanish."""
        kinds = {e.kind for e in self.events}
        for k in KINDS:
            if k in kinds:
                return k
        return "ok"

    def to_dict(self) -> dict:
        """The fields as strict-JSON data (the package's one policy), with ``status`` after ``step``."""
        d = super().to_dict()
        return {"step": d.pop("step"), "status": to_jsonable(self.status), **d}


def gradient_names(history) -> list:
    """Gradient names in first-seen order (``"total"`` last)."""
    seen = {}
    for r in history:
        for k in r.grad_norms:
            if k != "total":
                seen.setdefault(k, None)
    if any("total" in r.grad_norms for r in history):
        seen["total"] = None
    return list(seen)


def series(history, name, kind="grad_norm"):
    """``(steps, values)`` arrays of one series over the records that have it (see
    :meth:`GradientMonitor.series`)."""
    if kind not in SERIES_KINDS:
        raise ValueError(f"`kind` must be one of 'grad_norm', 'weight_sv', 'lag_log_norm', "
                         f"'jacobian_sv'; got {kind!r}")
    steps, vals = [], []
    for r in history:
        if kind == "grad_norm":
            v = r.grad_norms.get(name)
        elif kind == "weight_sv":
            v = r.weight_top.get(name)
        elif kind == "lag_log_norm":
            v = r.lag_log_norms
        else:
            v = r.jacobian_top
        if v is not None:
            steps.append(r.step)
            vals.append(np.atleast_1d(np.asarray(v, dtype=np.float64)))
    if kind == "grad_norm":
        return np.asarray(steps, dtype=int), np.concatenate(vals) if vals else np.zeros(0)
    width = max((v.size for v in vals), default=0)
    out = np.full((len(vals), width), np.nan)      # NaN-padded when lengths differ
    for i, v in enumerate(vals):
        out[i, :v.size] = v
    return np.asarray(steps, dtype=int), out


def tidy_records(history) -> list:
    """One dict per recorded value, with keys step, kind, name, index, value (see
    :attr:`GradientMonitor.records`)."""
    out = []
    for r in history:
        for name, v in r.grad_norms.items():
            out.append({"step": r.step, "kind": "grad_norm", "name": name, "index": None,
                        "value": float(v)})
        for name, vals in r.weight_top.items():
            for i, v in enumerate(vals, start=1):
                out.append({"step": r.step, "kind": "weight_sv", "name": name, "index": i,
                            "value": float(v)})
        if r.lag_log_norms is not None:
            for i, v in enumerate(r.lag_log_norms, start=1):
                out.append({"step": r.step, "kind": "lag_log_norm", "name": "trajectory",
                            "index": i, "value": float(v)})
        if r.jacobian_top is not None:
            for i, v in enumerate(r.jacobian_top, start=1):
                out.append({"step": r.step, "kind": "jacobian_sv", "name": "trajectory",
                            "index": i, "value": float(v)})
    return out
