"""Rigorous interval evaluation of sympy expressions in one variable.

:meth:`IntervalContext.compile` turns a sympy expression in ``x`` into a
function of an mpmath interval that returns an interval guaranteed to contain
every value of the expression on it (the *natural interval extension*).  It is the proof
engine of :func:`spectra.symbolic.gamma_h` when sympy cannot find the
critical points of f' in closed form.

Rigour: sums, products, quotients, integer powers, ``exp``, ``log``, ``sqrt``,
``sin``, ``cos`` use mpmath's interval arithmetic (outward rounding).  The
monotone special functions mpmath has no interval version of (``erf``,
``erfc``, ``atan``) are enclosed from their values at the end points,
computed with 30 guard bits by mpmath and widened outward by 2^-(prec-4)
relative; this relies on mpmath's accuracy for those functions (a few units
in the last place), which the widening covers a million times over.
``tanh``, ``sinh``, ``cosh``, ``asinh`` and the logistic function are
written in ``exp``/``log``/``sqrt`` so that they inherit the interval
arithmetic (tanh as 1 - 2/(exp(2u) + 1), with one occurrence of u).
Infinite end points are allowed (``[X, +inf]``); end points given to
:meth:`IntervalContext.interval` are taken exactly, never rounded.

A private mpmath context is used, so the global precision of mpmath is never
touched.

Why a compiler of its own rather than ``sympy.lambdify(x, expr, modules=mpmath.iv)``
(measured for issue 18 with ``benchmarks/bench_interval.py``, mpmath 1.3): the
arithmetic already *is* ``mpmath.iv``; only the translation from sympy is written
here, and lambdify cannot do it for the cases that matter.  ``mpmath.iv`` has no
``tanh``, ``sinh``, ``cosh``, ``asinh`` or ``atan``, and its ``erf``/``erfc`` raise
NoConvergence on intervals, so lambdify fails on tanh' and gelu' (the two most used
activations with a transcendental derivative).  Python's ``max``/``min``, which
lambdify prints for ``Max``/``Min``, are not interval maxima; a log, square root or
negative power of an interval reaching 0 raises mpmath's ComplexResult or
ZeroDivisionError instead of the :class:`IntervalUnsupported` the certifier bisects
on; and lambdify prints sympy Floats as decimal strings, which ``iv.mpf`` encloses
as decimals rather than taking the binary value exactly.  Where lambdify does work
(sigmoid', softplus', silu' and tanh' written in exp), its enclosures equal these
to the last bits of rounding, and one evaluation of ours takes 1.23-1.35, 1.43-1.71,
1.28-1.31 and 0.97 times as long as lambdify's (two runs on a shared machine); evaluating the compiled closures is at most about
a sixth of the symbolic test suite's time (cProfile: 13 of 77 s), so lambdify would
save a few per cent there, which does not pay for the workarounds it would need.
"""

from __future__ import annotations

import mpmath
import sympy as sp
from mpmath.libmp import finf, fninf, from_float, from_int

__all__ = ["IntervalUnsupported", "IntervalContext"]

_GUARD_BITS = 30


class IntervalUnsupported(Exception):
    """The expression contains something the interval evaluator cannot enclose."""


