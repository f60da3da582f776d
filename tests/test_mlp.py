"""MLP and residual MLP as step maps over depth: forward pass, layer Jacobians, rectangular layers."""

import numpy as np
import pytest

import spectra
from spectra import init

from _helpers import central_difference_jacobian, relative_error


def rect_net(rng, widths=(3, 5, 4, 2), act="tanh"):
    Ws = [init.gaussian(m, k, gain=1.3, rng=rng) for k, m in zip(widths[:-1], widths[1:])]
    bs = [0.3 * rng.standard_normal(m) for m in widths[1:]]
    return spectra.MLP(Ws, bs, activation=act), Ws, bs


def test_forward_pass_matches_the_equations(rng):
    net, Ws, bs = rect_net(rng)
    x = rng.standard_normal(3)
    traj = net.run(x)
    h = x
    assert traj.steps == 3 and traj.widths == (3, 5, 4, 2) and net.depth == 3
    np.testing.assert_array_equal(traj.layers[0], x)
    for l, (W, b) in enumerate(zip(Ws, bs), start=1):
        a = W @ h + b
        np.testing.assert_allclose(traj.layer_preactivations[l - 1], a, rtol=1e-15, atol=1e-15)
        h = np.tanh(a)
        np.testing.assert_allclose(traj.layers[l], h, rtol=1e-15, atol=1e-15)
    # residual: h_l = h_{l-1} + f(W_l h_{l-1} + b_l)
    Ws = [init.orthogonal(4, gain=0.8, rng=rng) for _ in range(5)]
    res = spectra.MLP(Ws, activation="relu", residual=True).run(x := rng.standard_normal(4))
    h = x
    for W in Ws:
        h = h + np.maximum(W @ h, 0)
    np.testing.assert_allclose(res.states[-1], h, rtol=1e-14, atol=1e-15)
    assert res.states.shape == (6, 4) and res.preactivations.shape == (5, 4)
    np.testing.assert_array_equal(res.hidden, res.states)


