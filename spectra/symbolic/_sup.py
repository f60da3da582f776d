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
"""

from __future__ import annotations

import functools
import heapq
from dataclasses import dataclass, field

import mpmath
import sympy as sp
from mpmath.libmp import mpf_pos, round_ceiling, round_floor
from sympy.calculus.util import continuous_domain, periodicity
from sympy.series.gruntz import gruntz

from .._core.validation import describe
from ._functions import activation_expr, sigmoid
from ._interval import IntervalContext, IntervalUnsupported

__all__ = ["SupResult", "gamma_h", "sup_abs", "derivative"]

STATUSES = ("exact", "certified", "numerical")

_PREC = 200                    # bits of the interval arithmetic (~60 digits)
_MAX_BOXES = 4000              # branch-and-bound budget per piece
_WINDOW = 32                   # smallest half-width of the window [-X, X]
_TAIL_ATTEMPTS = 6             # window extensions by 16x before a tail counts as unproven
_SCAN_POINTS = 257

# One private point context for every comparison of this module: mixing mpf numbers of
# different contexts rounds one of them to the other's precision.
_MP = mpmath.MPContext()
_MP.prec = _PREC + 30
_COMPARE_DPS = 60

# Functions entire on the real line: no domain restriction to look for.
_ENTIRE = (sp.exp, sp.sin, sp.cos, sp.tanh, sp.sinh, sp.cosh, sp.erf, sp.erfc, sp.atan,
           sp.asinh, sp.Abs, sp.Max, sp.Min, sigmoid)

_ARITH_ERRORS = (IntervalUnsupported, ArithmeticError, ValueError, TypeError)


@dataclass(frozen=True)
class SupResult:
    r"""The supremum over the real line of |h|, with how it was established.

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
        lo, hi = self.bracket
        return {
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
        }


# ---------------------------------------------------------------------------------------
# Public functions


def gamma_h(expr, x=None) -> SupResult:
    r"""gamma_h = sup over real x of |f'(x)|, exactly when sympy can, else certified.

    Parameters
    ----------
    expr : sympy.Expr, sympy.Lambda, str or Activation
        f, an expression in one real variable.  May contain Abs, Max, Min,
        sign, Heaviside and Piecewise; at their kinks the one-sided
        derivatives count.  A name of the numeric registry (``"silu"``) or
        a numeric :class:`~spectra.Activation` is looked up with
        :func:`activation_expr`.
    x : sympy.Symbol, optional
        The variable; by default the only free symbol of ``expr``.  The
        supremum is over all real x, whatever assumptions x carries.

    Returns
    -------
    SupResult
        With ``kind="gamma_h"`` and ``function`` = f'.

    Raises
    ------
    ValueError
        If f has other free symbols, or is undefined on an interval.
    NotImplementedError
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
    return _sup_cached(*_prepare(expr, x), "gamma_h")


def sup_abs(expr, x=None) -> SupResult:
    r"""sup over real x of |h(x)| for a sympy expression h in one variable.

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
    return _sup_cached(*_prepare(expr, x), "sup_abs")


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
    from .._core.validation import check_int

    n = check_int(n, "n", minimum=0)
    expr, x = _prepare(expr, x)
    f, xr = _real_variable(expr, x)
    d = _piecewise(f)
    for _ in range(n):
        d = sp.piecewise_fold(sp.diff(d, xr))
    return d.subs(xr, x)


# ---------------------------------------------------------------------------------------
# Preparation and decomposition


def _prepare(expr, x):
    """Validate; return (expr, x) with expr a sympy expression in the one symbol x."""
    from ..cells.activations import Activation

    if isinstance(expr, (str, Activation)):
        expr = activation_expr(expr)
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


def _real_variable(expr, x):
    """expr in a plain real variable (assumptions such as positive would restrict the line)."""
    if x.assumptions0 == sp.Symbol(x.name, real=True).assumptions0:
        xr = x
    else:
        xr = sp.Dummy(x.name, real=True)
    f = expr.subs(x, xr) if xr is not x else expr
    f = f.replace(lambda e: isinstance(e, sigmoid), lambda e: e._spectra_exp_form())
    return f, xr


def _piecewise(f):
    return sp.piecewise_fold(f.rewrite(sp.Piecewise))


