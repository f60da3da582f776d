"""Non-normality: when eigenvalues mislead.

The seed text argues with eigenvalues ("if the largest eigenvalue lambda_1 < 1
the gradient vanishes"); the proof of Pascanu, Mikolov & Bengio (2013) uses
singular values.  For a normal W (one with orthonormal eigenvectors) the two
stories agree: ``||W^t||_2 = rho(W)^t``.  For a non-normal W they disagree
over long stretches: ``A = [[0.5, 10], [0, 0.5]]`` has spectral radius 0.5,
yet ``||A^5|| = 3.125`` and ``||A^t||`` falls below 1e-15 only at t = 61.
Gelfand's formula ``||W^t||^(1/t) -> rho(W)`` makes the eigenvalue statement
true *asymptotically*; this package measures everything in between.

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

Modules
-------
:mod:`.results`
    The result classes (frozen dataclasses on :class:`spectra._core.results.Result`).
:mod:`.measures`
    henrici_departure, eigenvector_condition, numerical_abscissa,
    numerical_radius, field_of_values, nonnormality, step_nonnormality.
:mod:`.growth`
    transient_growth, product_growth, kreiss_constant.
:mod:`.pseudospectral`
    pseudospectra, pseudospectral_radius.
:mod:`.examples`
    random_nonnormal, normal_counterpart.

May import: :mod:`spectra._core`, :mod:`spectra.jacobians`, :mod:`spectra.linalg`,
and (lazily, in :func:`random_nonnormal`) :mod:`spectra.cells.init` for Haar
orthogonal matrices.  Nothing here imports a leaf (plot, io, cli, symbolic).
"""

from .examples import normal_counterpart, random_nonnormal
from .growth import kreiss_constant, product_growth, transient_growth
from .measures import (
    eigenvector_condition,
    field_of_values,
    henrici_departure,
    nonnormality,
    numerical_abscissa,
    numerical_radius,
    step_nonnormality,
)
from .pseudospectral import pseudospectra, pseudospectral_radius
from .results import (
    FieldOfValues,
    KreissConstant,
    NonNormality,
    ProductGrowth,
    Pseudospectra,
    PseudospectralRadius,
    StepNonNormality,
    TransientGrowth,
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
