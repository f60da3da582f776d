"""Activations against high-precision references (mpmath) and their gamma = sup|f'|."""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

import spectra

mp.mp.dps = 50

X = sp.Symbol("x", real=True)
_SIG = 1 / (1 + sp.exp(-X))

# Reference expressions; their derivatives come from sympy, evaluated at 400 digits.
REFERENCES = {
    ("tanh", ()): sp.tanh(X),
    ("sigmoid", ()): _SIG,
    ("identity", ()): X,
    ("softplus", ()): sp.log(1 + sp.exp(X)),
    ("softplus", (("beta", 2.5),)): sp.log(1 + sp.exp(sp.Rational(5, 2) * X)) / sp.Rational(5, 2),
    ("elu", ()): sp.Piecewise((X, X > 0), (sp.exp(X) - 1, True)),
    ("elu", (("alpha", 1.7),)): sp.Piecewise((X, X > 0), (sp.Rational(17, 10) * (sp.exp(X) - 1), True)),
    ("relu", ()): sp.Piecewise((X, X > 0), (0, True)),
    ("leaky_relu", (("slope", 0.2),)): sp.Piecewise((X, X > 0), (X / 5, True)),
    ("hard_tanh", ()): sp.Piecewise((-1, X < -1), (X, X < 1), (1, True)),
    ("silu", ()): X * _SIG,
    ("gelu", ()): X * (1 + sp.erf(X / sp.sqrt(2))) / 2,
}


def _exact(expr, order, x):
    d = sp.diff(expr, X, order) if order else expr
    # 400 digits: the references cancel (1 - tanh^2, 1 + erf) far into saturation
    return float(d.subs(X, sp.Float(float(x), 400)).evalf(400))


POINTS = np.array([-30.0, -7.5, -2.0, -0.7, -0.1, 0.05, 0.3, 1.1, 2.4, 6.0, 19.0, 35.0])


@pytest.mark.parametrize("key", list(REFERENCES), ids=lambda k: k[0] + "".join(f"-{v}" for _, v in k[1]))
def test_f_df_d2f_match_high_precision(key):
    name, params = key
    act = spectra.activation(name, **dict(params))
    expr = REFERENCES[key]
    f, df, d2f = act.f(POINTS), act.df(POINTS), act.d2f(POINTS)
    for i, x in enumerate(POINTS):
        for order, got, what in ((0, f[i], "f"), (1, df[i], "df"), (2, d2f[i], "d2f")):
            exact = _exact(expr, order, x)
            assert got == pytest.approx(exact, rel=1e-12, abs=1e-300), \
                f"{name}{params} {what}({x}) = {got!r}, want {exact!r}"


@pytest.mark.parametrize("x", [-25.0, -12.0, 12.0, 25.0, 300.0])
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "silu", "gelu"])
def test_derivative_keeps_relative_accuracy_in_saturation(name, x):
    # 1 - tanh(x)^2 would give exactly 0 here; the derivative is tiny but not 0.
    act = spectra.activation(name)
    exact = _exact(REFERENCES[(name, ())], 1, x)
    got = float(act.df(np.array([x]))[0])
    if abs(exact) < 1e-300:  # below the normal float64 range: only 0 or a subnormal is right
        assert abs(got - exact) < 1e-300
    else:
        assert abs(got - exact) <= 1e-12 * abs(exact)


def _sup_abs_df_by_grid(act):
    xs = np.linspace(-40, 40, 400001)
    return float(np.max(np.abs(act.df(xs))))


@pytest.mark.parametrize("name,params,expected", [
    ("tanh", {}, 1.0),
    ("sigmoid", {}, 0.25),
    ("relu", {}, 1.0),
    ("leaky_relu", {"slope": 0.01}, 1.0),
    ("leaky_relu", {"slope": -3.0}, 3.0),
    ("identity", {}, 1.0),
    ("softplus", {}, 1.0),
    ("elu", {"alpha": 1.0}, 1.0),
    ("elu", {"alpha": 2.5}, 2.5),
    ("hard_tanh", {}, 1.0),
])
def test_gamma_closed_forms(name, params, expected):
    act = spectra.activation(name, **params)
    assert act.gamma == expected
    # independent check: the grid maximum never exceeds gamma and gets close to it
    grid = _sup_abs_df_by_grid(act)
    assert grid <= expected * (1 + 1e-15)
    assert grid >= expected * (1 - 1e-3)


