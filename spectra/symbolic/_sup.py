r"""Exact and certified suprema: gamma_h = sup_x |f'(x)| of any sympy expression.

The algorithm (:func:`gamma_h`, :func:`sup_abs`):

1. Abs, Max, Min, sign, Heaviside and Piecewise are rewritten as one
   top-level Piecewise; its pieces live on intervals.  The points where f is
   undefined (zeros of denominators, ...) split the intervals further.  At
   every break point f must be continuous: a jump makes a one-sided
   difference quotient unbounded, and gamma_h = oo.
2. On each open piece (a, b), where the function h (= f' for gamma_h) is
   smooth, sup |h| is the largest of |h| at the critical points (h' = 0)
   and of the one-sided limits of |h| at a and b (``sympy.limit``; at a
   kink these are the one-sided derivatives of f).  An infinite limit gives
   oo.  A periodic h (sin) is reduced to one period.
3. When ``solveset`` returns the critical points in closed form, the answer
   is exact (status ``"exact"``).  Otherwise (silu: x tanh(x/2) = 2 is
   transcendental) the critical points are isolated numerically at 60
   digits and the supremum is certified by interval arithmetic: a lower
   bound from a rigorous evaluation at the best point, an upper bound from
   a branch-and-bound over a window [-X, X] (natural and mean-value interval
   extensions), and, beyond the window, a proof that h is monotone (the
   sign of h' on [X, oo), by interval arithmetic and, factor by factor, by
   monotonicity and the exact limit at infinity).  The result has status
   ``"certified"`` with a bracket [lo, hi] of relative width below 1e-19.
   If the tails cannot be proven, the status is ``"numerical"`` and
   ``proven_on`` says where the bracket is rigorous.

What is trusted: sympy's ``solveset`` (complete solution sets), ``limit``
and ``periodicity``; mpmath's interval arithmetic and the accuracy of
mpmath's ``erf``, ``erfc``, ``atan`` (see :mod:`._interval`).

Where the steps live: step 1 and the exact helpers in :mod:`._pieces`,
step 2 and the assembly here, the interval certification of step 3 in
:mod:`._certify` (on top of the interval evaluator :mod:`._interval`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import sympy as sp
from mpmath.libmp import mpf_pos, round_ceiling, round_floor
from sympy.calculus.util import periodicity

from .._core.errors import NumericalError
from .._core.results import Result, to_jsonable
from .._core.validation import check_int, describe
from ._certify import _certify
from ._functions import registry_expr, x as _X
from ._interval import IntervalContext
from ._pieces import (_MP, _PREC, _abs_exact, _decompose, _exact_sup, _float_key, _limit,
                      _piecewise, _PieceSup, _real_variable, _tidy, _undefined_points, _undetermined)

__all__ = ["Supremum", "gamma_h", "sup_abs", "derivative", "UndecidableError"]


class UndecidableError(NumericalError, NotImplementedError):
    """sympy and the interval certification cannot decide a supremum.

    Raised by :func:`gamma_h` and :func:`sup_abs` (for example for f' without
    a limit at a singular point, as ``sin(1/x)``).  A :class:`spectra.NumericalError`,
    and a ``NotImplementedError`` for code written against spectra 0.1.

    Examples
    --------
    >>> import sympy
    >>> from spectra import symbolic
    >>> try:
    ...     symbolic.gamma_h(sympy.sin(1 / symbolic.x))
    ... except symbolic.UndecidableError as exc:
    ...     print("undecidable:", "no limit" in str(exc))
    undecidable: True
    """


def _decided(kind):
    def wrap(expr, x):
        try:
            return _sup_cached(*_prepare(expr, x), kind)
        except UndecidableError:
            raise
        except NotImplementedError as exc:
            raise UndecidableError(str(exc)) from exc
    return wrap

STATUSES = ("exact", "certified", "numerical")

_TAIL_ATTEMPTS = 6             # window extensions by 16x before a tail counts as unproven


@dataclass(frozen=True, repr=False)
class Supremum(Result):
    r"""The supremum over the real line of ``|h|``, with how it was established.

    Returned by :func:`gamma_h` and :func:`sup_abs`.  (Called ``SupResult``
    in 0.1; that name remains an alias.)

    Attributes
    ----------
    value : sympy.Expr
        The supremum: exact (``1``, ``1/4``, ``oo``), or for the statuses
        ``"certified"`` and ``"numerical"`` a ``sympy.Float`` of at least 20
        significant digits, inside ``bracket``.
    status : {"exact", "certified", "numerical"}
        ``"exact"``: closed form, from all critical points (sympy
        ``solveset``) and exact limits.  ``"certified"``: the supremum lies
        in ``bracket`` (relative width < 1e-19), proven by interval
        arithmetic over the whole real line.  ``"numerical"``: ``bracket`` is
        rigorous on ``proven_on`` only (the tails could not be proven).
    bracket : tuple of two sympy numbers
        ``(lo, hi)`` with ``lo <= sup <= hi``; ``(value, value)`` when exact.
    attained : bool
        Whether the supremum is a maximum (at a kink: as a one-sided
        derivative).  False when it is only approached (softplus: at +oo).
    argmax : sympy.Expr or None
        A point where it is attained, or the point (possibly ``oo`` or
        ``-oo``) it is approached at; None when |h| is constant.
    expr : sympy.Expr
        The expression analysed (f for :func:`gamma_h`).
    function : sympy.Expr
        The function whose absolute value is bounded (f', piecewise where f
        has kinks, for :func:`gamma_h`).
    x : sympy.Symbol
        The variable.
    proven_on : sympy.Set
        Where ``bracket`` is proven (the real line unless ``"numerical"``).
    note : str
        How the value was obtained.
    kind : {"gamma_h", "sup_abs"}
        Which quantity this is (used by :attr:`latex`).

    Examples
    --------
    >>> import sympy
    >>> from spectra import symbolic
    >>> x = sympy.Symbol("x", real=True)
    >>> r = symbolic.gamma_h(x / (1 + sympy.Abs(x)), x)
    >>> r.value, r.status, r.argmax
    (1, 'exact', 0)
    >>> print(r.latex)
    \sup_{x \in \mathbb{R}} \left|\frac{d}{d x} \frac{x}{\left|{x}\right| + 1}\right| = 1
    >>> d = r.to_dict()
    >>> d["value"], d["value_exact"], d["bracket"]
    (1.0, '1', [1.0, 1.0])
    """

    value: sp.Expr
    status: str
    bracket: tuple
    attained: bool
    argmax: object
    expr: sp.Expr
    function: sp.Expr
    x: sp.Symbol
    proven_on: sp.Set = field(default=sp.S.Reals)
    note: str = ""
    kind: str = "gamma_h"

    def __float__(self) -> float:
        return float(self.value)

    @property
    def is_exact(self) -> bool:
        return self.status == "exact"

    @property
    def latex(self) -> str:
        """The statement for a paper, e.g. ``\\sup_{x \\in \\mathbb{R}} |d/dx tanh(x)| = 1``."""
        if self.kind == "gamma_h":
            inner = sp.latex(sp.Derivative(self.expr, self.x))
        else:
            inner = sp.latex(self.expr)
        lhs = r"\sup_{%s \in \mathbb{R}} \left|%s\right|" % (sp.latex(self.x), inner)
        if self.status == "exact":
            return f"{lhs} = {sp.latex(self.value)}"
        return rf"{lhs} \approx {sp.latex(sp.Float(self.value, 16))}"

    def to_dict(self) -> dict:
        """The fields as strict JSON: numbers as floats (``"inf"`` for oo), sympy
        expressions as strings (``value_exact``, ``bracket_exact``), plus ``latex``."""
        lo, hi = self.bracket
        return to_jsonable({
            "value": float(self.value),
            "value_exact": str(self.value) if self.status == "exact" else None,
            "status": self.status,
            "bracket": [float(lo), float(hi)],
            "bracket_exact": [str(lo), str(hi)],
            "attained": bool(self.attained),
            "argmax": None if self.argmax is None else str(self.argmax),
            "expr": str(self.expr),
            "function": str(self.function),
            "x": str(self.x),
            "proven_on": str(self.proven_on),
            "note": self.note,
            "kind": self.kind,
            "latex": self.latex,
        })


#: The 0.1 name of :class:`Supremum`.
SupResult = Supremum


# ---------------------------------------------------------------------------------------
# Public functions


def gamma_h(expr, x=None) -> Supremum:
    r"""gamma_h = sup over real x of ``|f'(x)|``, exactly when sympy can, else certified.

    Parameters
    ----------
    expr : sympy.Expr, sympy.Lambda, str or Activation
        f, an expression in one real variable.  May contain Abs, Max, Min,
        sign, Heaviside and Piecewise; at their kinks the one-sided
        derivatives count.  A name of the numeric registry (``"silu"``) or
        a numeric :class:`~spectra.Activation` is looked up with
        :func:`activation_expr`; any other string is parsed as a formula in
        x (``"x/(1+abs(x))"``).
    x : sympy.Symbol, optional
        The variable; by default the only free symbol of ``expr``.  The
        supremum is over all real x, whatever assumptions x carries.

    Returns
    -------
    Supremum
        With ``kind="gamma_h"`` and ``function`` = f'.

    Raises
    ------
    ValueError
        If f has other free symbols, or is undefined on an interval, or a
        string is neither an activation name nor a formula.
    UndecidableError
        If f' has no limit at +-oo and is not periodic, or its critical
        points form an infinite set sympy cannot reduce.

    Notes
    -----
    gamma_h is the constant of the gradient bound
    ``||dh_t/dh_k||_2 <= (gamma_W gamma_h)^(t-k)`` (Pascanu et al. 2013).
    For a continuous, piecewise-smooth f it is the Lipschitz constant of f;
    a jump gives oo.  See the module docstring for the algorithm and what
    is trusted.

    Examples
    --------
    >>> import sympy
    >>> from spectra import symbolic
    >>> x = symbolic.x
    >>> symbolic.gamma_h(sympy.tanh(x)).value
    1
    >>> symbolic.gamma_h(1 / (1 + sympy.exp(-x))).value
    1/4
    >>> r = symbolic.gamma_h(sympy.log(1 + sympy.exp(x)))   # softplus
    >>> r.value, r.attained, r.argmax
    (1, False, oo)
    >>> r = symbolic.gamma_h("silu")
    >>> r.status, round(float(r.value), 12)
    ('certified', 1.099839320129)
    """
    return _decided("gamma_h")(expr, x)


def sup_abs(expr, x=None) -> Supremum:
    r"""sup over real x of ``|h(x)|`` for a sympy expression h in one variable.

    The same machinery as :func:`gamma_h` (which is ``sup_abs`` of f', with
    the continuity check of f at its break points); h may be discontinuous.

    Examples
    --------
    >>> import sympy
    >>> from spectra import symbolic
    >>> x = symbolic.x
    >>> r = symbolic.sup_abs(x * sympy.exp(-x**2))
    >>> r.value, r.argmax
    (sqrt(2)*exp(-1/2)/2, -sqrt(2)/2)
    """
    return _decided("sup_abs")(expr, x)


def derivative(expr, x=None, n: int = 1):
    """The n-th derivative of f, with Abs/Max/Min/sign/Heaviside as Piecewise.

    sympy differentiates Abs(x) to sign(x) and Max(0, x) to Heaviside(x);
    here kinks become explicit pieces, so the result can be analysed and
    lambdified.  At a break point the value is that of the piece whose
    condition holds there (a one-sided derivative).

    Examples
    --------
    >>> import sympy
    >>> from spectra import symbolic
    >>> symbolic.derivative(sympy.Max(0, symbolic.x))
    Piecewise((0, x <= 0), (1, True))
    """
    n = check_int(n, "n", minimum=0)
    expr, x = _prepare(expr, x)
    f, xr = _real_variable(expr, x)
    d = _piecewise(f)
    for _ in range(n):
        d = sp.piecewise_fold(sp.diff(d, xr))
    return d.subs(xr, x)


# ---------------------------------------------------------------------------------------
# Preparation and decomposition


def _is_registry_name(s):
    from ..cells.activations import activation_spec

    try:
        activation_spec(s)
    except (ValueError, TypeError):
        return False
    return True


def _parse(text):
    """A formula such as ``"x/(1+abs(x))"`` as a sympy expression in the real symbol x."""
    from sympy.parsing.sympy_parser import parse_expr

    from ..cells.activations import available_activations

    why = "other symbols than x"
    try:
        expr = parse_expr(text, local_dict={"x": _X, "abs": sp.Abs}, evaluate=True)
    except Exception as exc:  # SyntaxError, TokenError, SympifyError, ...: all mean "not a formula"
        expr, why = None, type(exc).__name__
    if isinstance(expr, sp.Expr) and expr.free_symbols <= {_X} and not expr.atoms(sp.core.function.AppliedUndef):
        return expr
    raise ValueError(f"`expr` must be an activation name ({', '.join(available_activations())}) "
                     f"or a formula in x sympy can parse, such as 'x/(1+abs(x))'; got {text!r} "
                     f"({why})")


def _prepare(expr, x):
    """Validate; return (expr, x) with expr a sympy expression in the one symbol x."""
    from ..cells.activations import Activation

    if isinstance(expr, str) and not _is_registry_name(expr):
        expr = _parse(expr)
    elif isinstance(expr, (str, Activation)):
        expr = registry_expr(expr, None, {}, "expr")
    if isinstance(expr, sp.Lambda):
        if len(expr.variables) != 1:
            raise ValueError(f"`expr` must be a function of one variable; got a Lambda of "
                             f"{len(expr.variables)}")
        if x is None:
            x = expr.variables[0]
        expr = expr(x)
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        expr = sp.sympify(expr)
    if not isinstance(expr, sp.Expr):
        raise TypeError(f"`expr` must be a sympy expression, a Lambda, an activation name or an "
                        f"Activation; got {describe(expr)}")
    free = expr.free_symbols
    if x is None:
        if len(free) > 1:
            raise ValueError(f"`expr` must depend on one variable; it has {sorted(map(str, free))}: "
                             f"pass `x` and substitute numbers for the others")
        x = next(iter(free)) if free else sp.Symbol("x", real=True)
    if not isinstance(x, sp.Symbol):
        raise TypeError(f"`x` must be a sympy Symbol; got {describe(x)}")
    others = free - {x}
    if others:
        raise ValueError(f"`expr` must depend on `x` = {x} only; it also has "
                         f"{sorted(map(str, others))}: substitute numbers for them")
    if expr.has(sp.I, sp.zoo, sp.nan):
        raise ValueError(f"`expr` must be a real expression; got {expr}")
    return expr, x


# ---------------------------------------------------------------------------------------
# One piece


def _piece_sup(h, x, a, b, attain_a, attain_b, ctx):
    # split further where h itself is undefined (f defined but f' singular inside)
    if h.has(x):
        cuts = _undefined_points(h, x, sp.Interval.open(a, b))
        if cuts:
            ends = [a] + cuts + [b]
            flags = [attain_a] + [False] * len(cuts) + [attain_b]
            parts = [_piece_sup(h, x, lo, hi, fa, fb, ctx)
                     for lo, hi, fa, fb in zip(ends[:-1], ends[1:], flags[:-1], flags[1:])]
            return _combine(parts)
    if not h.has(x):
        v = _abs_exact(h)
        point = _representative(a, b)
        return _exact_sup(v, point, True, "constant")
    la = _limit(h, x, a, "+")
    lb = _limit(h, x, b, "-")
    periodic = None
    if _undetermined(la) or _undetermined(lb):
        if a is sp.S.NegativeInfinity and b is sp.oo:
            periodic = periodicity(h, x)
        if periodic is None or periodic is sp.S.Zero:
            raise NotImplementedError(
                f"{h} has no limit at {a if _undetermined(la) else b} and is not periodic; "
                f"the supremum of its absolute value cannot be decided")
        a, b = sp.S.Zero, periodic
        la, lb = h.subs(x, a), h.subs(x, b)
        attain_a = attain_b = True
    for lim, end in ((la, a), (lb, b)):
        if lim.is_infinite or lim in (sp.oo, sp.S.NegativeInfinity, sp.zoo):
            return _PieceSup("exact", _MP.inf, _MP.inf, sp.oo, end, False,
                             note=f"unbounded near {end}")
    crit = _critical_points(h, x, a, b)
    if crit is not None:
        cands = [(_abs_exact(la), a, attain_a and a.is_finite),
                 (_abs_exact(lb), b, attain_b and b.is_finite)]
        cands += [(_abs_exact(h.subs(x, c)), c, True) for c in crit]
        best = max(cands, key=lambda t: (_float_key(t[0]), t[2]))
        note = "critical points by solveset" + (f" on one period [0, {periodic}]" if periodic else "")
        return _exact_sup(_tidy(best[0]), best[1], best[2], note)
    return _certify(h, x, a, b, la, lb, attain_a, attain_b, ctx, tail_attempts=_TAIL_ATTEMPTS)


def _representative(a, b):
    """A point inside (a, b)."""
    if a.is_finite and b.is_finite:
        return (a + b) / 2
    if a.is_finite:
        return a + 1
    if b.is_finite:
        return b - 1
    return sp.S.Zero


def _critical_points(h, x, a, b):
    """Closed-form critical points of h in (a, b), or None when sympy cannot list them.

    h' is put over a common denominator and each factor of the numerator is
    solved on its own: solveset is much faster on ``exp(16 x / 5) - 1`` than
    on the whole expression, whose exponentials it would turn into a
    polynomial of degree 16.
    """
    num, _ = sp.together(sp.diff(h, x)).as_numer_denom()
    points = set()
    for fac in sp.Mul.make_args(sp.factor_terms(num)):
        if isinstance(fac, sp.Pow) and fac.exp.is_positive:
            fac = fac.base
        if not fac.has(x) or isinstance(fac, sp.exp):
            continue
        try:
            sol = sp.solveset(fac, x, sp.Interval.open(a, b))
        except (NotImplementedError, ValueError, TypeError):
            return None
        if sol is sp.S.EmptySet:
            continue
        if not isinstance(sol, sp.FiniteSet):
            return None
        if any(p.free_symbols or not p.is_real for p in sol):
            return None
        points.update(sol)
    return sorted(points, key=lambda p: float(p))


def _combine(parts):
    """Supremum over a union of pieces."""
    for p in parts:
        if p.value is sp.oo:
            return p
    winner = max(parts, key=lambda p: (p.lo, p.status == "exact", p.attained))
    hi = max(p.hi for p in parts)
    statuses = {p.status for p in parts}
    proven = sp.Intersection(*[p.proven_on for p in parts]) if len(parts) > 1 else parts[0].proven_on
    notes = "; ".join(sorted({p.note for p in parts if p.note}))
    if winner.status == "exact" and all(
            (p is winner) or (p.status == "exact" and p.hi <= winner.lo) or p.hi < winner.lo
            for p in parts):
        return _PieceSup("exact", winner.lo, winner.lo, winner.value, winner.point, winner.attained,
                         note=notes)
    status = "numerical" if "numerical" in statuses else "certified"
    return _PieceSup(status, winner.lo, hi, None, winner.point, winner.attained, proven, notes)


# ---------------------------------------------------------------------------------------
# Assembly


@functools.lru_cache(maxsize=256)
def _sup_cached(expr, xu, kind):
    f, xr = _real_variable(expr, xu)
    ctx = IntervalContext(_PREC, mp=_MP)
    pieces, jump = _decompose(f, xr, require_continuity=(kind == "gamma_h"))
    fp = _piecewise(f)
    function = (sp.piecewise_fold(sp.diff(fp, xr)) if kind == "gamma_h" else fp).subs(xr, xu)
    common = dict(expr=expr, function=function, x=xu, kind=kind)
    if jump is not None:
        return Supremum(sp.oo, "exact", (sp.oo, sp.oo), False, jump, **common,
                         note=f"f jumps at x = {jump}: a one-sided difference quotient is unbounded")
    parts = []
    for p in pieces:
        h = sp.diff(p.h, xr) if kind == "gamma_h" else p.h
        parts.append(_piece_sup(h, xr, p.a, p.b, p.attain_a, p.attain_b, ctx))
    res = _combine(parts)
    if res.value is sp.oo:
        return Supremum(sp.oo, "exact", (sp.oo, sp.oo), False, res.point, **common, note=res.note)
    if res.status == "exact":
        return Supremum(res.value, "exact", (res.value, res.value), res.attained, res.point,
                         **common, note=res.note)
    lo = _round_float(res.lo, round_floor)
    hi = _round_float(res.hi, round_ceiling)
    mid = _value_inside(res.lo, res.hi)
    proven = sp.S.Reals if res.status == "certified" else res.proven_on
    return Supremum(mid, res.status, (lo, hi), res.attained, res.point, **common,
                     proven_on=proven, note=res.note)


def _value_inside(lo, hi):
    """The midpoint of [lo, hi] with the fewest decimal digits (at least 20) such that
    both the decimal and its binary Float lie inside."""
    mid = (lo + hi) / 2
    for digits in range(20, 61):
        text = _MP.nstr(mid, digits, strip_zeros=False)
        v = sp.Float(text, digits)
        if lo <= _MP.mpf(text) <= hi and lo <= _MP.mpf(v._mpf_) <= hi:
            return v
    return sp.Float(_MP.nstr(mid, 60), 60)


def _round_float(m, rounding, digits=30):
    """m as a sympy Float of ``digits`` digits, rounded in the given direction (outward
    rounding keeps a bracket rigorous)."""
    bits = int(digits * 3.3219280948873626) + 1
    return sp.Float._new(mpf_pos(m._mpf_, bits, rounding), bits)