r"""Symbolic layer (sympy): exact gamma_h, proven step Jacobians, bounds, LaTeX.

Loaded on first use of ``spectra.symbolic`` (``import spectra`` does not
import sympy).  It is the independent witness of the numeric layers and the
source of exact statements for papers.  Nothing in the core imports it.

* :func:`gamma_h`, :func:`sup_abs` -- sup over the reals of |f'| (or |h|)
  for any sympy expression: exact when sympy finds every critical point,
  otherwise certified by interval arithmetic (:class:`SupResult`).
* :func:`activation_expr`, :func:`derivative` -- the registry's activations
  as sympy expressions; derivatives with kinks as Piecewise.
* :func:`step_jacobian` -- Elman, recurrent-first, leaky and GRU step
  Jacobians, derived and proven equal to their closed forms
  (:class:`SymbolicJacobian`); :func:`classic_jacobian_check` for the
  textbook W^T diag(f'(h)).
* :func:`gradient_bound`, :func:`leaky_bound`, :func:`horizon`,
  :func:`pascanu_conditions` -- the bounds of Pascanu et al. (2013) as exact
  formulas (:class:`Formula`, :class:`PascanuConditions`).
* Every result has ``.latex``; :func:`paper_latex` prints matrix expressions
  with diag, elementwise f' and Hadamard products.

Examples
--------
>>> import sympy
>>> from spectra import symbolic
>>> x = symbolic.x
>>> r = symbolic.gamma_h(x / (1 + sympy.Abs(x)))
>>> print(r.value, r.latex)
1 \sup_{x \in \mathbb{R}} \left|\frac{d}{d x} \frac{x}{\left|{x}\right| + 1}\right| = 1
"""

from ._bounds import (Formula, PascanuConditions, gradient_bound, horizon, leaky_bound,
                      pascanu_conditions, symbols)
from ._functions import activation_expr, sigmoid, x
from ._jacobians import (CELLS, ClassicJacobianCheck, SymbolicJacobian, classic_jacobian_check,
                         paper_latex, step_jacobian)
from ._sup import SupResult, Supremum, derivative, gamma_h, sup_abs

__all__ = [
    "x",
    "sigmoid",
    "activation_expr",
    "derivative",
    "Supremum",
    "gamma_h",
    "sup_abs",
    "CELLS",
    "SymbolicJacobian",
    "step_jacobian",
    "ClassicJacobianCheck",
    "classic_jacobian_check",
    "paper_latex",
    "Formula",
    "PascanuConditions",
    "gradient_bound",
    "leaky_bound",
    "horizon",
    "pascanu_conditions",
    "symbols",
]