def test_gamma_silu_and_gelu_by_high_precision_root():
    # sup f' is at the root of f'' (silu: x tanh(x/2) = 2; gelu: x = sqrt 2)
    silu = lambda x: x / (1 + mp.exp(-x))
    x_star = mp.findroot(lambda x: mp.diff(silu, x, 2), 2.4)
    assert spectra.activation("silu").gamma == pytest.approx(float(mp.diff(silu, x_star)), rel=1e-15)
    gelu = lambda x: x * mp.ncdf(x)
    assert spectra.activation("gelu").gamma == pytest.approx(float(mp.diff(gelu, mp.sqrt(2))), rel=1e-15)
    for name in ("silu", "gelu"):
        act = spectra.activation(name)
        grid = _sup_abs_df_by_grid(act)
        assert act.gamma * (1 - 1e-9) <= grid <= act.gamma * (1 + 1e-15)


@pytest.mark.parametrize("name", spectra.available_activations())
def test_stable_for_huge_inputs(name):
    x = np.array([-1e4, -800.0, -710.0, -50.0, 0.0, 50.0, 710.0, 800.0, 1e4])
    act = spectra.activation(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            values = [act.f(x), act.df(x), act.d2f(x)]
    for v in values:
        assert v.shape == x.shape
        assert np.all(np.isfinite(v))
    assert np.all(np.abs(values[1]) <= act.gamma * (1 + 1e-15))


def test_float32_preserved():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for name in spectra.available_activations():
        act = spectra.activation(name)
        assert act.f(x).dtype == np.float32, name
        assert act.df(x).dtype == np.float32, name


def test_conventions_at_kinks():
    relu = spectra.activation("relu")
    assert relu.df(np.array([0.0]))[0] == 0.0  # PyTorch's convention
    ht = spectra.activation("hard_tanh")
    assert np.array_equal(ht.df(np.array([-1.0, 1.0, 0.99])), [0.0, 0.0, 1.0])


def test_lookup_aliases_and_identity():
    assert spectra.activation("Logistic") == spectra.activation("sigmoid")
    assert spectra.activation("leaky_relu", negative_slope=0.3).kwargs == {"slope": 0.3}
    act = spectra.activation("tanh")
    assert spectra.activation(act) is act
    assert act(0.5) == pytest.approx(math.tanh(0.5))


def test_user_defined_activation():
    act = spectra.Activation("cube_root_ish", f=np.arctan, df=lambda x: 1 / (1 + np.asarray(x) ** 2),
                             gamma=1.0)
    assert act.gamma == 1.0
    with pytest.raises(ValueError, match="`gamma`"):
        spectra.Activation("bad", f=np.arctan, df=np.arctan, gamma=-1.0)
    with pytest.raises(TypeError, match="`f`"):
        spectra.Activation("bad", f=3, df=np.arctan, gamma=1.0)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: spectra.activation("swishy"), ValueError, "`activation` must be one of"),
    (lambda: spectra.activation(3), TypeError, "`activation` must be a name"),
    (lambda: spectra.activation("tanh", slope=1), TypeError, "takes no parameters"),
    (lambda: spectra.activation("elu", alpha=-1), ValueError, "`alpha`"),
    (lambda: spectra.activation("softplus", beta=0), ValueError, "`beta`"),
    (lambda: spectra.activation("leaky_relu", slope=float("nan")), ValueError, "`slope`"),
    (lambda: spectra.activation("hard_tanh", min_val=1, max_val=0), ValueError, "`min_val`"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
