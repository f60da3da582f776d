"""L1/L2 penalties on W_hh and spectral control: gamma_W, the spectral radius and the regime."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import spectra
from spectra import init


def test_weight_decay_scales_gamma_W_exactly(rng):
    W = init.gaussian(10, gain=1.6, rng=rng)
    path = spectra.penalty_path(W, "tanh", l2=0.5, lr=0.1, steps=40)
    g0 = np.linalg.svd(W, compute_uv=False)[0]
    np.testing.assert_allclose(path.gamma_W, g0 * 0.95 ** np.arange(41), rtol=1e-13)
    rho0 = np.max(np.abs(np.linalg.eigvals(W)))
    np.testing.assert_allclose(path.spectral_radius, rho0 * 0.95 ** np.arange(41), rtol=1e-12)
    np.testing.assert_allclose(path.W, W * 0.95 ** 40, rtol=1e-13)


@pytest.mark.parametrize("act,gain,decay", [("tanh", 1.6, 0.05), ("sigmoid", 5.0, 0.01),
                                            ("tanh", 3.0, 0.2), ("relu", 1.2, 0.001)])
def test_decay_moves_the_regime_at_the_closed_form_step(act, gain, decay, rng):
    W = init.orthogonal(6, gain=gain, rng=rng) if act != "sigmoid" else init.gaussian(6, gain=gain, rng=rng)
    m = spectra.decay_steps_to_vanishing(W, act, decay=decay)
    path = spectra.penalty_path(W, act, l2=decay, lr=1.0, steps=m + 3)
    assert path.regimes[0] == "exploding possible"
    assert path.first_vanishing == m
    assert set(path.regimes[:m]) == {"exploding possible"}
    assert set(path.regimes[m:]) == {"vanishing guaranteed"}
    gh = spectra.gamma_h(act)
    assert path.gamma_W[m] * gh < 1.0 <= path.gamma_W[m - 1] * gh


@given(st.floats(1.0, 1e6), st.floats(1e-6, 0.999))
def test_decay_steps_closed_form_is_the_first_power_below_one(g, c):
    m = spectra.decay_steps_to_vanishing(g * np.eye(2), "identity", decay=c)
    assert (1 - c) ** m * g < 1.0
    assert m == 0 or not (1 - c) ** (m - 1) * g < 1.0


def test_decay_steps_edge_cases_and_leaky_units():
    assert spectra.decay_steps_to_vanishing(0.5 * np.eye(2), "tanh", decay=0.1) == 0
    assert spectra.decay_steps_to_vanishing(2 * np.eye(2), "tanh", decay=0.0) == math.inf
    assert spectra.decay_steps_to_vanishing(2 * np.eye(2), "tanh", decay=1.0) == 1
    # leaky units with alpha in [0.1, 0.4]: need x = (1-c)^m gamma < (1 - 0.4) / (1 - 0.1) = 2/3
    cell = spectra.LeakyRNN(2 * np.eye(2), alpha=[0.1, 0.4])
    m = spectra.decay_steps_to_vanishing(cell, decay=0.1)
    assert 2 * 0.9 ** m < 2 / 3 <= 2 * 0.9 ** (m - 1)
    path = spectra.penalty_path(cell, l2=0.1, steps=m + 1)
    assert path.first_vanishing == m
    # alpha = 1 somewhere: the leaky bound never drops below 1
    assert spectra.decay_steps_to_vanishing(2 * np.eye(2), "tanh", decay=0.5, alpha=[1.0, 0.0]) == math.inf


def test_soft_threshold_shrinks_entries_and_the_measured_gamma_W(rng):
    W = init.gaussian(12, gain=1.5, rng=rng)
    path = spectra.penalty_path(W, "tanh", l1=0.01, lr=1.0, steps=60)
    expected = W.copy()
    for _ in range(60):
        expected = np.sign(expected) * np.maximum(np.abs(expected) - 0.01, 0.0)
    np.testing.assert_allclose(path.W, expected, rtol=0, atol=1e-15)
    assert np.all(np.abs(path.W) <= np.abs(W)) and np.count_nonzero(path.W) < W.size
    assert np.all(np.diff(path.gamma_W) < 0)                     # measured, for this matrix
    assert path.regimes[0] == "exploding possible" and path.regimes[-1] == "vanishing guaranteed"
    np.testing.assert_array_equal(spectra.soft_threshold(W, 0.01), np.sign(W) * np.maximum(np.abs(W) - 0.01, 0))


def test_shrinking_entries_is_not_shrinking_the_norm():
    # why the L1 path is measured: entrywise shrinking in magnitude can raise the spectral norm
    A = np.array([[1.0, 1.0], [-1.0, 1.0]])
    B = np.array([[1.0, 1.0], [0.0, 1.0]])
    assert np.all(np.abs(B) <= np.abs(A))
    assert spectra.gamma_W(B) == pytest.approx((1 + math.sqrt(5)) / 2, rel=1e-14)
    assert spectra.gamma_W(B) > spectra.gamma_W(A) == pytest.approx(math.sqrt(2), rel=1e-14)


@pytest.mark.parametrize("target", [0.5, 0.95, 1.0, 3.0])
def test_spectral_radius_control_meets_the_target(target, rng):
    W = rng.standard_normal((15, 15))
    res = spectra.spectral_control(W, target, activation="tanh")
    assert res.spectral_radius_after == pytest.approx(target, rel=1e-12)
    assert np.max(np.abs(np.linalg.eigvals(res.W))) == pytest.approx(target, rel=1e-12)
    assert res.gamma_W_after == pytest.approx(res.scale * res.gamma_W_before, rel=1e-13)
    norm = spectra.spectral_control(W, target, measure="norm", activation="tanh")
    assert norm.gamma_W_after == pytest.approx(target, rel=1e-13)
    assert norm.regime_after == ("vanishing guaranteed" if target < 1 else
                                 "undetermined" if target == 1 else "exploding possible")


def test_spectral_radius_below_one_does_not_guarantee_vanishing():
    # a non-normal W: rho = 0.9 after control, but gamma_W > 1 (transient growth)
    W = np.triu(np.ones((6, 6)), 1) + 0.5 * np.eye(6)
    res = spectra.spectral_control(W, 0.9, activation="tanh")
    assert res.spectral_radius_after == pytest.approx(0.9, rel=1e-12)
    assert res.gamma_W_after > 1 and res.regime_after == "exploding possible"
    # and the gradient really grows for a while: ||W^k|| > 1 for a linear network
    Wk = np.linalg.matrix_power(res.W, 3)
    assert np.linalg.norm(Wk, 2) > 1
    norm = spectra.spectral_control(W, 0.9, measure="norm", activation="tanh")
    assert norm.regime_after == "vanishing guaranteed" and norm.spectral_radius_after < 0.9


def test_only_above_is_a_projection(rng):
    W = 0.5 * init.orthogonal(5, rng=rng)
    res = spectra.spectral_control(W, 0.9, only_above=True)
    assert res.scale == 1.0 and np.array_equal(res.W, W) and res.regime_after is None
    res = spectra.spectral_control(3 * W, 0.9, only_above=True, measure="norm")
    assert res.gamma_W_after == pytest.approx(0.9, rel=1e-13)


def test_cells_supply_matrix_activation_and_alpha(rng):
    cell = spectra.LeakyRNN(init.orthogonal(4, gain=2.0, rng=rng), alpha=0.3, activation="sigmoid")
    res = spectra.spectral_control(cell, 0.5, measure="norm")
    assert res.regime_before == spectra.regime(cell).regime
    assert res.regime_after == spectra.regime(res.W, "sigmoid", alpha=0.3).regime
    path = spectra.penalty_path(cell, l2=0.1, steps=3)
    assert path.gamma_h == 0.25
    assert json.loads(json.dumps(path.to_dict()))["steps"] == [0, 1, 2, 3]
    assert json.loads(json.dumps(res.to_dict()))["measure"] == "norm"


def test_nilpotent_matrix_cannot_be_rescaled():
    with pytest.raises(ValueError, match="nilpotent"):
        spectra.spectral_control(np.triu(np.ones((3, 3)), 1), 0.9)
    with pytest.raises(ValueError, match="zero"):
        spectra.spectral_control(np.zeros((3, 3)), 0.9, measure="norm")
