"""Algorithms behind the Kreiss constant and the pseudospectral radius.

Both optimise over the resolvent norm ``1/sigma_min(z I - W)``, evaluated from
one complex Schur form with the Golub-Kahan-Lanczos kernel of
:mod:`spectra.linalg.resolvent`.
"""

from __future__ import annotations

import math

import numpy as np

from .._core.errors import ConvergenceError, NumericalError
from .resolvent import circle_crossings, radial_crossings, smin

__all__ = ["kreiss", "pseudospectral_radius_and_angle", "default_levels"]

_EPS = float(np.finfo(np.float64).eps)


def kreiss(T, norm):
    """``(K, z)`` for a Schur factor T of a real W with rho < 1 < ||W|| = norm.

    ``g(theta, s) = s / sigma_min((1 + s) e^{i theta} I - T)`` on a 48 x 32 grid
    (theta in [0, pi] by conjugate symmetry; log s from max(sigma_min(e^{i theta}
    I - T)/2, 1e-10), below which g <= 1, to 64 (||W|| + 1)), then L-BFGS-B on
    (theta, log s) from the best three local maxima along theta, with the exact
    gradient from the singular vectors.  K = max(1, best), the 1 being the limit
    |z| -> inf (then z = inf).
    """
    from scipy.optimize import minimize

    n_theta, n_s = 48, 32
    thetas = np.linspace(0.0, math.pi, n_theta)
    sigma0 = smin(T, np.exp(1j * thetas), tol=1e-6).sigma
    s_hi = 64.0 * (norm + 1.0)
    # g > 1 needs s > sigma0 / 2; below 1e-10 the grid would only waste points (the
    # quasi-Newton refinement may still go there)
    s_lo = np.maximum(sigma0 / 2, 1e-10)
    u = np.linspace(0.0, 1.0, n_s)[None, :]
    logs = np.log(s_lo)[:, None] * (1 - u) + math.log(s_hi) * u           # (n_theta, n_s)
    s = np.exp(logs)
    z = (1 + s) * np.exp(1j * thetas)[:, None]
    sig = smin(T, z.ravel(), tol=1e-6).sigma.reshape(z.shape)
    with np.errstate(divide="ignore"):
        g = np.where(sig > 0, s / np.where(sig > 0, sig, 1.0), np.inf)
    if np.any(~np.isfinite(g)):                 # a grid point on an eigenvalue: cannot be, rho < 1
        raise NumericalError("the Kreiss constant search met a singular resolvent")
    best_j = np.argmax(g, axis=1)
    prof = g[np.arange(n_theta), best_j]
    ext = np.concatenate([[prof[1]], prof, [prof[-2]]])
    peaks = np.flatnonzero((ext[1:-1] >= ext[:-2]) & (ext[1:-1] >= ext[2:]))
    peaks = peaks[np.argsort(prof[peaks])[::-1][:3]]

    def objective(x):
        th, lu = x
        sv = math.exp(lu)
        zz = (1 + sv) * complex(math.cos(th), math.sin(th))
        r = smin(T, [zz], tol=1e-12, vectors=True)
        sg = float(r.sigma[0])
        if sg <= 0:
            return math.inf, np.zeros(2)
        c = complex(np.vdot(r.u[:, 0], r.v[:, 0]))           # u^H v
        dsig_ds = (complex(math.cos(th), math.sin(th)) * c).real
        dsig_dth = (1j * zz * c).real
        return -(lu - math.log(sg)), np.array([dsig_dth / sg, -1.0 + sv * dsig_ds / sg])

    lo_u = math.log(float(np.min(s_lo))) - 2.0
    hi_u = math.log(s_hi) + 6.0
    best = (1.0, complex(math.inf, 0.0))
    for i in peaks:
        x0 = np.array([thetas[i], logs[i, best_j[i]]])
        start = float(prof[i])
        res = minimize(objective, x0, jac=True, method="L-BFGS-B",
                       bounds=[(-0.5, math.pi + 0.5), (lo_u, hi_u)],
                       options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 200})
        val = math.exp(-float(res.fun)) if np.isfinite(res.fun) else 0.0
        th, lu = (float(res.x[0]), float(res.x[1])) if val >= start else (float(x0[0]), float(x0[1]))
        val = max(val, start)
        if val > best[0]:
            zz = (1 + math.exp(lu)) * complex(math.cos(th), math.sin(th))
            best = (val, complex(zz.real, abs(zz.imag)))
    return best


