"""Lyapunov exponents: identities, closed forms, and calibrated standard errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.special import digamma

import spectra
from spectra import init

from _helpers import make_instrumented


def test_sum_of_exponents_is_mean_log_det(rng):
    cell = spectra.ElmanRNN(init.gaussian(8, gain=1.6, rng=rng), init.gaussian(8, 2, rng=rng))
    traj = cell.run(rng.standard_normal((300, 2)), h0=rng.standard_normal(8))
    for warmup in (0, 37):
        res = spectra.lyapunov_spectrum(traj, warmup=warmup)
        logdet = np.linalg.slogdet(traj.jacobians())[1][warmup:]
        assert abs(res.exponents.sum() - logdet.mean()) < 1e-10
        assert res.steps == 300 - warmup


def test_linear_rnn_gives_log_moduli_of_eigenvalues():
    # W with a complex pair and real eigenvalues: |0.6 +- 0.9i|, 1.2, 0.3
    S = init.gaussian(4, rng=5)
    Lam = np.zeros((4, 4))
    Lam[:2, :2] = [[0.6, 0.9], [-0.9, 0.6]]
    Lam[2, 2], Lam[3, 3] = 1.2, 0.3
    W = S @ Lam @ np.linalg.inv(S)
    T = 20000
    traj = spectra.ElmanRNN(W, activation="identity").run(steps=T)
    res = spectra.lyapunov_spectrum(traj, warmup=200)
    expected = np.sort(np.log(np.abs(np.linalg.eigvals(W))))[::-1]
    # the finite-time bias is O(log cond(S) / T)
    tol = 10 * math.log(np.linalg.cond(S)) / res.steps
    np.testing.assert_allclose(res.exponents, expected, atol=tol)


def test_orthogonal_identity_network_has_zero_exponents():
    traj = spectra.ElmanRNN(init.orthogonal(10, rng=3), activation="identity").run(steps=500)
    res = spectra.lyapunov_spectrum(traj)
    np.testing.assert_allclose(res.exponents, 0.0, atol=1e-12)


@pytest.mark.parametrize("n,gain", [(4, 1.0), (6, 2.5)])
def test_gaussian_products_match_newman_closed_form(n, gain):
    """i.i.d. N(0, s^2) entries: lambda_i = log s + (log 2 + psi((n - i + 1)/2)) / 2 (Newman 1986).

    Each exponent must lie within 5 of its own standard errors of the closed form.
    """
    s = gain / math.sqrt(n)
    J = s * np.random.default_rng(11).standard_normal((20000, n, n))
    res = spectra.lyapunov_spectrum(J, warmup=50)
    exact = math.log(s) + 0.5 * (math.log(2) + digamma((n - np.arange(1, n + 1) + 1) / 2))
    z = (res.exponents - exact) / res.stderr
    assert np.all(np.abs(z) < 5), z
    # the standard errors are honest: they scale like 1/sqrt(T)
    half = spectra.lyapunov_spectrum(J[:5000], warmup=50)
    ratio = half.stderr / res.stderr
    assert np.all((ratio > 1.2) & (ratio < 3.5)), ratio   # sqrt(4) = 2 expected


def test_agrees_with_log_singular_values_over_T(rng):
    J = 1.5 * rng.standard_normal((3000, 5, 5)) / math.sqrt(5)
    lyap = spectra.lyapunov_spectrum(J)
    sv = spectra.product_log_singular_values(J) / 3000
    # the two differ by O(1/T): frame alignment at both ends
    assert np.max(np.abs(lyap.exponents - sv)) < 20 / 3000


def test_partial_spectrum_is_matrix_free_and_matches(rng):
    n, T, k = 120, 300, 3
    cell = spectra.ElmanRNN(init.gaussian(n, gain=1.5, rng=rng))
    traj = cell.run(steps=T, h0=rng.standard_normal(n))
    seq = make_instrumented(traj)
    part = spectra.lyapunov_spectrum(seq, k=k, warmup=100, rng=1)
    assert seq.calls["matrix"] == 0 and seq.calls["matrices"] == 0
    assert seq.calls["matmat"] == T and part.exponents.shape == (k,)
    full = spectra.lyapunov_spectrum(traj.jacobians(), warmup=100)
    # the top-k estimates converge to the same values; finite-T difference within a few SE
    se = np.hypot(part.stderr, full.stderr[:k])
    assert np.all(np.abs(part.exponents - full.exponents[:k]) < 5 * se + 5.0 / T)


def test_reorth_every_and_no_subnormals():
    rng = np.random.default_rng(4)
    Q = np.stack([init.orthogonal(6, rng=rng) for _ in range(400)])
    J = Q * np.exp(np.linspace(0.2, -0.2, 6))[None, :, None]   # well conditioned steps
    a = spectra.lyapunov_spectrum(J, reorth_every=1)
    b = spectra.lyapunov_spectrum(J, reorth_every=5)
    np.testing.assert_allclose(a.exponents, b.exponents, atol=1e-8)
    assert b.running.shape == (80, 6) and b.running_steps[-1] == 400
    # a vanishing sigmoid network over many steps
    cell = spectra.ElmanRNN(init.orthogonal(12, gain=0.4, rng=0), activation="sigmoid")
    seq = make_instrumented(cell.run(steps=3000, h0=np.zeros(12)))
    res = spectra.lyapunov_spectrum(seq, reorth_every=3)
    assert np.all(np.isfinite(res.exponents)) and res.exponents[0] < math.log(0.25 * 0.4) + 1e-9
    assert seq.subnormal_operands == 0


def test_running_estimates_and_batches(rng):
    J = rng.standard_normal((3, 500, 4, 4))
    res = spectra.lyapunov_spectrum(J, reorth_every=2)
    assert res.exponents.shape == (3, 4) and res.running.shape == (3, 250, 4)
    for b in range(3):
        one = spectra.lyapunov_spectrum(J[b], reorth_every=2)
        np.testing.assert_allclose(res.exponents[b], one.exponents, atol=1e-12)
        np.testing.assert_allclose(res.running[b], one.running, atol=1e-12)
    np.testing.assert_allclose(res.running[:, -1, :], res.exponents)
    d = res.to_dict()
    assert len(d["exponents"]) == 3 and d["steps"] == 500


def test_singular_steps_give_minus_infinity():
    J = np.broadcast_to(np.diag([2.0, 0.0]), (10, 2, 2))
    res = spectra.lyapunov_spectrum(J)
    assert res.exponents[0] == pytest.approx(math.log(2.0))
    assert res.exponents[1] == -np.inf and res.stderr[1] == 0.0


def test_kaplan_yorke():
    J = np.broadcast_to(np.diag(np.exp([0.5, 0.1, -0.3, -1.0])), (50, 4, 4))
    res = spectra.lyapunov_spectrum(J)
    # partial sums 0.5, 0.6, 0.3, -0.7: j = 3, D = 3 + 0.3 / 1.0
    assert res.kaplan_yorke_dimension == pytest.approx(3.3)


def test_rectangular_steps_are_refused():
    with pytest.raises(ValueError, match="needs square step Jacobians"):
        spectra.lyapunov_spectrum([np.ones((3, 2)), np.ones((2, 3))])


def _tanh_trajectory(n, T, seed, gain=1.2):
    rng = np.random.default_rng(seed)
    cell = spectra.ElmanRNN.random(n, init="gaussian", gain=gain, input_size=n, rng=rng)
    return cell.run(rng.standard_normal((T, n)), h0=rng.standard_normal(n))


def test_auto_reorthonormalisation_matches_qr_every_step():
    """n = 64 (compact-WY path), strongly spread exponents: 'auto' vs a QR at every step."""
    traj = _tanh_trajectory(64, 400, 3)
    every = spectra.lyapunov_spectrum(traj, reorth_every=1)
    auto = spectra.lyapunov_spectrum(traj, reorth_every="auto")
    np.testing.assert_allclose(auto.exponents, every.exponents, rtol=0, atol=1e-8)
    assert every.qr_count == 400 and auto.qr_count < 400
    logdet = np.linalg.slogdet(traj.jacobians())[1]
    assert abs(auto.exponents.sum() - logdet.mean()) < 1e-10
    # a classic reference written out: numpy's QR of J Q at every step
    Q, acc = np.eye(64), np.zeros(64)
    for A in traj.jacobians():
        Q, R = np.linalg.qr(A @ Q)
        acc += np.log(np.abs(np.diag(R)))
    np.testing.assert_allclose(every.exponents, np.sort(acc / 400)[::-1], rtol=0, atol=1e-11)


def test_auto_takes_long_intervals_for_well_conditioned_steps():
    rng = np.random.default_rng(5)
    Q = np.stack([init.orthogonal(60, rng=rng) for _ in range(300)])
    J = Q * np.exp(np.linspace(0.05, -0.05, 60))[None, :, None]
    auto = spectra.lyapunov_spectrum(J)
    assert auto.reorth_every == "auto" and auto.qr_count < 60
    np.testing.assert_allclose(auto.exponents, spectra.lyapunov_spectrum(J, reorth_every=1).exponents,
                               atol=1e-10)


def test_compact_wy_path_matches_explicit_path(monkeypatch):
    import spectra.analysis.lyapunov as lyap

    traj = _tanh_trajectory(50, 120, 4)
    wy = spectra.lyapunov_spectrum(traj, reorth_every=1, warmup=10)
    monkeypatch.setattr(lyap, "_WY_MIN_N", 10 ** 6)
    explicit = spectra.lyapunov_spectrum(traj, reorth_every=1, warmup=10)
    np.testing.assert_allclose(wy.exponents, explicit.exponents, atol=1e-12)
    np.testing.assert_allclose(wy.stderr, explicit.stderr, atol=1e-12)
    batch = spectra.lyapunov_spectrum(np.stack([traj.jacobians()] * 2), reorth_every=1, warmup=10)
    np.testing.assert_allclose(batch.exponents[1], wy.exponents, atol=1e-12)


@pytest.mark.parametrize("bad", ["sometimes", 0, 1.5])
def test_bad_reorth_every(bad):
    with pytest.raises((ValueError, TypeError), match="reorth_every"):
        spectra.lyapunov_spectrum(np.ones((3, 2, 2)), reorth_every=bad)


@st.composite
def _random_runs(draw):
    n = draw(st.integers(1, 10))
    T = draw(st.integers(2, 400))
    act = draw(st.sampled_from(spectra.available_activations()))
    gain = draw(st.floats(0.1, 4.0))
    kind = draw(st.sampled_from(["elman", "recurrent_first", "leaky"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    W = init.gaussian(n, gain=gain, rng=rng)
    cls = {"elman": spectra.ElmanRNN, "recurrent_first": spectra.RecurrentFirstRNN}.get(kind)
    cell = cls(W, init.gaussian(n, 2, rng=rng), activation=act) if cls else \
        spectra.LeakyRNN(W, init.gaussian(n, 2, rng=rng), activation=act, alpha=rng.uniform(0, 1, n))
    try:
        return cell.run(rng.standard_normal((T, 2)), h0=rng.standard_normal(n))
    except spectra.NumericalError:          # a diverging relu/elu run
        return cell.run(np.zeros((3, 2)), h0=np.zeros(n))


def _noise_floor(res, j):
    """Exponent j is at float64's noise floor: -inf by an exact zero, or a large roundoff."""
    return res.exponents[j] == -np.inf or res.roundoff[j] > 1e-3


