"""Lyapunov spectra in single precision (``dtype="float32"``) and the shared QR schedule.

Reference: float64 QR at every step.  Error model of a float32 Benettin iteration: every
step is rounded to float32 (the cast of J_s and the GEMM: a relative error of about
``(sqrt(n) + 1) u32`` of ``||J_s||``, ``u32 = 2^-24``), and a QR recovers the weak
directions of its frame by dividing by ``r_jj``, so each exponent carries

* the first-order rounding estimate the result reports, ``roundoff_j`` (the mean over the
  QRs of ``eps32 ||z_j|| / |r_jj|``; it includes the condition number an interval of
  several steps built up), and
* the finite-time allocation's own sensitivity: two exponents closer than their standard
  errors share their sum by an ill-conditioned split, which any perturbation of the steps
  moves.  It is measured by ``probe``: float64 QR at every step on steps perturbed
  entrywise by relative noise of float32's size, ``(sqrt(n) + 1) u32``.

Every exponent must lie within ``GROWTH * (roundoff_j + probe_j)`` of the reference and the
sum within ``GROWTH * (sum(roundoff) + probe_sum)``, with the stated factor ``GROWTH = 8``
(the probe is a randomised estimate, the largest of three draws; measured ratios of the
error to ``roundoff + probe`` reach 3.2); the top exponent, a growth rate of lengths and
well conditioned, within one step's rounding ``(sqrt(n) + 1) u32`` (measured: 5% of it).
Each test also checks that the error is far above float64's (float32 was really used).
"""

import math

import numpy as np
import pytest

import spectra
from spectra import init
from spectra.analysis import _schedule, lyapunov as lyap_mod
from spectra.analysis._schedule import EPS32, EPS64, PRODUCTS, QRSchedule, lyapunov_budget

U32 = EPS32 / 2
GROWTH = 8.0


def tanh_run(n, T, seed, gain=1.2, inputs=True):
    rng = np.random.default_rng(seed)
    cell = spectra.ElmanRNN.random(n, init="gaussian", gain=gain, input_size=n if inputs else 0,
                                   rng=rng)
    X = rng.standard_normal((T, n)) if inputs else None
    return cell.run(X, h0=rng.standard_normal(n), steps=None if inputs else T)


def probe(Js, reference, **kw):
    """How far float32-sized relative noise on every step moves each exponent and their sum
    (float64, QR at every step): the largest over three draws of the noise, a randomised
    estimate of the sensitivity.  Returns (per exponent, sum)."""
    n = Js.shape[-1]
    each, total = 0.0, 0.0
    for seed in range(3):
        noise = np.random.default_rng(seed).standard_normal(Js.shape)
        moved = spectra.lyapunov_spectrum(Js * (1 + (math.sqrt(n) + 1) * U32 * noise),
                                          reorth_every=1, **kw).exponents
        same = moved == reference.exponents                 # (equal infinities too)
        with np.errstate(invalid="ignore"):
            each = np.maximum(each, np.where(same, 0.0, np.abs(moved - reference.exponents)))
            total = max(total, abs(moved.sum() - reference.exponents.sum()))
    return each, total


def check_against_float64(got, ref, Js, **kw):
    n = Js.shape[-1]
    assert got.dtype == "float32" and ref.dtype == "float64"
    assert got.exponents.dtype == np.float64 and got.exponents.shape == ref.exponents.shape
    err = np.abs(got.exponents - ref.exponents)
    each, total = probe(Js, ref, **kw)
    tol = GROWTH * (got.roundoff + each)
    assert np.all(err <= tol), (np.max(err / tol), np.argmax(err / tol))
    assert err[0] <= (math.sqrt(n) + 1) * U32            # the top exponent: one step's rounding
    if got.exponents.size == n:
        assert abs(got.exponents.sum() - ref.exponents.sum()) <= \
            GROWTH * (got.roundoff.sum() + total)
    assert np.max(err) > 1e4 * EPS64              # single precision was really used
    return err


@pytest.mark.parametrize("reorth_every", [1, "auto"])
def test_full_spectrum_compact_wy_path(reorth_every):
    """n = 64: sgeqrt/sgemqrt on the Elman fast path (W cast once, rows scaled per step)."""
    traj = tanh_run(64, 300, 1)
    ref = spectra.lyapunov_spectrum(traj, reorth_every=1)
    got = spectra.lyapunov_spectrum(traj, reorth_every=reorth_every, dtype="float32")
    check_against_float64(got, ref, traj.jacobians())


