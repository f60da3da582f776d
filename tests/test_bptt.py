"""BPTT gradients, the per-lag decomposition and truncated BPTT, against independent truth:
central differences of the loss, and the double sum of seed eq. (6) formed from dense products."""

import numpy as np
import pytest

import spectra

from _helpers import relative_error

N, D, C, T = 4, 3, 3, 7
KINDS = ("elman", "leaky", "rf")


def _net(kind, rng, gain=0.7):
    W = gain * rng.standard_normal((N, N)) / np.sqrt(N)
    U = rng.standard_normal((N, D))
    b = 0.1 * rng.standard_normal(N)
    alpha = rng.uniform(0.02, 0.2, N)

    def make(W=W, U=U, b=b):
        if kind == "elman":
            return spectra.ElmanRNN(W, U, b)
        if kind == "leaky":
            return spectra.LeakyRNN(W, U, b, alpha=alpha)
        return spectra.RecurrentFirstRNN(W, U, b)

    return make, W, U, b


def _problem(loss, rng):
    V = rng.standard_normal((C, N))
    by = 0.1 * rng.standard_normal(C)
    x = rng.standard_normal((T, D))
    if loss == "softmax":
        tg = rng.integers(0, C, T)
    elif loss == "distribution":
        tg = rng.dirichlet(np.ones(C), T)
        loss = "softmax"
    else:
        tg = rng.standard_normal((T, C))
    return V, by, x, tg, loss


def _fd(fun, X, h=1e-5):
    G = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        G[idx] = (fun(X + E) - fun(X - E)) / (2 * h)
    return G