@given(_random_runs(), st.integers(0, 5))
@settings(max_examples=60)
def test_auto_reorthonormalisation_matches_qr_at_every_step(traj, warmup):
    """reorth_every='auto' (the default) is as accurate as a QR at every step.

    The largest exponent and the sum of all exponents (the growth of lengths and
    volumes) are well conditioned: equal to 1e-8.  Each exponent agrees within
    what the problem itself allows: rounding (the roundoff estimates), the
    finite-time allocation's own sensitivity (a QR at every step moved by a
    1e-14 perturbation of its frame), and 1% of its standard error.
    """
    warmup = min(warmup, traj.steps - 1)
    n = traj.n
    auto = spectra.lyapunov_spectrum(traj, warmup=warmup)
    every = spectra.lyapunov_spectrum(traj, warmup=warmup, reorth_every=1)
    Js = traj.jacobians().copy()
    Js[0] = Js[0] @ np.linalg.qr(np.eye(n) + 1e-14 * np.random.default_rng(1).standard_normal((n, n)))[0]
    probe = spectra.lyapunov_spectrum(Js, warmup=warmup, reorth_every=1)
    assert auto.steps == every.steps
    fine = np.isfinite(auto.exponents) & np.isfinite(every.exponents)
    if fine[0]:
        assert abs(auto.exponents[0] - every.exponents[0]) <= 1e-8 + 10 * (auto.roundoff[0] + every.roundoff[0])
    if fine.all():
        assert abs(auto.exponents.sum() - every.exponents.sum()) <= \
            1e-8 * max(1.0, abs(every.exponents.sum())) + 10 * (auto.roundoff + every.roundoff).sum()
    for j in range(n):
        if not (fine[j] and np.isfinite(probe.exponents[j])):
            # -inf on one side only: both at float64's noise floor
            assert fine[j] or (_noise_floor(auto, j) and _noise_floor(every, j))
            continue
        tol = (1e-8 + 10 * (auto.roundoff[j] + every.roundoff[j])
               + 10 * abs(probe.exponents[j] - every.exponents[j])
               + 0.01 * min(auto.stderr[j], every.stderr[j]))
        assert abs(auto.exponents[j] - every.exponents[j]) <= tol, (j, auto.exponents, every.exponents)


