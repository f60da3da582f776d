"""spectra.symbolic bounds: the classic bound, the horizon, the leaky bound, Pascanu's conditions.

Independent truth: exact brute force with Python Fractions for the horizon,
explicit numpy products of step Jacobians of random small networks for the
bounds (with gamma_h from the symbolic layer), and the equality case of
scaled orthogonal linear networks.
"""

import json
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import spectra
from spectra import init, symbolic

S = symbolic.symbols
R = sp.Rational


# ---------------------------------------------------------------------------------------
# Formulas and their LaTeX


def test_gradient_bound_formula():
    b = symbolic.gradient_bound()
    assert b.rhs == (S["gamma_W"] * S["gamma_h"]) ** (S["t"] - S["k"])
    assert b.relation == "<=" and not b.is_numeric
    assert b.latex == (r"\left\|\frac{\partial h_t}{\partial h_k}\right\|_2 \le "
                       r"\left(\gamma_{W} \gamma_{h}\right)^{t - k}")
    assert symbolic.gradient_bound(gamma_W=0.9, gamma_h="tanh", lag=10).rhs == R(9, 10) ** 10
    assert symbolic.gradient_bound(gamma_W=3, gamma_h="sigmoid", lag=2).rhs == R(9, 16)
    assert b.subs(gamma_W=2, gamma_h=R(1, 4)).rhs == R(1, 2) ** (S["t"] - S["k"])
    assert float(b.subs(gamma_W=2, gamma_h=R(1, 4), lag=3)) == 0.125
    # gamma_h from a user activation via the symbolic layer
    x = symbolic.x
    r = symbolic.gamma_h(x / (1 + sp.Abs(x)))
    assert symbolic.gradient_bound(gamma_W=R(1, 2), gamma_h=r, lag=4).rhs == R(1, 16)


def test_leaky_bound_formula():
    b = symbolic.leaky_bound()
    a, q = S["alpha"], S["gamma_W"] * S["gamma_h"]
    assert sp.simplify(b.rhs - (a + (1 - a) * q) ** (S["t"] - S["k"])) == 0
    assert b.latex == (r"\left\|\frac{\partial h_t}{\partial h_k}\right\|_2 \le "
                       r"\left(\alpha + \gamma_{W} \gamma_{h} \left(1 - \alpha\right)\right)^{t - k}")
    # alpha = 0 is the classic bound; alpha = 1 freezes the state (bound 1)
    assert symbolic.leaky_bound(alpha=0, gamma_W=R(3, 2), gamma_h=1, lag=3).rhs == \
        symbolic.gradient_bound(gamma_W=R(3, 2), gamma_h=1, lag=3).rhs
    assert symbolic.leaky_bound(alpha=1, gamma_W=7, gamma_h=1, lag=5).rhs == 1
    assert symbolic.leaky_bound(alpha=0.5, gamma_W=2, gamma_h="sigmoid", lag=2).rhs == R(9, 16)


def test_horizon_formula_and_derivation():
    hz = symbolic.horizon()
    q, e = S["gamma_W"] * S["gamma_h"], S["epsilon"]
    expected = sp.Piecewise((sp.floor(sp.log(e) / sp.log(q)) + 1, q < 1), (sp.oo, True))
    assert hz.rhs == expected
    assert hz.latex == (r"\min\left\{t - k : \left(\gamma_{W} \gamma_{h}\right)^{t - k} < \varepsilon\right\} = "
                        + symbolic.paper_latex(expected))
    # partially numeric: a formula in eps
    assert symbolic.horizon(gamma_W=R(1, 2), gamma_h=1).rhs == sp.floor(sp.log(e) / sp.log(R(1, 2))) + 1
    assert symbolic.horizon(gamma_W=R(1, 2), gamma_h=1).subs(eps=0.001).rhs == 10


def _brute_force_horizon(q, eps):
    """Smallest L >= 1 with q^L < eps, by exact iteration (q in [0, 1), eps in (0, 1))."""
    L, power = 1, q
    while not power < eps:
        L, power = L + 1, power * q
    return L


@settings(max_examples=40)
@given(q=st.fractions(0, 1, max_denominator=40).filter(lambda v: v < 1),
       eps=st.fractions(0, 1, max_denominator=10 ** 6).filter(lambda v: 0 < v < 1))
def test_horizon_equals_exact_brute_force(q, eps):
    got = symbolic.horizon(eps, gamma_W=q, gamma_h=1).rhs
    assert got == _brute_force_horizon(q, eps)


@pytest.mark.parametrize("q,eps,expected", [
    (Fraction(1, 2), Fraction(1, 8), 4),          # q^3 = eps exactly: 3 is not enough
    (Fraction(1, 10), Fraction(1, 1000), 4),
    (Fraction(2, 3), Fraction(4, 9), 3),
    (Fraction(0), Fraction(1, 2), 1),
    (Fraction(1), Fraction(1, 2), sp.oo),          # the bound never falls: oo
    (Fraction(3, 2), Fraction(1, 2), sp.oo),
])
def test_horizon_edge_cases(q, eps, expected):
    assert symbolic.horizon(eps, gamma_W=q, gamma_h=1).rhs == expected


