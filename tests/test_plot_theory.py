"""The theory overlays of the Lyapunov and phase-diagram figures, checked on their artists."""

import numpy as np
import pytest

import spectra

pytest.importorskip("matplotlib")


def test_lyapunov_exponents_draws_the_mean_field_line():
    J = np.random.default_rng(0).standard_normal((300, 6, 6)) * (2.0 / np.sqrt(6))
    res = {"gain 2": spectra.lyapunov_spectrum(J)}
    lam = spectra.recurrent_mean_field(2.0, "identity", 0.0, q0=1.0).lyapunov_max   # log 2
    fig = spectra.plot.lyapunov_exponents(res, theory={"gain 2": lam})
    dashed = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1
    assert np.allclose(dashed[0].get_ydata(), np.log(2.0))
    assert dashed[0].get_label() == "theory: gain 2"


def test_phase_diagram_marks_the_edge_of_chaos():
    table = {"gain": [0.5, 1.0, 2.0, 0.5, 1.0, 2.0], "activation": ["tanh"] * 3 + ["relu"] * 3,
             "regime": ["vanishing guaranteed"] * 2 + ["exploding possible"]
             + ["undetermined"] * 3,
             "measured": [-0.7, -0.1, 0.2, -0.5, -0.2, 0.3], "stderr": [0.01] * 6}
    gc = {"tanh": spectra.edge_of_chaos("tanh", 0.5), "relu": spectra.edge_of_chaos("relu"),
          "sigmoid": 1.0, }
    fig = spectra.plot.phase_diagram(table, theory=gc)
    bars = [ln for ln in fig.axes[0].get_lines() if ln.get_linewidth() == 1.4]
    assert len(bars) == 2                        # sigmoid is not a row of the table
    x_tanh = 1 + (gc["tanh"] - 1.0) / 1.0        # columns 0.5, 1, 2 at positions 0, 1, 2
    x_relu = 1 + (np.sqrt(2) - 1.0) / 1.0
    assert np.allclose(bars[0].get_xdata(), x_tanh) and np.allclose(bars[0].get_ydata(), [-0.42, 0.42])
    assert np.allclose(bars[1].get_xdata(), x_relu) and np.allclose(bars[1].get_ydata(), [0.58, 1.42])
    assert bars[0].get_label() == "mean-field $g_c$"
