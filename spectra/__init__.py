"""spectra: numerical and symbolic analysis of Jacobian spectra in recurrent and deep networks.

Conventions: a step map h_t = F(h_{t-1}, x_t) has step Jacobian
J_t = dh_t/dh_{t-1} in numerator layout; dh_t/dh_k = J_t ... J_{k+1}; the lag
is t - k; logarithms are natural; Lyapunov exponents are per step.

``import spectra`` loads numpy only; the leaves of the layer graph
(:mod:`spectra.remedies`, :mod:`spectra.nonnormal`, :mod:`spectra.sweeps`,
:mod:`spectra.monitor`, :mod:`spectra.symbolic` (sympy), :mod:`spectra.plot`
(matplotlib), :mod:`spectra.io`, :mod:`spectra.cli`) load on first use.  The names below are the most used; everything else lives
in its subpackage (and every name of 0.1 still resolves here).

Cells and runs
--------------
   Cell                   -- the cell protocol: base class of step maps
   ElmanRNN               -- h_t = f(W_hh h_{t-1} + W_hx x_t + b)
   RecurrentFirstRNN      -- h_t = W f(h_{t-1}) + W_in x_t + b (Pascanu et al.)
   LeakyRNN               -- leaky-integrator units
   LSTM                   -- PyTorch-layout LSTM
   GRU                    -- PyTorch-layout GRU
   LRU                    -- the Linear Recurrent Unit (Orvieto et al. 2023)
   Stack                  -- stacked recurrent layers as one cell
   from_torch             -- a cell or Stack from a PyTorch module, state dict or file
   MLP                    -- a feedforward stack as a step map over depth
   LayerNorm              -- layer normalisation
   BatchNorm              -- batch normalisation
   Activation             -- a nonlinearity with its derivatives and sup|f'|
   activation             -- look an activation up by name
   available_activations  -- names of the built-in activations
   register_cell          -- make a cell class known to the CLI and sweeps
   TorchCell              -- any torch step function h_new = step(h, x) as a cell
   JaxCell                -- any jax step function as a cell
   SelectiveSSM           -- Mamba's selective diagonal state-space cell
   MinGRU                 -- minGRU (Feng et al. 2024): gates from the input alone
   MinLSTM                -- minLSTM (Feng et al. 2024)
   ensemble               -- B networks of one form as one cell (a leading network axis)

Jacobians
---------
   Trajectory             -- a run: states and factored step Jacobians
   JacobianSequence       -- abstract sequence of step Jacobians
   DenseJacobians         -- explicit step Jacobians
   ScaledJacobians        -- diag(shift) + diag(row) W diag(col) per step
   DiagonalJacobians      -- diag(d_t) per step (diagonal recurrences)
   as_jacobian_sequence   -- accept a trajectory, sequence or array

Products, spectra and Lyapunov exponents
----------------------------------------
   gradient_norm_profile       -- log ||dh_t/dh_{t-lag}|| for every lag
   NormProfile                 -- its result
   product_log_singular_values -- all log singular values of a long product
   lyapunov_spectrum           -- Lyapunov exponents with standard errors
   LyapunovSpectrum            -- its result
   spectral_norm               -- ||W||_2 (dense, batched or matrix-free)
   spectral_radius             -- max |eigenvalue|
   top_singular_values         -- matrix-free top-k singular values
   step_eigenvalues            -- eigenvalues of every step Jacobian
   step_singular_values        -- singular values of every step Jacobian
   parameter_sensitivity       -- ||dh_t/dtheta|| over time and by lag (curse of memory)
   ParameterSensitivity        -- its result

Bounds (Pascanu, Mikolov & Bengio 2013)
---------------------------------------
   gamma_W                -- ||W_hh||_2
   gamma_h                -- sup |f'|
   pascanu_bound          -- (gamma_W gamma_h)^lag
   leaky_bound            -- the per-step bound of leaky units
   horizon                -- lags until the bound falls below eps
   regime                 -- vanishing guaranteed / exploding possible
   Regime                 -- its result
   bound_report           -- exact norms against classic and trajectory bounds
   BoundReport            -- its result

Deep networks
-------------
   mlp_ensemble           -- random networks at initialisation, run
   depth_profile          -- gradient norms over depth, with standard errors
   DepthProfile           -- its result
   depth_spectra          -- singular values at depth (dynamical isometry)
   DepthSpectra           -- its result
   mean_field             -- mean-field variance and gradient gain chi
   MeanField              -- its result

Theory
------
   recurrent_mean_field   -- mean-field variance and lambda_max of a random RNN
   RecurrentMeanField     -- its result
   edge_of_chaos          -- the critical gain where lambda_max = 0
   jacobian_spectrum      -- free-probability moments of deep Jacobian spectra
   JacobianSpectrum       -- its result
   gaussian_product_lyapunov -- Newman's Lyapunov spectrum of Gaussian products

Remedies
--------
   bptt_gradient          -- BPTT gradient split by lag
   truncated_bptt_error   -- error of truncated BPTT
   clip_by_norm           -- gradient clipping (Pascanu et al., eq. 13)
   vanishing_regularizer  -- the regulariser Omega and its gradient
   echo_state_check       -- the echo-state property
   leaky_comparison       -- leaky against plain units
   teacher_forcing_comparison -- free running against teacher forcing

Non-normality
-------------
   nonnormality           -- departures from normality of a matrix
   transient_growth       -- max_k ||A^k|| and its Kreiss lower bound
   kreiss_constant        -- the Kreiss constant
   pseudospectra          -- epsilon-pseudospectra on a grid
   field_of_values        -- the numerical range

Sweeps, monitoring, threads
---------------------------
   sweep                  -- a function over a parameter grid, resumable
   load_sweep             -- read a sweep's records back
   GradientMonitor        -- watch gradient norms while training
   set_threads            -- the BLAS thread policy
   threads                -- a context with a thread count

Errors
------
   NumericalError         -- a result would overflow, underflow or is not finite
   ConvergenceError       -- an iteration did not converge

Subpackages
-----------
   cells                  -- the cell protocol, registry and built-in cells
   jacobians              -- sequences of step Jacobians and trajectories
   linalg                 -- spectral norms, Krylov kernels, resolvents
   analysis               -- products, Lyapunov spectra, bounds, depth
   nonnormal              -- transient growth, pseudospectra, Kreiss
   remedies               -- remedies for vanishing and exploding gradients
   sweeps                 -- parameter sweeps (grids in spectra.grid)
   monitor                -- gradient monitoring during training
   symbolic               -- exact derivations with sympy (lazy)
   plot                   -- publication figures with matplotlib (lazy)
   io                     -- reading and writing weights (lazy)
   cli                    -- the command line (lazy)
"""

