"""Resolvent norms from one Schur form: sigma_min(z I - W) at many points z.

The epsilon-pseudospectrum, the pseudospectral radius and the Kreiss
constant all need ``sigma_min(z I - W) = 1 / ||(z I - W)^{-1}||_2`` at many
points z.  As in EigTool (Wright & Trefethen 2001; Trefethen 1999,
"Computation of pseudospectra"), W is reduced once to complex Schur form
``W = Q T Q^H`` (O(n^3)); since ``sigma_min(z I - W) = sigma_min(z I - T)``,
each point then costs only triangular solves, O(n^2) each, inside a
Golub-Kahan-Lanczos bidiagonalisation of ``(z I - T)^{-1}`` whose largest
singular value is ``1 / sigma_min``.  No dense SVD is formed per point.

The solves are vectorised across points: the points of a chunk are the
columns of one (n, m) array and a back substitution sweeps the n rows once
for all of them (each row a BLAS gemv).  For a handful of points LAPACK's
``ztrtrs`` per point is faster and is used instead.

Also here: the two structured 2n x 2n eigenvalue problems of Mengi &
Overton (2005) that make the pseudospectral radius computation global (the
radial and the circular search of their criss-cross algorithm).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["schur_complex", "smin", "SminResult", "radial_crossings", "circle_crossings"]

_EPS = np.finfo(np.float64).eps
# Points per chunk scale as 2^15 / n, so the Krylov bases of a chunk
# (2 * kmax + 1 complex (n, m) arrays) stay around 50 MB at most.
_CHUNK_BUDGET = 2 ** 15


def schur_complex(W: np.ndarray):
    """Complex Schur form ``W = Q T Q^H``: returns ``(T, Q)``, T upper triangular."""
    from scipy.linalg import schur

    T, Q = schur(np.asarray(W, dtype=np.complex128), output="complex")
    return np.triu(T), Q


class SminResult(NamedTuple):
    """``sigma_min(z I - T)`` at m points and, on request, singular vectors.

    ``u``, ``v`` are (n, m) with ``(z I - T) v = sigma u`` (unit columns) or
    None; ``converged`` is a boolean (m,) array (points whose residual met the
    tolerance, or whose Krylov space became invariant).
    """

    sigma: np.ndarray
    u: np.ndarray | None
    v: np.ndarray | None
    converged: np.ndarray


def smin(T, z, *, tol=1e-10, kmax=None, restarts=6, vectors=False, seed=0) -> SminResult:
    """Smallest singular value of ``z_j I - T`` for every point ``z_j``.

    Parameters
    ----------
    T : (n, n) complex ndarray
        Upper triangular (a Schur factor).
    z : (m,) array_like of complex
        The points.
    tol : float
        Relative tolerance on the residual of the Ritz triple: a point stops
        when ``beta_j |x_j| <= tol * theta`` (``theta = c / sigma``), which
        bounds the relative error of sigma by about ``tol / 2``.
    kmax : int, optional
        Krylov dimension before an explicit restart (default ``min(n, 40)``;
        with ``kmax = n`` the space is exhausted and the answer is exact up
        to rounding).
    restarts : int
        Explicit restarts from the current Ritz vector before giving up
        (the point is then reported in ``converged`` as False).
    vectors : bool
        Also return the singular vectors (needed for derivatives).
    seed : int
        Seed of the (fixed) random starting vector.

    Notes
    -----
    Each point is scaled by ``c = min_i |z - t_ii|``, an upper bound on
    ``sigma_min`` (a triangular matrix's eigenvalues are its diagonal), and
    the bidiagonalisation runs on ``M = c (z I - T)^{-1}`` (largest singular
    value ``c / sigma_min >= 1``).  Solutions of the triangular systems have
    norm at most ``c / sigma_min``, so nothing overflows unless
    ``sigma_min < 1e-300 c``; such points (and points that are eigenvalues,
    ``c = 0``) get ``sigma = 0``, which is exact to far below the rounding
    level ``eps ||W||`` of any sigma_min computed in float64.
    """
    T = np.asarray(T, dtype=np.complex128)
    z = np.atleast_1d(np.asarray(z, dtype=np.complex128)).ravel()
    n, m = T.shape[0], z.shape[0]
    sigma = np.zeros(m)
    converged = np.ones(m, dtype=bool)
    U = np.zeros((n, m), dtype=np.complex128) if vectors else None
    V = np.zeros((n, m), dtype=np.complex128) if vectors else None
    if m == 0:
        return SminResult(sigma, U, V, converged)
    kmax = min(n, 40) if kmax is None else max(1, min(int(kmax), n))
    diag = np.diag(T)
    c = np.min(np.abs(z[None, :] - diag[:, None]), axis=0)
    start = np.array([1.0, 1j]) @ np.random.default_rng(seed).standard_normal((2, n))
    start /= np.linalg.norm(start)

    singular = np.flatnonzero(c == 0)
    if singular.size and vectors:
        for j in singular:
            U[:, j], V[:, j] = _null_vectors(T, z[j])
    regular = np.flatnonzero(c > 0)
    chunk = max(1, _CHUNK_BUDGET // max(n, 1))
    for lo in range(0, regular.size, chunk):
        idx = regular[lo:lo + chunk]
        res = _gk_chunk(T, diag, z[idx], c[idx], start, tol, kmax, restarts, vectors)
        sigma[idx] = res.sigma
        converged[idx] = res.converged
        if vectors:
            U[:, idx] = res.u
            V[:, idx] = res.v
    return SminResult(sigma, U, V, converged)


def _solve(T, d, c, B):
    """``c A^{-1} B`` columnwise for A = diag(d) - strict_upper(T), column j a point."""
    B = B * c
    n = B.shape[0]
    if B.shape[1] * 16 <= n:
        return _solve_lapack(T, d, B, trans=0)
    # Python's row loop costs ~n microseconds per solve whatever the number of
    # points; LAPACK per point wins when there are only a few points.
    X = np.empty_like(B)
    X[n - 1] = B[n - 1] / d[n - 1]
    for i in range(n - 2, -1, -1):
        X[i] = (B[i] + T[i, i + 1:] @ X[i + 1:]) / d[i]
    return X


def _solve_h(Th, T, d, c, B):
    """``c A^{-H} B`` columnwise (A^H is lower triangular; Th = T^H)."""
    B = B * c
    n = B.shape[0]
    if B.shape[1] * 16 <= n:
        return _solve_lapack(T, d, B, trans=2)
    dc = d.conj()
    Y = np.empty_like(B)
    Y[0] = B[0] / dc[0]
    for i in range(1, n):
        Y[i] = (B[i] + Th[i, :i] @ Y[:i]) / dc[i]
    return Y


def _solve_lapack(T, d, B, trans):
    from scipy.linalg.lapack import ztrtrs

    out = np.empty_like(B)
    A = -T
    di = np.diag_indices(T.shape[0])
    for j in range(B.shape[1]):
        A[di] = d[:, j]
        x, info = ztrtrs(A, B[:, j], lower=0, trans=trans)
        out[:, j] = x if info == 0 else np.inf
    return out


def _reorth(basis, w):
    """Orthogonalise the columns of w (n, m) against basis (k, n, m), twice (CGS2)."""
    if basis.shape[0] == 0:
        return w
    for _ in range(2):
        h = np.einsum("knm,nm->km", basis, w.conj()).conj()
        w = w - np.einsum("knm,km->nm", basis, h)
    return w


def _gk_chunk(T, diag, z, c, start, tol, kmax, restarts, vectors):
    """Golub-Kahan-Lanczos on ``M = c (z I - T)^{-1}`` for a chunk of points, with restarts."""
    n, m = T.shape[0], z.shape[0]
    Th = np.ascontiguousarray(T.conj().T)
    d = z[None, :] - diag[:, None]
    sigma = np.zeros(m)
    conv = np.zeros(m, dtype=bool)
    best = np.zeros(m)
    U = np.zeros((n, m), dtype=np.complex128)
    V = np.zeros((n, m), dtype=np.complex128)
    todo = np.arange(m)
    p0 = np.repeat(start[:, None], m, axis=1)
    for _ in range(restarts + 1):
        if todo.size == 0:
            break
        theta, ok, over, y, x = _gk_run(T, Th, d[:, todo], c[todo], p0, tol, kmax)
        # overflow: c / sigma > ~1e300, i.e. sigma is zero to working precision
        conv[todo[over]] = True
        sigma[todo[over]] = 0.0
        for j in np.flatnonzero(over):
            U[:, todo[j]], V[:, todo[j]] = _null_vectors(T, z[todo[j]])
        better = ~over & (theta > best[todo])
        g = todo[better]
        best[g] = theta[better]
        sigma[g] = c[g] / theta[better]
        U[:, g] = y[:, better]
        V[:, g] = x[:, better]
        conv[todo[ok & ~over]] = True
        again = ~ok & ~over
        p0 = y[:, again]
        todo = todo[again]
    return SminResult(sigma, U if vectors else None, V if vectors else None, conv)


def _gk_run(T, Th, d, c, p0, tol, kmax):
    """One Golub-Kahan-Lanczos run of at most kmax steps, full reorthogonalisation.

    Returns theta (largest Ritz singular value of M), converged, overflowed,
    and unit Ritz vectors y (~ left singular vector u of z I - T) and
    x (~ right singular vector v).

    A point stops when the residual of its Ritz triple,
    ``rho = beta_k |x_k|``, satisfies ``rho <= tol * theta``.  Then M^H M
    has an eigenvalue within ``theta rho`` of ``theta^2`` (and theta^2 is
    below the largest, by interlacing), so sigma_max(M) is found to relative
    accuracy about ``tol / 2``, usually far better (the Ritz value converges
    quadratically in the residual when the top singular value is separated).
    A criterion based on an estimated gap was tried and rejected: with
    clustered singular values (a normal matrix at a point almost equidistant
    from two eigenvalues) it stopped early, with relative errors of 1e-5.
    """
    n, m = p0.shape
    theta_out = np.zeros(m)
    ok_out = np.zeros(m, dtype=bool)
    over_out = np.zeros(m, dtype=bool)
    y_out = p0.copy()
    x_out = p0.copy()
    tiny = np.finfo(np.float64).tiny / _EPS
    live = np.arange(m)              # global column of each working column
    running = np.ones(m, dtype=bool)  # working columns not yet stopped
    P = np.zeros((kmax + 1, n, m), dtype=np.complex128)
    Q = np.zeros((kmax, n, m), dtype=np.complex128)
    alpha = np.zeros((kmax, m))
    beta = np.zeros((kmax, m))
    P[0] = p0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for j in range(kmax):
            k = j + 1
            r = _solve(T, d, c, P[j])
            if j > 0:
                r = r - beta[j - 1] * Q[j - 1]
            r = _reorth(Q[:j], r)
            a = np.linalg.norm(r, axis=0)
            bad = ~np.isfinite(a) | (a == 0)
            a = np.where(bad, 1.0, a)
            Q[j] = r / a
            alpha[j] = a
            s = _solve_h(Th, T, d, c, Q[j]) - a * P[j]
            s = _reorth(P[:k], s)
            b = np.linalg.norm(s, axis=0)
            bad |= ~np.isfinite(b)
            b = np.where(bad, 0.0, b)
            beta[j] = b
            P[k] = s / np.where(b > 0, b, 1.0)
            if k < min(kmax, n) and k > 4 and k % 2:
                continue                          # check convergence every other step
            # largest singular triples of the k x k upper bidiagonal B_k
            B = np.zeros((alpha.shape[1], k, k))
            ar = np.arange(k)
            B[:, ar, ar] = alpha[:k].T
            if k > 1:
                B[:, ar[:-1], ar[1:]] = beta[:k - 1].T
            B[bad] = 0.0
            Xs, th, Yh = np.linalg.svd(B)
            theta = th[:, 0]
            rho = b * np.abs(Xs[:, -1, 0])
            ok = ~bad & ((rho <= tol * theta) | (b <= tiny * theta) | (k == n))
            stop = running & (ok | bad | (k == kmax))
            if not np.any(stop):
                continue
            cols = live[stop]
            theta_out[cols] = theta[stop]
            ok_out[cols] = ok[stop]
            over_out[cols] = bad[stop]
            # Ritz vectors: P_k y (right of M ~ u of A), Q_k x (left of M ~ v of A)
            yv = np.einsum("knm,mk->nm", P[:k][:, :, stop], Yh[stop, 0, :].conj())
            xv = np.einsum("knm,mk->nm", Q[:k][:, :, stop], Xs[stop, :, 0])
            yv /= np.where(bad[stop], 1.0, np.linalg.norm(yv, axis=0))
            xv /= np.where(bad[stop], 1.0, np.linalg.norm(xv, axis=0))
            y_out[:, cols] = yv
            x_out[:, cols] = xv
            running &= ~stop
            if not np.any(running):
                break
            if np.count_nonzero(running) * 2 <= running.size:
                # compact once half the columns have stopped
                keep = running
                P, Q = P[:, :, keep], Q[:, :, keep]
                alpha, beta = alpha[:, keep], beta[:, keep]
                d, c, live = d[:, keep], c[keep], live[keep]
                running = running[keep]
            else:
                # stopped columns keep iterating harmlessly; keep them finite
                bad_cols = ~running & bad
                if np.any(bad_cols):
                    P[:, :, bad_cols] = 0.0
    return theta_out, ok_out, over_out, y_out, x_out


def _null_vectors(T, z):
    """Unit left/right null vectors (u, v) of z I - T when z is (numerically) an eigenvalue,
    or the singular vectors of its smallest singular value otherwise (dense SVD; rare)."""
    A = z * np.eye(T.shape[0]) - T
    Uf, s, Vh = np.linalg.svd(A)
    return Uf[:, -1], Vh[-1].conj()


# ---------------------------------------------------------------------------------------
# Mengi & Overton (2005): structured eigenvalue problems for the criss-cross algorithm


def radial_crossings(T, eps, theta, *, tol=1e-8):
    """Radii r > 0 at which ``eps`` is a singular value of ``r e^{i theta} I - T``.

    With ``w = e^{i theta}``, ``(r w - T) v = eps u`` and
    ``(r w - T)^H u = eps v`` give the 2n x 2n eigenproblem
    ``r [v; u] = [[conj(w) T, eps conj(w) I], [eps w I, w T^H]] [v; u]``,
    whose real eigenvalues are exactly those radii.  Eigenvalues with
    ``|Im r| <= tol * (||T|| + eps)`` are returned (sorted, largest first);
    callers verify them with :func:`smin`.
    """
    n = T.shape[0]
    w = np.exp(1j * theta)
    I = np.eye(n)
    H = np.block([[np.conj(w) * T, eps * np.conj(w) * I], [eps * w * I, w * T.conj().T]])
    ev = np.linalg.eigvals(H)
    scale = np.linalg.norm(T, 2) + eps
    keep = (np.abs(ev.imag) <= tol * scale) & (ev.real > 0)
    return np.sort(ev.real[keep])[::-1]


def circle_crossings(T, eps, r, *, tol=1e-6):
    """Angles theta at which ``eps`` is a singular value of ``r e^{i theta} I - T``.

    With ``lam = e^{i theta}`` the two singular-vector equations give the
    pencil ``[[T, eps I], [0, r I]] - lam [[r I, 0], [eps I, T^H]]``; its
    eigenvalues of unit modulus (within ``tol``) give the angles, sorted in
    [0, 2 pi).
    """
    from scipy.linalg import eig

    n = T.shape[0]
    I = np.eye(n)
    Z = np.zeros((n, n))
    A = np.block([[T, eps * I], [Z, r * I]])
    B = np.block([[r * I, Z], [eps * I, T.conj().T]])
    lam = eig(A, B, right=False)
    lam = lam[np.isfinite(lam)]
    keep = np.abs(np.abs(lam) - 1.0) <= tol
    return np.sort(np.mod(np.angle(lam[keep]), 2 * np.pi))
