"""Pascanu et al.'s regulariser Omega: its value from dense Jacobians, each of its three gradients
against central differences of the function it differentiates, and the claims made for it."""

import numpy as np
import pytest

import spectra

from _helpers import relative_error

N, D, C, T = 4, 2, 3, 6
KINDS = ("elman", "leaky", "rf")


def _setup(kind, rng, gain=0.8):
    W = gain * rng.standard_normal((N, N)) / np.sqrt(N)
    U = rng.standard_normal((N, D))
    b = 0.1 * rng.standard_normal(N)
    alpha = rng.uniform(0.02, 0.2, N)
    makers = {"elman": lambda W: spectra.ElmanRNN(W, U, b),
              "leaky": lambda W: spectra.LeakyRNN(W, U, b, alpha=alpha),
              "rf": lambda W: spectra.RecurrentFirstRNN(W, U, b)}
    V = rng.standard_normal((C, N))
    x = rng.standard_normal((T, D))
    h0 = 0.3 * rng.standard_normal(N)
    return makers[kind], W, V, x, h0, alpha


def _fd(fun, X, h=1e-5):
    G = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        G[idx] = (fun(X + E) - fun(X - E)) / (2 * h)
    return G


def _omega(traj, G):
    """sum_s (||J_s^T g_s|| / ||g_s|| - 1)^2 from dense Jacobians; G rows g_1..g_T."""
    return sum((np.linalg.norm(traj.jacobian(s).T @ G[s - 1]) / np.linalg.norm(G[s - 1]) - 1) ** 2
               for s in range(1, len(G) + 1))


def _targets(loss, rng):
    return rng.integers(0, C, T) if loss == "softmax" else rng.standard_normal((T, C))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", ["softmax", "squared"])
def test_value_and_ratios_from_dense_jacobians(kind, loss, rng):
    make, W, V, x, h0, _ = _setup(kind, rng)
    tg = _targets(loss, rng)
    res = spectra.vanishing_regularizer(make(W), x, tg, V, loss=loss, h0=h0)
    G = spectra.bptt_gradient(make(W), x, tg, V, loss=loss, h0=h0).grad_h[1:]
    traj = make(W).run(x, h0=h0)
    ratios = [np.linalg.norm(traj.jacobian(s).T @ G[s - 1]) / np.linalg.norm(G[s - 1])
              for s in range(1, T + 1)]
    np.testing.assert_allclose(res.ratios, ratios, rtol=1e-13)
    assert res.value == pytest.approx(_omega(traj, G), rel=1e-12)
    np.testing.assert_allclose(res.terms, (np.array(ratios) - 1) ** 2, rtol=1e-11, atol=1e-300)
    assert res.active.all()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", ["softmax", "squared"])
def test_exact_gradient_matches_central_differences_of_omega(kind, loss, rng):
    make, W, V, x, h0, _ = _setup(kind, rng)
    tg = _targets(loss, rng)
    res = spectra.vanishing_regularizer(make(W), x, tg, V, loss=loss, h0=h0, gradient="exact")

    def omega(Z):   # everything recomputed: the run, the BPTT errors, Omega
        G = spectra.bptt_gradient(make(Z), x, tg, V, loss=loss, h0=h0).grad_h[1:]
        return _omega(make(Z).run(x, h0=h0), G)

    assert relative_error(res.grad_W_hh, _fd(omega, W)) < 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_fixed_error_gradient_holds_dE_dh_constant(kind, rng):
    make, W, V, x, h0, _ = _setup(kind, rng)
    tg = _targets("softmax", rng)
    res = spectra.vanishing_regularizer(make(W), x, tg, V, h0=h0, gradient="fixed_error")
    G0 = spectra.bptt_gradient(make(W), x, tg, V, h0=h0).grad_h[1:]
    # the run (so f'(.)) follows W; the errors are those of the original W
    assert relative_error(res.grad_W_hh, _fd(lambda Z: _omega(make(Z).run(x, h0=h0), G0), W)) < 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_immediate_gradient_differentiates_only_the_explicit_W(kind, rng):
    make, W, V, x, h0, alpha = _setup(kind, rng)
    tg = _targets("softmax", rng)
    res = spectra.vanishing_regularizer(make(W), x, tg, V, h0=h0, gradient="immediate")
    G0 = spectra.bptt_gradient(make(W), x, tg, V, h0=h0).grad_h[1:]
    traj = make(W).run(x, h0=h0)
    df = make(W).activation.df

    def omega(Z):   # states and errors frozen; J_s rebuilt with Z
        total = 0.0
        for s in range(1, T + 1):
            if kind == "rf":
                J = Z * df(traj.states[s - 1])[None, :]
            else:
                J = df(traj.preactivations[s - 1])[:, None] * Z
                if kind == "leaky":
                    J = np.diag(alpha) + (1 - alpha)[:, None] * J
            g = G0[s - 1]
            total += (np.linalg.norm(J.T @ g) / np.linalg.norm(g) - 1) ** 2
        return total

    assert relative_error(res.grad_W_hh, _fd(omega, W)) < 1e-6


