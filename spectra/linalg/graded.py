"""Graded factorisations carried in the log domain.

A product of many step Jacobians has singular values far outside the float64
range (1e±308) long before it is interesting.  It is kept instead as

    P = U diag(e^l) T,

U with orthonormal columns, l a vector of natural-log scales, and T with
unit rows (well conditioned in practice): the "UDT" stratification of
determinant quantum Monte Carlo (Loh et al. 1992; Bai, Chen, Scalettar &
Yamazaki 2011).  Each step multiplies a new Jacobian in and re-factors with a
pre-pivoted Householder QR; the scales never leave the log domain, so nothing
overflows, underflows or becomes subnormal.

The singular values of ``diag(e^l) T`` are then found by repeating the same
graded QR on the transpose (a zero-shift QR iteration whose off-diagonal
coupling decays like the ratio of the scales), until the rows fall into
clusters that are coupled by less than 1e-12 and each span less than e^600;
each cluster is finished by LAPACK's preconditioned Jacobi SVD (dgejsv;
Drmač & Veselić 2008), which has high relative accuracy for graded
matrices.
"""

from __future__ import annotations

import numpy as np

from .._core.errors import ConvergenceError

__all__ = ["graded_qr", "normalise_rows", "log_singular_values_graded", "flush_subnormals",
           "column_norms"]

_TINY = np.finfo(np.float64).tiny


def flush_subnormals(x):
    """Set entries below the smallest normal float64 to zero, in place; returns x.

    Applied to factors normalised to max ~1, it drops only what lies more than
    2^-1022 below the largest entry, and keeps BLAS off its slow subnormal path.
    """
    x[np.abs(x) < _TINY] = 0.0
    return x


# ||a||^2 of a column with entries in this range neither overflows nor underflows.
_NORM_LO, _NORM_HI = 1e-150, 1e150


def column_norms(A):
    """Euclidean norms of the columns (axis -2) of A, safe at any scale.

    ``numpy.linalg.norm`` squares the entries: a column of 1e-200s has norm
    0 and one of 1e200s has norm inf.  Columns whose plain norm falls outside
    [1e-150, 1e150] are recomputed scaled by their largest entry, so the
    result is exact to rounding for every finite input (0 only for a zero
    column).

    Examples
    --------
    >>> import numpy as np
    >>> from spectra.linalg.graded import column_norms
    >>> column_norms(np.array([[3e-200, 3e200], [4e-200, 4e200]]))
    array([5.e-200, 5.e+200])
    """
    with np.errstate(under="ignore", over="ignore"):
        norms = np.linalg.norm(A, axis=-2)
    bad = ~((norms > _NORM_LO) & (norms < _NORM_HI))
    if np.any(bad):
        m = np.max(np.abs(A), axis=-2)
        safe = np.where(m > 0, m, 1.0)
        with np.errstate(under="ignore"):
            scaled = safe * np.linalg.norm(A / safe[..., None, :], axis=-2)
        norms = np.where(bad, scaled, norms)
    return norms

# Off-diagonal coupling below this (relative to the row scale) is dropped; the
# error it causes in a log singular value is at most of this order.
_COUPLING_TOL = 1e-12
# A cluster is solved densely when its scales span less than this (natural log):
# e^-600 ~ 1e-261 is still a normal float64.
_DENSE_SPAN = 600.0


def _log_abs(x):
    with np.errstate(divide="ignore"):
        return np.log(np.abs(x))