def test_horizon_with_irrational_gamma():
    # gamma_h of the logistic sigmoid (1/4) times gamma_W = 2 sqrt 2: q = 1/sqrt(2), q^4 = 1/4
    got = symbolic.horizon(R(1, 4), gamma_W=2 * sp.sqrt(2), gamma_h="sigmoid").rhs
    assert got == 5
    got = symbolic.horizon(0.01, gamma_W=2 * sp.sqrt(2), gamma_h="sigmoid").rhs
    assert got == _brute_force_horizon_float(float(1 / sp.sqrt(2)), 0.01)


def _brute_force_horizon_float(q, eps):
    L = 1
    while not q ** L < eps:
        L += 1
    return L


def test_pascanu_conditions():
    c = symbolic.pascanu_conditions()
    assert c.vanishing == sp.StrictLessThan(S["gamma_W"], 1 / S["gamma_h"])
    assert c.exploding == sp.StrictGreaterThan(S["gamma_W"], 1 / S["gamma_h"])
    assert c.regime == "symbolic"
    assert c.latex == (r"\gamma_{W} < \frac{1}{\gamma_{h}} \;\Rightarrow\; \text{vanishing}, \qquad "
                       r"\text{exploding} \;\Rightarrow\; \gamma_{W} > \frac{1}{\gamma_{h}}")
    assert symbolic.pascanu_conditions(gamma_W=3.5, gamma_h="sigmoid").regime == "vanishing guaranteed"
    assert symbolic.pascanu_conditions(gamma_W=4, gamma_h="sigmoid").regime == "undetermined"
    assert symbolic.pascanu_conditions(gamma_W=1.2, gamma_h="tanh").regime == "exploding possible"
    # a sympy relation in one remaining symbol
    c = symbolic.pascanu_conditions(gamma_h="sigmoid")
    assert c.vanishing == sp.StrictLessThan(S["gamma_W"], 4)


@settings(max_examples=30)
@given(gw=st.fractions(0, 5, max_denominator=50), gh=st.fractions(0, 3, max_denominator=50))
def test_pascanu_conditions_against_closed_form(gw, gh):
    c = symbolic.pascanu_conditions(gamma_W=gw, gamma_h=gh)
    q = gw * gh
    assert bool(c.vanishing) == (q < 1)
    assert bool(c.exploding) == (q > 1)
    assert c.regime == ("vanishing guaranteed" if q < 1 else "undetermined" if q == 1
                        else "exploding possible")
    if q < 1:   # the bound then falls below any eps: a finite horizon
        assert symbolic.horizon(Fraction(1, 100), gamma_W=gw, gamma_h=gh).rhs.is_finite


# ---------------------------------------------------------------------------------------
# The bounds hold on random small networks (numpy products, symbolic gamma_h)


def _products(traj):
    """||dh_T/dh_{T-lag}||_2 for lag = 1..T by explicit numpy products."""
    Js = traj.jacobians()
    T, n = Js.shape[0], Js.shape[1]
    P, out = np.eye(n), []
    for t in range(T - 1, -1, -1):
        P = P @ Js[t]
        out.append(np.linalg.norm(P, 2))
    return np.array(out)


@settings(max_examples=20)
@given(seed=st.integers(0, 2 ** 32 - 1),
       cell=st.sampled_from(["elman", "recurrent_first"]),
       n=st.sampled_from([2, 3]),
       activation=st.sampled_from(["tanh", "sigmoid", "relu", "softplus", "elu", "silu", "gelu"]),
       gain=st.floats(0.2, 2.5))
def test_gradient_bound_holds_on_random_networks(seed, cell, n, activation, gain):
    rng = np.random.default_rng(seed)
    W = init.gaussian(n, gain=gain, rng=rng)
    cls = spectra.ElmanRNN if cell == "elman" else spectra.RecurrentFirstRNN
    net = cls(W, rng.standard_normal((n, 1)), rng.standard_normal(n), activation=activation)
    traj = net.run(rng.standard_normal((12, 1)), h0=rng.standard_normal(n))
    norms = _products(traj)
    gamma_W = float(np.linalg.norm(W, 2))
    for lag, value in enumerate(norms, start=1):
        bound = float(symbolic.gradient_bound(gamma_W=gamma_W, gamma_h=activation, lag=lag).rhs)
        assert value <= bound * (1 + 1e-10) + 1e-300


@settings(max_examples=15)
@given(seed=st.integers(0, 2 ** 32 - 1), alpha=st.floats(0.0, 1.0), gain=st.floats(0.2, 2.5),
       activation=st.sampled_from(["tanh", "sigmoid", "silu"]))
