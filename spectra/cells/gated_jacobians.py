"""The factored step Jacobians of the gated cells (LSTM and GRU), in PyTorch's gate layout.

A run stores a few vectors per step (never an n x n matrix); the step
Jacobian acts on a few vectors through one product with ``weight_hh``
(``matmat``) or its transpose (``rmatmat``) plus O(n m) scalings, and on many
(m >= 32) through its n x n blocks, formed on the fly, which halves (LSTM) or
thirds (GRU) the flops.  Used by :mod:`.gated`.
"""

from __future__ import annotations

import numpy as np

from ..jacobians.sequence import JacobianSequence, without_subnormals

__all__ = ["LSTMJacobians", "GRUJacobians"]


# ---------------------------------------------------------------------------------------
# Jacobian sequences


# With m >= _FORM_FROM right-hand sides, matmat/rmatmat first form the n x n blocks of J_t
# (O(n^2) elementwise work) and then multiply (2 n^2 m flops per block), instead of one
# product with the stacked G n x n weight_hh (2 G n^2 m): fewer flops for the LSTM (4 vs 8 n^2 m)
# and the GRU (2 vs 6), but the forming only pays off from about m = 16-32 right-hand sides
# (benchmarks/bench_gated.py: at m = 1 the factored product is 2-5x faster; at m = n the formed
# blocks are 1.6-3.8x faster).
_FORM_FROM = 32


class _GatedJacobians(JacobianSequence):
    """Shared storage: ``weight_hh`` by reference plus per-step factor vectors.

    ``factors`` are arrays of shape ``(*batch, T, k)`` (subnormal entries
    flushed to zero); ``_compose`` builds dense matrices from factors with
    any leading shape.
    """

    def __init__(self, weight_hh, *factors):
        self.weight_hh = weight_hh
        self.hidden_size = weight_hh.shape[1]
        self.factors = tuple(without_subnormals(v) for v in factors)
        self.steps = factors[0].shape[-2]
        self.batch_shape = factors[0].shape[:-2]
        self.dtype = weight_hh.dtype

    def _at(self, t):
        return tuple(v[..., t - 1, :] for v in self.factors)

    @property
    def is_square(self):
        return True

    def matrix(self, t):
        return self._compose(*self._at(t))

    def matrices(self, start=1, stop=None):
        stop = self.steps if stop is None else stop
        return self._compose(*(v[..., start - 1:stop, :] for v in self.factors))

    def select(self, b):
        b = self._batch_index(b)
        return type(self)(self.weight_hh, *(v[b] for v in self.factors))


class LSTMJacobians(_GatedJacobians):
    """Step Jacobians of an LSTM, ``d[h_t, c_t]/d[h_{t-1}, c_{t-1}]`` (2n x 2n).

    Stored per step: ``rc`` (3n), the row scalings of the i, f, g blocks of
    ``weight_hh`` in dc_t/dh_{t-1}; ``f`` (n), the forget gate;
    ``q = o_t * tanh'(c_t)`` and ``p = tanh(c_t) * sigma'(a_o)`` (n each).

    Notes
    -----
    With ``C = dc_t/dh_{t-1} = sum_{g in i,f,g} diag(rc_g) W_hg``::

        J_t = [[diag(q) C + diag(p) W_ho,  diag(q f)],
               [C,                         diag(f) ]]

    Subtracting diag(q) times the c rows from the h rows leaves the block
    lower-triangular ``[[diag(p) W_ho, 0], [C, diag(f)]]``, so
    ``log|det J_t| = log|det W_ho| + sum log|p| + sum log|f|``: O(n) per step.
    """

    def step_shape(self, t):
        n = self.hidden_size
        return (2 * n, 2 * n)

    def _C(self, rc):
        """dc_t/dh_{t-1} = sum over the i, f, g blocks of diag(rc_g) W_hg, shape (..., n, n)."""
        n, W = self.hidden_size, self.weight_hh
        return rc[..., :n, None] * W[:n] + rc[..., n:2 * n, None] * W[n:2 * n] \
            + rc[..., 2 * n:, None] * W[2 * n:3 * n]

    def _compose(self, rc, f, q, p):
        n, W = self.hidden_size, self.weight_hh
        C = self._C(rc)
        J = np.zeros(C.shape[:-2] + (2 * n, 2 * n), dtype=self.dtype)
        J[..., :n, :n] = q[..., :, None] * C + p[..., :, None] * W[3 * n:]
        J[..., n:, :n] = C
        idx = np.arange(n)
        J[..., idx, n + idx] = q * f
        J[..., n + idx, n + idx] = f
        return J

    def matmat(self, t, X):
        n, W = self.hidden_size, self.weight_hh
        rc, f, q, p = self._at(t)
        f, q, p = f[..., :, None], q[..., :, None], p[..., :, None]
        Xh, Xc = X[..., :n, :], X[..., n:, :]
        if X.shape[-1] >= _FORM_FROM:  # two n x n products instead of one 4n x n
            Yc = self._C(rc) @ Xh + f * Xc
            return np.concatenate([q * Yc + p * (W[3 * n:] @ Xh), Yc], axis=-2)
        rc = rc[..., :, None]
        G = W @ Xh
        Yc = rc[..., :n, :] * G[..., :n, :] + rc[..., n:2 * n, :] * G[..., n:2 * n, :] \
            + rc[..., 2 * n:, :] * G[..., 2 * n:3 * n, :] + f * Xc
        return np.concatenate([q * Yc + p * G[..., 3 * n:, :], Yc], axis=-2)

    def rmatmat(self, t, Y):
        n, W = self.hidden_size, self.weight_hh
        rc, f, q, p = self._at(t)
        f, q, p = f[..., :, None], q[..., :, None], p[..., :, None]
        Yh = Y[..., :n, :]
        Zc = q * Yh + Y[..., n:, :]
        if Y.shape[-1] >= _FORM_FROM:
            out_h = np.swapaxes(self._C(rc), -1, -2) @ Zc + W[3 * n:].T @ (p * Yh)
            return np.concatenate([out_h, f * Zc], axis=-2)
        rc = rc[..., :, None]
        Z = np.concatenate([rc[..., :n, :] * Zc, rc[..., n:2 * n, :] * Zc,
                            rc[..., 2 * n:, :] * Zc, p * Yh], axis=-2)
        return np.concatenate([W.T @ Z, f * Zc], axis=-2)

    def logabsdet(self, t):
        if getattr(self, "_logdet_Wo", None) is None:
            with np.errstate(divide="ignore"):
                self._logdet_Wo = float(np.linalg.slogdet(self.weight_hh[3 * self.hidden_size:])[1])
        _, f, _, p = self._at(t)
        with np.errstate(divide="ignore"):
            return self._logdet_Wo + np.sum(np.log(np.abs(p)), axis=-1) + np.sum(np.log(f), axis=-1)


