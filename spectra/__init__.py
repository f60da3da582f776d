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

# -- issue 11: sweeps over parameter grids --
from . import grid
from ._sweep import SweepRecord, SweepResult, load_sweep, process_pool, sweep
# -- end issue 11 --

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
    # -- issue 11: sweeps over parameter grids --
    "grid",
    "sweep",
    "SweepRecord",
    "SweepResult",
    "load_sweep",
    "process_pool",
    # -- end issue 11 --
]


def __getattr__(name):
    if name in _LAZY_MODULES:
        module = _import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'spectra' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES))