def test_leaky_bound_holds_on_random_networks(seed, alpha, gain, activation):
    rng = np.random.default_rng(seed)
    n = 3
    W = init.gaussian(n, gain=gain, rng=rng)
    net = spectra.LeakyRNN(W, rng.standard_normal((n, 1)), activation=activation, alpha=alpha)
    traj = net.run(rng.standard_normal((10, 1)), h0=rng.standard_normal(n))
    gamma_W = float(np.linalg.norm(W, 2))
    for lag, value in enumerate(_products(traj), start=1):
        bound = float(symbolic.leaky_bound(alpha=alpha, gamma_W=gamma_W, gamma_h=activation, lag=lag).rhs)
        assert value <= bound * (1 + 1e-10)


@pytest.mark.parametrize("gain", [0.5, 1.0, 1.7])
def test_bound_is_attained_by_scaled_orthogonal_linear_networks(gain):
    # f = identity, W = g Q: every product has norm exactly g^lag, the bound
    W = init.orthogonal(3, gain=gain, rng=1)
    traj = spectra.ElmanRNN(W, activation="identity").run(steps=8, h0=np.ones(3))
    g = float(np.linalg.norm(W, 2))
    for lag, value in enumerate(_products(traj), start=1):
        bound = float(symbolic.gradient_bound(gamma_W=g, gamma_h="identity", lag=lag).rhs)
        assert value == pytest.approx(bound, rel=1e-12)


def test_to_dict_is_json():
    for obj in (symbolic.gradient_bound(gamma_W=2, gamma_h=R(1, 4), lag=3), symbolic.horizon(),
                symbolic.pascanu_conditions(gamma_W=1, gamma_h=1)):
        d = json.loads(json.dumps(obj.to_dict()))
        assert "latex" in d
    assert symbolic.gradient_bound(gamma_W=2, gamma_h=R(1, 4), lag=3).to_dict()["value"] == 0.125


# ---------------------------------------------------------------------------------------
# Bad arguments


BAD = [
    ("eps negative", lambda: symbolic.horizon(-0.5, gamma_W=0.5, gamma_h=1), ValueError, r"`eps` must be > 0"),
    ("eps zero", lambda: symbolic.horizon(0, gamma_W=0.5, gamma_h=1), ValueError, "`eps`"),
    ("gamma_W negative", lambda: symbolic.gradient_bound(gamma_W=-1), ValueError, "`gamma_W` must be >= 0"),
    ("gamma_W string", lambda: symbolic.gradient_bound(gamma_W="big"), TypeError, "`gamma_W`"),
    ("gamma_h unknown", lambda: symbolic.gradient_bound(gamma_h="mish"), ValueError,
     "`gamma_h` must be an activation name"),
    ("lag fraction", lambda: symbolic.gradient_bound(lag=2.5), ValueError, "`lag` must be a non-negative integer"),
    ("lag negative", lambda: symbolic.leaky_bound(lag=-1), ValueError, "`lag`"),
    ("alpha range", lambda: symbolic.leaky_bound(alpha=2), ValueError, r"`alpha` must lie in \[0, 1\]"),
    ("subs unknown", lambda: symbolic.gradient_bound().subs(beta=1), TypeError, "beta"),
    ("float of symbolic", lambda: float(symbolic.gradient_bound()), TypeError, "still has symbols"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- the symbolic layer as a witness for the numeric bounds API ---------------------------------

@given(st.integers(1, 320).map(lambda k: Fraction(k, 64)),   # dyadic: exact as floats too
       st.sampled_from(["tanh", "sigmoid", "relu", "identity"]),
       st.sampled_from([Fraction(1, 10), Fraction(1, 1000), Fraction(1, 10 ** 6), Fraction(3, 7)]))
@settings(max_examples=40, deadline=None)
def test_numeric_bounds_agree_with_symbolic(gw, act, eps):
    """spectra.horizon / pascanu_bound / regime against the exact symbolic statements."""
    W = float(gw) * np.eye(2)                      # gamma_W = gw exactly
    gh = spectra.gamma_h(act)
    sym_h = symbolic.horizon(eps, gamma_W=gw, gamma_h=symbolic.gamma_h(symbolic.activation_expr(act)).value)
    num_h = spectra.horizon(W, act, float(eps))
    assert (num_h == math.inf and sym_h.rhs == sp.oo) or num_h == int(sym_h.rhs)
    for lag in (0, 1, 5, 17):
        exact = symbolic.gradient_bound(gamma_W=gw, gamma_h=gh, lag=lag).rhs
        assert spectra.pascanu_bound(W, act, lag) == pytest.approx(float(exact), rel=1e-14)
    cond = symbolic.pascanu_conditions(gamma_W=gw, gamma_h=gh)
    assert spectra.regime(W, act, rtol=0.0).regime == cond.regime