@dataclass
class _Piece:
    h: sp.Expr           # the function whose |h| is bounded on (a, b)
    a: sp.Expr
    b: sp.Expr
    attain_a: bool       # h's one-sided limit at a is a value of h (f defined, continuous at a)
    attain_b: bool


def _intervals_of(s):
    if s is sp.S.EmptySet:
        return [], []
    if isinstance(s, sp.Interval):
        return [s], []
    if isinstance(s, sp.FiniteSet):
        return [], list(s)
    if isinstance(s, sp.Union):
        ivs, pts = [], []
        for part in s.args:
            i, p = _intervals_of(part)
            ivs += i
            pts += p
        return ivs, pts
    raise NotImplementedError(f"cannot split the real line into intervals at {s}")


def _undefined_points(g, x, interval):
    """Points of ``interval`` where g is undefined or discontinuous (a finite set)."""
    if not g.has(x):
        return []
    try:
        dom = continuous_domain(g, x, interval)
    except (NotImplementedError, ValueError, TypeError):
        dom = _continuous_domain_by_parts(g, x, interval)
    bad = sp.Complement(interval, dom)
    if bad is sp.S.EmptySet:
        return []
    if isinstance(bad, sp.FiniteSet):
        return sorted(bad, key=lambda p: float(p))
    ivs, pts = _intervals_of(bad) if not isinstance(bad, sp.Complement) else ([bad], [])
    if ivs:
        raise ValueError(f"`expr` must be defined on the whole real line; {g} is not defined or "
                         f"not continuous on {bad}")
    return sorted(pts, key=lambda p: float(p))


def _continuous_domain_by_parts(g, x, interval):
    dom = interval
    for node in sp.preorder_traversal(g):
        if not isinstance(node, sp.Basic) or not node.has(x) or node.is_Atom:
            continue
        if isinstance(node, (sp.Add, sp.Mul)) or isinstance(node, _ENTIRE):
            continue
        if isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp >= 0:
            continue
        try:
            dom = sp.Intersection(dom, continuous_domain(node, x, interval))
        except (NotImplementedError, ValueError, TypeError) as exc:
            raise NotImplementedError(f"cannot determine where {node} is defined") from exc
    return dom


def _decompose(f, x, *, require_continuity):
    """Open pieces (h = piece of f, a, b) covering the line, and break-point data.

    Returns ``(pieces, jump)`` where ``jump`` is a break point at which f is
    discontinuous (or None).
    """
    fp = _piecewise(f)
    pairs = fp.as_expr_set_pairs() if isinstance(fp, sp.Piecewise) else [(fp, sp.S.Reals)]
    intervals, points = [], {}
    for g, s in pairs:
        ivs, pts = _intervals_of(s)
        intervals += [(g, i) for i in ivs]
        for p in pts:
            points[p] = g
    # split each interval at the points where its expression is undefined
    open_pieces = []
    defined_at = dict(points)
    for g, iv in intervals:
        cuts = [p for p in _undefined_points(g, x, iv) if iv.start < p < iv.end]
        ends = [iv.start] + cuts + [iv.end]
        for lo, hi in zip(ends[:-1], ends[1:]):
            open_pieces.append((g, lo, hi))
        for end, closed in ((iv.start, not iv.left_open), (iv.end, not iv.right_open)):
            if closed and end.is_finite:
                defined_at[end] = g
    # values at points must be finite real numbers for f to be defined there
    for c, g in list(defined_at.items()):
        v = g.subs(x, c)
        if v.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity) or v.is_real is False:
            del defined_at[c]
    open_pieces.sort(key=lambda t: (float(t[1]) if t[1].is_finite else -float("inf")))
    breaks = sorted({p for _, a, b in open_pieces for p in (a, b) if p.is_finite}
                    | set(defined_at), key=float)
    jump = None
    continuous_at = {}
    for c in breaks:
        left = [g for g, a, b in open_pieces if b == c]
        right = [g for g, a, b in open_pieces if a == c]
        values = [_limit(g, x, c, "-") for g in left] + [_limit(g, x, c, "+") for g in right]
        if c in defined_at:
            values.append(defined_at[c].subs(x, c))
        finite = all(v.is_finite for v in values if v is not None)
        equal = finite and all(_equal(v, values[0]) for v in values[1:])
        continuous_at[c] = equal and c in defined_at
        if not equal and jump is None:
            jump = c
    if require_continuity and jump is not None:
        return None, jump
    pieces = [_Piece(g, a, b, continuous_at.get(a, False), continuous_at.get(b, False))
              for g, a, b in open_pieces]
    return pieces, None


