"""parameter_lag_figure: what it draws is the lag decomposition of bptt_gradient."""

import sys

import numpy as np
import pytest

import spectra

plot = pytest.importorskip("spectra.plot")


def _lines(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


@pytest.fixture
def lstm_results(rng):
    x = rng.standard_normal((25, 2))
    y = rng.standard_normal((25, 1))
    V = rng.standard_normal((1, 4))
    base = spectra.LSTM.random(4, input_size=2, rng=0).parameters()
    out = {}
    for g in (1.0, 4.0):
        cell = spectra.LSTM(base["weight_ih"], g * base["weight_hh"], base["bias_ih"], base["bias_hh"])
        out[f"gain {g:g}"] = spectra.bptt_gradient(cell, x, y, V, loss="squared", decompose=True)
    return out


def test_lines_are_the_lag_norms_of_the_recurrent_matrix(lstm_results):
    fig = plot.parameter_lag_figure(lstm_results)
    ax, = fig.axes
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "lag t - k"
    # by default only the recurrent matrix, one line per result
    assert [ln.get_label() for ln in _lines(ax)] == ["gain 1", "gain 4"]
    for ln, r in zip(_lines(ax), lstm_results.values()):
        want = r.lag_norms_by_param["weight_hh"]
        np.testing.assert_array_equal(ln.get_xdata(), np.arange(25))
        np.testing.assert_allclose(ln.get_ydata(), np.where(want > 0, want, np.nan))
    ticks = [t for t in ax.yaxis.get_majorticklocs() if t > 0]
    assert ticks and np.allclose(np.log10(ticks), np.round(np.log10(ticks)))   # whole decades


def test_chosen_parameters_get_line_styles_and_labels(lstm_results):
    r = lstm_results["gain 1"]
    fig = plot.parameter_lag_figure({"net": r}, parameters=["weight_hh", "weight_ih"])
    lines = _lines(fig.axes[0])
    assert [ln.get_label() for ln in lines] == ["net: weight_hh", "net: weight_ih"]
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    np.testing.assert_allclose(lines[1].get_ydata(), r.lag_norms_by_param["weight_ih"])


def test_bad_input(lstm_results, rng):
    r = lstm_results["gain 1"]
    with pytest.raises(ValueError, match=r"`parameters` names \['W_hh'\]"):
        plot.parameter_lag_figure(r, parameters=["W_hh"])
    with pytest.raises(TypeError, match="`parameters` must be a list"):
        plot.parameter_lag_figure(r, parameters="weight_hh")
    plain = spectra.bptt_gradient(spectra.LSTM.random(3, input_size=2, rng=0), rng.standard_normal((5, 2)),
                                  np.zeros((5, 1)), np.ones((1, 3)), loss="squared")
    with pytest.raises(ValueError, match="decompose=True"):
        plot.parameter_lag_figure(plain)
    with pytest.raises(TypeError, match="BPTTGradient"):
        plot.parameter_lag_figure([1.0])


def test_the_figure_set_builds_lstm_lags():
    assert "lstm_lags" in plot.figure_names()
    figs = plot.build_figure("lstm_lags", rng=0)
    (fig,) = figs.values()
    lines = _lines(fig.axes[0])
    assert [ln.get_label() for ln in lines] == ["gain 1", "gain 3", "gain 6"]
    for ln in lines:
        y = np.asarray(ln.get_ydata())
        assert y.shape == (80,) and y[0] > 0 and np.nanmax(y) < np.inf
    assert "matplotlib.pyplot" not in sys.modules
