"""The fast path of product_log_singular_values (n >= 96: compact-WY QRs on a verified
schedule) against closed forms, identities and the graded QR at every step."""

import numpy as np
import pytest

import spectra
from spectra import init
from spectra.analysis import _stratified
from spectra.analysis.products import _log_singular_values_at
from spectra.jacobians.structured import as_jacobian_sequence

N = _stratified.MIN_N


def every_step_reference(J):
    """The general path (a graded QR at every step): a batch of one takes it."""
    return spectra.product_log_singular_values(np.asarray(J)[None])[0]


def elman(n, T, gain, seed, inputs=0):
    rng = np.random.default_rng(seed)
    cell = spectra.ElmanRNN.random(n, input_size=inputs, init="gaussian", gain=gain, rng=rng)
    X = rng.standard_normal((T, inputs)) if inputs else None
    return cell.run(X, h0=rng.standard_normal(n), steps=T)


def test_fast_path_is_taken_and_counts_its_qrs(monkeypatch):
    calls = []
    orig = _stratified.QRSchedule.done

    def done(self, s, log_cond):
        calls.append(s - self.last)
        return orig(self, s, log_cond)

    monkeypatch.setattr(_stratified.QRSchedule, "done", done)
    spectra.product_log_singular_values(elman(N, 120, 1.2, 0))
    assert sum(calls) == 120 and max(calls) > 1     # several steps per QR on this network


def test_telescoping_orthogonal_products_give_exact_logs():
    # J_t = Q_t diag(s) Q_{t-1}^T: the product is Q_T diag(s^T) Q_0^T, log sigma = T log s
    n, T = N + 4, 150
    s = np.exp(np.linspace(2.0, -2.0, n))             # a spread of 4 per step: e^600 over T
    Qs = [init.orthogonal(n, rng=i) for i in range(T + 1)]
    J = np.stack([Qs[t + 1] @ np.diag(s) @ Qs[t].T for t in range(T)])
    got = spectra.product_log_singular_values(J)
    np.testing.assert_allclose(got, T * np.log(s), rtol=0, atol=1e-9)


@pytest.mark.parametrize("gain,inputs", [(1.2, 0), (3.0, 0), (1.5, N)])
def test_tanh_networks_agree_with_the_graded_qr_at_every_step(gain, inputs):
    # both are exact to about u * cond per QR, summed over the QRs: 1e-10 relative here
    # (the saturated gain-3 network has step Jacobians with condition numbers ~1e5)
    traj = elman(N, 100, gain, 1, inputs)
    got = spectra.product_log_singular_values(traj)
    J = traj.jacobians()
    ref = every_step_reference(J)
    assert np.all(np.diff(got) <= 0) and got[-1] < -50
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-9)
    # identity: the sum of log singular values is log|det P| = sum_t log|det J_t|
    logdet = np.sum(np.linalg.slogdet(J)[1])
    assert abs(got.sum() - logdet) <= 1e-11 * abs(logdet)


def test_top_values_of_a_short_product_match_a_dense_svd():
    traj = elman(N + 32, 40, 1.2, 2)
    J = traj.jacobians()
    P = np.eye(J.shape[1])
    for A in J:
        P = A @ P
    sv = np.linalg.svd(P, compute_uv=False)
    got = spectra.product_log_singular_values(traj)
    np.testing.assert_allclose(got[:10], np.log(sv[:10]), rtol=0, atol=1e-12)


def test_a_sudden_contracting_stretch_is_rewound_and_redone():
    # steps that kill one direction by 1e-6 each in a stretch: the predicted interval is
    # far too long there, the frame's condition number overshoots and the stretch is redone
    n, T = N, 120
    rng = np.random.default_rng(3)
    J = np.stack([init.orthogonal(n, rng=rng) for _ in range(T)])
    for t in range(60, 90):
        J[t] = J[t] @ np.diag(np.r_[np.full(n - 1, 1.0), 1e-6])
    rejected = []
    orig = _stratified.QRSchedule.accept

    def accept(self, s, log_cond):
        ok = orig(self, s, log_cond)
        rejected.append(not ok)
        return ok

    mp = pytest.MonkeyPatch()
    mp.setattr(_stratified.QRSchedule, "accept", accept)
    try:
        got = spectra.product_log_singular_values(J)
    finally:
        mp.undo()
    assert any(rejected)
    np.testing.assert_allclose(got, every_step_reference(J), rtol=0, atol=1e-8)
    assert got[-1] < -300                             # the stretch's contraction is there


def test_a_dead_unit_gives_minus_infinity_and_extreme_entries_stay_exact():
    n, T = N, 40
    rng = np.random.default_rng(4)
    J = rng.standard_normal((T, n, n)) / np.sqrt(n)
    J[20, 5, :] = 0.0                                 # a zero row: rank n - 1 from step 21
    got = spectra.product_log_singular_values(J)
    ref = every_step_reference(J)
    assert got[-1] == -np.inf or got[-1] < got[-2] - 30
    np.testing.assert_allclose(got[:-1], ref[:-1], rtol=0, atol=1e-8)
    # entries of 1e200 and 1e-200 (their squares leave float64): logs shift exactly
    G = rng.standard_normal((T, n, n)) / np.sqrt(n)
    scale = np.where(np.arange(T) % 2, 1e200, 1e-200)
    np.testing.assert_allclose(spectra.product_log_singular_values(G * scale[:, None, None]),
                               spectra.product_log_singular_values(G), rtol=0, atol=1e-8)


def test_several_times_in_one_sweep_match_single_calls():
    traj = elman(N, 90, 1.2, 5)
    seq = as_jacobian_sequence(traj)
    out = _log_singular_values_at(seq, 10, [10, 11, 40, 90])
    np.testing.assert_array_equal(out[10], np.zeros(N))
    for t in (11, 40, 90):
        np.testing.assert_allclose(out[t], spectra.product_log_singular_values(traj, t=t, k=10),
                                   rtol=0, atol=1e-8)     # QRs at other steps: rounding
