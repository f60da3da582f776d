"""One horizon convention across the library (issue 20, item 9).

The horizon of a quantity N(lag) at eps > 0 is the smallest lag L >= 0 with
N(L) < eps, where lag 0 is the identity (N(0) = 1).  inf: never (closed form)
or not within the t lags computed (measured); None: no classic bound.
Independent truth: brute force over exact powers (Fractions) and over the
report's own arrays with the lag-0 identity prepended.
"""

import io
import json
import math
from fractions import Fraction

import numpy as np
import pytest

import spectra
from spectra.analysis.bounds import format_horizon

EPS = [Fraction(1, 10 ** 6), Fraction(1, 8), Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(7)]


def _brute(q, eps, max_lag=10_000):
    """Smallest L >= 0 with q^L < eps, exactly; inf if none up to max_lag (q >= 1 never falls)."""
    power = Fraction(1)
    for L in range(max_lag + 1):
        if power < eps:
            return L
        power *= q
    return math.inf


def _brute_measured(logs, eps):
    """The convention on measured log values at lags 1..t: prepend lag 0 (log 1 = 0)."""
    full = np.concatenate([np.zeros(logs.shape[:-1] + (1,)), logs], axis=-1)
    below = full < math.log(eps)
    return int(np.argmax(below)) if below.any() else math.inf


@pytest.mark.parametrize("q", [Fraction(0), Fraction(1, 2), Fraction(3, 4), Fraction(1), Fraction(5, 4)])
@pytest.mark.parametrize("eps", EPS)
def test_classic_horizon_numeric_and_symbolic_agree_with_brute_force(q, eps):
    from spectra import symbolic

    want = _brute(q, eps)
    got = spectra.horizon(float(q) * np.eye(2), "identity", float(eps))
    assert got == want
    sym = symbolic.horizon(eps, gamma_W=q, gamma_h=1).rhs
    assert (sym == want) if math.isfinite(want) else sym.is_infinite


def _report(gain, eps, steps=12, cell="elman"):
    rng = np.random.default_rng(3)
    if cell == "lstm":
        net = spectra.LSTM.random(4, input_size=2, rng=rng)
    else:
        net = spectra.ElmanRNN(gain * spectra.init.orthogonal(4, rng=rng), rng.standard_normal((4, 2)))
    return spectra.bound_report(net.run(rng.standard_normal((steps, 2)), h0=0.1 * np.ones(net.n)),
                                eps=eps)


@pytest.mark.parametrize("gain", [0.3, 0.9, 1.5])
@pytest.mark.parametrize("eps", [1e-6, 1e-2, 0.5, 1.0, 1.5, 100.0])
def test_bound_report_horizons_follow_the_convention(gain, eps):
    rep = _report(gain, eps)
    assert rep.horizon_exact == _brute_measured(rep.exact, eps)
    assert rep.horizon_trajectory == _brute_measured(rep.trajectory, eps)
    g = rep.gamma_W * rep.gamma_h
    assert rep.horizon_classic == spectra.horizon(g * np.eye(2), "identity", eps)
    if eps > 1:          # lag 0, the identity, is below eps for every quantity: one answer
        assert rep.horizon_exact == rep.horizon_trajectory == rep.horizon_classic == 0
    # ordered quantities have ordered horizons (the classic one is a closed form, not limited to t)
    assert rep.horizon_exact <= rep.horizon_trajectory
    if rep.horizon_classic <= rep.t:
        assert rep.horizon_trajectory <= rep.horizon_classic


def test_horizon_words_say_what_inf_means():
    rep = _report(1.5, 1e-6)                        # gamma_W gamma_h = 1.5: the bound never falls
    assert rep.horizon_classic == math.inf and rep.horizon_exact == math.inf
    assert rep.horizon_text("exact") == "not within the 12 lags computed"
    assert rep.horizon_text("classic") == f"never (per-step bound {rep.gamma_W * rep.gamma_h:.6g} >= 1)"
    gated = _report(1.0, 1e-6, cell="lstm")
    assert gated.classic is None and gated.horizon_classic is None
    assert gated.horizon_text("classic") == "none (no classic bound)"
    assert gated.to_dict()["horizon_classic"] is None
    assert format_horizon(7) == "7" and format_horizon(0.0) == "0"
    with pytest.raises(ValueError, match="`which` must be one of"):
        rep.horizon_text("lower")


def test_leaky_comparison_follows_the_convention():
    cell = spectra.ElmanRNN(0.5 * np.eye(3), activation="identity")
    for eps in [1e-3, 1.0, 2.0]:
        cmp = spectra.leaky_comparison(cell, h0=np.ones(3), steps=30, alpha=0.5, eps=eps)
        assert cmp.horizon_standard == _brute_measured(cmp.log_norms_standard, eps)
        assert cmp.horizon_leaky == _brute_measured(cmp.log_norms_leaky, eps)
    assert cmp.horizon_standard == cmp.horizon_leaky == 0               # eps = 2 > 1


def _cli(argv):
    from spectra.cli import main

    out = io.StringIO()
    assert main(argv, out=out) == 0
    return out.getvalue()


@pytest.mark.parametrize("eps,words", [
    ("2", "exact 0, trajectory bound 0, classic bound 0"),     # eps > 1: one answer, not three
    ("1e-300", "exact not within the 20 lags computed, trajectory bound not within the 20 lags "
               "computed, classic bound"),
])
def test_cli_eps_prints_one_convention(eps, words):
    argv = ["bound", "--size", "4", "--steps", "20", "--gain", "0.9", "--eps", eps]
    text = _cli(argv)
    assert words in text and " inf" not in text
    data = json.loads(_cli(argv + ["--json"]))
    if eps == "2":
        assert data["horizon_exact"] == data["horizon_trajectory"] == data["horizon_classic"] == 0


def test_cli_gated_cell_has_no_classic_horizon():
    text = _cli(["bound", "--cell", "lstm", "--size", "3", "--steps", "10", "--eps", "0.5"])
    assert "classic bound none (no classic bound)" in text


def test_batched_report_has_one_horizon_per_run():
    cell = spectra.ElmanRNN(0.9 * np.eye(3))
    traj = cell.run(steps=30, h0=np.stack([np.ones(3), 1e-3 * np.ones(3)]))
    rep = spectra.bound_report(traj, eps=1e-2)
    want = [_brute_measured(rep.exact[i], 1e-2) for i in range(2)]
    assert list(rep.horizon_exact) == want and want[1] == math.inf   # 0.9^lag < 1e-2 from lag 44
    assert rep.horizon_text("exact") == f"{want[0]}; not within the 30 lags computed"
