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
