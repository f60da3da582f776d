"""The two general-purpose sequences: explicit matrices and one shared matrix scaled per step.

* :class:`DenseJacobians` -- explicit matrices (what a user passes in).
* :class:`ScaledJacobians` -- ``J_t = diag(shift) + diag(row_t) W diag(col_t)``
  with one shared W (Elman, recurrent-first and leaky cells, residual layers).

Both supply fast paths for the hot loops (``step_operator``).
"""

from __future__ import annotations

import numpy as np

from .._core.errors import NumericalError
from .._core.interop import is_tensor
from .._core.validation import as_array, check_int, describe
from .kernels import CHUNK_BYTES, log2_fro
from .sequence import JacobianSequence, without_subnormals

__all__ = ["DenseJacobians", "ScaledJacobians", "as_jacobian_sequence"]


# ---------------------------------------------------------------------------------------


class DenseJacobians(JacobianSequence):
    """Explicit step Jacobians.

    Parameters
    ----------
    mats : (T, n, n) or (B, T, n, n) array_like, or a sequence of 2-D arrays
        ``mats[t-1]`` is ``J_t``.  A list of matrices of different shapes is
        accepted when consecutive shapes chain (``J_t`` has as many columns as
        ``J_{t-1}`` has rows), e.g. the layers of a rectangular MLP.
    name : str
        Argument name used in error messages.
    dtype : float32 or float64
    """

    def __init__(self, mats, *, name: str = "J", dtype=np.float64):
        if isinstance(mats, np.ndarray) or is_tensor(mats):
            arr = as_array(mats, name, dtype=dtype)
            self._init_array(arr, name)
            return
        try:
            items = list(mats)
        except TypeError:
            raise TypeError(f"`{name}` must be a Trajectory, an array of shape (T, n, n) or a "
                            f"sequence of matrices; got {describe(mats)}") from None
        mats_ = [as_array(m, f"{name}[{i}]", dtype=dtype, ndim=2) for i, m in enumerate(items)]
        if mats_ and len({m.shape for m in mats_}) == 1:
            self._init_array(np.stack(mats_), name)
            return
        if not mats_:
            raise ValueError(f"`{name}` must contain at least one matrix; got an empty sequence")
        for i in range(1, len(mats_)):
            if mats_[i].shape[1] != mats_[i - 1].shape[0]:
                raise ValueError(f"`{name}` steps must chain: {name}[{i}] has shape {mats_[i].shape} "
                                 f"but {name}[{i - 1}] has shape {mats_[i - 1].shape} "
                                 f"(need {mats_[i - 1].shape[0]} columns)")
        self._mats = tuple(mats_)
        self._array = None
        self.steps = len(mats_)
        self.batch_shape = ()
        self.dtype = mats_[0].dtype

    def _init_array(self, arr, name):
        if arr.ndim == 2:
            raise ValueError(f"`{name}` must be a sequence of matrices, shape (T, n, n); got one "
                             f"matrix of shape {arr.shape} (for a constant step use "
                             f"np.broadcast_to(W, (T, n, n)))")
        if arr.ndim not in (3, 4):
            raise ValueError(f"`{name}` must have shape (T, n, n) or (B, T, n, n); got shape {arr.shape}")
        if arr.shape[-1] != arr.shape[-2] and arr.shape[-3] > 1:
            raise ValueError(f"`{name}` steps must chain: every step has shape {arr.shape[-2:]}, "
                             f"so J_2 cannot follow J_1 (need square steps, or a list of "
                             "matrices whose shapes chain)")
        self._array = arr
        self._mats = None
        self.steps = arr.shape[-3]
        self.batch_shape = arr.shape[:-3]
        self.dtype = arr.dtype

    def step_shape(self, t):
        if self._array is not None:
            return self._array.shape[-2:]
        return self._mats[t - 1].shape

    @property
    def is_square(self):
        if self._array is not None:
            return self._array.shape[-1] == self._array.shape[-2]
        return super().is_square

    def matrix(self, t):
        return self._array[..., t - 1, :, :] if self._array is not None else self._mats[t - 1]

    def matrices(self, start=1, stop=None):
        stop = self.steps if stop is None else stop
        if self._array is not None:
            return self._array[..., start - 1:stop, :, :]
        return super().matrices(start, stop)

    def matmat(self, t, X):
        return self.matrix(t) @ X

    def rmatmat(self, t, Y):
        return np.swapaxes(self.matrix(t), -1, -2) @ Y

    def lmatmat(self, t, P):
        return P @ self.matrix(t)

    def step_operator(self, side="left"):
        T = self.steps
        if self._array is not None and not self.batch_shape:
            M = self._array
            n = M.shape[-1]
            bound = np.empty(T)
            L = max(1, CHUNK_BYTES // (8 * n * n))
            for a in range(0, T, L):
                big = np.max(np.abs(M[a:a + L]), axis=(-2, -1))
                if not np.all(np.isfinite(big)):
                    raise NumericalError(f"a step Jacobian among J_{a + 1}..J_{min(T, a + L)} has "
                                         "non-finite entries")
                with np.errstate(divide="ignore"):
                    bound[a:a + L] = np.log2(big) + np.log2(n)        # ||J||_2 <= n max|J_ij|
            if side == "left":
                def apply(s, P):
                    return M[s - 1] @ P
            else:
                def apply(s, P):
                    return P @ M[s - 1]
            return apply, bound
        return super().step_operator(side)

    def select(self, b):
        b = self._batch_index(b)
        return DenseJacobians(self._array[b])


def _left_times(W, X):
    """``W @ X`` for a block X of 8 or more columns as ``(X^T W^T)^T``.

    OpenBLAS multiplies a thin block faster with W as the right operand: for
    ``W^T @ Y`` 1.6-2.4x (n >= 256, 16-64 columns), for ``W @ X`` 1.1-1.5x,
    measured on one core (benchmarks/README.md, top-k); for one column W on the
    left is faster.  The result is then Fortran-ordered, which the next product
    in a chain takes as it is.
    """
    if X.shape[-1] >= 8:
        return np.swapaxes(np.swapaxes(X, -1, -2) @ np.swapaxes(W, -1, -2), -1, -2)
    return W @ X


def _scale(Y, v):
    """``v * Y`` for a fresh product Y, in place when the dtype allows.

    A second temporary of Y's size is costly for stacked products: for 64
    members of 32 x 32, ``row * (W @ X)`` took 5-6 times as long as ``W @ X``
    followed by an in-place scaling (measured, one core).
    """
    if np.result_type(Y, v) == Y.dtype and np.broadcast_shapes(Y.shape, v.shape) == Y.shape:
        Y *= v
        return Y
    return v * Y


class ScaledJacobians(JacobianSequence):
    """``J_t = diag(shift) + diag(row_t) W diag(col_t)`` with one shared ``W``.

    Parameters
    ----------
    W : (n_out, n_in) or (B, n_out, n_in) array
        The shared weight matrix (kept by reference, never copied per step).
        A stack of B matrices is an ensemble of B networks: member b uses
        ``W[b]`` at every step, the batch shape is ``(B,)`` and every product
        is one 3-D batched matrix product (:func:`spectra.ensemble`).
    steps : int
        T.  Needed when neither ``row`` nor ``col`` is given (J_t = W + shift).
    row : ``(*batch, T, n_out)`` array, optional
        Row scalings (the Elman cell's f'(a_t)).
    col : ``(*batch, T, n_in)`` array, optional
        Column scalings (the recurrent-first cell's f'(h_{t-1})).
    shift : float or (n,) array, optional
        A constant diagonal added to every step (leaky alpha; 1 for a residual
        layer); needs ``n_out == n_in``.

    Notes
    -----
    Scalings below the smallest normal number are stored as exact zeros.
    ``matmat`` costs one GEMM with W plus O(n m) scaling, ``matrix`` O(n^2),
    and ``logabsdet`` O(n) per step once ``log|det W|`` is known (when there
    is no shift).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.stack([np.eye(2), 2 * np.eye(2)])            # two networks
    >>> seq = spectra.ScaledJacobians(W, row=np.full((2, 3, 2), 0.5))
    >>> seq.batch_shape, seq.matrix(1)[:, 0, 0]
    ((2,), array([0.5, 1. ]))
    """

    def __init__(self, W, *, steps=None, row=None, col=None, shift=None):
        self.W = W
        self.row = without_subnormals(row)
        self.col = without_subnormals(col)
        self.shift = None if shift is None else np.asarray(shift, dtype=W.dtype)
        self.dtype = W.dtype
        if W.ndim not in (2, 3):
            raise ValueError(f"`W` must have shape (n_out, n_in) or (B, n_out, n_in); got shape {W.shape}")
        ref = row if row is not None else col
        if ref is not None:
            self.steps = ref.shape[-2]
            self.batch_shape = ref.shape[:-2]
        else:
            self.steps = check_int(steps, "steps", minimum=0)
            self.batch_shape = W.shape[:-2]
        if W.ndim == 3:
            for name, v in (("row", row), ("col", col)):
                if v is not None and v.shape[:-2] != W.shape[:1]:
                    raise ValueError(f"`{name}` must have shape (B, T, n) = ({W.shape[0]}, T, n) "
                                     f"for a stack of B = {W.shape[0]} matrices `W`; got shape "
                                     f"{v.shape}")
        if shift is not None and W.shape[-2] != W.shape[-1]:
            raise ValueError(f"`shift` needs a square `W`; got shape {W.shape}")
        self._logdetW = None
        self._svW = None

    def step_shape(self, t):
        return self.W.shape[-2:]

    @property
    def is_square(self):
        return self.W.shape[-2] == self.W.shape[-1]

    def _row(self, t):
        return None if self.row is None else self.row[..., t - 1, :]

    def _col(self, t):
        return None if self.col is None else self.col[..., t - 1, :]

    def matrix(self, t):
        return self._compose(self._row(t), self._col(t))

    def _compose(self, row, col, W=None):
        J = W = self.W if W is None else W
        if row is not None:
            J = row[..., :, None] * J
        if col is not None:
            J = J * col[..., None, :]
        if self.shift is not None:
            n = self.W.shape[-1]
            J = J + np.broadcast_to(self.shift, (n,))[:, None] * np.eye(n, dtype=self.dtype)
        if J is W:
            J = J.copy()
        return J

    def matrices(self, start=1, stop=None):
        stop = self.steps if stop is None else stop
        row = None if self.row is None else self.row[..., start - 1:stop, :]
        col = None if self.col is None else self.col[..., start - 1:stop, :]
        if row is None and col is None:
            J = self._compose(None, None)[..., None, :, :]
            return np.broadcast_to(J, self.batch_shape + (stop - start + 1,) + J.shape[-2:]).copy()
        # a stack of W (B, n, n) meets the step axis of row/col (B, L, n)
        return self._compose(row, col, self.W[:, None] if self.W.ndim == 3 else None)

    def matmat(self, t, X):
        row, col = self._row(t), self._col(t)
        Y = X if col is None else col[..., :, None] * X
        Y = _left_times(self.W, Y)
        if row is not None:
            Y = _scale(Y, row[..., :, None])
        if self.shift is not None:
            Y = Y + np.reshape(self.shift, (-1, 1)) * X
        return Y

    def rmatmat(self, t, Y):
        row, col = self._row(t), self._col(t)
        Z = Y if row is None else row[..., :, None] * Y
        Z = np.swapaxes(np.swapaxes(Z, -1, -2) @ self.W, -1, -2)    # W^T Z, see _left_times
        if col is not None:
            Z = _scale(Z, col[..., :, None])
        if self.shift is not None:
            Z = Z + np.reshape(self.shift, (-1, 1)) * Y
        return Z

    def step_norm_bounds(self):
        """Cheap per-step bounds from the factors (O(T n) after one SVD of W).

        ``||J_t|| <= max|shift| + max|row_t| ||W|| max|col_t|``.  Without a
        shift, ``s_min(J_t) >= min|row_t| s_min(W) min|col_t|`` (square W);
        with one, Weyl's inequality ``s_min(A + B) >= s_min(A) - ||B||``
        gives ``min|shift| - max|row_t| ||W|| max|col_t|``, clamped at 0.
        For the Elman cell the upper bound is the "trajectory bound"
        ``max_i |f'(a_{t,i})| ||W_hh||``, never looser than gamma_h ||W_hh||.
        """
        if self._svW is None:
            self._svW = np.linalg.svd(self.W, compute_uv=False)
        smax = self._svW[..., 0, None]                       # (1,) or (B, 1): per member
        smin = self._svW[..., -1, None] if self.is_square else np.zeros_like(smax)
        if self.W.ndim == 2:
            smax, smin = float(smax[0]), float(smin[0])
        shape = self.batch_shape + (self.steps,)
        rmax = np.ones(shape) if self.row is None else np.max(np.abs(self.row), axis=-1)
        rmin = np.ones(shape) if self.row is None else np.min(np.abs(self.row), axis=-1)
        cmax = np.ones(shape) if self.col is None else np.max(np.abs(self.col), axis=-1)
        cmin = np.ones(shape) if self.col is None else np.min(np.abs(self.col), axis=-1)
        scaled_up = rmax * smax * cmax
        scaled_lo = rmin * smin * cmin
        if self.shift is not None:
            a = np.abs(np.broadcast_to(self.shift, (self.W.shape[-2],)))
            upper = a.max() + scaled_up
            # J = diag(shift) + S: s_min(J) >= s_min(diag(shift)) - ||S|| (Weyl)
            lower = np.maximum(a.min() - scaled_up, 0.0)
        else:
            upper, lower = scaled_up, scaled_lo
        with np.errstate(divide="ignore"):
            return np.log(upper), np.log(lower)
    def apply(self, t, k, X):
        # A block of vectors is carried as rows (X^T, contiguous): BLAS streams W once per
        # step with the block as the short side, about 1.3x (A) and 2x (A^T) faster than
        # W @ X and W^T @ X for a few dozen vectors at n = 4096 (measured, OpenBLAS).
        if self.batch_shape or X.ndim != 2 or X.shape[1] < 2:
            return super().apply(t, k, X)
        Z = np.ascontiguousarray(X.T)
        for s in range(k + 1, t + 1):
            Z = self._times_transpose(s, Z)
        return Z.T

    def rapply(self, t, k, Y):
        if self.batch_shape or Y.ndim != 2 or Y.shape[1] < 2:
            return super().rapply(t, k, Y)
        Z = np.ascontiguousarray(Y.T)
        for s in range(t, k, -1):
            Z = self.lmatmat(s, Z)
        return Z.T

    def _times_transpose(self, t, Z):
        """``Z @ J_t^T`` (rows of Z are vectors: the rows of (J_t Z^T)^T)."""
        row, col = self._row(t), self._col(t)
        Y = Z if col is None else Z * col
        Y = Y @ self.W.T
        if row is not None:
            Y = Y * row
        if self.shift is not None:
            Y = Y + Z * np.reshape(self.shift, (1, -1))
        return Y

    def lmatmat(self, t, P):
        row, col = self._row(t), self._col(t)
        Z = P if row is None else P * row[..., None, :]
        Z = Z @ self.W
        if col is not None:
            Z = _scale(Z, col[..., None, :])
        if self.shift is not None:
            Z = Z + P * np.reshape(self.shift, (1, -1))
        return Z

    def logabsdet(self, t):
        self.require_square("logabsdet")
        if self.shift is not None:
            return super().logabsdet(t)
        if self._logdetW is None:
            with np.errstate(divide="ignore"):
                self._logdetW = np.linalg.slogdet(self.W)[1]        # () or (B,): per member
        out = np.broadcast_to(self._logdetW, self.batch_shape).astype(np.float64)
        with np.errstate(divide="ignore"):
            for v in (self._row(t), self._col(t)):
                if v is not None:
                    out = out + np.sum(np.log(np.abs(v)), axis=-1)
        return out

    def step_operator(self, side="left"):
        if (self.shift is None and not self.batch_shape
                and (self.row is None) != (self.col is None)):
            W = self.W
            by_row = self.row is not None
            v = self.row if by_row else self.col
            if not np.all(np.isfinite(v)):
                raise NumericalError("a step Jacobian has non-finite entries")
            with np.errstate(divide="ignore"):
                bound = np.log2(np.max(np.abs(v), axis=-1)) + log2_fro(W)   # ||diag(v) W||_F bound
            if by_row:      # J = diag(d) W:  J P = diag(d) (W P),  P J = (P diag(d)) W
                if side == "left":
                    D = v[:, :, None]

                    def apply(s, P):
                        return D[s - 1] * (W @ P)
                else:
                    def apply(s, P):
                        return (P * v[s - 1]) @ W
            else:           # J = W diag(d):  J P = W (diag(d) P),  P J = (P W) diag(d)
                if side == "left":
                    D = v[:, :, None]

                    def apply(s, P):
                        return W @ (D[s - 1] * P)
                else:
                    def apply(s, P):
                        return (P @ W) * v[s - 1]
            return apply, bound
        if self.shift is None and self.batch_shape and (self.row is None) != (self.col is None):
            return self._batched_step_operator(side)
        return super().step_operator(side)

    def _batched_step_operator(self, side):
        """The batch's hot loop: one 3-D batched GEMM and an in-place scaling per step;
        ``log2_bound`` has shape ``(B, T)`` (``||diag(v) W||_F`` per member)."""
        W = self.W
        by_row = self.row is not None
        v = self.row if by_row else self.col
        if not np.all(np.isfinite(v)):
            raise NumericalError("a step Jacobian has non-finite entries")
        Ws = W if W.ndim == 3 else W[None]
        fro = np.array([log2_fro(w) for w in Ws])[:, None]        # (B, 1) or (1, 1)
        with np.errstate(divide="ignore"):
            bound = np.log2(np.max(np.abs(v), axis=-1)) + fro
        if by_row == (side == "left"):     # diag(d) (W P)  or  (P W) diag(d): scale the product
            D = v[..., :, None] if side == "left" else v[..., None, :]

            def apply(s, P):
                Y = W @ P if side == "left" else P @ W
                Y *= D[:, s - 1]
                return Y
        else:                               # W (diag(d) P)  or  (P diag(d)) W
            D = v[..., :, None] if side == "left" else v[..., None, :]

            def apply(s, P):
                return W @ (D[:, s - 1] * P) if side == "left" else (P * D[:, s - 1]) @ W
        return apply, bound

    def select(self, b):
        b = self._batch_index(b)
        return ScaledJacobians(self.W[b] if self.W.ndim == 3 else self.W, steps=self.steps,
                               row=None if self.row is None else self.row[b],
                               col=None if self.col is None else self.col[b],
                               shift=self.shift)


def as_jacobian_sequence(J, *, name: str = "J") -> JacobianSequence:
    """Accept a Trajectory, a JacobianSequence, an array or a sequence of matrices."""
    if isinstance(J, JacobianSequence):
        return J
    seq = getattr(J, "jacobian_sequence", None)
    if isinstance(seq, JacobianSequence):
        return seq
    if J is None or isinstance(J, (str, bytes, dict)):
        raise TypeError(f"`{name}` must be a Trajectory, a JacobianSequence, an array of shape "
                        f"(T, n, n) or a sequence of matrices; got {describe(J)}")
    if isinstance(J, (list, tuple)) and any(hasattr(j, "jacobian_sequence") for j in J):
        raise TypeError(f"`{name}` must be one Trajectory; got a {type(J).__name__} of "
                        f"{len(J)} runs.  For the layers of one network, analyse them as one "
                        "system: spectra.Stack([cell0, cell1, ...]).run(x) (or spectra.from_torch)")
    return DenseJacobians(J, name=name)
