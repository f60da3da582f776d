"""Figures of non-normality, on small data."""

import numpy as np
import pytest

import spectra

A = np.array([[0.5, 10.0], [0.0, 0.5]])


def test_pseudospectra_contours():
    ps = spectra.pseudospectra(A, resolution=41, levels=[1e-2, 1e-1])
    fig = spectra.plot.pseudospectra_contours(ps)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Re z" and ax.get_ylabel() == "Im z"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_allclose(lines["eigenvalues"].get_xdata(), [0.5, 0.5])
    circle = lines["|z| = 1"]
    np.testing.assert_allclose(np.hypot(circle.get_xdata(), circle.get_ydata()), 1.0)
    # both eps-levels are drawn (one contour set, two levels)
    sets = [c for c in ax.collections if hasattr(c, "levels")]
    np.testing.assert_allclose(sets[0].levels, [-2.0, -1.0])


def test_transient_growth_curves_into_given_axes():
    g = spectra.transient_growth(A, steps=70)
    gN = spectra.transient_growth(spectra.normal_counterpart(A), steps=70)
    fig0, ax0 = spectra.plot.figure_and_axes()
    fig = spectra.plot.transient_growth_curves(g, gN, ax=ax0)
    assert fig is fig0
    lines = {ln.get_label(): ln for ln in ax0.get_lines() if not ln.get_label().startswith("_")}
    assert set(lines) == {r"$\|W^t\|$ (non-normal)", r"$\|V^t\|$ (normal, same spectrum)",
                          r"$\rho^t$", r"$\|W\|^t$"}
    y = lines[r"$\|W^t\|$ (non-normal)"].get_ydata()
    assert y[5] == pytest.approx(np.linalg.norm(np.linalg.matrix_power(A, 5), 2), rel=1e-12)
    assert ax0.get_yscale() == "log"
    np.testing.assert_allclose(lines[r"$\|V^t\|$ (normal, same spectrum)"].get_ydata(),
                               lines[r"$\rho^t$"].get_ydata(), rtol=1e-10)


def test_bad_inputs():
    with pytest.raises(TypeError, match="`ps` must be a Pseudospectra"):
        spectra.plot.pseudospectra_contours(A)
    with pytest.raises(TypeError, match="`growth` must be a TransientGrowth"):
        spectra.plot.transient_growth_curves(A)