def test_full_spectrum_formed_steps_and_small_n():
    """A leaky network (steps formed, then cast) at n = 56, and n = 20 (numpy's qr in float32)."""
    for n in (56, 20):
        rng = np.random.default_rng(n)
        cell = spectra.LeakyRNN(init.gaussian(n, gain=1.5, rng=rng), init.gaussian(n, 3, rng=rng),
                                alpha=0.3)
        traj = cell.run(rng.standard_normal((250, 3)), h0=rng.standard_normal(n))
        ref = spectra.lyapunov_spectrum(traj, reorth_every=1, warmup=10)
        got = spectra.lyapunov_spectrum(traj, dtype="float32", warmup=10)
        check_against_float64(got, ref, traj.jacobians(), warmup=10)
        assert got.steps == 240


def test_partial_spectrum_float32():
    """k < n: the frame of k columns in float32, from the same initial frame as float64."""
    traj = tanh_run(80, 300, 2)
    ref = spectra.lyapunov_spectrum(traj, k=6, rng=5, reorth_every=1)
    got = spectra.lyapunov_spectrum(traj, k=6, rng=5, dtype="float32")
    check_against_float64(got, ref, traj.jacobians(), k=6, rng=5)


def test_float32_budget_is_float32s():
    """Steps with condition numbers ~1e3: float64's budget allows two-step intervals
    (cond ~1e6 at 2e-10 of rounding), float32's cannot (eps32 * 1e6 / 2 = 0.06 per step):
    a QR at every step.  On well-conditioned steps float32 still takes long intervals."""
    traj = tanh_run(64, 300, 1)
    f64 = spectra.lyapunov_spectrum(traj)
    f32 = spectra.lyapunov_spectrum(traj, dtype="float32")
    assert f64.qr_count < 250 and f32.qr_count == 300
    rng = np.random.default_rng(5)
    Q = np.stack([init.orthogonal(60, rng=rng) for _ in range(300)])
    J = Q * np.exp(np.linspace(0.05, -0.05, 60))[None, :, None]      # cond e^0.1 per step
    auto = spectra.lyapunov_spectrum(J, dtype="float32")
    ref = spectra.lyapunov_spectrum(J, reorth_every=1)
    assert auto.qr_count < 60
    check_against_float64(auto, ref, J)


def test_a_sudden_contracting_stretch_is_rewound_in_float32(monkeypatch):
    """Orthogonal steps (long intervals predicted), then a stretch that contracts one
    direction by 1e-3 per step: an interval overshoots the float32 budget and is redone."""
    n, T = 50, 160
    rng = np.random.default_rng(3)
    J = np.stack([init.orthogonal(n, rng=rng) for _ in range(T)])
    J[80:110] = J[80:110] @ np.diag(np.r_[np.ones(n - 1), 1e-3])
    rejected = []
    orig = QRSchedule.accept

    def accept(self, s, worst):
        ok = orig(self, s, worst)
        rejected.append(not ok)
        return ok

    monkeypatch.setattr(QRSchedule, "accept", accept)
    got = spectra.lyapunov_spectrum(J, dtype="float32")
    assert any(rejected)
    monkeypatch.undo()
    ref = spectra.lyapunov_spectrum(J, reorth_every=1)
    err = np.abs(got.exponents - ref.exponents)
    assert np.all(err <= GROWTH * (got.roundoff + (math.sqrt(n) + 1) * U32))
    assert ref.exponents[-1] < -0.5                       # the stretch is there


@pytest.mark.parametrize("structured", [True, False])
def test_steps_beyond_float32s_range(structured):
    """Steps scaled by 10^c, c up to +-60 (float32 spans 1e-38..3e38): each step is scaled
    by a power of two before the cast, so the exponents shift by mean(c) ln 10 exactly."""
    rng = np.random.default_rng(7)
    n, T = 52, 120
    W = init.gaussian(n, gain=1.2, rng=rng)
    rows = rng.uniform(0.05, 1.0, (T, n))
    c = np.round(rng.uniform(-60, 60, T))
    base = spectra.ScaledJacobians(W, row=rows)
    scaled = spectra.ScaledJacobians(W, row=rows * 10.0 ** c[:, None])
    J = scaled if structured else scaled.matrices()
    ref = spectra.lyapunov_spectrum(base.matrices(), reorth_every=1)
    got = spectra.lyapunov_spectrum(J, dtype="float32", reorth_every=1)
    shifted = got.exponents - c.mean() * math.log(10)
    tol = GROWTH * (got.roundoff + probe(base.matrices(), ref)[0])
    assert np.all(np.isfinite(got.exponents))
    assert np.all(np.abs(shifted - ref.exponents) <= tol + 1e-12 * np.abs(c).max())


