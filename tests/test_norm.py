"""Layer norm and batch norm: exact Jacobians, their closed-form properties, MLPs with normalisation."""

import types

import numpy as np
import pytest

import spectra
from spectra import init
from spectra.cells.norm import NormLayerJacobians

from _helpers import central_difference_jacobian, relative_error


def _ln_reference(x, gamma, beta, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def _bn_reference(X, gamma, beta, eps):
    mu = X.mean(0)
    var = ((X - mu) ** 2).mean(0)
    return gamma * (X - mu) / np.sqrt(var + eps) + beta


# -- layer norm ---------------------------------------------------------------------------


# (over two features the output is +-1 up to O(eps), and its Jacobian O(eps): eps = 0.5 there)
@pytest.mark.parametrize("n,eps", [(2, 0.5), (5, 0.0), (7, 0.3), (16, 1e-5)])
def test_layer_norm_forward_and_jacobian_match_finite_differences(rng, n, eps):
    gamma, beta = rng.uniform(0.5, 2.0, n), rng.standard_normal(n)
    ln = spectra.LayerNorm(n, gamma=gamma, beta=beta, eps=eps)
    x = 2.0 * rng.standard_normal(n) + 1.0
    np.testing.assert_allclose(ln(x), _ln_reference(x, gamma, beta, eps), rtol=1e-14, atol=1e-14)
    J = ln.jacobian(x)
    assert relative_error(J, central_difference_jacobian(ln, x)) < 1e-8
    v, u = rng.standard_normal(n), rng.standard_normal(n)
    np.testing.assert_allclose(ln.jvp(x, v), J @ v, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(ln.vjp(x, u), J.T @ u, rtol=1e-13, atol=1e-14)
    # batched examples: one Jacobian per row
    X = rng.standard_normal((3, n))
    JB = ln.jacobian(X)
    assert JB.shape == (3, n, n)
    for b in range(3):
        np.testing.assert_allclose(JB[b], ln.jacobian(X[b]), rtol=1e-14, atol=1e-15)


def test_layer_norm_jacobian_closed_form_properties(rng):
    n = 9
    gamma = rng.uniform(0.5, 2.0, n)
    x = rng.standard_normal(n) * 3 + 2
    mu, var = x.mean(), x.var()
    for eps in (0.0, 0.5):
        ln = spectra.LayerNorm(n, gamma=gamma, eps=eps)
        J = ln.jacobian(x)
        sigma = np.sqrt(var + eps)
        xhat = (x - mu) / sigma
        # the lead's formula: (gamma/sigma) (I - 1 1^T/n - xhat xhat^T/n)
        ref = (gamma / sigma)[:, None] * (np.eye(n) - np.ones((n, n)) / n - np.outer(xhat, xhat) / n)
        np.testing.assert_allclose(J, ref, rtol=1e-13, atol=1e-15)
        # annihilates the all-ones vector; maps xhat to xhat * eps / (var + eps) (scaled by gamma/sigma)
        np.testing.assert_allclose(J @ np.ones(n), 0.0, atol=1e-14)
        np.testing.assert_allclose(J @ xhat, gamma / sigma * xhat * eps / (var + eps), rtol=1e-12, atol=1e-14)
        # without gamma the bracket is symmetric
        Js = (sigma / gamma)[:, None] * J
        np.testing.assert_allclose(Js, Js.T, rtol=0, atol=1e-15)
        # rank: n - 2 for eps = 0 (ones and xhat annihilated), n - 1 otherwise
        assert np.linalg.matrix_rank(J, tol=1e-10) == (n - 2 if eps == 0 else n - 1)


# -- batch norm ---------------------------------------------------------------------------


@pytest.mark.parametrize("B,n,eps", [(2, 1, 0.5), (4, 3, 0.0), (6, 5, 0.2), (8, 2, 1e-5)])
def test_batch_norm_jacobian_matches_finite_differences_and_formula(rng, B, n, eps):
    gamma, beta = rng.uniform(0.5, 2.0, n), rng.standard_normal(n)
    bn = spectra.BatchNorm(n, gamma=gamma, beta=beta, eps=eps)
    X = rng.standard_normal((B, n)) * rng.uniform(0.5, 3, n) + rng.standard_normal(n)
    np.testing.assert_allclose(bn(X), _bn_reference(X, gamma, beta, eps), rtol=1e-14, atol=1e-14)
    J = bn.jacobian(X)
    assert J.shape == (B * n, B * n)
    fd = central_difference_jacobian(lambda v: bn(v.reshape(B, n)).reshape(-1), X.reshape(-1))
    assert relative_error(J, fd) < 1e-8
    # entry by entry: delta_ij gamma_i/sigma_i (delta_bc - 1/B - xhat_bi xhat_ci / B)
    sigma = np.sqrt(X.var(0) + eps)
    xhat = (X - X.mean(0)) / sigma
    ref = np.zeros((B, n, B, n))
    for b in range(B):
        for c in range(B):
            for i in range(n):
                ref[b, i, c, i] = gamma[i] / sigma[i] * ((b == c) - 1 / B - xhat[b, i] * xhat[c, i] / B)
    np.testing.assert_allclose(J, ref.reshape(B * n, B * n), rtol=1e-13, atol=1e-15)
    # columns and rows sum to zero over the batch, feature by feature
    J4 = J.reshape(B, n, B, n)
    np.testing.assert_allclose(J4.sum(axis=0), 0.0, atol=1e-13)
    np.testing.assert_allclose(J4.sum(axis=2), 0.0, atol=1e-13)
    if B > 1:
        assert np.max(np.abs(J4[0, :, 1, :])) > 1e-3       # the cross-example blocks are real
    V, U = rng.standard_normal((B, n)), rng.standard_normal((B, n))
    np.testing.assert_allclose(bn.jvp(X, V).reshape(-1), J @ V.reshape(-1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bn.vjp(X, U).reshape(-1), J.T @ U.reshape(-1), rtol=1e-12, atol=1e-14)


def test_batch_norm_evaluation_mode_is_a_per_feature_affine_map(rng):
    n = 4
    rm, rv = rng.standard_normal(n), rng.uniform(0.5, 2, n)
    gamma, beta = rng.uniform(0.5, 2, n), rng.standard_normal(n)
    bn = spectra.BatchNorm(n, gamma=gamma, beta=beta, running_mean=rm, running_var=rv, training=False)
    assert not bn.coupled and bn.eval() == bn and spectra.BatchNorm(n).eval() != spectra.BatchNorm(n)
    x = rng.standard_normal(n)
    np.testing.assert_allclose(bn(x), gamma * (x - rm) / np.sqrt(rv + 1e-5) + beta, rtol=1e-14)
    J = bn.jacobian(x)
    np.testing.assert_allclose(J, np.diag(gamma / np.sqrt(rv + 1e-5)), rtol=1e-14, atol=0)
    assert relative_error(J, central_difference_jacobian(bn, x)) < 1e-9
    assert bn(np.ones((1, n))).shape == (1, n)          # one example is fine in evaluation mode


def test_from_torch_reads_modules_by_duck_typing(rng):
    w, b = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    fake_ln = types.SimpleNamespace(normalized_shape=(3,), weight=w, bias=b, eps=1e-6)
    ln = spectra.LayerNorm.from_torch(fake_ln)
    np.testing.assert_array_equal(ln.gamma, w)
    assert ln.eps == 1e-6
    no_affine = spectra.LayerNorm.from_torch(types.SimpleNamespace(normalized_shape=[3], weight=None,
                                                                   bias=None, eps=1e-5))
    np.testing.assert_array_equal(no_affine.gamma, np.ones(3))
    fake_bn = types.SimpleNamespace(num_features=3, weight=w, bias=b, eps=1e-5, running_mean=b,
                                    running_var=w, training=False)
    bn = spectra.BatchNorm.from_torch(fake_bn)
    assert not bn.training and bn == spectra.BatchNorm(3, gamma=w, beta=b, running_mean=b,
                                                       running_var=w, training=False)
    assert spectra.BatchNorm.from_torch(fake_bn, training=True).training
    with pytest.raises(ValueError, match="one feature axis"):
        spectra.LayerNorm.from_torch(types.SimpleNamespace(normalized_shape=(2, 3), weight=None,
                                                           bias=None, eps=1e-5))


def test_normalisation_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.func import jacrev

    g = torch.Generator().manual_seed(0)
    ln_t = torch.nn.LayerNorm(5, dtype=torch.float64)
    bn_t = torch.nn.BatchNorm1d(5, dtype=torch.float64)
    with torch.no_grad():
        for m in (ln_t, bn_t):
            m.weight.uniform_(0.5, 2.0, generator=g)
            m.bias.normal_(generator=g)
    X = torch.randn(4, 5, dtype=torch.float64, generator=g)
    ln, bn = spectra.LayerNorm.from_torch(ln_t), spectra.BatchNorm.from_torch(bn_t)
    np.testing.assert_allclose(ln(X.numpy()), ln_t(X).detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(bn(X.numpy()), bn_t(X).detach().numpy(), rtol=1e-12, atol=1e-13)
    # the functional form: the module would update its running statistics in place under jacrev
    bn_f = (lambda x: torch.nn.functional.batch_norm(x, None, None, bn_t.weight, bn_t.bias,
                                                     training=True, eps=bn_t.eps))
    Jt = jacrev(bn_f)(X).reshape(20, 20).detach().numpy()
    np.testing.assert_allclose(bn.jacobian(X.numpy()), Jt, rtol=1e-10, atol=1e-12)
    Jt = jacrev(lambda x: ln_t(x))(X[0]).detach().numpy()
    np.testing.assert_allclose(ln.jacobian(X[0].numpy()), Jt, rtol=1e-10, atol=1e-12)


# -- MLPs with normalisation layers --------------------------------------------------------


def _net(rng, norm, residual=False, widths=(3, 5, 4, 2), act="tanh"):
    if residual:
        widths = (4, 4, 4, 4)
    Ws = [init.gaussian(m, k, gain=1.3, rng=rng) for k, m in zip(widths[:-1], widths[1:])]
    bs = [0.3 * rng.standard_normal(m) for m in widths[1:]]
    return spectra.MLP(Ws, bs, activation=act, residual=residual, norm=norm), widths


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("norm", ["layer", ["layer", None, "layer"]])
def test_layer_norm_mlp_jacobians_match_finite_differences(rng, norm, residual):
    net, widths = _net(rng, norm, residual, widths=(3, 5, 4, 3))
    assert not net.coupled
    X = rng.standard_normal((3, widths[0]))
    traj = net.run(X)
    assert traj.batch_shape == (3,) and isinstance(traj.jacobian_sequence, NormLayerJacobians)
    for b in range(3):
        fd = central_difference_jacobian(lambda v: net.run(v).layers[-1], X[b])
        assert relative_error(traj.product()[b], fd) < 1e-7
        one = traj.select(b)
        np.testing.assert_allclose(one.product(), traj.product()[b], rtol=1e-13, atol=1e-15)
        for l in range(1, 4):
            J = net.step_jacobian(one.layers[l - 1], layer=l)
            fd = central_difference_jacobian(lambda v, l=l: net.step(v, layer=l), one.layers[l - 1])
            assert relative_error(J, fd) < 1e-7
            np.testing.assert_allclose(one.jacobian(l), J, rtol=1e-13, atol=1e-15)
    # the forward pass is the textbook one
    h = X[0]
    for l, (W, bias) in enumerate(zip(net.weights, net.biases)):
        a = W @ h + bias
        y = _ln_reference(a, 1.0, 0.0, 1e-5) if net.norms[l] is not None else a
        h = (h if residual else 0) + np.tanh(y)
        np.testing.assert_allclose(traj.layers[l + 1][0], h, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("residual", [False, True])
def test_batch_norm_mlp_couples_the_batch_and_matches_finite_differences(rng, residual):
    net, widths = _net(rng, "batch", residual)
    assert net.coupled and "norm='batch'" in repr(net)
    B = 4
    X = rng.standard_normal((B, widths[0]))
    traj = net.run(X)
    n0, nL = widths[0], widths[-1]
    assert traj.coupled and traj.batch_shape == () and "coupled batch of 4" in repr(traj)
    assert traj.jacobian_sequence.step_shape(1) == (B * widths[1], B * n0)
    P = traj.product()
    assert P.shape == (B * nL, B * n0)
    fd = central_difference_jacobian(lambda v: net.run(v.reshape(B, n0)).layers[-1].reshape(-1),
                                     X.reshape(-1))
    assert relative_error(P, fd) < 1e-7
    # layer by layer, through the public one-layer API
    for l in range(1, 4):
        H = traj.layers[l - 1]
        J = net.step_jacobian(H, layer=l)
        fd = central_difference_jacobian(lambda v, l=l, H=H: net.step(v.reshape(H.shape), layer=l).reshape(-1),
                                         H.reshape(-1))
        assert relative_error(J, fd) < 1e-7
        np.testing.assert_allclose(traj.jacobian(l), J, rtol=1e-13, atol=1e-15)
        V, U = rng.standard_normal(H.shape), rng.standard_normal((B, widths[l]))
        np.testing.assert_allclose(net.jvp(H, V, layer=l).reshape(-1), J @ V.reshape(-1), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(net.vjp(H, U, layer=l).reshape(-1), J.T @ U.reshape(-1), rtol=1e-12, atol=1e-14)
    if not residual:
        # the first layer's batch norm removes any per-feature shift of the whole batch
        u = rng.standard_normal(n0)
        np.testing.assert_allclose(P @ np.tile(u, B), 0.0, atol=1e-12 * np.abs(P).max())
    with pytest.raises(ValueError, match="coupled into one state"):
        traj.select(0)


def test_coupled_trajectory_states_and_analysis_routines(rng):
    n, B, L = 4, 3, 5
    net = spectra.MLP.random([n] * (L + 1), init="xavier_normal", activation="relu", norm="batch",
                             rng=rng)
    X = rng.standard_normal((B, n))
    traj = net.run(X)
    assert traj.states.shape == (L + 1, B * n) and traj.n == B * n
    np.testing.assert_array_equal(traj.states[2], traj.layers[2].reshape(-1))
    assert traj.preactivations.shape == (L, B * n)
    np.testing.assert_array_equal(traj.layer_normalized[0], net.norms[0](traj.layer_preactivations[0]))
    Js = traj.jacobians()
    assert Js.shape == (L, B * n, B * n)
    dense = np.eye(B * n)
    prof = spectra.gradient_norm_profile(traj)
    for lag in range(1, L + 1):
        dense = dense @ Js[L - lag]
        np.testing.assert_allclose(prof.log_norms[lag - 1], np.log(np.linalg.norm(dense, 2)), rtol=1e-10)
    s = spectra.product_log_singular_values(traj)
    sv = np.linalg.svd(traj.product(), compute_uv=False)
    keep = sv > 1e-8 * sv[0]
    np.testing.assert_allclose(s[keep], np.log(sv[keep]), rtol=1e-8, atol=1e-8)
    top = spectra.top_singular_values(traj.operator(), 3, rng=0)
    np.testing.assert_allclose(top.values, sv[:3], rtol=1e-9)
    # batch-normalised (non-residual) layers are singular: log|det| is exactly -inf
    assert traj.jacobian_sequence.logabsdet(1) == -np.inf


def test_normalised_layers_are_never_formed_densely_by_matrix_free_routines(rng, monkeypatch):
    net = spectra.MLP.random([6] * 7, init="xavier_normal", norm="batch", rng=rng)
    traj = net.run(rng.standard_normal((5, 6)))

    def refuse(self, t):
        raise AssertionError("a dense step Jacobian was formed")

    monkeypatch.setattr(NormLayerJacobians, "matrix", refuse)
    v = rng.standard_normal(30)
    prof = spectra.gradient_norm_profile(traj, vector=v)
    assert np.all(np.isfinite(prof.log_norms))
    spectra.top_singular_values(traj.operator(), 2, rng=0)
    spectra.lyapunov_spectrum(traj, k=1, rng=0)


def test_residual_and_eval_mode_logabsdet_and_transpose(rng):
    n = 5
    bn_eval = spectra.BatchNorm(n, gamma=rng.uniform(0.5, 2, n), running_var=rng.uniform(0.5, 2, n),
                                training=False)
    for norm, residual in [("layer", True), (bn_eval, False), ([None, "layer", bn_eval], False)]:
        net = spectra.MLP.random([n] * 4, norm=norm, residual=residual, rng=rng, bias_scale=0.2)
        assert not net.coupled
        traj = net.run(rng.standard_normal(n))
        seq = traj.jacobian_sequence
        for t in range(1, 4):
            J = seq.matrix(t)
            ld = seq.logabsdet(t)
            if net.norms[t - 1] is not None and net.norms[t - 1].kind == "layer" and not residual:
                assert ld == -np.inf
            else:
                np.testing.assert_allclose(ld, np.linalg.slogdet(J)[1], rtol=1e-12)
            Y = rng.standard_normal((n, 2))
            np.testing.assert_allclose(seq.rmatmat(t, Y), J.T @ Y, rtol=1e-12, atol=1e-14)
        fd = central_difference_jacobian(lambda v: net.run(v).layers[-1], traj.layers[0])
        assert relative_error(traj.product(), fd) < 1e-7


def test_layer_norm_network_jacobian_is_scale_equivariant(rng):
    # with eps = 0 and no biases, N(W (c x)) = N(W x): the network is scale invariant, so
    # dh_L/dh_0 at c x is (1/c) times the Jacobian at x (an identity independent of the code).
    Ws = [init.gaussian(6, rng=rng) for _ in range(4)]
    net = spectra.MLP(Ws, norm=[spectra.LayerNorm(6, eps=0.0)] * 4, activation="tanh")
    x = rng.standard_normal(6)
    for c in (0.01, 3.0, 1e4):
        np.testing.assert_allclose(net.run(c * x).product(), net.run(x).product() / c,
                                   rtol=1e-10, atol=1e-12 / c)


@pytest.mark.parametrize("make,exc,needle", [
    (lambda: spectra.LayerNorm(0), ValueError, "`n` must be >= 1"),
    (lambda: spectra.LayerNorm(3, gamma=np.ones(2)), ValueError, "`gamma` must have length 3"),
    (lambda: spectra.LayerNorm(3, eps=-1.0), ValueError, "`eps` must be in"),
    (lambda: spectra.LayerNorm(3, eps=0.0).jacobian(np.ones(3)), ValueError, "zero variance"),
    (lambda: spectra.LayerNorm(3)(np.ones(4)), ValueError, "`x` must have 3 features"),
    (lambda: spectra.BatchNorm(3)(np.ones((1, 3))), ValueError, "at least 2 examples"),
    (lambda: spectra.BatchNorm(3)(np.ones(3)), ValueError, "`x` must be 2-D"),
    (lambda: spectra.BatchNorm(3, eps=0.0)(np.ones((2, 3))), ValueError, "constant over the batch"),
    (lambda: spectra.BatchNorm(3, training=1), TypeError, "`training` must be True or False"),
    (lambda: spectra.BatchNorm(3, running_var=-np.ones(3)), ValueError, "non-negative"),
    (lambda: spectra.BatchNorm(2).jvp(np.eye(2), np.ones((3, 2))), ValueError, "`v` must have the shape"),
    (lambda: spectra.MLP([np.eye(3)], norm="group"), ValueError, "`norm` must be None, 'layer' or 'batch'"),
    (lambda: spectra.MLP([np.eye(3)] * 2, norm=["layer"]), ValueError, "one entry per layer"),
    (lambda: spectra.MLP([np.eye(3)], norm=spectra.LayerNorm(4)), ValueError, "normalises 4 features"),
    (lambda: spectra.MLP([np.eye(3)], norm=[3]), TypeError, r"`norm\[0\]` must be"),
    (lambda: spectra.MLP([np.eye(3)], norm=3.0), TypeError, "`norm` must be None"),
    (lambda: spectra.MLP([np.eye(3)], norm="batch").run(np.ones(3)), ValueError, "B >= 2"),
    (lambda: spectra.MLP([np.eye(3)], norm="batch").vjp(np.eye(3)[:2], np.ones(3)), ValueError,
     "`u` must be a batch"),
])
def test_bad_arguments(make, exc, needle):
    with pytest.raises(exc, match=needle):
        make()
