r"""Structural matrix expressions: the generic activation f, their LaTeX, their explicit form.

The symbolic step Jacobians (:mod:`._jacobians`) and the check of the
textbook Jacobian (:mod:`._classic`) describe a cell once, in matrix symbols
(``a_t = W_hh h_{t-1} + W_hx x_t + b``, ``diag(f'(a_t)) W_hh``).  This module
holds what those descriptions are made of:

* ``f`` and ``fprime``: a generic differentiable activation and its
  derivative (undefined sympy functions, d/du f(u) = f'(u));
* :func:`paper_latex`: the LaTeX printer with paper notation (diag,
  elementwise f', Hadamard products, 1 and I), also used by the bounds;
* ``_explicit``: the explicit sympy Matrix of a structural expression, so
  that what is printed is what is verified; small unevaluated constructors
  (``_add``, ``_mul``, ...) and the proof of a scalar identity (``_is_zero``).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.latex import LatexPrinter

from ._functions import sigmoid

__all__ = ["f", "fprime", "paper_latex"]


# ---------------------------------------------------------------------------------------
# A generic activation f with derivative f'


class fprime(sp.Function):
    """The derivative f' of the generic activation (an undefined function)."""

    def _latex(self, printer, exp=None):
        base = r"f'\left(%s\right)" % printer._print(self.args[0])
        return base if exp is None else r"%s^{%s}" % (base, exp)


class f(sp.Function):
    """A generic differentiable activation; d/du f(u) = f'(u)."""

    def fdiff(self, argindex=1):
        return fprime(self.args[0])


# ---------------------------------------------------------------------------------------
# LaTeX of structural matrix expressions


_FUNCTION_NAMES = {f: "f", fprime: "f'", sp.tanh: r"\tanh", sigmoid: r"\sigma"}


class _PaperLatexPrinter(LatexPrinter):
    """sympy's LaTeX printer with paper notation for diag, elementwise maps, 1 and I."""

    def __init__(self, settings=None):
        super().__init__(dict({"order": "none"}, **(settings or {})))

    def _print_DiagMatrix(self, e):
        return r"\operatorname{diag}\left(%s\right)" % self._print(e.args[0])

    def _print_ElementwiseApplyFunction(self, e):
        fn = e.function
        body = fn.expr if isinstance(fn, sp.Lambda) else None
        head = body.func if body is not None and body.args == fn.variables else fn
        name = _FUNCTION_NAMES.get(head)
        if name is None:
            return super()._print_ElementwiseApplyFunction(e)
        return r"%s\left(%s\right)" % (name, self._print(e.expr))

    # Sums, products and Hadamard products are printed here directly: sympy's own
    # printers ask whether each factor "could extract a minus sign", which evaluates
    # the matrix expression with the assumptions system (seconds for the GRU).
    def _print_MatAdd(self, e):
        out = []
        for i, term in enumerate(e.args):
            negative = isinstance(term, sp.MatMul) and term.args[0] == -1
            if negative:
                rest = term.args[1:]
                term = rest[0] if len(rest) == 1 else sp.MatMul(*rest, evaluate=False)
            text = self._print(term)
            out.append(("- " if negative else "") + text if i == 0 else
                       (" - " if negative else " + ") + text)
        return "".join(out)

    def _print_MatMul(self, e):
        out = []
        for a in e.args:
            if a == -1:
                out.append("-")
                continue
            text = self._print(a)
            if isinstance(a, (sp.MatAdd, sp.Add)):
                text = r"\left(%s\right)" % text
            out.append(text)
        return " ".join(out)

    def _print_HadamardProduct(self, e):
        parts = [self._print(a) for a in e.args]
        parts = [r"\left(%s\right)" % t if isinstance(a, sp.MatAdd) else t for a, t in zip(e.args, parts)]
        return r" \circ ".join(parts)

    def _print_HadamardPower(self, e):
        base = self._print(e.base)
        if isinstance(e.base, sp.MatAdd):
            base = r"\left(%s\right)" % base
        return r"%s^{\circ %s}" % (base, self._print(e.exp))

    def _print_OneMatrix(self, e):
        return r"\mathbf{1}"

    def _print_Identity(self, e):
        return "I"


