"""Products of a Jacobian span with a block of vectors in single precision.

The single-precision passes of the mixed-precision top-k
(:func:`spectra.top_singular_values` with ``precision="mixed"``): a pass of a
block through a long trajectory streams the weights once per step, so with W
in float32 it reads half the bytes (at n = 4096 a step with a block of 16
costs 13-15 ms against 23-29 ms in float64, one core).  The answers are only
starting points: the caller refines and certifies them with float64 products.

Each column of the block carries its own power-of-two exponent (a product
with a block is linear column by column, so scaling a column by an exact
power of two commutes with it): after every step a column whose largest
entry left ``[2^-40, 2^40]`` is brought back to about one, which keeps float32
away from overflow and from subnormal numbers however long the span.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["block_products32"]

_F32 = np.float32
_LO, _HI = 2.0 ** -40, 2.0 ** 40
# a step may grow a column's largest entry by its infinity-norm bound; beyond 2^80 a column
# at 2^40 could overflow float32 (2^128), so such a sequence has no float32 form here
_MAX_STEP_EXP = 80.0


def block_products32(seq, t, k, layout="numerator"):
    """``(matmat, rmatmat)`` of ``dh_t/dh_k`` with float32 GEMMs, or None when unavailable.

    Parameters
    ----------
    seq : JacobianSequence
        A single :class:`~spectra.ScaledJacobians` with one 2-D ``W`` (Elman,
        recurrent-first and leaky cells); any other sequence gives None.
    t, k : int
        The span (``t > k``).
    layout : {"numerator", "backprop"}
        ``"backprop"``: the operator is the transpose.

    Returns
    -------
    (matmat, rmatmat) or None
        ``matmat(X)`` is ``A @ X`` and ``rmatmat(Y)`` is ``A^T @ Y`` for
        float64 blocks (2-D), returned as float64 arrays; the GEMMs run in
        float32 on one float32 copy of ``W`` (``n_out n_in`` 4-byte numbers,
        made here and kept by the two callables).  None also when W or a
        step's scale lies outside float32's comfortable range (largest entry
        beyond ``2^+-60``).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> from spectra.jacobians.single import block_products32
    >>> traj = spectra.ElmanRNN.random(50, rng=0).run(steps=20, h0=np.ones(50))
    >>> mat, rmat = block_products32(traj.jacobian_sequence, 20, 0)
    >>> X = np.random.default_rng(0).standard_normal((50, 3))
    >>> exact = traj.operator() @ X
    >>> bool(np.linalg.norm(mat(X) - exact) < 1e-5 * np.linalg.norm(exact))
    True
    """
    W = getattr(seq, "W", None)       # a ScaledJacobians (by its fields: no import cycle)
    if not (isinstance(W, np.ndarray) and W.ndim == 2 and W.dtype.kind == "f"
            and all(hasattr(seq, a) for a in ("row", "col", "shift")) and not seq.batch_shape):
        return None
    big, wmax = _abs_bounds(W)
    if not (big == 0.0 or 2.0 ** -60 <= big <= 2.0 ** 60) or not math.isfinite(wmax):
        return None
    row = None if seq.row is None else seq.row[k:t]
    col = None if seq.col is None else seq.col[k:t]
    shift = seq.shift
    # an infinity-norm bound on every step and on its transpose
    rmax = 1.0 if row is None else float(np.max(np.abs(row)))
    cmax = 1.0 if col is None else float(np.max(np.abs(col)))
    smax = 0.0 if shift is None else float(np.max(np.abs(shift)))
    bound = smax + rmax * wmax * cmax
    if not math.isfinite(bound) or (bound > 0 and math.log2(bound) > _MAX_STEP_EXP):
        return None
    W32 = W.astype(_F32)
    row32 = None if row is None else row.astype(_F32)
    col32 = None if col is None else col.astype(_F32)
    shift32 = None if shift is None else np.reshape(shift, -1).astype(_F32)
    n_out, n_in = seq.state_size(t), seq.state_size(k)

    def forward(X):                 # (dh_t/dh_k) X, the block as columns: W32 on the left
        Z, e = _start(X, axis=0)
        for i in range(t - k):
            Y = Z if col32 is None else col32[i][:, None] * Z
            Y = W32 @ Y
            if row32 is not None:
                Y *= row32[i][:, None]
            if shift32 is not None:
                Y += shift32[:, None] * Z
            Z = _kept_in_range(Y, e, axis=0)
        return _finish(Z, e, n_out)

    def backward(Y):                # (dh_t/dh_k)^T Y, the block as rows: W32 on the right
        Z, e = _start(np.asarray(Y, dtype=np.float64).T, axis=1)
        for i in range(t - k - 1, -1, -1):
            X = Z if row32 is None else Z * row32[i]
            X = X @ W32
            if col32 is not None:
                X *= col32[i]
            if shift32 is not None:
                X += Z * shift32
            Z = _kept_in_range(X, e, axis=1)
        return _finish(Z.T, e, n_in)

    if layout == "backprop":
        return backward, forward
    return forward, backward


def _abs_bounds(W):
    """``(max |W_ij|, max(||W||_inf, ||W||_1))``, a band of rows at a time (no temporary as
    large as W)."""
    rows = max(1, (1 << 21) // (8 * max(W.shape[1], 1)))
    big, row_sums, col_sums = 0.0, 0.0, np.zeros(W.shape[1])
    for a in range(0, W.shape[0], rows):
        band = np.abs(W[a:a + rows])
        big = max(big, float(np.max(band)))
        row_sums = max(row_sums, float(np.max(np.sum(band, axis=1))))
        col_sums += np.sum(band, axis=0)
    return big, max(row_sums, float(np.max(col_sums)) if col_sums.size else 0.0)


def _start(X, axis):
    """A C-ordered float32 copy of the block whose vectors run along ``axis`` (0: columns,
    1: rows), each scaled to a largest entry in [0.5, 1), and their exponents."""
    X = np.asarray(X, dtype=np.float64)
    m = np.max(np.abs(X), axis=axis) if X.size else np.zeros(X.shape[1 - axis])
    e = np.where(m > 0, np.frexp(m)[1], 0).astype(np.int64)
    scale = np.ldexp(1.0, -e)
    X = X * (scale[None, :] if axis == 0 else scale[:, None])
    return np.ascontiguousarray(X.astype(_F32)), e


def _kept_in_range(Z, e, axis):
    """Rescale (in place, exactly) the vectors of Z along ``axis`` whose largest entry left
    ``[2^-40, 2^40]``, adding the shifts to ``e``."""
    m = np.max(np.abs(Z), axis=axis)
    out = (m > _HI) | ((m < _LO) & (m > 0))
    if out.any():
        shift = np.where(out, np.frexp(m.astype(np.float64))[1], 0)
        e += shift
        scale = np.ldexp(np.ones(shift.shape, dtype=_F32), -shift).astype(_F32)
        Z *= scale[:, None] if axis == 1 else scale[None, :]
    return Z


def _finish(Z, e, rows):
    """The float64 block ``Z 2^e`` (columns scaled), shape ``(rows, b)``."""
    return np.ldexp(np.asarray(Z, dtype=np.float64), e[None, :]).reshape(rows, -1)
