"""Non-normality: when eigenvalues mislead.

The seed text argues with eigenvalues ("if the largest eigenvalue lambda_1 < 1
the gradient vanishes"); the proof of Pascanu, Mikolov & Bengio (2013) uses
singular values.  For a normal W (one with orthonormal eigenvectors) the two
stories agree: ``||W^t||_2 = rho(W)^t``.  For a non-normal W they disagree
over long stretches: ``A = [[0.5, 10], [0, 0.5]]`` has spectral radius 0.5,
yet ``||A^5|| = 3.125`` and ``||A^t||`` falls below 1e-15 only at t = 61.
Gelfand's formula ``||W^t||^(1/t) -> rho(W)`` makes the eigenvalue statement
true *asymptotically*; this module measures everything in between.

Measures of non-normality (of W or of each step Jacobian)
    :func:`henrici_departure`, :func:`eigenvector_condition`,
    :func:`numerical_abscissa`, :func:`numerical_radius`,
    :func:`field_of_values`, :func:`nonnormality`, :func:`step_nonnormality`.
Transient growth
    :func:`transient_growth` (``||W^t||`` for t = 0, 1, ..., its peak, with a
    certificate that the peak is the supremum over all t),
    :func:`product_growth` (the same for products of step Jacobians along a
    trajectory), :func:`kreiss_constant` (with the Kreiss matrix theorem
    bounds ``K <= sup_t ||W^t|| <= e n K``).
Pseudospectra
    :func:`pseudospectra` (``sigma_min(z I - W)`` on a grid, from one Schur
    decomposition), :func:`pseudospectral_radius` (criss-cross algorithm,
    with the lower bound it gives on transient growth).
Examples to experiment with
    :func:`random_nonnormal` (``W = Q (D + N) Q^T``: a prescribed spectral
    radius and a tunable strictly upper triangular part),
    :func:`normal_counterpart` (the normal matrix with the same eigenvalues
    and Schur vectors as W).

Conventions.  All norms are spectral norms (largest singular value).  The
iteration is the discrete-time ``h_t = W h_{t-1}``: the unit circle, not the
imaginary axis, separates decay from growth.  For discrete time:

* ``||W||`` is the largest one-step amplification and bounds every step;
  ``rho(W) <= r(W) <= ||W|| <= 2 r(W)`` where ``r`` is the numerical radius.
* The power inequality ``r(W^t) <= r(W)^t`` (Berger 1965; Pearcy 1966)
  with ``||A|| <= 2 r(A)`` gives ``||W^t|| <= 2 r(W)^t``: when ``r(W) <= 1``,
  ``sup_t ||W^t|| <= 2`` whatever the eigenvectors do.
* The numerical abscissa ``omega(W) = lambda_max((W + W^T)/2)`` is the
  initial growth rate of the *continuous-time* flow,
  ``d/dt ||e^{tW}|| at t = 0+``; for a step ``h_t = h_{t-1} + dt A h_{t-1}``
  (a leaky unit, a residual layer) ``||I + dt A|| = 1 + dt omega(A) + O(dt^2)``.
  For ``h_t = W h_{t-1}`` itself it is ``||W||`` that governs one step.

References: Trefethen & Embree, *Spectra and Pseudospectra* (2005);
Henrici (1962); Kreiss (1962); Mengi & Overton (2005); Wright & Trefethen
(2001, EigTool); Johnson (1978); Cowen & Harel (1995).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .._core.errors import ConvergenceError, NumericalError
from ..jacobians.kernels import normalise as _normalise
from ..jacobians.structured import as_jacobian_sequence
from ..linalg.fieldofvalues import _norm2, numerical_radius_and_angle, support
from ..linalg.pseudospectra import default_levels, kreiss, pseudospectral_radius_and_angle
from ..linalg.resolvent import schur_complex, smin
from .._core.validation import (
    as_array,
    as_generator,
    as_matrix,
    check_int,
    check_real,
    describe,
)

__all__ = [
    "NonNormality",
    "StepNonNormality",
    "FieldOfValues",
    "TransientGrowth",
    "ProductGrowth",
    "KreissConstant",
    "Pseudospectra",
    "PseudospectralRadius",
    "henrici_departure",
    "eigenvector_condition",
    "numerical_abscissa",
    "numerical_radius",
    "field_of_values",
    "nonnormality",
    "step_nonnormality",
    "transient_growth",
    "product_growth",
    "kreiss_constant",
    "pseudospectra",
    "pseudospectral_radius",
    "normal_counterpart",
    "random_nonnormal",
]

_EPS = float(np.finfo(np.float64).eps)
_LOG2 = math.log(2.0)
_LOG_HUGE = math.log(np.finfo(np.float64).max) - 1.0


# ---------------------------------------------------------------------------------------
# results


def _jsonable(value):
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return {"real": value.real.tolist(), "imag": value.imag.tolist()}
        return value.tolist()
    if isinstance(value, (complex, np.complexfloating)):
        return {"real": float(value.real), "imag": float(value.imag)}
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


class _Result:
    def to_dict(self) -> dict:
        """The fields as JSON-friendly Python objects (lists, floats; complex
        numbers as ``{"real": ..., "imag": ...}``)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _exp_checked(log_values, what):
    """``exp`` of log-domain values, refusing to overflow."""
    log_values = np.asarray(log_values, dtype=np.float64)
    if np.any(log_values > _LOG_HUGE):
        raise NumericalError(f"{what} overflows float64 (log = {float(np.max(log_values)):.1f}); "
                             "use the log-domain field instead")
    return np.exp(log_values)


