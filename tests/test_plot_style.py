"""The shared paper style of spectra.plot."""

import numpy as np
import pytest

import spectra


def test_new_figures_have_paper_sizes_and_no_pyplot():
    import sys

    fig, ax = spectra.plot.figure_and_axes()
    assert tuple(fig.get_size_inches()) == pytest.approx((3.4, 0.75 * 3.4))
    fig, axes = spectra.plot.figure_and_axes(width="double", ncols=2, aspect=1.0)
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 3.5)) and len(axes) == 2
    assert "matplotlib.pyplot" not in sys.modules


def test_given_axes_are_used():
    fig, ax = spectra.plot.figure_and_axes()
    fig2, ax2 = spectra.plot.figure_and_axes(ax)
    assert fig2 is fig and ax2 is ax
    with pytest.raises(TypeError, match="`ax` must be a matplotlib Axes"):
        spectra.plot.figure_and_axes(ax="left")
    with pytest.raises(ValueError, match="`width` must be one of"):
        spectra.plot.figure_and_axes(width="triple")


def test_palette_is_okabe_ito_and_cycles():
    assert spectra.plot.color(0) == "#0072B2" and spectra.plot.color("orange") == "#E69F00"
    assert spectra.plot.color(8) == spectra.plot.color(0)


def test_save_writes_vector_pdf_and_png_deterministically(tmp_path):
    fig, ax = spectra.plot.figure_and_axes()
    ax.plot(np.arange(5), np.arange(5) ** 2, label="x^2")
    ax.legend()
    a = spectra.plot.save(fig, tmp_path / "a" / "fig")
    b = spectra.plot.save(fig, tmp_path / "b" / "fig")
    assert [p.suffix for p in a] == [".pdf", ".png"]
    assert a[0].read_bytes()[:5] == b"%PDF-" and a[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a[0].read_bytes() == b[0].read_bytes() and a[1].read_bytes() == b[1].read_bytes()


def test_saved_bytes_do_not_depend_on_the_formats_saved_before(tmp_path):
    # constrained layout re-runs at each draw from where the last one left it (measured with
    # that draw's renderer); save() lays the figure out once for all formats
    def figure():
        (fig,) = spectra.plot.build_figure("gradient_norms").values()
        return fig

    a = spectra.plot.save(figure(), tmp_path / "a", formats=("pdf", "png"), dpi=40)
    fig = figure()
    b = spectra.plot.save(fig, tmp_path / "b", formats=("png",), dpi=40)
    assert a[1].read_bytes() == b[0].read_bytes()
    assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"   # restored


def test_log_axis_switches_to_log10_values_beyond_float64():
    fig, ax = spectra.plot.figure_and_axes()
    f = spectra.plot.log_axis(ax, np.array([0.0, -50.0, -np.inf]), label="norm")
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "norm"
    np.testing.assert_allclose(f([0.0, -50.0]), [1.0, np.exp(-50.0)])
    assert np.isnan(f([-np.inf])[0])
    fig, ax = spectra.plot.figure_and_axes()
    f = spectra.plot.log_axis(ax, np.array([0.0, -800.0]), which="x")
    assert ax.get_xscale() == "linear"
    np.testing.assert_allclose(f([-800.0]), [-800.0 / np.log(10.0)])
    assert ax.xaxis.get_major_formatter()(-347.0, 0) == "$10^{-347}$"