@pytest.mark.parametrize("residual", [False, True])
def test_layer_jacobians_and_network_jacobian_match_finite_differences(rng, residual):
    if residual:
        widths = (4, 4, 4, 4)
        net = spectra.MLP([init.gaussian(4, rng=rng) for _ in range(3)], [rng.standard_normal(4)] * 3,
                          activation="softplus", residual=True)
    else:
        widths = (3, 6, 4, 2)
        net = rect_net(rng, widths, act="gelu")[0]
    x = rng.standard_normal(widths[0])
    traj = net.run(x)
    for l in range(1, 4):
        J = traj.jacobian(l)
        assert J.shape == (widths[l], widths[l - 1])
        fd = central_difference_jacobian(lambda v, l=l: net.step(v, layer=l), traj.layers[l - 1])
        assert relative_error(J, fd) < 1e-8
        np.testing.assert_allclose(net.step_jacobian(traj.layers[l - 1], layer=l), J, rtol=1e-15, atol=0)
        np.testing.assert_allclose(net.step_jacobian(traj.layers[l - 1], layer=l, layout="backprop"), J.T,
                                   rtol=1e-15, atol=0)
        v, u = rng.standard_normal(widths[l - 1]), rng.standard_normal(widths[l])
        np.testing.assert_allclose(net.jvp(traj.layers[l - 1], v, layer=l), J @ v, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(net.vjp(traj.layers[l - 1], u, layer=l), J.T @ u, rtol=1e-13, atol=1e-14)
    fd = central_difference_jacobian(lambda v: net.run(v).layers[-1], x)
    assert relative_error(traj.product(3, 0), fd) < 1e-8
    assert relative_error(traj.product(3, 1), central_difference_jacobian(
        lambda v: net.step(net.step(v, layer=2), layer=3), traj.layers[1])) < 1e-8


def test_rectangular_sequence_interface(rng):
    net = rect_net(rng, (3, 5, 4, 2))[0]
    traj = net.run(rng.standard_normal(3))
    seq = traj.jacobian_sequence
    assert not seq.is_square and seq.steps == 3
    assert [seq.state_size(t) for t in range(4)] == [3, 5, 4, 2]
    for t in range(1, 4):
        M = seq.matrix(t)
        assert seq.step_shape(t) == M.shape
        np.testing.assert_allclose(seq.matmat(t, np.eye(M.shape[1])), M, rtol=1e-15, atol=0)
        np.testing.assert_allclose(seq.rmatmat(t, np.eye(M.shape[0])), M.T, rtol=1e-15, atol=0)
    P = traj.jacobian(3) @ traj.jacobian(2) @ traj.jacobian(1)
    np.testing.assert_allclose(traj.product(), P, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(traj.product(2, 2), np.eye(4))
    np.testing.assert_allclose(traj.product(layout="backprop"), P.T, rtol=1e-13, atol=1e-15)
    A = traj.operator(3, 0)
    assert A.shape == (2, 3) and traj.operator(3, 0, layout="backprop").shape == (3, 2)
    v, u = rng.standard_normal(3), rng.standard_normal(2)
    np.testing.assert_allclose(A.matvec(v), P @ v, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(A.rmatvec(u), P.T @ u, rtol=1e-13, atol=1e-15)
    # singular values of the network Jacobian through the matrix-free operator
    from scipy.sparse.linalg import svds
    s = svds(traj.operator(3, 0), k=1, return_singular_vectors=False)
    np.testing.assert_allclose(s, np.linalg.svd(P, compute_uv=False)[:1], rtol=1e-10)
    # the square-only parts say why they refuse
    with pytest.raises(ValueError, match="a dense stack of layer Jacobians needs layers of one shape"):
        traj.jacobians()
    with pytest.raises(ValueError, match=r"`states` needs one width for every layer; .* \(3, 5, 4, 2\)"):
        traj.states
    with pytest.raises(ValueError, match="`preactivations` needs one width"):
        traj.preactivations
    with pytest.raises(ValueError, match="no single state size"):
        traj.n
    with pytest.raises(ValueError, match="no single state size"):
        net.n
    with pytest.raises(ValueError, match=r"needs square step Jacobians .* got J_1 of shape \(5, 3\)"):
        seq.require_square("lyapunov_spectrum")
    with pytest.raises(ValueError, match=r"logabsdet needs a square step Jacobian; layer 2 has shape \(4, 5\)"):
        seq.logabsdet(2)
    with pytest.raises(ValueError, match="rectangular or varying steps"):
        seq.n


@pytest.mark.parametrize("residual", [False, True])
def test_square_sequence_interface(rng, residual):
    n, L = 5, 6
    net = spectra.MLP(init.gaussian(n, gain=1.2, rng=rng)[None].repeat(L, axis=0) * rng.uniform(0.5, 1.5, (L, 1, 1)),
                      [rng.standard_normal(n) for _ in range(L)], activation="tanh", residual=residual)
    traj = net.run(rng.standard_normal(n))
    seq = traj.jacobian_sequence
    assert seq.is_square and seq.n == n and traj.n == n and net.n == n
    Js = traj.jacobians()
    assert Js.shape == (L, n, n)
    np.testing.assert_allclose(seq.matrices(2, 4), Js[1:4], rtol=0, atol=0)
    P = np.eye(n)
    for t in range(1, L + 1):
        np.testing.assert_array_equal(Js[t - 1], traj.jacobian(t))
        np.testing.assert_allclose(seq.logabsdet(t), np.linalg.slogdet(Js[t - 1])[1], rtol=1e-12)
        P = Js[t - 1] @ P
    np.testing.assert_allclose(traj.product(), P, rtol=1e-12, atol=1e-14)
    if residual:
        np.testing.assert_allclose(Js[0] - np.eye(n),
                                   np.diag(1 - np.tanh(traj.preactivations[0]) ** 2) @ net.weights[0],
                                   rtol=1e-13, atol=1e-15)
    seq.require_square("lyapunov_spectrum")  # no error


def test_batched_forward_pass_and_select(rng):
    net = rect_net(rng, (3, 4, 4, 2))[0]
    X = rng.standard_normal((5, 3))
    batch = net.run(X)
    assert batch.batch_shape == (5,) and batch.jacobian_sequence.batch_shape == (5,)
    assert batch.product().shape == (5, 2, 3)
    for b in range(5):
        one = net.run(X[b])
        for l in range(4):
            np.testing.assert_allclose(batch.layers[l][b], one.layers[l], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(batch.product()[b], one.product(), rtol=1e-13, atol=1e-15)
        picked = batch.select(b)
        np.testing.assert_allclose(picked.product(3, 1), one.product(3, 1), rtol=1e-13, atol=1e-15)
        assert picked.widths == (3, 4, 4, 2) and picked.batch_shape == ()
    with pytest.raises(ValueError, match="select"):
        batch.operator()
    square = spectra.MLP([np.eye(3) * 0.5] * 4).run(rng.standard_normal((2, 3)))
    assert square.states.shape == (2, 5, 3) and square.select(1).states.shape == (5, 3)


def test_per_layer_activations_and_random(rng):
    net = spectra.MLP.random([4, 6, 6, 3], init="he_normal", activation=["relu", "relu", "identity"],
                             bias_scale=0.1, rng=0)
    assert [a.name for a in net.activations] == ["relu", "relu", "identity"]
    with pytest.raises(ValueError, match="different activations"):
        net.activation
    again = spectra.MLP.random([4, 6, 6, 3], init="he_normal", activation=["relu", "relu", "identity"],
                               bias_scale=0.1, rng=0)
    for W, V in zip(net.weights, again.weights):
        np.testing.assert_array_equal(W, V)
    traj = net.run(rng.standard_normal(4))
    a = traj.layer_preactivations
    np.testing.assert_array_equal(traj.layers[-1], a[-1])  # identity last layer
    np.testing.assert_array_equal(traj.jacobian(3), net.weights[2])
    res = spectra.MLP.random([8] * 5, init="orthogonal", residual=True, rng=1)
    assert res.residual and res.activation.name == "tanh"
    assert repr(res) == "MLP(widths=(8, 8, 8, 8, 8), activation=Activation('tanh'), residual=True)"


def test_depth_run_options(rng):
    net = spectra.MLP([np.eye(2)] * 3, activation="identity")
    x = rng.standard_normal(2)
    np.testing.assert_array_equal(net.run(h0=x).states, net.run(x).states)
    np.testing.assert_array_equal(net.run(x, steps=3).states[-1], x)
    np.testing.assert_array_equal(net.run().states, np.zeros((4, 2)))  # zero input by default
    assert isinstance(net, spectra.Cell) and isinstance(net.run(x), spectra.Trajectory)


def test_overflow_is_reported():
    net = spectra.MLP([np.eye(2) * 1e200] * 3, activation="identity")
    with pytest.raises(spectra.NumericalError, match="overflowed at layer 2"):
        net.run(np.ones(2))


def test_weights_are_copied_and_frozen(rng):
    W = rng.standard_normal((3, 3))
    net = spectra.MLP([W])
    W[0, 0] = 99.0
    assert net.weights[0][0, 0] != 99.0
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 1.0
    traj = net.run(np.ones(3))
    with pytest.raises(ValueError):
        traj.layers[1][0] = 0.0


BAD = [
    ("weights empty", lambda: spectra.MLP([]), ValueError, "`weights` must contain at least one layer"),
    ("weights type", lambda: spectra.MLP(3.0), TypeError, "`weights` must be a sequence of weight matrices"),
    ("weights dict", lambda: spectra.MLP({"a": np.eye(2)}), TypeError, "`weights`"),
    ("weights 2-D array", lambda: spectra.MLP(np.eye(3)), ValueError, r"`weights` must be a sequence of matrices or an array of shape \(L, n, n\)"),
    ("weights chain", lambda: spectra.MLP([np.ones((4, 3)), np.ones((2, 5))]), ValueError,
     r"`weights` must chain: weights\[1\] has shape \(2, 5\) but weights\[0\] has shape \(4, 3\) \(need 4 columns\)"),
    ("weights NaN", lambda: spectra.MLP([np.eye(2), np.full((2, 2), np.nan)]), ValueError, r"`weights\[1\]` must be finite"),
    ("weights 1-D", lambda: spectra.MLP([np.ones(3)]), ValueError, r"`weights\[0\]` must be a 2-D matrix"),
    ("biases count", lambda: spectra.MLP([np.eye(2)] * 2, [np.ones(2)]), ValueError, r"`biases` must have one entry per layer \(2\); got 1"),
    ("biases length", lambda: spectra.MLP([np.ones((3, 2))], [np.ones(2)]), ValueError, r"`biases\[0\]` must have length 3"),
    ("biases type", lambda: spectra.MLP([np.eye(2)], 1.0), TypeError, "`biases` must be a sequence of 1 bias vectors"),
    ("activation count", lambda: spectra.MLP([np.eye(2)] * 2, activation=["tanh"]), ValueError, r"`activation` must have one entry per layer \(2\)"),
    ("activation item", lambda: spectra.MLP([np.eye(2)], activation=[np.tanh]), TypeError, r"`activation\[0\]` must be a name or an Activation"),
    ("activation name", lambda: spectra.MLP([np.eye(2)], activation="tanhh"), ValueError, "`activation` must be one of"),
    ("residual rectangular", lambda: spectra.MLP([np.ones((3, 2))], residual=True), ValueError,
     r"`residual=True` needs square layers .* weights\[0\] has shape \(3, 2\)"),
    ("residual type", lambda: spectra.MLP([np.eye(2)], residual="yes"), TypeError, "`residual` must be True or False"),
    ("dtype", lambda: spectra.MLP([np.eye(2)], dtype=np.int8), ValueError, "`dtype` must be float32 or float64"),
    ("run width", lambda: spectra.MLP([np.ones((3, 2))]).run(np.ones(3)), ValueError, r"`x` must have length 2 \(shape \(2,\) or \(B, 2\)\); got shape \(3,\)"),
    ("run h0 width", lambda: spectra.MLP([np.ones((3, 2))]).run(h0=np.ones(3)), ValueError, "`h0` must have length 2"),
    ("run both", lambda: spectra.MLP([np.eye(2)]).run(np.ones(2), h0=np.ones(2)), ValueError, "pass the network input once"),
    ("run steps", lambda: spectra.MLP([np.eye(2)]).run(np.ones(2), steps=2), ValueError, r"`steps` must equal the depth of the MLP \(1\)"),
    ("run 3-D", lambda: spectra.MLP([np.eye(2)]).run(np.ones((1, 1, 2))), ValueError, "`x` must be 1-D or 2-D"),
    ("run NaN", lambda: spectra.MLP([np.eye(2)]).run([np.nan, 0.0]), ValueError, "`x` must be finite"),
    ("step layer", lambda: spectra.MLP([np.eye(2)]).step(np.ones(2), layer=2), ValueError, "`layer` must be <= 1"),
    ("step layer 0", lambda: spectra.MLP([np.eye(2)]).step_jacobian(np.ones(2), layer=0), ValueError, "`layer` must be >= 1"),
    ("step x", lambda: spectra.MLP([np.eye(2)]).step(np.ones(2), np.ones(2)), TypeError, "an MLP layer takes no input besides `h_prev`"),
    ("step width", lambda: spectra.MLP([np.ones((3, 2)), np.ones((1, 3))]).step(np.ones(2), layer=2), ValueError, "`h_prev` must have length 3"),
    ("jvp width", lambda: spectra.MLP([np.ones((3, 2))]).jvp(np.ones(2), np.ones(3)), ValueError, "`v` must have length 2"),
    ("vjp width", lambda: spectra.MLP([np.ones((3, 2))]).vjp(np.ones(2), np.ones(2)), ValueError, "`u` must have length 3"),
    ("step_jacobian layout", lambda: spectra.MLP([np.eye(2)]).step_jacobian(np.ones(2), layout="x"), ValueError, "`layout` must be one of"),
    ("random widths", lambda: spectra.MLP.random([4]), ValueError, "`widths` must have at least two entries"),
    ("random widths type", lambda: spectra.MLP.random(4), TypeError, "`widths` must be a sequence"),
    ("random width zero", lambda: spectra.MLP.random([4, 0]), ValueError, r"`widths\[1\]` must be >= 1"),
    ("random init", lambda: spectra.MLP.random([4, 4], init="echo_state"), ValueError, "`init` must be one of"),
    ("jacobian t", lambda: spectra.MLP([np.eye(2)]).run(np.ones(2)).jacobian(2), ValueError, "`t` must be <= 1"),
    ("product k>t", lambda: spectra.MLP([np.eye(2)] * 2).run(np.ones(2)).product(1, 2), ValueError, "`k` must satisfy"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_float32_mlp(rng):
    Ws = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    t32 = spectra.MLP(Ws, activation="relu", dtype=np.float32).run(rng.standard_normal(3))
    assert t32.layers[-1].dtype == np.float32 and t32.product().dtype == np.float32
    t64 = spectra.MLP(Ws, activation="relu").run(t32.layers[0].astype(np.float64))
    np.testing.assert_allclose(t32.product(), t64.product(), rtol=1e-5, atol=1e-6)
