"""spectra.symbolic: activation expressions, exact derivatives, gamma_h / sup_abs, their LaTeX.

Independent truth: closed forms worked out by hand, a dense float64 grid of
|f'| refined by mpmath root finding at 40 digits (an independent maximiser,
sharing only sympy's differentiation with the code under test), and the
numeric registry of spectra.activation.
"""

import json
import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import spectra
from spectra import symbolic

x = symbolic.x
R = sp.Rational


# ---------------------------------------------------------------------------------------
# An independent maximiser of |h| on [-L, L]


def _independent_sup(h, *, L=60.0, points=120001):
    """max |h| by a float64 grid on [-L, L], refined by mpmath findroot of h' at 40 digits.

    Returns (value, point) as mpmath numbers; the value is exact to ~30 digits
    when the maximum is an interior critical point.
    """
    hn = sp.lambdify(x, h, modules=["scipy", "numpy"])
    grid = np.linspace(-L, L, points)
    with np.errstate(all="ignore"):
        vals = np.abs(np.broadcast_to(np.asarray(hn(grid), dtype=float), grid.shape))
    vals = np.where(np.isfinite(vals), vals, -1.0)
    i = int(np.argmax(vals))
    with mpmath.workdps(40):
        hm = sp.lambdify(x, h, modules="mpmath")
        dh = sp.lambdify(x, sp.diff(h, x), modules="mpmath")
        best = (mpmath.mpf(abs(hm(mpmath.mpf(grid[i])))), mpmath.mpf(grid[i]))
        if 0 < i < points - 1:
            try:
                c = mpmath.findroot(dh, (mpmath.mpf(grid[i - 1]), mpmath.mpf(grid[i + 1])),
                                    solver="anderson")
                v = abs(hm(c))
                if v > best[0]:
                    best = (+v, +c)
            except (ValueError, ZeroDivisionError):
                pass
    return best


# ---------------------------------------------------------------------------------------
# The registry mapping


PARAMS = {
    "leaky_relu": [{}, {"slope": 0.2}, {"slope": -3.0}],
    "softplus": [{}, {"beta": 2.5}],
    "elu": [{}, {"alpha": 1.7}, {"alpha": 0.3}],
    "hard_tanh": [{}, {"min_val": -2.0, "max_val": 0.5}],
}
REGISTRY_CASES = [(name, params) for name in spectra.available_activations()
                  for params in PARAMS.get(name, [{}])]
CASE_IDS = [name + "".join(f"-{v}" for v in p.values()) for name, p in REGISTRY_CASES]


def test_every_registry_name_has_an_expression():
    for name in spectra.available_activations():
        expr = symbolic.activation_expr(name)
        assert isinstance(expr, sp.Expr)
        assert expr.free_symbols == {x}


