"""gamma_W, gamma_h, the classic and leaky bounds, horizons, regimes, the bound report."""

import math

import numpy as np
import pytest

import spectra
from spectra import init


def test_gamma_W_is_the_largest_singular_value(rng):
    W = rng.standard_normal((7, 7))
    assert spectra.gamma_W(W) == pytest.approx(np.linalg.svd(W, compute_uv=False)[0], rel=1e-14)
    cell = spectra.LeakyRNN(W, alpha=0.3)
    assert spectra.gamma_W(cell) == spectra.gamma_W(W)
    with pytest.raises(TypeError, match="no single recurrent matrix"):
        spectra.gamma_W(spectra.GRU.random(3, input_size=2, rng=0))


@pytest.mark.parametrize("name,value", [("tanh", 1.0), ("sigmoid", 0.25), ("relu", 1.0),
                                        ("identity", 1.0), ("softplus", 1.0)])
def test_gamma_h(name, value):
    assert spectra.gamma_h(name) == value
    assert spectra.gamma_h(spectra.activation(name)) == value


def test_pascanu_bound_values_and_log_form():
    W = np.diag([2.0, 1.0])
    np.testing.assert_allclose(spectra.pascanu_bound(W, "sigmoid", np.arange(4)), 0.5 ** np.arange(4))
    assert spectra.pascanu_bound(W, "tanh", 3) == pytest.approx(8.0)
    assert spectra.pascanu_bound(W, "tanh", 5000, log=True) == pytest.approx(5000 * math.log(2))
    with pytest.raises(spectra.NumericalError, match="use log=True"):
        spectra.pascanu_bound(W, "tanh", 5000)
    assert spectra.pascanu_bound(np.zeros((2, 2)), "tanh", 0) == 1.0


def test_leaky_bound_and_the_invalid_per_unit_version():
    W = np.array([[0.0, 3.0], [0.0, 0.0]])
    assert spectra.leaky_bound(W, "identity", 0.25) == pytest.approx(0.25 + 0.75 * 3.0)
    # per-unit alpha (0, 1): the naive max_i(alpha_i + (1 - alpha_i) gamma) = 3 is violated
    J = spectra.LeakyRNN(W, activation="identity", alpha=[0.0, 1.0]).step_jacobian(np.zeros(2))
    assert np.linalg.norm(J, 2) > 3.0
    assert np.linalg.norm(J, 2) <= spectra.leaky_bound(W, "identity", [0.0, 1.0]) + 1e-12
    cell = spectra.LeakyRNN(W, activation="tanh", alpha=[0.1, 0.4])
    assert spectra.leaky_bound(cell) == pytest.approx(0.4 + 0.9 * 3.0)


@pytest.mark.parametrize("g,eps", [(0.5, 0.25), (0.5, 0.3), (0.9, 1e-6), (0.375, 1e-6), (0.1, 1e-300)])
def test_horizon_is_the_first_lag_below_eps(g, eps):
    L = spectra.horizon(g * np.eye(2), "identity", eps)
    assert g ** L < eps and not g ** (L - 1) < eps


def test_horizon_edge_cases():
    assert spectra.horizon(np.eye(2), "tanh", 1e-3) == math.inf
    assert spectra.horizon(2 * np.eye(2), "tanh", 0.5) == math.inf
    assert spectra.horizon(np.eye(2), "tanh", 2.0) == 0
    assert spectra.horizon(np.zeros((2, 2)), "tanh", 1e-9) == 1


def test_regime():
    r = spectra.regime(3.9 * np.eye(3), "sigmoid")
    assert r.regime == "vanishing guaranteed" and r.threshold == 4.0 and r.gamma == pytest.approx(0.975)
    assert spectra.regime(4.1 * np.eye(3), "sigmoid").regime == "exploding possible"
    assert spectra.regime(init.orthogonal(10, rng=0), "tanh").regime == "undetermined"
    cell = spectra.LeakyRNN(1.5 * np.eye(2), activation="tanh", alpha=0.5)
    r = spectra.regime(cell)
    assert r.regime == "exploding possible" and r.gamma == pytest.approx(1.25)
    assert "necessary" in r.reason and r.to_dict()["regime"] == r.regime


def test_report_orders_the_bounds_and_finds_horizons(rng):
    cell = spectra.ElmanRNN(init.gaussian(16, gain=1.2, rng=rng), init.gaussian(16, 3, rng=rng),
                            activation="sigmoid")
    traj = cell.run(rng.standard_normal((80, 3)), h0=rng.standard_normal(16))
    rep = spectra.bound_report(traj, eps=1e-8)
    assert np.all(rep.lower <= rep.exact + 1e-9)
    assert np.all(rep.exact <= rep.trajectory + 1e-9)
    assert np.all(rep.trajectory <= rep.classic + 1e-9)
    np.testing.assert_allclose(rep.classic, rep.lags * math.log(rep.gamma_W * 0.25))
    # horizons: first lags below eps, consistent with the arrays
    for name, arr in [("exact", rep.exact), ("trajectory", rep.trajectory)]:
        h = getattr(rep, f"horizon_{name}")
        assert arr[h - 1] < math.log(1e-8) and np.all(arr[:h - 1] >= math.log(1e-8))
    assert rep.horizon_classic == spectra.horizon(cell, eps=1e-8)
    assert rep.horizon_exact <= rep.horizon_trajectory <= rep.horizon_classic
    np.testing.assert_allclose(rep.exact, spectra.gradient_norm_profile(traj).log_norms)
    text = rep.table(lags=[1, 10, 80])
    assert text.splitlines()[0].split() == ["lag", "exact", "classic", "trajectory", "lower"]
    assert len(text.splitlines()) == 4
    assert rep.to_dict()["horizon_classic"] == rep.horizon_classic


def test_report_of_matrices_and_gated_cells(rng):
    J = rng.standard_normal((30, 5, 5)) / math.sqrt(5)
    rep = spectra.bound_report(J)
    assert rep.classic is None and rep.horizon_classic is None     # no classic bound: no horizon
    # for dense steps the trajectory bound is the product of exact step norms
    step = np.log(np.linalg.norm(J, 2, axis=(1, 2)))
    np.testing.assert_allclose(rep.trajectory, np.cumsum(step[::-1]), rtol=1e-12)
    rep = spectra.bound_report(J, W=np.eye(5), activation="tanh")
    np.testing.assert_allclose(rep.classic, 0.0)
    # gated cells: the per-step numeric bound along the trajectory
    for cell in (spectra.LSTM.random(6, input_size=2, rng=1), spectra.GRU.random(6, input_size=2, rng=2)):
        traj = cell.run(rng.standard_normal((40, 2)))
        rep = spectra.bound_report(traj)
        assert rep.classic is None
        assert np.all(rep.exact <= rep.trajectory + 1e-9) and np.all(rep.lower <= rep.exact + 1e-9)


def test_report_of_leaky_and_recurrent_first_cells(rng):
    W = init.gaussian(10, gain=1.4, rng=rng)
    for cell in (spectra.LeakyRNN(W, alpha=rng.uniform(0.02, 0.2, 10)),
                 spectra.RecurrentFirstRNN(W, activation="tanh")):
        rep = spectra.bound_report(cell.run(steps=60, h0=rng.standard_normal(10)))
        assert np.all(rep.exact <= rep.trajectory + 1e-9)
        assert np.all(rep.trajectory <= rep.classic + 1e-9)
        assert np.all(rep.lower <= rep.exact + 1e-9)
