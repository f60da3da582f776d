"""The shared engine of the exact-gradient remedies: a simple network in float64 and its adjoint.

:class:`Net` reads a cell through its :meth:`~spectra.Cell.recurrence` (so any
cell of the classic form works, whatever its class); :class:`Problem` adds
outputs, a loss and targets, runs the forward pass and carries dE/dh back
(BPTT).  Used by :mod:`.bptt`, :mod:`.regularizer` and :mod:`.closed_loop`.
"""

from __future__ import annotations

import numpy as np

from .._core.errors import NumericalError
from .._core.interop import to_numpy
from .._core.validation import as_array, as_matrix, as_vector, check_choice, describe
from ..cells.base import Cell

__all__ = ["Net", "Problem", "read_targets", "run_for", "check_finite", "outer_sum", "LOSSES"]

LOSSES = ("softmax", "squared")


class Net:
    """The parameters of a simple cell in one of two forms.

    ``elman``: a_t = W h_{t-1} + W_in x_t + b, h_t = alpha h_{t-1} + (1 - alpha) f(a_t)
    (alpha None for the plain Elman cell).  ``rf``: h_t = W f(h_{t-1}) + W_in x_t + b.
    """

    def __init__(self, cell, name="cell"):
        rec = cell.recurrence() if isinstance(cell, Cell) else None
        if rec is None:
            kind = type(cell).__name__ if isinstance(cell, Cell) else describe(cell)
            raise TypeError(f"`{name}` must be an ElmanRNN, LeakyRNN or RecurrentFirstRNN; got {kind} "
                            "(any cell whose recurrence() gives the form f(W h + W_in x + b) works)")
        f64 = np.float64
        self.form = "rf" if rec.form == "recurrent_first" else "elman"
        self.W = np.asarray(rec.W, dtype=f64)
        self.W_in = None if rec.W_in is None else np.asarray(rec.W_in, dtype=f64)
        self.b = None if rec.b is None else np.asarray(rec.b, dtype=f64)
        self.act = rec.activation
        self.alpha = None
        if rec.alpha is not None:
            self.alpha = np.broadcast_to(np.asarray(rec.alpha, dtype=f64), (cell.n,)).copy()
        self.n = cell.n
        self.input_size = cell.input_size
        if cell.dtype == np.float64:
            self.cell = cell
        else:  # a float64 twin, so that gradients are checked in float64
            opts = {} if self.alpha is None else {"alpha": self.alpha}
            self.cell = type(cell)(self.W, self.W_in, self.b, activation=rec.activation, **opts)

    @property
    def beta(self):
        return None if self.alpha is None else 1.0 - self.alpha


def read_targets(targets, loss, c):
    """(targets as an array, True for integer class labels)."""
    if targets is None:
        raise TypeError("`targets` must be an array; got None")
    raw = to_numpy(targets, "targets")
    if raw.dtype.kind == "b":
        raise TypeError("`targets` must be class labels (integers) or real values; got booleans")
    if loss == "softmax" and raw.dtype.kind in "iu":
        if raw.ndim not in (1, 2):
            raise ValueError(f"`targets` (class labels) must have shape (T,) or (B, T); got {raw.shape}")
        if raw.size and (raw.min() < 0 or raw.max() >= c):
            raise ValueError(f"`targets` class labels must lie in [0, {c - 1}] (W_yh has {c} rows); "
                             f"got values in [{raw.min()}, {raw.max()}]")
        return raw.astype(np.int64), True
    what = "(T, c) target distributions or (T,) integer class labels" if loss == "softmax" \
        else "(T, c) real targets"
    P = as_array(targets, "targets", ndim=(2, 3))
    if P.shape[-1] != c:
        raise ValueError(f"`targets` must be {what} with c = {c} (the rows of W_yh); got shape {P.shape}")
    if loss == "softmax" and np.any(P < 0):
        raise ValueError("`targets` distributions must be non-negative; got a minimum of "
                         f"{float(P.min())}")
    return P, False


