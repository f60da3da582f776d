"""Linear algebra: spectral norm and radius, per-step spectra, matrix-free top-k SVD.

Lives here: dense helpers (:mod:`.dense`), the resolvent kernels behind
pseudospectra and Kreiss constants (:mod:`.resolvent`, :mod:`.pseudospectra`),
the field of values (:mod:`.fieldofvalues`) and the graded (QR-based) product
factorisation (:mod:`.graded`).

May import: numpy, scipy (inside functions), :mod:`spectra._core`,
:mod:`spectra.jacobians`.  Nothing here knows about cells or results of an analysis.
"""

from .dense import *  # noqa: F401,F403
from .dense import __all__
