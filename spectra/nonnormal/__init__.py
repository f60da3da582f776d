"""Non-normality of step Jacobians: transient growth, pseudospectra, Kreiss constants.

May import: :mod:`spectra._core`, :mod:`spectra.jacobians`, :mod:`spectra.linalg`.
"""

from .core import *  # noqa: F401,F403
from .core import __all__