def _log_column_norms(A):
    """log ||a_j||, without overflow or underflow for any finite entries (-inf for a zero column)."""
    m = np.max(np.abs(A), axis=-2)
    safe = np.where(m > 0, m, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(m > 0, np.log(safe) + np.log(np.linalg.norm(A / safe[..., None, :], axis=-2)),
                        -np.inf)


def graded_qr(A, l):
    """Factor ``A diag(e^l)`` with a pre-pivoted QR, keeping the scales in logs.

    Parameters
    ----------
    A : (..., p, r) array
        Finite, moderately scaled (e.g. a Jacobian times orthonormal columns).
    l : (..., r) array
        Log scales of the columns (-inf for a zero column).

    Returns
    -------
    Q : (..., p, q) array, q = min(p, r)
        Orthonormal columns.
    l_new : (..., q) array
        Log scales of the rows of the triangular factor.
    Rt : (..., q, r) array
        Upper trapezoidal with rows of max-abs 1 (zero rows stay zero).
    perm : (..., r) int array
        Column order: ``A[..., perm] diag(e^{l[perm]}) = Q diag(e^{l_new}) Rt``.

    Notes
    -----
    The columns are ordered by decreasing ``l_j + log||a_j||`` before an
    unpivoted Householder QR ("pre-pivoting", Bai et al. 2011).  Householder
    QR is columnwise backward stable, so scaling the columns afterwards is
    exact: ``A Pi diag(e^l) = Q (R diag(e^l))``.
    """
    c = l + _log_column_norms(A)
    perm = np.argsort(-c, axis=-1, kind="stable")
    Ap = np.take_along_axis(A, perm[..., None, :], axis=-1)
    lp = np.take_along_axis(l, perm, axis=-1)
    Q, R = np.linalg.qr(Ap)
    # row i of R diag(e^lp):  R_ij e^{lp_j};  its log-scale is the max over j
    M = _log_abs(R) + lp[..., None, :]
    s = np.max(M, axis=-1)
    finite = np.isfinite(s)
    with np.errstate(invalid="ignore", under="ignore"):
        Rt = np.where(finite[..., None], np.sign(R) * np.exp(M - np.where(finite, s, 0.0)[..., None]), 0.0)
    return flush_subnormals(Q), np.where(finite, s, -np.inf), flush_subnormals(Rt), perm


def normalise_rows(T, l):
    """Move the row norms of ``T`` into the log scales: ``diag(e^l) T`` is unchanged."""
    norms = np.linalg.norm(T, axis=-1)
    nonzero = norms > 0
    safe = np.where(nonzero, norms, 1.0)
    with np.errstate(divide="ignore"):
        l = np.where(nonzero, l + np.log(safe), -np.inf)
    return T / safe[..., None], l


def _clusters(T):
    """Contiguous index ranges coupled by an entry >= _COUPLING_TOL (off the diagonal)."""
    q = T.shape[0]
    big = np.abs(T) >= _COUPLING_TOL
    np.fill_diagonal(big, False)
    idx = np.arange(q)
    reach_right = np.where(big.any(axis=1), q - 1 - np.argmax(big[:, ::-1], axis=1), idx)
    reach_down = np.where(big.any(axis=0), q - 1 - np.argmax(big[::-1, :], axis=0), idx)
    reach = np.maximum.accumulate(np.maximum(np.maximum(reach_right, reach_down), idx))
    ends = np.nonzero(reach == idx)[0]
    starts = np.concatenate(([0], ends[:-1] + 1))
    return list(zip(starts, ends + 1))


def _jacobi_log_svd(block, l):
    """Log singular values of diag(e^l) block, |l - max l| <= _DENSE_SPAN (relatively accurate)."""
    from scipy.linalg import lapack

    top = np.max(l)
    M = np.exp(l - top)[:, None] * block
    if M.shape[0] == 1:
        with np.errstate(divide="ignore"):
            return np.array([top + np.log(np.linalg.norm(M))])
    # dgejsv wants a tall matrix and is relatively accurate for column scalings: use M^T.
    sva, _, _, work, _, info = lapack.dgejsv(np.asfortranarray(M.T), joba=2, jobu=3, jobv=3)
    if info != 0:  # pragma: no cover - dgejsv reports failure only for invalid input
        raise ConvergenceError(f"LAPACK dgejsv failed (info={info}) on a {M.shape} block")
    with np.errstate(divide="ignore"):
        return top + np.log(sva * (work[0] / work[1]))


def log_singular_values_graded(l, T, *, max_sweeps=100):
    """All log singular values of ``diag(e^l) T``, sorted descending.

    Parameters
    ----------
    l : (r,) array
        Log row scales (-inf marks a zero row).
    T : (r, m) array
        Rows of moderate norm.

    Returns
    -------
    (min(r, m),) array
        Natural logs of the singular values; -inf for exact zeros.
    """
    r, m = T.shape
    count = min(r, m)
    keep = np.isfinite(l)
    l, T = l[keep], T[keep]
    if l.size == 0:
        return np.full(count, -np.inf)
    for _ in range(max_sweeps):
        # diag(e^l) T = (T^T diag(e^l))^T; one graded QR of the transpose
        _, l, T, _ = graded_qr(T.T, l)
        T, l = normalise_rows(T, l)
        keep = np.isfinite(l)
        l, T = l[keep], T[keep]  # a zero row is a zero singular value; its column stays
        if T.shape[0] != T.shape[1]:
            continue  # a wide factor; the next sweep makes it square
        clusters = _clusters(T)
        if all(np.ptp(l[a:b]) <= _DENSE_SPAN for a, b in clusters):
            break
    else:
        raise ConvergenceError(
            f"graded SVD did not separate the singular values into clusters within {max_sweeps} "
            "sweeps (very many nearly equal singular values spread over more than e^600)")
    out = np.concatenate([_jacobi_log_svd(T[a:b, a:b], l[a:b]) for a, b in clusters])
    out = np.sort(out)[::-1]
    return np.concatenate([out, np.full(count - out.size, -np.inf)])