@dataclass(frozen=True)
class NonNormality(_Result):
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
        ``||W W^T - W^T W||_F``; 0 iff W is normal.
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


@dataclass(frozen=True)
class StepNonNormality(_Result):
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


@dataclass(frozen=True)
class FieldOfValues(_Result):
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

    angles: np.ndarray
    support: np.ndarray
    boundary: np.ndarray
    numerical_radius: float
    numerical_abscissa: float
    eigenvalues: np.ndarray


@dataclass(frozen=True)
class TransientGrowth(_Result):
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


@dataclass(frozen=True)
class ProductGrowth(_Result):
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


@dataclass(frozen=True)
class KreissConstant(_Result):
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


@dataclass(frozen=True)
class Pseudospectra(_Result):
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


@dataclass(frozen=True)
class PseudospectralRadius(_Result):
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


# ---------------------------------------------------------------------------------------
# small helpers


def _square(W, name="W"):
    return as_matrix(W, name, square=True)


def _rho(W):
    return float(np.max(np.abs(np.linalg.eigvals(W)))) if W.size else 0.0


def _single_sequence(J, name):
    seq = as_jacobian_sequence(J, name=name)
    seq.require_square(name)
    if seq.batch_shape:
        raise ValueError(f"`{name}` must be a single sequence; got batch shape {seq.batch_shape} "
                         "(use .select(b) first)")
    if seq.steps == 0:
        raise ValueError(f"`{name}` must contain at least one step; got an empty sequence")
    return seq


# ---------------------------------------------------------------------------------------
# measures


def henrici_departure(W, *, relative=False) -> float:
    """Henrici's departure from normality ``dep_F(W)``.

    Parameters
    ----------
    W : (n, n) array_like
        A real square matrix (a weight matrix or a step Jacobian).
    relative : bool
        Return ``dep_F(W) / ||W||_F`` (in [0, 1]; 0 for W = 0) instead.

    Returns
    -------
    float

    Notes
    -----
    With a complex Schur form ``W = Q (D + N) Q^H`` (D diagonal, N strictly
    upper triangular), ``dep_F(W) = ||N||_F`` (Henrici 1962); it is the same
    for every Schur form and equals ``sqrt(||W||_F^2 - sum_i |lambda_i|^2)``.
    Computed from N, not from that difference, so it keeps its relative
    accuracy when W is nearly normal.  W is normal iff ``dep_F(W) = 0``.
    Henrici also showed
    ``dep_F(W)^2 <= sqrt((n^3 - n)/12) ||W^T W - W W^T||_F``.

    Examples
    --------
    >>> import spectra
    >>> spectra.henrici_departure([[0.5, 10.0], [0.0, 0.5]])
    10.0
    >>> round(spectra.henrici_departure([[0.0, 1.0], [-1.0, 0.0]]), 12)  # a rotation: normal
    0.0
    """
    W = _square(W)
    dep = _henrici(W)
    if relative:
        fro = float(np.linalg.norm(W))
        return dep / fro if fro > 0 else 0.0
    return dep


def _henrici(W, T=None):
    if T is None:
        T, _ = schur_complex(W)
    return float(np.linalg.norm(np.triu(T, 1)))