import sys as _sys
from importlib import import_module as _import_module

from ._core.errors import ConvergenceError, NumericalError
from ._core.threads import get_threads, set_threads, threads
from . import cells, jacobians
from .cells import (GRU, LRU, LSTM, MLP, Activation, BatchNorm, Cell, ElmanRNN, JaxCell, LayerNorm,
                    LeakyRNN, RecurrentFirstRNN, Stack, TorchCell, activation,
                    available_activations, from_torch, init,
                    register_cell)
from .cells import MinGRU, MinLSTM, SelectiveSSM
from .cells import ensemble
from .jacobians import (DenseJacobians, JacobianSequence, ScaledJacobians, Trajectory,
                        as_jacobian_sequence)
from .jacobians import DiagonalJacobians
from . import linalg
from .linalg import (spectral_norm, spectral_radius, step_eigenvalues, step_singular_values,
                     top_singular_values)
from . import analysis
from .analysis import (BoundReport, DepthProfile, DepthSpectra, LyapunovSpectrum, MeanField,
                       NormProfile, Regime, bound_report, depth_profile, depth_spectra, gamma_W,
                       gamma_h, gradient_norm_profile, horizon, leaky_bound, lyapunov_spectrum,
                       mean_field, mlp_ensemble, pascanu_bound, product_log_singular_values,
                       regime)
