"""The real line cut into smooth pieces, and the exact helpers of the supremum.

Step 1 of the algorithm of :func:`spectra.symbolic.gamma_h` (see
:mod:`._sup`): Abs, Max, Min, sign, Heaviside and Piecewise are rewritten as
one top-level Piecewise, the line is cut at its break points and where f is
undefined, and f is checked for continuity at every break point
(:func:`_decompose`).  Also here: exact one-sided limits, comparisons of
exact numbers at 60 digits in one private mpmath context, and the record of
a supremum over one piece (:class:`_PieceSup`), shared with the
certification (:mod:`._certify`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import sympy as sp
from sympy.calculus.util import continuous_domain
from sympy.series.gruntz import gruntz

from ._functions import sigmoid

_PREC = 200                    # bits of the interval arithmetic (~60 digits)

# One private point context for every comparison of the supremum: mixing mpf numbers of
# different contexts rounds one of them to the other's precision.
_MP = mpmath.MPContext()
_MP.prec = _PREC + 30
_COMPARE_DPS = 60

# Functions entire on the real line: no domain restriction to look for.
_ENTIRE = (sp.exp, sp.sin, sp.cos, sp.tanh, sp.sinh, sp.cosh, sp.erf, sp.erfc, sp.atan,
           sp.asinh, sp.Abs, sp.Max, sp.Min, sigmoid)


# ---------------------------------------------------------------------------------------
# Decomposition


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


def _undetermined(v):
    return isinstance(v, sp.AccumBounds) or v is sp.nan or v.has(sp.AccumBounds) \
        or isinstance(v, sp.Limit) or not (v.is_extended_real or v.is_infinite)


# ---------------------------------------------------------------------------------------
# The supremum over one piece


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
