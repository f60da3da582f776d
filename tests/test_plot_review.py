"""The reviewer's fixable figures (issue 18, item 9), tested on what is drawn, never on pixels.

Decade ticks, line styles and markers, legend texts and their places, label strings, the
positions of phase-diagram cells: each checked on the artists against an independent truth
(the results' own numbers, brute-force tick enumeration, geometry in display coordinates).
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import spectra

plot = pytest.importorskip("spectra.plot")


# -- ticks at whole decades -------------------------------------------------------------------

def _nice_strides():
    k = 1
    while True:
        for m in (1, 2, 5):
            yield m * k
        k *= 10


def _brute_decades(lo, hi, max_ticks):
    """The exponents the rule asks for: the decades in [lo, hi] that are multiples of the smallest
    stride of 1, 2, 5, 10, ... leaving at most max_ticks of them (found by enumeration)."""
    ks = [k for k in range(math.floor(lo) - 1, math.ceil(hi) + 2) if lo - 1e-9 <= k <= hi + 1e-9]
    for s in _nice_strides():
        picked = [k for k in ks if k % s == 0]
        if len(picked) <= max_ticks:
            return picked


@pytest.mark.parametrize("lo, hi", [(-29, 11), (-16, 0.7), (-3, 4), (0.2, 0.9), (-2000.5, 3),
                                    (-7.3, -7.1), (5, 305)])
def test_decade_ticks_are_whole_decades_at_multiples_of_the_stride(lo, hi):
    fig, ax = plot.figure_and_axes()
    ax.set_yscale("log")
    loc = plot.decade_ticks(ax)
    if hi < 300 and lo > -300:
        got = np.log10(loc.tick_values(10.0 ** lo, 10.0 ** hi))
        np.testing.assert_allclose(got, np.round(got), atol=1e-12)        # 10^k, k whole
        want = _brute_decades(lo, hi, 9)
        if want:
            assert np.round(got).astype(int).tolist() == want
    lin = plot.decade_ticks(ax, "x", exponents=True, max_ticks=6)         # log10 data on a linear axis
    got = lin.tick_values(lo, hi)
    want = _brute_decades(lo, hi, 6)
    if want:
        assert got.astype(int).tolist() == want


def test_decade_ticks_bad_arguments():
    fig, ax = plot.figure_and_axes()
    with pytest.raises(ValueError, match="`which` must be 'x' or 'y'; got 'z'"):
        plot.decade_ticks(ax, "z")
    with pytest.raises(ValueError, match="`max_ticks` must be an integer >= 2; got 1"):
        plot.decade_ticks(ax, max_ticks=1)


def test_every_log_axis_of_the_plot_package_goes_through_decade_ticks():
    """A source check: each `set_?scale("log")` is followed at once by decade_ticks on that axis."""
    root = Path(spectra.__file__).parent / "plot"
    found = 0
    for path in sorted(root.glob("*.py")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if ">>>" in line:                                            # doctest examples
                continue
            m = re.search(r'(\w+)\.set_([xy])scale\("log"\)', line) or \
                re.search(r'set_scale\("log"\)', line)
            if not m:
                continue
            found += 1
            nxt = lines[i + 1].strip()
            if m.re.pattern.startswith("set_scale"):                   # log_axis itself
                assert nxt == "decade_ticks(ax, which)", f"{path.name}:{i + 1}"
            else:
                assert nxt == f'decade_ticks({m.group(1)}, "{m.group(2)}")', f"{path.name}:{i + 1}: {nxt}"
    assert found >= 10


def _assert_decade_ticks(ax, which="y"):
    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = sorted(axis.get_view_interval())
    locs = np.array([v for v in axis.get_majorticklocs() if lo <= v <= hi])
    assert locs.size >= 2
    k = np.log10(locs) if (ax.get_yscale() if which == "y" else ax.get_xscale()) == "log" else locs
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    k = np.round(k).astype(int)
    steps = set(np.diff(k).tolist())
    assert len(steps) == 1
    (s,) = steps
    assert s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) and np.all(k % s == 0)


# -- gradient_norms -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built():
    """The registered figures this file checks, built once with the figure set's default seed."""
    out = {}
    for name in ("gradient_norms", "singular_values", "remedies"):
        out.update(plot.build_figure(name, seed=0))
    return out


def _line_points_px(ax):
    """Every drawn vertex of every data line of ``ax`` in display coordinates, with half its width."""
    pts = []
    for ln in ax.get_lines():
        xy = np.column_stack([ln.get_xdata(), ln.get_ydata()]).astype(float)
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if xy.size:
            px = ax.transData.transform(xy)
            lo, hi = ax.bbox.extents[:2], ax.bbox.extents[2:]
            px = px[np.all((px >= lo) & (px <= hi), axis=1)]          # what is inside the axes
            pts.append((px, ln.get_linewidth() * ax.figure.dpi / 72 / 2))
    return pts


