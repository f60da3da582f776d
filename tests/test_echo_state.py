"""Echo-state networks: the contraction bound on forgetting h_0, measured convergence, the readout."""

import json
import math

import numpy as np
import pytest

import spectra
from spectra import init


def _cells(rng, n=12, g=0.85):
    W = init.orthogonal(n, gain=g, rng=rng)                     # gamma_W = g < 1
    U = init.gaussian(n, 2, rng=rng)
    return {"elman": spectra.ElmanRNN(W, U),
            "leaky": spectra.LeakyRNN(W, U, alpha=0.3),               # bound 0.3 + 0.7 g < 1
            "rf": spectra.RecurrentFirstRNN(W, U),
            "sigmoid": spectra.ElmanRNN(3.5 * W / g, U, activation="sigmoid")}


@pytest.mark.parametrize("kind", ["elman", "leaky", "rf", "sigmoid"])
def test_runs_from_different_h0_contract_at_least_like_the_bound(kind, rng):
    # ||h_t - h'_t|| <= L^t ||h_0 - h'_0|| with L = gamma_W gamma_h (leaky: the leaky bound), in
    # exact arithmetic.  Computed states carry rounding of ~eps ||h|| per step, which the
    # contraction damps: the computed distance can exceed the bound by at most
    # sum_k L^k delta = delta / (1 - L), delta = 8 eps (||h|| + 1); hence the tolerance.
    cell = _cells(rng)[kind]
    x = rng.standard_normal((150, 2))
    chk = spectra.echo_state_check(cell, x, n_initial=6, rng=rng, tol=1e-12)
    assert chk.guaranteed and chk.contraction < 1
    S = cell.run(x, h0=np.zeros(12)).states
    delta = 8 * np.finfo(float).eps * (np.max(np.linalg.norm(S, axis=-1)) + 1)
    slack = delta / (1 - chk.contraction)
    assert np.all(chk.distances <= chk.distances[:, :1] * chk.contraction ** chk.times + slack)
    assert np.all(chk.max_distance <= chk.bound + slack)
    assert chk.converged and chk.steps_to_tol <= math.log(1e-12 * (1 + slack)) / math.log(chk.contraction) + 1
    assert chk.rate < 0


def test_distances_are_those_of_separate_runs(rng):
    cell = spectra.GRU.random(5, input_size=2, rng=rng)          # no contraction constant: measured only
    x = rng.standard_normal((30, 2))
    H0 = rng.uniform(-1, 1, (3, 5))
    chk = spectra.echo_state_check(cell, x, h0=H0)
    ref = [cell.run(x, h0=h).states for h in H0]
    for i in (1, 2):
        np.testing.assert_allclose(chk.distances[i - 1], np.linalg.norm(ref[i] - ref[0], axis=1),
                                   rtol=1e-12, atol=1e-15)
    assert chk.contraction is None and chk.bound is None and not chk.guaranteed
    assert chk.spectral_radius is None


def test_spectral_radius_below_one_usually_suffices_but_is_not_the_guarantee(rng):
    # The usual ESN recipe (rho = 0.95, tanh): gamma_W > 1, so no guarantee; with input drive the
    # runs still converge for every one of these fixed seeds (measured, not promised).
    x = np.random.default_rng(0).standard_normal((300, 1))
    for seed in range(5):
        W = init.echo_state(40, spectral_radius=0.95, rng=seed)
        cell = spectra.ElmanRNN(W, init.gaussian(40, 1, rng=100 + seed))
        chk = spectra.echo_state_check(cell, x, rng=seed)
        assert spectra.gamma_W(W) > 1 and not chk.guaranteed
        assert chk.converged and chk.rate < 0


def test_large_spectral_radius_loses_the_echo_state_property():
    x = np.random.default_rng(1).standard_normal((300, 1))
    W = init.echo_state(40, spectral_radius=3.0, rng=2)
    cell = spectra.ElmanRNN(W, 0.05 * init.gaussian(40, 1, rng=3))
    chk = spectra.echo_state_check(cell, x, rng=4)
    assert not chk.converged and chk.max_distance[-1] > 1e-2 * chk.max_distance[0]
    assert chk.spectral_radius == pytest.approx(3.0, rel=1e-12)


