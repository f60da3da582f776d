"""Figures of depth profiles and spectra at depth, and the issue-10 part of the figure set."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import spectra
from spectra.plot import _deep


def _render(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    w, h = canvas.get_width_height()
    assert w > 100 and h > 50
    img = np.asarray(canvas.buffer_rgba())
    assert img.std() > 0                                    # something was drawn


@pytest.fixture(scope="module")
def small():
    mk = (lambda **kw: spectra.mlp_ensemble([6] * 5, samples=3, rng=0, **kw))
    profs = {"sigmoid": spectra.depth_profile(mk(activation="sigmoid"), quantity="vector"),
             "relu": spectra.depth_profile(mk(activation="relu", init="he_normal"), quantity="vector")}
    spec = {"orthogonal": spectra.depth_spectra(mk(init="orthogonal"), depths=[1, 2, 4]),
            "gaussian": spectra.depth_spectra(mk(init="gaussian"), depths=[1, 2, 4])}
    return profs, spec


def test_depth_profile_figure(small):
    profs, _ = small
    mf = spectra.mean_field("sigmoid", 4, weight_var=1.0).log_mean_square()
    fig = spectra.plot.depth_profile(profs, stat="log_mean_square", predictions={"sigmoid": mf})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "layers crossed back, $L - l$" and "log_{10}" in ax.get_ylabel()
    lines = ax.get_lines()
    assert len(lines) == 3 and lines[1].get_linestyle() == "--"   # sigmoid, its prediction, relu
    np.testing.assert_allclose(lines[0].get_ydata(), profs["sigmoid"].log_mean_square / np.log(10))
    np.testing.assert_allclose(lines[1].get_ydata(), mf / np.log(10))
    assert lines[1].get_color() == lines[0].get_color() != lines[2].get_color()
    assert len(ax.collections) == 2                          # the error bands
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sigmoid", "relu"]
    _render(fig)
    # into given axes; one profile; the mean of logs
    fig2, ax2 = spectra.plot.figure_and_axes()
    assert spectra.plot.depth_profile(profs["relu"], ax2, band=0) is fig2
    m = profs["relu"].mean / np.log(10)          # -inf: a width-6 ReLU net with a dead layer
    assert np.all(m == -np.inf)
    np.testing.assert_array_equal(ax2.get_lines()[0].get_ydata(), np.full(4, np.nan))  # not drawn
    assert not ax2.collections and ax2.get_legend() is None
    _render(fig2)


def test_depth_spectra_figures(small):
    _, spec = small
    theory = {"exact": ([1, 2, 4], [spectra.linear_gaussian_spread(d, 6) for d in (1, 2, 4)])}
    fig = spectra.plot.depth_spectra(spec, theory=theory)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "depth $d$"
    assert len(ax.get_lines()) == 3
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), spec["gaussian"].mean_spread)
    _render(fig)
    fig = spectra.plot.depth_spectra(spec, kind="spectrum", depth=2)
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    assert len(lines) == 2 and len(lines[0].get_xdata()) == 6
    np.testing.assert_allclose(lines[0].get_ydata(),
                               2 * spec["orthogonal"].log_singular_values[:, 1].mean(0) / np.log(10))
    assert "normalised rank" in ax.get_xlabel()
    _render(fig)


@pytest.mark.parametrize("call,exc,needle", [
    (lambda p, s: spectra.plot.depth_profile(s), TypeError, "entries must be DepthProfile"),
    (lambda p, s: spectra.plot.depth_profile(3), TypeError, "`profiles` must be a DepthProfile"),
    (lambda p, s: spectra.plot.depth_profile({}), ValueError, "must not be empty"),
    (lambda p, s: spectra.plot.depth_profile(p, stat="max"), ValueError, "`stat` must be"),
    (lambda p, s: spectra.plot.depth_profile(p, predictions={"x": [1]}), ValueError, "profile labels"),
    (lambda p, s: spectra.plot.depth_spectra(s, kind="pdf"), ValueError, "`kind` must be"),
    (lambda p, s: spectra.plot.depth_spectra(s, kind="spectrum", depth=3), ValueError, "computed depths"),
    (lambda p, s: spectra.plot.depth_spectra(s, kind="spectrum", theory={}), ValueError, "kind='spread'"),
    (lambda p, s: spectra.plot.depth_profile(p, ax="left"), TypeError, "`ax` must be"),
])
def test_bad_arguments(small, call, exc, needle):
    with pytest.raises(exc, match=needle):
        call(*small)


def test_figure_set_pieces_at_small_size(monkeypatch):
    import numpy as _np

    gen = _np.random.default_rng(0)
    fig = _deep._depth_profiles_figure(gen, width=6, depth=4, samples=3)
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 8      # 4 profiles + 4 predictions
    assert fig.axes[1].get_title() == "residual and normalised MLPs"
    _render(fig)
    fig = _deep._isometry_figure(gen, width=8, depth=8, samples=3)
    # spread against depth, then the densities for orthogonal and Gaussian weights
    assert len(fig.axes) == 3 and fig.axes[0].get_yscale() == "log"
    assert all(ax.patches and ax.get_lines() for ax in fig.axes[1:])
    _render(fig)
    # the whole set, with the heavy pieces at small size
    monkeypatch.setattr(_deep, "_depth_profiles_figure",
                        lambda g: _deep.__dict__["_isometry_figure"](g, width=6, depth=4, samples=2))
    monkeypatch.setattr(_deep, "_isometry_figure", lambda g, **kw: Figure())
    from spectra.plot import _monitor
    monkeypatch.setattr(_monitor, "figure_set", lambda g: {"gradient_monitor": Figure()})
    figs = _deep.figure_set(0)
    assert list(figs) == ["deep_depth_profiles", "deep_isometry", "gradient_monitor"]
    assert all(isinstance(f, Figure) for f in figs.values())
