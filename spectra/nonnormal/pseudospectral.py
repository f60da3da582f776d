"""Pseudospectra of a matrix on a grid, and the pseudospectral radius.

:func:`pseudospectra` (``sigma_min(z I - W)`` on a grid, from one Schur
decomposition) and :func:`pseudospectral_radius` (criss-cross algorithm, with
the lower bound it gives on transient growth).  The kernels live in
:mod:`spectra.linalg.resolvent` and :mod:`spectra.linalg.pseudospectra`.
"""

from __future__ import annotations

import math

import numpy as np

from .._core.validation import as_array, check_int, check_real, describe
from ..linalg.fieldofvalues import norm2
from ..linalg.pseudospectra import default_levels, pseudospectral_radius_and_angle
from ..linalg.resolvent import schur_complex, smin
from ._common import square_matrix
from .results import Pseudospectra, PseudospectralRadius

__all__ = ["pseudospectra", "pseudospectral_radius"]


def pseudospectra(W, *, bounds=None, resolution=101, levels=None, tol=1e-6) -> Pseudospectra:
    """``sigma_min(z I - W)`` on a grid of the complex plane (epsilon-pseudospectra).

    Parameters
    ----------
    W : (n, n) array_like
        A weight matrix or a step Jacobian (``traj.jacobian(t)``).
    bounds : (xmin, xmax, ymin, ymax), optional
        The grid's box.  Default: the square ``[-R, R]^2`` with
        ``R = 1.25 max(1, rho(W))``, which shows the unit circle.
    resolution : int or (nx, ny)
        Grid points along each axis (default 101).
    levels : (k,) array_like, optional
        Epsilon levels to report (positive).  Default: the powers of ten
        strictly inside the range of ``sigma_min`` on the grid, the largest 8
        of them at most.
    tol : float
        Relative accuracy of each ``sigma_min`` (the Lanczos residual
        tolerance); 1e-6 is far below what a contour plot can show.

    Returns
    -------
    Pseudospectra
        Grid ``x`` (nx,), ``y`` (ny,), ``sigma_min`` (ny, nx), ``levels``,
        ``eigenvalues``; contour ``log10(sigma_min)`` at ``log10(levels)``.

    Notes
    -----
    The eps-pseudospectrum ``{z : sigma_min(z I - W) < eps}`` is the set of
    eigenvalues of all ``W + E`` with ``||E|| < eps`` (Trefethen & Embree
    2005).  For a normal W it is the union of discs of radius eps about the
    eigenvalues, and ``sigma_min(z I - W) = dist(z, spectrum)``.

    Algorithm (Trefethen 1999; Wright & Trefethen 2001, EigTool): one
    complex Schur decomposition ``W = Q T Q^H`` (O(n^3)); then at each grid
    point the largest singular value of ``(z I - T)^{-1}`` by Golub-Kahan-
    Lanczos bidiagonalisation with full reorthogonalisation, each step one
    upper and one lower triangular solve (O(n^2)), vectorised across grid
    points.  For real W only the upper half-plane is computed when the grid
    is symmetric (``sigma_min`` is then symmetric about the real axis).
    Values below about ``n eps ||W||`` are rounding noise.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> ps = spectra.pseudospectra([[0.5, 10.0], [0.0, 0.5]], resolution=41)
    >>> ps.sigma_min.shape, ps.levels
    ((41, 41), array([0.001, 0.01 , 0.1  ]))
    >>> d = abs(ps.x[30] + 1j * ps.y[20] - 0.5)       # closed form for this matrix
    >>> exact = np.sqrt(d**2 + 50 - np.sqrt((d**2 + 50)**2 - d**4))
    >>> bool(np.isclose(ps.sigma_min[20, 30], exact, rtol=1e-9))
    True
    """
    W = square_matrix(W)
    tol = check_real(tol, "tol", low=1e-14, high=0.1)
    T, _ = schur_complex(W)
    ev = np.diag(T).copy()
    rho = float(np.max(np.abs(ev)))
    nx, ny = _resolution(resolution)
    if bounds is None:
        R = 1.25 * max(1.0, rho)
        xmin, xmax, ymin, ymax = -R, R, -R, R
    else:
        xmin, xmax, ymin, ymax = _bounds(bounds)
    x = np.linspace(xmin, xmax, nx)
    y = np.linspace(ymin, ymax, ny)
    # conjugate symmetry for real W: compute the rows with y >= 0 and mirror the rest
    # (a grid symmetric up to the rounding of linspace counts as symmetric)
    sym = bool(np.all(np.abs(y + y[::-1]) <= 1e-12 * (ymax - ymin)))
    rows = np.arange(ny // 2, ny) if sym else np.arange(ny)
    Z = x[None, :] + 1j * y[rows, None]
    res = smin(T, Z.ravel(), tol=tol)
    S = np.empty((ny, nx))
    S[rows] = res.sigma.reshape(Z.shape)
    unconverged = int(np.count_nonzero(~res.converged))
    if sym:
        neg = np.arange(ny // 2)
        S[neg] = S[ny - 1 - neg]
    if levels is None:
        levels = default_levels(S)
    else:
        levels = np.sort(as_array(levels, "levels", ndim=(0, 1)).ravel())
        if levels.size == 0 or np.any(levels <= 0):
            raise ValueError(f"`levels` must be positive epsilon values; got {levels.tolist()}")
    return Pseudospectra(x=x, y=y, sigma_min=S, levels=levels, eigenvalues=ev,
                         spectral_radius=rho, spectral_norm=norm2(W), unconverged=unconverged)


def _resolution(resolution):
    if isinstance(resolution, (tuple, list)):
        if len(resolution) != 2:
            raise ValueError(f"`resolution` must be an int or a pair (nx, ny); got {describe(resolution)}")
        nx = check_int(resolution[0], "resolution[0]", minimum=2)
        ny = check_int(resolution[1], "resolution[1]", minimum=2)
        return nx, ny
    r = check_int(resolution, "resolution", minimum=2)
    return r, r


def _bounds(bounds):
    if not isinstance(bounds, (tuple, list, np.ndarray)) or len(bounds) != 4:
        raise TypeError(f"`bounds` must be (xmin, xmax, ymin, ymax); got {describe(bounds)}")
    b = [check_real(v, f"bounds[{i}]") for i, v in enumerate(bounds)]
    if not (b[0] < b[1] and b[2] < b[3]):
        raise ValueError(f"`bounds` must satisfy xmin < xmax and ymin < ymax; got {tuple(b)}")
    return b


def pseudospectral_radius(W, eps) -> PseudospectralRadius:
    """Epsilon-pseudospectral radius ``rho_eps(W) = max {|z| : sigma_min(z I - W) <= eps}``.

    Parameters
    ----------
    W : (n, n) array_like
    eps : float
        Positive.

    Returns
    -------
    PseudospectralRadius
        ``radius``, a point ``z`` where it is attained, and the lower bound
        ``growth_lower_bound = max(1, (rho_eps - 1)/eps) <= sup_t ||W^t||``.

    Notes
    -----
    ``rho_eps(W)`` is the largest spectral radius of ``W + E`` over
    ``||E|| <= eps``.  It exceeds ``rho(W) + eps`` exactly when W is
    non-normal in a way that matters, and the Trefethen-Embree bound
    ``sup_t ||W^t|| >= (rho_eps - 1)/eps`` (Thm 16.4 of *Spectra and
    Pseudospectra*) turns it into a certificate of transient growth: a
    matrix with ``rho(W) < 1`` whose eps-pseudospectrum reaches far outside
    the unit circle must amplify some vector.  The best such bound over eps
    is the Kreiss constant.

    Algorithm: the criss-cross method of Mengi & Overton (2005), globally
    convergent.  A *radial search* finds, along a ray ``r e^{i theta}``, the
    outermost r where eps is a singular value of ``r e^{i theta} I - W`` (the
    largest real eigenvalue of a 2n x 2n matrix, polished by Newton's
    method); a *circular search* finds every angle where the circle of the
    current radius crosses the pseudospectrum's boundary (unit-modulus
    eigenvalues of a 2n x 2n pencil).  Radial searches through the midpoints
    of the arcs inside the pseudospectrum raise the radius until the circle
    only touches the set.  Each iteration costs O(n^3).

    Examples
    --------
    >>> import math, spectra
    >>> p = spectra.pseudospectral_radius([[0.5, 10.0], [0.0, 0.5]], 0.1)
    >>> round(p.radius, 12) == round(0.5 + math.sqrt(0.1 * 10.1), 12)    # closed form
    True
    >>> round(p.growth_lower_bound, 4)          # so sup_t ||A^t|| >= 5.0499
    5.0499
    """
    W = square_matrix(W)
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    T, _ = schur_complex(W)
    r, theta, its = pseudospectral_radius_and_angle(T, eps, W)
    bound = max(1.0, (r - 1.0) / eps)
    z = r * complex(math.cos(theta), math.sin(theta))
    return PseudospectralRadius(eps=eps, radius=r, z=z, growth_lower_bound=bound, iterations=its)
