"""The chunked spectral-norm profile (16 < n < 128) against a per-lag SVD in float64."""

import numpy as np
import pytest

import spectra
from spectra import init

from _helpers import make_instrumented


def _svd_profile(J, t=None):
    """log sigma_max(J_t ... J_{t-lag+1}) per lag, by an SVD of every product (rescaled)."""
    J = np.asarray(J)
    t = len(J) if t is None else t
    P = np.eye(J.shape[-1])
    e = 0.0
    out = np.full(t, -np.inf)
    for lag in range(1, t + 1):
        P = P @ J[t - lag]
        m = np.max(np.abs(P))
        if m == 0:
            break
        P /= m
        e += np.log(m)
        out[lag - 1] = np.log(np.linalg.svd(P, compute_uv=False)[0]) + e
    return out


@pytest.mark.parametrize("n, T, gain, seed", [(17, 300, 1.2, 0), (32, 400, 1.2, 1), (64, 200, 1.5, 2),
                                              (100, 150, 0.9, 3), (40, 70, 3.0, 4)])
def test_chunked_profile_matches_svd_per_lag(n, T, gain, seed):
    rng = np.random.default_rng(seed)
    traj = spectra.ElmanRNN(init.gaussian(n, gain=gain, rng=rng)).run(steps=T, h0=rng.standard_normal(n))
    prof = spectra.gradient_norm_profile(traj)
    # the promised 1e-10 relative on every norm = 1e-10 absolute on its log
    np.testing.assert_allclose(prof.log_norms, _svd_profile(traj.jacobians()), rtol=0, atol=1e-10)
    # and from an earlier time, through the dense (unstructured) path
    J = np.array(traj.jacobians())
    np.testing.assert_allclose(spectra.gradient_norm_profile(J, t=T - 7).log_norms,
                               _svd_profile(J, T - 7), rtol=0, atol=1e-10)


def test_chunked_profile_across_extreme_growth_and_decay():
    # steps of norm 2^40 and 2^-40 alternate in runs of 7: a chunk of 64 lags would leave
    # float64's range without the cuts; the exact answer is known
    rng = np.random.default_rng(5)
    n, T = 24, 400
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    D = np.diag(np.linspace(1.0, 0.5, n))
    A = Q @ D @ Q.T                                  # symmetric: ||A^k|| = 1 exactly
    runs = np.where((np.arange(T) // 7) % 2 == 0, 2.0 ** 200, 2.0 ** -210)
    J = runs[:, None, None] * A
    prof = spectra.gradient_norm_profile(J)
    expect = np.cumsum(np.log(runs[::-1]))           # lag 1 is step T
    np.testing.assert_allclose(prof.log_norms, expect, rtol=1e-13, atol=1e-9)


def test_chunked_profile_vanishing_regime_and_zero_step():
    cell = spectra.ElmanRNN(init.orthogonal(40, gain=0.5, rng=0), activation="sigmoid")
    traj = cell.run(steps=1200, h0=np.zeros(40))
    seq = make_instrumented(traj)
    prof = spectra.gradient_norm_profile(seq)
    assert seq.subnormal_operands == 0
    assert prof.log_norms[-1] < -600 * np.log(10.0)
    assert np.all(np.isfinite(prof.log_norms)) and np.all(np.diff(prof.log_norms) < 0)
    J = np.array(traj.jacobians()[:300])
    np.testing.assert_allclose(spectra.gradient_norm_profile(J).log_norms, _svd_profile(J),
                               rtol=0, atol=1e-10)
    # an exactly zero step: every longer lag is -inf, the shorter ones untouched
    Jz = J.copy()
    Jz[100] = 0.0
    got = spectra.gradient_norm_profile(Jz).log_norms
    assert np.all(got[199:] == -np.inf)
    np.testing.assert_allclose(got[:199], _svd_profile(J)[:199], rtol=0, atol=1e-10)


def test_chunked_profile_needs_one_product_per_lag():
    rng = np.random.default_rng(6)
    n, T = 48, 150
    traj = spectra.ElmanRNN(init.gaussian(n, gain=1.2, rng=rng)).run(steps=T, h0=rng.standard_normal(n))
    seq = make_instrumented(traj)
    prof = spectra.gradient_norm_profile(seq)
    assert seq.calls["matrix"] + seq.calls["rmatmat"] + seq.calls["matmat"] <= T + 1
    np.testing.assert_allclose(prof.log_norms, _svd_profile(traj.jacobians()), rtol=0, atol=1e-10)


def test_chunked_profile_does_not_depend_on_the_probe():
    rng = np.random.default_rng(7)
    J = 1.1 * rng.standard_normal((260, 33, 33)) / np.sqrt(33)
    a = spectra.gradient_norm_profile(J, rng=1).log_norms
    b = spectra.gradient_norm_profile(J, rng=2).log_norms
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-10)
