"""The result classes of :mod:`spectra.nonnormal`: frozen dataclasses on :class:`~spectra._core.results.Result`.

Each holds what one analysis returns (:class:`NonNormality`,
:class:`TransientGrowth`, :class:`Pseudospectra`, ...); ``to_dict()``, the short
repr and ``summary()`` come from the base, under the package's one JSON policy
(complex numbers as ``{"real", "imag"}``, non-finite floats as the strings
``"inf"``, ``"-inf"``, ``"nan"``).  Curves kept in the log domain have
properties that leave it (``norms``, ``peak``) and raise
:class:`~spectra.NumericalError` rather than overflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.errors import NumericalError
from .._core.results import Result

__all__ = [
    "NonNormality",
    "StepNonNormality",
    "FieldOfValues",
    "TransientGrowth",
    "ProductGrowth",
    "KreissConstant",
    "Pseudospectra",
    "PseudospectralRadius",
]

_LOG_HUGE = math.log(np.finfo(np.float64).max) - 1.0


def _exp_checked(log_values, what):
    """``exp`` of log-domain values, refusing to overflow."""
    log_values = np.asarray(log_values, dtype=np.float64)
    if np.any(log_values > _LOG_HUGE):
        raise NumericalError(f"{what} overflows float64 (log = {float(np.max(log_values)):.1f}); "
                             "use the log-domain field instead")
    return np.exp(log_values)


@dataclass(frozen=True, repr=False)
class NonNormality(Result):
    """Measures of non-normality of one square matrix W (see :func:`nonnormality`).

    Attributes
    ----------
    n : int
    spectral_radius : float
        ``rho(W) = max |lambda_i|``.
    spectral_abscissa : float
        ``max Re lambda_i``.
    spectral_norm : float
        ``||W||_2``.
    numerical_radius : float
        ``r(W) = max {|x^H W x| : ||x|| = 1}``; ``rho <= r <= ||W|| <= 2 r``.
    numerical_abscissa : float
        ``omega(W) = max Re {x^H W x} = lambda_max((W + W^T)/2)``.
    henrici : float
        Henrici's departure from normality ``dep_F(W) = ||N||_F`` for any
        Schur form ``W = Q (D + N) Q^H`` (equivalently
        ``sqrt(||W||_F^2 - sum |lambda_i|^2)``); 0 iff W is normal.
    henrici_relative : float
        ``dep_F(W) / ||W||_F``, in [0, 1] (0 for W = 0).
    commutator : float
        ``||W W^T - W^T W||_F``; 0 iff W is normal.  Of degree 2 in W, it is
        ``inf`` when it exceeds float64's range (entries of W beyond about
        1e154); the other measures are computed on a rescaled W and stay
        finite.
    eigenvector_condition : float
        ``kappa_2(V) = ||V|| ||V^{-1}||`` for the eigenvector matrix with unit
        columns; 1 for a normal matrix with distinct eigenvalues, inf when the
        computed V is exactly singular (defective W).
    """

    n: int
    spectral_radius: float
    spectral_abscissa: float
    spectral_norm: float
    numerical_radius: float
    numerical_abscissa: float
    henrici: float
    henrici_relative: float
    commutator: float
    eigenvector_condition: float


@dataclass(frozen=True, repr=False)
class StepNonNormality(Result):
    """The measures of :class:`NonNormality` for each step Jacobian J_1..J_T.

    Every attribute except ``t`` and ``n`` is a (T,) array whose entry
    ``[t-1]`` belongs to ``J_t``; ``t`` is ``1..T``.
    """

    t: np.ndarray
    n: int
    spectral_radius: np.ndarray
    spectral_abscissa: np.ndarray
    spectral_norm: np.ndarray
    numerical_radius: np.ndarray
    numerical_abscissa: np.ndarray
    henrici: np.ndarray
    henrici_relative: np.ndarray
    commutator: np.ndarray
    eigenvector_condition: np.ndarray


@dataclass(frozen=True, repr=False)
class FieldOfValues(Result):
    """The field of values (numerical range) ``W(W) = {x^H W x : ||x|| = 1}``.

    Attributes
    ----------
    angles : (m,) ndarray
        Angles theta in [0, 2 pi).
    support : (m,) ndarray
        ``lambda_max(H(theta))`` with ``H(theta) = (e^{i theta} W + e^{-i theta} W^T)/2``:
        the support function of W(W) in direction ``e^{-i theta}``.
    boundary : (m,) complex ndarray
        Boundary points ``x^H W x``, x the top eigenvector of H(theta); they
        trace the (convex) boundary of W(W).
    numerical_radius : float
        ``r(W) = max_theta support`` (computed to full accuracy, not from the
        grid).
    numerical_abscissa : float
        ``support[theta = 0]``.
    eigenvalues : (n,) complex ndarray
        The spectrum, which W(W) contains.
    """

    _frame = ("angle", "angles", ("support",))

    angles: np.ndarray
    support: np.ndarray
    boundary: np.ndarray
    numerical_radius: float
    numerical_abscissa: float
    eigenvalues: np.ndarray


@dataclass(frozen=True, repr=False)
class TransientGrowth(Result):
    """``||W^t||_2`` for ``t = 0..L`` and its peak (see :func:`transient_growth`).

    Attributes
    ----------
    t : (L+1,) int ndarray
        ``0, 1, ..., L``.
    log_norms : (L+1,) ndarray
        ``log ||W^t||_2`` (natural log; ``-inf`` where ``W^t = 0``).
    log_peak : float
        ``max_t log ||W^t||``.
    peak_step : int
        The first t at which the peak is attained.
    certified : bool
        True when the peak is the supremum over *all* t >= 0, not just
        t <= L: some ``t >= 1`` in the range has ``||W^t|| <= 1`` (up to
        rounding), and then ``||W^(jt + s)|| <= ||W^t||^j ||W^s||`` bounds every
        later power by the peak.
    spectral_radius : float
        ``rho(W)``.
    spectral_norm : float
        ``||W||_2``.

    Properties ``norms``, ``peak``, ``rho_powers`` (``rho^t``) and
    ``norm_powers`` (``||W||^t``) are the same curves out of the log domain;
    they raise :class:`NumericalError` rather than overflow.
    """

    _frame = ("t", "t", ("log_norms",))

    t: np.ndarray
    log_norms: np.ndarray
    log_peak: float
    peak_step: int
    certified: bool
    spectral_radius: float
    spectral_norm: float

    @property
    def norms(self) -> np.ndarray:
        """``||W^t||_2`` for each t."""
        return _exp_checked(self.log_norms, "||W^t||")

    @property
    def peak(self) -> float:
        """``max_t ||W^t||_2`` (at least 1: ``||W^0|| = 1``)."""
        return float(_exp_checked(self.log_peak, "the peak of ||W^t||"))

    @property
    def log_rho_powers(self) -> np.ndarray:
        """``t log rho(W)`` (the eigenvalue prediction, in logs)."""
        return _log_powers(self.spectral_radius, self.t)

    @property
    def log_norm_powers(self) -> np.ndarray:
        """``t log ||W||`` (the norm bound of Pascanu et al., in logs)."""
        return _log_powers(self.spectral_norm, self.t)

    @property
    def rho_powers(self) -> np.ndarray:
        """``rho(W)^t``: what the eigenvalue argument predicts; a lower bound."""
        return _exp_checked(self.log_rho_powers, "rho^t")

    @property
    def norm_powers(self) -> np.ndarray:
        """``||W||^t``: the submultiplicative upper bound."""
        return _exp_checked(self.log_norm_powers, "||W||^t")


def _log_powers(base, t):
    t = np.asarray(t, dtype=np.float64)
    if base == 0.0:
        return np.where(t == 0, 0.0, -np.inf)
    return t * math.log(base)


@dataclass(frozen=True, repr=False)
class ProductGrowth(Result):
    """Norms of products of step Jacobians by lag (see :func:`product_growth`).

    Attributes
    ----------
    lags : (L+1,) int ndarray
        ``0, 1, ..., L``.
    starts : (L+1,) int ndarray
        The start step k of the span measured at each lag (all equal to k for
        a fixed start; the worst start for ``k=None``).
    log_norms : (L+1,) ndarray
        ``log ||dh_{k+lag}/dh_k||_2`` for that k.
    log_norm_bounds : (L+1,) ndarray
        ``sum_{s=k+1}^{k+lag} log ||J_s||_2``: the product-of-norms bound on the
        same span (the argument of Pascanu et al.).
    log_radius_products : (L+1,) ndarray
        ``sum_{s=k+1}^{k+lag} log rho(J_s)``: the per-step eigenvalue story.  It
        is *not* a bound for products of different matrices (the joint
        spectral radius can exceed every rho(J_s)).
    log_peak : float
        ``max log_norms``.
    peak_lag, peak_start : int
        Where the peak is attained (first occurrence).
    """

    _frame = ("lag", "lags", ("starts", "log_norms", "log_norm_bounds", "log_radius_products"))

    lags: np.ndarray
    starts: np.ndarray
    log_norms: np.ndarray
    log_norm_bounds: np.ndarray
    log_radius_products: np.ndarray
    log_peak: float
    peak_lag: int
    peak_start: int

    @property
    def norms(self) -> np.ndarray:
        """``||dh_{k+lag}/dh_k||_2`` per lag."""
        return _exp_checked(self.log_norms, "the product norm")

    @property
    def peak(self) -> float:
        """The largest product norm (at least 1, the lag-0 identity)."""
        return float(_exp_checked(self.log_peak, "the peak product norm"))


@dataclass(frozen=True, repr=False)
class KreissConstant(Result):
    """The Kreiss constant ``K(W) = sup_{|z|>1} (|z|-1) ||(z I - W)^{-1}||_2``.

    Attributes
    ----------
    value : float
        K(W); ``inf`` when ``rho(W) > 1``.
    z : complex
        Where the supremum is attained; ``inf`` when it is only approached as
        ``|z| -> inf`` (then ``K = 1``).
    lower_bound, upper_bound : float
        The Kreiss matrix theorem: ``K <= sup_t ||W^t|| <= e n K``
        (LeVeque & Trefethen 1984; Spijker 1991).
    spectral_radius : float
    n : int
    """

    value: float
    z: complex
    lower_bound: float
    upper_bound: float
    spectral_radius: float
    n: int


@dataclass(frozen=True, repr=False)
class Pseudospectra(Result):
    """``sigma_min(z I - W)`` on a grid (see :func:`pseudospectra`).

    The epsilon-pseudospectrum is ``{z : sigma_min(z I - W) < eps}``, the set of
    eigenvalues of all ``W + E`` with ``||E|| < eps``.

    Attributes
    ----------
    x : (nx,) ndarray
        Real parts of the grid.
    y : (ny,) ndarray
        Imaginary parts of the grid.
    sigma_min : (ny, nx) ndarray
        ``sigma_min((x[j] + i y[i]) I - W)`` at row i, column j (the layout of
        ``matplotlib.pyplot.contour(x, y, Z)``).
    levels : (k,) ndarray
        Suggested epsilon levels (increasing): powers of ten inside the range
        of ``sigma_min`` on the grid, unless given.
    eigenvalues : (n,) complex ndarray
    spectral_radius : float
    spectral_norm : float
    unconverged : int
        Grid points where the Lanczos iteration did not reach its tolerance
        (their value is the best estimate, a slight overestimate); normally 0.
    """

    x: np.ndarray
    y: np.ndarray
    sigma_min: np.ndarray
    levels: np.ndarray
    eigenvalues: np.ndarray
    spectral_radius: float
    spectral_norm: float
    unconverged: int


@dataclass(frozen=True, repr=False)
class PseudospectralRadius(Result):
    """The epsilon-pseudospectral radius (see :func:`pseudospectral_radius`).

    Attributes
    ----------
    eps : float
    radius : float
        ``rho_eps(W) = max {|z| : sigma_min(z I - W) <= eps}``.
    z : complex
        A point of the pseudospectrum with ``|z| = radius``.
    growth_lower_bound : float
        ``max(1, (rho_eps - 1) / eps)``: ``sup_{t>=0} ||W^t|| >= (rho_eps - 1)/eps``
        (Trefethen & Embree 2005, Thm 16.4); the 1 is ``||W^0||``.
    iterations : int
        Criss-cross iterations used.
    """

    eps: float
    radius: float
    z: complex
    growth_lower_bound: float
    iterations: int
