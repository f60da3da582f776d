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
    values against the Fuss-Catalan density.  The bars are grouped four at a time; each group's
    probability is compared with the exact Fuss-Catalan mass of its interval (an integral, so no
    bin-averaging error), within 4 standard errors measured from the 8 networks (each network's
    histogram with the same edges is one replica; the pooled bars are their mean)."""
    import math
    from scipy.integrate import quad
    S, n = 8, 200
    ens = spectra.mlp_ensemble([n] * 3, samples=S, init="gaussian", activation="identity", rng=3)
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
    assert len(bars) == 40 and np.sum(widths * heights) == pytest.approx(1.0)
    s2 = np.exp(2 * sp.log_singular_values[:, 0, :])                   # (S, n)
    edges = np.histogram_bin_edges(s2.ravel(), bins=40)
    assert np.allclose([b.get_x() for b in bars], edges[:-1], rtol=1e-12)
    per = np.array([np.histogram(row, bins=edges)[0] / n for row in s2])
    assert np.allclose(per.mean(0), widths * heights, rtol=1e-9)      # the bars pool the replicas
    groups = per.reshape(S, 10, 4).sum(-1)
    g_edges = edges[::4]
    # t = u^3 removes the integrable x^(-2/3) singularity of the density at 0 (L = 2)
    exact = np.array([quad(lambda u: 3 * u * u * spectra.analysis.fuss_catalan_density(2, u ** 3),
                           np.cbrt(a), np.cbrt(b), limit=200)[0]
                      for a, b in zip(g_edges[:-1], g_edges[1:])])
    se = groups.std(0, ddof=1) / math.sqrt(S)
    assert np.all(np.abs(groups.mean(0) - exact) < 4 * se), (groups.mean(0) - exact) / se


def test_depth_spectra_log_scale_draws_the_density_of_log10_sigma2():
    """scale='log': a histogram of log10 sigma^2 and the theory as (log10 x, x ln10 rho(x)),
    which integrates to 1 over log10 x when rho integrates to 1 over x (Fuss-Catalan, L = 2)."""
    from scipy.integrate import quad
    ens = spectra.mlp_ensemble([40] * 3, samples=2, init="gaussian", activation="identity", rng=5)
    sp = spectra.depth_spectra(ens, depths=[1, 2])
    x = np.geomspace(1e-4, 6.74, 300)
    rho = spectra.analysis.fuss_catalan_density(2, x)
    fig = spectra.plot.depth_spectra({"lin": sp}, kind="density", scale="log",
                                     theory={"lin": (x, rho)})
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert np.allclose(line.get_xdata(), np.log10(x), rtol=0, atol=1e-15)
    assert np.allclose(line.get_ydata(), x * np.log(10) * rho, rtol=1e-15)
    assert line.get_label() == "lin (theory)"
    from matplotlib.colors import to_rgb
    assert to_rgb(line.get_color()) == pytest.approx(ax.patches[0].get_facecolor()[:3])
    # the transformed density integrates to 1 in u = log10 x (the Fuss-Catalan total mass)
    total = quad(lambda u: np.log(10) * 10 ** u
                 * spectra.analysis.fuss_catalan_density(2, 10 ** u), -12, np.log10(6.75),
                 limit=200)[0]
    assert total == pytest.approx(1.0, abs=2e-4)   # mass below 1e-12: int_0^eps x^(-2/3) ~ eps^(1/3)
    # the bars: log10 of the pooled squared singular values
    s2 = np.exp(2 * sp.log_singular_values[:, 1, :]).ravel()
    edges = [b.get_x() for b in ax.patches] + [ax.patches[-1].get_x() + ax.patches[-1].get_width()]
    assert edges[0] == pytest.approx(np.log10(s2.min())) and edges[-1] == pytest.approx(np.log10(s2.max()))
    assert "log_{10}" in ax.get_xlabel()
    with pytest.raises(ValueError, match="`scale` must be"):
        spectra.plot.depth_spectra(sp, kind="density", scale="ln")
    with pytest.raises(ValueError, match="kind='density'"):
        spectra.plot.depth_spectra(sp, kind="spread", scale="log")


def test_isometry_figure_draws_the_free_probability_predictions():
    """The deep-isometry figure's tanh networks sit on the critical line (chi = 1: lambda_max
    of the same mean field is 0) and its theory lines are jacobian_spectrum's variance and
    density for exactly those parameters."""
    import math
    from spectra.plot import _deep
    fig = _deep._isometry_figure(np.random.default_rng(0), width=12, depth=8, samples=3,
                                 density_depth=8, bias_var=1e-3)
    sw = spectra.edge_of_chaos("tanh", math.sqrt(1e-3)) ** 2
    assert abs(spectra.recurrent_mean_field(math.sqrt(sw), "tanh", math.sqrt(1e-3)).lyapunov_max) \
        < 1e-12
    ax0, ax1, ax2 = fig.axes
    depths = [1, 2, 4, 8]
    for label, weights in (("orthogonal, tanh", "orthogonal"), ("Gaussian, tanh", "gaussian")):
        (meas,) = [ln for ln in ax0.get_lines() if ln.get_label() == label]
        (th,) = [ln for ln in ax0.get_lines() if ln.get_label() == f"{label} (theory)"]
        assert th.get_color() == meas.get_color() and th.get_linestyle() == "--"
        want = [spectra.jacobian_spectrum("tanh", d, weight_var=sw, bias_var=1e-3,
                                          weights=weights).variance for d in depths]
        assert np.allclose(th.get_ydata(), want, rtol=1e-12)
    # at chi = 1 the closed-form variance is linear in depth: L (mu_2/mu_1^2 - 1 [+ 1])
    y = [ln for ln in ax0.get_lines() if ln.get_label() == "Gaussian, tanh (theory)"][0].get_ydata()
    assert np.allclose(np.asarray(y) / np.asarray(depths), y[0], rtol=1e-9)
    for ax, weights in ((ax1, "orthogonal"), (ax2, "gaussian")):
        (line,) = ax.get_lines()
        x = 10 ** np.asarray(line.get_xdata())
        sp = spectra.jacobian_spectrum("tanh", 8, weight_var=sw, bias_var=1e-3, weights=weights)
        assert np.allclose(line.get_ydata(), x * np.log(10) * sp.density(x), rtol=1e-9, atol=1e-12)
        widths = np.array([b.get_width() for b in ax.patches])
        heights = np.array([b.get_height() for b in ax.patches])
        assert np.sum(widths * heights) == pytest.approx(1.0)


def test_lyapunov_exponents_draws_a_theory_spectrum_as_a_curve():
    J = np.random.default_rng(2).standard_normal((500, 5, 5)) / np.sqrt(5)
    newman = spectra.gaussian_product_lyapunov(5)
    fig = spectra.plot.lyapunov_exponents({"n = 5": spectra.lyapunov_spectrum(J)},
                                          theory={"n = 5": newman})
    (curve,) = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    assert np.array_equal(curve.get_xdata(), np.arange(1, 6))
    assert np.array_equal(curve.get_ydata(), newman)
    with pytest.raises(ValueError, match="1-d arrays"):
        spectra.plot.lyapunov_exponents(spectra.lyapunov_spectrum(J), theory={"x": np.ones((2, 2))})


def test_gaussian_products_figure_holds_the_measured_spectrum_against_newman():
    """The figure's data: QR every step on N(0, 1/n) matrices; each log R_ii is i.i.d. over
    steps with variance psi'((n-i+1)/2)/4 (Bartlett), so the standard error is exact and the
    deviations are standard normal: their mean square is 1 within its own spread sqrt(2/k)."""
    from scipy.special import digamma, polygamma
    from spectra.plot import _gallery
    data = _gallery._gaussian_product_data(sizes=(8, 32), steps=2000, rng=0)
    z = []
    for n, (label, (res, theory, se)) in zip((8, 32), data.items()):
        assert label == f"n = {n}" and res.steps == 2000 and res.reorth_every == 1
        i = np.arange(1, n + 1)
        assert np.allclose(theory, 0.5 * (np.log(2.0 / n) + digamma((n - i + 1) / 2)), atol=1e-14)
        assert np.allclose(se, np.sqrt(polygamma(1, (n - i + 1) / 2) / 4 / 2000), rtol=1e-14)
        z.append((res.exponents - theory) / se)
    z = np.concatenate(z)
    assert abs(np.mean(z ** 2) - 1.0) < 4 * np.sqrt(2.0 / z.size)
    fig = spectra.plot.build_figure("gaussian_products", rng=0)
    fig = fig if not isinstance(fig, dict) else next(iter(fig.values()))
    left, right = fig.axes
    curves = [ln for ln in left.get_lines() if ln.get_linestyle() == "--"]
    assert [ln.get_label() for ln in curves] == ["theory: n = 8", "theory: n = 32"]
    assert np.allclose(curves[1].get_ydata(), spectra.gaussian_product_lyapunov(32), atol=1e-15)
    # the right panel is (measured - Newman) / exact s.e. of the left panel's markers
    dev = [ln for ln in right.get_lines() if ln.get_label() == "n = 32"][0]
    (meas,) = [ln for ln in left.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata()) == 32]
    se32 = np.sqrt(polygamma(1, np.arange(32, 0, -1) / 2) / 4 / 2000)
    assert np.allclose(dev.get_ydata(), (meas.get_ydata() - spectra.gaussian_product_lyapunov(32))
                       / se32, rtol=1e-12)


def test_edge_of_chaos_figure_draws_the_mean_field_curves_and_g_c():
    fig = spectra.plot.build_figure("edge_of_chaos", rng=0)
    fig = fig if not isinstance(fig, dict) else next(iter(fig.values()))
    ax = fig.axes[0]
    cases = {"no bias, no input": (0.0, 0.0), "bias s.d. 0.5": (0.5, 0.0), "inputs s.d. 1": (0.0, 1.0)}
    curves = [ln for ln in ax.get_lines() if ln.get_label() == "_mean field"]
    edges = [ln for ln in ax.get_lines() if ln.get_label() == "_g_c"]
    assert len(curves) == len(edges) == 3
    for (sb, sx), curve, edge in zip(cases.values(), curves, edges):
        gc = spectra.edge_of_chaos("tanh", sb, input_std=sx)
        assert np.allclose(edge.get_xdata(), gc, rtol=1e-12)
        g = np.asarray(curve.get_xdata())
        assert np.any(np.isclose(g, gc, rtol=1e-12))           # the curve has its kink point
        want = [spectra.recurrent_mean_field(x, "tanh", sb, input_std=sx).lyapunov_max for x in g[::5]]
        assert np.allclose(np.asarray(curve.get_ydata())[::5], want, rtol=1e-12, atol=1e-14)
    assert spectra.edge_of_chaos("tanh") == 1.0
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "no bias, no input ($g_c = 1.000$)" and "mean-field $g_c$" in labels