def paper_latex(expr) -> str:
    r"""LaTeX of a sympy expression with the notation of the symbolic module.

    ``DiagMatrix(v)`` prints as ``\operatorname{diag}(v)``, an elementwise f'
    as ``f'(a_t)``, ``OneMatrix`` as ``\mathbf{1}``, ``Identity`` as ``I``;
    sums keep their order.

    Parameters
    ----------
    expr : sympy.Basic
        A scalar or matrix expression.

    Returns
    -------
    str

    Examples
    --------
    >>> import sympy
    >>> from spectra import symbolic
    >>> print(symbolic.paper_latex(symbolic.step_jacobian("recurrent_first", 2).closed_form))
    W \operatorname{diag}\left(f'\left(h_{t-1}\right)\right)
    >>> W = sympy.MatrixSymbol("W", 2, 2)
    >>> print(symbolic.paper_latex(sympy.MatAdd(W, sympy.Identity(2), evaluate=False)))
    W + I
    """
    return _PaperLatexPrinter().doprint(expr)


# ---------------------------------------------------------------------------------------
# Explicit evaluation of structural matrix expressions


def _explicit(e, env):
    """The explicit sympy Matrix of a structural matrix expression, symbols from ``env``."""
    if e in env:
        return env[e]
    if isinstance(e, sp.MatrixSymbol):
        raise KeyError(f"no definition for {e}")
    if isinstance(e, sp.MatAdd):
        parts = [_explicit(a, env) for a in e.args]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out
    if isinstance(e, sp.MatMul):
        coeff = sp.S.One
        out = None
        for a in e.args:
            if a.is_Matrix or isinstance(a, sp.MatrixExpr):
                m = _explicit(a, env)
                out = m if out is None else out * m
            else:
                coeff *= a.xreplace({k: v for k, v in env.items() if not isinstance(k, sp.MatrixExpr)})
        return coeff * out
    if isinstance(e, DiagMatrix):
        return sp.diag(*list(_explicit(e.args[0], env)))
    if isinstance(e, sp.HadamardProduct):
        parts = [_explicit(a, env) for a in e.args]
        out = parts[0]
        for p in parts[1:]:
            out = out.multiply_elementwise(p)
        return out
    if isinstance(e, sp.HadamardPower):
        base = _explicit(e.base, env)
        return base.applyfunc(lambda v: v ** e.exp)
    if isinstance(e, ElementwiseApplyFunction):
        return _explicit(e.expr, env).applyfunc(e.function)
    if isinstance(e, sp.OneMatrix):
        return sp.ones(*e.shape)
    if isinstance(e, sp.Identity):
        return sp.eye(e.rows)
    if isinstance(e, sp.ZeroMatrix):
        return sp.zeros(*e.shape)
    if isinstance(e, sp.Transpose):
        return _explicit(e.args[0], env).T
    raise TypeError(f"cannot make {type(e).__name__} explicit")


def _add(*args):
    return sp.MatAdd(*args, evaluate=False)


def _mul(*args):
    return sp.MatMul(*args, evaluate=False)


def _sub(a, b):
    return sp.MatAdd(a, sp.MatMul(-1, b, evaluate=False), evaluate=False)


def _had(*args):
    return sp.HadamardProduct(*args, evaluate=False)


def _apply(fn, v):
    u = sp.Dummy("u")
    return ElementwiseApplyFunction(sp.Lambda(u, fn(u)), v)


def _is_zero(e):
    """Prove that the scalar expression e is identically 0."""
    e = sp.expand(e)
    if e == 0:
        return True
    if e.has(sp.Piecewise):
        e = sp.piecewise_fold(e)
        if isinstance(e, sp.Piecewise):
            return all(_is_zero(piece) for piece, _ in e.args)
    return sp.simplify(e) == 0
