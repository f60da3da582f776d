"""Scale safety (issue 20): step Jacobians scaled by 10^s, s in [-300, 300].

Scaling commutes with everything measured here, so each check has an exact
reference computed from the unscaled steps:

* every step times c: log singular values and norm-profile entries shift by
  lag * log c, Lyapunov exponents by log c;
* one step times c: every log singular value of a span containing it shifts
  by log c, every Lyapunov exponent by log(c) / T (the QR of c Z is Q (c R)).
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import spectra
from spectra.linalg.graded import column_norms

LN10 = np.log(10.0)


def _steps(kind, n, T, seed):
    rng = np.random.default_rng(seed)
    if kind == "constant":
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        return np.broadcast_to(Q * 0.9, (T, n, n)).copy()
    return rng.standard_normal((T, n, n)) / np.sqrt(n)


def _scaled(base, kind, s, where):
    c = 10.0 ** s
    out = base.copy()
    if kind == "outlier":
        out[where] *= c
    else:
        out *= c
    return out


def _shift(kind, s, T):
    """log-scale added to every Lyapunov exponent."""
    return s * LN10 / T if kind == "outlier" else s * LN10


scales = st.integers(-300, 300)
kinds = st.sampled_from(["constant", "random", "outlier"])


@given(kinds, scales, st.integers(0, 2**31 - 1),
       st.sampled_from(["auto", 1, 2, 3, 7, 16]), st.sampled_from([None, 1]))
@settings(max_examples=60)
def test_lyapunov_is_scale_safe(kind, s, seed, schedule, k):
    n, T = 3, 40
    base = _steps(kind, n, T, seed)
    where = T // 2
    J = _scaled(base, kind, s, where)
    ref = spectra.lyapunov_spectrum(base, reorth_every=1, k=k, rng=0).exponents + _shift(kind, s, T)
    got = spectra.lyapunov_spectrum(J, reorth_every=schedule, k=k, rng=0).exponents
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-8)


@given(kinds, scales, st.integers(0, 2**31 - 1))
@settings(max_examples=40)
def test_products_and_profiles_are_scale_safe(kind, s, seed):
    n, T = 3, 30
    base = _steps(kind, n, T, seed)
    where = 7
    J = _scaled(base, kind, s, where)
    lags = np.arange(1, T + 1)
    if kind == "outlier":                # the outlier is step 8: in spans of lag >= T - 7
        shift = np.where(lags >= T - where, s * LN10, 0.0)
    else:
        shift = lags * s * LN10
    ref = spectra.product_log_singular_values(base) + shift[-1]
    got = spectra.product_log_singular_values(J)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-8)
    for ord in (2, "fro"):
        ref = spectra.gradient_norm_profile(base, ord=ord).log_norms + shift
        got = spectra.gradient_norm_profile(J, ord=ord).log_norms
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-8)
    v = np.arange(1.0, n + 1)
    ref = spectra.gradient_norm_profile(base, vector=v).log_norms + shift
    got = spectra.gradient_norm_profile(J, vector=v).log_norms
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("s", [-300, -200, 200, 300])
def test_lyapunov_full_spectrum_wy_path_is_scale_safe(s):
    # n >= 48 takes the compact-WY path with its own in-place normalisation
    n, T = 48, 12
    base = _steps("random", n, T, 5)
    ref = spectra.lyapunov_spectrum(base, reorth_every=1).exponents + s * LN10
    for schedule in ("auto", 3):
        got = spectra.lyapunov_spectrum(base * 10.0 ** s, reorth_every=schedule).exponents
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-8)


def test_issue_examples():
    # 100 steps of 1e-200 I: exponents log(1e-200) = -460.517...
    J = np.broadcast_to(1e-200 * np.eye(4), (100, 4, 4))
    for kw in ({}, {"k": 1}, {"reorth_every": 5}):
        np.testing.assert_allclose(spectra.lyapunov_spectrum(J, **kw).exponents, -200 * LN10,
                                   rtol=1e-14)


def test_column_norms_against_scaled_reference():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 4))
    ref = np.sqrt(np.sum(A ** 2, axis=0))
    for s in (-300, -160, 0, 160, 300):
        np.testing.assert_allclose(column_norms(A * 10.0 ** s) / 10.0 ** s, ref, rtol=1e-13)
    assert column_norms(np.zeros((3, 2))).tolist() == [0.0, 0.0]


def _elman(scale, activation="tanh", n=4, seed=0):
    W = np.random.default_rng(seed).standard_normal((n, n)) * scale
    return spectra.ElmanRNN(W, activation=activation)


def test_saturated_elman_gives_finite_exponents():
    # tanh'(a) ~ 1e-174: the exponents are finite and agree with a QR at every step
    n = 4
    W = 200.0 * np.roll(np.eye(n), 1, axis=0) + np.random.default_rng(1).standard_normal((n, n))
    traj = spectra.ElmanRNN(W, activation="tanh").run(steps=60, h0=np.full(n, 0.7))
    ref = spectra.lyapunov_spectrum(traj, reorth_every=1).exponents
    assert np.all(np.isfinite(ref)) and np.all(ref < -300)
    for kw in ({}, {"reorth_every": 4}):
        np.testing.assert_allclose(spectra.lyapunov_spectrum(traj, **kw).exponents, ref, rtol=1e-12)
    ref1 = spectra.lyapunov_spectrum(traj, k=1, rng=0, reorth_every=1).exponents
    got = spectra.lyapunov_spectrum(traj, k=1, rng=0).exponents
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, ref1, rtol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus", "elu", "silu", "gelu"])
def test_underflowed_derivatives_raise_not_minus_inf(activation):
    # weights of 1e200: f'(a) underflows to 0 although log f'(a) ~ -2e200 is finite
    cell = _elman(1e200, activation)
    with pytest.raises(spectra.NumericalError, match=rf"{activation}'\(a\) underflowed to 0"):
        spectra.gradient_norm_profile(cell.run(steps=1, h0=np.full(4, -0.5)))


def test_underflow_check_leaves_genuine_zeros_alone():
    # relu' is exactly 0 for a < 0: a genuine rank drop, reported as -inf as documented
    W = 1e200 * np.diag([1.0, -1.0, 1.0, -1.0]) + np.ones((4, 4))
    traj = spectra.ElmanRNN(W, activation="relu").run(steps=1, h0=np.full(4, 0.5))
    sv = spectra.product_log_singular_values(traj)
    assert np.isfinite(sv[0]) and np.isneginf(sv[-1])
    mlp = spectra.MLP([np.eye(3) * 1e200] * 2, activation="tanh") if hasattr(spectra, "MLP") else None
    if mlp is not None:
        with pytest.raises(spectra.NumericalError, match="underflowed"):
            mlp.run(np.ones(3))
