"""spectra.analysis.freeprob against closed forms, free-probability identities and simulations."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

import spectra
from spectra.analysis import (fuss_catalan_density, fuss_catalan_moments, gaussian_expectation,
                              jacobian_spectrum)


def test_linear_gaussian_moments_are_fuss_catalan():
    for L in (1, 2, 3, 5):
        sp = jacobian_spectrum("identity", L, weights="gaussian", order=7)
        exact = [math.comb((L + 1) * k, k) / (L * k + 1) for k in range(1, 8)]
        assert np.allclose(sp.moments, exact, rtol=1e-12, atol=0)
        assert sp.variance == pytest.approx(L, rel=1e-14)          # Fuss-Catalan: m2 - 1 = L
        assert sp.variance == pytest.approx(spectra.analysis.linear_gaussian_spread(L))
    assert list(fuss_catalan_moments(1, 5)) == [1, 2, 5, 14, 42]   # Catalan


def test_linear_orthogonal_is_an_isometry_and_scaling_is_exact():
    sp = jacobian_spectrum("identity", 6, weight_var=1.3, order=5)
    assert np.allclose(sp.moments, 1.3 ** (6 * np.arange(1, 6)), rtol=1e-12)
    assert sp.variance == 0.0


@pytest.mark.parametrize("act,sw,sb", [("tanh", 1.5, 0.1), ("hard_tanh", 2.0, 0.2),
                                       ("sigmoid", 3.0, 0.5), ("relu", 2.0, 0.0)])
def test_one_layer_against_free_probability_identities(act, sw, sb):
    a = spectra.activation(act)
    q = spectra.recurrent_mean_field(math.sqrt(sw), act, math.sqrt(sb)).q \
        if act != "relu" else 1.0
    mu = [gaussian_expectation(lambda x, k=k: a.df(x) ** (2 * k), q, breakpoints=(-1, 0, 1))
          for k in (1, 2, 3)]
    orth = jacobian_spectrum(act, 1, weight_var=sw, bias_var=sb, order=3, q=q)
    # J J^T = sw D^2: its moments are sw^k mu_k
    assert np.allclose(orth.moments, [sw ** k * mu[k - 1] for k in (1, 2, 3)], rtol=1e-12)
    gauss = jacobian_spectrum(act, 1, weight_var=sw, bias_var=sb, order=3, q=q, weights="gaussian")
    # free product of D^2 with a Marchenko-Pastur (mean 1, m2 = 2, m3 = 5) element:
    # phi((ab)^2) = a2 b1^2 + a1^2 b2 - a1^2 b1^2
    m1, m2 = mu[0], mu[1]
    assert gauss.moments[0] == pytest.approx(sw * m1, rel=1e-12)
    assert gauss.moments[1] == pytest.approx(sw ** 2 * (m2 + 2 * m1 ** 2 - m1 ** 2), rel=1e-12)


@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
def test_closed_form_variance_equals_the_series(weights):
    for act, L, sw, sb in [("tanh", 8, 1.76, 0.05), ("silu", 4, 1.5, 0.1), ("gelu", 3, 1.2, 0.0)]:
        sp = jacobian_spectrum(act, L, weight_var=sw, bias_var=sb, weights=weights)
        assert sp.mean == pytest.approx(sp.moments[0], rel=1e-12)
        assert sp.variance == pytest.approx(sp.moments[1] - sp.moments[0] ** 2, rel=1e-10)
        mf = spectra.mean_field(act, 400, weight_var=sw, bias_var=sb)   # its fixed point
        assert sp.chi == pytest.approx(mf.chi[-1], rel=1e-9)


def test_fuss_catalan_density():
    x = np.linspace(0.05, 3.95, 9)
    assert np.allclose(fuss_catalan_density(1, x), np.sqrt(x * (4 - x)) / (2 * np.pi * x),
                       rtol=1e-12)
    for L in (2, 3):
        edge = (L + 1) ** (L + 1) / L ** L
        moments = [quad(lambda t: t ** k * fuss_catalan_density(L, t), 0, edge, limit=200)[0]
                   for k in (0, 1, 2, 3)]
        assert np.allclose(moments, [1.0, *fuss_catalan_moments(L, 3)], rtol=1e-8)
    assert fuss_catalan_density(2, [-1.0, 0.0, 7.0]).tolist() == [0.0, 0.0, 0.0]


def _simulated_moments(act, L, sw, sb, q, n, weights, seed):
    """First two moments of the squared singular values (see _simulated_s2)."""
    s2 = _simulated_s2(act, L, sw, sb, q, n, weights, seed)
    return np.array([s2.mean(), (s2 ** 2).mean()])


def _simulated_s2(act, L, sw, sb, q, n, weights, seed):
    """Squared singular values of D_L W_L ... D_1 W_1 for a network run at its fixed point."""
    rng = np.random.default_rng(seed)
    a = spectra.activation(act)
    x = a.f(math.sqrt(q) * rng.standard_normal(n))          # input whose pre-activations have var q
    J = np.eye(n)
    for _ in range(L):
        if weights == "gaussian":
            W = rng.standard_normal((n, n)) * math.sqrt(sw / n)
        else:
            Q, R = np.linalg.qr(rng.standard_normal((n, n)))
            W = Q * np.sign(np.diag(R)) * math.sqrt(sw)
        h = W @ x + math.sqrt(sb) * rng.standard_normal(n)
        J = a.df(h)[:, None] * (W @ J)
        x = a.f(h)
    return np.linalg.svd(J, compute_uv=False) ** 2


@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
def test_simulated_deep_tanh_jacobians_match_the_moments(weights):
    """Width 400, depth 4, 8 networks (fixed seeds) at q*: the mean of each empirical moment
    over networks lies within 4 standard errors of the wide-limit theory, the standard error
    measured from the networks' spread (7 degrees of freedom: a correct theory fails with
    probability 0.5%).  No finite-width term is added: the O(L/n) correction of these
    moments is not known in closed form for tanh (for the linear Gaussian case it is
    linear_gaussian_spread(L, n) - L, tested in test_deep)."""
    L, sw, sb, n, R = 4, 1.76, 0.05, 400, 8
    sp = jacobian_spectrum("tanh", L, weight_var=sw, bias_var=sb, weights=weights)
    est = np.array([_simulated_moments("tanh", L, sw, sb, sp.q, n, weights, s) for s in range(R)])
    mean, se = est.mean(0), est.std(0, ddof=1) / math.sqrt(R)
    assert np.all(np.abs(mean - sp.moments[:2]) < 4 * se), (mean - sp.moments[:2]) / se


@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
def test_simulated_tanh_spectra_follow_the_density(weights):
    """Depth 8 at the edge of chaos (sigma_b^2 = 1e-3) and at q*: cut the x axis at the
    octiles of the predicted density (tail masses by the trapezoid rule on a fine log grid);
    in each of 8 networks of width 300 the fraction of squared singular values per interval
    is one replica, and each interval's mean fraction lies within 4 standard errors of 1/8."""
    L, sb, n, R = 8, 1e-3, 300, 8
    sw = spectra.edge_of_chaos("tanh", math.sqrt(sb)) ** 2
    sp = jacobian_spectrum("tanh", L, weight_var=sw, bias_var=sb, weights=weights)
    x = np.geomspace(1e-14, 200.0, 6000)
    rho = sp.density(x)
    tail = np.concatenate([np.cumsum((0.5 * (x[1:] * rho[1:] + x[:-1] * rho[:-1])
                                      * np.diff(np.log(x)))[::-1])[::-1], [0.0]])
    # the Gaussian case keeps ~3% of its mass below 1e-14 (rho ~ x^(-L/(L+1)) at 0)
    assert tail[0] > 0.95 if weights == "gaussian" else tail[0] == pytest.approx(1.0, abs=1e-4)
    edges = np.interp(-np.arange(7, 0, -1) / 8.0, -tail, x)           # tail(edge_k) = k/8
    frac = np.array([np.histogram(_simulated_s2("tanh", L, sw, sb, sp.q, n, weights, 50 + r),
                                  bins=np.concatenate([[0.0], edges, [np.inf]]))[0] / n
                     for r in range(R)])
    mean, se = frac.mean(0), frac.std(0, ddof=1) / math.sqrt(R)
    assert np.all(np.abs(mean - 1 / 8) < 4 * se), (mean - 1 / 8) / se