def test_autonomous_check_and_result_dict(rng):
    cell = spectra.ElmanRNN(init.orthogonal(6, gain=0.5, rng=rng))
    chk = spectra.echo_state_check(cell, steps=80, rng=rng)
    assert chk.times[-1] == 80 and chk.converged
    d = json.loads(json.dumps(chk.to_dict()))
    assert d["guaranteed"] is True and len(d["max_distance"]) == 81


def _ridge_reference(H, Y, ridge):
    """Centred normal equations, solved in high precision (mpmath) as the independent truth."""
    import mpmath

    mpmath.mp.dps = 40
    hm, ym = H.mean(0), Y.mean(0)
    Hc, Yc = H - hm, Y - ym
    A = mpmath.matrix(Hc.T.tolist()) * mpmath.matrix(Hc.tolist()) + ridge * mpmath.eye(H.shape[1])
    B = mpmath.matrix(Hc.T.tolist()) * mpmath.matrix(Yc.tolist())
    cols = [mpmath.lu_solve(A, B.column(j)) for j in range(Y.shape[1])]
    W = np.array([[float(c[i]) for i in range(H.shape[1])] for c in cols])
    return W, ym - W @ hm


@pytest.mark.parametrize("ridge", [0.0, 1e-3, 1.0])
def test_readout_is_the_ridge_regression_solution(ridge, rng):
    cell = spectra.ElmanRNN(init.echo_state(8, spectral_radius=0.9, rng=rng), init.gaussian(8, 2, rng=rng))
    x = rng.standard_normal((60, 2))
    traj = cell.run(x)
    Y = rng.standard_normal((60, 3))
    out = spectra.fit_readout(traj, Y, ridge=ridge, washout=10)
    W, b = _ridge_reference(traj.states[11:], Y[10:], ridge)
    np.testing.assert_allclose(out.W_yh, W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out.b_y, b, rtol=1e-9, atol=1e-12)
    resid = out.predict(traj.states[11:]) - Y[10:]
    assert out.rms_error == pytest.approx(np.sqrt(np.mean(resid ** 2)), rel=1e-12)


def test_readout_learns_a_delayed_copy_only_in_the_echo_state_regime():
    # the ESN remedy: W_hh and W_hx fixed, only W_yh trained.  y_t = x_{t-3} needs memory.
    x = np.random.default_rng(5).uniform(-1, 1, (600, 1))
    y = np.roll(x, 3, axis=0)
    errs = {}
    for rho in (0.9, 3.0):
        cell = spectra.ElmanRNN(init.echo_state(60, spectral_radius=rho, rng=6),
                                0.1 * init.gaussian(60, 1, rng=7))
        train, test = cell.run(x[:400]), cell.run(x)
        out = spectra.fit_readout(train, y[:400], ridge=1e-8, washout=50)
        pred = out.predict(test.states[401:])
        errs[rho] = float(np.sqrt(np.mean((pred - y[400:]) ** 2)))
    assert errs[0.9] < 0.05 and errs[3.0] > 0.5      # rms of x itself: 1/sqrt(3) = 0.58


def test_readout_without_bias_and_from_arrays(rng):
    H = rng.standard_normal((40, 5))
    W = rng.standard_normal((2, 5))
    out = spectra.fit_readout(H, H @ W.T, bias=False)
    np.testing.assert_allclose(out.W_yh, W, rtol=1e-12)
    assert np.all(out.b_y == 0) and out.rms_error < 1e-12
    one = spectra.fit_readout(H, H @ W[0])                       # 1-D targets: c = 1
    assert one.W_yh.shape == (1, 5)
    assert json.loads(json.dumps(one.to_dict()))["washout"] == 0