# ---------------------------------------------------------------------------------------
# Small exact helpers


_DISCONTINUOUS = (sp.floor, sp.ceiling, sp.frac, sp.sign, sp.Heaviside, sp.Piecewise,
                  sp.DiracDelta)


@functools.lru_cache(maxsize=4096)
def _limit(g, x, c, direction):
    """The (one-sided) limit of g at c.

    Fast path: substitution, when it is a limit.  At +-oo sympy's extended
    arithmetic follows limit semantics (tanh(oo) = 1, exp(-oo) = 0) and turns
    every indeterminate form (oo - oo, 0 oo, oo/oo, 1^oo) into nan, which is
    rejected, except 0^0 and oo^0, excluded by refusing powers with x in the
    exponent.  At a finite point, g is an elementary expression, continuous
    wherever it has a finite real value, once discontinuous functions are
    excluded.  Otherwise Gruntz's algorithm, then sympy's ``limit``.
    """
    infinite = c is sp.oo or c is sp.S.NegativeInfinity
    if not g.has(*_DISCONTINUOUS) and not any(
            p.exp.has(x) for p in g.atoms(sp.Pow) if not isinstance(p, sp.exp)):
        value = g.subs(x, c)
        if value.is_number and not value.has(sp.nan, sp.zoo, sp.AccumBounds) and (
                value.is_extended_real and (infinite or value.is_finite)):
            return value
    try:
        value = gruntz(g, x, c) if infinite else gruntz(g, x, c, direction)
        if value is not None and (value.is_extended_real or value.is_infinite) \
                and not value.has(sp.AccumBounds, sp.nan, sp.zoo):
            return value
    except (NotImplementedError, ValueError, TypeError, RecursionError, AttributeError):
        pass
    return sp.limit(g, x, c) if infinite else sp.limit(g, x, c, dir=direction)


def _num(v, dps=_COMPARE_DPS):
    if v is sp.oo:
        return _MP.inf
    if v is sp.S.NegativeInfinity:
        return _MP.ninf
    w = sp.N(v, dps)
    if not w.is_real:
        raise ValueError(f"expected a real number; got {v}")
    return _MP.mpf(w._mpf_) if isinstance(w, sp.Float) else _MP.mpf(int(w))


def _equal(a, b):
    if a == b:
        return True
    d = a - b
    if d.is_zero is not None:
        return bool(d.is_zero)
    try:
        nd = abs(_num(d))
    except (ValueError, TypeError):
        return False
    scale = max(abs(_num(a)), 1)
    if nd > scale * _MP.mpf(10) ** (-_COMPARE_DPS + 15):
        return False
    s = sp.simplify(d)
    return s.is_zero is not False  # agrees to 45 digits and sympy cannot tell them apart


def _abs_exact(v):
    """|v| for an exact real number v, with the sign decided numerically when sympy cannot."""
    if v.is_extended_nonnegative:
        return v
    if v.is_extended_nonpositive:
        return -v
    n = _num(v)
    if n > 0:
        return v
    if n < 0:
        return -v
    return sp.S.Zero if _equal(v, sp.S.Zero) else sp.Abs(v)


def _tidy(v):
    if v.is_Number or v in (sp.oo, sp.S.NegativeInfinity):
        return v
    if sp.count_ops(v) <= 60:
        s = sp.simplify(v)
        if sp.count_ops(s) <= sp.count_ops(v):
            return s
    return v


def _float_key(v):
    return _num(v)


# ---------------------------------------------------------------------------------------
# One piece


@dataclass
class _PieceSup:
    status: str                # exact / certified / numerical
    lo: object                 # mpf lower bound (rigorous)
    hi: object                 # mpf upper bound (rigorous on proven_on)
    value: object = None       # exact sympy value when status == exact
    point: object = None
    attained: bool = False
    proven_on: sp.Set = sp.S.Reals
    note: str = ""


def _exact_sup(v, point, attained, note):
    n = _num(v)
    return _PieceSup("exact", n, n, v, point, attained, note=note)


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
    return _certify(h, x, a, b, la, lb, attain_a, attain_b, ctx)


