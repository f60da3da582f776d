"""The factored step Jacobians of the gated cells (LSTM and GRU), in PyTorch's gate layout.

A run stores a few vectors per step (never an n x n matrix); the step
Jacobian acts on a few vectors through one product with ``weight_hh``
(``matmat``) or its transpose (``rmatmat``) plus O(n m) scalings, and on many
(m >= 32) through its n x n blocks, formed on the fly, which halves (LSTM) or
thirds (GRU) the flops.  Used by :mod:`.gated`.
"""

from __future__ import annotations

import numpy as np

from .._core.errors import NumericalError
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


def _gate_sum(a, W, G, out=None):
    """``sum_g diag(a_g) W_g`` over the first ``G`` gate blocks: ``a`` (..., G n), ``W`` (>= G n, n).

    One pass over the weights (``einsum``: each entry read once, the result
    written once) instead of a temporary and a sum per gate: 0.07 ms against
    0.25-0.6 ms at n = 256 (``benchmarks/bench_gated_round2.py``).  A batch
    is formed one member at a time (a batched ``einsum`` is 2x slower per member).
    """
    n = W.shape[1]
    W3 = W[:G * n].reshape(G, n, n)
    a3 = a.reshape(a.shape[:-1] + (G, n))
    if a.ndim == 1:
        return np.einsum("gi,gij->ij", a3, W3, out=out)
    out = np.empty(a.shape[:-1] + (n, n), dtype=np.result_type(a, W)) if out is None else out
    flat_a, flat_out = a3.reshape(-1, G, n), out.reshape(-1, n, n)
    for b in range(flat_a.shape[0]):
        np.einsum("gi,gij->ij", flat_a[b], W3, out=flat_out[b])
    return out


def _add_diagonal(J, d):
    """``J += diag(d)`` in place, over any leading axes (a strided view when J is contiguous)."""
    n = J.shape[-1]
    if J.flags.c_contiguous:
        J.reshape(J.shape[:-2] + (n * n,))[..., ::n + 1] += d
    else:
        idx = np.arange(n)
        J[..., idx, idx] += d
    return J


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

    def c_block(self, t, out=None):
        """``C_t = dc_t/dh_{t-1} = sum_{g in i,f,g} diag(rc_g) W_hg`` (n x n), written into ``out`` if given.

        The one dense block of ``J_t`` besides ``diag(p_t) W_ho`` (see the class notes).

        >>> import numpy as np, spectra
        >>> cell = spectra.LSTM.random(3, rng=0)
        >>> seq = cell.run(steps=2).jacobian_sequence
        >>> bool(np.allclose(seq.c_block(2), seq.matrix(2)[3:, :3]))
        True
        """
        return _gate_sum(self._at(t)[0], self.weight_hh, 3, out=out)

    def _C(self, rc):
        """dc_t/dh_{t-1} = sum over the i, f, g blocks of diag(rc_g) W_hg, shape (..., n, n)."""
        return _gate_sum(rc, self.weight_hh, 3)

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

    def _compose(self, alpha, z, out=None):
        return _add_diagonal(_gate_sum(alpha, self.weight_hh, 3, out=out), z)

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

    def step_operator(self, side="left"):
        """The hot loop of products and profiles: ``J_s`` formed in one pass into a reused
        buffer, then one GEMM; the bound is ``max|z| + sum_g max|alpha_g| ||W_g||_F``."""
        if self.batch_shape or self.dtype != np.float64:
            return super().step_operator(side)
        n = self.hidden_size
        alpha, z = self.factors
        if not (np.all(np.isfinite(alpha)) and np.all(np.isfinite(z))):
            raise NumericalError("a step Jacobian has non-finite entries")
        W = self.weight_hh
        fro = np.sqrt(np.einsum("gij,gij->g", W.reshape(3, n, n), W.reshape(3, n, n)))
        a = np.abs(alpha).reshape(self.steps, 3, n).max(axis=-1)
        with np.errstate(divide="ignore"):
            bound = np.log2(np.abs(z).max(axis=-1) + a @ fro)
        buf = np.empty((n, n))

        def formed(s):
            return self._compose(alpha[s - 1], z[s - 1], out=buf)

        if side == "left":
            def apply(s, P):
                return formed(s) @ P
        else:
            def apply(s, P):
                return P @ formed(s)
        return apply, bound

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
