"""Analyses of Jacobian products: profiles, spectra, Lyapunov exponents, bounds, depth.

Lives here: products and gradient-norm profiles (:mod:`.products`),
Lyapunov spectra (:mod:`.lyapunov`), the bounds of Pascanu et al. and their
horizons (:mod:`.bounds`), depth profiles of feedforward stacks
(:mod:`.deep`) and their mean-field theory (:mod:`.meanfield`); the theory of
random recurrent networks, the edge of chaos and Gaussian products
(:mod:`.theory`), free-probability spectra of deep Jacobians (:mod:`.freeprob`) and
parameter sensitivity through time with the curse of memory (:mod:`.sensitivity`).

May import: numpy, scipy (inside functions), :mod:`spectra._core`,
:mod:`spectra.jacobians`, :mod:`spectra.linalg`, :mod:`spectra.cells`.
Everything here takes a :class:`~spectra.Trajectory`, a
:class:`~spectra.JacobianSequence` or arrays, so a new cell needs no change here.
"""

from .bounds import (BoundReport, Regime, bound_report, format_horizon, gamma_W, gamma_h, horizon,
                     leaky_bound, pascanu_bound, regime)
from .deep import (DepthProfile, DepthSpectra, SlopeFit, depth_profile, depth_spectra, mlp_ensemble)
from .meanfield import MeanField, linear_gaussian_spread, mean_field
from .lyapunov import LyapunovSpectrum, lyapunov_spectrum
from .theory import (RecurrentMeanField, edge_of_chaos, gaussian_expectation,
                     gaussian_product_lyapunov, recurrent_mean_field)
from .freeprob import (JacobianSpectrum, fuss_catalan_density, fuss_catalan_moments,
                       jacobian_spectrum)
from .products import NormProfile, gradient_norm_profile, product_log_singular_values
from .sensitivity import (CurseOfMemory, ParameterSensitivity, curse_of_memory,
                          parameter_sensitivity)

__all__ = [
    "product_log_singular_values", "gradient_norm_profile", "NormProfile",
    "lyapunov_spectrum", "LyapunovSpectrum",
    "gamma_W", "gamma_h", "pascanu_bound", "leaky_bound", "horizon", "regime", "Regime",
    "bound_report", "BoundReport", "format_horizon",
    "mlp_ensemble", "depth_profile", "DepthProfile", "depth_spectra", "DepthSpectra", "SlopeFit",
    "mean_field", "MeanField", "linear_gaussian_spread",
    "recurrent_mean_field", "RecurrentMeanField", "edge_of_chaos", "gaussian_product_lyapunov",
    "gaussian_expectation", "jacobian_spectrum", "JacobianSpectrum", "fuss_catalan_moments",
    "fuss_catalan_density",
    "parameter_sensitivity", "ParameterSensitivity", "curse_of_memory", "CurseOfMemory",
]
