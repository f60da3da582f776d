"""The :class:`GradientMonitor`: the recording schedule, one :meth:`~GradientMonitor.record`, spectral summaries.

Reading gradients is :mod:`._reading`, judging norms :mod:`._alarms`, the
views of the history :mod:`._history`; this module ties them together.
"""

from __future__ import annotations

import numpy as np

from .._core.errors import NumericalError
from .._core.results import to_jsonable
from .._core.validation import check_int, check_real, describe
from ..analysis.products import gradient_norm_profile
from ..cells import Cell
from ..jacobians import as_jacobian_sequence
from ..linalg import top_singular_values
from ._alarms import KINDS as _KINDS, Event, GradientAlarm, NormWatch
from ._history import StepRecord, gradient_names, series, tidy_records
from ._reading import combine_norms, named_arrays, safe_norm

__all__ = ["GradientMonitor"]


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
        self._watch = NormWatch()          # the last finite value of each series

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
        named = named_arrays(grads, "grads", grads=True)
        grad_norms = {}
        for name, g in named:
            v = safe_norm(g)
            grad_norms[name] = v
            self._check(step, name, v, events, growth=True, count=g)
        if named:
            total = combine_norms(list(grad_norms.values()))
            grad_norms["total"] = total
            self._check(step, "total", total, events, growth=True)
        weight_top = {}
        for name, W in named_arrays(weights, "weights", grads=False):
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
        k = min(self.top_k, min(A.shape))
        res = top_singular_values(A, k, tol=self.tol, rng=0, strict=False)
        if not res.converged:  # rare (the Krylov space may span the whole space): dense answer
            return np.linalg.svd(A, compute_uv=False)[:k]
        return res.values.copy()

    def _check(self, step, name, value, events, *, growth, count=None):
        event = self._watch.check(step, name, value, explode_factor=self.explode_factor,
                                  vanish_factor=self.vanish_factor, growth=growth, count=count)
        if event is not None:
            events.append(event)

    def _trajectory(self, step, trajectory, inputs, vector, events):
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
        return gradient_names(self._history)

    def series(self, name, kind="grad_norm"):
        """``(steps, values)`` arrays of one series over the recordings that have it.

        ``kind``: ``"grad_norm"`` (``name`` a gradient or ``"total"``; values
        (R,)), ``"weight_sv"`` (``name`` a weight; values (R, k)),
        ``"lag_log_norm"`` or ``"jacobian_sv"`` (``name`` ignored; values
        (R, T) or (R, k), NaN-padded where recordings differ in length).
        """
        return series(self._history, name, kind)

    @property
    def records(self) -> list:
        """Tidy records: one dict per value, with keys step, kind, name, index, value.

        ``kind`` is ``grad_norm`` (index None), ``weight_sv`` and
        ``jacobian_sv`` (index = rank 1..k), ``lag_log_norm`` (index = lag,
        value a natural log).  ``pandas.DataFrame(mon.records)`` gives a
        long-format table.
        """
        return tidy_records(self._history)

    def to_dict(self) -> dict:
        """The configuration, the tidy records and the events, as strict-JSON data.

        Under the package's one JSON policy (:func:`spectra._core.results.to_jsonable`),
        which also decides how non-finite values are written.
        """
        return to_jsonable({"config": {"every": self.every,
                           "at_steps": None if self._chosen is None else sorted(self._chosen),
                           "explode_factor": self.explode_factor, "vanish_factor": self.vanish_factor,
                           "top_k": self.top_k, "raise_on": list(self.raise_on)},
                "records": self.records, "events": self.events})

    def plot(self, kind="summary", *, ax=None):
        """A Figure of the history: delegates to :func:`spectra.plot.plot_monitor`.

        ``kind``: ``"summary"`` (two panels: norms over steps, and across
        layers at a few steps), ``"history"``, ``"layers"`` or ``"lags"``.

        The monitor never imports :mod:`spectra.plot` (plot imports the
        monitor); this convenience method reaches the figure through the
        top-level namespace, whose leaves (``spectra.plot`` among them) load
        on first attribute access, exactly as in user code.
        """
        import spectra                           # spectra.plot: a lazy leaf of the namespace

        return spectra.plot.plot_monitor(self, kind, ax=ax)