# ---------------------------------------------------------------------------------------
# The lag sweep: contributions of each lag, O(T^2 n^2) in all.


class Problem:
    """A validated BPTT problem with its forward pass (batch axis always present)."""

    def __init__(self, cell, inputs, targets, W_yh, b_y, *, loss, h0, step_weights):
        self.net = net = Net(cell)
        n = net.n
        T, lead = self._readout(loss, W_yh, b_y, targets, n)
        traj = run_for(net.cell, inputs, h0, T)
        self._bind(traj, lead, step_weights)
        B = self.B
        self.H = np.asarray(traj.states, dtype=np.float64).reshape(B, T + 1, n)
        self.Hout = self.H
        self.X = None if traj.inputs is None else np.asarray(traj.inputs).reshape(B, T, -1)
        A = traj.preactivations
        self.A = None if A is None else np.asarray(A, dtype=np.float64).reshape(B, T, n)
        self._factors()
        self._outputs()

    def _readout(self, loss, W_yh, b_y, targets, width):
        """Validate the loss, the output layer (``width`` columns) and the targets: (T, lead)."""
        check_choice(loss, "loss", LOSSES)
        self.loss = loss
        self.V = as_matrix(W_yh, "W_yh", cols=width)
        c = self.V.shape[0]
        self.b_y = np.zeros(c) if b_y is None else as_vector(b_y, "b_y", size=c)
        Tgt, self.labels = read_targets(targets, loss, c)
        self._targets = Tgt
        lead = Tgt.shape if self.labels else Tgt.shape[:-1]
        if len(lead) == 0:
            raise ValueError("`targets` must have one entry per step, shape (T,) or (T, c); "
                             f"got shape {Tgt.shape}")
        T = lead[-1]
        if T == 0:
            raise ValueError("`targets` must cover at least one step; got T = 0")
        return T, lead

    def _bind(self, traj, lead, step_weights):
        """The run, its batch, the broadcast targets and the step weights."""
        T, c = lead[-1], self.V.shape[0]
        self.traj = traj
        self.batched = bool(traj.batch_shape)
        B = traj.batch_shape[0] if self.batched else 1
        tb = lead[:-1]
        if tb and (not self.batched or tb != traj.batch_shape):
            raise ValueError(f"`targets` batch shape {tb} does not match the run's batch shape "
                             f"{traj.batch_shape}")
        self.T, self.B, self.c = T, B, c
        Tgt = self._targets
        self.P = np.broadcast_to(Tgt, (B, T) if self.labels else (B, T, c))
        if step_weights is None:
            self.w = np.ones((B, T))
        else:
            w = as_array(step_weights, "step_weights", ndim=(1, 2))
            if w.shape[-1] != T or (w.ndim == 2 and w.shape[0] != B):
                raise ValueError(f"`step_weights` must have shape ({T},)" +
                                 (f" or ({B}, {T})" if self.batched else "") + f"; got {w.shape}")
            if np.any(w < 0):
                raise ValueError("`step_weights` must be non-negative; got a minimum of "
                                 f"{float(w.min())}")
            self.w = np.broadcast_to(w, (B, T))

    # -- forward quantities ----------------------------------------------------------
    def _factors(self):
        net, H = self.net, self.H
        act = net.act
        if net.form == "elman":
            self.Fp = act.df(self.A)                         # f'(a_t), t = 1..T
            self.S = self.Fp if net.alpha is None else net.beta * self.Fp  # dh_t/da_t
            self.R = H[:, :-1]                               # r_{t-1} = h_{t-1}
        else:
            self.FpH = act.df(H[:, :-1])                     # f'(h_{t-1}), t = 1..T
            self.S = None                                    # dh_t/dp_t = I
            self.R = act.f(H[:, :-1])                        # r_{t-1} = f(h_{t-1})

    def _outputs(self):
        V, P, w = self.V, self.P, self.w
        Z = self.Hout[:, 1:] @ V.T + self.b_y                # z_1..z_T
        self.Z = Z
        if self.loss == "squared":
            diff = Z - P
            self.value = float(0.5 * np.sum(w * np.sum(diff * diff, axis=-1)))
            self.dZ = w[..., None] * diff
            self.Y = None
            self.mass = None
        else:
            m = Z.max(axis=-1, keepdims=True)
            lse = m + np.log(np.sum(np.exp(Z - m), axis=-1, keepdims=True))
            Y = np.exp(Z - lse)
            if self.labels:
                picked = np.take_along_axis(Z, P[..., None], axis=-1)[..., 0]
                per_step = lse[..., 0] - picked
                onehot = np.zeros_like(Z)
                np.put_along_axis(onehot, P[..., None], 1.0, axis=-1)
                mass = np.ones(P.shape)
                grad = Y - onehot
            else:
                mass = P.sum(axis=-1)
                per_step = mass * lse[..., 0] - np.sum(P * Z, axis=-1)
                grad = mass[..., None] * Y - P
            self.value = float(np.sum(w * per_step))
            self.dZ = w[..., None] * grad
            self.Y = Y
            self.mass = mass
        self.E = self.dZ @ V                                 # e_t = W_yh^T dE/dz_t

    def hessian_z(self, v):
        """d^2 E_t / dz_t^2 applied to v (B, T, c), per step."""
        if self.loss == "squared":
            return self.w[..., None] * v
        Y = self.Y
        return (self.w * self.mass)[..., None] * (Y * v - Y * np.sum(Y * v, axis=-1, keepdims=True))

    # -- step Jacobians, transposed, applied to rows ---------------------------------
    def jt(self, s0, s1, U):
        """Rows ``J_s^T u_s`` for steps s = s0+1..s1 (0-based slice s0:s1), U (B, m, n)."""
        net = self.net
        if net.form == "elman":
            out = (self.S[:, s0:s1] * U) @ net.W
            if net.alpha is not None:
                out = out + net.alpha * U
            return out
        return self.FpH[:, s0:s1] * (U @ net.W)

    def scale_D(self, s0, s1, U):
        """Rows ``D_s u_s`` = dE/dp_s from dE/dh_s, s = s0+1..s1 (p_s: what W multiplies into)."""
        return U if self.S is None else self.S[:, s0:s1] * U

    # -- the full backward sweep: O(T n^2) ---------------------------------------------
    def backward(self):
        """dE/dh_t for t = 0..T, shape (B, T+1, n), in one sweep."""
        T, E = self.T, self.E
        G = np.empty((self.B, T + 1, self.net.n))
        with np.errstate(over="ignore", invalid="ignore"):
            g = E[:, T - 1]
            G[:, T] = g
            for t in range(T, 0, -1):
                g = self.jt(t - 1, t, g[:, None])[:, 0]
                if t >= 2:
                    g = g + E[:, t - 2]
                G[:, t - 1] = g
        check_finite(G, "dE/dh")
        return G


def run_for(cell, inputs, h0, T):
    """Run ``cell`` over ``inputs`` (None: ``T`` autonomous steps), checking they cover T steps."""
    if inputs is None:
        return cell.run(None, h0=h0, steps=T)
    X = as_array(inputs, "inputs", ndim=(2, 3))
    if X.shape[-2] != T:
        raise ValueError(f"`targets` must have one entry per step ({X.shape[-2]} steps "
                         f"in `inputs`); got {T}")
    return cell.run(X, h0=h0)


def check_finite(arr, what):
    if not np.all(np.isfinite(arr)):
        raise NumericalError(f"{what} overflowed float64: the gradient explodes along this run; "
                             "shorten the sequence, lower the recurrent gain, or use "
                             "spectra.gradient_norm_profile (log domain) to measure it")


def outer_sum(A, B):
    """``sum_{b,k} A[b, k] B[b, k]^T`` for A (B, m, p), B (B, m, q): one matrix product."""
    return A.reshape(-1, A.shape[-1]).T @ B.reshape(-1, B.shape[-1])