def test_the_three_gradients_differ(rng):
    make, W, V, x, h0, _ = _setup("elman", rng)
    tg = _targets("softmax", rng)
    g = {m: spectra.vanishing_regularizer(make(W), x, tg, V, h0=h0, gradient=m).grad_W_hh
         for m in ("exact", "fixed_error", "immediate")}
    assert relative_error(g["fixed_error"], g["exact"]) > 1e-3
    assert relative_error(g["immediate"], g["fixed_error"]) > 1e-3


def test_zero_for_a_norm_preserving_jacobian():
    # orthogonal W, identity activation: ||W^T g|| = ||g|| for every g, so Omega = 0 = its gradient
    rng = np.random.default_rng(7)
    n = 5
    cell = spectra.ElmanRNN(spectra.init.orthogonal(n, rng=rng), rng.standard_normal((n, 2)),
                            activation="identity")
    x = rng.standard_normal((20, 2))
    res = spectra.vanishing_regularizer(cell, x, rng.integers(0, 3, 20), rng.standard_normal((3, n)))
    np.testing.assert_allclose(res.ratios, 1.0, rtol=1e-14)
    assert res.value < 1e-28
    assert np.linalg.norm(res.grad_W_hh) < 1e-13


@pytest.mark.parametrize("kind", KINDS)
def test_minimising_omega_brings_every_ratio_to_one(kind, rng):
    # Omega is a sum of squares of (ratio - 1): its minimum 0 is reached exactly when every
    # backward step preserves the norm of the error.  BFGS with the exact gradient gets there.
    from scipy.optimize import minimize

    n, steps = 6, 15
    U = rng.standard_normal((n, 2))
    V = rng.standard_normal((3, n))
    x = rng.standard_normal((steps, 2))
    tg = rng.integers(0, 3, steps)
    alpha = rng.uniform(0.02, 0.2, n)
    make = {"elman": lambda W: spectra.ElmanRNN(W, U), "rf": lambda W: spectra.RecurrentFirstRNN(W, U),
            "leaky": lambda W: spectra.LeakyRNN(W, U, alpha=alpha)}[kind]

    def f(w):
        r = spectra.vanishing_regularizer(make(w.reshape(n, n)), x, tg, V)
        return r.value, r.grad_W_hh.ravel()

    W0 = 0.5 * spectra.init.orthogonal(n, rng=1)
    before = spectra.vanishing_regularizer(make(W0), x, tg, V)
    assert np.all(before.ratios < 0.8)                       # gain 0.5: every step shrinks the error
    opt = minimize(f, W0.ravel(), jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 500})
    after = spectra.vanishing_regularizer(make(opt.x.reshape(n, n)), x, tg, V)
    assert after.value < 1e-20 * before.value
    np.testing.assert_allclose(after.ratios, 1.0, atol=1e-9)


def test_steps_without_error_are_left_out(rng):
    make, W, V, x, h0, _ = _setup("elman", rng)
    w = np.zeros(T)
    w[2] = 1.0                     # a loss at step 3 only: dE/dh_s = 0 for s > 3
    res = spectra.vanishing_regularizer(make(W), x, np.zeros(T, dtype=int), V, h0=h0, step_weights=w)
    np.testing.assert_array_equal(res.active, np.arange(1, T + 1) <= 3)
    assert np.all(np.isnan(res.ratios[3:])) and np.all(res.terms[3:] == 0)
    G = spectra.bptt_gradient(make(W), x, np.zeros(T, dtype=int), V, h0=h0, step_weights=w).grad_h[1:4]
    assert res.value == pytest.approx(_omega(make(W).run(x, h0=h0), G), rel=1e-12)
    import json

    d = json.loads(json.dumps(res.to_dict()))
    assert d["ratios"][3] is None and d["gradient"] == "exact"


def test_batch_omega_is_the_sum_of_the_members(rng):
    make, W, V, _, _, _ = _setup("leaky", rng)
    X = rng.standard_normal((3, T, D))
    tg = rng.integers(0, C, (3, T))
    batch = spectra.vanishing_regularizer(make(W), X, tg, V)
    singles = [spectra.vanishing_regularizer(make(W), X[i], tg[i], V) for i in range(3)]
    assert batch.value == pytest.approx(sum(s.value for s in singles), rel=1e-13)
    assert relative_error(batch.grad_W_hh, sum(s.grad_W_hh for s in singles)) < 1e-12
    assert batch.ratios.shape == (3, T)


def test_activation_without_second_derivative(rng):
    act = spectra.Activation("mytanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2, 1.0)
    cell = spectra.ElmanRNN(0.5 * np.eye(3), np.ones((3, 1)), activation=act)
    x = rng.standard_normal((4, 1))
    with pytest.raises(ValueError, match="needs the second derivative"):
        spectra.vanishing_regularizer(cell, x, [0, 1, 0, 1], np.eye(2, 3))
    ref = spectra.vanishing_regularizer(spectra.ElmanRNN(0.5 * np.eye(3), np.ones((3, 1))), x,
                                        [0, 1, 0, 1], np.eye(2, 3), gradient="immediate")
    res = spectra.vanishing_regularizer(cell, x, [0, 1, 0, 1], np.eye(2, 3), gradient="immediate")
    np.testing.assert_allclose(res.grad_W_hh, ref.grad_W_hh, rtol=1e-12)
