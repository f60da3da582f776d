r"""Symbolic gradient bounds: (gamma_W gamma_h)^(t-k), the horizon, the leaky bound, Pascanu.

Every function returns an exact sympy statement: with symbols by default,
with exact numbers when values are given (floats are read as the decimal
they print as, 0.9 -> 9/10), so a bound in a paper can be quoted exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .._core.results import Result, to_jsonable
from ._functions import exact_number
from ._structural import paper_latex

__all__ = ["Formula", "PascanuConditions", "gradient_bound", "leaky_bound", "horizon",
           "pascanu_conditions", "symbols"]

gamma_W = sp.Symbol("gamma_W", positive=True)
gamma_h = sp.Symbol("gamma_h", positive=True)
t = sp.Symbol("t", integer=True)
k = sp.Symbol("k", integer=True)
alpha = sp.Symbol("alpha", nonnegative=True)
epsilon = sp.Symbol("epsilon", positive=True)

#: The symbols of the formulas, by name.
symbols = {"gamma_W": gamma_W, "gamma_h": gamma_h, "t": t, "k": k, "alpha": alpha,
           "epsilon": epsilon}

_NORM = r"\left\|\frac{\partial h_t}{\partial h_k}\right\|_2"
_RELATIONS = {"<=": r"\le", "<": "<", "=": "=", ">": ">", ">=": r"\ge"}


@dataclass(frozen=True, repr=False)
class Formula(Result):
    r"""An exact statement ``lhs relation rhs`` with its LaTeX.

    Attributes
    ----------
    name : str
        ``"gradient_bound"``, ``"leaky_bound"`` or ``"horizon"``.
    lhs : str
        LaTeX of the quantity bounded or defined (e.g. the norm of dh_t/dh_k).
    relation : {"<=", "=", "<", ">", ">="}
    rhs : sympy.Expr
        The formula, in the symbols of :data:`symbols` or exact numbers.
    note : str
        Conditions and caveats.

    Examples
    --------
    >>> from spectra import symbolic
    >>> b = symbolic.gradient_bound()
    >>> b.rhs
    (gamma_W*gamma_h)**(-k + t)
    >>> print(b.latex)
    \left\|\frac{\partial h_t}{\partial h_k}\right\|_2 \le \left(\gamma_{W} \gamma_{h}\right)^{t - k}
    >>> b.subs(gamma_W=0.9, gamma_h="tanh", lag=10).rhs
    3486784401/10000000000
    """

    name: str
    lhs: str
    relation: str
    rhs: sp.Expr
    note: str = ""
    params: tuple = field(default=(), repr=False)

    @property
    def latex(self) -> str:
        return f"{self.lhs} {_RELATIONS[self.relation]} {paper_latex(self.rhs)}"

    @property
    def is_numeric(self) -> bool:
        return not self.rhs.free_symbols

    def subs(self, **values) -> "Formula":
        """The same formula with (more) values given, e.g. ``b.subs(gamma_W=0.9, lag=10)``."""
        return _BUILDERS[self.name](**dict(self.params, **values))

    def __float__(self) -> float:
        if not self.is_numeric:
            raise TypeError(f"{self.name} still has symbols {sorted(map(str, self.rhs.free_symbols))}")
        return float(self.rhs)

    def to_dict(self) -> dict:
        """The statement as JSON: ``rhs`` as a string, its ``value`` as a float when it has
        no symbols (``"inf"`` for oo), and :attr:`latex`."""
        return to_jsonable({
            "name": self.name,
            "lhs": self.lhs,
            "relation": self.relation,
            "rhs": str(self.rhs),
            "value": float(self.rhs) if self.is_numeric else None,
            "note": self.note,
            "latex": self.latex,
        })


def _params(**kwargs):
    return tuple((name, value) for name, value in kwargs.items() if value is not None)


def _lag(value):
    if isinstance(value, sp.Basic):
        if not isinstance(value, sp.Expr):
            raise TypeError(f"`lag` must be an integer or a sympy expression; got {value!r}")
        return value
    v = exact_number(value, "lag")
    if not v.is_integer or v < 0:
        raise ValueError(f"`lag` must be a non-negative integer; got {value!r}")
    return v


def _value(v, name):
    """An exact sympy value for a parameter; gamma_h may be a Supremum or an activation."""
    from ..cells.activations import Activation
    from ._sup import Supremum, gamma_h as _gamma_h

    if v is None:
        return symbols[name]
    if name == "gamma_h":
        if isinstance(v, (str, Activation)):
            try:
                v = _gamma_h(v)
            except ValueError as exc:           # name the caller's argument, not gamma_h's `expr`
                raise ValueError(str(exc).replace("`expr`", f"`{name}`", 1)) from None
        if isinstance(v, Supremum):
            return v.value
    arg = "eps" if name == "epsilon" else name
    v = exact_number(v, arg)
    if v.is_number:
        if v.is_real is False:
            raise ValueError(f"`{arg}` must be real; got {v}")
        if name in ("gamma_W", "gamma_h") and v.is_negative:
            raise ValueError(f"`{arg}` must be >= 0; got {v}")
        if name == "alpha" and (v.is_negative or (v - 1).is_positive):
            raise ValueError(f"`alpha` must lie in [0, 1]; got {v}")
        if name == "epsilon" and not v.is_positive:
            raise ValueError(f"`eps` must be > 0; got {v}")
    return v


def _exponent(lag):
    return t - k if lag is None else _lag(lag)


def gradient_bound(*, gamma_W=None, gamma_h=None, lag=None) -> Formula:
    r"""The bound ||dh_t/dh_k||_2 <= (gamma_W gamma_h)^(t-k) (Pascanu et al. 2013, eq. 12).

    Parameters
    ----------
    gamma_W : number or sympy expression, optional
        ||W||_2 (a symbol when omitted).
    gamma_h : number, sympy expression, Supremum, activation name or Activation, optional
        sup|f'|; a name or an Activation is resolved with :func:`gamma_h`
        (exact for the registry except silu, whose certified value is a Float).
    lag : int, optional
        t - k (symbolic when omitted).

    Returns
    -------
    Formula

    Notes
    -----
    From ||J_i||_2 <= ||W||_2 ||diag(f'(.))||_2 <= gamma_W gamma_h for each of
    the t - k step Jacobians and submultiplicativity of the norm.

    Examples
    --------
    >>> from spectra import symbolic
    >>> symbolic.gradient_bound(gamma_W=3, gamma_h="sigmoid", lag=2).rhs
    9/16
    """
    q = _value(gamma_W, "gamma_W") * _value(gamma_h, "gamma_h")
    rhs = q ** _exponent(lag)
    return Formula("gradient_bound", _NORM, "<=", rhs,
                   note="holds for the Elman and recurrent-first cells (any h, x) with "
                        "gamma_W = ||W||_2 and gamma_h = sup|f'|",
                   params=_params(gamma_W=gamma_W, gamma_h=gamma_h, lag=lag))


def leaky_bound(*, alpha=None, gamma_W=None, gamma_h=None, lag=None) -> Formula:
    r"""The leaky-unit bound ||dh_t/dh_k||_2 <= (alpha + (1 - alpha) gamma_W gamma_h)^(t-k).

    For h_t = alpha h_{t-1} + (1 - alpha) f(a_t) with a scalar alpha in
    [0, 1] (Jaeger et al. 2007): J_t = alpha I + (1 - alpha) diag(f'(a_t)) W,
    so ||J_t||_2 <= alpha + (1 - alpha) gamma_W gamma_h by the triangle
    inequality.  alpha = 0 gives :func:`gradient_bound`.

    Examples
    --------
    >>> from spectra import symbolic
    >>> symbolic.leaky_bound(alpha=0.5, gamma_W=1, gamma_h=1, lag=3).rhs
    1
    >>> symbolic.leaky_bound().rhs
    (alpha + gamma_W*gamma_h*(1 - alpha))**(-k + t)
    """
    a = _value(alpha, "alpha")
    q = _value(gamma_W, "gamma_W") * _value(gamma_h, "gamma_h")
    rhs = (a + (1 - a) * q) ** _exponent(lag)
    return Formula("leaky_bound", _NORM, "<=", rhs,
                   note="leaky units with one alpha in [0, 1]; per-unit alpha: use max(alpha) "
                        "for alpha and min(alpha) in (1 - alpha)",
                   params=_params(alpha=alpha, gamma_W=gamma_W, gamma_h=gamma_h, lag=lag))


def horizon(eps=None, *, gamma_W=None, gamma_h=None) -> Formula:
    r"""The smallest lag at which the classic bound falls below eps.

    The library's one horizon convention (:mod:`spectra.analysis.bounds`):
    the smallest integer L >= 0 with (gamma_W gamma_h)^L < eps, lag 0 being
    the identity (bound 1), so any eps > 1 gives 0 and 0 < eps <= 1 a lag
    L >= 1.  With q = gamma_W gamma_h in (0, 1), solving q^L = eps
    (sympy ``solveset``) gives L* = log(eps) / log(q), and the horizon is
    floor(L*) + 1 (not ceil(L*): when L* is an integer, q^L* = eps is not
    below eps).  For q = 0 it is 1.  For q >= 1 the bound never falls below
    eps <= 1: the classic bound cannot certify vanishing, and the horizon is
    oo (gradients may or may not vanish; the bound says nothing).  The
    formula with a symbolic eps is the one for 0 < eps <= 1.

    Parameters
    ----------
    eps : number or sympy expression, optional
        The threshold, eps > 0 (a symbol when omitted).
    gamma_W, gamma_h : optional
        As in :func:`gradient_bound`.

    Returns
    -------
    Formula
        ``rhs`` is a Piecewise in the symbols, or an Integer / ``oo`` when
        all values are given.

    Examples
    --------
    >>> from spectra import symbolic
    >>> symbolic.horizon(1e-3, gamma_W=0.5, gamma_h=1).rhs     # 2^-10 < 1e-3 <= 2^-9
    10
    >>> symbolic.horizon(0.125, gamma_W=0.5, gamma_h=1).rhs    # 2^-3 = eps is not below it
    4
    >>> symbolic.horizon(0.1, gamma_W=2, gamma_h="sigmoid").rhs   # q = 1/2
    4
    >>> symbolic.horizon(0.1, gamma_W=1.2, gamma_h="tanh").rhs
    oo
    >>> symbolic.horizon(2, gamma_W=1.2, gamma_h="tanh").rhs          # eps > 1: lag 0
    0
    """
    e = _value(eps, "epsilon")
    q = _value(gamma_W, "gamma_W") * _value(gamma_h, "gamma_h")
    L = sp.Symbol("L", real=True)
    qs, es = sp.Symbol("q", positive=True), sp.Symbol("e", positive=True)
    # solveset gives {log(e)/log(q)}: the lag at which the bound equals eps
    threshold = _only(sp.solveset(sp.Eq(qs ** L, es), L, sp.S.Reals)).subs({qs: q, es: e})
    note = ("smallest integer lag L >= 0 with (gamma_W gamma_h)^L < eps (lag 0: the identity, "
            "so 0 for eps > 1; the formula is for 0 < eps <= 1); oo when gamma_W gamma_h >= 1 "
            "and eps <= 1 (the classic bound never certifies vanishing then)")
    lhs = r"\min\left\{t - k : \left(\gamma_{W} \gamma_{h}\right)^{t - k} < \varepsilon\right\}"
    if e.is_number and (e - 1).is_positive:
        rhs = sp.S.Zero
    elif q.is_number:
        if q == 0:
            rhs = sp.S.One
        elif not (q < 1):
            rhs = sp.oo
        elif e.is_number:
            rhs = _floor_log_ratio(e, q) + 1
        else:
            rhs = sp.floor(threshold) + 1
    else:
        rhs = sp.Piecewise((sp.floor(threshold) + 1, q < 1), (sp.oo, True))
    return Formula("horizon", lhs, "=", rhs, note,
                   params=_params(eps=eps, gamma_W=gamma_W, gamma_h=gamma_h))


def _only(solution):
    """The single element of solveset's answer {log(e)/log(q)} (possibly wrapped)."""
    parts = [solution] if isinstance(solution, sp.FiniteSet) else list(solution.atoms(sp.FiniteSet))
    elements = {el for part in parts for el in part}
    if len(elements) != 1:
        raise RuntimeError(f"unexpected solution {solution} of q**L = e")
    return elements.pop()


def _floor_log_ratio(e, q):
    """floor(log(e) / log(q)) exactly for exact numbers e, q in (0, 1).

    When the ratio is an integer m (q^m = e exactly, e.g. q = 1/2, e = 1/8)
    the nearest-integer test at 60 digits is confirmed by exact arithmetic;
    otherwise the ratio is at least 1e-40 from every integer and its floor is
    read from 60 digits.
    """
    r = sp.N(sp.log(e) / sp.log(q), 60)
    m = sp.Integer(int(sp.floor(r + sp.Rational(1, 2))))
    if abs(r - m) < sp.Float("1e-40"):
        gap = q ** m - e
        if gap == 0 or sp.simplify(gap) == 0:
            return m
    return sp.Integer(int(sp.floor(r)))


@dataclass(frozen=True, repr=False)
class PascanuConditions(Result):
    r"""The conditions of Pascanu, Mikolov & Bengio (2013) on gamma_W.

    Attributes
    ----------
    vanishing : sympy relational or bool
        ``gamma_W < 1/gamma_h``: sufficient for vanishing gradients.
    exploding : sympy relational or bool
        ``gamma_W > 1/gamma_h``: necessary for exploding gradients.
    regime : str
        With values, the labels of :func:`spectra.regime`:
        ``"vanishing guaranteed"`` (the sufficient condition holds),
        ``"undetermined"`` (gamma_W gamma_h = 1: no explosion, no guaranteed
        vanishing), ``"exploding possible"`` (the necessary condition holds;
        explosion is possible, not certain).  ``"symbolic"`` without values.
    gamma_W, gamma_h : sympy.Expr
        The values the conditions were stated for (symbols when not given).

    Examples
    --------
    >>> from spectra import symbolic
    >>> c = symbolic.pascanu_conditions(gamma_W=2, gamma_h="sigmoid")
    >>> c.regime, c.vanishing
    ('vanishing guaranteed', True)
    >>> c.to_dict()["gamma_h"]
    '1/4'
    """

    vanishing: object
    exploding: object
    regime: str
    gamma_W: sp.Expr
    gamma_h: sp.Expr

    @property
    def latex(self) -> str:
        gw, gh = paper_latex(gamma_W), paper_latex(gamma_h)
        return (rf"{gw} < \frac{{1}}{{{gh}}} \;\Rightarrow\; \text{{vanishing}}, \qquad "
                rf"\text{{exploding}} \;\Rightarrow\; {gw} > \frac{{1}}{{{gh}}}")

    def to_dict(self) -> dict:
        """The conditions and values as strings (sympy objects are not JSON), the regime
        and :attr:`latex`."""
        return to_jsonable({
            "vanishing": str(self.vanishing),
            "exploding": str(self.exploding),
            "regime": self.regime,
            "gamma_W": str(self.gamma_W),
            "gamma_h": str(self.gamma_h),
            "latex": self.latex,
        })


def pascanu_conditions(*args, gamma_W=None, gamma_h=None) -> PascanuConditions:
    r"""gamma_W < 1/gamma_h (sufficient for vanishing), gamma_W > 1/gamma_h (necessary for exploding).

    Examples
    --------
    >>> from spectra import symbolic
    >>> c = symbolic.pascanu_conditions()
    >>> c.vanishing, c.exploding
    (gamma_W < 1/gamma_h, gamma_W > 1/gamma_h)
    >>> symbolic.pascanu_conditions(gamma_W=3.5, gamma_h="sigmoid").regime
    'vanishing guaranteed'
    >>> symbolic.pascanu_conditions(gamma_W=1.2, gamma_h="tanh").regime
    'exploding possible'
    """
    if args:
        raise TypeError(f"pascanu_conditions takes keyword arguments only (gamma_W=..., gamma_h=..., "
                        f"e.g. gamma_h={args[0]!r}); got {len(args)} positional argument(s)")
    gw = _value(gamma_W, "gamma_W")
    gh = _value(gamma_h, "gamma_h")
    if gh.is_number and gh == 0:
        van, exp = sp.true, sp.false
    else:
        van = sp.StrictLessThan(gw, 1 / gh)
        exp = sp.StrictGreaterThan(gw, 1 / gh)
    if isinstance(van, sp.logic.boolalg.BooleanAtom) and isinstance(exp, sp.logic.boolalg.BooleanAtom):
        # the vocabulary of the numeric spectra.regime
        regime = ("vanishing guaranteed" if van else "exploding possible" if exp
                  else "undetermined")
    else:
        regime = "symbolic"
    return PascanuConditions(van, exp, regime, gw, gh)


_BUILDERS = {"gradient_bound": gradient_bound, "leaky_bound": leaky_bound, "horizon": horizon}