def _legends(ax):
    return [a for a in ax.get_children() if type(a).__name__ == "Legend"]


def _assert_legends_clear_of_lines(ax):
    ax.figure.draw_without_rendering()
    for leg in _legends(ax):
        box = leg.get_window_extent()
        for px, half in _line_points_px(ax):
            inside = ((px[:, 0] > box.x0 - half) & (px[:, 0] < box.x1 + half)
                      & (px[:, 1] > box.y0 - half) & (px[:, 1] < box.y1 + half))
            assert not np.any(inside), [t.get_text() for t in leg.get_texts()]


def test_gradient_norms_trajectory_bound_differs_from_the_classic_band(built):
    fig = built["gradient_norms"]
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata())]
    classic = [ln for ln in lines if ln.get_linewidth() == 3.0]
    trajectory = [ln for ln in lines if ln.get_linestyle() == "--"]
    assert len(classic) == len(trajectory) == 3
    for ln in trajectory:       # dashed, opaque, open markers: readable where it lies in the band
        assert ln.get_marker() == "o" and ln.get_markerfacecolor() == "white" and ln.get_alpha() == 1.0
        every = ln.get_markevery()
        assert 5 <= len(ln.get_xdata()[every[0]::every[1]]) <= 12
    for ln in classic:
        assert ln.get_marker() in ("None", None, "") and ln.get_alpha() == 0.3
    _assert_decade_ticks(ax)
    _assert_legends_clear_of_lines(ax)
    legends = _legends(ax)
    texts = [[t.get_text() for t in leg.get_texts()] for leg in legends]
    assert ["exact", "trajectory bound", "classic bound"] in texts
    assert ["gain 0.8", "gain 1", "gain 1.25"] in texts
    # the style legend sits above the axes
    fig.draw_without_rendering()
    style = legends[texts.index(["exact", "trajectory bound", "classic bound"])]
    assert style.get_window_extent().y0 >= ax.bbox.y1 - 1e-6
    handles = style.legend_handles
    assert handles[1].get_marker() == "o" and handles[2].get_marker() in ("None", None, "")


def test_log_axis_beyond_float64_range_ticks_at_multiples_of_the_stride():
    logs = np.linspace(0.0, -2000.0 * np.log(10.0), 50)   # 10^0 .. 10^-2000
    fig, ax = plot.figure_and_axes()
    to_plot = plot.log_axis(ax, logs)
    ax.plot(np.arange(50), to_plot(logs))
    fig.draw_without_rendering()
    assert ax.get_yscale() == "linear"
    _assert_decade_ticks(ax)
    assert ax.yaxis.get_major_formatter()(-1000.0, 0) == "$10^{-1000}$"


# -- singular values -----------------------------------------------------------------------------

def test_singular_value_spectra_give_each_lag_its_own_marker():
    J = 1.2 * np.random.default_rng(0).standard_normal((64, 6, 6)) / np.sqrt(6)
    fig = plot.singular_value_spectra(J, [1, 2, 4, 8, 16, 32, 64])
    markers = [ln.get_marker() for ln in fig.axes[0].get_lines()]
    assert len(set(markers)) == len(markers) == 7


def test_singular_values_figure_keeps_lags_apart(built):
    fig = built["singular_values"]
    left, right = fig.axes
    # left: sigma_i itself for the short lags on a true log axis (no line flattened at 10^0)
    assert left.get_yscale() == "log"
    assert [ln.get_label() for ln in left.get_lines()] == ["lag 1", "lag 4", "lag 16"]
    _assert_decade_ticks(left)
    spans = [np.ptp(np.log10(ln.get_ydata())) for ln in left.get_lines()]
    lo, hi = np.log10(left.get_ylim())
    assert min(spans) > 0.02 * (hi - lo)           # each lag's spread is visible on the axis
    # right: the Lyapunov curve is a light band beneath every lag line, the long lags on top
    lags = {ln.get_label(): ln for ln in right.get_lines() if ln.get_label().startswith("lag")}
    assert set(lags) == {f"lag {k}" for k in (1, 4, 16, 64, 256, 1024)}
    (band,) = [ln for ln in right.get_lines() if ln.get_label().startswith("Lyapunov")]
    assert band.get_linewidth() >= 4 and band.get_alpha() < 0.6
    assert all(band.get_zorder() < ln.get_zorder() for ln in lags.values())
    assert len({ln.get_marker() for ln in lags.values()}) == 6
    assert [t.get_text() for t in right.get_legend().get_texts()][-1] == band.get_label()
    # titles say what each panel shows; the setup goes in the figure's title
    assert left.get_title().startswith("(a)") and "short lags" in left.get_title()
    assert right.get_title().startswith("(b)") and r"\lambda_i" in right.get_title()
    assert "gain 1.5" in fig._suptitle.get_text() and "n = 32" in fig._suptitle.get_text()