def test_bad_arguments():
    with pytest.raises(ValueError, match="weights"):
        jacobian_spectrum("tanh", 3, weights="uniform")
    with pytest.raises(ValueError, match="depth"):
        jacobian_spectrum("tanh", 0)
    with pytest.raises(ValueError, match="q"):
        jacobian_spectrum("tanh", 3, q=-1.0)
    relu = jacobian_spectrum("relu", 3, weight_var=2.5)       # q diverges; f' is scale-free
    assert relu.q == math.inf and relu.mean == pytest.approx(1.25 ** 3, rel=1e-14)


def test_density_from_the_s_transform_is_fuss_catalan_in_the_linear_case():
    for L in (1, 2, 3):
        sp = jacobian_spectrum("identity", L, weights="gaussian")
        x = np.linspace(0.02, 1.05 * (L + 1) ** (L + 1) / L ** L, 25)
        assert np.allclose(sp.density(x), fuss_catalan_density(L, x), rtol=0, atol=1e-7)
    sp = jacobian_spectrum("identity", 5, weight_var=1.0)       # orthogonal: an atom at 1,
    x = np.array([0.5, 2.0])                                    # a Lorentzian of width eta x
    assert np.allclose(sp.density(x, eta=1e-9), 1e-9 * x / (np.pi * (x - 1) ** 2), rtol=1e-6)


