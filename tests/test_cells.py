"""Cells and trajectories: analytic Jacobians against finite differences and explicit products."""

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp

import spectra
from spectra import init

from _helpers import central_difference_jacobian, relative_error

SMOOTH = ["tanh", "sigmoid", "softplus", "identity", "silu", "gelu"]
KINKED = ["relu", "leaky_relu", "elu", "hard_tanh"]
KINKS = {"relu": [0.0], "leaky_relu": [0.0], "elu": [0.0], "hard_tanh": [-1.0, 1.0]}

finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def networks(draw, kinds=("elman", "recurrent_first", "leaky"), activations=SMOOTH + KINKED):
    n = draw(st.integers(1, 6))
    d = draw(st.integers(0, 3))
    kind = draw(st.sampled_from(kinds))
    act = draw(st.sampled_from(activations))
    W = draw(hnp.arrays(np.float64, (n, n), elements=st.floats(-2, 2, **finite)))
    W_in = draw(hnp.arrays(np.float64, (n, d), elements=st.floats(-2, 2, **finite))) if d else None
    b = draw(hnp.arrays(np.float64, (n,), elements=st.floats(-1, 1, **finite)))
    h = draw(hnp.arrays(np.float64, (n,), elements=st.floats(-3, 3, **finite)))
    x = draw(hnp.arrays(np.float64, (d,), elements=st.floats(-2, 2, **finite))) if d else None
    if kind == "elman":
        cell = spectra.ElmanRNN(W, W_in, b, activation=act)
    elif kind == "recurrent_first":
        cell = spectra.RecurrentFirstRNN(W, W_in, b, activation=act)
    else:
        alpha = draw(st.one_of(st.floats(0, 1), hnp.arrays(np.float64, (n,), elements=st.floats(0, 1))))
        cell = spectra.LeakyRNN(W, W_in, b, activation=act, alpha=alpha)
    return cell, h, x


def _kink_distance(cell, h, x):
    """Distance of the points where f' is evaluated from the activation's kinks."""
    kinks = KINKS.get(cell.activation.name)
    if not kinks:
        return np.inf
    if isinstance(cell, spectra.RecurrentFirstRNN):
        z = h
    else:
        z = cell.W_hh @ h + (0 if cell.b is None else cell.b)
        if x is not None:
            z = z + cell.W_hx @ x
    return min(np.min(np.abs(z - k)) for k in kinks)


