"""mean_field against an independent mpmath evaluation (issue 20): 1e-12 for any variance.

The reference runs the same recursion in 20-digit arithmetic, with every
expectation an mpmath tanh-sinh quadrature split at the kinks of f and at
multiples of the Gaussian's width.
"""

import mpmath as mp
import numpy as np
import pytest

import spectra


def _sig(x):
    return 1 / (1 + mp.exp(-x))


def _Phi(x):
    return mp.erfc(-x / mp.sqrt(2)) / 2


MP = {   # name: (f, f'), at the registry's default parameters
    "tanh": (mp.tanh, lambda x: mp.sech(x) ** 2),
    "sigmoid": (_sig, lambda x: _sig(x) * (1 - _sig(x))),
    "relu": (lambda x: x if x > 0 else mp.mpf(0), lambda x: mp.mpf(1) if x > 0 else mp.mpf(0)),
    "leaky_relu": (lambda x: x if x > 0 else mp.mpf("0.01") * x,
                   lambda x: mp.mpf(1) if x > 0 else mp.mpf("0.01")),
    "identity": (lambda x: x, lambda x: mp.mpf(1)),
    "softplus": (lambda x: mp.log1p(mp.exp(x)), _sig),
    "elu": (lambda x: x if x > 0 else mp.expm1(x), lambda x: mp.mpf(1) if x > 0 else mp.exp(x)),
    "hard_tanh": (lambda x: max(mp.mpf(-1), min(mp.mpf(1), x)),
                  lambda x: mp.mpf(1) if -1 < x < 1 else mp.mpf(0)),
    "silu": (lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
    "gelu": (lambda x: x * _Phi(x), lambda x: _Phi(x) + x * mp.npdf(x)),
}


def _mp_mean(g, q):
    s = mp.sqrt(q)
    cuts = {mp.mpf(0)}
    for c in (1, 3, 10, 30, s, 3 * s, 10 * s):
        cuts |= {mp.mpf(c), -mp.mpf(c)}
    pts = [-mp.inf, *sorted(cuts), mp.inf]
    val = mp.quad(lambda x: g(x) * mp.exp(-x * x / (2 * q)), pts)
    return val / mp.sqrt(2 * mp.pi * q)


def _mp_mean_field(name, depth, sw, sb, q0):
    f, df = MP[name]
    sw, sb = mp.mpf(sw), mp.mpf(sb)
    q, chi = [], []
    ql = sw * mp.mpf(q0) + sb
    for _ in range(depth):
        q.append(ql)
        chi.append(sw * _mp_mean(lambda x: df(x) ** 2, ql))
        ql = sw * _mp_mean(lambda x: f(x) ** 2, ql) + sb
    return np.array(q, dtype=float), np.array(chi, dtype=float)


def test_every_registered_activation_has_a_reference():
    assert set(MP) == set(spectra.available_activations())


@pytest.mark.parametrize("name", sorted(MP))
@pytest.mark.parametrize("sw,sb", [(0.5, 0.0), (1.0, 0.05), (4.0, 0.0), (9.0, 0.0),
                                   (25.0, 0.1), (100.0, 0.0)])
def test_mean_field_matches_mpmath(name, sw, sb):
    with mp.workdps(20):
        q_ref, chi_ref = _mp_mean_field(name, 3, sw, sb, 1.0)
    mf = spectra.mean_field(name, 3, weight_var=sw, bias_var=sb)
    np.testing.assert_allclose(mf.q, q_ref, rtol=1e-12, atol=0)
    np.testing.assert_allclose(mf.chi, chi_ref, rtol=1e-12, atol=0)


def test_small_input_variance():
    # q tiny: f'^2 is nearly constant over the Gaussian, which is narrow
    with mp.workdps(20):
        q_ref, chi_ref = _mp_mean_field("tanh", 2, 1.5, 0.0, 1e-8)
    mf = spectra.mean_field("tanh", 2, weight_var=1.5, q0=1e-8)
    np.testing.assert_allclose(mf.q, q_ref, rtol=1e-12)
    np.testing.assert_allclose(mf.chi, chi_ref, rtol=1e-12)
