"""Measures of non-normality of one matrix or of every step Jacobian of a run.

:func:`henrici_departure`, :func:`eigenvector_condition`,
:func:`numerical_abscissa`, :func:`numerical_radius`, :func:`field_of_values`,
and all of them at once: :func:`nonnormality` (one matrix),
:func:`step_nonnormality` (each ``J_t`` of a trajectory).
"""

from __future__ import annotations

import math

import numpy as np

from .._core.validation import check_int
from ..linalg.fieldofvalues import norm2, numerical_radius_and_angle, support
from ..linalg.resolvent import schur_complex
from ._common import single_sequence, square_matrix
from .results import FieldOfValues, NonNormality, StepNonNormality

__all__ = [
    "henrici_departure",
    "eigenvector_condition",
    "numerical_abscissa",
    "numerical_radius",
    "field_of_values",
    "nonnormality",
    "step_nonnormality",
]


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
    W = square_matrix(W)
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
    W = square_matrix(W)
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
    W = square_matrix(W)
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
    W = square_matrix(W)
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
    W = square_matrix(W)
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
    # a matrix far outside [1e-100, 1e100] is measured as W / c (c a power of two, exact) and the
    # measures scaled back: degree 1 in W except the commutator (degree 2) and the ratios (0)
    top = float(np.max(np.abs(W))) if W.size else 0.0
    c = 2.0 ** round(math.log2(top)) if top and not 1e-100 <= top <= 1e100 else 1.0
    if c != 1.0:
        W = W / c
    T, _ = schur_complex(W)
    ev = np.diag(T)
    dep = _henrici(W, T)
    fro = float(np.linalg.norm(W))
    C = W @ W.T - W.T @ W
    big = float(np.max(np.abs(C))) if C.size else 0.0
    # ||C||_F without squaring its entries (they reach 1e200); c^2 ||C||_F beyond float64 is inf,
    # as documented (a Python float product does not raise)
    commutator = big * float(np.linalg.norm(C / big)) * c * c if big else 0.0
    return dict(
        spectral_radius=float(np.max(np.abs(ev))) * c,
        spectral_abscissa=float(np.max(ev.real)) * c,
        spectral_norm=norm2(W) * c,
        numerical_radius=numerical_radius_and_angle(W)[0] * c,
        numerical_abscissa=float(np.linalg.eigvalsh((W + W.T) / 2)[-1]) * c,
        henrici=dep * c,
        henrici_relative=dep / fro if fro > 0 else 0.0,
        commutator=commutator,
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
    W = square_matrix(W)
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
    seq = single_sequence(J, "J")
    rows = [_measures(np.asarray(seq.matrix(t), dtype=np.float64)) for t in range(1, seq.steps + 1)]
    cols = {key: np.array([r[key] for r in rows]) for key in rows[0]}
    return StepNonNormality(t=np.arange(1, seq.steps + 1), n=seq.n, **cols)
