"""Figures of a GradientMonitor history, and the monitored toy training of the README."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import spectra
from spectra.monitor import GradientMonitor
from spectra.plot import _monitor


def _render(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert np.asarray(canvas.buffer_rgba()).std() > 0


@pytest.fixture
def mon():
    m = GradientMonitor(every=1, explode_factor=5.0, vanish_factor=5.0)
    for s, scale in enumerate([1.0, 1.1, 0.9, 20.0, 0.1, 1.0]):
        m.record(s, {"W1": np.full(3, 0.01 * scale), "W2": np.full(3, 0.1 * scale), "W3": np.full(2, scale)})
    m.record(6, {"W1": np.array([np.nan]), "W2": np.ones(1), "W3": np.ones(1)})
    return m


def test_history_figure(mon):
    fig = mon.plot("history")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "training step" and ax.get_ylabel() == "gradient norm"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:4] == ["W1", "W2", "W3", "total"] and {"explode", "vanish", "non-finite"} <= set(labels)
    w3 = [ln for ln in ax.get_lines() if ln.get_label() == "W3"][0]
    np.testing.assert_allclose(w3.get_ydata(), [np.sqrt(2) * s for s in [1.0, 1.1, 0.9, 20.0, 0.1, 1.0, 1.0 / np.sqrt(2)]])
    w1 = [ln for ln in ax.get_lines() if ln.get_label() == "W1"][0]
    assert len(w1.get_xdata()) == 6                      # the NaN step is left out of the line ...
    vlines = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert len(vlines) == 1 and vlines[0].get_xdata()[0] == 6    # ... and marked instead
    _render(fig)


def test_layers_and_summary_figures(mon):
    fig = spectra.plot.monitor_layers(mon, at_steps=[0, 3])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["W1", "W2", "W3"]
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[1].get_ydata(), [20 * 0.01 * np.sqrt(3), 20 * 0.1 * np.sqrt(3), 20 * np.sqrt(2)])
    _render(fig)
    fig = mon.plot()
    assert len(fig.axes) == 2 and tuple(fig.get_size_inches()) == pytest.approx((7.0, 2.45))
    _render(fig)
    fig2, ax2 = spectra.plot.figure_and_axes()
    assert mon.plot("layers", ax=ax2) is fig2


def test_lags_figure(rng):
    m = GradientMonitor(top_k=1)
    cell = spectra.ElmanRNN(spectra.init.gaussian(5, gain=0.8, rng=rng))
    for s in range(3):
        m.record(s, trajectory=cell.run(h0=rng.standard_normal(5), steps=10))
    fig = m.plot("lags")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3 and len(lines[0].get_xdata()) == 10
    np.testing.assert_allclose(lines[2].get_ydata(), m.history[2].lag_log_norms / np.log(10))
    _render(fig)


@pytest.mark.parametrize("call,exc,needle", [
    (lambda m: spectra.plot.monitor_history("m"), TypeError, "must be a spectra.monitor.GradientMonitor"),
    (lambda m: spectra.plot.monitor_layers(m, at_steps=[99]), ValueError, "must be recorded steps"),
    (lambda m: spectra.plot.monitor_lags(m), ValueError, "recorded no trajectory"),
    (lambda m: m.plot("pie"), ValueError, "`kind` must be one of"),
    (lambda m: m.plot(ax=spectra.plot.figure_and_axes()[1]), ValueError, "two panels"),
])
def test_bad_arguments(mon, call, exc, needle):
    with pytest.raises(exc, match=needle):
        call(mon)


def test_toy_training_flags_the_planted_learning_rate_mistake(monkeypatch):
    m = _monitor.toy_training(0, steps=230)
    assert m.steps == list(range(0, 230, 10))
    s, total = m.series("total")
    assert np.all(np.isfinite(total)) and total[s < 200].max() < 10
    first = [e for e in m.events if e.kind == "explode" and e.step >= 200]
    assert first and first[0].step == 210                   # caught at the first recording after
    vanished = {e.name for e in m.events if e.kind == "vanish" and e.step == 220}
    assert vanished == {"W1", "W2", "W3", "W4"}             # saturated tanh units: exactly 0
    monkeypatch.setattr(_monitor, "toy_training", lambda rng: m)
    figs = _monitor.figure_set(0)
    assert list(figs) == ["gradient_monitor"] and isinstance(figs["gradient_monitor"], Figure)
    assert len(figs["gradient_monitor"].axes) == 2