def _undetermined(v):
    return isinstance(v, sp.AccumBounds) or v is sp.nan or v.has(sp.AccumBounds) \
        or isinstance(v, sp.Limit) or not (v.is_extended_real or v.is_infinite)


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
# Numerical certification
#
# All point and box arithmetic below is done in the private contexts of ``ctx``: ``ctx.mp``
# (230 bits) for points, ``ctx.iv`` (200 bits, outward rounding) for enclosures.


def _lo(E, ctx):
    return ctx.mp.mpf(E.a)


def _hi(E, ctx):
    return ctx.mp.mpf(E.b)


def _certify(h, x, a, b, la, lb, attain_a, attain_b, ctx):
    mp = ctx.mp
    h1 = sp.diff(h, x)
    try:
        H = ctx.compile(h, x)
        H1 = ctx.compile(h1, x)
    except IntervalUnsupported as exc:
        raise NotImplementedError(f"sympy cannot solve {h1} = 0 and the interval evaluator "
                                  f"does not support it ({exc})") from exc
    rtol = mp.mpf(2) ** -64
    # exact lower bounds from the end points (one-sided limits, or limits at infinity)
    best = (mp.zero, None, False)
    for lim, end, att in ((la, a, attain_a), (lb, b, attain_b)):
        try:
            low = _lo(abs(ctx.constant(lim)), ctx)
        except _ARITH_ERRORS:
            continue
        if low > best[0]:
            best = (low, end, bool(att and end.is_finite))
    wa0 = _lo(ctx.constant(a), ctx) if a.is_finite else None
    wb0 = _hi(ctx.constant(b), ctx) if b.is_finite else None
    X = _window_half_width(H1, wa0, wb0, ctx)
    wa = wa0 if wa0 is not None else mp.mpf(-X) + (min(mp.zero, wb0) if wb0 is not None else 0)
    wb = wb0 if wb0 is not None else mp.mpf(X) + (max(mp.zero, wa0) if wa0 is not None else 0)
    best = _scan(H, H1, wa, wb, ctx, best)
    ok, upper, best = _branch_and_bound(H, H1, wa, wb, ctx, best, rtol)
    if not ok:
        raise NotImplementedError(
            f"sympy cannot solve {h1} = 0 in closed form, and interval arithmetic could not bound "
            f"|{h}| on [{mpmath.nstr(wa, 6)}, {mpmath.nstr(wb, 6)}] within {_MAX_BOXES} boxes "
            f"(a removable singularity or heavy cancellation defeats it)")
    proven = [sp.Interval(_sym_float(wa), _sym_float(wb))]
    tails_ok = True
    y = sp.Dummy("y", real=True)
    for end, lim, sign, w in ((b, lb, +1, wb), (a, la, -1, -wa)):
        if end.is_finite:
            continue
        g = h.subs(x, sign * y)
        side_ok = False
        for _ in range(_TAIL_ATTEMPTS):
            tb = _tail_bound(g, y, w, lim, ctx)
            if tb is not None and tb <= best[0] * (1 + rtol):
                upper = max(upper, tb)
                proven.append(sp.Interval(_sym_float(w), sp.oo) if sign > 0
                              else sp.Interval(-sp.oo, _sym_float(-w)))
                side_ok = True
                break
            # not proven from w on: cover [w, 16 w] by branch and bound, try again from there
            lo, hi = (w, 16 * w) if sign > 0 else (-16 * w, -w)
            best = _scan(H, H1, lo, hi, ctx, best)
            ok, up, best = _branch_and_bound(H, H1, lo, hi, ctx, best, rtol)
            if not ok:
                break
            upper = max(upper, up)
            proven.append(sp.Interval(_sym_float(lo), _sym_float(hi)))
            w = 16 * w
        tails_ok = tails_ok and side_ok
    upper = max(upper, best[0])
    if tails_ok:
        return _PieceSup("certified", best[0], upper, None, _as_point(best[1]), best[2],
                         note="certified by interval arithmetic (critical points of f' isolated "
                              "numerically; window and monotone tails proven)")
    proven = sp.Union(*proven)
    return _PieceSup("numerical", best[0], upper, None, _as_point(best[1]), best[2], proven,
                     note=f"bracket proven on {proven} only: the tails could not be proven")