def test_an_exact_rank_drop_gives_minus_infinity_in_both_precisions():
    rng = np.random.default_rng(4)
    J = rng.standard_normal((40, 50, 50)) / math.sqrt(50)
    J[0, :, 7] = 0.0                                  # h_0[7] is forgotten at once: rank n - 1
    ref = spectra.lyapunov_spectrum(J, reorth_every=1)
    got = spectra.lyapunov_spectrum(J, dtype="float32")
    for res in (ref, got):
        assert res.exponents[-1] == -np.inf and np.all(np.isfinite(res.exponents[:-1]))
    err = np.abs(got.exponents[:-1] - ref.exponents[:-1])
    assert np.all(err <= GROWTH * (got.roundoff + probe(J, ref)[0])[:-1])


def test_default_is_float64_and_unchanged():
    traj = tanh_run(64, 120, 6)
    a = spectra.lyapunov_spectrum(traj)
    b = spectra.lyapunov_spectrum(traj, dtype="float64")
    c = spectra.lyapunov_spectrum(traj, dtype=np.float64)
    for other in (b, c):
        assert np.array_equal(a.exponents, other.exponents)
        assert np.array_equal(a.roundoff, other.roundoff)
    assert a.dtype == "float64" and a.to_dict()["dtype"] == "float64"


@pytest.mark.parametrize("bad", ["float16", "int32", "double-ish", 3])
def test_bad_dtype_names_dtype(bad):
    with pytest.raises(ValueError, match="`dtype`"):
        spectra.lyapunov_spectrum(np.ones((3, 2, 2)), dtype=bad)


def test_float32_needs_a_single_sequence():
    J = np.random.default_rng(0).standard_normal((2, 5, 4, 4))
    with pytest.raises(ValueError, match="dtype='float32'"):
        spectra.lyapunov_spectrum(J, dtype="float32")


# -- the one QR schedule (Lyapunov spectra and log singular values)

def drive(budget, rate, steps=200):
    """Intervals planned by a schedule whose frames grow log cond by ``rate`` per step."""
    plan = QRSchedule(budget)
    s, out = 0, []
    while s < steps:
        s += plan.every
        assert plan.due(s) and plan.accept(s, rate * plan.every)
        out.append(s - plan.last)
        plan.done(s, rate * (s - plan.last))
    return out


@pytest.mark.parametrize("rate", [0.5, 2.0, 5.0, 20.0])
def test_schedule_intervals_follow_the_closed_form_rules(rate):
    """Constant growth: intervals double up to the longest the budget allows, m* =
    products: max m with m rate <= log 1e6; float64 Lyapunov: the same below 4 steps, then
    eps64 e^(m rate) / m <= 2e-10; float32: eps32 e^(m rate) / m <= 1e3 eps32."""
    def longest(ok):
        return max([m for m in range(1, _schedule.MAX_EVERY + 1) if ok(m)], default=1)

    rules = {
        PRODUCTS: lambda m: m * rate <= math.log(1e6),
        lyapunov_budget(EPS64): lambda m: (m * rate <= math.log(1e6) if m < 4
                                           else EPS64 * math.exp(m * rate) / m <= 2e-10),
        lyapunov_budget(EPS32): lambda m: math.exp(m * rate) / m <= 1e3,
    }
    for budget, ok in rules.items():
        m_star = longest(ok)
        got = drive(budget, rate)
        assert got[:5] == [min(2 ** i, m_star) for i in range(5)], (got, m_star)
        assert set(got[5:]) == {m_star}


def test_schedule_rejects_an_overshoot_and_forces_single_steps():
    plan = QRSchedule(lyapunov_budget(EPS32))
    plan.every = 4
    assert plan.due(4)
    assert not plan.accept(4, math.log(1e7))          # eps32 * 1e7 / 4 = 0.3 per step
    assert plan.every == 1 and plan.rejected == 1
    assert all(plan.due(s) for s in (1, 2, 3, 4))
    fixed = QRSchedule(None, every=3, warmup=2, T=10)
    assert [s for s in range(1, 11) if fixed.due(s)] == [2, 5, 8, 10]
    assert fixed.accept(5, math.inf)


def test_lyapunov_module_uses_the_shared_schedule(monkeypatch):
    seen = []
    orig = QRSchedule.done

    def done(self, s, worst):
        seen.append(self.budget)
        return orig(self, s, worst)

    monkeypatch.setattr(QRSchedule, "done", done)
    traj = tanh_run(64, 40, 8)
    spectra.lyapunov_spectrum(traj)
    spectra.lyapunov_spectrum(traj, dtype="float32")
    spectra.product_log_singular_values(tanh_run(96, 20, 8))
    assert {lyapunov_budget(EPS64), lyapunov_budget(EPS32), PRODUCTS} == set(seen)
    assert lyap_mod.QRSchedule is QRSchedule

