r"""Symbolic layer (sympy): exact gamma_h, proven step Jacobians, bounds, LaTeX.

Loaded on first use of ``spectra.symbolic``: ``import spectra`` never imports
sympy (the package loads this module lazily).  It is the independent witness
of the numeric layers and the source of exact statements for papers.
Nothing in the core imports it.

What lives here:

* :func:`gamma_h`, :func:`sup_abs` -- sup over the reals of ``|f'|`` (or ``|h|``)
  for any sympy expression: exact when sympy finds every critical point,
  otherwise certified by interval arithmetic (:class:`Supremum`, formerly
  ``SupResult``, which remains an alias).  Modules: ``_sup`` (the exact
  path and assembly), ``_pieces`` (the line cut into smooth pieces, exact
  limits), ``_certify`` (the interval certification), ``_interval`` (the
  interval evaluator of sympy expressions).
* :func:`activation_expr`, :func:`derivative` -- the registry's activations
  as sympy expressions (``_functions``, names and defaults read through
  :func:`spectra.cells.activations.activation_spec`); derivatives with
  kinks as Piecewise.
* :func:`step_jacobian` -- step Jacobians of the registered cells that have
  a symbolic derivation (:data:`CELLS`: Elman, recurrent-first, leaky and
  GRU; names from the one cell registry, :mod:`spectra.cells.registry`),
  derived and proven equal to their closed forms (:class:`SymbolicJacobian`,
  ``_jacobians``); :func:`classic_jacobian_check` for the textbook
  W^T diag(f'(h)) (:class:`ClassicJacobianCheck`, ``_classic``).
* :func:`gradient_bound`, :func:`leaky_bound`, :func:`horizon`,
  :func:`pascanu_conditions` -- the bounds of Pascanu et al. (2013) as exact
  formulas (:class:`Formula`, :class:`PascanuConditions`, ``_bounds``).
* Every result is a :class:`spectra._core.results.Result` (``to_dict()``,
  short repr, ``summary()``) and has ``.latex``; :func:`paper_latex`
  prints matrix expressions with diag, elementwise f' and Hadamard products
  (``_structural``, with the generic activation f and f').

May import: sympy and mpmath, numpy, :mod:`spectra._core`,
:mod:`spectra.cells` and :mod:`spectra.analysis`.  Only public
(non-underscore) names are imported from those subpackages.

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
from ._classic import ClassicJacobianCheck, classic_jacobian_check
from ._jacobians import CELLS, SymbolicJacobian, step_jacobian
from ._structural import paper_latex
from ._sup import SupResult, Supremum, UndecidableError, derivative, gamma_h, sup_abs  # noqa: F401 (SupResult: 0.1 name)

__all__ = [
    "x",
    "sigmoid",
    "activation_expr",
    "derivative",
    "Supremum",
    "gamma_h",
    "sup_abs",
    "UndecidableError",
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