def _window_half_width(H1, wa0, wb0, ctx):
    """Half-width X of the window: 32, or beyond the farthest sign change of h' seen at
    the points +-2^k, k < 63 (critical points far out should lie inside the window;
    any that are missed are caught when the tails are proven)."""
    mp = ctx.mp
    X = mp.mpf(_WINDOW)
    for direction, start in ((+1, wb0), (-1, wa0)):
        if start is not None:
            continue
        prev = None
        for k in range(-3, 63):
            v = _mid(H1, ctx, direction * mp.mpf(2) ** k)
            if v is None or v == 0:
                continue
            s = v > 0
            if prev is not None and s != prev:
                X = max(X, mp.mpf(2) ** (k + 1))
            prev = s
    return X


def _sym_float(m):
    return sp.Float._new(m._mpf_, max(53, m.context.prec)) if m != 0 else sp.S.Zero


def _as_point(p):
    if p is None or isinstance(p, sp.Basic):
        return p
    return sp.Float(sp.Float._new(p._mpf_, p.context.prec), 30)


def _safe(F, X):
    try:
        return F(X)
    except _ARITH_ERRORS:
        return None


def _scan(H, H1, wa, wb, ctx, best):
    """Candidate maxima of |h| on [wa, wb]: a sinh-spaced grid, then Illinois on h' = 0."""
    mp = ctx.mp
    ta, tb = mp.asinh(wa), mp.asinh(wb)
    n = _SCAN_POINTS
    xs = [wa] + [mp.sinh(ta + (tb - ta) * k / (n - 1)) for k in range(1, n - 1)] + [wb]
    vals = []
    for p in xs:
        v = _safe(H, ctx.interval(p))
        vals.append(None if v is None else abs(mp.mpf(v.mid)))
    peaks = [i for i in range(n) if vals[i] is not None and all(
        vals[j] is None or vals[j] <= vals[i] for j in (i - 1, i + 1) if 0 <= j < n)]
    peaks = sorted(peaks, key=lambda i: vals[i], reverse=True)[:8]
    slope = lambda t: _mid(H1, ctx, t)
    for i in peaks:
        lo, hi = xs[max(i - 1, 0)], xs[min(i + 1, n - 1)]
        root = _illinois(slope, lo, xs[i], ctx)
        if root is None:
            root = _illinois(slope, xs[i], hi, ctx)
        for p in (xs[i], root):
            if p is None:
                continue
            v = _safe(H, ctx.interval(p))
            if v is not None and _lo(abs(v), ctx) > best[0]:
                best = (_lo(abs(v), ctx), p, True)
    return best


def _mid(F, ctx, t):
    v = _safe(F, ctx.interval(t))
    return None if v is None else ctx.mp.mpf(v.mid)


def _illinois(F, lo, hi, ctx):
    """A root of F in [lo, hi] by the Illinois variant of regula falsi, or None."""
    flo, fhi = F(lo), F(hi)
    if flo is None or fhi is None:
        return None
    if flo == 0 or fhi == 0:
        return lo if flo == 0 else hi
    if (flo > 0) == (fhi > 0):
        return None
    tol = ctx.mp.mpf(2) ** (-(ctx.prec - 8))
    side = 0
    for _ in range(400):
        m = (lo * fhi - hi * flo) / (fhi - flo)
        if not lo < m < hi:
            m = (lo + hi) / 2
        fm = F(m)
        if fm is None:
            return None
        if fm == 0:
            return m
        if (fm > 0) == (flo > 0):
            lo, flo = m, fm
            if side == -1:
                fhi /= 2
            side = -1
        else:
            hi, fhi = m, fm
            if side == +1:
                flo /= 2
            side = +1
        if hi - lo <= tol * (1 + abs(m)):
            break
    return (lo + hi) / 2


def _enclose(H, H1, l, r, ctx, threshold):
    """Upper bound of |h| on [l, r] and the enclosure of h at the midpoint.

    The natural extension first; if it does not prove |h| <= threshold, it is
    intersected with the mean-value form h(m) + h'([l, r]) ([l, r] - m), which
    is tight (error O(width^2)) near a maximum.
    """
    mp = ctx.mp
    B = ctx.interval(l, r)
    m = (l + r) / 2
    M = ctx.interval(m)
    Hm = _safe(H, M)
    E1 = _safe(H, B)
    bounds = []
    if E1 is not None:
        lo, hi = _lo(E1, ctx), _hi(E1, ctx)
        if not (mp.isnan(lo) or mp.isnan(hi)):
            bounds.append((lo, hi))
            if max(abs(lo), abs(hi)) <= threshold:
                return max(abs(lo), abs(hi)), Hm
    D = _safe(H1, B)
    if Hm is not None and D is not None:
        E2 = Hm + D * (B - M)
        lo, hi = _lo(E2, ctx), _hi(E2, ctx)
        if not (mp.isnan(lo) or mp.isnan(hi)):
            bounds.append((lo, hi))
    if not bounds:
        return mp.inf, Hm
    lo = max(b[0] for b in bounds)
    hi = min(b[1] for b in bounds)
    return max(abs(lo), abs(hi)), Hm


