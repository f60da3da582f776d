"""The cell protocol and the engine that runs every cell.

:class:`Cell` is the abstract base of step maps; :func:`simulate` runs one
over its inputs and returns a :class:`~spectra.Trajectory`; :class:`Recurrence`
describes cells of the classic form ``h_t = f(W h_{t-1} + W_in x_t + b)``
(with an optional leak) to the analyses that need their weights (classic
bounds, penalties, echo-state checks, exact BPTT).

May import: :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import abc
from typing import NamedTuple

import numpy as np

from .._core.errors import NumericalError
from .._core.validation import as_array, check_choice, check_int
from ..jacobians.sequence import LAYOUTS
from ..jacobians.trajectory import Trajectory

__all__ = ["Cell", "Recurrence", "simulate", "frozen", "state_vector"]


def frozen(a):
    """A read-only copy of ``a`` (None stays None)."""
    if a is None:
        return None
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def state_vector(v, name, n, dtype):
    """``v`` validated as a state of length ``n``, shape ``(n,)`` or ``(B, n)``."""
    v = as_array(v, name, dtype=dtype, ndim=(1, 2))
    if v.shape[-1] != n:
        raise ValueError(f"`{name}` must have length {n} (shape ({n},) or (B, {n})); got shape {v.shape}")
    return v


class Recurrence(NamedTuple):
    """A cell of the classic form, for the analyses that need its weights.

    ``form="elman"``: ``a_t = W h_{t-1} + W_in x_t + b``,
    ``h_t = alpha h_{t-1} + (1 - alpha) f(a_t)`` (``alpha`` None: no leak; else a
    scalar or one value per unit).
    ``form="recurrent_first"``: ``h_t = W f(h_{t-1}) + W_in x_t + b``.
    """

    form: str
    W: np.ndarray
    W_in: np.ndarray | None
    b: np.ndarray | None
    activation: object
    alpha: np.ndarray | None = None


class Cell(abc.ABC):
    """A step map h_t = F(h_{t-1}, x_t) with analytic, factored step Jacobians.

    The protocol.  A subclass sets ``n`` (state size), ``input_size`` (0 when
    it takes no input) and ``dtype``, and implements four hooks; a class that
    misses one cannot be instantiated (``TypeError`` at construction, naming
    the hook), rather than failing deep inside an analysis:

    ``input_drive(X, steps, batch_shape)``
        The input contribution of every step at once: ``(..., T, m)`` from the
        inputs ``X`` (``(..., T, d)``, or None for an autonomous run of
        ``steps`` steps).  ``m`` is whatever ``advance`` consumes.
    ``advance(h, u)``
        One step from state ``h`` (``(..., n)``) and drive ``u``: returns the
        new state and an auxiliary vector the Jacobians need (or None).
    ``factored_jacobians(states, aux)``
        The step Jacobians of a run as a :class:`~spectra.JacobianSequence`,
        from the states ``(..., T+1, n)`` and the stacked auxiliaries.
    ``parameters()``
        The parameters by name, ``{name: array}``.

    Optional hooks with defaults: ``initial_state(h0, batch_shape, name)``
    (zeros), ``hidden_part(states)`` (the states themselves) and
    ``recurrence()`` (None; a cell of the form ``f(W h + W_in x + b)``, with
    an optional leak, returns a :class:`Recurrence`, which gives it the
    classic bounds, penalties and exact BPTT).

    Optional hook without a default: ``input_jacobians(states, aux)``, the
    input Jacobians ``B_t = dh_t/dx_t`` (n x d) of a run as a rectangular
    :class:`~spectra.JacobianSequence` (same arguments as
    ``factored_jacobians``).  :class:`~spectra.Stack` needs it for every layer
    above the first, and ``Trajectory.input_jacobian(t, k)`` uses it.  The
    built-in recurrent cells implement it.

    Optional hook without a default: ``parameter_vjp(states, inputs, aux,
    cotangents, *, per_step=False)``, the parameter cotangents of a run.
    ``cotangents`` ``(..., T, n)`` holds a vector ``u_t`` on each new state
    ``h_t`` (t = 1..T); the hook returns ``{name: g}`` over the names of
    ``parameters()`` with ``g = sum_t (dF_t/dtheta)^T u_t`` summed over the
    steps and the batch axes, in float64, of the parameter's shape
    (``per_step=True`` keeps them: shape ``(..., T) + shape``).  ``inputs`` is
    the run's ``(..., T, d)`` inputs (None for an autonomous run).  Exact
    BPTT (:func:`~spectra.bptt_gradient`) and parameter sensitivities use it
    through ``Trajectory.parameter_vjp``.

    Optional attribute: ``torch_names``, ``{torch name: parameter name}`` for
    a cell loaded from PyTorch (:func:`~spectra.from_torch` sets it, e.g.
    ``{"weight_hh_l0": "W_hh", "bias_ih_l0": "b", "bias_hh_l0": "b"}``), so
    gradients can be reported under the module's own names; None otherwise.

    Register a cell under a name with :func:`~spectra.cells.register_cell`
    to make it available to the CLI (``--cell``), sweeps and the symbolic
    layer.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> class Scale(spectra.Cell):          # h_t = d * h_{t-1}
    ...     def __init__(self, d):
    ...         self.d = np.asarray(d, dtype=float); self.n = self.d.size
    ...     def input_drive(self, X, steps, batch_shape):
    ...         return np.zeros((steps, self.n))
    ...     def advance(self, h, u):
    ...         return self.d * h + u, None
    ...     def factored_jacobians(self, states, aux):
    ...         T = states.shape[-2] - 1
    ...         return spectra.DenseJacobians(np.broadcast_to(np.diag(self.d), (T, self.n, self.n)))
    ...     def parameters(self):
    ...         return {"d": self.d}
    >>> Scale([0.5, 2.0]).run(h0=[1.0, 1.0], steps=3).states[-1]
    array([0.125, 8.   ])
    """

    n: int
    input_size: int = 0
    dtype = np.dtype(np.float64)
    torch_names = None

    # -- public ------------------------------------------------------------------------
    def run(self, inputs=None, *, h0=None, steps=None):
        """Run the cell over ``inputs`` (or autonomously for ``steps`` steps).

        Parameters
        ----------
        inputs : (T, d) or (B, T, d) array_like, optional
            Inputs x_1..x_T (a leading batch axis runs B independent
            sequences at once).  None runs with zero input (only the bias
            drives the cell); ``steps`` then gives T.
        h0 : (n,) or (B, n) array_like, optional
            Initial state (zeros by default).
        steps : int, optional
            T; required when ``inputs`` is None, must match it otherwise.

        Returns
        -------
        Trajectory
        """
        return simulate(self, inputs, h0=h0, steps=steps)

    def step(self, h_prev, x=None) -> np.ndarray:
        """One step: h_t from h_{t-1} (shape ``(n,)`` or ``(B, n)``) and x_t."""
        return self._one_step(h_prev, x).states[..., 1, :].copy()

    def step_jacobian(self, h_prev, x=None, *, layout: str = "numerator") -> np.ndarray:
        """``dh_t/dh_{t-1}`` at ``h_prev`` and input ``x`` (dense n x n).

        ``layout="backprop"`` gives the transpose, which maps dE/dh_t to
        dE/dh_{t-1}.
        """
        check_choice(layout, "layout", LAYOUTS)
        return self._one_step(h_prev, x).jacobian(1, layout=layout)

    def jvp(self, h_prev, v, x=None) -> np.ndarray:
        """``(dh_t/dh_{t-1}) v`` without forming the Jacobian."""
        seq = self._one_step(h_prev, x).jacobian_sequence
        return seq.matvec(1, state_vector(v, "v", self.n, self.dtype))

    def vjp(self, h_prev, u, x=None) -> np.ndarray:
        """``(dh_t/dh_{t-1})^T u`` without forming the Jacobian (one backprop step)."""
        seq = self._one_step(h_prev, x).jacobian_sequence
        return seq.rmatvec(1, state_vector(u, "u", self.n, self.dtype))

    def _one_step(self, h_prev, x):
        if h_prev is None:
            raise TypeError("`h_prev` must be a state vector; got None")
        if x is None:
            return simulate(self, None, h0=h_prev, steps=1, h0_name="h_prev")
        x = as_array(x, "x", dtype=self.dtype, ndim=(1, 2))
        return simulate(self, x[..., None, :], h0=h_prev, h0_name="h_prev")

    # -- the protocol ------------------------------------------------------------------
    @abc.abstractmethod
    def input_drive(self, X, steps, batch_shape):
        """The input contribution of every step, ``(..., T, m)`` (``X`` None: autonomous)."""

    @abc.abstractmethod
    def advance(self, h, u):
        """One step: ``(h_t, aux_t)`` from ``h_{t-1}`` and the drive ``u_t``."""

    @abc.abstractmethod
    def factored_jacobians(self, states, aux):
        """The step Jacobians of a run as a :class:`~spectra.JacobianSequence`."""

    @abc.abstractmethod
    def parameters(self) -> dict:
        """The parameters by name, ``{name: ndarray}`` (read-only arrays)."""

    def initial_state(self, h0, batch_shape, name="h0"):
        """The initial state (zeros when ``h0`` is None), validated."""
        if h0 is None:
            return np.zeros(batch_shape + (self.n,), dtype=self.dtype)
        h0 = as_array(h0, name, dtype=self.dtype, ndim=(1, 2))
        if h0.shape[-1] != self.n:
            raise ValueError(f"`{name}` must have length {self.n} (shape ({self.n},) or (B, {self.n})); "
                             f"got shape {h0.shape}")
        return h0

    def hidden_part(self, states):
        """The hidden part of the states (all of it, except for cells such as the LSTM)."""
        return states

    def input_jacobians(self, states, aux):
        """The input Jacobians ``dh_t/dx_t`` of a run (optional hook; see the class docstring)."""
        raise TypeError(f"{type(self).__name__} does not implement the optional cell hook "
                        "input_jacobians(states, aux) (the input Jacobians dh_t/dx_t)")

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """The parameter cotangents of a run (optional hook; see the class docstring)."""
        raise TypeError(f"{type(self).__name__} does not implement the optional cell hook "
                        "parameter_vjp(states, inputs, aux, cotangents) (the parameter "
                        "gradients of a run)")

    def recurrence(self):
        """The cell as ``f(W h + W_in x + b)`` (with leak), a :class:`Recurrence`; None if it is not."""
        return None


def simulate(cell, inputs=None, *, h0=None, steps=None, h0_name="h0") -> Trajectory:
    """Run ``cell`` over ``inputs`` from ``h0``; the engine behind ``Cell.run``.

    The cell supplies the hooks of the :class:`Cell` protocol:
    ``initial_state``, ``input_drive`` (the input contribution of every step,
    computed in one matrix product), ``advance`` (one step, returning the new
    state and what the Jacobians need) and ``factored_jacobians``.
    """
    dtype = cell.dtype
    if inputs is not None:
        if not cell.input_size:
            raise ValueError(f"`inputs` given, but this {type(cell).__name__} has no input "
                             "matrix; pass steps=T for an autonomous run, or build the cell "
                             "with an input matrix")
        X = as_array(inputs, "inputs", dtype=dtype, ndim=(2, 3))
        if X.shape[-1] != cell.input_size:
            raise ValueError(f"`inputs` must have {cell.input_size} features in its last axis "
                             f"(shape (T, {cell.input_size}) or (B, T, {cell.input_size})); "
                             f"got shape {X.shape}")
        T = X.shape[-2]
        if steps is not None:
            steps = check_int(steps, "steps", minimum=0)
            if steps != T:
                raise ValueError(f"`steps` must equal the number of inputs ({T}) when both are "
                                 f"given; got steps={steps}")
        batch = X.shape[:-2]
    else:
        if steps is None:
            raise ValueError("`steps` is required when `inputs` is None "
                             "(e.g. cell.run(steps=100) for an autonomous run)")
        T = check_int(steps, "steps", minimum=0)
        X = None
        batch = ()
    H0 = cell.initial_state(h0, batch, h0_name)
    hb = H0.shape[:-1]
    if X is not None and hb and batch and hb != batch:
        raise ValueError(f"`{h0_name}` batch shape {hb} does not match `inputs` batch shape {batch}")
    batch = batch or hb
    if X is not None and batch and X.shape[:-2] != batch:
        X = np.broadcast_to(X, batch + X.shape[-2:])
    H0 = np.broadcast_to(H0, batch + H0.shape[-1:])
    U = cell.input_drive(X, T, batch)
    states = np.empty(batch + (T + 1, H0.shape[-1]), dtype=dtype)
    states[..., 0, :] = H0
    aux = None
    h = H0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for t in range(T):
            h, a = cell.advance(h, U[..., t, :])
            states[..., t + 1, :] = h
            if a is not None:
                if aux is None:
                    aux = np.empty(batch + (T, a.shape[-1]), dtype=dtype)
                aux[..., t, :] = a
    finite = np.isfinite(states).reshape(-1, T + 1, states.shape[-1]).all(axis=(0, 2))
    if not finite.all():
        first = int(np.argmin(finite))
        raise NumericalError(f"the state of the {type(cell).__name__} overflowed at step "
                             f"t={first} (non-finite h_{first}): the run diverges; reduce the "
                             "weights' gain or the number of steps")
    with np.errstate(under="ignore"):
        seq = cell.factored_jacobians(states, aux)
    return Trajectory(cell, states, X, seq, aux)
