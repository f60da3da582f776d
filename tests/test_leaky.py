"""Leaky integration: the eigenvalue shift alpha + (1 - alpha) lambda, and slower-fading gradients."""

import json
import math

import numpy as np
import pytest

import spectra
from spectra import init


def test_alpha_samples_are_uniform_on_the_seed_interval():
    a = spectra.leaky_alpha(20000, rng=0)
    assert a.min() > 0.02 and a.max() < 0.2
    # mean 0.11 and variance 0.18^2 / 12 of U(0.02, 0.2), within 5 standard errors
    se_mean = 0.18 / math.sqrt(12) / math.sqrt(a.size)
    assert abs(a.mean() - 0.11) < 5 * se_mean
    var = 0.18 ** 2 / 12
    se_var = math.sqrt((0.18 ** 4 / 80 - var ** 2) / a.size)     # fourth central moment of U
    assert abs(a.var() - var) < 5 * se_var
    np.testing.assert_array_equal(spectra.leaky_alpha(5, rng=3), spectra.leaky_alpha(5, rng=3))


@pytest.mark.parametrize("alpha", [0.02, 0.1, 0.2, 0.5])
def test_linear_units_shift_every_eigenvalue_towards_one(alpha, rng):
    # symmetric positive definite W with rho = 0.8 and identity units: ||J^lag|| = rho^lag, and
    # with leak (alpha I + (1 - alpha) W)^lag has norm (alpha + (1 - alpha) rho)^lag exactly
    Q = init.orthogonal(6, rng=rng)
    lam = np.array([0.8, 0.7, 0.5, 0.4, 0.2, 0.1])
    W = Q @ np.diag(lam) @ Q.T
    cell = spectra.ElmanRNN(W, activation="identity")
    cmp = spectra.leaky_comparison(cell, steps=80, alpha=alpha, eps=1e-3)
    lags = np.arange(1, 81)
    np.testing.assert_allclose(cmp.log_norms_standard, lags * math.log(0.8), rtol=1e-11)
    shifted = alpha + (1 - alpha) * 0.8
    np.testing.assert_allclose(cmp.log_norms_leaky, lags * math.log(shifted), rtol=1e-11)
    assert cmp.slope_leaky == pytest.approx(math.log(shifted), rel=1e-10)
    assert cmp.horizon_standard == spectra.horizon(W, "identity", 1e-3)
    assert cmp.horizon_leaky == spectra.horizon(shifted * np.eye(2), "identity", 1e-3)
    assert cmp.horizon_leaky > cmp.horizon_standard


def test_leak_speeds_up_the_decay_of_a_negative_eigenvalue():
    # the shift is towards +1: lambda = -0.9 becomes 0.1 - 0.81 = -0.71
    cmp = spectra.leaky_comparison(spectra.ElmanRNN(-0.9 * np.eye(3), activation="identity"),
                                   steps=20, alpha=0.1)
    assert cmp.slope_leaky == pytest.approx(math.log(0.71), rel=1e-10)
    assert cmp.slope_leaky < cmp.slope_standard


def test_seed_leak_can_slow_or_speed_the_decay_and_the_rate_reading_slows_it():
    # Eq. 14 with alpha_i ~ U(0.02, 0.2) on random contracting tanh networks (fixed seeds): the
    # gradient fades more slowly for some networks and faster for others.  The linear prediction,
    # rho(diag(alpha) + diag(1 - alpha) W) against rho(W), decides whenever it is clear-cut
    # (ratio outside [0.9, 1.02]); near 1 the tanh factors f'(a_t) decide.  The leak-rate reading
    # (keep 1 - alpha_i in (0.8, 0.98)) slows the decay at least five-fold for every seed.
    n = 20
    slower = []
    for seed in range(12):
        cell = spectra.ElmanRNN(init.gaussian(n, gain=0.8, rng=seed),
                                0.3 * init.gaussian(n, 2, rng=seed + 50))
        x = np.random.default_rng(seed + 100).standard_normal((60, 2))
        alpha = spectra.leaky_alpha(n, rng=seed)
        seed_reading = spectra.leaky_comparison(cell, x, alpha=alpha, eps=1e-8)
        rate_reading = spectra.leaky_comparison(cell, x, alpha=1 - alpha, eps=1e-8)
        W = np.asarray(cell.W_hh)
        ratio = (np.max(np.abs(np.linalg.eigvals(np.diag(alpha) + (1 - alpha)[:, None] * W)))
                 / np.max(np.abs(np.linalg.eigvals(W))))
        is_slower = seed_reading.slope_leaky > seed_reading.slope_standard
        if ratio > 1.02:
            assert is_slower
        if ratio < 0.9:
            assert not is_slower
        slower.append(is_slower)
        assert rate_reading.slope_leaky > 0.2 * seed_reading.slope_standard
        assert rate_reading.horizon_leaky >= seed_reading.horizon_standard
        assert seed_reading.bound_leaky == pytest.approx(spectra.leaky_bound(W, "tanh", alpha))
        assert seed_reading.bound_standard == pytest.approx(spectra.gamma_W(cell))
    assert 0 < sum(slower) < len(slower)              # both happen among these seeds
    assert json.loads(json.dumps(seed_reading.to_dict()))["eps"] == 1e-8


def test_bounds_hold_for_both_profiles(rng):
    cell = spectra.ElmanRNN(init.orthogonal(10, gain=0.9, rng=rng), init.gaussian(10, 1, rng=rng))
    x = rng.standard_normal((50, 1))
    cmp = spectra.leaky_comparison(cell, x, alpha=0.15)
    lags = cmp.lags
    assert np.all(cmp.log_norms_standard <= lags * math.log(cmp.bound_standard) + 1e-10)
    assert np.all(cmp.log_norms_leaky <= lags * math.log(cmp.bound_leaky) + 1e-10)
