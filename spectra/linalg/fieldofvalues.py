"""Field of values: the support function and the numerical radius.

For real W the field of values ``{x^H W x : ||x|| = 1}`` has support function
``f(theta) = lambda_max(H(theta))``, ``H(theta) = (e^{i theta} W + e^{-i theta} W^T)/2
= cos(theta) S + i sin(theta) K`` with ``S``, ``K`` the symmetric and skew parts
(Johnson 1978).  The numerical radius is ``max_theta f``; its global maximum is
certified by the level-set iteration of Mengi & Overton (2005).
"""

from __future__ import annotations

import math

import numpy as np

from .._core.errors import ConvergenceError

__all__ = ["norm2", "support", "numerical_radius_and_angle", "level_set_angles", "level_set_climb"]

_EPS = float(np.finfo(np.float64).eps)


def norm2(W) -> float:
    """Spectral norm ``||W||_2`` of a dense matrix, without input validation.

    The kernel behind the public :func:`spectra.spectral_norm` for callers
    that have already validated ``W`` (a finite float ndarray), such as the
    step loops of :mod:`spectra.nonnormal`.

    Parameters
    ----------
    W : (m, n) ndarray

    Returns
    -------
    float
        The largest singular value (LAPACK SVD); 0.0 for an empty matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from spectra.linalg.fieldofvalues import norm2
    >>> round(norm2(np.array([[3.0, 0.0], [4.0, 5.0]])), 12)      # sqrt(45)
    6.708203932499
    >>> norm2(np.zeros((0, 0)))
    0.0
    """
    return float(np.linalg.svd(W, compute_uv=False)[0]) if W.size else 0.0


def support(S, K, thetas, *, vectors=False):
    """``lambda_max(cos t S + i sin t K)`` for each angle (and top eigenvectors)."""
    thetas = np.atleast_1d(np.asarray(thetas, dtype=np.float64))
    n = S.shape[0]
    out = np.empty(thetas.size)
    vecs = np.empty((thetas.size, n), dtype=np.complex128) if vectors else None
    chunk = max(1, 2 ** 22 // max(n * n, 1))
    for lo in range(0, thetas.size, chunk):
        th = thetas[lo:lo + chunk]
        H = np.cos(th)[:, None, None] * S + 1j * np.sin(th)[:, None, None] * K
        if vectors:
            w, v = np.linalg.eigh(H)
            vecs[lo:lo + chunk] = v[:, :, -1]
        else:
            w = np.linalg.eigvalsh(H)
        out[lo:lo + chunk] = w[:, -1]
    return (out, vecs) if vectors else out


def level_set_angles(W, level, *, tol=1e-6):
    """All theta in [0, 2 pi) with ``level`` an eigenvalue of H(theta).

    ``det(e^{i t} W + e^{-i t} W^T - 2 level I) = 0``; with ``z = e^{i t}`` this
    is the quadratic eigenproblem ``(z^2 W - 2 level z I + W^T) x = 0``,
    linearised as ``[[0, I], [-W^T, 2 level I]] y = z [[I, 0], [0, W]] y``
    (Mengi & Overton 2005).  Eigenvalues of unit modulus give the angles.
    """
    from scipy.linalg import eig

    n = W.shape[0]
    I = np.eye(n)
    Z = np.zeros((n, n))
    A = np.block([[Z, I], [-W.T, 2.0 * level * I]])
    B = np.block([[I, Z], [Z, W]])
    with np.errstate(all="ignore"):          # infinite eigenvalues of a singular W
        lam = eig(A, B, right=False)
    lam = lam[np.isfinite(lam)]
    keep = np.abs(np.abs(lam) - 1.0) <= tol
    return np.sort(np.mod(np.angle(lam[keep]), 2 * np.pi))


def numerical_radius_and_angle(W, grid=32):
    """``(r(W), theta*)``: global maximum of ``f(theta) = lambda_max(H(theta))``.

    A grid on [0, pi] (f(-t) = f(t) for real W), Brent refinement of the
    best local maxima, then the level-set iteration of Mengi & Overton
    (2005), :func:`level_set_climb`, which certifies the maximum.
    """
    if not np.any(W):
        return 0.0, 0.0
    S = (W + W.T) / 2
    K = (W - W.T) / 2
    if not np.any(K):                          # symmetric: r = rho = max |lambda|
        ev = np.linalg.eigvalsh(S)
        return float(max(ev[-1], -ev[0])), (0.0 if ev[-1] >= -ev[0] else math.pi)
    grid = np.linspace(0.0, math.pi, grid)
    vals = support(S, K, grid)
    ext = np.concatenate([[vals[1]], vals, [vals[-2]]])     # reflecting ends
    is_max = (ext[1:-1] >= ext[:-2]) & (ext[1:-1] >= ext[2:])
    cand = np.flatnonzero(is_max)
    cand = cand[np.argsort(vals[cand])[::-1][:2]]     # the level-set climb finds any other
    h = grid[1] - grid[0]
    best_t, best_f = float(grid[np.argmax(vals)]), float(np.max(vals))
    for i in cand:
        t, fv = _refine(S, K, max(grid[i] - h, -h), min(grid[i] + h, math.pi + h), grid[i], vals[i])
        if fv > best_f:
            best_t, best_f = t, fv
    return level_set_climb(W, S, K, best_t, best_f)


def _refine(S, K, a, b, t0, f0):
    """Brent maximisation of the support function on [a, b]; keeps (t0, f0) if better."""
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(lambda t: -float(support(S, K, [t])[0]), bounds=(a, b),
                          method="bounded", options={"xatol": 1e-12})
    t1, f1 = float(res.x), -float(res.fun)
    return (t1, f1) if f1 > f0 else (t0, f0)


def level_set_climb(W, S, K, best_t, best_f, *, max_iter=30):
    """Raise a value f(best_t) of the support function to its global maximum.

    Mengi & Overton (2005): at level r, the angles where f crosses r (from
    :func:`level_set_angles`) bound every arc on which f > r; the midpoint
    of each arc is refined by Brent's method and r raised, until no arc is
    left above r (up to rounding).  Returns ``(r, theta)``.
    """
    slack = 64 * _EPS * norm2(W)
    for _ in range(max_iter):
        angles = level_set_angles(W, best_f)
        if angles.size == 0:
            break
        nxt = np.concatenate([angles[1:], [angles[0] + 2 * math.pi]])
        mids = (angles + nxt) / 2
        fm = support(S, K, mids)
        higher = np.flatnonzero(fm > best_f + slack)
        if higher.size == 0:
            break
        improved = False
        for i in higher:
            t, fv = _refine(S, K, angles[i], nxt[i], mids[i], fm[i])
            if fv > best_f + slack:
                best_t, best_f, improved = t, fv, True
        if not improved:
            break
    else:
        raise ConvergenceError(f"the level-set iteration for the numerical radius still improved "
                               f"after {max_iter} iterations (value {best_f!r})")
    return best_f, float(np.mod(best_t, 2 * math.pi))
