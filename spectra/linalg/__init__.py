"""Linear algebra: spectral norm and radius, per-step spectra, matrix-free top-k SVD.

Lives here: dense helpers (:mod:`.dense`), the one block Golub-Kahan-Lanczos
kernel and its shared parts (:mod:`.krylov`: behind ``top_singular_values`` and
``spectral_norm(method="lanczos")``; the power iteration, the profile
iteration and the resolvent's smallest-singular-value iteration share its
reorthogonalisation, Ritz extraction and convergence tests), its mixed-precision
form (:mod:`.mixed`: single-precision passes, float64 anchors and certificate,
behind ``top_singular_values(precision="mixed")``), the resolvent kernels behind
pseudospectra and Kreiss constants (:mod:`.resolvent`, :mod:`.pseudospectra`),
the field of values (:mod:`.fieldofvalues`) and the graded (QR-based) product
factorisation (:mod:`.graded`).

May import: numpy, scipy (inside functions), :mod:`spectra._core`,
:mod:`spectra.jacobians`.  Nothing here knows about cells or results of an analysis.
"""

from .dense import *  # noqa: F401,F403
from .dense import __all__
from .krylov import golub_kahan_svd
from .mixed import mixed_golub_kahan_svd

__all__ = [*__all__, "golub_kahan_svd", "mixed_golub_kahan_svd"]