class GRUJacobians(_GatedJacobians):
    """Step Jacobians of a GRU, ``dh_t/dh_{t-1} = diag(z) + sum_g diag(alpha_g) W_hg``.

    Stored per step: ``alpha`` (3n; the row scalings of the r, z, n blocks of
    ``weight_hh``) and the update gate ``z`` (n).

    Notes
    -----
    With ``s = W_hn h + b_hn``, ``n_t = tanh(a_n)`` and
    ``a_n = W_in x + b_in + r * s`` (PyTorch's GRU)::

        alpha_r = (1 - z) tanh'(a_n) s sigma'(a_r)
        alpha_z = (h_{t-1} - n_t) sigma'(a_z)
        alpha_n = (1 - z) tanh'(a_n) r
    """

    def step_shape(self, t):
        n = self.hidden_size
        return (n, n)

    def _compose(self, alpha, z):
        n, W = self.hidden_size, self.weight_hh
        J = alpha[..., :n, None] * W[:n]          # in place: two n x n allocations, not five
        tmp = alpha[..., n:2 * n, None] * W[n:2 * n]
        J += tmp
        np.multiply(alpha[..., 2 * n:, None], W[2 * n:], out=tmp)
        J += tmp
        idx = np.arange(n)
        J[..., idx, idx] += z
        return J

    def matmat(self, t, X):
        if X.shape[-1] >= _FORM_FROM:  # form J_t (n x n) once: cheaper than a 3n x n product
            return self.matrix(t) @ X
        n = self.hidden_size
        alpha, z = (v[..., :, None] for v in self._at(t))
        G = self.weight_hh @ X
        return z * X + alpha[..., :n, :] * G[..., :n, :] + alpha[..., n:2 * n, :] * G[..., n:2 * n, :] \
            + alpha[..., 2 * n:, :] * G[..., 2 * n:, :]

    def lmatmat(self, t, P):
        if P.shape[-2] >= _FORM_FROM:  # P J_t as one C-ordered GEMM (the profiles' hot loop)
            return P @ self.matrix(t)
        return super().lmatmat(t, P)

    def rmatmat(self, t, Y):
        if Y.shape[-1] >= _FORM_FROM:
            return np.swapaxes(self.matrix(t), -1, -2) @ Y
        n = self.hidden_size
        alpha, z = (v[..., :, None] for v in self._at(t))
        Z = np.concatenate([alpha[..., :n, :] * Y, alpha[..., n:2 * n, :] * Y,
                            alpha[..., 2 * n:, :] * Y], axis=-2)
        return z * Y + self.weight_hh.T @ Z


# ---------------------------------------------------------------------------------------
# Cells