@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
def test_density_integrates_to_the_series_moments(weights):
    """x rho and x^2 rho integrate (trapezoid on a fine log grid, where the density is smooth
    away from x = 0) to the first two moments of the power series."""
    sp = jacobian_spectrum("tanh", 3, weight_var=1.76, bias_var=0.05, weights=weights)
    x = np.geomspace(1e-5, 60.0, 2500)
    rho = sp.density(x)
    assert np.all(rho >= 0)
    m1 = np.trapezoid(x * rho, x)
    m2 = np.trapezoid(x * x * rho, x)
    assert m1 == pytest.approx(sp.moments[0], rel=2e-3)
    assert m2 == pytest.approx(sp.moments[1], rel=2e-3)


@pytest.mark.parametrize("bias_var,weights", [(1e-4, "orthogonal"), (1e-4, "gaussian"),
                                              (0.05, "orthogonal"), (0.05, "gaussian")])
def test_density_at_depth_32_on_the_critical_line(bias_var, weights):
    """Depth 32 at the edge of chaos, near isometry (q* = 0.046) and far from it: the density
    is found everywhere on a grid from 1e-7 to beyond the support and its first two moments
    (trapezoid on a log grid) are the power series' to 1e-3."""
    sw = spectra.edge_of_chaos("tanh", math.sqrt(bias_var)) ** 2
    sp = jacobian_spectrum("tanh", 32, weight_var=sw, bias_var=bias_var, weights=weights)
    assert sp.mean == pytest.approx(1.0, rel=1e-12)                # chi = 1 on the critical line
    x = np.geomspace(1e-7, 200.0, 4000)
    rho = sp.density(x)
    assert np.all(rho >= 0) and rho[-1] < 1e-10          # beyond the support: the eta tail
    assert np.trapezoid(x * rho, x) == pytest.approx(sp.moments[0], rel=1e-3)
    assert np.trapezoid(x * x * rho, x) == pytest.approx(sp.moments[1], rel=1e-3)