from .analysis import (JacobianSpectrum, RecurrentMeanField, edge_of_chaos,
                       gaussian_product_lyapunov, jacobian_spectrum, recurrent_mean_field)
from .analysis import ParameterSensitivity, parameter_sensitivity
from ._aliases import ALIASES_01 as _ALIASES_01

# Leaves of the layer graph load on first use: nothing below them needs them.
_LAZY_NAMES = {
    "bptt_gradient": "spectra.remedies", "truncated_bptt_error": "spectra.remedies",
    "clip_by_norm": "spectra.remedies", "vanishing_regularizer": "spectra.remedies",
    "echo_state_check": "spectra.remedies", "leaky_comparison": "spectra.remedies",
    "teacher_forcing_comparison": "spectra.remedies",
    "nonnormality": "spectra.nonnormal", "transient_growth": "spectra.nonnormal",
    "kreiss_constant": "spectra.nonnormal", "pseudospectra": "spectra.nonnormal",
    "field_of_values": "spectra.nonnormal",
    "sweep": "spectra.sweeps", "load_sweep": "spectra.sweeps",
    "GradientMonitor": "spectra.monitor",
}

# 0.1 address of a module that moved into a subpackage (spectra.grid has a shim file)
_sys.modules[__name__ + ".init"] = init

__version__ = "0.1.0"

_LAZY_MODULES = ("remedies", "nonnormal", "sweeps", "monitor", "grid", "symbolic", "plot", "io", "cli")

__all__ = [
    # cells and runs
    "Cell", "ElmanRNN", "RecurrentFirstRNN", "LeakyRNN", "LSTM", "GRU", "LRU", "Stack", "from_torch", "MLP", "LayerNorm",
    "BatchNorm", "Activation", "activation", "available_activations", "register_cell",
    "TorchCell", "JaxCell",
    "SelectiveSSM", "MinGRU", "MinLSTM", "ensemble",
    # jacobians
    "Trajectory", "JacobianSequence", "DenseJacobians", "ScaledJacobians", "DiagonalJacobians",
    "as_jacobian_sequence",
    # products, spectra and Lyapunov exponents
    "gradient_norm_profile", "NormProfile", "product_log_singular_values", "lyapunov_spectrum",
    "LyapunovSpectrum", "spectral_norm", "spectral_radius", "top_singular_values",
    "step_eigenvalues", "step_singular_values", "parameter_sensitivity", "ParameterSensitivity",
    # bounds
    "gamma_W", "gamma_h", "pascanu_bound", "leaky_bound", "horizon", "regime", "Regime",
    "bound_report", "BoundReport",
    # deep networks
    "mlp_ensemble", "depth_profile", "DepthProfile", "depth_spectra", "DepthSpectra", "mean_field",
    "MeanField",
    # theory
    "recurrent_mean_field", "RecurrentMeanField", "edge_of_chaos", "jacobian_spectrum",
    "JacobianSpectrum", "gaussian_product_lyapunov",
    # remedies
    "bptt_gradient", "truncated_bptt_error", "clip_by_norm", "vanishing_regularizer",
    "echo_state_check", "leaky_comparison", "teacher_forcing_comparison",
    # non-normality
    "nonnormality", "transient_growth", "kreiss_constant", "pseudospectra", "field_of_values",
    # sweeps, monitoring, threads
    "sweep", "load_sweep", "GradientMonitor", "set_threads", "threads",
    # errors
    "NumericalError", "ConvergenceError",
    # subpackages
    "cells", "jacobians", "linalg", "analysis", "nonnormal", "remedies", "sweeps", "monitor",
    "symbolic", "plot", "io", "cli",
]


def __getattr__(name):
    if name in _LAZY_MODULES:
        module = _import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    target = _ALIASES_01.get(name)
    if target is None and name in _LAZY_NAMES:
        target = (_LAZY_NAMES[name], name)
    if target is not None:   # a name of a lazy subpackage, or a 0.1 name that moved
        module, attr = target
        value = getattr(_import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spectra' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES) | set(_ALIASES_01))