def default_levels(S):
    """Powers of ten strictly inside the range of the positive grid values S, the
    largest 8 at most; their geometric mean when no power of ten falls inside."""
    pos = S[S > 0]
    if pos.size == 0:
        return np.array([1e-8])
    smin_, smax_ = float(np.min(pos)), float(np.max(pos))
    lo = math.floor(math.log10(smin_)) + 1
    hi = math.ceil(math.log10(smax_)) - 1
    if hi < lo:
        return np.array([math.sqrt(smin_ * smax_)])
    return 10.0 ** np.arange(max(lo, hi - 7), hi + 1)


def _radial(T, eps, theta, scale):
    """Outermost r >= 0 with ``sigma_min(r e^{i theta} I - T) = eps`` (0 if none)."""
    w = complex(math.cos(theta), math.sin(theta))
    cands = radial_crossings(T, eps, theta)
    chosen = None
    for r0 in cands[:8]:
        res = smin(T, [r0 * w], tol=1e-12, vectors=True)
        sg = float(res.sigma[0])
        if abs(sg - eps) <= 1e-6 * eps + 1e-9 * scale:
            chosen = (r0, sg, res)
            break
    if chosen is None:
        return _radial_march(T, eps, w, scale)
    r, sg, res = chosen
    for _ in range(4):                      # Newton on sigma_min(r w I - T) = eps
        slope = (w * complex(np.vdot(res.u[:, 0], res.v[:, 0]))).real
        if slope <= 1e-8 or sg == eps:
            break
        r1 = r - (sg - eps) / slope
        if r1 <= 0 or abs(r1 - r) > 1e-3 * (r + eps):
            break
        res1 = smin(T, [r1 * w], tol=1e-12, vectors=True)
        sg1 = float(res1.sigma[0])
        if abs(sg1 - eps) >= abs(sg - eps):
            break
        r, sg, res = r1, sg1, res1
    return float(r)


def _radial_march(T, eps, w, scale, max_evals=4000):
    """Fallback radial search: march inward from ``r = ||T|| + eps`` (where
    ``sigma_min >= eps``) by steps ``sigma_min(r) - eps``; sigma_min is
    1-Lipschitz in z, so no step jumps over the outermost crossing."""
    r = scale
    for _ in range(max_evals):
        sg = float(smin(T, [r * w], tol=1e-12).sigma[0])
        gap = sg - eps
        if gap <= 1e-12 * scale:
            return max(r, 0.0)
        r -= gap
        if r <= 0:
            return 0.0
    raise ConvergenceError(f"the radial search for the {eps:g}-pseudospectral radius did not converge "
                           f"in {max_evals} steps")


def pseudospectral_radius_and_angle(T, eps, W=None):
    """Criss-cross iteration; W (real, optional) makes the circular searches real
    and lets conjugate symmetry halve the radial searches."""
    ev = np.diag(T)
    scale = float(np.linalg.norm(T, 2)) + eps
    real = W is not None

    def fold(th):
        th = float(np.mod(th, 2 * math.pi))
        return min(th, 2 * math.pi - th) if real else th

    lam = ev[np.argmax(np.abs(ev))]
    best_t = fold(np.angle(lam)) if lam != 0 else 0.0
    best_r = _radial(T, eps, best_t, scale)
    its, done = 0, False
    for its in range(1, 51):
        angles = circle_crossings(W if real else T, eps, best_r)
        if angles.size == 0:
            done = True
            break
        nxt = np.concatenate([angles[1:], [angles[0] + 2 * math.pi]])
        mids = (angles + nxt) / 2
        sig = smin(T, best_r * np.exp(1j * mids), tol=1e-10).sigma
        inside = sorted({round(fold(th), 13) for th in mids[sig < eps]})
        improved = False
        for th in inside:
            r = _radial(T, eps, th, scale)
            if r > best_r * (1 + 4 * _EPS):
                best_r, best_t, improved = r, th, True
        if not improved:
            done = True
            break
    if not done:
        raise ConvergenceError(f"the criss-cross iteration for the {eps:g}-pseudospectral radius "
                               f"still improved after {its} iterations (radius {best_r!r})")
    return best_r, best_t, its
