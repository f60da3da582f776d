"""The LRU figures, tested on what they draw: the ring and the curse of memory."""

import math

import numpy as np
import pytest

import spectra
from spectra import plot
from spectra.analysis import curse_of_memory


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_lru_eigenvalues_draws_the_eigenvalues_and_three_circles():
    cell = spectra.LRU.random(40, r_min=0.5, r_max=0.9, max_phase=math.pi / 2, rng=0)
    fig = plot.lru_eigenvalues(cell)
    ax = fig.axes[0]
    lines = _lines(ax)
    pts = lines[r"$\lambda_j$"]
    np.testing.assert_array_equal(pts.get_xdata(), cell.lam.real)
    np.testing.assert_array_equal(pts.get_ydata(), cell.lam.imag)
    radii = sorted(float(np.hypot(l.get_xdata(), l.get_ydata()).mean())
                   for name, l in lines.items() if name != r"$\lambda_j$")
    np.testing.assert_allclose(radii, [np.abs(cell.lam).min(), np.abs(cell.lam).max(), 1.0],
                               rtol=1e-12)
    fig = plot.lru_eigenvalues(cell.lam, r_min=0.5, r_max=0.9)
    assert r"$r_{\mathrm{min}} = 0.5$" in _lines(fig.axes[0])
    with pytest.raises(TypeError, match="`cell`"):
        plot.lru_eigenvalues("lru")


def test_curse_of_memory_figure_draws_measurements_against_theory():
    lams = (0.5, 0.8, 0.9)
    fig = plot.curse_of_memory_figure(lams, replicas=24, rng=1)
    ax_lam, ax_nu = fig.axes[:2]
    for ax in (ax_lam, ax_nu):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        ticks = ax.yaxis.get_major_locator().tick_values(1e-1, 1e3)
        np.testing.assert_allclose(np.log10(ticks), np.round(np.log10(ticks)))   # whole decades
    lines = _lines(ax_lam)
    for norm, tag in (("none", r"$\gamma = 1$"), ("tied", r"$\gamma = \sqrt{1-\lambda^2}$")):
        line = lines[rf"$E[(\partial h/\partial\lambda)^2]$, {tag}"]
        x = np.asarray(line.get_xdata())
        th = curse_of_memory(1 - x, normalization=norm)
        np.testing.assert_allclose(line.get_ydata(), th.sensitivity, rtol=1e-12)
        np.testing.assert_allclose(lines[rf"$E[h^2]$, {tag}"].get_ydata(), th.state_variance,
                                   rtol=1e-12)
        nu = _lines(ax_nu)[rf"$E[(\partial h/\partial\nu)^2]$, {tag}"]
        np.testing.assert_allclose(nu.get_ydata(), curse_of_memory(
            1 - np.asarray(nu.get_xdata()), normalization=norm, parameter="nu").sensitivity,
            rtol=1e-12)
    # the measured points are the Monte-Carlo means, drawn at 1 - lambda (same generator)
    gen = np.random.default_rng(1)
    data = {norm: plot.measure_curse_of_memory(lams, normalization=norm, replicas=24, rng=gen)
            for norm in ("none", "tied")}
    drawn = [l for l in ax_lam.get_lines() if l.get_linestyle() == "None" and l.get_marker() == "o"]
    assert len(drawn) == 2
    for line, norm in zip(drawn, ("none", "tied")):
        np.testing.assert_allclose(line.get_xdata(), 1 - np.array(lams), rtol=1e-15)
        np.testing.assert_allclose(line.get_ydata(), data[norm]["dlam2"], rtol=1e-12)
    # and they agree with the theory within 5 standard errors
    for norm, m in data.items():
        th = curse_of_memory(np.array(lams), normalization=norm)
        assert np.all(np.abs(m["dlam2"] - th.sensitivity) < 5 * m["dlam2_se"])
        assert np.all(np.abs(m["h2"] - th.state_variance) < 5 * m["h2_se"])


def test_curse_of_memory_figure_bad_arguments():
    with pytest.raises(ValueError, match="`lams`"):
        plot.measure_curse_of_memory([1.0])
    with pytest.raises(ValueError, match="`normalization`"):
        plot.measure_curse_of_memory([0.5], normalization="fixed")
    with pytest.raises(ValueError, match="`replicas`"):
        plot.measure_curse_of_memory([0.5], replicas=1)
    with pytest.raises(TypeError, match="`axes`"):
        plot.curse_of_memory_figure((0.5,), replicas=2, axes="ax")


def test_the_lru_figures_are_in_the_figure_set():
    assert "lru" in plot.figure_names()
