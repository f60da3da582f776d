"""Diagonal step Jacobians: ``J_t = diag(d_t)``.

The state Jacobians of the diagonal recurrences in use today -- the selective
state-space cell (Mamba), MinGRU and MinLSTM -- are diagonal.  Kept as the
vectors ``d_t``, every product, profile and spectrum costs O(T n): products
are elementwise (mantissas and exponents apart, so they never overflow on
the way), ``logabsdet`` and the eigenvalues are exact.
"""

from __future__ import annotations

import numpy as np

from .._core.validation import as_array
from .kernels import rescale
from .sequence import JacobianSequence, without_subnormals

__all__ = ["DiagonalJacobians"]


class DiagonalJacobians(JacobianSequence):
    """``J_t = diag(d_t)``, stored as the diagonals.

    Parameters
    ----------
    diagonals : ``(*batch, T, n)`` array_like
        ``diagonals[..., t-1, :]`` is the diagonal of ``J_t`` (real).
    dtype : float32 or float64

    Notes
    -----
    ``matmat`` costs O(n m); ``product(t, k)`` is ``diag(prod d_s)``, formed
    with mantissas and exponents apart (a NumericalError when the product itself leaves
    the float64 range, as for every dense product); ``logabsdet(t)`` is
    ``sum log|d_t|`` and :meth:`eigenvalues` are the diagonals themselves.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> from spectra.jacobians import DiagonalJacobians
    >>> J = DiagonalJacobians([[0.5, -2.0], [0.5, 4.0]])
    >>> J.product()
    array([[ 0.25,  0.  ],
           [ 0.  , -8.  ]])
    >>> float(J.logabsdet(2)) == float(np.log(2.0))
    True
    """

    def __init__(self, diagonals, *, dtype=np.float64):
        d = as_array(diagonals, "diagonals", dtype=dtype, ndim=(2, 3))
        self.diagonals = without_subnormals(d)
        self.steps = d.shape[-2]
        self.batch_shape = d.shape[:-2]
        self.dtype = d.dtype
        self._n = d.shape[-1]

    def step_shape(self, t):
        return (self._n, self._n)

    @property
    def is_square(self):
        return True

    def _d(self, t):
        return self.diagonals[..., t - 1, :]

    def eigenvalues(self, t):
        """The eigenvalues of ``J_t`` (its diagonal), shape ``(*batch, n)``."""
        t = self._check_time(t, "t", minimum=1)
        return self._d(t).copy()

    def matrix(self, t):
        d = self._d(t)
        return _diag(d)

    def matrices(self, start=1, stop=None):
        stop = self.steps if stop is None else stop
        return _diag(self.diagonals[..., start - 1:stop, :])

    def matmat(self, t, X):
        return self._d(t)[..., :, None] * X

    def rmatmat(self, t, Y):
        return self._d(t)[..., :, None] * Y

    def lmatmat(self, t, P):
        return P * self._d(t)[..., None, :]

    def apply(self, t, k, X):
        return self._span(t, k)[..., :, None] * X

    def rapply(self, t, k, Y):
        return self._span(t, k)[..., :, None] * Y

    def _span(self, t, k):
        m, e = self._mantissas(t, k)
        with np.errstate(over="ignore", under="ignore"):
            return np.ldexp(m, e)

    def _mantissas(self, t, k):
        """``prod_{s=k+1}^t d_s = m 2^e`` elementwise, m in [0.5, 1) or 0: never over/underflows.

        The mantissas are multiplied in chunks of 256 steps (0.5^256 is a
        normal number) and renormalised in between, so the rounding error is
        that of the plain product, about (t - k) eps relative.
        """
        m, e = np.frexp(self.diagonals[..., k:t, :])
        E = np.sum(e, axis=-2)
        P = np.ones(self.batch_shape + (self._n,), dtype=self.dtype)
        for a in range(0, t - k, 256):
            P, de = np.frexp(P * np.prod(m[..., a:a + 256, :], axis=-2))
            E = E + de
        return P, E

    def logabsdet(self, t):
        with np.errstate(divide="ignore"):
            return np.sum(np.log(np.abs(self._d(t))), axis=-1)

    def step_norm_bounds(self):
        """Exact per-step ``log ||J_t||_2 = log max|d_t|`` and ``log s_min = log min|d_t|``."""
        a = np.abs(self.diagonals)
        with np.errstate(divide="ignore"):
            if not self._n:
                z = np.zeros(self.batch_shape + (self.steps,))
                return z, z
            return np.log(a.max(axis=-1)), np.log(a.min(axis=-1))

    def product(self, t=None, k=None, *, layout="numerator"):
        """``dh_t/dh_k = diag(prod_{s=k+1}^t d_s)``, formed without intermediate over/underflow.

        Raises :class:`spectra.NumericalError` when the product itself leaves
        the float64 range (as every dense product does).
        """
        from .sequence import LAYOUTS
        from .._core.validation import check_choice

        check_choice(layout, "layout", LAYOUTS)
        t, k = self.check_span(t, k)
        m, E = self._mantissas(t, k)
        nonzero = m != 0
        top = np.max(np.where(nonzero, E, np.iinfo(np.int64).min), axis=-1, initial=np.iinfo(np.int64).min)
        top = np.where(np.any(nonzero, axis=-1), top, 0)
        with np.errstate(under="ignore"):
            q = np.ldexp(m, np.maximum(E - top[..., None], -2000))
        Q = _diag(q)
        return rescale(Q, np.asarray(top), t, k)

    def log_norm_profile(self, t, ord=2):
        """``log ||dh_t/dh_{t-lag}||`` for lags 1..t, in O(t n): shape ``(*batch, t)``.

        The norm of a diagonal product is ``max_i |prod d_i|`` (``ord=2``) or
        ``sqrt(sum_i prod d_i^2)`` (``"fro"``), from running sums of
        ``log|d_s|``; :func:`spectra.gradient_norm_profile` uses it.
        """
        with np.errstate(divide="ignore"):
            logs = np.log(np.abs(self.diagonals[..., :t, :]))
        L = np.cumsum(logs[..., ::-1, :], axis=-2)          # lag on the step axis
        if ord == 2:
            return L.max(axis=-1) if self._n else np.full(L.shape[:-1], -np.inf)
        top = L.max(axis=-1, keepdims=True) if self._n else np.full(L.shape[:-1] + (1,), -np.inf)
        safe = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore", under="ignore"):
            return safe[..., 0] + 0.5 * np.log(np.sum(np.exp(2.0 * (L - safe)), axis=-1))

    def log_singular_values(self, t, k):
        """All log singular values of ``dh_t/dh_k`` (``sum log|d_s|``), largest first, in O((t-k) n)."""
        with np.errstate(divide="ignore"):
            L = np.sum(np.log(np.abs(self.diagonals[..., k:t, :])), axis=-2)
        return -np.sort(-L, axis=-1)

    def step_operator(self, side="left"):
        d = self.diagonals
        if self.batch_shape:
            return super().step_operator(side)
        with np.errstate(divide="ignore"):
            bound = np.log2(np.abs(d).max(axis=-1)) if self._n else np.zeros(self.steps)
        if side == "left":
            D = d[:, :, None]

            def apply(s, P):
                return D[s - 1] * P
        else:
            def apply(s, P):
                return P * d[s - 1]
        return apply, bound

    def select(self, b):
        b = self._batch_index(b)
        return DiagonalJacobians(self.diagonals[b], dtype=self.dtype)

    def members(self, start, stop):
        return DiagonalJacobians(self.diagonals[self._member_range(start, stop)], dtype=self.dtype)


def _diag(v):
    """Matrices with the vectors ``v`` (``(..., n)``) on their diagonals (zeros elsewhere, never -0)."""
    n = v.shape[-1]
    out = np.zeros(v.shape + (n,), dtype=v.dtype)
    i = np.arange(n)
    out[..., i, i] = v
    return out
