"""Ensembles of networks (issue 19 item 3): every batched result equals the per-network one."""

import numpy as np
import pytest

import spectra


def _nets(cls=spectra.ElmanRNN, n=8, B=4, **kw):
    return [cls.random(n, gain=g, rng=i, **kw) for i, g in enumerate(np.linspace(0.8, 2.0, B))]


H0 = 0.3


@pytest.mark.parametrize("cls,kw", [(spectra.ElmanRNN, {}), (spectra.RecurrentFirstRNN, {}),
                                    (spectra.LeakyRNN, {"alpha": 0.3})])
def test_runs_products_and_profiles_equal_each_network(cls, kw):
    nets = _nets(cls, input_size=3, bias_scale=0.5, **kw)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    ens = spectra.ensemble(nets)
    traj = ens.run(X, h0=np.full(8, H0))
    assert traj.batch_shape == (4,)
    for b, net in enumerate(nets):
        one = net.run(X, h0=np.full(8, H0))
        np.testing.assert_allclose(traj.states[b], one.states, rtol=0, atol=1e-14)
        for t, k in ((40, 0), (25, 10), (3, 2)):
            P, P1 = traj.product(t, k)[b], one.product(t, k)
            assert np.max(np.abs(P - P1)) <= 1e-12 * np.max(np.abs(P1))
        np.testing.assert_allclose(traj.jacobians()[b], one.jacobians(), rtol=0, atol=1e-14)
        fro = spectra.gradient_norm_profile(traj, ord="fro").log_norms[b]
        np.testing.assert_allclose(fro, spectra.gradient_norm_profile(one, ord="fro").log_norms,
                                   rtol=0, atol=1e-12)
        # spectral profile against an SVD of each lag's product (independent truth)
        two = spectra.gradient_norm_profile(traj).log_norms[b]
        svd = [np.log(np.linalg.norm(one.product(40, 40 - lag), 2)) for lag in range(1, 41)]
        np.testing.assert_allclose(two, svd, rtol=0, atol=1e-10)


def test_per_network_inputs_and_states():
    nets = _nets(input_size=2)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((4, 30, 2))
    h0 = rng.standard_normal((4, 8))
    traj = spectra.ensemble(nets).run(X, h0=h0)
    for b, net in enumerate(nets):
        np.testing.assert_allclose(traj.states[b], net.run(X[b], h0=h0[b]).states, rtol=0, atol=1e-14)


@pytest.mark.parametrize("n", [8, 64])      # 64: the compact-WY path with a per-member W
def test_lyapunov_spectra_equal_each_network(n):
    nets = _nets(n=n, B=3)
    traj = spectra.ensemble(nets).run(h0=np.full(n, H0), steps=300)
    for every in (1, 5):
        res = spectra.lyapunov_spectrum(traj, reorth_every=every, warmup=20)
        assert res.exponents.shape == (3, n)
        for b, net in enumerate(nets):
            one = spectra.lyapunov_spectrum(net.run(h0=np.full(n, H0), steps=300),
                                            reorth_every=every, warmup=20)
            np.testing.assert_allclose(res.exponents[b], one.exponents, rtol=0, atol=1e-12)
            np.testing.assert_allclose(res.stderr[b], one.stderr, rtol=0, atol=1e-12)
    # "auto": one schedule for the ensemble, within the 1e-8 "auto" promises of QR every step
    auto = spectra.lyapunov_spectrum(traj, warmup=20)
    qr = spectra.lyapunov_spectrum(traj, reorth_every=1, warmup=20)
    np.testing.assert_allclose(auto.exponents, qr.exponents, rtol=0, atol=1e-8)
    # the sum of the exponents is the mean log|det J_s| of each network (an identity)
    seq = traj.jacobian_sequence
    logdet = np.mean([seq.logabsdet(s) for s in range(21, 301)], axis=0)
    dets = [np.mean([np.linalg.slogdet(traj.jacobian(s)[b])[1] for s in range(21, 301)])
            for b in range(3)]
    np.testing.assert_allclose(logdet, dets, rtol=0, atol=1e-10)
    np.testing.assert_allclose(qr.exponents.sum(axis=-1), dets, rtol=0, atol=1e-10)