def eigenvector_condition(W) -> float:
    """Condition number ``kappa_2(V) = ||V||_2 ||V^{-1}||_2`` of the eigenvector matrix.

    Parameters
    ----------
    W : (n, n) array_like

    Returns
    -------
    float
        ``kappa_2(V)`` for V with unit columns (as returned by LAPACK); 1 for a
        normal matrix with distinct eigenvalues; ``inf`` when the computed V
        is exactly singular.  For a defective (or nearly defective) W it is
        huge, about ``1/eps`` or beyond.

    Notes
    -----
    Scaling the columns to unit norm gives a condition number within a
    factor ``sqrt(n)`` of the smallest over all column scalings (van der
    Sluis 1969).  It enters the bound ``rho^t <= ||W^t|| <= kappa(V) rho^t``
    for diagonalisable W, and the Bauer-Fike theorem.  For a normal W with
    repeated eigenvalues LAPACK may return a non-orthogonal basis of the
    eigenspace; the eigenvector basis is then not unique and kappa(V) can
    exceed 1 although W is normal (:func:`henrici_departure` is the
    basis-free measure).

    Examples
    --------
    >>> import spectra
    >>> round(spectra.eigenvector_condition([[0.5, 0.0], [0.0, -0.2]]), 12)
    1.0
    >>> round(spectra.eigenvector_condition([[0.5, 1.0], [0.0, 0.4]]), 1)
    20.0
    """
    W = _square(W)
    return _eigvec_cond(W)