class IntervalContext:
    """Private interval (``iv``) and point (``mp``) contexts at ``prec`` bits."""

    def __init__(self, prec: int = 200, mp=None):
        self.prec = int(prec)
        self.iv = mpmath.ctx_iv.MPIntervalContext()
        self.iv.prec = self.prec
        if mp is None:
            mp = mpmath.MPContext()
            mp.prec = self.prec + _GUARD_BITS
        self.mp = mp
        self._cache = {}

    # -- construction ----------------------------------------------------------------
    def interval(self, lo, hi=None):
        """The interval [lo, hi] (a point when ``hi`` is None) with exactly these end points.

        End points are taken exactly (no rounding): ints, sympy Integers and
        Floats, mpmath numbers, ``sympy.oo`` or ``"inf"``.
        """
        if hi is None:
            hi = lo
        return self.iv.make_mpf((_raw(lo), _raw(hi)))

    def constant(self, expr):
        """An interval enclosing the exact real constant ``expr`` (e.g. 1/4, erf(1), pi)."""
        expr = sp.sympify(expr)
        if expr is sp.oo or expr is sp.S.NegativeInfinity:
            return self.interval(expr)
        return self._constant_value(expr, sp.Dummy())

    def compile(self, expr, x):
        """A function ``X -> interval`` enclosing ``expr`` over the interval ``X``."""
        key = (expr, x)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._compile(sp.sympify(expr), x)
            self._cache[key] = fn
        return fn

    # -- the compiler -----------------------------------------------------------------
    def _compile(self, e, x):
        if not e.has(x):
            value = self._constant_value(e, x)
            return lambda X: value
        return self._compile_node(e, x)

    def _constant_value(self, c, x):
        if c.is_Integer:
            return self.interval(c)
        if c.is_Rational:
            return self.interval(c.p) / self.interval(c.q)   # outward rounding
        if isinstance(c, sp.Float):
            return self.interval(c)
        if c is sp.pi:
            return self.iv.pi
        if c is sp.E:
            return self.iv.e
        if c is sp.oo or c is sp.S.NegativeInfinity:
            return self.interval(c)
        if c.free_symbols:
            raise IntervalUnsupported(f"free symbols {sorted(map(str, c.free_symbols))}")
        if c.is_Atom:
            raise IntervalUnsupported(f"no interval enclosure for the constant {c}")
        # a compound constant such as erf(1) or exp(-1)/sqrt(pi)
        return self._compile_node(c, x)(self.iv.mpf(0))

    def _compile_node(self, e, x):
        iv = self.iv
        if e == x:
            return lambda X: X
        if isinstance(e, sp.Add):
            parts = [self._compile(a, x) for a in e.args]

            def add(X):
                acc = parts[0](X)
                for p in parts[1:]:
                    acc = acc + p(X)
                return acc
            return add
        if isinstance(e, sp.Mul):
            parts = [self._compile(a, x) for a in e.args]

            def mul(X):
                acc = parts[0](X)
                for p in parts[1:]:
                    acc = acc * p(X)
                return acc
            return mul
        if isinstance(e, sp.Pow):
            return self._compile_pow(e, x)
        if isinstance(e, sp.exp):
            u = self._compile(e.args[0], x)
            return lambda X: iv.exp(u(X))
        if isinstance(e, sp.log):
            if len(e.args) != 1:
                raise IntervalUnsupported("log with a base")
            u = self._compile(e.args[0], x)

            def log(X):
                U = u(X)
                if not U.a > 0:
                    raise IntervalUnsupported("log of an interval reaching 0 or below")
                return iv.log(U)
            return log
        if isinstance(e, sp.sin):
            u = self._compile(e.args[0], x)
            return lambda X: iv.sin(u(X))
        if isinstance(e, sp.cos):
            u = self._compile(e.args[0], x)
            return lambda X: iv.cos(u(X))
        if isinstance(e, sp.Abs):
            u = self._compile(e.args[0], x)
            return lambda X: abs(u(X))
        if isinstance(e, (sp.Max, sp.Min)):
            parts = [self._compile(a, x) for a in e.args]
            pick = max if isinstance(e, sp.Max) else min

            def maxmin(X):
                vals = [p(X) for p in parts]
                return iv.mpf([pick(v.a for v in vals), pick(v.b for v in vals)])
            return maxmin
        if isinstance(e, (sp.tanh, sp.sinh, sp.cosh, sp.asinh)):
            return self._compile(_exp_form(e), x)
        if isinstance(e, sp.erf):
            return self._monotone(e.args[0], x, self.mp.erf, +1, (-1, 1))
        if isinstance(e, sp.erfc):
            return self._monotone(e.args[0], x, self.mp.erfc, -1, (0, 2))
        if isinstance(e, sp.atan):
            return self._monotone(e.args[0], x, self.mp.atan, +1, None)
        exp_form = getattr(e, "_spectra_exp_form", None)
        if exp_form is not None:  # the logistic function of spectra.symbolic
            return self._compile(exp_form(), x)
        raise IntervalUnsupported(f"no interval enclosure for {type(e).__name__}")

    def _compile_pow(self, e, x):
        iv = self.iv
        base, expo = e.args
        if expo.has(x):
            # b**u = exp(u log b); the log rejects bases that are not positive
            return self._compile(sp.exp(expo * sp.log(base)), x)
        b = self._compile(base, x)
        if expo.is_Integer:
            k = int(expo)
            if k >= 0:
                return lambda X: b(X) ** k

            def inv_pow(X):
                B = b(X)
                if B.a <= 0 <= B.b:
                    raise IntervalUnsupported("division by an interval containing 0")
                return 1 / (B ** (-k))
            return inv_pow
        if expo == sp.S.Half:
            def sqrt(X):
                B = b(X)
                if B.a < 0:
                    raise IntervalUnsupported("sqrt of an interval reaching below 0")
                return iv.sqrt(B)
            return sqrt
        if expo.is_Rational or isinstance(expo, sp.Float):
            r = self._constant_value(expo, x)

            def rpow(X):
                B = b(X)
                if not B.a > 0:
                    raise IntervalUnsupported("fractional power of an interval reaching 0")
                return iv.exp(r * iv.log(B))
            return rpow
        raise IntervalUnsupported(f"power with exponent {expo}")

    def _monotone(self, arg, x, fn, direction, limits):
        """Enclosure of a monotone function from its end-point values, widened outward."""
        iv, mp = self.iv, self.mp
        u = self._compile(arg, x)
        widen = mpmath.mpf(2) ** (-(self.prec - 4))

        def point(v, lower):
            if mpmath.isinf(v) and limits is not None:
                lo_lim, hi_lim = limits
                return mpmath.mpf(hi_lim if (v > 0) == (direction > 0) else lo_lim)
            val = fn(mp.mpf(v))
            return val - abs(val) * widen if lower else val + abs(val) * widen

        def mono(X):
            U = u(X)
            a, b = (U.a, U.b) if direction > 0 else (U.b, U.a)
            return iv.mpf([point(a, True), point(b, False)])
        return mono