def test_stacked_scaled_jacobians_structure():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((3, 5, 5))
    row = rng.uniform(0.1, 1, (3, 6, 5))
    col = rng.uniform(0.1, 1, (3, 6, 5))
    seq = spectra.ScaledJacobians(W, row=row, col=col, shift=0.25)
    dense = row[..., :, None] * W[:, None] * col[..., None, :] + 0.25 * np.eye(5)
    np.testing.assert_allclose(seq.matrices(), dense, rtol=0, atol=1e-15)
    np.testing.assert_allclose(seq.matrices(2, 4), dense[:, 1:4], rtol=0, atol=1e-15)
    X = rng.standard_normal((3, 5, 9))
    np.testing.assert_allclose(seq.matmat(4, X), dense[:, 3] @ X, rtol=0, atol=1e-13)
    np.testing.assert_allclose(seq.rmatmat(4, X), np.swapaxes(dense[:, 3], -1, -2) @ X,
                               rtol=0, atol=1e-13)
    np.testing.assert_allclose(seq.lmatmat(4, np.swapaxes(X, -1, -2)),
                               np.swapaxes(X, -1, -2) @ dense[:, 3], rtol=0, atol=1e-13)
    np.testing.assert_allclose(seq.select(1).matrices(), dense[1], rtol=0, atol=1e-15)
    up, lo = seq.step_norm_bounds()
    sv = np.linalg.svd(dense, compute_uv=False)
    assert np.all(np.log(sv[..., 0]) <= up + 1e-12) and np.all(np.log(sv[..., -1]) >= lo - 1e-12)
    plain = spectra.ScaledJacobians(W, row=row)
    np.testing.assert_allclose(plain.logabsdet(2), np.linalg.slogdet(plain.matrix(2))[1],
                               rtol=0, atol=1e-12)
    up, lo = plain.step_norm_bounds()
    sv = np.linalg.svd(plain.matrices(), compute_uv=False)
    assert np.all(np.log(sv[..., 0]) <= up + 1e-12) and np.all(np.log(sv[..., -1]) >= lo - 1e-12)
    const = spectra.ScaledJacobians(W, steps=4)
    assert const.batch_shape == (3,)
    np.testing.assert_allclose(const.matrices(), np.broadcast_to(W[:, None], (3, 4, 5, 5)))


def test_bad_arguments_are_named():
    a = spectra.ElmanRNN.random(4, rng=0)
    with pytest.raises(ValueError, match="share their n"):
        spectra.ensemble([a, spectra.ElmanRNN.random(5, rng=0)])
    with pytest.raises(ValueError, match="share their activation"):
        spectra.ensemble([a, spectra.ElmanRNN.random(4, rng=0, activation="relu")])
    with pytest.raises(ValueError, match="share their form"):
        spectra.ensemble([a, spectra.RecurrentFirstRNN.random(4, rng=0)])
    with pytest.raises(ValueError, match="leak alpha"):
        spectra.ensemble([spectra.LeakyRNN.random(4, rng=0, alpha=0.2),
                          spectra.LeakyRNN.random(4, rng=1, alpha=0.5)])
    with pytest.raises(TypeError, match="cells\\[1\\]"):
        spectra.ensemble([a, spectra.LSTM.random(4, rng=0)])
    with pytest.raises(ValueError, match="empty"):
        spectra.ensemble([])
    with pytest.raises(ValueError, match="`h0` must have shape"):
        spectra.ensemble([a, a]).run(h0=np.zeros((3, 4)), steps=2)
    with pytest.raises(ValueError, match="`row` must have shape"):
        spectra.ScaledJacobians(np.zeros((2, 3, 3)), row=np.zeros((3, 4, 3)))
