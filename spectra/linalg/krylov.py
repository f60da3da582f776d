"""One Krylov kernel for the largest singular values, and the parts its specialised users share.

The kernel, :func:`golub_kahan_svd`, is a block Golub-Kahan-Lanczos
bidiagonalisation with full re-orthogonalisation and thick restarts, driven
only by products with A and A^T (two callables), so it serves dense matrices,
``LinearOperator`` s and factored Jacobian products alike.  It is behind
:func:`spectra.top_singular_values` and both iterative methods of
:func:`spectra.spectral_norm` (``"lanczos"``: blocks of 16 vectors;
``"power"``: one vector, restarted after every step).

Two loops keep their own iteration and use the shared parts below, because
the kernel would cost them measurably (see their docstrings):

* the resolvent kernel of :mod:`spectra.linalg.resolvent` runs a
  single-vector Golub-Kahan-Lanczos on ``c (z I - T)^{-1}`` for hundreds of
  points z at once, one column per point, in complex arithmetic;
* the spectral-norm profile of :mod:`spectra.analysis.products` runs a
  warm-started block iteration on ``P P^T`` for a slowly changing P, once per
  lag, where a call costs tens of microseconds.

Shared parts: :func:`reorthogonalise` (classical Gram-Schmidt twice, for a
block or column by column), :func:`orthonormalise` (the same plus a QR that
drops numerically dependent directions), :func:`bidiagonal_top_ritz` and
:func:`bidiagonal_partner` (the top Ritz triple of a batch of bidiagonal
projections), and the two convergence
tests :func:`residual_converged` and :func:`eigenvalue_certified`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core.errors import ConvergenceError
from .._core.results import Result
from .._core.validation import as_generator, check_choice, check_int, check_real

__all__ = [
    "golub_kahan_svd",
    "TopSingularValues",
    "reorthogonalise",
    "orthonormalise",
    "bidiagonal_top_ritz",
    "bidiagonal_partner",
    "residual_converged",
    "eigenvalue_certified",
]

_TINY = np.finfo(np.float64).tiny
# Default block: a pass of a block through a long trajectory is memory-bound (each step
# reads its n x n weights once), so up to about 16 vectors cost little more than one and the
# Krylov space grows much faster per pass.
DEFAULT_BLOCK = 16


@dataclass(frozen=True, repr=False)
class TopSingularValues(Result):
    """The largest singular triplets of an operator (:func:`golub_kahan_svd`,
    :func:`spectra.top_singular_values`).

    Attributes
    ----------
    values : (k,) ndarray
        The largest singular values, descending.
    left, right : (m, k), (n, k) ndarray
        The corresponding singular vectors (zero columns for exactly zero
        singular values beyond the rank of A).
    residuals : (k,) ndarray
        ``||A^T u_i - sigma_i v_i||`` (the other residual is zero by
        construction); each sigma_i is within this of a true singular value.
    converged : bool
        Whether the convergence test was met (by default: every residual is
        below ``tol * sigma_1``).
    passes : int
        Products with A plus products with A^T, each on a block of vectors.
    single_passes : int
        How many of those were computed in single precision (the mixed path
        of :func:`spectra.top_singular_values`; 0 otherwise): the values,
        vectors and residuals are float64 all the same.

    ``to_dict()`` leaves out the singular vectors.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> res = spectra.top_singular_values(np.diag([3.0, 2.0, 1.0]), 2, rng=0)
    >>> res.values
    array([3., 2.])
    >>> res.to_dict()["converged"]
    True
    """

    _frame = ("i", None, ("values", "residuals"))

    _json_exclude = frozenset({"left", "right"})

    values: np.ndarray
    left: np.ndarray
    right: np.ndarray
    residuals: np.ndarray
    converged: bool
    passes: int
    single_passes: int = 0


# -- shared parts ------------------------------------------------------------------------


def reorthogonalise(X, bases, *, columnwise=False, coefficients=True):
    """Remove from X its components along orthonormal bases: classical Gram-Schmidt, twice.

    Parameters
    ----------
    X : (n, b) ndarray
        The vectors (real or complex).
    bases : list of (n, b_i) ndarray
        Blocks with orthonormal columns, all of one dtype (``columnwise=False``), or, with
        ``columnwise=True``, (n, b) arrays whose column j belongs to problem
        j alone: then column j of X is orthogonalised against column j of
        every array (many independent single-vector problems at once).
    columnwise : bool
    coefficients : bool
        Return the coefficients (else None in their place; columnwise only,
        where a hot loop may not need them).

    Returns
    -------
    X : (n, b) ndarray
        The orthogonalised vectors (a new array).
    coefficients : list of (b_i, b) ndarray, or (len(bases), b) ndarray
        ``X_in = X + sum_i bases[i] @ coefficients[i]`` (block form) or
        ``X_in[:, j] = X[:, j] + sum_i bases[i][:, j] * coefficients[i, j]``
        (columnwise), up to rounding.

    Notes
    -----
    Twice is enough (Giraud, Langou & Rozloznik 2005): after the second pass
    X is orthogonal to the bases to working precision unless it lay in their
    span to working precision.

    Examples
    --------
    >>> import numpy as np
    >>> B = [np.eye(3)[:, :1]]
    >>> X, C = reorthogonalise(np.array([[2.0], [1.0], [0.0]]), B)
    >>> X.ravel(), C[0].ravel()
    (array([0., 1., 0.]), array([2.]))
    """
    if columnwise:
        if not bases:
            return X, (np.zeros((0, X.shape[1]), dtype=X.dtype) if coefficients else None)
        B = np.stack(bases)
        h1 = np.einsum("knm,nm->km", B, X.conj()).conj()
        X = X - np.einsum("knm,km->nm", B, h1)
        h2 = np.einsum("knm,nm->km", B, X.conj()).conj()
        X = X - np.einsum("knm,km->nm", B, h2)
        return X, (h1 + h2 if coefficients else None)
    complex_ = X.dtype.kind == "c" or (bool(bases) and bases[0].dtype.kind == "c")
    C = [np.zeros((B.shape[1], X.shape[1]), dtype=complex if complex_ else float) for B in bases]
    for _ in range(2):
        for i, B in enumerate(bases):
            c = (B.conj().T if complex_ else B.T) @ X
            X = X - B @ c
            C[i] += c
    return X, C


def orthonormalise(X, bases, room):
    """Orthonormalise a block against orthonormal blocks (:func:`reorthogonalise`) and itself.

    Returns ``(Q, C, R)`` with ``X = sum_i bases[i] @ C[i] + Q @ R`` up to
    rounding and the dropped directions: those already, numerically, in the
    span (``|r_jj| <= 1e-12 max_j ||x_j||``; the QR is redone with column
    pivoting when such a column comes before an independent one).  Q has at
    most ``room`` columns (the caller's remaining dimension).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0]])    # rank one
    >>> Q, C, R = orthonormalise(X, [], room=2)
    >>> Q.shape, np.allclose(Q @ R, X)
    ((3, 1), True)
    """
    scale = max(float(np.max(np.linalg.norm(X, axis=0))), _TINY) if X.size else 0.0
    X, C = reorthogonalise(X, bases)
    if X.shape[1] == 1:             # one vector: its norm is its QR (numpy's qr costs more)
        r = float(np.sqrt(np.vdot(X[:, 0], X[:, 0]).real))
        if r > 1e-12 * scale and room >= 1:
            return X / r, C, np.array([[r]])
        return X[:, :0], C, np.zeros((0, 1))
    Q, R = np.linalg.qr(X)
    good = np.abs(np.diagonal(R)) > 1e-12 * scale
    rank = int(np.count_nonzero(good))
    if good[:rank].all():
        # no dependent column before an independent one: the truncated QR is exact
        keep = min(rank, max(room, 0))
        if keep == Q.shape[1]:
            return Q, C, R
        return np.asfortranarray(Q[:, :keep]), C, R[:keep, :]   # a compact copy, not a view
    # a dependent column before an independent one: its (arbitrary) direction would take a
    # share of every later column, so factor again with column pivoting, which puts the
    # dependent columns last
    from scipy.linalg import qr

    Q, R, perm = qr(X, mode="economic", pivoting=True)
    rank = int(np.count_nonzero(np.abs(np.diagonal(R)) > 1e-12 * scale))
    rank = min(rank, max(room, 0))
    Rr = np.empty((rank, X.shape[1]), dtype=R.dtype)
    Rr[:, perm] = R[:rank]
    return np.asfortranarray(Q[:, :rank]), C, Rr


def bidiagonal_top_ritz(alpha, beta):
    """Top Ritz pair of a batch of single-vector Golub-Kahan-Lanczos runs, and its residual.

    After k steps, ``M P_k = Q_k B_k`` and ``M^H Q_k = P_k B_k^T + beta_k
    p_{k+1} e_k^T`` with ``B_k`` upper bidiagonal (diagonal alpha,
    superdiagonal beta_1..beta_{k-1}).  The largest singular value theta of
    ``B_k`` is the Ritz value; its left singular vector x gives the Ritz vector
    ``Q_k x`` (~ right singular vector of M^H, i.e. left of M) and
    ``y = B_k^T x / theta`` (:func:`bidiagonal_partner`) gives ``P_k y``.

    Parameters
    ----------
    alpha, beta : (m, k) ndarray
        One row per problem; ``beta[:, -1]`` is the coupling ``beta_k`` to the
        next vector (not part of B_k).

    Returns
    -------
    theta : (m,) ndarray
        Largest singular value of each B_k.
    x : (m, k) ndarray
        Its unit left singular vector (coefficients on Q_k).
    residual : (m,) ndarray
        ``beta_k |x_k| = ||M^H Q_k x - theta P_k y||`` (while ``M P_k y =
        theta Q_k x`` exactly): theta is within it of a singular value of M
        (:func:`residual_converged`).

    Examples
    --------
    >>> import numpy as np
    >>> theta, x, res = bidiagonal_top_ritz(np.array([[3.0, 1.0]]), np.array([[0.0, 0.5]]))
    >>> theta, res
    (array([3.]), array([0.]))
    """
    al, be = np.asarray(alpha), np.asarray(beta)
    m, k = al.shape
    # C = B B^T is tridiagonal: its top eigenpair is (theta^2, x)
    ar = np.arange(k)
    C = np.zeros((m, k, k))
    d = al ** 2
    if k > 1:
        sup = be[:, :-1]              # the superdiagonal of B_k (beta_k is the coupling)
        d[:, :-1] += sup ** 2
        off = sup * al[:, 1:]
        C[:, ar[:-1], ar[1:]] = off
        C[:, ar[1:], ar[:-1]] = off
    C[:, ar, ar] = d
    w, X = np.linalg.eigh(C)
    theta = np.sqrt(np.maximum(w[:, -1], 0.0))
    x = X[:, :, -1]
    return theta, x, be[:, -1] * np.abs(x[:, -1])


def bidiagonal_partner(alpha, beta, x):
    """``B_k^T x`` for the rows of a batch (see :func:`bidiagonal_top_ritz`): the coefficients
    of the partner Ritz vector on P_k, of norm theta.

    >>> bidiagonal_partner(np.array([[3.0, 1.0]]), np.array([[2.0, 0.5]]), np.array([[1.0, 0.0]]))
    array([[3., 2.]])
    """
    al, be = np.asarray(alpha), np.asarray(beta)
    y = al * x
    if al.shape[1] > 1:
        y[:, 1:] += be[:, :-1] * x[:, :-1]
    return y


def residual_converged(residual, sigma, tol):
    """The residual test of the kernel: ``residual <= tol * sigma`` (elementwise).

    For a Ritz triple (theta, u, v) with ``A v = theta u`` and
    ``||A^H u - theta v|| = residual``, theta lies within ``residual`` of a
    singular value of A (Weyl), so the test bounds the absolute error of
    every Ritz value by ``tol * sigma`` (sigma: the largest Ritz value).

    >>> residual_converged(np.array([1e-12, 1e-3]), 2.0, 1e-10)
    array([ True, False])
    """
    return residual <= tol * sigma


def eigenvalue_certified(theta, rnorm, gap, rel_tol):
    """A-posteriori test for the top Ritz value theta of a symmetric positive matrix (P P^T).

    With r the eigen-residual of the top Ritz pair and ``gap`` the distance to
    the next Ritz value, ``|theta - lambda_max| <= ||r||^2 / gap`` (Kato-Temple),
    so ``||r||^2 <= rel_tol * theta * gap`` bounds the relative error of
    theta = sigma_max^2 by rel_tol; ``||r|| <= 1e-6 theta`` guards the gap
    estimate.  Works on floats (fast path for a per-call loop) and arrays.

    >>> eigenvalue_certified(4.0, 1e-7, 3.0, 1e-11)
    True
    """
    if isinstance(theta, float):
        return theta > 0 and rnorm * rnorm <= rel_tol * theta * max(gap, 1e-300) \
            and rnorm <= 1e-6 * theta
    return (theta > 0) & (rnorm * rnorm <= rel_tol * theta * np.maximum(gap, 1e-300)) \
        & (rnorm <= 1e-6 * theta)


# -- the kernel --------------------------------------------------------------------------


def _basis_times(blocks, C):
    """``[B_1 B_2 ...] @ C`` without concatenating the blocks."""
    out = None
    r0 = 0
    for B in blocks:
        part = B @ C[r0:r0 + B.shape[1]]
        out = part if out is None else out + part
        r0 += B.shape[1]
    return out


def _grown(M, rows, cols):
    """M, or a zero-padded copy with at least ``rows`` x ``cols`` (doubling)."""
    if M.shape[0] >= rows and M.shape[1] >= cols:
        return M
    out = np.zeros((max(rows, 2 * M.shape[0]), max(cols, 2 * M.shape[1])))
    out[:M.shape[0], :M.shape[1]] = M
    return out


def _padded(res, k):
    """Complete an exact (invariant-subspace) result with zero singular values up to k."""
    m, n = res.left.shape[0], res.right.shape[0]
    extra = k - res.values.size
    pad = (lambda a, rows: np.concatenate([a, np.zeros((rows, extra))], axis=1))
    return TopSingularValues(np.concatenate([res.values, np.zeros(extra)]), pad(res.left, m),
                             pad(res.right, n), np.concatenate([res.residuals, np.zeros(extra)]),
                             True, res.passes)


def _check_shape(shape):
    try:
        m, n = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"`shape` must be a pair of ints (m, n); got {shape!r}") from None
    if m < 1 or n < 1:
        raise ValueError(f"`shape` must be positive; got {(m, n)}")
    return m, n


def golub_kahan_svd(matmat, rmatmat, shape, k=1, *, tol=1e-10, block_size=None, maxiter=None,
                    max_basis=None, keep=None, criterion="residual", rng=None, start=None,
                    strict=True, name="golub_kahan_svd", maxiter_name="maxiter",
                    advice=None, extra=0) -> TopSingularValues:
    """The k largest singular triplets of A from products with A and A^T (block Golub-Kahan-Lanczos).

    Parameters
    ----------
    matmat, rmatmat : callable
        ``matmat(X)`` returns ``A @ X`` for an (n, b) array X, ``rmatmat(Y)``
        returns ``A^T @ Y`` for an (m, b) array Y, both as float64 arrays.
        They are the place for anything per pass: a check that the result is
        finite, a fixed scale c (the kernel then returns the singular values
        of c A; every product is with orthonormal vectors, so nothing exceeds
        ``||c A||``), a thread policy.
    shape : (int, int)
        ``(m, n)``, the shape of A.
    k : int
        How many singular values (at most ``min(m, n)``).
    tol : float
        Convergence tolerance (see ``criterion``).
    block_size : int, optional
        Vectors per block (default ``max(k + 2, 16)``, at most ``min(m, n)``).
    maxiter : int, optional
        Cap on block steps, each one product with A and one with A^T
        (default: enough to span the whole space, ``ceil(min(m, n) / b) + 1``,
        or 10 restart cycles if that is more, when the basis cap forces
        restarts).
    max_basis : int, optional
        Vectors kept per basis before a thick restart (default
        ``max(8 * block_size, 3 * k)``, at least ``keep + block_size``).
    keep : int, optional
        Ritz triplets kept at a thick restart (default ``k + block_size``).
    criterion : {"residual", "value"}
        ``"residual"``: stop when every residual ``||A^T u_i - sigma_i v_i||``
        is below ``tol * sigma_1`` (:func:`residual_converged`; each sigma_i is
        then within that of a true singular value).  ``"value"``: stop when
        the k Ritz values changed by at most ``tol * sigma_1`` over the last
        step and every residual is below ``sqrt(tol) * sigma_1`` (then the
        error of a well separated value is of order ``tol / relative gap``).
    rng : int, Generator or None
        The random start block.
    start : (n, b) array_like, optional
        Start block instead of a random one (e.g. a previous answer); its
        column count sets the block size.
    strict : bool
        Raise :class:`spectra.ConvergenceError` when not converged within
        ``maxiter`` (default); with False, return the best estimates with
        ``converged=False``.
    name, maxiter_name, advice : str, optional
        For the error message, in the caller's own terms: the routine, its
        name for ``maxiter``, and the advice (default "increase `maxiter` or
        `block_size`, or loosen `tol`").
    extra : int
        Ritz triplets returned beyond the k that are tested for convergence
        (e.g. to start a further run with a block of the best vectors);
        default 0.

    Returns
    -------
    TopSingularValues

    Raises
    ------
    ConvergenceError
        ``strict`` and not converged within ``maxiter`` steps: the message
        names ``maxiter`` and ``tol``.

    Notes
    -----
    Block Golub-Kahan-Lanczos bidiagonalisation (Golub, Luk & Overton 1981)
    with full re-orthogonalisation (:func:`orthonormalise`), followed at every
    step by the Rayleigh-Ritz projection onto the Krylov bases.  Only the two
    bases are stored: the projected matrix and the residuals come from the
    Gram-Schmidt coefficients (``A V_j`` is expanded on U_1..U_j and ``A^T
    U_j`` on V_1..V_{j+1}), so memory is O((m + n) max_basis), never an
    m x n matrix.  When the basis would exceed ``max_basis``, it is replaced
    by the best ``keep`` Ritz vectors and their coupling to the next block
    (thick restart, Wu & Simon 2000; Baglama & Reichel 2005), which keeps the
    Krylov relation exact.  When the space becomes invariant (exhausted, or A
    is zero on it) the Ritz values are exact and missing ones are zero.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag(np.arange(1.0, 31.0))
    >>> res = golub_kahan_svd(lambda X: A @ X, lambda Y: A.T @ Y, A.shape, 2, rng=0)
    >>> res.values, res.converged
    (array([30., 29.]), True)
    """
    if not callable(matmat) or not callable(rmatmat):
        raise TypeError("`matmat` and `rmatmat` must be callables returning A @ X and A^T @ Y; got "
                        f"{type(matmat).__name__} and {type(rmatmat).__name__}")
    m, n = _check_shape(shape)
    small = min(m, n)
    k = check_int(k, "k", minimum=1, maximum=small)
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    criterion = check_choice(criterion, "criterion", ("residual", "value"))
    extra = min(check_int(extra, "extra", minimum=0), small - k)
    if start is not None:
        V = np.asarray(start, dtype=np.float64)
        if V.ndim != 2 or V.shape[0] != n or not 1 <= V.shape[1] <= small:
            raise ValueError(f"`start` must have shape ({n}, b) with 1 <= b <= {small}; got {V.shape}")
        b = V.shape[1]
    else:
        b = check_int(block_size, "block_size", minimum=1, allow_none=True) or max(k + 2, DEFAULT_BLOCK)
        b = min(b, small)
        V = as_generator(rng).standard_normal((n, b))
    keep = check_int(keep, "keep", minimum=k, allow_none=True) or k + b
    max_basis = check_int(max_basis, "max_basis", minimum=1, allow_none=True) or max(8 * b, 3 * k)
    max_basis = max(max_basis, keep + b)
    # ceil(small / b) blocks span the smaller side; one more lets the other side's block
    # catch up (a wide matrix: the first left block already spans the whole range)
    cap = -(-small // b) + 1
    if (cap + 1) * b > max_basis:        # restarts will happen: allow ten cycles
        cap = max(cap, 10 * -(-max_basis // b))
    maxiter = check_int(maxiter, "maxiter", minimum=1, allow_none=True) or cap
    if advice is None:
        advice = f"increase `{maxiter_name}` or `block_size`, or loosen `tol`"

    V, _ = np.linalg.qr(V)
    if V.shape[1] < b:  # pragma: no cover - a rank-deficient start block
        V = np.linalg.qr(np.hstack([V, as_generator(rng).standard_normal((n, b - V.shape[1]))]))[0]
    Us, Vs = [], [V]
    Bm = np.zeros((4 * b, 4 * b))      # rows: U columns, cols: V columns (grown on demand)
    Dm = np.zeros((5 * b, 4 * b))      # rows: V columns (one block ahead), cols: U columns
    passes = 0
    result = None
    prev = None
    ucols, vcols = 0, b
    steps = 0
    for j in range(maxiter):
        steps = j + 1
        v0 = vcols - Vs[-1].shape[1]
        Bm = _grown(Bm, vcols + b, vcols + b)
        Dm = _grown(Dm, vcols + 2 * b, vcols + b)
        AV = matmat(Vs[-1])
        passes += 1
        U, C, R = orthonormalise(AV, Us, m - ucols)
        del AV
        r0 = 0
        for Ui, Ci in zip(Us, C):
            Bm[r0:r0 + Ui.shape[1], v0:vcols] = Ci
            r0 += Ui.shape[1]
        if U.shape[1]:
            Bm[ucols:ucols + U.shape[1], v0:vcols] = R
            Us.append(U)
            u0, ucols = ucols, ucols + U.shape[1]
            ATU = rmatmat(U)
            passes += 1
            Vn, D, S = orthonormalise(ATU, Vs, n - vcols)
            del ATU
            r0 = 0
            for Vi, Di in zip(Vs, D):
                Dm[r0:r0 + Vi.shape[1], u0:ucols] = Di
                r0 += Vi.shape[1]
            Dm[vcols:vcols + Vn.shape[1], u0:ucols] = S
        else:
            Vn = np.zeros((n, 0))
        if not Us:  # A V = 0 for the whole start block: A is zero on it
            break
        # Rayleigh-Ritz on the projected matrix; residuals ||A^T u - s v|| in the V basis
        Xf, svf, Ytf = np.linalg.svd(Bm[:ucols, :vcols], full_matrices=False)
        kk = min(k, svf.size)
        kr = min(k + extra, svf.size)               # returned: the tested k and the extra ones
        X, sv, Yt = Xf[:, :kr], svf, Ytf[:kr]
        left = _basis_times(Us, X)
        right = _basis_times(Vs, Yt.T)
        nv = vcols + Vn.shape[1]
        resid = Dm[:nv, :ucols] @ X
        resid[:vcols] -= Yt.T * sv[:kr]
        residuals = np.linalg.norm(resid, axis=0)
        scale = max(sv[0], _TINY)
        if criterion == "residual":
            converged = kk == k and bool(np.all(residual_converged(residuals[:kk], scale, tol)))
        else:
            converged = (kk == k and prev is not None and prev.size == kk
                         and bool(np.all(np.abs(sv[:kk] - prev) <= tol * scale))
                         and bool(np.all(residual_converged(residuals[:kk], scale, np.sqrt(tol)))))
            prev = sv[:kk].copy()
        result = TopSingularValues(sv[:kr], left, right, residuals, converged, passes)
        if converged:
            return result
        if Vn.shape[1] == 0 or j == maxiter - 1:
            if Vn.shape[1] == 0:
                # the Krylov space is exhausted or invariant: the Ritz values are exact and
                # any singular values beyond them are zero
                return _padded(result, k + extra)
            break
        if nv + b <= max_basis or ucols <= keep:
            Vs.append(Vn)
            vcols = nv
            continue
        # thick restart: keep the best r Ritz triplets and their coupling to the next block
        # (A V~ = U~ diag(s), A^T U~ = V~ D_top + V_next D_bottom), so nothing is lost
        r = min(keep, svf.size)
        Xr, Yr = Xf[:, :r], Ytf[:r].T
        Ut, Vt = _basis_times(Us, Xr), _basis_times(Vs, Yr)
        Bnew = np.zeros_like(Bm)
        Bnew[:r, :r] = Xr.T @ Bm[:ucols, :vcols] @ Yr
        Dnew = np.zeros_like(Dm)
        Dnew[:r, :r] = Yr.T @ Dm[:vcols, :ucols] @ Xr
        Dnew[r:r + Vn.shape[1], :r] = Dm[vcols:nv, :ucols] @ Xr
        Bm, Dm = Bnew, Dnew
        Us, Vs = [Ut], [Vt, Vn]
        ucols, vcols = r, r + Vn.shape[1]
    if result is None:  # A is zero on the start block
        return _padded(TopSingularValues(np.zeros(0), np.zeros((m, 0)), np.zeros((n, 0)),
                                         np.zeros(0), True, passes), k + extra)
    if result.converged or not strict:
        return result
    raise ConvergenceError(f"{name} did not converge to tol={tol} within {maxiter_name}={steps} steps of "
                           f"{b} vector{'s' if b > 1 else ''} (largest residual "
                           f"{np.max(result.residuals):.2e}, sigma_1 = {result.values[0]:.3e}); "
                           f"{advice}")