def _raw(v):
    """The exact raw mpf tuple of a number (no rounding)."""
    if isinstance(v, str):
        v = sp.oo if v.strip() in ("inf", "+inf") else sp.S.NegativeInfinity if v.strip() == "-inf" else v
    if hasattr(v, "_mpi_"):
        a, b = v._mpi_                      # a degenerate interval
        if a != b:
            raise IntervalUnsupported("expected a point, got an interval")
        return a
    if hasattr(v, "_mpf_") and not isinstance(v, sp.Basic):
        return v._mpf_                      # mpmath numbers of any context
    if isinstance(v, bool):
        raise IntervalUnsupported("a bool is not a number")
    if isinstance(v, int):
        return from_int(v)
    if isinstance(v, float):
        return from_float(v)
    v = sp.sympify(v)
    if v is sp.oo:
        return finf
    if v is sp.S.NegativeInfinity:
        return fninf
    if isinstance(v, sp.Float):
        return v._mpf_
    if v.is_Integer:
        return from_int(int(v))
    raise IntervalUnsupported(f"end point {v} is not a binary number")


def _exp_form(e):
    """tanh, sinh, cosh, asinh in exp/log/sqrt (tanh with a single occurrence of u, so
    its enclosure is tight; the others are valid but may be wider than the range)."""
    u = e.args[0]
    if isinstance(e, sp.tanh):
        return 1 - 2 / (sp.exp(2 * u) + 1)
    if isinstance(e, sp.sinh):
        return (sp.exp(u) - sp.exp(-u)) / 2
    if isinstance(e, sp.cosh):
        return (sp.exp(u) + sp.exp(-u)) / 2
    return sp.log(u + sp.sqrt(u ** 2 + 1))
