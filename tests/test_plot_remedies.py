"""Figures of the remedies: each function on small data, and the deterministic figure set."""

import sys

import numpy as np
import pytest

import spectra
from spectra import init

plot = pytest.importorskip("spectra.plot")


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    n, T = 5, 12
    x = rng.standard_normal((T, 2))
    tg = rng.integers(0, 3, T)
    V = rng.standard_normal((3, n))
    cells = {g: spectra.ElmanRNN(init.orthogonal(n, gain=g, rng=1), rng.standard_normal((n, 2)))
             for g in (0.7, 1.2)}
    return dict(n=n, T=T, x=x, tg=tg, V=V, cells=cells, rng=rng)


def _lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_label() and not ln.get_label().startswith("_")]


def test_bptt_lag_figure(small):
    res = {f"gain {g}": spectra.bptt_gradient(c, small["x"], small["tg"], small["V"], decompose=True)
           for g, c in small["cells"].items()}
    fig = plot.bptt_lag_figure(res)
    ax, = fig.axes
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "lag t - k"
    assert [ln.get_label() for ln in _lines(ax)] == ["gain 0.7", "gain 1.2"]
    ln = res["gain 0.7"].lag_norms                   # h_0 = 0: the last lag adds exactly 0
    assert ln[-1] == 0 and np.all(ln[:-1] > 0)
    np.testing.assert_allclose(_lines(ax)[0].get_ydata(), np.where(ln > 0, ln, np.nan))
    with pytest.raises(ValueError, match="decompose=True"):
        plot.bptt_lag_figure(spectra.bptt_gradient(small["cells"][0.7], small["x"], small["tg"], small["V"]))
    with pytest.raises(TypeError, match="BPTTResult"):
        plot.bptt_lag_figure([1.0])


def test_clipping_figure_two_panels_and_given_axes(small):
    gs = [small["rng"].standard_normal(6) * s for s in (0.1, 1.0, 10.0)]
    nr = [spectra.clip_by_norm(g, 1.0) for g in gs]
    vr = [spectra.clip_by_value(g, 0.5) for g in gs]
    fig = plot.clipping_figure(nr, vr)
    a0, a1 = fig.axes
    assert a0.get_ylabel() == "norm of the clipped update" and a1.get_ylabel() == "cosine(clipped, g)"
    assert [ln.get_label() for ln in _lines(a1)] == ["norm clipping", "value clipping"]
    np.testing.assert_allclose(_lines(a1)[0].get_ydata(), 1.0)
    f2, axes = plot.figure_and_axes(ncols=2)
    assert plot.clipping_figure(nr, ax=axes) is f2
    with pytest.raises(ValueError, match="pair of Axes"):
        plot.clipping_figure(nr, ax=[axes[0]])


def test_regularizer_and_truncation_figures(small):
    c = small["cells"][0.7]
    reg = spectra.vanishing_regularizer(c, small["x"], small["tg"], small["V"])
    fig = plot.regularizer_figure({"net": reg})
    ax, = fig.axes
    assert _lines(ax)[0].get_label().startswith("net ($\\Omega$ = ")
    np.testing.assert_allclose(_lines(ax)[0].get_ydata(), reg.ratios)
    tr = spectra.truncated_bptt_error(c, small["x"], small["tg"], small["V"])
    fig = plot.truncation_figure(tr)
    ax, = fig.axes
    y = _lines(ax)[0].get_ydata()
    np.testing.assert_array_equal(np.isnan(y), tr.relative_errors == 0)   # exact zeros: gaps
    assert tr.relative_errors[-1] == 0
    assert ax.get_yscale() == "log"


def test_penalty_and_spectral_control_figures(small):
    W = init.gaussian(6, gain=1.5, rng=2)
    paths = {"L2": spectra.penalty_path(W, "tanh", l2=0.05, steps=30),
             "L1": spectra.penalty_path(W, "tanh", l1=0.01, steps=30)}
    fig = plot.penalty_figure(paths)
    ax, = fig.axes
    assert [ln.get_label() for ln in _lines(ax)] == ["L2", "L1", r"$1/\gamma_h$"]
    fig = plot.spectral_control_figure({"rho": spectra.spectral_control(W, 0.9)})
    ax, = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["before", "rho"]
    assert len(ax.patches) == 4


def test_echo_state_leaky_and_teacher_forcing_figures(small):
    c = small["cells"][0.7]
    chk = spectra.echo_state_check(c, small["x"], rng=0)
    ax, = plot.echo_state_figure({"esn": chk}).axes
    assert len(ax.get_lines()) == 2                               # distance and its bound
    cmp = spectra.leaky_comparison(c, small["x"], rng=0)
    ax, = plot.leaky_figure(cmp).axes
    assert _lines(ax)[0].get_label() == r"standard ($\alpha = 0$)" and len(_lines(ax)) == 2
    tf = spectra.teacher_forcing_comparison(c, np.ones((2, small["n"])), steps=10)
    ax, = plot.teacher_forcing_figure(tf).axes
    assert len(_lines(ax)) == 2 and ax.get_xlabel() == "lag"


def test_figure_set_is_deterministic_and_complete():
    from spectra.plot._remedies import figure_set

    a = figure_set(1)
    assert sorted(a) == sorted(["remedy_bptt_lags", "remedy_clipping", "remedy_regularizer",
                                "remedy_truncation", "remedy_penalties", "remedy_spectral_control",
                                "remedy_echo_state", "remedy_leaky", "remedy_teacher_forcing"])
    b = figure_set(1)
    for key in a:
        la = [ln.get_ydata() for ax in a[key].axes for ln in ax.get_lines()]
        lb = [ln.get_ydata() for ax in b[key].axes for ln in ax.get_lines()]
        assert len(la) == len(lb) and all(np.array_equal(p, q, equal_nan=True) for p, q in zip(la, lb))
    assert "matplotlib.pyplot" not in sys.modules
    assert plot.remedies_figure_set is figure_set
