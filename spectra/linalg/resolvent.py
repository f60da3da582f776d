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

from .krylov import bidiagonal_partner, bidiagonal_top_ritz, reorthogonalise, residual_converged

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


def smin(T, z, *, tol=1e-10, kmax=None, restarts=6, vectors=False, reorth=None,
         seed=0) -> SminResult:
    """Smallest singular value of ``z_j I - T`` for every point ``z_j``.

    Parameters
    ----------
    T : (n, n) complex ndarray
        Upper triangular (a Schur factor).
    z : (m,) array_like of complex
        The points.
    tol : float
        Relative residual tolerance: a point stops when its Ritz triple has
        residual ``beta_k |x_k| <= tol * theta`` (``theta = c / sigma``).
    kmax : int, optional
        Krylov dimension before an explicit restart (default 40, at most n
        with reorthogonalisation, when the space is then exhausted and the
        answer exact up to rounding).
    restarts : int
        Explicit restarts from the current Ritz vector before giving up
        (the point is then reported in ``converged`` as False).
    vectors : bool
        Also return the singular vectors (needed for derivatives).
    reorth : bool, optional
        Fully reorthogonalise the Krylov bases (default: for at most 32
        points, where its cost is negligible).
    seed : int
        Seed of the fixed random starting vector.

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

    With few points the Krylov bases are fully reorthogonalised (twice-is-enough classical Gram-Schmidt); on a grid
    they are not, as in EigTool: the largest Ritz value converges before
    orthogonality is lost (Paige 1971), and the residual test stays valid.

    The residual test guarantees that ``theta^2`` lies within
    ``theta * residual`` of *an* eigenvalue of ``M^H M``, and interlacing puts
    it below the largest; when the two smallest singular values of
    ``z I - T`` are clustered closer than the tolerance can resolve (a normal
    matrix at a point almost equidistant from two eigenvalues), the value
    returned can be the second one, an overestimate by at most the
    cluster's width.
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
    reorth = m <= 32 if reorth is None else bool(reorth)
    kmax = 40 if kmax is None else max(1, int(kmax))
    if reorth:
        kmax = min(kmax, n)
    diag = np.diag(T)
    c = np.min(np.abs(z[None, :] - diag[:, None]), axis=0)
    rand = np.array([1.0, 1j]) @ np.random.default_rng(seed).standard_normal((2, n))
    rand /= np.linalg.norm(rand)
    p0 = np.repeat(rand[:, None], m, axis=1)

    singular = np.flatnonzero(c == 0)
    if singular.size and vectors:
        for j in singular:
            U[:, j], V[:, j] = _null_vectors(T, z[j])
    regular = np.flatnonzero(c > 0)
    chunk = max(1, _CHUNK_BUDGET // max(n, 1))
    for lo in range(0, regular.size, chunk):
        idx = regular[lo:lo + chunk]
        res = _gk_chunk(T, diag, z[idx], c[idx], p0[:, idx], tol, kmax, restarts, reorth)
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


def _gk_chunk(T, diag, z, c, p0, tol, kmax, restarts, reorth):
    """Golub-Kahan-Lanczos on ``M = c (z I - T)^{-1}`` for a chunk of points, with restarts.

    Returns an SminResult whose u, v are always filled (unit Ritz vectors).
    """
    n, m = T.shape[0], z.shape[0]
    Th = np.ascontiguousarray(T.conj().T)
    d = z[None, :] - diag[:, None]
    sigma = np.zeros(m)
    conv = np.zeros(m, dtype=bool)
    best = np.zeros(m)
    U = np.zeros((n, m), dtype=np.complex128)
    V = np.zeros((n, m), dtype=np.complex128)
    todo = np.arange(m)
    for _ in range(restarts + 1):
        if todo.size == 0:
            break
        theta, ok, over, y, x = _gk_run(T, Th, d[:, todo], c[todo], p0, tol, kmax, reorth)
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
    return SminResult(sigma, U, V, conv)


_CHECKS = frozenset([2, 3, 4, 6, 8, 10, 12, 15, 18, 22, 26, 30, 35])


def _gk_run(T, Th, d, c, p0, tol, kmax, reorth):
    """One Golub-Kahan-Lanczos run of at most kmax steps.

    Returns theta (largest Ritz singular value of M), converged, overflowed,
    and unit Ritz vectors y (~ left singular vector u of z I - T) and
    x (~ right singular vector v).  Convergence is checked at the steps in
    ``_CHECKS`` and at kmax (each check is a batched k x k eigenproblem,
    which costs about as much as a step).

    The shared parts come from :mod:`.krylov` (re-orthogonalisation, the Ritz
    triple of the bidiagonal projection, the residual test); the loop is its
    own because it runs one column per point, hundreds of points at once in
    complex arithmetic.  The kernel :func:`.krylov.golub_kahan_svd`, point by
    point on the real form of ``c (z I - T)^{-1}``, gave the same values
    (1.6e-13 relative to a dense SVD at 400 points around a 30 x 30 matrix)
    43 times more slowly.
    """
    n, m = p0.shape
    theta_out = np.zeros(m)
    ok_out = np.zeros(m, dtype=bool)
    over_out = np.zeros(m, dtype=bool)
    y_out = p0.copy()
    x_out = p0.copy()
    live = np.arange(m)               # global column of each working column
    running = np.ones(m, dtype=bool)  # working columns not yet stopped
    P = [p0]                          # right Lanczos vectors (n, m) each
    Q = []                            # left Lanczos vectors
    alpha = []
    beta = []
    bad = np.zeros(m, dtype=bool)
    exhaust = n if reorth else -1
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for j in range(kmax):
            k = j + 1
            r = _solve(T, d, c, P[j])
            if j > 0:
                r -= beta[j - 1] * Q[j - 1]
            if reorth:
                r = reorthogonalise(r, Q, columnwise=True, coefficients=False)[0]
            a = np.linalg.norm(r, axis=0)
            bad |= ~np.isfinite(a) | (a == 0)
            a[bad] = 1.0
            r /= a
            r[:, bad] = 0.0
            Q.append(r)
            alpha.append(a)
            s = _solve_h(Th, T, d, c, r)
            s -= a * P[j]
            if reorth:
                s = reorthogonalise(s, P, columnwise=True, coefficients=False)[0]
            b = np.linalg.norm(s, axis=0)
            bad |= ~np.isfinite(b)
            b[bad] = 0.0
            beta.append(b)
            s /= np.where(b > 0, b, 1.0)
            s[:, bad] = 0.0
            P.append(s)
            if (k not in _CHECKS and k != kmax and k != exhaust
                    and not np.any(running & (b == 0) & ~bad)):
                continue                    # (an exact breakdown b = 0 is checked at once)
            # top Ritz triple of the k x k bidiagonal projection (alpha / beta)
            al = np.array(alpha).T                                   # (mm, k)
            be = np.array(beta).T                                    # (mm, k)
            if bad.any():
                al[bad] = 0.0
                be[bad] = 0.0
            theta, xk, rho = bidiagonal_top_ritz(al, be)
            ok = ~bad & residual_converged(rho, theta, tol) & (theta > 0)
            if k == exhaust:
                ok |= ~bad
            stop = running & (ok | bad | (k == kmax))
            if not np.any(stop):
                continue
            cols = live[stop]
            theta_out[cols] = theta[stop]
            ok_out[cols] = ok[stop]
            over_out[cols] = bad[stop]
            # Ritz vectors: x (left of B) -> Q_k x ~ v of A; y = B^T x / theta -> P_k y ~ u of A
            xs = xk[stop]                                            # (ms, k)
            ys = bidiagonal_partner(al[stop], be[stop], xs)
            yv = sum(P[i][:, stop] * ys[:, i] for i in range(k))
            xv = sum(Q[i][:, stop] * xs[:, i] for i in range(k))
            yn = np.linalg.norm(yv, axis=0)
            xn = np.linalg.norm(xv, axis=0)
            y_out[:, cols] = yv / np.where(yn > 0, yn, 1.0)
            x_out[:, cols] = xv / np.where(xn > 0, xn, 1.0)
            running &= ~stop
            if not np.any(running):
                break
            if np.count_nonzero(running) * 2 <= running.size:
                # compact once half the columns have stopped
                keep = running
                P = [v[:, keep] for v in P]
                Q = [v[:, keep] for v in Q]
                alpha = [v[keep] for v in alpha]
                beta = [v[keep] for v in beta]
                d, c, live = d[:, keep], c[keep], live[keep]
                bad = bad[keep]
                running = running[keep]
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

    T may be the Schur factor or W itself (real W keeps the pencil real, 4x cheaper).

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
    with np.errstate(all="ignore"):          # infinite eigenvalues when B is singular
        lam = eig(A, B, right=False)
    lam = lam[np.isfinite(lam)]
    keep = np.abs(np.abs(lam) - 1.0) <= tol
    return np.sort(np.mod(np.angle(lam[keep]), 2 * np.pi))
