"""Certification of a supremum by interval arithmetic, when sympy cannot solve h' = 0.

Step 3 of the algorithm of :func:`spectra.symbolic.gamma_h` (see
:mod:`._sup`), for one piece (a, b) on which h is smooth: the critical
points of h are isolated numerically at 60 digits (a sinh-spaced scan, then
the Illinois method on h' = 0), a lower bound comes from a rigorous
evaluation at the best point, an upper bound from a branch-and-bound over a
window [-X, X] (natural and mean-value interval extensions, Moore-Skelboe
order), and beyond the window a proof that h is monotone: the sign of h' on
[X, oo) by interval arithmetic and, factor by factor, by a dominant term or
by monotonicity and the exact limit at infinity.  A tail that cannot be
proven is extended by 16x, ``tail_attempts`` times, before the result is
reported as ``"numerical"``.

All point and box arithmetic is done in the private contexts of ``ctx``
(:class:`._interval.IntervalContext`): ``ctx.mp`` (230 bits) for points,
``ctx.iv`` (200 bits, outward rounding) for enclosures.
"""

from __future__ import annotations

import functools
import heapq

import mpmath
import sympy as sp

from ._interval import IntervalUnsupported
from ._pieces import _limit, _num, _PieceSup, _undetermined

_MAX_BOXES = 4000              # branch-and-bound budget per piece
_WINDOW = 32                   # smallest half-width of the window [-X, X]
_SCAN_POINTS = 257

_ARITH_ERRORS = (IntervalUnsupported, ArithmeticError, ValueError, TypeError)


def _lo(E, ctx):
    return ctx.mp.mpf(E.a)


def _hi(E, ctx):
    return ctx.mp.mpf(E.b)


def _certify(h, x, a, b, la, lb, attain_a, attain_b, ctx, *, tail_attempts):
    """Bracket sup |h| on the piece (a, b) with limits ``la``, ``lb`` at its ends.

    Returns a :class:`._pieces._PieceSup` with status ``"certified"``, or
    ``"numerical"`` (and ``proven_on``) when a tail at +-oo could not be
    proven after ``tail_attempts`` extensions of the window by 16x.
    """
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
        for _ in range(tail_attempts):
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
