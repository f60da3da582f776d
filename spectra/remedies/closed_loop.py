"""Teacher forcing against free running: the closed-loop step Jacobian.

A generative recurrent network is trained with *teacher forcing* (the input at
step t is the target y_{t-1}) and run *free* (the input is its own output).
Under teacher forcing the input does not depend on the state, so the step
Jacobian is the cell's, ``diag(f'(a_t)) W_hh``.  Running free closes a loop:
``x_t = g(W_yh h_{t-1} + b_y)`` and the recurrence becomes
``h_t = f(W_hh h_{t-1} + W_hx g(W_yh h_{t-1} + b_y) + b)`` with step Jacobian
``diag(f'(a_t)) (W_hh + W_hx G_{t-1} W_yh)``, G the Jacobian of the output
nonlinearity g (softmax: ``diag(y) - y y^T``; linear: I).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Net
from .._core.results import Result
from ..cells.base import Cell
from ..jacobians.sequence import JacobianSequence, without_subnormals
from ..analysis.lyapunov import lyapunov_spectrum
from ..analysis.products import gradient_norm_profile
from .._core.validation import as_array, as_matrix, as_vector, check_choice, check_int

__all__ = ["ClosedLoopRNN", "FeedbackJacobians", "closed_loop_jacobian",
           "teacher_forcing_comparison", "TeacherForcingComparison"]

OUTPUTS = ("softmax", "linear")


def _softmax(Z):
    m = Z.max(axis=-1, keepdims=True)
    e = np.exp(Z - m)
    return e / e.sum(axis=-1, keepdims=True)


class FeedbackJacobians(JacobianSequence):
    """``J_t = diag(shift) + diag(row_t) (W diag(col_t) + W_in G_t V)``, kept factored.

    ``G_t = diag(y_t) - y_t y_t^T`` (softmax output y_t fed back into step t)
    or the identity (linear output, ``Y`` None).  The Elman cell has
    ``row = f'(a_t)``; leaky units ``row = (1 - alpha) f'(a_t)``,
    ``shift = alpha``; the recurrent-first cell ``col = f'(h_{t-1})``.
    ``matmat`` costs O(n^2 m + n c m) per step; no n x n matrix is formed.
    """

    def __init__(self, W, W_in, V, *, row=None, col=None, shift=None, Y=None):
        self.W, self.W_in, self.V = W, W_in, V
        self.row = without_subnormals(row)
        self.col = without_subnormals(col)
        self.shift = shift
        self.Y = Y
        ref = next(a for a in (row, col, Y) if a is not None) if any(
            a is not None for a in (row, col, Y)) else None
        if ref is None:
            raise ValueError("a feedback Jacobian sequence needs per-step factors")
        self.steps = ref.shape[-2]
        self.batch_shape = ref.shape[:-2]
        self.dtype = W.dtype

    def step_shape(self, t):
        return self.W.shape

    @property
    def is_square(self):
        return True

    def _at(self, a, t):
        return None if a is None else a[..., t - 1, :]

    def _G(self, t, X):
        """G_t X for X (*batch, c, m)."""
        y = self._at(self.Y, t)
        if y is None:
            return X
        return y[..., :, None] * X - y[..., :, None] * (y[..., None, :] @ X)

    def matmat(self, t, X):
        row, col = self._at(self.row, t), self._at(self.col, t)
        P = self.W @ (X if col is None else col[..., :, None] * X)
        P = P + self.W_in @ self._G(t, self.V @ X)
        if row is not None:
            P = row[..., :, None] * P
        if self.shift is not None:
            P = P + self.shift[:, None] * X
        return P

    def rmatmat(self, t, Y):
        row, col = self._at(self.row, t), self._at(self.col, t)
        Z = Y if row is None else row[..., :, None] * Y
        P = self.W.T @ Z
        if col is not None:
            P = col[..., :, None] * P
        P = P + self.V.T @ self._G(t, self.W_in.T @ Z)     # G is symmetric
        if self.shift is not None:
            P = P + self.shift[:, None] * Y
        return P

    def matrix(self, t):
        n = self.W.shape[0]
        row, col = self._at(self.row, t), self._at(self.col, t)
        M = self.W if col is None else self.W * col[..., None, :]
        M = M + self.W_in @ self._G(t, np.broadcast_to(self.V, self.batch_shape + self.V.shape))
        if row is not None:
            M = row[..., :, None] * M
        if self.shift is not None:
            M = M + self.shift[:, None] * np.eye(n)
        return np.array(M, copy=True)

    def select(self, b):
        b = self._batch_index(b)
        pick = (lambda a: None if a is None else a[b])
        return FeedbackJacobians(self.W, self.W_in, self.V, row=pick(self.row), col=pick(self.col),
                                 shift=self.shift, Y=pick(self.Y))


class ClosedLoopRNN(Cell):
    """A recurrent cell driven by its own output: free running.

    The input of step t is the output of step t-1,
    ``x_t = g(W_yh h_{t-1} + b_y)`` with g the softmax or the identity, so
    the network runs autonomously: ``run(steps=T, h0=...)``.

    Parameters
    ----------
    cell : ElmanRNN, LeakyRNN or RecurrentFirstRNN
        With an input matrix of d columns.
    W_yh : (d, n) array_like
        Output weights; the output size must equal the input size d.
    b_y : (d,) array_like, optional
    output : {"softmax", "linear"}

    Notes
    -----
    The step Jacobian is ``diag(f'(a_t)) (W_hh + W_hx G_{t-1} W_yh)`` for the
    Elman cell, ``diag(alpha) + diag((1 - alpha) f'(a_t)) (W_hh + W_hx G_{t-1}
    W_yh)`` for leaky units and ``W diag(f'(h_{t-1})) + W_in G_{t-1} W_yh`` for
    the recurrent-first cell; kept factored (:class:`FeedbackJacobians`).
    ``traj.preactivations`` holds ``[a_t, y_{t-1}]`` (Elman and leaky) or
    ``y_{t-1}`` (recurrent-first); :meth:`fed_back` extracts the outputs.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W, U, V = 0.3 * np.eye(2), np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> loop = spectra.ClosedLoopRNN(spectra.ElmanRNN(W, U, activation="identity"), V, output="linear")
    >>> loop.step_jacobian(np.zeros(2))                    # W_hh + W_hx W_yh
    array([[0.3, 1. ],
           [1. , 0.3]])
    """

    def __init__(self, cell, W_yh, b_y=None, *, output="softmax"):
        self._net = net = Net(cell)
        check_choice(output, "output", OUTPUTS)
        if net.W_in is None:
            raise ValueError("`cell` must have an input matrix to feed its output back into")
        d = net.input_size
        self._V = as_matrix(W_yh, "W_yh", rows=d, cols=net.n)
        self._b_y = np.zeros(d) if b_y is None else as_vector(b_y, "b_y", size=d)
        self.output = output
        self.cell = cell
        self.n = net.n
        self.input_size = 0
        self.dtype = np.dtype(np.float64)
        for a in (self._V, self._b_y):
            a.flags.writeable = False

    @property
    def W_yh(self):
        return self._V

    @property
    def b_y(self):
        return self._b_y

    def __repr__(self):
        return f"ClosedLoopRNN({self.cell!r}, output={self.output!r})"

    def run(self, inputs=None, *, h0=None, steps=None):
        """Run free for ``steps`` steps from ``h0`` (the loop takes no inputs)."""
        if inputs is not None:
            raise ValueError("a ClosedLoopRNN feeds its own outputs back and takes no `inputs`; "
                             "use run(steps=T, h0=...)")
        return super().run(None, h0=h0, steps=steps)

    def parameters(self) -> dict:
        """The parameters of the driven cell and the output layer: ``W_yh`` and ``b_y``."""
        return {**self.cell.parameters(), "W_yh": self._V, "b_y": self._b_y}

    def fed_back(self, traj) -> np.ndarray:
        """The outputs fed back, y_0..y_{T-1} (row t-1 is the input of step t)."""
        aux = traj.preactivations
        return aux if self._net.form == "rf" else aux[..., self.n:]

    # -- simulation hooks -----------------------------------------------------------
    def _out(self, h):
        z = h @ self._V.T + self._b_y
        return _softmax(z) if self.output == "softmax" else z

    def input_drive(self, X, steps, batch):
        b = np.zeros(self.n) if self._net.b is None else self._net.b
        return np.broadcast_to(b, (steps, self.n))

    def advance(self, h, u):
        net = self._net
        y = self._out(h)
        drive = y @ net.W_in.T + u
        if net.form == "rf":
            return net.act.f(h) @ net.W.T + drive, y
        a = h @ net.W.T + drive
        fa = net.act.f(a)
        hn = fa if net.alpha is None else net.alpha * h + net.beta * fa
        return hn, np.concatenate([a, y], axis=-1)

    def factored_jacobians(self, states, aux):
        net = self._net
        if net.form == "rf":
            Y = aux if aux is not None else np.empty(states.shape[:-2] + (0, net.input_size))
            row, col, shift = None, net.act.df(states[..., :-1, :]), None
        else:
            if aux is None:  # zero steps
                aux = np.empty(states.shape[:-2] + (0, self.n + net.input_size))
            A, Y = aux[..., :self.n], aux[..., self.n:]
            row, col, shift = net.act.df(A), None, None
            if net.alpha is not None:
                row, shift = net.beta * row, net.alpha
        return FeedbackJacobians(net.W, net.W_in, self._V, row=row, col=col, shift=shift,
                                 Y=Y if self.output == "softmax" else None)


def closed_loop_jacobian(cell, h_prev, W_yh, b_y=None, *, output="softmax") -> np.ndarray:
    """The free-running step Jacobian ``dh_t/dh_{t-1}`` with the output fed back.

    ``diag(f'(a_t)) (W_hh + W_hx G W_yh)`` at the state ``h_prev`` (see
    :class:`ClosedLoopRNN`); the teacher-forced one is
    ``cell.step_jacobian(h_prev, x)``.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN(np.zeros((2, 2)), np.eye(2), activation="identity")
    >>> spectra.closed_loop_jacobian(cell, np.zeros(2), np.eye(2))   # softmax at y = (1/2, 1/2)
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    return ClosedLoopRNN(cell, W_yh, b_y, output=output).step_jacobian(h_prev)


@dataclass(frozen=True, repr=False)
class TeacherForcingComparison(Result):
    """The same state sequence seen free running and teacher forced.

    Attributes
    ----------
    lags : (T,) int ndarray
    log_norms_free, log_norms_forced : (T,) ndarray
        ``log ||dh_T/dh_{T-lag}||_2`` with the closed-loop Jacobians and with
        the teacher-forced (open-loop) ones, along the same states.
    feedback_norms : (T,) ndarray
        ``||J_t^free - J_t^forced||_2``: the size of the feedback term.
    lyapunov_free, lyapunov_forced : float
        Largest Lyapunov exponents of the two Jacobian sequences.
    state_difference : float
        ``max |h_t^free - h_t^forced|`` (rounding only: the teacher-forced run
        is fed the free run's own outputs).
    outputs : (T, c) ndarray
        The outputs y_0..y_{T-1} fed back.
    """

    _frame = ("lag", "lags", ("log_norms_free", "log_norms_forced"))

    lags: np.ndarray
    log_norms_free: np.ndarray
    log_norms_forced: np.ndarray
    feedback_norms: np.ndarray
    lyapunov_free: float
    lyapunov_forced: float
    state_difference: float
    outputs: np.ndarray


def teacher_forcing_comparison(cell, W_yh, b_y=None, *, output="softmax", h0=None,
                               steps=100) -> TeacherForcingComparison:
    """Run a network free, then teacher-forced on its own outputs, and compare Jacobians.

    Feeding the free run's outputs back as teacher inputs reproduces the same
    states (a perfectly trained model's targets), so the two Jacobian
    sequences differ only by the feedback term ``W_hx G W_yh``: the lag
    profiles show what closing the loop does to the gradient.

    Parameters
    ----------
    cell : ElmanRNN, LeakyRNN or RecurrentFirstRNN
    W_yh : (d, n) array_like
    b_y : (d,) array_like, optional
    output : {"softmax", "linear"}
    h0 : (n,) array_like, optional
    steps : int

    Returns
    -------
    TeacherForcingComparison

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN.random(8, input_size=3, gain=0.9, rng=0)
    >>> cmp = spectra.teacher_forcing_comparison(cell, np.ones((3, 8)), h0=np.full(8, 0.5), steps=30)
    >>> cmp.log_norms_free.shape, bool(cmp.state_difference < 1e-12)
    ((30,), True)
    """
    loop = ClosedLoopRNN(cell, W_yh, b_y, output=output)
    steps = check_int(steps, "steps", minimum=1)
    if h0 is not None:
        h0 = as_array(h0, "h0", ndim=1)
    free = loop.run(steps=steps, h0=h0)
    Y = loop.fed_back(free)
    forced = loop._net.cell.run(Y, h0=h0)
    pf = gradient_norm_profile(free).log_norms
    pt = gradient_norm_profile(forced).log_norms
    Jf = free.jacobians()
    Jt = forced.jacobians()
    fb = np.linalg.svd(Jf - Jt, compute_uv=False)[..., 0]
    lf = float(lyapunov_spectrum(free, k=1, rng=0).exponents[0])
    lt = float(lyapunov_spectrum(forced, k=1, rng=0).exponents[0])
    diff = float(np.max(np.abs(np.asarray(free.states) - np.asarray(forced.states))))
    return TeacherForcingComparison(np.arange(1, steps + 1), pf, pt, fb, lf, lt, diff, np.array(Y))
