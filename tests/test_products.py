"""product_log_singular_values and gradient_norm_profile against independent truth."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import spectra
from spectra import init

from _helpers import make_instrumented


def mp_log_singular_values(J, t=None, k=0):
    """High-precision reference: the product in mpmath with enough digits for its span."""
    J = np.asarray(J)
    t = len(J) if t is None else t
    # digits: the span of the singular values (bounded by sum of log condition numbers) + margin
    span = sum(np.log10(max(np.linalg.cond(A), 10.0)) for A in J[k:t])
    with mp.workdps(int(span) + 40):
        n = J.shape[2]
        P = mp.eye(n)
        for A in J[k:t]:
            P = mp.matrix(A.tolist()) * P
        s = mp.svd_r(P, compute_uv=False)
        return np.array(sorted((float(mp.log(x)) if x > 0 else -np.inf for x in s), reverse=True))


def test_log_singular_values_beyond_float64_match_mpmath():
    """n = 5, T = 400: singular values from about 1e420 down to 1e-311."""
    rng = np.random.default_rng(1)
    n, T = 5, 400
    G = 3.0 * rng.standard_normal((T, n, n)) / np.sqrt(n)
    J = G * np.exp([2.5, 1.2, 0.0, -1.2, -2.5])[None, None, :]
    got = spectra.product_log_singular_values(J)
    assert got[0] > np.log(1e308) and got[-1] < np.log(1e-308)
    np.testing.assert_allclose(got, mp_log_singular_values(J), rtol=0, atol=1e-8)


def test_2000_gaussian_steps_with_gain_3_stay_finite_and_match_lyapunov():
    rng = np.random.default_rng(2)
    J = 3.0 * rng.standard_normal((2000, 6, 6)) / np.sqrt(6)
    got = spectra.product_log_singular_values(J)
    assert np.all(np.isfinite(got))
    assert got[0] > 1000 and np.all(np.diff(got) <= 0)
    # sum of log singular values = log|det P| = sum of log|det J_t| exactly
    logdet = np.sum(np.linalg.slogdet(J)[1])
    assert abs(got.sum() - logdet) < 1e-9 * abs(logdet)
    lyap = spectra.lyapunov_spectrum(J)
    # singular values / T and Lyapunov exponents differ by O(1/T) (frame alignment)
    assert np.max(np.abs(got / 2000 - lyap.exponents)) < 5e-3


@given(st.integers(1, 5), st.integers(1, 12), st.floats(0.2, 4.0), st.integers(0, 2 ** 32 - 1))
@settings(max_examples=25)
def test_log_singular_values_short_random_products(n, T, gain, seed):
    J = gain * np.random.default_rng(seed).standard_normal((T, n, n)) / np.sqrt(n)
    got = spectra.product_log_singular_values(J)
    np.testing.assert_allclose(got, mp_log_singular_values(J), rtol=0, atol=1e-9)


def test_closed_forms():
    # diagonal steps: exact sums of logs, in any order of magnitude
    d = np.array([5.0, 1.0, 0.1])
    J = np.broadcast_to(np.diag(d), (500, 3, 3))
    np.testing.assert_allclose(spectra.product_log_singular_values(J), 500 * np.log(d), rtol=1e-14)
    # orthogonal steps: all zero
    Q = np.stack([init.orthogonal(6, rng=i) for i in range(300)])
    np.testing.assert_allclose(spectra.product_log_singular_values(Q), 0.0, atol=1e-10)
    # an exactly zero row (a dead relu unit) makes one singular value exactly zero
    D = np.diag([1.0, 0.0, 2.0]) @ init.gaussian(3, rng=0)
    out = spectra.product_log_singular_values(np.stack([D, init.gaussian(3, rng=1)]))
    assert out[-1] == -np.inf or out[-1] < out[0] - 30  # rounding may leave ~eps instead of 0
    # t == k is the identity
    np.testing.assert_array_equal(spectra.product_log_singular_values(J, t=7, k=7), np.zeros(3))


def test_spans_and_trajectories(rng):
    cell = spectra.ElmanRNN(init.gaussian(7, gain=2.0, rng=rng), activation="tanh")
    traj = cell.run(steps=60, h0=rng.standard_normal(7))
    dense = traj.jacobians()
    for t, k in [(60, 0), (40, 10), (11, 10)]:
        a = spectra.product_log_singular_values(traj, t=t, k=k)
        b = spectra.product_log_singular_values(dense, t=t, k=k)
        np.testing.assert_allclose(a, b, atol=1e-10)
        np.testing.assert_allclose(a, mp_log_singular_values(dense, t, k), atol=1e-8)


def test_rectangular_chain_like_an_mlp(rng):
    Ws = [rng.standard_normal((5, 3)), rng.standard_normal((2, 5)), rng.standard_normal((4, 2))]
    out = spectra.product_log_singular_values(Ws)
    P = Ws[2] @ Ws[1] @ Ws[0]                     # 4 x 3 through a width-2 bottleneck
    ref = np.log(np.linalg.svd(P, compute_uv=False))
    assert out.shape == (3,)
    np.testing.assert_allclose(out[:2], ref[:2], atol=1e-12)
    assert out[2] == -np.inf or out[2] < out[1] - 30


def test_batches_match_single_runs(rng):
    J = rng.standard_normal((3, 50, 4, 4))
    out = spectra.product_log_singular_values(J)
    assert out.shape == (3, 4)
    for b in range(3):
        np.testing.assert_allclose(out[b], spectra.product_log_singular_values(J[b]), atol=1e-12)


# -- gradient_norm_profile ------------------------------------------------------------------

def _dense_profile(J, t, ord):
    P = np.eye(J.shape[-1])
    out = []
    for lag in range(1, t + 1):
        P = P @ J[t - lag]
        out.append(np.log(np.linalg.norm(P, 2 if ord == 2 else "fro")))
    return np.array(out)


@pytest.mark.parametrize("ord", [2, "fro"])
@given(st.integers(1, 30), st.integers(1, 25), st.floats(0.3, 2.5), st.integers(0, 2 ** 32 - 1))
@settings(max_examples=25)
def test_profile_matches_dense_svd_per_lag(ord, n, T, gain, seed):
    J = gain * np.random.default_rng(seed).standard_normal((T, n, n)) / np.sqrt(n)
    prof = spectra.gradient_norm_profile(J, ord=ord)
    np.testing.assert_array_equal(prof.lags, np.arange(1, T + 1))
    # 1e-10 relative on the norm = 1e-10 absolute on its log
    np.testing.assert_allclose(prof.log_norms, _dense_profile(J, T, ord), rtol=0, atol=1e-10)


def test_profile_of_trajectory_uses_one_backward_sweep(rng):
    n, T = 40, 80
    traj = spectra.ElmanRNN(init.gaussian(n, gain=1.3, rng=rng)).run(steps=T, h0=rng.standard_normal(n))
    seq = make_instrumented(traj)
    prof = spectra.gradient_norm_profile(seq, t=70)
    # one structured product per lag: O(t n^3) in all, not O(t^2 n^3)
    assert seq.calls["matrix"] + seq.calls["rmatmat"] + seq.calls["matmat"] == 70
    np.testing.assert_allclose(prof.log_norms, _dense_profile(traj.jacobians(), 70, 2), atol=1e-10)


def test_profile_never_overflows_and_has_no_subnormals():
    J = np.broadcast_to(np.diag([3.0, 0.5, 1e-3]), (2000, 3, 3))
    seq = make_instrumented(J)
    prof = spectra.gradient_norm_profile(seq)
    np.testing.assert_allclose(prof.log_norms, np.arange(1, 2001) * np.log(3.0), rtol=1e-13)
    assert seq.subnormal_operands == 0
    # a vanishing regime: sigmoid network, gain 0.5, norms down to 1e-1000 and below
    cell = spectra.ElmanRNN(init.orthogonal(16, gain=0.5, rng=0), activation="sigmoid")
    traj = cell.run(steps=1500, h0=np.zeros(16))
    seq = make_instrumented(traj)
    prof = spectra.gradient_norm_profile(seq)
    assert prof.log_norms[-1] < -900 * np.log(10.0)
    assert np.all(np.isfinite(prof.log_norms)) and np.all(np.diff(prof.log_norms) < 0)
    assert seq.subnormal_operands == 0
    assert spectra.product_log_singular_values(seq)[0] == pytest.approx(prof.log_norms[-1], abs=1e-8)


def test_vector_profile(rng):
    n, T = 6, 30
    J = 1.5 * rng.standard_normal((T, n, n)) / np.sqrt(n)
    v = rng.standard_normal(n)
    prof = spectra.gradient_norm_profile(J, vector=v, t=25)
    assert prof.vector and prof.lags[-1] == 25
    g, ref = v.copy(), []
    for s in range(25, 0, -1):
        g = J[s - 1].T @ g          # dE/dh_{s-1} = J_s^T dE/dh_s
        ref.append(np.log(np.linalg.norm(g)))
    np.testing.assert_allclose(prof.log_norms, ref, atol=1e-12)
    # the single gradient is never larger than the operator norm bound
    assert np.all(prof.log_norms <= spectra.gradient_norm_profile(J, t=25).log_norms + np.log(np.linalg.norm(v)) + 1e-12)


def test_profile_batches_and_zero_products(rng):
    J = rng.standard_normal((2, 20, 12, 12))
    prof = spectra.gradient_norm_profile(J)
    assert prof.log_norms.shape == (2, 20)
    for b in range(2):
        np.testing.assert_allclose(prof.log_norms[b], _dense_profile(J[b], 20, 2), atol=1e-10)
    dead = spectra.ElmanRNN(np.eye(3), activation="relu").run(steps=4, h0=[-1.0, -1.0, -1.0])
    assert np.all(spectra.gradient_norm_profile(dead).log_norms == -np.inf)
    d = spectra.gradient_norm_profile(J).to_dict()
    assert d["lags"][:3] == [1, 2, 3] and len(d["log_norms"]) == 2


@pytest.mark.parametrize("kind", ["elman", "recurrent_first", "leaky"])
def test_profile_and_product_of_structured_steps_match_dense(rng, kind):
    """The structured sweeps (row scaling, column scaling, shifted) against dense matrices."""
    n, T = 40, 60
    W = init.gaussian(n, gain=1.4, rng=rng)
    cell = {"elman": spectra.ElmanRNN(W), "recurrent_first": spectra.RecurrentFirstRNN(W),
            "leaky": spectra.LeakyRNN(W, alpha=0.3)}[kind]
    traj = cell.run(steps=T, h0=rng.standard_normal(n))
    dense = traj.jacobians()
    for ord in (2, "fro"):
        prof = spectra.gradient_norm_profile(traj, ord=ord)
        np.testing.assert_allclose(prof.log_norms, _dense_profile(dense, T, ord), rtol=0, atol=1e-10)
    P = np.eye(n)
    for A in dense:
        P = A @ P
    np.testing.assert_allclose(traj.product(), P, rtol=1e-12, atol=1e-14 * np.abs(P).max())
    np.testing.assert_allclose(spectra.DenseJacobians(dense).product(), P, rtol=1e-12,
                               atol=1e-14 * np.abs(P).max())
    # blocks of vectors through the operator (carried as rows internally)
    A, M = traj.operator(), rng.standard_normal((n, 5))
    np.testing.assert_allclose(A.matmat(M), P @ M, rtol=1e-11, atol=1e-13 * np.abs(P).max())
    np.testing.assert_allclose(A.rmatmat(M), P.T @ M, rtol=1e-11, atol=1e-13 * np.abs(P).max())


def test_profile_rescales_extreme_steps_exactly():
    """Steps of norm 1e200 and 1e-250 in one sweep: exact powers of two keep everything in range."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((6, 3, 3))
    scale = np.array([1e200, 3e200, 1e200, 1e-250, 2e-250, 1e-250])
    J = base * scale[:, None, None]
    for ord in (2, "fro"):
        prof = spectra.gradient_norm_profile(J, ord=ord)
        # the norm of a product of scaled steps is the product of the scales times the norm
        ref = _dense_profile(base, 6, ord) + np.cumsum(np.log(scale[::-1]))
        np.testing.assert_allclose(prof.log_norms, ref, rtol=1e-13)


def test_log_singular_values_of_steps_with_extreme_entries():
    """Entries of 1e200 and 1e-250 (their squares leave float64) in every step."""
    J = np.stack([np.diag([1e200, 3e200]), np.diag([1e-250, 2e-250])] * 3)
    np.testing.assert_allclose(spectra.product_log_singular_values(J),
                               [3 * np.log(3e200 * 2e-250), 3 * np.log(1e200 * 1e-250)], rtol=1e-14)
    G = np.random.default_rng(3).standard_normal((40, 4, 4))
    scaled = G * np.where(np.arange(40) % 2, 1e180, 1e-180)[:, None, None]
    np.testing.assert_allclose(spectra.product_log_singular_values(scaled),
                               spectra.product_log_singular_values(G), atol=1e-9)