@pytest.mark.parametrize("name,params", REGISTRY_CASES, ids=CASE_IDS)
def test_expression_and_derivative_match_numeric_activation(name, params):
    act = spectra.activation(name, **params)
    expr = symbolic.activation_expr(name, **params)
    f = sp.lambdify(x, expr, modules=["scipy", "numpy"])
    df = sp.lambdify(x, symbolic.derivative(expr), modules=["scipy", "numpy"])
    rng = np.random.default_rng(7)
    pts = np.concatenate([rng.uniform(-6, 6, 200), [-12.5, -3.0, -0.75, 0.4, 2.25, 9.0]])
    pts = pts[np.abs(pts - np.round(pts * 4) / 4) > 1e-6] if name == "hard_tanh" else pts
    np.testing.assert_allclose(np.broadcast_to(f(pts), pts.shape), act.f(pts), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(np.broadcast_to(df(pts), pts.shape), act.df(pts), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name,params", REGISTRY_CASES, ids=CASE_IDS)
def test_gamma_h_agrees_with_numeric_registry(name, params):
    act = spectra.activation(name, **params)
    r = symbolic.gamma_h(act)
    assert r.status in ("exact", "certified")
    if r.status == "exact":
        # exactly representable values must agree exactly; others to the last bit or so
        value = float(r.value)
        assert act.gamma == pytest.approx(value, rel=2 ** -51, abs=0)
        if sp.nsimplify(value) == r.value:
            assert act.gamma == value
    else:
        lo, hi = map(float, r.bracket)
        ulp = math.ulp(float(r.value))
        assert lo - ulp <= act.gamma <= hi + ulp


def _bracket(r):
    return tuple(mpmath.mpf(str(sp.N(b, 45))) for b in r.bracket)


@pytest.mark.parametrize("name,params", REGISTRY_CASES, ids=CASE_IDS)
def test_gamma_h_against_independent_maximiser(name, params):
    expr = symbolic.activation_expr(name, **params)
    r = symbolic.gamma_h(expr)
    df = symbolic.derivative(expr)
    value, _ = _independent_sup(df)
    with mpmath.workdps(40):
        lo, hi = _bracket(r)
        # the independent maximiser never exceeds the certified upper bound ...
        assert value <= hi * (1 + mpmath.mpf(10) ** -30)
        if not r.attained:
            # ... approached at +-oo (softplus): |f'| far out comes within 1e-25 of it
            assert r.argmax in (sp.oo, -sp.oo)
            far = sp.N(abs(df.subs(x, 200 * sp.sign(r.argmax))), 40)
            value = mpmath.mpf(str(far))
        # ... and reaches the lower bound (to 25 digits at a critical point)
        assert value >= lo * (1 - mpmath.mpf(10) ** -25)


def test_activation_expr_parameters():
    assert symbolic.activation_expr("leaky_relu", negative_slope=0.25) == \
        sp.Piecewise((x, x > 0), (x / 4, True))
    assert symbolic.activation_expr("softplus", beta=2) == sp.log(1 + sp.exp(2 * x)) / 2
    y = sp.Symbol("y", real=True)
    assert symbolic.activation_expr("tanh", x=y) == sp.tanh(y)
    a = sp.Symbol("a", positive=True)
    assert symbolic.activation_expr("elu", alpha=a).has(a)       # symbolic parameters are kept
    act = spectra.activation("elu", alpha=2.5)
    assert symbolic.activation_expr(act) == symbolic.activation_expr("elu", alpha=R(5, 2))
    assert symbolic.activation_expr("swish") == symbolic.activation_expr("silu")


# ---------------------------------------------------------------------------------------
# gamma_h: closed forms


@pytest.mark.parametrize("expr,value,attained,argmax", [
    (sp.tanh(x), 1, True, 0),
    (1 / (1 + sp.exp(-x)), R(1, 4), True, 0),
    (sp.log(1 + sp.exp(x)), 1, False, sp.oo),                # softplus: approached at +oo
    (sp.Max(0, x), 1, True, None),
    (sp.Min(sp.Max(x, -1), 1), 1, True, None),
    (x / (1 + sp.Abs(x)), 1, True, 0),                       # softsign: kink at 0
    (sp.atan(x), 1, True, 0),
    (sp.erf(x), 2 / sp.sqrt(sp.pi), True, 0),
    (sp.sin(x), 1, True, None),                              # periodic
    (sp.sin(x) + x / 2, R(3, 2), True, None),
    (x * sp.exp(-x ** 2), 1, True, 0),
    (sp.log(sp.cosh(x)), 1, False, None),                    # tanh, approached at +-oo
    (x * sp.atan(x), sp.pi / 2, False, None),
    (sp.tanh(x - 1000), 1, True, 1000),
    (sp.tanh(x) ** 3, R(3, 4), True, None),
    (sp.Integer(3), 0, True, None),
    (5 * x - 2, 5, True, None),
    (x * (1 + sp.erf(x / sp.sqrt(2))) / 2,                   # gelu
     R(1, 2) + sp.erf(1) / 2 + sp.exp(-1) / sp.sqrt(sp.pi), True, sp.sqrt(2)),
])
def test_gamma_h_closed_forms(expr, value, attained, argmax):
    r = symbolic.gamma_h(expr, x)
    assert r.status == "exact"
    assert sp.simplify(r.value - value) == 0
    assert r.bracket == (r.value, r.value)
    assert r.attained is attained
    if argmax is not None:
        assert r.argmax == argmax
    assert r.proven_on == sp.S.Reals


@pytest.mark.parametrize("expr,where", [
    (sp.Heaviside(x), 0),                     # a jump: one-sided difference quotients blow up
    (sp.Piecewise((x, x < 1), (x + 1, True)), 1),
    (sp.sqrt(sp.Abs(x)), 0),                  # continuous, derivative unbounded at the kink
    (sp.cbrt(x), None),
    (x ** 2, None),                           # unbounded at infinity
    (sp.exp(x), sp.oo),
    (1 / x, 0),                               # undefined point with an infinite limit
])
def test_gamma_h_unbounded(expr, where):
    r = symbolic.gamma_h(expr, x)
    assert r.value is sp.oo and r.status == "exact" and not r.attained
    if where is not None:
        assert r.argmax == where


@settings(max_examples=6)
@given(a=st.fractions(-5, 5, max_denominator=9).filter(lambda v: v != 0),
       b=st.fractions(-5, 5, max_denominator=9).filter(lambda v: v != 0))
def test_gamma_h_scaled_families(a, b):
    a, b = R(a.numerator, a.denominator), R(b.numerator, b.denominator)
    assert symbolic.gamma_h(a * sp.tanh(b * x)).value == abs(a * b)
    assert symbolic.gamma_h(a / (1 + sp.exp(-b * x))).value == abs(a * b) / 4


@pytest.mark.parametrize("slope", [R(1, 100), R(-1, 2), R(7, 3), R(-5, 1), 0])
def test_gamma_h_leaky_relu_is_max_of_one_and_slope(slope):
    r = symbolic.gamma_h(symbolic.activation_expr("leaky_relu", slope=slope))
    assert r.value == max(1, abs(slope)) and r.status == "exact"


@pytest.mark.parametrize("alpha", [R(1, 10), 1, R(5, 2), 0])
def test_gamma_h_elu_is_max_of_one_and_alpha(alpha):
    r = symbolic.gamma_h(symbolic.activation_expr("elu", alpha=alpha))
    assert r.value == max(1, alpha) and r.status == "exact"
    # for alpha > 1 the sup is the left derivative at the kink 0, attained there
    assert r.attained and (alpha <= 1 or r.argmax == 0)


# ---------------------------------------------------------------------------------------
# gamma_h: certified values (transcendental critical points)


def test_silu_is_certified_at_the_root_of_x_tanh_half_x_equals_2():
    r = symbolic.gamma_h("silu")
    assert r.status == "certified" and r.attained
    with mpmath.workdps(50):
        lo, hi = _bracket(r)
        assert lo <= mpmath.mpf(str(r.value)) <= hi
        assert (hi - lo) / lo < mpmath.mpf(10) ** -19              # far beyond 15 digits
        c = mpmath.findroot(lambda t: t * mpmath.tanh(t / 2) - 2, 2.4)
        s = 1 / (1 + mpmath.exp(-c))
        exact = s * (1 + c * (1 - s))                               # silu'(c)
        assert lo <= exact <= hi
        assert abs(mpmath.mpf(str(r.argmax)) - c) < mpmath.mpf(10) ** -25
    assert r.proven_on == sp.S.Reals
    assert r.latex.startswith(r"\sup_{x \in \mathbb{R}} \left|\frac{d}{d x} \frac{x}{1 + e^{- x}}\right| \approx 1.09983932012886")


@pytest.mark.parametrize("expr", [
    x * sp.tanh(sp.log(1 + sp.exp(x))),            # mish
    (x - 100) / (1 + sp.exp(100 - x)),             # silu moved far out: found beyond the window
    sp.tanh(x) / (1 + sp.exp(-x)),
], ids=["mish", "silu-shifted", "tanh-sigmoid"])
def test_certified_brackets_contain_independent_maximum(expr):
    r = symbolic.gamma_h(expr)
    assert r.status == "certified"
    value, point = _independent_sup(sp.diff(expr, x), L=200.0, points=400001)
    with mpmath.workdps(40):
        lo, hi = _bracket(r)
        assert (hi - lo) <= lo * mpmath.mpf(10) ** -15
        assert lo * (1 - mpmath.mpf(10) ** -25) <= value <= hi * (1 + mpmath.mpf(10) ** -25)
        assert abs(point - mpmath.mpf(str(r.argmax))) < 1e-8


@pytest.mark.parametrize("h", [sp.sin(x) / (1 + x ** 2), x ** 2 * sp.exp(-x ** 2) * (2 + sp.sin(x))],
                         ids=["sin-over-quadratic", "gaussian-times-oscillation"])
def test_sup_abs_certified_for_oscillating_functions(h):
    r = symbolic.sup_abs(h)
    assert r.status == "certified" and r.proven_on == sp.S.Reals
    value, _ = _independent_sup(h, L=30.0, points=300001)
    with mpmath.workdps(40):
        lo, hi = _bracket(r)
        assert lo * (1 - mpmath.mpf(10) ** -25) <= value <= hi * (1 + mpmath.mpf(10) ** -25)


def test_unproven_tails_are_reported_as_numerical(monkeypatch):
    from spectra.symbolic import _sup

    monkeypatch.setattr(_sup, "_TAIL_ATTEMPTS", 0)     # give up on the tails at once
    r = _sup._sup_cached.__wrapped__(x / (1 + sp.exp(-x)), x, "gamma_h")
    assert r.status == "numerical"
    assert isinstance(r.proven_on, sp.Interval) and r.proven_on.is_finite_set is False
    assert r.proven_on.contains(r.argmax) and r.proven_on.end < sp.oo
    assert "tails could not be proven" in r.note
    certified = symbolic.gamma_h("silu")
    assert r.bracket[0] <= certified.value <= r.bracket[1]


def test_sup_abs_and_kinds():
    r = symbolic.sup_abs(x * sp.exp(-x ** 2))
    assert sp.simplify(r.value - sp.exp(-R(1, 2)) / sp.sqrt(2)) == 0
    assert abs(r.argmax) == 1 / sp.sqrt(2)
    assert r.kind == "sup_abs" and r.function == x * sp.exp(-x ** 2)
    # a discontinuous h is fine for sup_abs (not for gamma_h)
    assert symbolic.sup_abs(sp.Heaviside(x) * 2 - 3).value == 3
    assert symbolic.sup_abs(sp.exp(-x ** 2) * sp.cos(x) ** 0).value == 1


def test_derivative_is_piecewise_at_kinks():
    assert symbolic.derivative(sp.Max(0, x)) == sp.Piecewise((0, x <= 0), (1, True))
    d = symbolic.derivative(sp.Abs(x))
    assert d.subs(x, 2) == 1 and d.subs(x, -2) == -1
    assert sp.simplify(symbolic.derivative(sp.tanh(x), n=2) - sp.diff(sp.tanh(x), x, 2)) == 0
    assert symbolic.derivative(sp.tanh(x), n=0) == sp.tanh(x)


def test_variable_assumptions_do_not_restrict_the_line():
    y = sp.Symbol("y", positive=True)   # the sup is still over all reals: attained at 0
    r = symbolic.gamma_h(sp.tanh(2 * y), y)
    assert r.value == 2 and r.attained and r.argmax == 0
    assert r.x is y and r.expr.has(y)
    z = sp.Symbol("z")                  # no assumptions at all
    assert symbolic.gamma_h(sp.Lambda(z, sp.tanh(3 * z))).value == 3


def test_undecidable_cases_raise():
    with pytest.raises(NotImplementedError, match="no limit"):
        symbolic.gamma_h(x * sp.sin(x))


# ---------------------------------------------------------------------------------------
# Results: LaTeX, dicts


def test_latex_of_gamma_h():
    assert symbolic.gamma_h(sp.tanh(x)).latex == \
        r"\sup_{x \in \mathbb{R}} \left|\frac{d}{d x} \tanh{\left(x \right)}\right| = 1"
    assert symbolic.gamma_h(1 / (1 + sp.exp(-x))).latex == \
        r"\sup_{x \in \mathbb{R}} \left|\frac{d}{d x} \frac{1}{1 + e^{- x}}\right| = \frac{1}{4}"
    r = symbolic.gamma_h("gelu")
    lhs, rhs = r.latex.split(" = ")
    assert rhs == sp.latex(r.value)
    assert float(r.value) == pytest.approx(0.5 * (1 + math.erf(1)) + math.exp(-1) / math.sqrt(math.pi),
                                           rel=1e-15)
    assert symbolic.sup_abs(sp.cos(x)).latex == \
        r"\sup_{x \in \mathbb{R}} \left|\cos{\left(x \right)}\right| = 1"


def test_to_dict_is_json():
    for r in (symbolic.gamma_h("silu"), symbolic.gamma_h(sp.log(1 + sp.exp(x)))):
        d = json.loads(json.dumps(r.to_dict()))
        assert d["status"] == r.status
        assert d["bracket"][0] <= d["value"] <= d["bracket"][1]
    assert symbolic.gamma_h("sigmoid").to_dict()["value_exact"] == "1/4"
    assert float(symbolic.gamma_h("sigmoid")) == 0.25


def test_module_is_lazy_and_listed():
    assert "symbolic" in spectra._LAZY_MODULES
    assert spectra.symbolic.gamma_h is symbolic.gamma_h
    for name in symbolic.__all__:
        assert hasattr(symbolic, name)


def test_symbolic_guide_page_runs_and_prints_what_it_says():
    """docs/user/symbolic.rst (the README's symbolic section before issue 18) prints what it shows."""
    import doctest
    import pathlib

    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "user" / "symbolic.rst"
    text = page.read_text()
    test = doctest.DocTestParser().get_doctest(text, {}, "symbolic.rst", str(page), 0)
    want = {ex.source.split("(")[0] + "(" + ex.source.split("(")[1].split(",")[0]: ex.want
            for ex in test.examples if ex.source.startswith("print(")}
    assert want["print(r.value"].splitlines()[0] == "1 exact"
    latex = want["print(r.value"].splitlines()[1]
    assert f"``{latex}``" in text            # the LaTeX printed is the LaTeX quoted in the prose
    assert want["print(J.verified"].startswith("True " + r"\frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}")
    assert want["print(b.rhs"].startswith("66 ") and want["print(b.rhs"].rstrip().endswith("= 66")
    assert 0.9 ** 66 < 1e-3 <= 0.9 ** 65
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


# ---------------------------------------------------------------------------------------
# Bad arguments


y_ = sp.Symbol("y")

BAD = [
    ("gamma_h object", lambda: symbolic.gamma_h(object()), TypeError, "`expr` must be a sympy expression"),
    ("gamma_h two symbols", lambda: symbolic.gamma_h(x * y_), ValueError, "`expr` must depend on one variable"),
    ("gamma_h extra symbol", lambda: symbolic.gamma_h(x * y_, x), ValueError, r"also has \['y'\]"),
    ("gamma_h x not symbol", lambda: symbolic.gamma_h(sp.tanh(x), 3), TypeError, "`x` must be a sympy Symbol"),
    ("gamma_h complex", lambda: symbolic.gamma_h(sp.I * x), ValueError, "`expr` must be a real expression"),
    ("gamma_h not defined", lambda: symbolic.gamma_h(sp.log(x)), ValueError, "defined on the whole real line"),
    ("gamma_h unknown name", lambda: symbolic.gamma_h("mish"), ValueError, "`expr` must be an activation name"),
    ("gamma_h Lambda arity", lambda: symbolic.gamma_h(sp.Lambda((x, y_), x + y_)), ValueError, "one variable"),
    ("activation_expr value", lambda: symbolic.activation_expr("elu", alpha=-1), ValueError, "`alpha`"),
    ("activation_expr param", lambda: symbolic.activation_expr("tanh", slope=1), TypeError, "takes no parameters"),
    ("activation_expr type", lambda: symbolic.activation_expr(3), TypeError, "`name`"),
    ("activation_expr x", lambda: symbolic.activation_expr("tanh", x="x"), TypeError, "`x` must be a sympy Symbol"),
    ("activation_expr nan", lambda: symbolic.activation_expr("elu", alpha=float("nan")), ValueError, "`alpha` must be finite"),
    ("activation_expr bool", lambda: symbolic.activation_expr("elu", alpha=True), TypeError, "`alpha`"),
    ("derivative n", lambda: symbolic.derivative(sp.tanh(x), n=-1), ValueError, "`n` must be >= 0"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