def _branch_and_bound(H, H1, wa, wb, ctx, best, rtol):
    """Prove |h| <= best (1 + rtol) on [wa, wb], improving ``best`` on the way.

    Boxes are refined in order of their upper bound (Moore-Skelboe); the
    midpoint of every box gives a rigorous lower-bound candidate.  Returns
    ``(ok, upper, best)``; when ok, |h| <= upper on the window.
    """
    mp = ctx.mp
    margin = mp.mpf(2) ** -150
    up, _ = _enclose(H, H1, wa, wb, ctx, best[0] * (1 + rtol))
    heap = [(-up, wa, wb)]
    tiny = mp.mpf(2) ** (-(ctx.prec - 20))
    for _ in range(_MAX_BOXES):
        neg_u, l, r = heap[0]
        u = -neg_u
        if u <= best[0] * (1 + rtol):
            return True, max(u, best[0]), best
        if r - l <= (abs(l) + abs(r)) * tiny:
            return False, u, best
        heapq.heappop(heap)
        m = (l + r) / 2
        for lo, hi in ((l, m), (m, r)):
            ub, Hm = _enclose(H, H1, lo, hi, ctx, best[0] * (1 + rtol))
            # a midpoint replaces the best point only if clearly better (not by rounding
            # noise): the critical point found by root finding stays the reported argmax
            if Hm is not None and _lo(abs(Hm), ctx) > best[0] * (1 + margin):
                best = (_lo(abs(Hm), ctx), (lo + hi) / 2, True)
            heapq.heappush(heap, (-ub, lo, hi))
    return False, -heap[0][0], best


def _tail_bound(g, y, X, limit_value, ctx):
    """An upper bound of |g| on [X, oo), or None (g tends to ``limit_value``)."""
    E = _tail_enclosure(g, y, X, ctx)
    if E is not None:
        return max(abs(E[0]), abs(E[1]))
    # monotone on the tail?  then |g| <= max(|g(X)|, |g(oo)|)
    if _tail_sign(_c_diff(g, y), y, X, ctx, depth=2) is None:
        return None
    gX = _safe(ctx.compile(g, y), ctx.interval(X))
    if gX is None:
        return None
    return max(_hi(abs(gX), ctx), _hi(abs(ctx.constant(limit_value)), ctx))


def _tail_enclosure(e, y, X, ctx):
    """(lo, hi), both finite, enclosing e on [X, +inf] by the natural extension, or None."""
    T = ctx.interval(X, "inf")
    for form in (e, _c_together(e)):
        try:
            E = ctx.compile(form, y)(T)
        except _ARITH_ERRORS:
            continue
        lo, hi = _lo(E, ctx), _hi(E, ctx)
        if not any(ctx.mp.isinf(v) or ctx.mp.isnan(v) for v in (lo, hi)):
            return lo, hi
    return None


# The symbolic rewritings of the tail proofs do not depend on X: cache them.
@functools.lru_cache(maxsize=4096)
def _c_together(e):
    return sp.together(e)


@functools.lru_cache(maxsize=4096)
def _c_diff(e, y):
    return sp.diff(e, y)


@functools.lru_cache(maxsize=4096)
def _c_factors(e):
    # hyperbolic functions in exp (real); sin and cos stay (their exp form is complex)
    e = e.rewrite([sp.tanh, sp.sinh, sp.cosh, sp.sech, sp.csch, sp.coth], sp.exp)
    num, den = sp.together(e).as_numer_denom()
    return sp.Mul.make_args(sp.factor_terms(num)) + sp.Mul.make_args(sp.factor_terms(den))


@functools.lru_cache(maxsize=4096)
def _c_ratios(p):
    terms = sp.Add.make_args(sp.expand(p))
    if len(terms) < 2 or len(terms) > 40:
        return ()
    return tuple((t, tuple(u / t for u in terms)) for t in sorted(terms, key=sp.count_ops))


