"""Ensembles: B independent networks of the same form run as one batched cell.

:func:`ensemble` stacks the weights of B classic-form cells (Elman, leaky,
recurrent-first; the same n, activation and leak) into ``(B, n, n)`` arrays.
The ensemble is a :class:`~spectra.Cell` whose runs always carry a leading
network axis: member b is network b, advanced with its own weights, and every
step of a run or an analysis is one 3-D batched matrix product instead of a
Python loop over networks.  Its step Jacobians are a
:class:`~spectra.ScaledJacobians` with the stacked W, so products, gradient-norm
profiles and Lyapunov spectra come out with the network axis first.
"""

from __future__ import annotations

import numpy as np

from .base import Cell, frozen
from ..jacobians.structured import ScaledJacobians
from .._core.validation import as_array, describe

__all__ = ["Ensemble", "ensemble"]


class Ensemble(Cell):
    """B networks of the same classic form with stacked weights (see :func:`ensemble`).

    Parameters
    ----------
    cells : sequence of cells
        The members, each with a ``recurrence()`` of the same form, state size,
        input size, activation and leak.

    Attributes
    ----------
    cells : tuple
        The member cells (``select``-free access to network b: ``cells[b]``).
    size : int
        B, the number of networks.
    form : str
        ``"elman"`` (``f(W h + W_in x + b)``, with an optional leak) or
        ``"recurrent_first"`` (``W f(h) + W_in x + b``).
    """

    def __init__(self, cells):
        try:
            cells = tuple(cells)
        except TypeError:
            raise TypeError(f"`cells` must be a sequence of cells; got {describe(cells)}") from None
        if not cells:
            raise ValueError("`cells` must contain at least one cell; got an empty sequence")
        recs = []
        for i, c in enumerate(cells):
            rec = c.recurrence() if isinstance(c, Cell) else None
            if rec is None:
                raise TypeError(f"`cells[{i}]` must be a cell of the classic form f(W h + W_in x + b) "
                                f"(ElmanRNN, LeakyRNN, RecurrentFirstRNN); got {describe(c)}")
            recs.append(rec)
        r0 = recs[0]
        for i, r in enumerate(recs[1:], 1):
            for what, a, b in (("form", r.form, r0.form), ("n", r.W.shape, r0.W.shape),
                               ("activation", r.activation.name, r0.activation.name),
                               ("input size", None if r.W_in is None else r.W_in.shape,
                                None if r0.W_in is None else r0.W_in.shape),
                               ("bias", r.b is None, r0.b is None)):
                if a != b:
                    raise ValueError(f"`cells` must share their {what}: cells[{i}] has {a!r}, "
                                     f"cells[0] has {b!r}")
            same_leak = (r.alpha is None and r0.alpha is None) or (
                r.alpha is not None and r0.alpha is not None
                and np.array_equal(np.asarray(r.alpha), np.asarray(r0.alpha)))
            if not same_leak:
                raise ValueError(f"`cells` must share their leak alpha: cells[{i}] has {r.alpha!r}, "
                                 f"cells[0] has {r0.alpha!r}")
        self.cells = cells
        self.size = len(cells)
        self.form = r0.form
        self.activation = r0.activation
        self.n = r0.W.shape[0]
        self.input_size = 0 if r0.W_in is None else r0.W_in.shape[1]
        self.dtype = np.dtype(np.float64)
        self._alpha = None if r0.alpha is None else np.asarray(r0.alpha, dtype=np.float64)
        self._W = frozen(np.stack([np.asarray(r.W, dtype=np.float64) for r in recs]))
        self._W_in = None if r0.W_in is None else frozen(
            np.stack([np.asarray(r.W_in, dtype=np.float64) for r in recs]))
        self._b = None if r0.b is None else frozen(
            np.stack([np.asarray(r.b, dtype=np.float64) for r in recs]))

    def __repr__(self) -> str:
        extra = f", input_size={self.input_size}" if self.input_size else ""
        return (f"Ensemble(size={self.size}, form={self.form!r}, n={self.n}{extra}, "
                f"activation={self.activation!r})")

    def parameters(self) -> dict:
        """The stacked weights: ``{"W": (B, n, n), "W_in": (B, n, d), "b": (B, n)}`` (those present)."""
        out = {"W": self._W}
        if self._W_in is not None:
            out["W_in"] = self._W_in
        if self._b is not None:
            out["b"] = self._b
        return out

    def initial_state(self, h0, batch_shape, name="h0"):
        """``(B, n)``: zeros, one ``(n,)`` state for every network, or one per network."""
        B = self.size
        if h0 is None:
            return np.zeros((B, self.n))
        h0 = as_array(h0, name, dtype=self.dtype, ndim=(1, 2))
        if h0.shape not in ((self.n,), (B, self.n)):
            raise ValueError(f"`{name}` must have shape ({self.n},) or ({B}, {self.n}) for an "
                             f"ensemble of {B} networks of size {self.n}; got shape {h0.shape}")
        return np.broadcast_to(h0, (B, self.n))

    def input_drive(self, X, steps, batch_shape):
        B, n = self.size, self.n
        bias = np.zeros((B, 1, n)) if self._b is None else self._b[:, None, :]
        if X is None:
            return np.broadcast_to(bias, (B, steps, n))
        if X.shape[:-2] != (B,):
            raise ValueError(f"`inputs` must have shape (T, {self.input_size}) (the same inputs "
                             f"for every network) or ({B}, T, {self.input_size}); got shape "
                             f"{X.shape}")
        return X @ np.swapaxes(self._W_in, -1, -2) + bias

    def advance(self, h, u):
        f = self.activation.f
        if self.form == "recurrent_first":
            return np.matmul(self._W, f(h)[..., None])[..., 0] + u, None
        a = np.matmul(self._W, h[..., None])[..., 0] + u
        if self._alpha is None:
            return f(a), a
        return self._alpha * h + (1.0 - self._alpha) * f(a), a

    def factored_jacobians(self, states, aux):
        df = self.activation.df_checked
        if self.form == "recurrent_first":
            return ScaledJacobians(self._W, col=df(states[..., :-1, :], "h"))
        A = np.empty(states.shape[:-2] + (0, self.n)) if aux is None else aux
        if self._alpha is None:
            return ScaledJacobians(self._W, row=df(A))
        return ScaledJacobians(self._W, row=(1.0 - self._alpha) * self.activation.df(A),
                               shift=self._alpha)


