"""Ensembles, second round (issue 19 item 3): a re-orthonormalisation schedule per member,
the batched product kernel and the chunked batched spectral profile, each checked against
per-network references written out here (numpy QR at every step, per-lag SVD, plain loop)."""

import numpy as np
import pytest

import spectra
import spectra.analysis._members as members
from spectra.cells.init import orthogonal


def _benettin(Js, warmup=0, k=None):
    """Exponents and running means by numpy's QR at every step (the classic reference)."""
    n = Js.shape[-1]
    k = n if k is None else k
    Q, acc, run = np.eye(n)[:, :k], np.zeros(k), []
    for s, A in enumerate(Js, 1):
        Q, R = np.linalg.qr(A @ Q)
        if s > warmup:
            acc += np.log(np.abs(np.diag(R)))
            run.append(acc / (s - warmup))
    return np.asarray(run)


def _spread_ensemble(n=12, T=400):
    """Networks from mild (gain 0.6: exponents close) to wild (gain 3: saturated, spread)."""
    gains = (0.6, 1.0, 1.5, 3.0)
    nets = [spectra.ElmanRNN.random(n, gain=g, init="gaussian", rng=i) for i, g in enumerate(gains)]
    return spectra.ensemble(nets).run(h0=np.full(n, 0.4), steps=T)


def test_each_member_follows_its_own_schedule_and_matches_qr_at_every_step():
    traj = _spread_ensemble()
    auto = spectra.lyapunov_spectrum(traj, warmup=10)
    Js = traj.jacobians()
    counts = np.asarray(auto.qr_count)
    assert counts.shape == (4,)
    # the mild network re-orthonormalises far less often than the wild one (one shared
    # schedule would give every member the same count)
    assert counts[0] < 0.6 * counts[-1]
    for b in range(4):
        ref = _benettin(Js[b], warmup=10)
        np.testing.assert_allclose(auto.exponents[b], np.sort(ref[-1])[::-1], rtol=0, atol=1e-8)
        # every row of `running` is the member's exact running mean at a common step
        steps = auto.running_steps
        assert steps[-1] == 390 and len(steps) >= 20
        order = np.argsort(-ref[-1], kind="stable")
        np.testing.assert_allclose(auto.running[b], ref[steps - 1][:, order], rtol=0, atol=1e-8)
    # the sum of the exponents is the mean log|det J_s| per network (an identity)
    dets = np.linalg.slogdet(Js[:, 10:])[1].mean(axis=1)
    np.testing.assert_allclose(auto.exponents.sum(axis=1), dets, rtol=0, atol=1e-10)


def test_partial_spectra_of_a_batch_use_member_schedules():
    traj = _spread_ensemble(T=300)
    auto = spectra.lyapunov_spectrum(traj, k=3, rng=2)
    every = spectra.lyapunov_spectrum(traj, k=3, rng=2, reorth_every=1)
    assert np.asarray(auto.qr_count).shape == (4,)
    np.testing.assert_allclose(auto.exponents, every.exponents, rtol=0, atol=1e-8)


def test_a_member_whose_interval_ends_ill_conditioned_is_redone_step_by_step():
    """Member 0 is orthogonal for 60 steps (its interval grows to 16), then its steps spread
    the directions by e^6 per step: the first long interval ends with cond(Z) ~ e^90 and must
    be rejected and redone with a QR at every step; member 1 stays orthogonal throughout."""
    rng = np.random.default_rng(3)
    n, T = 6, 120
    Js = np.stack([np.stack([orthogonal(n, rng=rng) for _ in range(T)]) for _ in range(2)])
    scale = np.exp(np.linspace(3.0, -3.0, n))
    Js[0, 60:] = Js[0, 60:] * scale[None, None, :]
    calls = []
    original = members._Plans.rejected

    def spy(self, idx, s, worst):
        bad = original(self, idx, s, worst)
        calls.append(int(np.sum(bad)))
        return bad

    members._Plans.rejected = spy
    try:
        auto = spectra.lyapunov_spectrum(Js)
    finally:
        members._Plans.rejected = original
    assert sum(calls) >= 1
    for b in range(2):
        ref = _benettin(Js[b])[-1]
        np.testing.assert_allclose(auto.exponents[b], np.sort(ref)[::-1], rtol=0, atol=1e-8)


