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

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._core.errors import NumericalError
from ._core.interop import is_tensor, tensor_to_numpy
from ._core.validation import check_int, check_real, describe

__all__ = ["GradientMonitor", "StepRecord", "Event", "GradientAlarm"]

_KINDS = ("nonfinite", "explode", "vanish")


class GradientAlarm(NumericalError):
    """Raised by :meth:`GradientMonitor.record` for an event of a kind listed in ``raise_on``.

    The step is recorded before raising; ``events`` holds that step's events.
    """

    def __init__(self, message, events=()):
        super().__init__(message)
        self.events = tuple(events)


@dataclass(frozen=True)
class Event:
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
        value / previous (explode) or previous / value (vanish).
    message : str
    """

    step: int
    kind: str
    name: str
    value: float
    previous: float | None = None
    factor: float | None = None
    message: str = ""

    def to_dict(self) -> dict:
        return {"step": self.step, "kind": self.kind, "name": self.name, "value": self.value,
                "previous": self.previous, "factor": self.factor, "message": self.message}


@dataclass(frozen=True)
class StepRecord:
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
        for k in _KINDS:
            if k in kinds:
                return k
        return "ok"

    def to_dict(self) -> dict:
        arr = (lambda a: None if a is None else [float(x) for x in a])
        return {"step": self.step, "status": self.status,
                "grad_norms": {k: float(v) for k, v in self.grad_norms.items()},
                "weight_top": {k: arr(v) for k, v in self.weight_top.items()},
                "lag_log_norms": arr(self.lag_log_norms), "jacobian_top": arr(self.jacobian_top),
                "events": [e.to_dict() for e in self.events]}


# ---------------------------------------------------------------------------------------


def _to_numpy(x, name):
    """A float64 numpy copy of an array or tensor; non-finite values are kept (they are data here)."""
    if is_tensor(x):
        x = tensor_to_numpy(x, upcast=True)
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"`{name}` must be an array of real numbers; got {describe(x)}")
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise ValueError(f"`{name}` must be a rectangular array of real numbers; could not convert "
                         f"{describe(x)} ({exc})") from exc
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be an array of real numbers; got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def _named_arrays(obj, what, *, grads):
    """[(name, array)] from a mapping, a sequence, (name, array) pairs or a torch module."""
    if obj is None:
        return []
    if callable(getattr(obj, "named_parameters", None)):  # a torch module, or anything like it
        out = []
        for name, p in obj.named_parameters():
            if grads:
                g = getattr(p, "grad", None)
                if g is not None:
                    out.append((name, _to_numpy(g, f"{what}[{name!r}]")))
            elif len(getattr(p, "shape", ())) == 2:
                out.append((name, _to_numpy(p, f"{what}[{name!r}]")))
        return out
    if isinstance(obj, Mapping):
        return [(str(k), _to_numpy(v, f"{what}[{k!r}]")) for k, v in obj.items()]
    if isinstance(obj, np.ndarray) or is_tensor(obj):
        return [("0", _to_numpy(obj, what))]
    if isinstance(obj, (str, bytes)) or not hasattr(obj, "__iter__"):
        raise TypeError(f"`{what}` must be a dict of arrays, a sequence of arrays or a torch module "
                        f"(its parameters); got {describe(obj)}")
    out = []
    for i, item in enumerate(obj):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            out.append((item[0], _to_numpy(item[1], f"{what}[{item[0]!r}]")))
        else:
            out.append((str(i), _to_numpy(item, f"{what}[{i}]")))
    return out


def _safe_norm(a):
    """Frobenius norm without overflow or underflow for finite entries; NaN/inf propagate."""
    if a.size == 0:
        return 0.0
    if not np.all(np.isfinite(a)):
        return float("nan") if np.any(np.isnan(a)) else float("inf")
    m = float(np.max(np.abs(a)))
    if m == 0.0:
        return 0.0
    return m * float(np.sqrt(np.sum(np.square(a / m))))


def _combine(norms):
    """The global norm from per-array norms (overflow-free)."""
    vals = [v for v in norms]
    if any(math.isnan(v) for v in vals):
        return float("nan")
    if any(math.isinf(v) for v in vals):
        return float("inf")
    m = max(vals, default=0.0)
    if m == 0.0:
        return 0.0
    return m * math.sqrt(sum((v / m) ** 2 for v in vals))


class GradientMonitor:
    """Records gradient norms and spectral summaries at chosen training steps.

    Parameters
    ----------
    every : int
        Record at steps divisible by ``every`` (default 1: every step).
        Ignored when ``at_steps`` is given.
    at_steps : iterable of int, optional
        Record exactly at these steps.
    explode_factor : float or None
        Flag ``explode`` when a gradient norm is more than this factor above
        its value at the previous recording (default 10; None: off).
    vanish_factor : float or None
        Flag ``vanish`` when a gradient norm falls by more than this factor
        between recordings (default None: off, since gradients normally
        shrink as training converges).
    top_k : int
        Number of singular values kept for weight matrices and Jacobian
        products (default 3).
    raise_on : str or sequence of str
        Event kinds (``"nonfinite"``, ``"explode"``, ``"vanish"``) that raise
        a :class:`GradientAlarm` after the step is recorded (default none).
    tol : float
        Relative accuracy of the Lanczos top-k singular values.

    Notes
    -----
    The norm of each gradient is the Frobenius norm, computed with scaling
    so that it neither overflows nor underflows; ``"total"`` is the global
    norm over all gradients (what ``clip_grad_norm_`` clips).  Explosion and
    vanishing are judged per gradient (and for the total) against the
    previous recording of the same gradient; per-lag norms and singular
    values are recorded and checked for non-finite values only.

    Examples
    --------
    >>> import numpy as np
    >>> from spectra.monitor import GradientMonitor
    >>> mon = GradientMonitor(every=10, top_k=2)
    >>> W = np.diag([3.0, 2.0, 1.0])
    >>> rec = mon.record(0, {"W": np.ones((3, 3))}, weights={"W": W})
    >>> rec.grad_norms["W"], rec.weight_top["W"]
    (3.0, array([3., 2.]))
    >>> mon.record(5, {"W": np.ones((3, 3))}) is None          # not a recording step
    True
    """

    def __init__(self, *, every=1, at_steps=None, explode_factor=10.0, vanish_factor=None, top_k=3,
                 raise_on=(), tol=1e-8):
        self.every = check_int(every, "every", minimum=1)
        if at_steps is not None:
            if isinstance(at_steps, (str, bytes)) or not hasattr(at_steps, "__iter__"):
                raise TypeError(f"`at_steps` must be an iterable of integers; got {describe(at_steps)}")
            at_steps = frozenset(check_int(s, "at_steps", minimum=0) for s in at_steps)
        self._chosen = at_steps
        self.explode_factor = check_real(explode_factor, "explode_factor", low=1.0, low_open=True,
                                         allow_none=True)
        self.vanish_factor = check_real(vanish_factor, "vanish_factor", low=1.0, low_open=True,
                                        allow_none=True)
        self.top_k = check_int(top_k, "top_k", minimum=0)
        if isinstance(raise_on, str):
            raise_on = (raise_on,)
        if not hasattr(raise_on, "__iter__"):
            raise TypeError(f"`raise_on` must be a kind or a sequence of kinds {list(_KINDS)}; "
                            f"got {describe(raise_on)}")
        raise_on = tuple(raise_on)
        for k in raise_on:
            if k not in _KINDS:
                raise ValueError(f"`raise_on` entries must be among {list(_KINDS)}; got {k!r}")
        self.raise_on = raise_on
        self.tol = check_real(tol, "tol", low=0.0, low_open=True)
        self._history = []
        self._last = {}

    # -- configuration -----------------------------------------------------------------
    def due(self, step) -> bool:
        """Whether ``step`` is a recording step (use it to skip expensive work)."""
        step = check_int(step, "step", minimum=0)
        if self._chosen is not None:
            return step in self._chosen
        return step % self.every == 0

    def __repr__(self) -> str:
        when = f"at_steps={sorted(self._chosen)}" if self._chosen is not None else f"every={self.every}"
        return f"GradientMonitor({when}, recorded={len(self._history)}, events={len(self.events)})"

    # -- recording ---------------------------------------------------------------------
    def record(self, step, grads=None, *, weights=None, trajectory=None, inputs=None, vector=None,
               force=False):
        """Record one training step (does nothing and returns None unless it is due).

        Parameters
        ----------
        step : int
            The training step (>= 0, increasing).
        grads : dict of arrays, sequence of arrays, or a torch module, optional
            The gradients, e.g. ``{"W1": dW1, ...}``; a module's parameters
            are read through ``named_parameters()`` and their ``.grad``
            (parameters without a gradient are skipped); unnamed arrays are
            named "0", "1", ...
        weights : dict of matrices, sequence of matrices, or a torch module, optional
            Weight matrices whose top-k singular values to record (a module:
            its 2-D parameters).
        trajectory : Trajectory, JacobianSequence or spectra cell, optional
            A run of the network: its per-lag (per-layer) gradient norms
            log ||dh_T/dh_{T-lag}|| and the top-k singular values of
            dh_T/dh_0 are recorded.  A cell (e.g.
            ``spectra.ElmanRNN.from_torch(model.rnn)``) is run on ``inputs``
            first.
        inputs : array_like, optional
            Inputs for a cell given as ``trajectory``.
        vector : (n,) array_like, optional
            dE/dh_T: record the norms of this gradient carried back
            (O(T n^2)) instead of the spectral norms of the products
            (O(T n^3)).
        force : bool
            Record even if ``step`` is not due.

        Returns
        -------
        StepRecord or None

        Raises
        ------
        GradientAlarm
            After recording, when an event of a kind in ``raise_on`` occurred.
        """
        step = check_int(step, "step", minimum=0)
        if not (force or self.due(step)):
            return None
        if self._history and step <= self._history[-1].step:
            raise ValueError(f"`step` must increase from one recording to the next; got step={step} "
                             f"after step={self._history[-1].step}")
        events = []
        named = _named_arrays(grads, "grads", grads=True)
        grad_norms = {}
        for name, g in named:
            v = _safe_norm(g)
            grad_norms[name] = v
            self._check(step, name, v, events, growth=True, count=g)
        if named:
            total = _combine(list(grad_norms.values()))
            grad_norms["total"] = total
            self._check(step, "total", total, events, growth=True)
        weight_top = {}
        for name, W in _named_arrays(weights, "weights", grads=False):
            if W.ndim != 2:
                raise ValueError(f"`weights[{name!r}]` must be a matrix; got shape {W.shape}")
            if not np.all(np.isfinite(W)):
                weight_top[name] = np.full(min(self.top_k, min(W.shape)), np.nan)
                self._check(step, f"weight:{name}", float("nan"), events, growth=False, count=W)
            elif self.top_k:
                weight_top[name] = self._top(W)
        lag, jtop = None, None
        if trajectory is not None:
            lag, jtop = self._trajectory(step, trajectory, inputs, vector, events)
        rec = StepRecord(step, grad_norms, weight_top, lag, jtop, tuple(events))
        self._history.append(rec)
        alarm = [e for e in events if e.kind in self.raise_on]
        if alarm:
            raise GradientAlarm(f"step {step}: " + "; ".join(e.message for e in alarm), alarm)
        return rec

    def _top(self, A):
        from .linalg.dense import top_singular_values

        k = min(self.top_k, min(A.shape))
        res = top_singular_values(A, k, tol=self.tol, rng=0, strict=False)
        if not res.converged:  # rare (the Krylov space may span the whole space): dense answer
            return np.linalg.svd(A, compute_uv=False)[:k]
        return res.values.copy()

    def _check(self, step, name, value, events, *, growth, count=None):
        if not math.isfinite(value):
            bad = ""
            if count is not None:
                nbad = int(count.size - np.count_nonzero(np.isfinite(count)))
                bad = f" ({nbad} non-finite entr{'y' if nbad == 1 else 'ies'})"
            events.append(Event(step, "nonfinite", name, value, self._last.get(name), None,
                                f"{name}: non-finite values{bad}"))
            return
        prev = self._last.get(name)
        self._last[name] = value
        if not growth or prev is None or not math.isfinite(prev):
            return
        if self.explode_factor is not None and prev > 0 and value > self.explode_factor * prev:
            f = value / prev
            events.append(Event(step, "explode", name, value, prev, f,
                                f"{name}: norm grew {f:.3g}x ({prev:.3g} -> {value:.3g})"))
        elif self.vanish_factor is not None and prev > 0 and value * self.vanish_factor < prev:
            f = prev / value if value > 0 else float("inf")
            events.append(Event(step, "vanish", name, value, prev, f,
                                f"{name}: norm fell {f:.3g}x ({prev:.3g} -> {value:.3g})"))

    def _trajectory(self, step, trajectory, inputs, vector, events):
        from .cells.base import Cell
        from .jacobians import as_jacobian_sequence
        from .analysis.products import gradient_norm_profile

        if isinstance(trajectory, Cell):
            if inputs is None:
                raise ValueError("`inputs` is needed to run the cell given as `trajectory`")
            trajectory = trajectory.run(inputs)
        elif inputs is not None:
            raise ValueError("`inputs` is used only when `trajectory` is a cell to run")
        seq = as_jacobian_sequence(trajectory, name="trajectory")
        if seq.batch_shape:
            raise ValueError(f"`trajectory` must be a single run; got batch shape {seq.batch_shape} "
                             "(use trajectory.select(b))")
        try:
            prof = gradient_norm_profile(seq, vector=vector)
            lag = np.asarray(prof.log_norms, dtype=np.float64)
        except NumericalError as exc:  # a non-finite Jacobian
            lag = np.full(seq.steps, np.nan)
            events.append(Event(step, "nonfinite", "trajectory", float("nan"), None, None,
                                f"trajectory: {exc}"))
            return lag, None
        jtop = None
        if self.top_k and seq.steps:
            from .linalg.dense import top_singular_values

            k = min(self.top_k, seq.state_size(seq.steps), seq.state_size(0))
            try:
                res = top_singular_values(seq.operator(), k, tol=self.tol, rng=0, strict=False)
                # rare: not converged although the Krylov space may span the whole space
                jtop = res.values.copy() if res.converged else \
                    np.linalg.svd(seq.product(), compute_uv=False)[:k]
            except NumericalError as exc:
                jtop = np.full(k, np.nan)
                events.append(Event(step, "nonfinite", "trajectory", float("nan"), None, None,
                                    "trajectory: the Jacobian product dh_T/dh_0 overflows float64, "
                                    f"so its top singular values are not recorded ({exc}); "
                                    "lag_log_norms are exact"))
        return lag, jtop

    # -- history -----------------------------------------------------------------------
    @property
    def history(self) -> list:
        """The :class:`StepRecord` of every recording, in order."""
        return list(self._history)

    @property
    def steps(self) -> list:
        """The recorded steps."""
        return [r.step for r in self._history]

    @property
    def events(self) -> list:
        """Every :class:`Event`, in order."""
        return [e for r in self._history for e in r.events]

    @property
    def status(self) -> str:
        """The status of the latest recording (``"ok"`` before any)."""
        return self._history[-1].status if self._history else "ok"

    @property
    def names(self) -> list:
        """Gradient names in first-seen order (``"total"`` last)."""
        seen = {}
        for r in self._history:
            for k in r.grad_norms:
                if k != "total":
                    seen.setdefault(k, None)
        if any("total" in r.grad_norms for r in self._history):
            seen["total"] = None
        return list(seen)

    def series(self, name, kind="grad_norm"):
        """``(steps, values)`` arrays of one series over the recordings that have it.

        ``kind``: ``"grad_norm"`` (``name`` a gradient or ``"total"``; values
        (R,)), ``"weight_sv"`` (``name`` a weight; values (R, k)),
        ``"lag_log_norm"`` or ``"jacobian_sv"`` (``name`` ignored; values
        (R, T) or (R, k), NaN-padded where recordings differ in length).
        """
        if kind not in ("grad_norm", "weight_sv", "lag_log_norm", "jacobian_sv"):
            raise ValueError(f"`kind` must be one of 'grad_norm', 'weight_sv', 'lag_log_norm', "
                             f"'jacobian_sv'; got {kind!r}")
        steps, vals = [], []
        for r in self._history:
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

    @property
    def records(self) -> list:
        """Tidy records: one dict per value, with keys step, kind, name, index, value.

        ``kind`` is ``grad_norm`` (index None), ``weight_sv`` and
        ``jacobian_sv`` (index = rank 1..k), ``lag_log_norm`` (index = lag,
        value a natural log).  ``pandas.DataFrame(mon.records)`` gives a
        long-format table.
        """
        out = []
        for r in self._history:
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

    def to_dict(self) -> dict:
        """The configuration, the tidy records and the events (JSON-friendly)."""
        return {"config": {"every": self.every,
                           "at_steps": None if self._chosen is None else sorted(self._chosen),
                           "explode_factor": self.explode_factor, "vanish_factor": self.vanish_factor,
                           "top_k": self.top_k, "raise_on": list(self.raise_on)},
                "records": self.records, "events": [e.to_dict() for e in self.events]}

    def plot(self, kind="summary", *, ax=None):
        """A Figure of the history (see :mod:`spectra.plot`; matplotlib loaded on first use).

        ``kind``: ``"summary"`` (two panels: norms over steps, and across
        layers at a few steps), ``"history"``, ``"layers"`` or ``"lags"``.
        """
        from .plot import _monitor

        return _monitor.plot_monitor(self, kind, ax=ax)
