"""Input Jacobians dh_t/dx_t of the built-in cells, kept factored.

A cell's optional hook ``input_jacobians(states, aux)`` returns the input
Jacobians ``B_t = dh_t/dx_t`` (n x d) of a run as a rectangular
:class:`~spectra.JacobianSequence`.  :class:`~spectra.Stack` needs them for
its cross-layer blocks, and ``Trajectory.input_jacobian(t, k)`` gives
``dh_t/dx_k = (dh_t/dh_k) B_k``.  The simple cells use
:class:`~spectra.ScaledJacobians` of their input matrix; the gated cells use
:class:`GatedInputJacobians` here.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import numpy as np

from .activations import _logistic, _logistic_d, _tanh_d
from ..jacobians.sequence import JacobianSequence, without_subnormals

__all__ = ["GatedInputJacobians", "lstm_input_jacobians", "gru_input_jacobians", "no_input_error"]


def no_input_error(cell):
    """The error for input Jacobians of a cell built without an input matrix."""
    return ValueError(f"this {type(cell).__name__} has no input (input_size=0), so it has no "
                      "input Jacobians dh_t/dx_t; build it with an input matrix")


class GatedInputJacobians(JacobianSequence):
    """``B_t = dh_t/dx_t`` of a gated cell: per state part p, ``sum_g diag(c[p, g]) W_g``.

    Parameters
    ----------
    weight_ih : (G n, d) ndarray
        The stacked input weights (gate blocks W_g, n x d each).
    coefs : (*batch, T, P, G n) ndarray
        Row scalings per state part p (LSTM: P = 2, parts h and c; GRU: 1)
        and gate block g.  Memory O(T P G n) beyond the weights.
    gates : int
        G.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.GRU.random(3, input_size=2, rng=0)
    >>> traj = cell.run(np.ones((4, 2)))
    >>> B = cell.input_jacobians(traj.states, traj.preactivations)
    >>> B.step_shape(1), B.matrix(4).shape
    ((3, 2), (3, 2))
    """

    def __init__(self, weight_ih, coefs, gates):
        self.weight_ih = weight_ih
        self.coefs = without_subnormals(coefs)
        self.parts = coefs.shape[-2]
        self._G = gates
        self._n = coefs.shape[-1] // gates
        self.steps = coefs.shape[-3]
        self.batch_shape = coefs.shape[:-3]
        self.dtype = weight_ih.dtype

    def step_shape(self, t):
        return (self.parts * self._n, self.weight_ih.shape[1])

    def matrix(self, t):
        c = self.coefs[..., t - 1, :, :]                    # (*b, P, G n)
        G, n = self._G, self._n
        W = self.weight_ih.reshape(G, n, -1)
        M = np.einsum("...pgi,gid->...pid", c.reshape(c.shape[:-1] + (G, n)), W)
        return M.reshape(M.shape[:-3] + (self.parts * n, W.shape[-1]))

    def matmat(self, t, X):
        c = self.coefs[..., t - 1, :, :]
        G, n = self._G, self._n
        Z = (self.weight_ih @ X).reshape(X.shape[:-2] + (G, n, X.shape[-1]))
        out = np.einsum("...pgi,...gim->...pim", c.reshape(c.shape[:-1] + (G, n)), Z)
        return out.reshape(out.shape[:-3] + (self.parts * n, X.shape[-1]))

    def rmatmat(self, t, Y):
        c = self.coefs[..., t - 1, :, :]
        G, n = self._G, self._n
        Yp = Y.reshape(Y.shape[:-2] + (self.parts, n, Y.shape[-1]))
        S = np.einsum("...pgi,...pim->...gim", c.reshape(c.shape[:-1] + (G, n)), Yp)
        return self.weight_ih.T @ S.reshape(S.shape[:-3] + (G * n, Y.shape[-1]))

    def select(self, b):
        b = self._batch_index(b)
        out = GatedInputJacobians.__new__(GatedInputJacobians)
        out.__dict__.update(self.__dict__)
        out.coefs = self.coefs[b]
        out.batch_shape = self.coefs[b].shape[:-3]
        return out


def lstm_input_jacobians(cell, states, A):
    """``d[h_t, c_t]/dx_t`` of an LSTM run: c rows ``sum_{i,f,g} diag(rc) W_i*``, h rows
    ``diag(q) (c rows) + diag(p) W_io`` (the factors of :class:`~spectra.cells.LSTMJacobians`)."""
    if not cell.input_size:
        raise no_input_error(cell)
    n = cell.hidden_size
    A = np.empty(states.shape[:-2] + (0, 4 * n)) if A is None else A
    a_i, a_f, a_g, a_o = (A[..., k * n:(k + 1) * n] for k in range(4))
    c_prev, c = states[..., :-1, n:], states[..., 1:, n:]
    rc = np.concatenate([np.tanh(a_g) * _logistic_d(a_i), c_prev * _logistic_d(a_f),
                         _logistic(a_i) * _tanh_d(a_g)], axis=-1)
    q = _logistic(a_o) * _tanh_d(c)
    p = np.tanh(c) * _logistic_d(a_o)
    h_rows = np.concatenate([np.tile(q, 3) * rc, p], axis=-1)
    c_rows = np.concatenate([rc, np.zeros_like(p)], axis=-1)
    return GatedInputJacobians(cell.weight_ih, np.stack([h_rows, c_rows], axis=-2), 4)


def gru_input_jacobians(cell, states, A):
    """``dh_t/dx_t`` of a GRU run: ``diag(alpha_r) W_ir + diag(alpha_z) W_iz + diag(dn) W_in``."""
    if not cell.input_size:
        raise no_input_error(cell)
    n = cell.hidden_size
    A = np.empty(states.shape[:-2] + (0, 3 * n)) if A is None else A
    a_r, a_z, a_n = (A[..., k * n:(k + 1) * n] for k in range(3))
    h_prev = states[..., :-1, :]
    b_hn = np.zeros(n) if cell.bias_hh is None else cell.bias_hh[2 * n:]
    s = h_prev @ cell.weight_hh[2 * n:].T + b_hn
    dn = _logistic(-a_z) * _tanh_d(a_n)
    coef = np.concatenate([dn * s * _logistic_d(a_r), (h_prev - np.tanh(a_n)) * _logistic_d(a_z), dn],
                          axis=-1)
    return GatedInputJacobians(cell.weight_ih, coef[..., None, :], 3)