def _reference_loss(cell, x, tg, V, by, loss, h0, w=None):
    """The loss from the cell's forward pass and the textbook formulas (independent of _bptt)."""
    H = cell.run(x, h0=h0).states[1:]
    Z = H @ V.T + by
    w = np.ones(len(Z)) if w is None else np.asarray(w)
    if loss == "squared":
        return float(0.5 * np.sum(w * np.sum((Z - tg) ** 2, axis=1)))
    logp = Z - np.log(np.sum(np.exp(Z), axis=1, keepdims=True))
    if np.asarray(tg).dtype.kind in "iu":
        return float(-np.sum(w * logp[np.arange(len(Z)), tg]))
    return float(-np.sum(w * np.sum(tg * logp, axis=1)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", ["softmax", "distribution", "squared"])
def test_every_parameter_gradient_matches_central_differences(kind, loss, rng):
    make, W, U, b = _net(kind, rng)
    V, by, x, tg, loss = _problem(loss, rng)
    h0 = 0.3 * rng.standard_normal(N)
    w = rng.uniform(0.0, 2.0, T)
    res = spectra.bptt_gradient(make(), x, tg, V, by, loss=loss, h0=h0, step_weights=w)
    ref = (lambda cell, V=V, by=by, h0=h0: _reference_loss(cell, x, tg, V, by, loss, h0, w))
    assert res.loss == pytest.approx(ref(make()), rel=1e-13)
    assert relative_error(res.dW_hh, _fd(lambda Z: ref(make(W=Z)), W)) < 1e-6
    assert relative_error(res.dW_hx, _fd(lambda Z: ref(make(U=Z)), U)) < 1e-6
    assert relative_error(res.db, _fd(lambda Z: ref(make(b=Z)), b)) < 1e-6
    assert relative_error(res.dW_yh, _fd(lambda Z: ref(make(), V=Z), V)) < 1e-6
    assert relative_error(res.db_y, _fd(lambda Z: ref(make(), by=Z), by)) < 1e-6
    assert relative_error(res.grad_h[0], _fd(lambda Z: ref(make(), h0=Z), h0)) < 1e-6


def _dense_pairs(make, x, tg, V, by, h0):
    """C_{t,k} = (d+ h_k / dW)^T (dh_t/dh_k)^T dE_t/dh_t from dense products (softmax labels)."""
    cell = make()
    traj = cell.run(x, h0=h0)
    H = traj.states
    Z = H[1:] @ V.T + by
    Y = np.exp(Z - Z.max(1, keepdims=True))
    Y /= Y.sum(1, keepdims=True)
    Y[np.arange(T), tg] -= 1.0
    e = Y @ V                                         # dE_t/dh_t, t = 1..T
    pairs = {}
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            v = traj.product(t, k).T @ e[t - 1]
            if isinstance(cell, spectra.RecurrentFirstRNN):
                r = cell.activation.f(H[k - 1])
            else:
                d = cell.activation.df(traj.preactivations[k - 1])
                v = v * d if not isinstance(cell, spectra.LeakyRNN) else v * (1 - cell.alpha) * d
                r = H[k - 1]
            pairs[t, k] = np.outer(v, r)
    return pairs


@pytest.mark.parametrize("kind", KINDS)
def test_lag_decomposition_is_the_double_sum_of_seed_eq6(kind, rng):
    make, *_ = _net(kind, rng)
    V, by, x, tg, loss = _problem("softmax", rng)
    h0 = rng.standard_normal(N)
    res = spectra.bptt_gradient(make(), x, tg, V, by, h0=h0, decompose=True)
    pairs = _dense_pairs(make, x, tg, V, by, h0)
    assert relative_error(res.dW_hh, sum(pairs.values())) < 1e-12
    for lag in range(T):
        C_lag = sum(pairs[k + lag, k] for k in range(1, T - lag + 1))
        assert res.lag_norms[lag] == pytest.approx(np.linalg.norm(C_lag), rel=1e-11, abs=1e-300)
    for (t, k), Ctk in pairs.items():
        assert res.pair_norms[t - 1, k - 1] == pytest.approx(np.linalg.norm(Ctk), rel=1e-11)
    assert np.all(np.triu(res.pair_norms, 1) == 0)


def test_lag_norms_vanish_geometrically_under_the_bound(rng):
    # ||C_l||_F <= sum_k ||D_k|| ||dh_{k+l}/dh_k|| ||e_{k+l}|| ||h_{k-1}||
    #           <= (gamma_W gamma_h)^l sum_k ||e_{k+l}|| ||h_{k-1}||    (tanh: ||D_k|| <= 1)
    n, steps = 6, 40
    cell = spectra.ElmanRNN(0.6 * spectra.init.orthogonal(n, rng=rng), rng.standard_normal((n, 2)))
    x = rng.standard_normal((steps, 2))
    V = rng.standard_normal((3, n))
    tg = rng.integers(0, 3, steps)
    h0 = rng.standard_normal(n)
    res = spectra.bptt_gradient(cell, x, tg, V, h0=h0, decompose=True)
    H = cell.run(x, h0=h0).states
    Y = np.exp(H[1:] @ V.T)
    Y /= Y.sum(1, keepdims=True)
    Y[np.arange(steps), tg] -= 1.0
    e = np.linalg.norm(Y @ V, axis=1)
    r = np.linalg.norm(H[:-1], axis=1)
    for lag in range(steps):
        bound = 0.6 ** lag * np.sum(e[lag:] * r[:steps - lag])
        assert res.lag_norms[lag] <= bound * (1 + 1e-12)
    assert res.lag_norms[30] < 1e-5 * res.lag_norms[0]


def test_batch_gradient_is_the_sum_of_the_members(rng):
    make, *_ = _net("leaky", rng)
    V, by, _, _, _ = _problem("softmax", rng)
    X = rng.standard_normal((3, T, D))
    tg = rng.integers(0, C, (3, T))
    H0 = rng.standard_normal((3, N))
    batch = spectra.bptt_gradient(make(), X, tg, V, by, h0=H0, decompose=True)
    singles = [spectra.bptt_gradient(make(), X[i], tg[i], V, by, h0=H0[i], decompose=True)
               for i in range(3)]
    assert batch.loss == pytest.approx(sum(s.loss for s in singles), rel=1e-13)
    for name in ("dW_hh", "dW_hx", "db", "dW_yh", "db_y"):
        ref = sum(getattr(s, name) for s in singles)
        assert relative_error(getattr(batch, name), ref) < 1e-13
    for i in range(3):
        np.testing.assert_allclose(batch.grad_h[i], singles[i].grad_h, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(batch.pair_norms[i], singles[i].pair_norms, rtol=1e-12, atol=1e-300)


def test_autonomous_run_and_loss_on_the_last_step_only(rng):
    cell = spectra.ElmanRNN(0.9 * spectra.init.orthogonal(5, rng=rng), b=0.2 * rng.standard_normal(5))
    V = rng.standard_normal((2, 5))
    w = np.zeros(12)
    w[-1] = 1.0
    h0 = rng.standard_normal(5)
    res = spectra.bptt_gradient(cell, None, np.zeros(12, dtype=int), V, h0=h0, step_weights=w,
                                decompose=True)
    assert res.dW_hx is None
    # only E_T: the pairs (t, k) with t < T are zero, and lag = T - k
    assert np.all(res.pair_norms[:-1] == 0)
    np.testing.assert_allclose(res.lag_norms, res.pair_norms[-1, ::-1], rtol=1e-14)
    ref = lambda Z: spectra.bptt_gradient(spectra.ElmanRNN(Z, b=cell.b), None, np.zeros(12, dtype=int),
                                          V, h0=h0, step_weights=w).loss
    assert relative_error(res.dW_hh, _fd(ref, np.array(cell.W_hh))) < 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_gradient_keeps_exactly_the_lags_up_to_n(kind, rng):
    make, *_ = _net(kind, rng)
    V, by, x, tg, loss = _problem("squared", rng)
    h0 = rng.standard_normal(N)
    full = spectra.bptt_gradient(make(), x, tg, V, by, loss=loss, h0=h0, decompose=True)
    curve = spectra.truncated_bptt_error(make(), x, tg, V, by, loss=loss, h0=h0)
    assert relative_error(curve.gradient, full.dW_hh) < 1e-13
    np.testing.assert_allclose(curve.lag_norms, full.lag_norms, rtol=1e-11)
    prev = None
    for n in range(T):
        tr = spectra.bptt_gradient(make(), x, tg, V, by, loss=loss, h0=h0, truncation=n,
                                   decompose=True)
        err = np.linalg.norm(full.dW_hh - tr.dW_hh)
        assert curve.errors[n] == pytest.approx(err, rel=1e-9, abs=1e-14 * curve.full_norm)
        cos = np.sum(tr.dW_hh * full.dW_hh) / (np.linalg.norm(tr.dW_hh) * curve.full_norm)
        assert curve.cosines[n] == pytest.approx(cos, abs=1e-12)
        # the truncated gradient's own decomposition: lags <= n as in the full one, 0 beyond
        np.testing.assert_allclose(tr.lag_norms[:n + 1], full.lag_norms[:n + 1], rtol=1e-11)
        assert np.all(tr.lag_norms[n + 1:] == 0)
        # lags n and n-1 differ by exactly C_n
        if prev is not None:
            assert np.linalg.norm(tr.dW_hh - prev.dW_hh) == pytest.approx(full.lag_norms[n], rel=1e-9)
        # the parameters without a path through time are not truncated
        np.testing.assert_array_equal(tr.dW_yh, full.dW_yh)
        prev = tr
    assert curve.errors[-1] == 0.0 and curve.cosines[-1] == 1.0      # an empty sum: exactly 0


def test_truncated_bptt_error_vanishes_exactly_and_decreases_when_contracting(rng):
    cell = spectra.ElmanRNN(0.8 * spectra.init.orthogonal(8, rng=rng), rng.standard_normal((8, 2)))
    x = rng.standard_normal((30, 2))
    res = spectra.truncated_bptt_error(cell, x, rng.integers(0, 3, 30), rng.standard_normal((3, 8)),
                                       h0=rng.standard_normal(8))
    assert res.errors[-1] == 0.0 and res.relative_errors[-1] == 0.0
    assert np.all(np.diff(res.relative_errors) < 0)
    # the error of n is at most the sum of the dropped lag norms (triangle inequality)
    tails = np.cumsum(res.lag_norms[::-1])[::-1]
    assert np.all(res.errors[:-1] <= tails[1:] * (1 + 1e-12))
    assert np.all(res.cosines <= 1.0)


def test_truncation_of_zero_keeps_only_the_immediate_terms(rng):
    make, *_ = _net("elman", rng)
    V, by, x, tg, _ = _problem("softmax", rng)
    tr = spectra.bptt_gradient(make(), x, tg, V, by, truncation=0)
    traj = make().run(x)
    Y = np.exp(traj.states[1:] @ V.T + by)
    Y /= Y.sum(1, keepdims=True)
    Y[np.arange(T), tg] -= 1.0
    e = Y @ V
    delta = e * make().activation.df(traj.preactivations)
    assert relative_error(tr.dW_hh, delta.T @ traj.states[:-1]) < 1e-13
    assert np.all(tr.grad_h[0] == 0) and tr.truncation == 0


def test_exploding_gradient_raises_numerical_error():
    # identity units, h_0 = 0 and no input: the states stay 0 while the gradient grows 10x per step
    cell = spectra.ElmanRNN(10.0 * np.eye(3), activation="identity")
    with pytest.raises(spectra.NumericalError, match="gradient explodes"):
        spectra.bptt_gradient(cell, None, np.ones((400, 2)), np.ones((2, 3)), loss="squared")


def test_float32_cells_are_differentiated_in_float64(rng):
    W = 0.5 * rng.standard_normal((3, 3))
    U = rng.standard_normal((3, 2))
    x = rng.standard_normal((5, 2))
    V = rng.standard_normal((2, 3))
    r32 = spectra.bptt_gradient(spectra.ElmanRNN(W, U, dtype=np.float32), x, [0, 1, 0, 1, 1], V)
    r64 = spectra.bptt_gradient(spectra.ElmanRNN(W.astype(np.float32).astype(float),
                                                 U.astype(np.float32).astype(float)), x, [0, 1, 0, 1, 1], V)
    assert r32.dW_hh.dtype == np.float64
    np.testing.assert_allclose(r32.dW_hh, r64.dW_hh, rtol=1e-13)


def test_result_to_dict_is_json_friendly(rng):
    import json

    make, *_ = _net("rf", rng)
    V, by, x, tg, _ = _problem("softmax", rng)
    res = spectra.bptt_gradient(make(), x, tg, V, by, decompose=True)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["loss"] == res.loss and len(d["lag_norms"]) == T and d["truncation"] is None
    assert set(res.gradients()) == {"W_hh", "W_hx", "b", "W_yh", "b_y"}
    assert res.norm == pytest.approx(np.sqrt(sum(np.sum(g * g) for g in res.gradients().values())))
    cur = spectra.truncated_bptt_error(make(), x, tg, V, by)
    assert json.loads(json.dumps(cur.to_dict()))["errors"][-1] == 0.0
