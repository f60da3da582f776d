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


def test_depth_spectra_density_overlays_the_free_probability_density():
    """A linear Gaussian net of width 200 and depth 2: the pooled histogram of squared singular
    values against the Fuss-Catalan density.  Each bar of probability p over ~ S*n = 800
    values (correlated, so inflated 2x) has standard error < sqrt(p/800)*2/width."""
    ens = spectra.mlp_ensemble([200] * 3, samples=4, init="gaussian", activation="identity",
                               rng=3)
    sp = spectra.depth_spectra(ens, depths=[2])
    theory = spectra.jacobian_spectrum("identity", 2, weights="gaussian")
    x = np.linspace(0.05, 6.7, 60)
    fig = spectra.plot.depth_spectra({"linear Gaussian": sp}, kind="density", depth=2,
                                     theory={"free probability": (x, theory.density(x))})
    ax = fig.axes[0]
    line = [ln for ln in ax.get_lines() if ln.get_label() == "free probability"][0]
    assert np.allclose(line.get_ydata(), spectra.analysis.fuss_catalan_density(2, x), atol=1e-7)
    bars = ax.patches
    widths = np.array([b.get_width() for b in bars])
    heights = np.array([b.get_height() for b in bars])
    assert np.sum(widths * heights) == pytest.approx(1.0)
    centres = np.array([b.get_x() + b.get_width() / 2 for b in bars])
    inner = (centres > 0.5) & (centres < 6.0)            # away from the singularity at 0
    pred = spectra.analysis.fuss_catalan_density(2, centres[inner])
    se = 2 * np.sqrt(np.maximum(pred * widths[inner], 1e-3) / 800) / widths[inner]
    assert np.all(np.abs(heights[inner] - pred) < 4 * se + 0.02)