def ensemble(cells) -> Ensemble:
    """B networks of the same form as one cell whose runs carry a leading network axis.

    Parameters
    ----------
    cells : sequence of ElmanRNN, LeakyRNN or RecurrentFirstRNN
        The networks: same class of recurrence (their ``recurrence()``), state
        size, input size, activation and leak; different weights.

    Returns
    -------
    Ensemble
        ``ens.run(inputs, h0=..., steps=...)`` returns a
        :class:`~spectra.Trajectory` of batch shape ``(B,)`` whose member b is
        network b's run: ``inputs`` of shape ``(T, d)`` drive every network,
        ``(B, T, d)`` one sequence per network; ``h0`` of shape ``(n,)`` starts
        every network there, ``(B, n)`` each from its own state.  Every
        analysis of it (``product``, :func:`~spectra.gradient_norm_profile`,
        :func:`~spectra.lyapunov_spectrum`, ...) returns results with the
        network axis first, computed by 3-D batched matrix products.

    Notes
    -----
    The steps of all networks are one batched product ``(B, n, n) @ (B, n, m)``
    each, which at small n saves most of numpy's per-call cost.  With
    ``reorth_every="auto"`` (the default) a Lyapunov spectrum follows one
    verified re-orthonormalisation schedule per network (for n < 48; from
    n = 48 the compact-WY path keeps one schedule, the most demanding
    network's, for all), so each network's exponents equal its own to the
    accuracy "auto" promises (1e-8 of a QR at every step), not bit for bit; a fixed integer gives the same exponents as
    each network alone (to rounding).  Products and gradient-norm profiles
    rescale each network's running product on its own, and the spectral
    profile certifies the norms of a chunk of lags of every network at once.
    Measured speed-ups per network against a Python loop over the networks
    are in ``benchmarks/README.md`` (``benchmarks/bench_ensemble.py``: 64
    networks, n = 32, T = 1000).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> nets = [spectra.ElmanRNN.random(3, gain=g, rng=0) for g in (0.5, 1.0, 2.0)]
    >>> ens = spectra.ensemble(nets)
    >>> traj = ens.run(h0=np.full(3, 0.1), steps=200)
    >>> traj.states.shape
    (3, 201, 3)
    >>> spectra.lyapunov_spectrum(traj, reorth_every=1).exponents.shape
    (3, 3)
    """
    return Ensemble(cells)