@given(networks())
def test_step_jacobian_matches_central_differences(net):
    cell, h, x = net
    # finite differences straddling a kink measure a one-sided mixture, not f'
    assume(_kink_distance(cell, h, x) > 1e-4)
    J = cell.step_jacobian(h, x)
    J_fd = central_difference_jacobian(lambda v: cell.step(v, x), h)
    scale = max(np.linalg.norm(J), 1e-3)  # relative error, guarded for J = 0
    assert np.linalg.norm(J - J_fd) / scale < 1e-6
    # backprop layout, jvp and vjp are the same linear map
    np.testing.assert_allclose(cell.step_jacobian(h, x, layout="backprop"), J.T, rtol=0, atol=0)
    v = np.linspace(-1, 1, cell.n)
    np.testing.assert_allclose(cell.jvp(h, v, x), J @ v, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(cell.vjp(h, v, x), J.T @ v, rtol=1e-13, atol=1e-13)


def _manual_elman(W, W_in, b, f, X, h0):
    hs = [h0]
    for x in X:
        hs.append(f(W @ hs[-1] + W_in @ x + b))
    return np.array(hs)


def test_run_matches_the_equations(rng):
    n, d, T = 5, 3, 12
    W, W_in, b = init.gaussian(n, gain=1.3, rng=rng), init.gaussian(n, d, rng=rng), rng.standard_normal(n)
    X, h0 = rng.standard_normal((T, d)), rng.standard_normal(n)
    traj = spectra.ElmanRNN(W, W_in, b).run(X, h0=h0)
    np.testing.assert_allclose(traj.states, _manual_elman(W, W_in, b, np.tanh, X, h0), rtol=1e-14, atol=1e-14)
    # recurrent-first: h_t = W f(h_{t-1}) + W_in x_t + b
    traj = spectra.RecurrentFirstRNN(W, W_in, b).run(X, h0=h0)
    hs = [h0]
    for x in X:
        hs.append(W @ np.tanh(hs[-1]) + W_in @ x + b)
    np.testing.assert_allclose(traj.states, np.array(hs), rtol=1e-14, atol=1e-14)
    # leaky with per-unit alpha
    alpha = rng.uniform(0.02, 0.2, n)
    traj = spectra.LeakyRNN(W, W_in, b, alpha=alpha).run(X, h0=h0)
    hs = [h0]
    for x in X:
        hs.append(alpha * hs[-1] + (1 - alpha) * np.tanh(W @ hs[-1] + W_in @ x + b))
    np.testing.assert_allclose(traj.states, np.array(hs), rtol=1e-14, atol=1e-14)


def _random_trajectory(rng, kind="elman", n=6, T=15, d=2, act="tanh"):
    W, W_in, b = init.gaussian(n, gain=1.5, rng=rng), init.gaussian(n, d, rng=rng), 0.3 * rng.standard_normal(n)
    cls = {"elman": spectra.ElmanRNN, "recurrent_first": spectra.RecurrentFirstRNN}.get(kind)
    cell = cls(W, W_in, b, activation=act) if cls else spectra.LeakyRNN(W, W_in, b, activation=act, alpha=0.3)
    return cell.run(rng.standard_normal((T, d)), h0=rng.standard_normal(n))


@pytest.mark.parametrize("kind", ["elman", "recurrent_first", "leaky"])
def test_product_matches_explicit_multiplication(rng, kind):
    traj = _random_trajectory(rng, kind)
    T, n = traj.steps, traj.n
    Js = traj.jacobians()
    assert Js.shape == (T, n, n)
    for t in range(1, T + 1):
        np.testing.assert_array_equal(Js[t - 1], traj.jacobian(t))
    for t, k in [(T, 0), (7, 3), (5, 4), (9, 9), (0, 0)]:
        P = np.eye(n)
        for s in range(k + 1, t + 1):
            P = Js[s - 1] @ P
        np.testing.assert_allclose(traj.product(t, k), P, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(traj.product(t, k, layout="backprop"), P.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(traj.product(), traj.product(T, 0), rtol=0, atol=0)
    np.testing.assert_allclose(traj.jacobians(layout="backprop"), np.swapaxes(Js, 1, 2))


@pytest.mark.parametrize("kind", ["elman", "recurrent_first", "leaky"])
def test_product_of_jacobians_is_the_derivative_of_the_flow(rng, kind):
    # dh_t/dh_k by finite differences of the k -> t state map, an independent truth
    traj = _random_trajectory(rng, kind, n=4, T=8)
    t, k = 7, 2
    X = traj.inputs

    def flow(hk):
        return traj.cell.run(X[k:t], h0=hk).states[-1]

    P_fd = central_difference_jacobian(flow, traj.states[k])
    assert relative_error(traj.product(t, k), P_fd) < 1e-7


@pytest.mark.parametrize("layout", ["numerator", "backprop"])
def test_operator_matches_product(rng, layout):
    traj = _random_trajectory(rng, "leaky", n=7, T=20)
    for t, k in [(20, 0), (11, 4), (6, 6)]:
        A = traj.operator(t, k, layout=layout)
        P = traj.product(t, k, layout=layout)
        assert A.shape == (7, 7)
        v, M = rng.standard_normal(7), rng.standard_normal((7, 3))
        np.testing.assert_allclose(A.matvec(v), P @ v, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(A.rmatvec(v), P.T @ v, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(A.matmat(M), P @ M, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(A.H @ M, P.T @ M, rtol=1e-12, atol=1e-13)


def test_operator_never_materialises(rng, monkeypatch):
    traj = _random_trajectory(rng, n=5, T=6)
    seq = traj.jacobian_sequence

    def forbidden(*args, **kwargs):
        raise AssertionError("operator formed a dense Jacobian")

    monkeypatch.setattr(type(seq), "matrix", forbidden)
    monkeypatch.setattr(type(seq), "matrices", forbidden)
    A = traj.operator(6, 0)
    A.matvec(np.ones(5))
    A.rmatvec(np.ones(5))


def test_trajectory_memory_is_linear_in_T(rng):
    n, T = 200, 100
    cell = spectra.ElmanRNN(init.gaussian(n, rng=rng))
    traj = cell.run(steps=T, h0=rng.standard_normal(n))
    seq = traj.jacobian_sequence
    assert isinstance(seq, spectra.ScaledJacobians)
    assert seq.W is cell.W_hh  # a reference, not a copy
    stored = traj.states.nbytes + traj.preactivations.nbytes + seq.row.nbytes
    assert stored <= 3 * (T + 1) * n * 8
    assert stored < 0.02 * T * n * n * 8  # versus T dense n x n Jacobians


def test_elman_and_recurrent_first_are_conjugate(rng):
    """With h = f(x): D_t dx_t/dx_k = dh_t/dh_k D_k (same exponents and one-step eigenvalues)."""
    n, d, T = 5, 2, 10
    W, W_in, b = init.gaussian(n, gain=1.4, rng=rng), init.gaussian(n, d, rng=rng), rng.standard_normal(n)
    X, x0 = rng.standard_normal((T, d)), rng.standard_normal(n)
    rf = spectra.RecurrentFirstRNN(W, W_in, b).run(X, h0=x0)
    el = spectra.ElmanRNN(W, W_in, b).run(X, h0=np.tanh(x0))
    np.testing.assert_allclose(el.states, np.tanh(rf.states), rtol=1e-13, atol=1e-14)
    D = spectra.activation("tanh").df(rf.states)
    for t, k in [(T, 0), (6, 2), (3, 2)]:
        lhs = D[t][:, None] * rf.product(t, k)
        rhs = el.product(t, k) * D[k][None, :]
        np.testing.assert_allclose(lhs, rhs, rtol=1e-11, atol=1e-14)
    # one-step eigenvalues: J_rf,t+1 = W D_t and J_el,t = D_t W share them (AB and BA)
    for t in range(1, T):
        np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(rf.jacobian(t + 1))),
                                   np.sort_complex(np.linalg.eigvals(el.jacobian(t))), atol=1e-12)


def test_classic_expression_shares_eigenvalues_not_singular_values(rng):
    W = init.gaussian(6, gain=1.2, rng=rng)
    cell = spectra.RecurrentFirstRNN(W)
    h = rng.standard_normal(6)
    J, C = cell.step_jacobian(h), cell.classic_jacobian(h)
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(J)), np.sort_complex(np.linalg.eigvals(C)),
                               atol=1e-12)
    gamma = np.linalg.norm(W, 2)
    assert np.linalg.norm(C, 2) <= gamma + 1e-12 and np.linalg.norm(J, 2) <= gamma + 1e-12
    assert np.max(np.abs(np.linalg.svd(J, compute_uv=False) - np.linalg.svd(C, compute_uv=False))) > 1e-3


def test_leaky_with_alpha_zero_is_elman(rng):
    W = init.gaussian(4, rng=rng)
    a = spectra.LeakyRNN(W, alpha=0.0).run(steps=6, h0=np.ones(4))
    e = spectra.ElmanRNN(W).run(steps=6, h0=np.ones(4))
    np.testing.assert_allclose(a.states, e.states, rtol=0, atol=0)
    np.testing.assert_allclose(a.product(), e.product(), rtol=1e-15, atol=1e-15)


def test_batched_run_equals_individual_runs(rng):
    n, d, T, B = 4, 3, 9, 5
    cell = spectra.LeakyRNN(init.gaussian(n, rng=rng), init.gaussian(n, d, rng=rng), alpha=0.2)
    X, H0 = rng.standard_normal((B, T, d)), rng.standard_normal((B, n))
    batch = cell.run(X, h0=H0)
    assert batch.batch_shape == (B,) and batch.states.shape == (B, T + 1, n)
    assert batch.jacobians().shape == (B, T, n, n)
    for i in range(B):
        one = cell.run(X[i], h0=H0[i])
        np.testing.assert_allclose(batch.states[i], one.states, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(batch.product(7, 2)[i], one.product(7, 2), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(batch.select(i).product(), one.product(), rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match="select"):
        batch.operator()
    # a batch of initial states with shared inputs
    shared = cell.run(X[0], h0=H0)
    np.testing.assert_allclose(shared.states[3], cell.run(X[0], h0=H0[3]).states, rtol=1e-14)


def test_autonomous_run_and_zero_steps(rng):
    cell = spectra.ElmanRNN(init.orthogonal(3, rng=rng), activation="identity")
    traj = cell.run(steps=4, h0=[1.0, 0.0, 0.0])
    np.testing.assert_allclose(traj.product(), np.linalg.matrix_power(cell.W_hh, 4), atol=1e-14)
    empty = cell.run(steps=0, h0=[1.0, 2.0, 3.0])
    assert empty.steps == 0 and empty.states.shape == (1, 3)
    np.testing.assert_array_equal(empty.product(), np.eye(3))
    assert empty.jacobians().shape == (0, 3, 3)


def test_float32_cells(rng):
    W = init.gaussian(5, rng=rng)
    traj = spectra.ElmanRNN(W, dtype=np.float32).run(steps=10, h0=np.ones(5))
    assert traj.states.dtype == np.float32
    assert traj.jacobian(3).dtype == np.float32
    ref = spectra.ElmanRNN(W).run(steps=10, h0=np.ones(5))
    np.testing.assert_allclose(traj.product(), ref.product(), rtol=1e-4, atol=1e-5)


def test_divergent_run_is_reported(rng):
    cell = spectra.ElmanRNN(5.0 * np.eye(3), activation="relu")
    with pytest.raises(spectra.NumericalError, match="overflowed at step t="):
        cell.run(steps=1000, h0=np.ones(3))


def test_product_range_is_checked(rng):
    cell = spectra.ElmanRNN(np.diag([40.0, 1.0]), activation="identity")
    traj = cell.run(steps=200, h0=np.zeros(2))
    with pytest.raises(spectra.NumericalError, match="overflows float64"):
        traj.product()
    traj = spectra.ElmanRNN(np.diag([1e-3, 1e-3]), activation="identity").run(steps=120, h0=np.zeros(2))
    with pytest.raises(spectra.NumericalError, match="underflows float64"):
        traj.product()
    # one tiny direction is fine: the product is accurate normwise
    traj = spectra.ElmanRNN(np.diag([1e-3, 1e-2]), activation="identity").run(steps=120, h0=np.zeros(2))
    np.testing.assert_allclose(traj.product(), np.diag([0.0, 1e-240]), rtol=1e-12, atol=0)
    # intermediate overflow that comes back into range is no error
    big = spectra.DenseJacobians(np.array([np.diag([1e200, 3e200])] * 2 + [np.diag([1e-250, 1e-250])] * 2))
    np.testing.assert_allclose(big.product(), np.diag([1e-100, 9e-100]), rtol=1e-12)
    # an exactly zero product (dead relu units) is legitimate
    dead = spectra.ElmanRNN(np.eye(2), activation="relu").run(steps=3, h0=[-1.0, -1.0])
    np.testing.assert_array_equal(dead.product(), np.zeros((2, 2)))


def test_cells_are_immutable_and_copy_their_weights(rng):
    W = init.gaussian(3, rng=rng)
    cell = spectra.ElmanRNN(W)
    W[0, 0] = 100.0
    assert cell.W_hh[0, 0] != 100.0
    with pytest.raises(ValueError):
        cell.W_hh[0, 0] = 1.0
    traj = cell.run(steps=2)
    with pytest.raises(ValueError):
        traj.states[0, 0] = 1.0


def test_random_constructor(rng):
    cell = spectra.LeakyRNN.random(6, input_size=2, init="echo_state", gain=0.8, rng=3, alpha=0.1,
                                   bias_scale=0.5)
    assert np.max(np.abs(np.linalg.eigvals(cell.W_hh))) == pytest.approx(0.8)
    assert cell.W_hx.shape == (6, 2) and cell.b is not None
    again = spectra.LeakyRNN.random(6, input_size=2, init="echo_state", gain=0.8, rng=3, alpha=0.1,
                                    bias_scale=0.5)
    np.testing.assert_array_equal(cell.W_hh, again.W_hh)