def test_frames_far_outside_the_float64_range_are_rescaled():
    """Member 1's steps scale by 1e40 (its columns leave [1e-30, 1e30] at every step) and
    member 2's by 1e-40; the exponents are those of the orthogonal parts plus log 1e+-40."""
    rng = np.random.default_rng(4)
    n, T = 5, 80
    base = np.stack([orthogonal(n, rng=rng) * np.exp(np.linspace(0.2, -0.2, n)) for _ in range(T)])
    Js = np.stack([base, 1e40 * base, 1e-40 * base])
    auto = spectra.lyapunov_spectrum(Js)
    ref = np.sort(_benettin(base)[-1])[::-1]
    for b, c in enumerate((0.0, 40 * np.log(10), -40 * np.log(10))):
        np.testing.assert_allclose(auto.exponents[b], ref + c, rtol=0, atol=1e-9)


def test_non_finite_steps_are_reported():
    Js = np.broadcast_to(np.eye(3), (2, 10, 3, 3)).copy()
    Js[1, 4] = 1.5e308            # finite, but its columns' norms are not
    with pytest.raises(spectra.NumericalError, match="J_5"):
        spectra.lyapunov_spectrum(Js)


def _scaled_batch(rng, B=4, n=7, T=40):
    """Stacked Elman-type steps diag(c_s r_s) W_b: normal parts r_s W_b and scalar factors c_s
    (member 0: 1e30 and 1e-30 by turns of 4, member 1: 1e-80 then 1e80, member 2: ones,
    member 3: a zero step)."""
    W = rng.standard_normal((B, n, n)) / np.sqrt(n)
    r = rng.uniform(0.2, 1.0, (B, T, n))
    c = np.ones((B, T))
    c[0] = np.where(np.arange(T) % 8 < 4, 1e30, 1e-30)
    c[1, :3], c[1, 3:6] = 1e-80, 1e80
    c[3, 25] = 0.0
    seq = spectra.ScaledJacobians(W, row=c[:, :, None] * r)
    normal = r[..., :, None] * W[:, None]               # (B, T, n, n) without the factors
    return seq, normal, c


def _spy(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def wrapper(*a, **k):
        calls.append(1)
        return original(*a, **k)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_batched_products_match_dense_products(monkeypatch):
    import spectra.jacobians.sequence as sequence

    calls = _spy(monkeypatch, sequence, "chain_product_batched")
    seq, normal, c = _scaled_batch(np.random.default_rng(6))
    for t, k in ((40, 0), (30, 5), (12, 0), (3, 2)):
        P = seq.product(t, k)
        for b in range(4):
            ref = np.eye(7)
            for s in range(k + 1, t + 1):
                ref = normal[b, s - 1] @ ref
            ref = ref * np.prod(c[b, k:t])
            assert np.max(np.abs(P[b] - ref)) <= 1e-12 * max(np.max(np.abs(ref)), 1e-300)
    assert len(calls) == 4


@pytest.mark.parametrize("ord", [2, "fro"])
def test_batched_profiles_match_per_lag_svds(monkeypatch, ord):
    import spectra.analysis.products as products

    calls = _spy(monkeypatch, products, "batched_profile")
    seq, normal, c = _scaled_batch(np.random.default_rng(7))
    prof = spectra.gradient_norm_profile(seq, ord=ord).log_norms
    assert calls and prof.shape == (4, 40)
    with np.errstate(divide="ignore"):
        logc = np.log(c)
    for b in range(4):
        P = np.eye(7)
        for lag in range(1, 41):
            s = 40 - lag + 1
            P = P @ normal[b, s - 1]
            nrm = np.linalg.norm(P, 2 if ord == 2 else "fro")
            want = np.log(nrm) + np.sum(logc[b, s - 1:])
            if want == -np.inf:
                assert prof[b, lag - 1] == -np.inf
            else:
                assert abs(prof[b, lag - 1] - want) <= 1e-10 * max(1.0, abs(want))


def test_ensemble_profiles_and_products_match_each_network():
    nets = [spectra.ElmanRNN.random(24, gain=g, rng=i) for i, g in enumerate((0.9, 1.3, 2.0))]
    traj = spectra.ensemble(nets).run(h0=np.full(24, 0.3), steps=150)
    prof = spectra.gradient_norm_profile(traj).log_norms
    for b, net in enumerate(nets):
        one = net.run(h0=np.full(24, 0.3), steps=150)
        svd = [np.log(np.linalg.norm(one.product(150, 150 - lag), 2)) for lag in range(1, 151)]
        np.testing.assert_allclose(prof[b], svd, rtol=0, atol=1e-10)
        P = traj.product(150, 40)[b]
        P1 = one.product(150, 40)
        assert np.max(np.abs(P - P1)) <= 1e-12 * np.max(np.abs(P1))
