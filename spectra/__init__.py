"""spectra: numerical and symbolic analysis of Jacobian spectra in recurrent and deep networks.

Conventions (see README): a step map h_t = F(h_{t-1}, x_t) has step Jacobian
J_t = dh_t/dh_{t-1} in numerator layout; dh_t/dh_k = J_t ... J_{k+1}; the lag
is t - k; logarithms are natural; Lyapunov exponents are per step.

``import spectra`` loads numpy only.  The leaf modules ``spectra.symbolic``
(sympy), ``spectra.plot`` (matplotlib), ``spectra.io`` and ``spectra.cli``
load on first use.
"""

from importlib import import_module as _import_module

from .cells import init
from .cells.activations import Activation, activation, available_activations
from .cells.simple import Cell, ElmanRNN, LeakyRNN, RecurrentFirstRNN
from ._core.errors import ConvergenceError, NumericalError
from .jacobians.sequence import DenseJacobians, JacobianSequence, ScaledJacobians, as_jacobian_sequence
from .jacobians.trajectory import Trajectory

# products and spectra (issue 3)
from . import linalg
from .analysis.lyapunov import LyapunovResult, lyapunov_spectrum
from .analysis.products import NormProfile, gradient_norm_profile, product_log_singular_values
from .linalg import (condition_number, spectral_norm, spectral_radius, step_condition_numbers,
                     step_eigenvalues, step_singular_values, top_singular_values)
# issue 5: gated and feedforward cells
from .cells.gated import GRU, LSTM, GRUJacobians, LSTMJacobians
from .jacobians.layer_trajectory import LayerTrajectory
from .cells.mlp import MLP, LayerJacobians
# issue 10: deep feedforward nets, normalisation layers, gradient monitor
from . import monitor
from .analysis.deep import (DepthProfile, DepthSpectra, MeanField, SlopeFit, depth_profile, depth_spectra,
                    linear_gaussian_spread, mean_field, mlp_ensemble)
from .cells.norm import BatchNorm, LayerNorm, NormLayerJacobians

# bounds (issue 4)
from .analysis.bounds import (BoundReport, Regime, bound_report, gamma_W, gamma_h, horizon, leaky_bound,
                      pascanu_bound, regime)

# issue 9: remedies for vanishing and exploding gradients
from . import remedies
from .remedies import (BPTTResult, ClipResult, ClosedLoopRNN, EchoStateCheck, FeedbackJacobians,
                       LeakyComparison, PenaltyPath, Readout, RegularizerResult, SpectralControl,
                       TeacherForcingComparison, TruncationResult, bptt_gradient, clip_by_norm,
                       clip_by_value, closed_loop_jacobian, decay_steps_to_vanishing,
                       echo_state_check, fit_readout, leaky_alpha, leaky_comparison, penalty_path,
                       soft_threshold, spectral_control, teacher_forcing_comparison,
                       truncated_bptt_error, vanishing_regularizer)
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
# -- issue 11: sweeps over parameter grids --
from .sweeps import grid
from .sweeps import SweepRecord, SweepResult, load_sweep, process_pool, sweep
# -- end issue 11 --

# performance: thread policy (issue 8)
from ._core.threads import get_threads, set_threads, threads

import sys as _sys

# 0.1 module addresses of modules that moved into subpackages
_sys.modules[__name__ + ".grid"] = grid
_sys.modules[__name__ + ".init"] = init

__version__ = "0.1.0"

_LAZY_MODULES = ("symbolic", "plot", "io", "cli")

__all__ = [
    # bounds (issue 4)
    "gamma_W",
    "gamma_h",
    "pascanu_bound",
    "leaky_bound",
    "horizon",
    "regime",
    "Regime",
    "bound_report",
    "BoundReport",
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
    # issue 5: gated and feedforward cells
    "LSTM",
    "GRU",
    "MLP",
    "LSTMJacobians",
    "GRUJacobians",
    "LayerJacobians",
    "LayerTrajectory",
    # issue 10: deep feedforward nets, normalisation layers, gradient monitor
    "monitor",
    "LayerNorm",
    "BatchNorm",
    "NormLayerJacobians",
    "mlp_ensemble",
    "depth_profile",
    "DepthProfile",
    "depth_spectra",
    "DepthSpectra",
    "SlopeFit",
    "mean_field",
    "MeanField",
    "linear_gaussian_spread",
    # issue 9: remedies for vanishing and exploding gradients
    "remedies",
    "bptt_gradient",
    "BPTTResult",
    "truncated_bptt_error",
    "TruncationResult",
    "clip_by_norm",
    "clip_by_value",
    "ClipResult",
    "vanishing_regularizer",
    "RegularizerResult",
    "penalty_path",
    "PenaltyPath",
    "decay_steps_to_vanishing",
    "spectral_control",
    "SpectralControl",
    "soft_threshold",
    "echo_state_check",
    "EchoStateCheck",
    "fit_readout",
    "Readout",
    "leaky_alpha",
    "leaky_comparison",
    "LeakyComparison",
    "ClosedLoopRNN",
    "FeedbackJacobians",
    "closed_loop_jacobian",
    "teacher_forcing_comparison",
    "TeacherForcingComparison",
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
    # -- issue 11: sweeps over parameter grids --
    "grid",
    "sweep",
    "SweepRecord",
    "SweepResult",
    "load_sweep",
    "process_pool",
    # -- end issue 11 --
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
