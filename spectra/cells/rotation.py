"""Step Jacobians that are N 2 x 2 blocks ``|lambda_j|`` times a rotation (the LRU's).

A complex diagonal map ``z -> lambda * z`` on a state carried as interleaved real pairs
``(Re z_1, Im z_1, Re z_2, Im z_2, ...)`` has the block-diagonal real Jacobian
``blockdiag([[Re l_j, -Im l_j], [Im l_j, Re l_j]])``; :class:`LRUJacobians` keeps the N
numbers ``lambda_j``.  :func:`to_complex` and :func:`to_real` convert between the two
layouts.
"""

from __future__ import annotations

import math

import numpy as np

from ..jacobians.sequence import JacobianSequence
from .._core.validation import check_int

__all__ = ["LRUJacobians", "to_complex", "to_real"]


def to_complex(states):
    """The complex state ``Re + i Im`` of interleaved real pairs (last axis 2N -> N)."""
    return states[..., 0::2] + 1j * states[..., 1::2]


def to_real(z, dtype=np.float64):
    """Interleaved real pairs ``(Re z_1, Im z_1, ...)`` of a complex array (last axis N -> 2N)."""
    out = np.empty(z.shape[:-1] + (2 * z.shape[-1],), dtype=dtype)
    out[..., 0::2] = z.real
    out[..., 1::2] = z.imag
    return out


class LRUJacobians(JacobianSequence):
    """The constant step Jacobians of an LRU: N blocks ``|lambda_j|`` times a rotation.

    ``J_t = blockdiag([[Re l_j, -Im l_j], [Im l_j, Re l_j]])`` for every t, acting on
    interleaved (Re, Im) pairs.  Memory O(N); ``matmat`` O(n m); products over a span
    are the powers ``lambda^(t-k)`` (exact, no chained rounding); ``logabsdet`` is
    ``2 sum_j log|lambda_j|``; the singular values of ``J_t`` are the ``|lambda_j|``
    (each twice).

    Parameters
    ----------
    lam : (N,) complex array
        The eigenvalues lambda_j.
    steps : int
        T.
    batch_shape : tuple
        The batch shape of the run (the Jacobians do not depend on it).

    Examples
    --------
    >>> import numpy as np
    >>> from spectra.cells import LRUJacobians
    >>> seq = LRUJacobians(np.array([0.6 + 0.8j]) * 0.5, steps=3)
    >>> seq.matrix(1)
    array([[ 0.3, -0.4],
           [ 0.4,  0.3]])
    >>> bool(np.allclose(seq.product(3, 0), np.linalg.matrix_power(seq.matrix(1), 3)))
    True
    """

    def __init__(self, lam, *, steps, batch_shape=()):
        self.lam = np.asarray(lam, dtype=np.complex128)
        self.steps = check_int(steps, "steps", minimum=0)
        self.batch_shape = tuple(batch_shape)
        self.dtype = np.dtype(np.float64)

    @property
    def N(self) -> int:
        return self.lam.shape[0]

    def step_shape(self, t):
        return (2 * self.N, 2 * self.N)

    @property
    def is_square(self):
        return True

    @staticmethod
    def _blocks(lam):
        n = 2 * lam.shape[-1]
        J = np.zeros(lam.shape[:-1] + (n, n))
        idx = np.arange(lam.shape[-1])
        J[..., 2 * idx, 2 * idx] = lam.real
        J[..., 2 * idx, 2 * idx + 1] = -lam.imag
        J[..., 2 * idx + 1, 2 * idx] = lam.imag
        J[..., 2 * idx + 1, 2 * idx + 1] = lam.real
        return J

    def matrix(self, t):
        self._check_time(t, "t", minimum=1)
        J = self._blocks(self.lam)
        return np.broadcast_to(J, self.batch_shape + J.shape).copy()

    def matrices(self, start=1, stop=None):
        stop = self.steps if stop is None else stop
        J = self._blocks(self.lam)
        return np.broadcast_to(J, self.batch_shape + (max(stop - start + 1, 0),) + J.shape).copy()

    @staticmethod
    def _rotate(lam, X):
        """``blockdiag(lam) @ X`` for X of shape (..., 2N, m); lam (N,) complex."""
        a, b = lam.real[:, None], lam.imag[:, None]
        Xr, Xi = X[..., 0::2, :], X[..., 1::2, :]
        Y = np.empty(X.shape, dtype=np.result_type(X, np.float64))
        Y[..., 0::2, :] = a * Xr - b * Xi
        Y[..., 1::2, :] = b * Xr + a * Xi
        return Y

    def matmat(self, t, X):
        return self._rotate(self.lam, np.asarray(X))

    def rmatmat(self, t, Y):
        return self._rotate(self.lam.conj(), np.asarray(Y))

    def apply(self, t, k, X):
        return self._rotate(self.lam ** (t - k), np.asarray(X))

    def rapply(self, t, k, Y):
        return self._rotate(self.lam.conj() ** (t - k), np.asarray(Y))

    def logabsdet(self, t):
        with np.errstate(divide="ignore"):
            return np.full(self.batch_shape, 2.0 * float(np.sum(np.log(np.abs(self.lam)))))

    def step_norm_bounds(self):
        """Exact: ``log max|lambda_j|`` and ``log min|lambda_j|`` for every step."""
        r = np.abs(self.lam)
        shape = self.batch_shape + (self.steps,)
        with np.errstate(divide="ignore"):
            return np.full(shape, math.log(r.max())), np.full(shape, np.log(r.min()))

    def eigenvalues(self) -> np.ndarray:
        """The eigenvalues of every step Jacobian: ``lambda_j`` and ``conj(lambda_j)``, interleaved."""
        out = np.empty(2 * self.N, dtype=np.complex128)
        out[0::2], out[1::2] = self.lam, self.lam.conj()
        return out

    def select(self, b):
        self._batch_index(b)
        return LRUJacobians(self.lam, steps=self.steps, batch_shape=self.batch_shape[1:])