def _eigvec_cond(W):
    _, V = np.linalg.eig(W)
    s = np.linalg.svd(V, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else math.inf


def numerical_abscissa(W) -> float:
    """Numerical abscissa ``omega(W) = max Re{x^T W x}/(x^T x) = lambda_max((W + W^T)/2)``.

    Parameters
    ----------
    W : (n, n) array_like

    Returns
    -------
    float

    Notes
    -----
    ``omega(W)`` is the rightmost point of the field of values and the
    initial growth rate of the continuous-time flow:
    ``d/dt ||e^{tW}||_2 = omega(W)`` at ``t = 0+``, and
    ``||e^{tW}|| <= e^{t omega(W)}``.  For the discrete iteration
    ``h_t = W h_{t-1}`` the one-step amplification is ``||W||`` instead;
    omega matters for steps of the form ``h_t = h_{t-1} + dt A h_{t-1}``
    (leaky units, residual layers), where
    ``||I + dt A|| = 1 + dt omega(A) + O(dt^2)``.

    Examples
    --------
    >>> import spectra
    >>> spectra.numerical_abscissa([[0.5, 10.0], [0.0, 0.5]])
    5.5
    """
    W = _square(W)
    return float(np.linalg.eigvalsh((W + W.T) / 2)[-1])


def numerical_radius(W) -> float:
    """Numerical radius ``r(W) = max {|x^H W x| : ||x||_2 = 1}``.

    Parameters
    ----------
    W : (n, n) array_like

    Returns
    -------
    float

    Notes
    -----
    ``r(W) = max_theta lambda_max(H(theta))`` with
    ``H(theta) = (e^{i theta} W + e^{-i theta} W^T)/2`` (Johnson 1978): rotate
    the matrix and take the top eigenvalue of its Hermitian part.  The
    maximum over theta is found globally: a grid, Brent refinement of its
    best local maxima, then the level-set test of Mengi & Overton (2005),
    which finds every arc of angles where the function exceeds the current
    value from the unit-modulus eigenvalues of a 2n x 2n pencil; it stops
    when no such arc is left.  Accuracy is that of a symmetric eigenvalue,
    about ``eps ||W||``.

    For the discrete-time iteration, ``rho <= r <= ||W|| <= 2 r`` and the
    power inequality ``r(W^t) <= r(W)^t`` give ``||W^t|| <= 2 r(W)^t``: a
    numerical radius below 1 caps transient growth at 2 and guarantees
    decay at rate ``r(W)``.  For a normal W, ``r = rho``.

    Examples
    --------
    >>> import spectra
    >>> spectra.numerical_radius([[0.5, 10.0], [0.0, 0.5]])   # |a| + |b|/2
    5.5
    """
    W = _square(W)
    return numerical_radius_and_angle(W)[0]


def field_of_values(W, *, points=256) -> FieldOfValues:
    """Boundary of the field of values (numerical range) of W.

    Parameters
    ----------
    W : (n, n) array_like
    points : int
        Number of angles theta, equally spaced in [0, 2 pi).

    Returns
    -------
    FieldOfValues

    Notes
    -----
    For each theta the top eigenvector x of
    ``H(theta) = (e^{i theta} W + e^{-i theta} W^T)/2`` gives a boundary point
    ``x^H W x`` of the convex set ``W(W)`` (Johnson 1978), and
    ``lambda_max(H(theta))`` its support function.  The set contains the
    spectrum and the convex hull of it; it is that hull iff W is normal.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> fov = spectra.field_of_values([[0.0, 2.0], [0.0, 0.0]], points=8)
    >>> np.round(np.abs(fov.boundary), 12)     # a disc of radius 1
    array([1., 1., 1., 1., 1., 1., 1., 1.])
    """
    W = _square(W)
    points = check_int(points, "points", minimum=3)
    angles = np.arange(points) * (2 * math.pi / points)
    S = (W + W.T) / 2
    K = (W - W.T) / 2
    sup, vecs = support(S, K, angles, vectors=True)
    boundary = np.einsum("mi,ij,mj->m", vecs.conj(), W.astype(np.complex128), vecs)
    return FieldOfValues(
        angles=angles, support=sup, boundary=boundary,
        numerical_radius=numerical_radius_and_angle(W)[0],
        numerical_abscissa=float(np.linalg.eigvalsh(S)[-1]),
        eigenvalues=np.linalg.eigvals(W).astype(np.complex128),
    )


def _measures(W):
    T, _ = schur_complex(W)
    ev = np.diag(T)
    dep = _henrici(W, T)
    fro = float(np.linalg.norm(W))
    return dict(
        spectral_radius=float(np.max(np.abs(ev))),
        spectral_abscissa=float(np.max(ev.real)),
        spectral_norm=_norm2(W),
        numerical_radius=numerical_radius_and_angle(W)[0],
        numerical_abscissa=float(np.linalg.eigvalsh((W + W.T) / 2)[-1]),
        henrici=dep,
        henrici_relative=dep / fro if fro > 0 else 0.0,
        commutator=float(np.linalg.norm(W @ W.T - W.T @ W)),
        eigenvector_condition=_eigvec_cond(W),
    )


def nonnormality(W) -> NonNormality:
    """All measures of non-normality of one matrix (a weight matrix or a step Jacobian).

    Parameters
    ----------
    W : (n, n) array_like
        For the step Jacobian of a trajectory at step t pass
        ``traj.jacobian(t)``; for every step at once use
        :func:`step_nonnormality`.

    Returns
    -------
    NonNormality

    Examples
    --------
    >>> import spectra
    >>> m = spectra.nonnormality([[0.5, 10.0], [0.0, 0.5]])
    >>> m.spectral_radius, m.numerical_radius, m.henrici, m.commutator
    (0.5, 5.5, 10.0, 141.4213562373095)
    """
    W = _square(W)
    return NonNormality(n=W.shape[0], **_measures(W))


def step_nonnormality(J) -> StepNonNormality:
    """The measures of :func:`nonnormality` for every step Jacobian of a run.

    Parameters
    ----------
    J : Trajectory, JacobianSequence, (T, n, n) array_like or sequence of matrices
        Square step Jacobians J_1..J_T (a single, unbatched sequence).

    Returns
    -------
    StepNonNormality
        Arrays of length T; entry ``[t-1]`` belongs to ``J_t``.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> traj = spectra.ElmanRNN([[0.5, 10.0], [0.0, 0.5]]).run(steps=3, h0=[0.1, 0.1])
    >>> m = spectra.step_nonnormality(traj)
    >>> m.t, bool(np.all(m.henrici > 0))
    (array([1, 2, 3]), True)
    """
    seq = _single_sequence(J, "J")
    rows = [_measures(np.asarray(seq.matrix(t), dtype=np.float64)) for t in range(1, seq.steps + 1)]
    cols = {key: np.array([r[key] for r in rows]) for key in rows[0]}
    return StepNonNormality(t=np.arange(1, seq.steps + 1), n=seq.n, **cols)


# ---------------------------------------------------------------------------------------
# transient growth


def _power_log_norms(W, stop, *, certify, block=32):
    """``log ||W^t||_2`` for t = 0..stop (or until certified).

    The running power is renormalised by an exact power of two after every
    multiplication and the exponent carried as an integer, so neither
    overflow nor underflow can occur whatever ``rho(W)`` and t are.
    """
    n = W.shape[0]
    logs = [0.0]
    # W = 2^eW Wn exactly, so that neither huge nor subnormal entries spoil W @ P
    Wn, eW = _normalise(W)
    W, eW = Wn, int(eW)
    P = np.eye(n)
    e = 0
    certified_at = None
    t = 0
    one = 1.0 + 8 * n * _EPS
    while t < stop:
        todo = min(block, stop - t)
        mats = np.empty((todo, n, n))
        exps = np.empty(todo, dtype=np.int64)
        for j in range(todo):
            P, de = _normalise(W @ P)
            e += int(de) + eW
            mats[j] = P
            exps[j] = e
        s = np.linalg.svd(mats, compute_uv=False)[:, 0]
        with np.errstate(divide="ignore"):
            vals = np.log(s) + exps * _LOG2
        logs.extend(vals.tolist())
        t += todo
        if certified_at is None:
            hit = np.flatnonzero(vals <= math.log(one))
            if hit.size:
                certified_at = t - todo + 1 + int(hit[0])
                if certify:
                    logs = logs[:certified_at + 1]
                    break
    return np.array(logs), certified_at


def transient_growth(W, *, steps=None, max_steps=100_000) -> TransientGrowth:
    """``||W^t||_2`` for t = 0, 1, ..., its peak, and where the peak occurs.

    Parameters
    ----------
    W : (n, n) array_like
        The recurrent matrix of a linear network ``h_t = W h_{t-1}`` (or any
        square matrix, e.g. a step Jacobian ``traj.jacobian(t)``).
    steps : int, optional
        Horizon L: compute t = 0..L.  By default, iterate until the peak is
        certified to be the supremum over all t (the first ``t >= 1`` with
        ``||W^t|| <= 1``), which needs ``rho(W) <= 1``.
    max_steps : int
        Largest horizon tried when ``steps`` is None.

    Returns
    -------
    TransientGrowth
        With ``t``, ``log_norms`` (and ``norms``), ``peak``, ``peak_step``,
        ``certified``, and the reference curves ``rho_powers`` (``rho^t``, the
        eigenvalue prediction) and ``norm_powers`` (``||W||^t``, the norm bound).

    Raises
    ------
    ValueError
        If ``steps`` is None and ``rho(W) > 1`` (the supremum is infinite).
    ConvergenceError
        If ``steps`` is None and no ``t <= max_steps`` certifies the peak.

    Notes
    -----
    Always ``rho^t <= ||W^t|| <= ||W||^t``; for a normal W the left side is an
    equality, so there is no transient growth: ``sup_t ||W^t|| = 1`` when
    ``rho <= 1``.  For a non-normal W the peak can be arbitrarily large at
    fixed ``rho < 1`` (see :func:`kreiss_constant` for the bounds
    ``K <= sup_t ||W^t|| <= e n K``).  Certificate: if ``||W^s|| <= 1`` for some
    ``s >= 1``, every ``t = j s + q`` (``0 <= q < s``) has
    ``||W^t|| <= ||W^s||^j ||W^q|| <= max_{q<s} ||W^q||``, so the peak over
    ``t <= s`` is the supremum.

    Accuracy: each power is formed by repeated multiplication, renormalised
    by exact powers of two; the result is exact for an exactly triangular W
    (no cancellation) and otherwise carries absolute errors of about
    ``t eps ||W|| (sup_t ||W^t||)^2`` -- the same size as the change in
    ``W^t`` caused by perturbing W by ``eps ||W||``, so values far below that
    level describe ``W`` only up to its own rounding (they are then governed
    by the eps-pseudospectrum, not the spectrum).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> A = [[0.5, 10.0], [0.0, 0.5]]
    >>> g = spectra.transient_growth(A)
    >>> g.spectral_radius, g.peak_step, round(g.peak, 4), g.certified
    (0.5, 1, 10.0249, True)
    >>> g = spectra.transient_growth(A, steps=70)
    >>> round(float(g.norms[5]), 4), int(np.argmax(g.norms < 1e-15))
    (3.1253, 61)
    """
    W = _square(W)
    n = W.shape[0]
    rho = _rho(W)
    norm = _norm2(W)
    if steps is None:
        max_steps = check_int(max_steps, "max_steps", minimum=1)
        if rho > 1.0 + 8 * n * _EPS * max(norm, 1.0):
            raise ValueError(f"sup_t ||W^t|| is infinite: rho(W) = {rho:.6g} > 1; pass `steps` "
                             "for a finite horizon")
        logs, cert = _power_log_norms(W, max_steps, certify=True)
        if cert is None:
            raise ConvergenceError(
                f"the peak of ||W^t|| was not certified within max_steps={max_steps} steps "
                f"(rho(W) = {rho:.6g}; ||W^t|| = {math.exp(logs[-1]):.3g} at t = {max_steps} is still "
                "above 1); increase `max_steps` or pass a finite horizon `steps`")
    else:
        steps = check_int(steps, "steps", minimum=0)
        logs, cert = _power_log_norms(W, steps, certify=False)
    i = int(np.argmax(logs))
    return TransientGrowth(
        t=np.arange(logs.size), log_norms=logs, log_peak=float(logs[i]), peak_step=i,
        certified=cert is not None, spectral_radius=rho, spectral_norm=norm)


def product_growth(J, *, k=0) -> ProductGrowth:
    """Norms of products of step Jacobians ``||dh_{k+lag}/dh_k||_2`` for every lag.

    The analogue of :func:`transient_growth` for a trajectory, whose step
    Jacobians differ from step to step.

    Parameters
    ----------
    J : Trajectory, JacobianSequence, (T, n, n) array_like or sequence of matrices
        Square step Jacobians J_1..J_T (a single, unbatched sequence).
    k : int or None
        The start step: measure ``dh_{k+lag}/dh_k = J_{k+lag} ... J_{k+1}`` for
        lag = 0..T-k (default k = 0, from the initial state).  ``k=None``
        takes, for each lag, the worst start: ``max_k ||dh_{k+lag}/dh_k||``
        over ``0 <= k <= T - lag`` (cost O(T^2 n^3) instead of O(T n^3)).

    Returns
    -------
    ProductGrowth

    Notes
    -----
    For a linear network ``h_t = W h_{t-1}`` every step Jacobian is W and
    this is ``||W^lag||``.  ``log_norm_bounds`` holds the product of step
    norms over the same span (an upper bound) and ``log_radius_products``
    the product of the step spectral radii (the per-step eigenvalue story,
    which bounds nothing once the steps differ).  Products are renormalised
    by exact powers of two after every step, so no span overflows.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[0.5, 10.0], [0.0, 0.5]])
    >>> traj = spectra.ElmanRNN(W, activation="identity").run(steps=8, h0=[1.0, 1.0])
    >>> g = spectra.product_growth(traj)
    >>> np.round(g.norms, 3)
    array([ 1.   , 10.025, 10.006,  7.502,  5.001,  3.125,  1.875,  1.094,
            0.625])
    >>> g.peak_lag
    1
    """
    seq = _single_sequence(J, "J")
    T, n = seq.steps, seq.n
    if k is not None:
        k = check_int(k, "k", minimum=0, maximum=T)
    step_logn = np.empty(T)
    step_logr = np.empty(T)
    step_exp = np.zeros(T + 1, dtype=np.int64)   # 2^step_exp[s] >= max|J_s| when that exceeds 1
    with np.errstate(divide="ignore"):
        for s in range(1, T + 1):
            M = np.asarray(seq.matrix(s), dtype=np.float64)
            step_exp[s] = max(0, int(np.frexp(np.max(np.abs(M)))[1])) if M.size else 0
            step_logn[s - 1] = math.log(_norm2(M)) if np.any(M) else -math.inf
            r = _rho(M)
            step_logr[s - 1] = math.log(r) if r > 0 else -math.inf

    def apply(s, stack):
        """``J_s @ stack[i]`` for every i, scaled by ``2^-step_exp[s]`` (exactly) so that a
        step with huge entries cannot overflow; the caller adds ``step_exp[s]``."""
        m = stack.shape[0]
        X = np.transpose(stack, (1, 0, 2)).reshape(n, m * n)
        X = np.ldexp(X, -int(step_exp[s]))
        Y = np.asarray(seq.matmat(s, X), dtype=np.float64)
        return np.transpose(Y.reshape(n, m, n), (1, 0, 2))

    if k is not None:
        L = T - k
        logs = np.zeros(L + 1)
        P = np.eye(n)[None]
        e = np.zeros(1, dtype=np.int64)
        for lag in range(1, L + 1):
            P, de = _normalise(apply(k + lag, P))
            e = e + de + step_exp[k + lag]
            with np.errstate(divide="ignore"):
                logs[lag] = math.log(np.linalg.svd(P[0], compute_uv=False)[0]) + e[0] * _LOG2
        starts = np.full(L + 1, k)
    else:
        L = T
        logs = np.full(L + 1, -np.inf)
        logs[0] = 0.0
        starts = np.zeros(L + 1, dtype=np.int64)
        P = np.zeros((0, n, n))
        e = np.zeros(0, dtype=np.int64)
        for s in range(1, T + 1):
            # P[k] holds dh_{s-1}/dh_k (normalised) for k = 0..s-2; append dh_{s-1}/dh_{s-1}
            P = np.concatenate([P, np.eye(n)[None]])
            e = np.concatenate([e, [0]])
            P, de = _normalise(apply(s, P))
            e = e + de + step_exp[s]
            with np.errstate(divide="ignore"):
                vals = np.log(np.linalg.svd(P, compute_uv=False)[:, 0]) + e * _LOG2
            lags = s - np.arange(s)
            better = vals > logs[lags]
            logs[lags[better]] = vals[better]
            starts[lags[better]] = np.arange(s)[better]
    lagv = np.arange(L + 1)
    i = int(np.argmax(logs))
    return ProductGrowth(
        lags=lagv, starts=starts.astype(np.int64), log_norms=logs,
        log_norm_bounds=_span_sums(step_logn, starts, lagv),
        log_radius_products=_span_sums(step_logr, starts, lagv),
        log_peak=float(logs[i]), peak_lag=i, peak_start=int(starts[i]))


def _span_sums(step_logs, starts, lags):
    """``sum(step_logs[k:k+lag])`` per (k, lag); exact with ``-inf`` entries."""
    if np.all(np.isfinite(step_logs)) and np.all(starts == starts[0]):
        c = np.concatenate([[0.0], np.cumsum(step_logs)])
        return c[starts + lags] - c[starts]
    return np.array([float(np.sum(step_logs[k0:k0 + lag])) for k0, lag in zip(starts, lags)])


# ---------------------------------------------------------------------------------------
# Kreiss constant


def kreiss_constant(W) -> KreissConstant:
    """Kreiss constant ``K(W) = sup_{|z| > 1} (|z| - 1) ||(z I - W)^{-1}||_2``.

    Parameters
    ----------
    W : (n, n) array_like

    Returns
    -------
    KreissConstant
        ``value`` with the Kreiss matrix theorem bounds on transient growth,
        ``lower_bound = K <= sup_t ||W^t|| <= upper_bound = e n K``.

    Raises
    ------
    NumericalError
        When ``rho(W) = 1`` to working precision and W is not normal: K is
        then finite or infinite according as the eigenvalues on the unit
        circle are semisimple or not, which floating point cannot decide.

    Notes
    -----
    ``K >= 1`` always (the limit ``|z| -> inf``); ``K = inf`` iff
    ``rho(W) > 1`` (or an eigenvalue on the unit circle is defective);
    ``K = 1`` when ``||W|| <= 1`` (then ``1 <= K <= sup_t ||W^t|| <= 1``),
    in particular for every normal W with ``rho <= 1``.  The upper bound
    ``sup_t ||W^t|| <= e n K`` is Spijker's (1991) sharpening of Kreiss's
    theorem (LeVeque & Trefethen 1984 conjectured it).  Equivalently
    ``K = sup_eps (rho_eps(W) - 1)/eps`` over the pseudospectral radii.

    Algorithm: W is reduced once to Schur form, so each resolvent norm is
    ``1/sigma_min(z I - T)``, computed with triangular solves (see
    :func:`pseudospectra`).  With ``z = (1 + s) e^{i theta}`` the function
    ``g = s / sigma_min`` is evaluated on a grid in theta (``[0, pi]``; real W
    gives conjugate symmetry) and log s (only ``s >= sigma_min(e^{i theta}
    I - W) / 2`` can give ``g > 1``, since sigma_min is 1-Lipschitz in z), and
    the best local maxima are refined by a quasi-Newton method with the
    exact gradient ``d sigma_min = Re(dz u^H v)`` from the singular vectors.

    Examples
    --------
    >>> import spectra
    >>> k = spectra.kreiss_constant([[0.5, 10.0], [0.0, 0.5]])
    >>> round(k.value, 12), k.lower_bound <= 10.0249 <= k.upper_bound
    (5.05, True)
    >>> spectra.kreiss_constant([[0.9, 0.0], [0.0, -0.3]]).value    # normal, rho < 1
    1.0
    """
    W = _square(W)
    n = W.shape[0]
    T, _ = schur_complex(W)
    ev = np.diag(T)
    rho = float(np.max(np.abs(ev)))
    norm = _norm2(W)
    tol_rho = 64 * n * _EPS * max(norm, 1.0)
    if rho > 1.0 + tol_rho:
        lam = complex(ev[np.argmax(np.abs(ev))])
        return KreissConstant(math.inf, lam, math.inf, math.inf, rho, n)
    if norm <= 1.0 + 8 * n * _EPS:
        return KreissConstant(1.0, complex(math.inf, 0.0), 1.0, math.e * n, rho, n)
    if rho >= 1.0 - tol_rho:
        raise NumericalError(
            f"rho(W) = {rho!r} equals 1 to working precision and W is not normal "
            f"(||W|| = {norm:.6g}): the Kreiss constant is then finite or infinite according as "
            "the eigenvalues on the unit circle are semisimple or defective, which floating "
            "point cannot decide")
    value, z = kreiss(T, norm)
    return KreissConstant(value, z, value, math.e * n * value, rho, n)


# ---------------------------------------------------------------------------------------
# pseudospectra


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
    W = _square(W)
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
                         spectral_radius=rho, spectral_norm=_norm2(W), unconverged=unconverged)


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
    W = _square(W)
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    T, _ = schur_complex(W)
    r, theta, its = pseudospectral_radius_and_angle(T, eps, W)
    bound = max(1.0, (r - 1.0) / eps)
    z = r * complex(math.cos(theta), math.sin(theta))
    return PseudospectralRadius(eps=eps, radius=r, z=z, growth_lower_bound=bound, iterations=its)


