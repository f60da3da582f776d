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

# -- issue 12: non-normality (transient growth, pseudospectra, field of values) --
from . import nonnormal
from .nonnormal import (
    FieldOfValues,
    KreissConstant,
    NonNormality,
    ProductGrowth,
    PseudospectralRadius,
    Pseudospectra,
    StepNonNormality,
    TransientGrowth,
    eigenvector_condition,
    field_of_values,
    henrici_departure,
    kreiss_constant,
    nonnormality,
    normal_counterpart,
    numerical_abscissa,
    numerical_radius,
    product_growth,
    pseudospectra,
    pseudospectral_radius,
    random_nonnormal,
    step_nonnormality,
    transient_growth,
)
# -- end issue 12 --

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
    # -- issue 12: non-normality --
    "nonnormal",
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
    # -- end issue 12 --
]


def __getattr__(name):
    if name in _LAZY_MODULES:
        module = _import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'spectra' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES))