def test_roundoff_flags_directions_at_the_noise_floor():
    """Saturated units contract some directions by ~e^-36 per step: float64 cannot resolve them."""
    rng = np.random.default_rng(0)
    W = init.gaussian(6, gain=1.0, rng=rng)
    # f'(a) = tanh'(a) for huge |a| on half the units: their directions sit ~e^-40 below
    big = np.diag([1.0, 1.0, 1.0, 20.0, 20.0, 20.0])
    cell = spectra.ElmanRNN(W, big, activation="tanh")
    traj = cell.run(np.ones((200, 6)), h0=np.zeros(6))
    res = spectra.lyapunov_spectrum(traj, reorth_every=1)
    assert np.all(res.roundoff[:3] < 1e-12)
    assert np.all((res.roundoff[3:] > 1e-3) | (res.exponents[3:] == -np.inf))
    clean = spectra.lyapunov_spectrum(init.orthogonal(6, rng=1)[None].repeat(50, axis=0))
    assert np.all(clean.roundoff < 1e-14)


@pytest.mark.parametrize("spread", [0.0, 40.0, 250.0])
def test_unnormalised_frames_are_scale_safe_on_the_structured_path(spread):
    """diag(row_t) W with every row scaled by 10^c_t, c_t up to +-spread: the frame is
    propagated without per-step normalisation (norm bounds decide when to check), so the
    exponents must equal those of the unscaled steps shifted by mean(c_t) ln 10."""
    rng = np.random.default_rng(7)
    n, T = 64, 120
    W = init.gaussian(n, gain=1.2, rng=rng)
    rows = rng.uniform(0.05, 1.0, (T, n))
    c = np.round(rng.uniform(-spread, spread, T))
    seq = spectra.ScaledJacobians(W, row=rows * 10.0 ** c[:, None])
    base = spectra.ScaledJacobians(W, row=rows)
    ref = spectra.lyapunov_spectrum(base.matrices(), reorth_every=1).exponents + c.mean() * math.log(10)
    for kw in ({}, {"reorth_every": 2}, {"reorth_every": 1}):    # (longer fixed intervals
        got = spectra.lyapunov_spectrum(seq, **kw)                  # lose accuracy here)
        np.testing.assert_allclose(got.exponents, ref, rtol=1e-12, atol=1e-8, err_msg=str(kw))


def test_batched_structured_path_matches_each_member_at_every_step():
    """A batch of three input-driven tanh runs (one shared W, per-member rows and bounds)."""
    rng = np.random.default_rng(0)
    cell = spectra.ElmanRNN.random(64, init="gaussian", gain=1.2, input_size=64, rng=rng)
    traj = cell.run(rng.standard_normal((3, 150, 64)), h0=rng.standard_normal((3, 64)))
    res = spectra.lyapunov_spectrum(traj, warmup=5)
    for b in range(3):
        one = spectra.lyapunov_spectrum(traj.select(b), warmup=5, reorth_every=1)
        np.testing.assert_allclose(res.exponents[b], one.exponents, rtol=0, atol=1e-8)
