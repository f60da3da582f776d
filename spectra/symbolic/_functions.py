"""Sympy expressions of the activation functions of the numeric registry.

Every name of :func:`spectra.available_activations` maps to a sympy
expression in one real variable, with the same parameters and defaults as
the numeric :func:`spectra.activation` (names, aliases and defaults are read
from the numeric registry through
:func:`spectra.cells.activations.activation_spec`, so the two cannot drift
apart).
"""

from __future__ import annotations

import fractions
import numbers

import numpy as np
import sympy as sp

from ..cells.activations import Activation, activation_spec
from ..cells.activations import activation as _numeric_activation
from .._core.validation import describe

__all__ = ["x", "sigmoid", "activation_expr", "exact_number"]

#: The real variable of :func:`activation_expr`.
_X = sp.Symbol("x", real=True)
x = _X


def _np_logistic(u):
    u = np.asarray(u, dtype=float)
    e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class sigmoid(sp.Function):
    r"""The logistic function sigma(u) = 1 / (1 + exp(-u)), with sigma' = sigma (1 - sigma).

    Used for the gates of the GRU, where its derivative rule keeps the
    symbolic Jacobians small.  It prints as ``\sigma`` in LaTeX, lambdifies
    to an overflow-free numpy kernel, and rewrites to exp with
    ``.rewrite(sympy.exp)``.

    Examples
    --------
    >>> import sympy
    >>> from spectra.symbolic import sigmoid, x
    >>> sympy.diff(sigmoid(x), x)
    (1 - sigmoid(x))*sigmoid(x)
    >>> sigmoid(0)
    1/2
    """

    _imp_ = staticmethod(_np_logistic)

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sp.S.Half
        if arg is sp.oo:
            return sp.S.One
        if arg is sp.S.NegativeInfinity:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sp.exp(-arg))

    def _spectra_exp_form(self):
        return 1 / (1 + sp.exp(-self.args[0]))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_extended_real:
            return True

    def _eval_evalf(self, prec):
        return self._spectra_exp_form()._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        arg = printer._print(self.args[0])
        base = r"\sigma\left(%s\right)" % arg
        return base if exp is None else r"%s^{%s}" % (base, exp)


def exact_number(value, name):
    """A sympy number from an int, float, Fraction or sympy expression.

    Floats are read as the decimal they print as (``0.1`` -> 1/10), so that
    parameters typed by a user give the exact rational they meant.
    """
    if isinstance(value, sp.Basic):
        if not isinstance(value, sp.Expr):
            raise TypeError(f"`{name}` must be a number or a sympy expression; got {describe(value)}")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number or a sympy expression; got {describe(value)}")
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    if isinstance(value, fractions.Fraction):
        return sp.Rational(value.numerator, value.denominator)
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value}")
    return sp.Rational(repr(value))


# name -> builder(x, **params); parameter names and defaults match the numeric registry
def _leaky_relu(u, slope):
    return sp.Piecewise((u, u > 0), (slope * u, True))


def _softplus(u, beta):
    return sp.log(1 + sp.exp(beta * u)) / beta


def _elu(u, alpha):
    return sp.Piecewise((u, u > 0), (alpha * (sp.exp(u) - 1), True))


def _hard_tanh(u, min_val, max_val):
    return sp.Min(sp.Max(u, min_val), max_val)


_EXPRESSIONS = {
    "tanh": lambda u: sp.tanh(u),
    "sigmoid": lambda u: 1 / (1 + sp.exp(-u)),
    "relu": lambda u: sp.Max(0, u),
    "leaky_relu": _leaky_relu,
    "identity": lambda u: u,
    "softplus": _softplus,
    "elu": _elu,
    "hard_tanh": _hard_tanh,
    "silu": lambda u: u / (1 + sp.exp(-u)),
    "gelu": lambda u: u * (1 + sp.erf(u / sp.sqrt(2))) / 2,
}


def activation_expr(name, *, x=None, **params) -> sp.Expr:
    """The sympy expression of a registry activation, f(x).

    Parameters
    ----------
    name : str or Activation
        A name of :func:`spectra.available_activations` (aliases accepted,
        as in :func:`spectra.activation`), or a numeric :class:`Activation`
        whose name and parameters are used.
    x : sympy.Symbol, optional
        The variable (default: the real symbol :data:`spectra.symbolic.x`).
    **params
        As for :func:`spectra.activation`: ``leaky_relu(slope=0.01)``,
        ``softplus(beta=1)``, ``elu(alpha=1)``,
        ``hard_tanh(min_val=-1, max_val=1)``.  Numbers are made exact
        (floats are read as the decimal they print as: 0.01 -> 1/100); sympy
        symbols are kept, for formulas with a symbolic parameter.

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> from spectra import symbolic
    >>> symbolic.activation_expr("elu", alpha=1.5)
    Piecewise((x, x > 0), (3*exp(x)/2 - 3/2, True))
    >>> symbolic.activation_expr("sigmoid")
    1/(1 + exp(-x))
    """
    return registry_expr(name, x, params, "name")


def registry_expr(name, x, params, argname):
    """:func:`activation_expr` for a caller whose argument is called ``argname``."""
    if isinstance(name, Activation):
        if params:
            raise TypeError("parameters cannot be combined with an Activation; pass its name instead")
        params = name.kwargs
        name = name.name
    if not isinstance(name, str):
        raise TypeError(f"`{argname}` must be an activation name (str) or an Activation; "
                        f"got {describe(name)}")
    try:
        key, given = activation_spec(name, **params)   # aliases resolved, defaults filled in
    except ValueError:
        raise ValueError(f"`{argname}` must be one of {sorted(_EXPRESSIONS)}; got {name!r}") from None
    if key not in _EXPRESSIONS:
        raise ValueError(f"`{argname}` must be one of {sorted(_EXPRESSIONS)}; got {name!r}")
    if x is None:
        x = _X
    if not isinstance(x, sp.Symbol):
        raise TypeError(f"`x` must be a sympy Symbol; got {describe(x)}")
    values = {k: exact_number(v, k) for k, v in given.items()}
    numeric = {k: float(v) for k, v in values.items() if v.is_number}
    if len(numeric) == len(values):
        _numeric_activation(key, **numeric)  # the numeric registry validates the values
    return _EXPRESSIONS[key](x, **values)