# -- remedies ------------------------------------------------------------------------------------

def test_clipping_threshold_is_marked(built):
    rng = np.random.default_rng(1)
    gs = [rng.standard_normal(6) * s for s in (0.1, 1.0, 10.0, 100.0)]
    c = 2.5
    nr = [spectra.clip_by_norm(g, c) for g in gs]
    for fig in (plot.clipping_figure(nr), plot.clipping_figure(nr, threshold=c)):
        a0, a1 = fig.axes
        (h,) = [ln for ln in a0.get_lines() if ln.get_label().startswith("threshold")]
        np.testing.assert_allclose(h.get_ydata(), c)
        assert h.get_label() == "threshold $c = 2.5$"
        for a in (a0, a1):
            v = [ln for ln in a.get_lines() if np.allclose(ln.get_xdata(), c) and ln.get_linestyle() == "--"]
            assert len(v) == 1
        assert "threshold $c = 2.5$" in [t.get_text() for t in a0.get_legend().get_texts()]
    # nothing clipped and no threshold given: no mark
    fig = plot.clipping_figure([spectra.clip_by_norm(gs[0], 1e6)])
    assert not [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("threshold")]
    with pytest.raises(ValueError, match="`threshold`"):
        plot.clipping_figure(nr, threshold=-1.0)
    # the registered figure: the line sits at the clipped norms, labelled in powers of ten
    a0, _ = built["remedies-clipping"].axes
    (h,) = [ln for ln in a0.get_lines() if ln.get_label().startswith("threshold")]
    clipped = [ln for ln in a0.get_lines() if ln.get_label() == "norm clipping"][0]
    np.testing.assert_allclose(h.get_ydata()[0], np.max(clipped.get_ydata()), rtol=1e-12)
    assert r"\times 10^{" in h.get_label()
    _assert_decade_ticks(a0, "x")
    _assert_decade_ticks(a0, "y")


def test_echo_state_legend_has_the_bound_and_the_rounding_floor_off_the_curves(built):
    ax = built["remedies-echo_state"].axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[-2:] == [r"contraction bound $(\gamma_W\gamma_h)^t d_0$",
                          r"float64 rounding floor ($\epsilon = 2^{-52}$)"]
    (floor,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-."]
    np.testing.assert_allclose(floor.get_ydata(), 2.0 ** -52)
    ax.figure.draw_without_rendering()
    assert ax.get_legend().get_window_extent().x0 >= ax.bbox.x1      # right of the axes
    _assert_legends_clear_of_lines(ax)
    _assert_decade_ticks(ax)
    # runs that stay far above the floor: no floor line, no entry
    cell = spectra.ElmanRNN(2.0 * np.eye(3), np.ones((3, 1)))
    chk = spectra.remedies.echo_state_check(cell, np.zeros((20, 1)), rng=0)
    a = plot.echo_state_figure({"expanding": chk}).axes[0]
    assert not [ln for ln in a.get_lines() if ln.get_linestyle() == "-."]
    assert not any("floor" in t.get_text() for t in a.get_legend().get_texts())


def test_spectral_control_y_label_names_both_quantities(built):
    ax = built["remedies-spectral_control"].axes[0]
    label = ax.get_ylabel()
    assert label != "value" and r"\rho(W_{hh})" in label and r"\gamma_W" in label
    bars = [p.get_height() for p in ax.patches]
    assert len(bars) == 6


# -- deep isometry and transient growth ------------------------------------------------------------

def test_depth_spectrum_x_label_defines_i_and_m():
    spec = spectra.depth_spectra(spectra.mlp_ensemble([4] * 3, samples=2, rng=0), depths=[1, 2])
    label = plot.depth_spectra(spec, kind="spectrum").axes[0].get_xlabel()
    assert "$i/m$" in label and "$i$-th largest" in label and "$m$ the width" in label


def test_transient_peak_line_is_labelled():
    A = np.array([[0.5, 10.0], [0.0, 0.5]])
    g = spectra.transient_growth(A, steps=30)
    ax = plot.transient_growth_curves(g).axes[0]
    (peak,) = [ln for ln in ax.get_lines() if np.allclose(ln.get_xdata(), g.peak_step)]
    (text,) = [t for t in ax.texts if t.get_text().startswith("peak")]
    assert text.xy[0] == g.peak_step
    # the label's number is the peak itself: max_t ||A^t||_2 by direct powers
    direct = max(np.linalg.norm(np.linalg.matrix_power(A, t), 2) for t in range(31))
    assert text.get_text() == f"peak {direct:.3g} at $t = {g.peak_step}$"
    _assert_decade_ticks(ax)
