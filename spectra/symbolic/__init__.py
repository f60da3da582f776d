"""Symbolic layer (sympy): exact derivatives and gamma_h, symbolic Jacobians, bounds, LaTeX.

Loaded on first use of ``spectra.symbolic`` (``import spectra`` does not
import sympy).  It is the independent witness of the numeric layers and the
source of exact statements for papers.
"""

from ._functions import activation_expr, sigmoid, x
from ._sup import SupResult, derivative, gamma_h, sup_abs

__all__ = [
    "x",
    "sigmoid",
    "activation_expr",
    "SupResult",
    "gamma_h",
    "sup_abs",
    "derivative",
]
from ._jacobians import (CELLS, ClassicJacobianCheck, SymbolicJacobian, classic_jacobian_check,
                         paper_latex, step_jacobian)

__all__ += [
    "CELLS",
    "SymbolicJacobian",
    "step_jacobian",
    "ClassicJacobianCheck",
    "classic_jacobian_check",
    "paper_latex",
]
from ._bounds import (Formula, PascanuConditions, gradient_bound, horizon, leaky_bound,
                      pascanu_conditions, symbols)

__all__ += [
    "Formula",
    "PascanuConditions",
    "gradient_bound",
    "leaky_bound",
    "horizon",
    "pascanu_conditions",
    "symbols",
]