def _sign_of(E, ctx):
    if E is None:
        return None
    if _lo(E, ctx) >= 0:
        return +1
    if _hi(E, ctx) <= 0:
        return -1
    return None


def _natural_sign(e, y, X, ctx):
    try:
        return _sign_of(ctx.compile(e, y)(ctx.interval(X, "inf")), ctx)
    except _ARITH_ERRORS:
        return None


def _tail_sign(e, y, X, ctx, depth):
    """+1 if e >= 0 on [X, oo), -1 if e <= 0 there, None if that could not be proven.

    In turn: the natural interval extension on [X, +inf]; then e written in
    exp and over a common denominator, each factor of numerator and
    denominator signed by interval arithmetic, by its dominant term (a sum
    divided by one of its terms is a sum of bounded ratios on the tail), or,
    recursively, by monotonicity between its value at X and its exact limit.
    """
    for form in (e, _c_together(e)):
        s = _natural_sign(form, y, X, ctx)
        if s is not None:
            return s
    if depth <= 0:
        return None
    total = +1
    for fac in _c_factors(e):
        s = _factor_sign(fac, y, X, ctx, depth)
        if s is None:
            return None
        total *= s
    return total


def _factor_sign(fac, y, X, ctx, depth):
    if not fac.has(y):
        return _sign_of(ctx.constant(fac), ctx)
    if isinstance(fac, sp.exp):
        return +1
    if isinstance(fac, sp.Pow) and fac.exp.is_Integer:
        if int(fac.exp) % 2 == 0:
            return +1
        return _factor_sign(fac.base, y, X, ctx, depth)
    s = _natural_sign(fac, y, X, ctx)
    if s is None:
        s = _dominant_sign(fac, y, X, ctx)
    if s is not None:
        return s
    # monotone between its value at X and its exact limit at infinity?
    slope = _tail_sign(_c_diff(fac, y), y, X, ctx, depth - 1)
    if slope is None:
        return None
    v0 = _safe(ctx.compile(fac, y), ctx.interval(X))
    L = _limit(fac, y, sp.oo, "-")
    if v0 is None or _undetermined(L):
        return None
    Ln = _num(L)
    if slope > 0:   # non-decreasing: fac lies in [fac(X), L]
        if _lo(v0, ctx) >= 0:
            return +1
        if Ln <= 0:
            return -1
    else:           # non-increasing: fac lies in [L, fac(X)]
        if Ln >= 0:
            return +1
        if _hi(v0, ctx) <= 0:
            return -1
    return None


def _dominant_sign(p, y, X, ctx):
    """Sign of a sum on [X, oo) from a dominant term t: p = t (1 + sum_j t_j / t), where
    every ratio is bounded on the tail and the bracket excludes 0."""
    T = ctx.interval(X, "inf")
    for t, ratios in _c_ratios(p):
        st = _natural_sign(t, y, X, ctx)
        if st is None:
            continue
        total = ctx.iv.mpf(0)
        try:
            for r in ratios:
                total = total + ctx.compile(r, y)(T)
        except _ARITH_ERRORS:
            continue
        lo, hi = _lo(total, ctx), _hi(total, ctx)
        if lo > 0 and not ctx.mp.isinf(lo):
            return st
        if hi < 0 and not ctx.mp.isinf(hi):
            return -st
    return None


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
        return SupResult(sp.oo, "exact", (sp.oo, sp.oo), False, jump, **common,
                         note=f"f jumps at x = {jump}: a one-sided difference quotient is unbounded")
    parts = []
    for p in pieces:
        h = sp.diff(p.h, xr) if kind == "gamma_h" else p.h
        parts.append(_piece_sup(h, xr, p.a, p.b, p.attain_a, p.attain_b, ctx))
    res = _combine(parts)
    if res.value is sp.oo:
        return SupResult(sp.oo, "exact", (sp.oo, sp.oo), False, res.point, **common, note=res.note)
    if res.status == "exact":
        return SupResult(res.value, "exact", (res.value, res.value), res.attained, res.point,
                         **common, note=res.note)
    lo = _round_float(res.lo, round_floor)
    hi = _round_float(res.hi, round_ceiling)
    mid = _value_inside(res.lo, res.hi)
    proven = sp.S.Reals if res.status == "certified" else res.proven_on
    return SupResult(mid, res.status, (lo, hi), res.attained, res.point, **common,
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
