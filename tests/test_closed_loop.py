"""Teacher forcing against free running: the closed-loop step Jacobian."""

import json

import numpy as np
import pytest

import spectra

from _helpers import central_difference_jacobian, relative_error

N, D = 5, 3
KINDS = ("elman", "leaky", "rf")


def _cell(kind, rng, gain=0.6):
    W = gain * rng.standard_normal((N, N)) / np.sqrt(N)
    U = rng.standard_normal((N, D))
    b = 0.1 * rng.standard_normal(N)
    if kind == "elman":
        return spectra.ElmanRNN(W, U, b)
    if kind == "leaky":
        return spectra.LeakyRNN(W, U, b, alpha=rng.uniform(0.02, 0.2, N))
    return spectra.RecurrentFirstRNN(W, U, b)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("output", ["softmax", "linear"])
def test_closed_loop_jacobian_matches_finite_differences(kind, output, rng):
    cell = _cell(kind, rng)
    V = rng.standard_normal((D, N))
    by = rng.standard_normal(D)
    loop = spectra.ClosedLoopRNN(cell, V, by, output=output)
    h = 0.5 * rng.standard_normal(N)
    J = spectra.closed_loop_jacobian(cell, h, V, by, output=output)
    assert relative_error(J, central_difference_jacobian(loop.step, h)) < 1e-8
    # and the step itself is the cell fed g(W_yh h + b_y)
    z = V @ h + by
    y = np.exp(z - z.max()) / np.exp(z - z.max()).sum() if output == "softmax" else z
    np.testing.assert_allclose(loop.step(h), cell.step(h, y), rtol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_factored_products_match_the_dense_jacobians(kind, rng):
    loop = spectra.ClosedLoopRNN(_cell(kind, rng), rng.standard_normal((D, N)), output="softmax")
    traj = loop.run(steps=12, h0=rng.standard_normal(N))
    seq = traj.jacobian_sequence
    X = rng.standard_normal((N, 4))
    for t in range(1, 13):
        J = central_difference_jacobian(loop.step, traj.states[t - 1])
        assert relative_error(seq.matrix(t), J) < 1e-8
        assert relative_error(seq.matmat(t, X), seq.matrix(t) @ X) < 1e-14
        assert relative_error(seq.rmatmat(t, X), seq.matrix(t).T @ X) < 1e-14


def test_linear_output_and_identity_units_give_W_hh_plus_W_hx_W_yh_exactly(rng):
    W, U, V = rng.standard_normal((N, N)), rng.standard_normal((N, D)), rng.standard_normal((D, N))
    cell = spectra.ElmanRNN(W, U, activation="identity")
    J = spectra.closed_loop_jacobian(cell, rng.standard_normal(N), V, output="linear")
    np.testing.assert_array_equal(J, W + U @ V)
    # teacher forced: the input does not depend on h, so the Jacobian is W_hh alone
    np.testing.assert_array_equal(cell.step_jacobian(rng.standard_normal(N), rng.standard_normal(D)), W)
    # free running is then the linear recurrence with W_hh + W_hx W_yh: its products are powers
    cell2 = spectra.ElmanRNN(0.1 * W, U, activation="identity")
    traj = spectra.ClosedLoopRNN(cell2, V, output="linear").run(steps=6, h0=np.ones(N))
    np.testing.assert_allclose(traj.product(6, 0), np.linalg.matrix_power(0.1 * W + U @ V, 6), rtol=1e-12)


def test_teacher_forcing_comparison_sees_the_same_states(rng):
    cell = spectra.ElmanRNN(0.9 * spectra.init.orthogonal(N, rng=rng), 2.0 * rng.standard_normal((N, D)))
    V = 2.0 * rng.standard_normal((D, N))
    h0 = 0.5 * np.ones(N)
    cmp = spectra.teacher_forcing_comparison(cell, V, output="softmax", h0=h0, steps=40)
    assert cmp.state_difference < 1e-13
    free = spectra.ClosedLoopRNN(cell, V).run(steps=40, h0=h0)
    forced = cell.run(cmp.outputs, h0=h0)
    np.testing.assert_allclose(cmp.log_norms_free, spectra.gradient_norm_profile(free).log_norms, rtol=1e-10)
    np.testing.assert_allclose(cmp.log_norms_forced, spectra.gradient_norm_profile(forced).log_norms,
                               rtol=1e-10)
    # the feedback term diag(f'(a_t)) W_hx G_{t-1} W_yh, from its definition
    Y = cmp.outputs
    for t in (1, 17, 40):
        G = np.diag(Y[t - 1]) - np.outer(Y[t - 1], Y[t - 1])
        fb = cell.activation.df(forced.preactivations[t - 1])[:, None] * (cell.W_hx @ G @ V)
        assert cmp.feedback_norms[t - 1] == pytest.approx(np.linalg.norm(fb, 2), rel=1e-10)
    assert cmp.lyapunov_free != cmp.lyapunov_forced
    assert json.loads(json.dumps(cmp.to_dict()))["lags"][-1] == 40


def test_batched_free_runs(rng):
    loop = spectra.ClosedLoopRNN(_cell("leaky", rng), rng.standard_normal((D, N)))
    H0 = rng.standard_normal((3, N))
    traj = loop.run(steps=7, h0=H0)
    assert traj.states.shape == (3, 8, N) and loop.fed_back(traj).shape == (3, 7, D)
    for i in range(3):
        one = loop.run(steps=7, h0=H0[i])
        np.testing.assert_allclose(traj.select(i).jacobians(), one.jacobians(), rtol=1e-12, atol=1e-15)


def test_closed_loop_needs_a_matching_input(rng):
    with pytest.raises(ValueError, match="input matrix"):
        spectra.ClosedLoopRNN(spectra.ElmanRNN(np.eye(3)), np.eye(3))
    with pytest.raises(ValueError, match="`W_yh` must have 2 rows"):
        spectra.ClosedLoopRNN(spectra.ElmanRNN(np.eye(3), np.ones((3, 2))), np.ones((3, 3)))
    with pytest.raises(ValueError, match="takes no `inputs`"):
        spectra.ClosedLoopRNN(spectra.ElmanRNN(np.eye(3), np.ones((3, 2))), np.ones((2, 3))).run(np.ones((4, 2)))
    with pytest.raises(TypeError, match="ElmanRNN, LeakyRNN or RecurrentFirstRNN"):
        spectra.ClosedLoopRNN(spectra.GRU.random(3, input_size=2, rng=0), np.ones((2, 3)))
