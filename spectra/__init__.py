"""spectra: numerical and symbolic analysis of Jacobian spectra in recurrent and deep networks.

Conventions (see README): a step map h_t = F(h_{t-1}, x_t) has step Jacobian
J_t = dh_t/dh_{t-1} in numerator layout; dh_t/dh_k = J_t ... J_{k+1}; the lag
is t - k; logarithms are natural; Lyapunov exponents are per step.

``import spectra`` loads numpy only.  The leaf modules ``spectra.symbolic``
(sympy), ``spectra.plot`` (matplotlib), ``spectra.io`` and ``spectra.cli``
load on first use.
"""

from importlib import import_module as _import_module

from . import init
from ._activations import Activation, activation, available_activations
from ._cells import Cell, ElmanRNN, LeakyRNN, RecurrentFirstRNN
from ._errors import ConvergenceError, NumericalError
from ._jacobians import DenseJacobians, JacobianSequence, ScaledJacobians, as_jacobian_sequence
from ._trajectory import Trajectory

# products and spectra (issue 3)
from . import linalg
from ._lyapunov import LyapunovResult, lyapunov_spectrum
from ._products import NormProfile, gradient_norm_profile, product_log_singular_values
from .linalg import (condition_number, spectral_norm, spectral_radius, step_condition_numbers,
                     step_eigenvalues, step_singular_values, top_singular_values)

# performance: thread policy (issue 8)
from ._threads import get_threads, set_threads, threads

__version__ = "0.1.0"

_LAZY_MODULES = ("symbolic", "plot", "io", "cli")

__all__ = [
    "Activation",
    "activation",
    "available_activations",
    "init",
    "Cell",
    "ElmanRNN",
    "RecurrentFirstRNN",
    "LeakyRNN",
    "Trajectory",
    "JacobianSequence",
    "DenseJacobians",
    "ScaledJacobians",
    "as_jacobian_sequence",
    "NumericalError",
    "ConvergenceError",
    # products and spectra (issue 3)
    "linalg",
    "product_log_singular_values",
    "gradient_norm_profile",
    "NormProfile",
    "lyapunov_spectrum",
    "LyapunovResult",
    "spectral_norm",
    "spectral_radius",
    "condition_number",
    "step_eigenvalues",
    "step_singular_values",
    "step_condition_numbers",
    "top_singular_values",
    # performance: thread policy (issue 8)
    "set_threads",
    "get_threads",
    "threads",
]


def __getattr__(name):
    if name in _LAZY_MODULES:
        module = _import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'spectra' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES))
