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


# -- the staged certificate (issue 19, lane smalln) -----------------------------------------

from spectra.analysis import _profile_chunks as chunks


def _spy(monkeypatch):
    """Record, per stage, how many members each certification call settled."""
    seen = {"stage1": 0, "stage2": 0, "stage3": 0, "dense": 0}
    kato, dense = chunks._kato_temple, chunks._dense_top

    def kato_spy(S, f2, L, x, y):
        out = kato(S, f2, L, x, y)
        stage = "stage1" if x.ndim == 1 else "stage2" if np.isscalar(L) else "stage3"
        seen[stage] += int(out[0].sum())
        return out

    def dense_spy(S, idx, *args):
        seen["dense"] += len(idx)
        return dense(S, idx, *args)

    monkeypatch.setattr(chunks, "_kato_temple", kato_spy)
    monkeypatch.setattr(chunks, "_dense_top", dense_spy)
    return seen


@pytest.mark.parametrize("n, T, seed, stages", [(32, 700, 0, ("stage1", "stage2", "dense")),
                                                (64, 400, 64, ("stage2", "stage3", "dense"))])
def test_every_stage_of_the_certificate_is_used_and_exact(monkeypatch, n, T, seed, stages):
    # n = 32 (this network): the top direction converges, so whole chunks are certified by
    # one vector; n = 64: it keeps moving inside a few directions (the block's Rayleigh-
    # Ritz), and the short lags need Ritz steps or LAPACK.  Each stage must settle lags, all
    # to 1e-10.
    rng = np.random.default_rng(seed)
    traj = spectra.ElmanRNN(init.gaussian(n, gain=1.2, rng=rng)).run(steps=T, h0=rng.standard_normal(n))
    seen = _spy(monkeypatch)
    prof = spectra.gradient_norm_profile(traj)
    np.testing.assert_allclose(prof.log_norms, _svd_profile(traj.jacobians()), rtol=0, atol=1e-10)
    assert sum(seen.values()) == T                       # every lag settled exactly once
    for stage in stages:
        assert seen[stage] > 0, (stage, seen)


def test_kato_temple_with_the_trace_gap_never_certifies_a_wrong_value():
    # members whose vector x is within angles 1e-8..1e-1 of the top or the second singular
    # direction,
    # with sigma_2 / sigma_1 from 0.5 to 1 - 1e-6: the bound must hold for every member it
    # certifies (the exact sigma from LAPACK), certify the easy ones and refuse the others
    rng = np.random.default_rng(11)
    n, rows = 20, []
    for ratio in (0.5, 0.9, 0.99, 1 - 1e-4, 1 - 1e-6):
        for angle in (1e-8, 1e-6, 1e-4, 1e-2, 1e-1):
            U, _ = np.linalg.qr(rng.standard_normal((n, n)))
            V, _ = np.linalg.qr(rng.standard_normal((n, n)))
            s = np.concatenate([[1.0, ratio], 0.05 * rng.random(n - 2)])
            S = (U * s) @ V.T
            x = np.cos(angle) * U[:, 0] + np.sin(angle) * U[:, 1]
            rows.append((S, x))
            # and the second direction itself: an exact eigenvector with a zero residual,
            # which any gap estimate from that side of the spectrum would certify
            rows.append((S, np.sin(angle) * U[:, 0] + np.cos(angle) * U[:, 1]))
    S = np.stack([r[0] for r in rows])
    x = np.stack([r[1] for r in rows])
    f2 = np.einsum("ijk,ijk->i", S, S)
    ok, rho, _, _, _ = chunks._kato_temple(S, f2, 0.0, x, np.matmul(x[:, None, :], S)[:, 0])
    lam = np.linalg.svd(S, compute_uv=False)[:, 0] ** 2
    assert np.all(rho <= lam * (1 + 1e-14))              # a Rayleigh quotient: a lower bound
    assert np.all(lam[ok] <= rho[ok] * (1 + 1e-11) + 1e-15)
    assert 5 <= ok.sum() <= len(ok) - 10
    assert not ok[1::2].any()                            # never sigma_2 for sigma_1
    # the trace bound alone (L = 0) needs sigma_1^2 > f2 / 2: the clustered members are refused
    assert not ok[lam < 0.5 * f2].any()


def test_a_warm_start_missing_the_top_direction_is_not_trusted():
    # the block spans e_2 .. e_6 exactly (all eigenvectors): its Ritz pairs have zero
    # residual, but the top direction e_1 is missing; the trace bound sees the mass left
    # outside (f2 - rho - L > rho) and hands the member to LAPACK
    n = 24
    s = np.concatenate([[3.0, 2.0, 1.5, 1.2, 1.1, 1.0], np.linspace(0.5, 0.1, n - 6)])
    S = np.diag(s)[None].repeat(3, axis=0) * np.array([1.0, 2.0, 0.5])[:, None, None]
    f2 = np.einsum("ijk,ijk->i", S, S)

    class Start:                                         # a warm start without e_1
        u = np.eye(n)[1]

        def block(self):
            return np.eye(n)[:, 1:7]

    for single in (True, False):
        sig, u = chunks._certified_top(S, f2, Start(), {"single": single, "since": 0})
        np.testing.assert_allclose(sig, 3.0 * np.array([1.0, 2.0, 0.5]), rtol=1e-14)
        assert abs(u[0]) == pytest.approx(1.0)