# ---------------------------------------------------------------------------------------
# example matrices


def normal_counterpart(W) -> np.ndarray:
    """The real normal matrix with the same eigenvalues and Schur vectors as W.

    Parameters
    ----------
    W : (n, n) array_like

    Returns
    -------
    (n, n) ndarray
        ``Z D Z^T`` where ``W = Z (D + N) Z^T`` is the real Schur form and D
        keeps its 1 x 1 blocks and replaces each 2 x 2 block by the normal
        block ``[[a, b], [-b, a]]`` with the same eigenvalues ``a +- i b``.

    Notes
    -----
    The result has the spectrum of W and no transient growth
    (``||W_N^t|| = rho^t``), so plotting :func:`transient_growth` of both
    shows what non-normality alone does.  It is not the nearest normal
    matrix in general (that is a harder problem, Ruhe 1987).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> A = np.array([[0.5, 10.0], [0.0, 0.5]])
    >>> spectra.normal_counterpart(A)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    from scipy.linalg import schur

    W = _square(W)
    Tr, Z = schur(W, output="real")
    n = W.shape[0]
    D = np.zeros_like(Tr)
    i = 0
    while i < n:
        if i + 1 < n and Tr[i + 1, i] != 0.0:
            lam = np.linalg.eigvals(Tr[i:i + 2, i:i + 2])
            a, b = float(np.mean(lam.real)), float(np.max(np.abs(lam.imag)))
            D[i:i + 2, i:i + 2] = [[a, b], [-b, a]]
            i += 2
        else:
            D[i, i] = Tr[i, i]
            i += 1
    return Z @ D @ Z.T


def random_nonnormal(n, *, spectral_radius=0.9, coupling=1.0, rng=None) -> np.ndarray:
    """A random real matrix with a prescribed spectral radius and tunable non-normality.

    ``W = Q (D + N) Q^T``: Q Haar-orthogonal, D block diagonal with
    eigenvalues uniform in the disc of radius ``spectral_radius`` (conjugate
    pairs as normal 2 x 2 blocks, one real eigenvalue when n is odd; scaled
    so the largest modulus is exactly ``spectral_radius``), N strictly upper
    block triangular with i.i.d. ``N(0, coupling^2 / n)`` entries.

    Parameters
    ----------
    n : int
    spectral_radius : float
        rho(W) (>= 0).
    coupling : float
        Scale of the non-normal part N (>= 0); ``coupling = 0`` gives a normal
        matrix, and the same ``rng`` seed gives the same Q and D for every
        coupling, so ``coupling=0`` is the normal matrix with W's spectrum.
    rng : int, Generator or None

    Returns
    -------
    (n, n) ndarray

    Notes
    -----
    The eigenvalues do not depend on ``coupling``; ``||W||``, the departure
    from normality (``||N||_F``, about ``coupling sqrt(n/2)``) and the
    transient growth do.  This is the Schur-form parametrisation used for
    non-normal recurrent networks (Kerg et al. 2019, nnRNN).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = spectra.random_nonnormal(6, spectral_radius=0.8, coupling=2.0, rng=0)
    >>> round(float(np.max(np.abs(np.linalg.eigvals(W)))), 12)
    0.8
    """
    from ..cells import init

    n = check_int(n, "n", minimum=1)
    radius = check_real(spectral_radius, "spectral_radius", low=0.0)
    coupling = check_real(coupling, "coupling", low=0.0)
    gen = as_generator(rng)
    pairs, odd = divmod(n, 2)
    mod = np.sqrt(gen.uniform(0.0, 1.0, pairs))
    ang = gen.uniform(0.0, math.pi, pairs)
    real = gen.uniform(-1.0, 1.0, odd)
    biggest = max(np.max(mod, initial=0.0), np.max(np.abs(real), initial=0.0))
    scale = radius / biggest if biggest > 0 else 0.0
    D = np.zeros((n, n))
    for p in range(pairs):
        a, b = scale * mod[p] * math.cos(ang[p]), scale * mod[p] * math.sin(ang[p])
        D[2 * p:2 * p + 2, 2 * p:2 * p + 2] = [[a, b], [-b, a]]
    if odd:
        D[-1, -1] = scale * real[0]
    N = gen.standard_normal((n, n)) * (coupling / math.sqrt(n))
    blocks = np.minimum(np.arange(n) // 2, pairs)          # block index of each row/column
    N[blocks[:, None] >= blocks[None, :]] = 0.0
    Q = init.orthogonal(n, rng=gen)
    return Q @ (D + N) @ Q.T
