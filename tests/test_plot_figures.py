"""The figure functions of spectra.plot, on small data: what they draw is the data they were given."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spectra
from spectra import plot

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report():
    cell = spectra.ElmanRNN.random(12, input_size=3, init="orthogonal", gain=1.1, rng=0)
    x = np.random.default_rng(1).standard_normal((30, 3))
    return spectra.bound_report(cell.run(x, h0=np.full(12, 0.1)))


@pytest.fixture(scope="module")
def lyap():
    J = 1.3 * np.random.default_rng(2).standard_normal((400, 5, 5)) / np.sqrt(5)
    return spectra.lyapunov_spectrum(J, warmup=20)


def _new_axes():
    fig, ax = plot.figure_and_axes()
    return fig, ax


# -- every function: returns the Figure, draws into a given ax -------------------------------

def _calls(report, lyap):
    J = 1.2 * np.random.default_rng(3).standard_normal((32, 6, 6)) / np.sqrt(6)
    table = {"gain": [0.5, 2.0], "activation": ["tanh", "tanh"],
             "regime": ["vanishing guaranteed", "exploding possible"], "measured": [-0.5, 0.3]}
    return [
        lambda ax: plot.activation_derivatives(["tanh"], ax=ax),
        lambda ax: plot.eigenvalues(spectra.init.gaussian(6, rng=0), ax=ax),
        lambda ax: plot.gradient_norms(report, ax=ax),
        lambda ax: plot.singular_value_spectra(J, [1, 4], ax=ax),
        lambda ax: plot.lyapunov_exponents(lyap, ax=ax),
        lambda ax: plot.lyapunov_convergence(lyap, ax=ax),
        lambda ax: plot.phase_diagram(table, ax=ax),
    ]


@pytest.mark.parametrize("i", range(7))
def test_returns_the_figure_and_draws_into_the_given_axes(i, report, lyap):
    fig, ax = _new_axes()
    call = _calls(report, lyap)[i]
    assert call(ax) is fig
    assert len(fig.axes) == 1 and (ax.lines or ax.collections)
    new = call(None)
    assert new is not fig and len(new.axes) == 1


def test_no_pyplot_and_no_gui_anywhere():
    # (the figure set, through the command, is checked the same way in test_cli.py)
    code = ("import sys, numpy as np, spectra, spectra.plot as p\n"
            "J = np.random.default_rng(0).standard_normal((40, 4, 4)) / 2\n"
            "rep = spectra.bound_report(spectra.ElmanRNN.random(4, rng=0).run(steps=9, h0=np.ones(4)))\n"
            "res = spectra.lyapunov_spectrum(J)\n"
            "p.activation_derivatives(); p.eigenvalues(np.eye(3)); p.gradient_norms(rep)\n"
            "p.singular_value_spectra(J); p.lyapunov_exponents(res); p.lyapunov_convergence(res)\n"
            "p.phase_diagram({'gain': [1.0], 'activation': ['tanh'], 'regime': ['undetermined'], "
            "'measured': [0.0]})\n"
            "print('matplotlib.pyplot' in sys.modules, 'tkinter' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"},
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


# -- activation derivatives -----------------------------------------------------------------

def test_activation_derivatives_draws_f_prime_and_gamma():
    fig = plot.activation_derivatives(["tanh", "sigmoid"])
    ax = fig.axes[0]
    assert len(ax.lines) == 4
    curves = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    bounds = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert [c.get_label() for c in curves] == ["tanh$'$", "sigmoid$'$"]
    for c, b, gamma in zip(curves, bounds, (1.0, 0.25)):
        x, y = c.get_data()
        h = 1e-6        # the drawn curve is f' (central differences of f)
        f = spectra.activation(c.get_label()[:-3]).f
        np.testing.assert_allclose(y, (f(x + h) - f(x - h)) / (2 * h), atol=1e-8)
        assert b.get_ydata()[0] == gamma
        assert max(y) == pytest.approx(gamma, abs=1e-12)    # sup attained at 0, which is sampled
    assert ax.get_xlabel() == "$x$" and ax.get_ylabel() == "$f'(x)$"
    assert {t.get_text() for t in ax.texts} == {r"$\gamma_h = 1$", r"$\gamma_h = 1/4$"}


# -- eigenvalues ------------------------------------------------------------------------------

def test_eigenvalues_of_a_matrix_and_the_unit_circle():
    W = spectra.init.gaussian(20, rng=0)
    fig = plot.eigenvalues(W)
    ax = fig.axes[0]
    pts = ax.collections[0].get_offsets()
    lam = np.linalg.eigvals(W)
    np.testing.assert_allclose(np.sort_complex(pts[:, 0] + 1j * pts[:, 1]), np.sort_complex(lam), atol=1e-12)
    (circle,) = ax.lines[:1]
    np.testing.assert_allclose(np.hypot(*circle.get_data()), 1.0, atol=1e-12)
    assert ax.get_aspect() == 1.0
    assert ax.get_xlabel() == r"Re $\lambda$" and ax.get_ylabel() == r"Im $\lambda$"
    assert ax.get_legend() is None


def test_eigenvalues_of_several_sets_with_labels():
    traj = spectra.ElmanRNN.random(8, rng=0).run(steps=5, h0=np.ones(8))
    lam = spectra.step_eigenvalues(traj)                   # complex (5, 8): used as given
    fig = plot.eigenvalues({"W": traj.cell.W_hh, "J_t": lam}, circle=False)
    ax = fig.axes[0]
    assert [len(c.get_offsets()) for c in ax.collections] == [8, 40]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["W", "J_t"]
    assert not [ln for ln in ax.lines if len(ln.get_xdata()) > 2]     # no circle


# -- gradient norms ---------------------------------------------------------------------------

def test_gradient_norms_log_axis_exact_and_bounds(report):
    fig = plot.gradient_norms({"a": report, "b": report}, bounds=("classic", "trajectory"))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 6
    exact = [ln for ln in ax.lines if ln.get_label() in ("a", "b")]
    np.testing.assert_allclose(exact[0].get_ydata(), np.exp(report.exact), rtol=1e-12)
    np.testing.assert_array_equal(exact[0].get_xdata(), np.arange(1, 31))
    ydata = {tuple(np.round(np.log(ln.get_ydata()), 9)) for ln in ax.lines}
    assert tuple(np.round(report.classic, 9)) in ydata and tuple(np.round(report.trajectory, 9)) in ydata
    legends = [a for a in ax.get_children() if type(a).__name__ == "Legend"]
    texts = {t.get_text() for leg in legends for t in leg.get_texts()}
    assert texts == {"a", "b", "exact", "trajectory bound", "classic bound"}
    assert ax.get_xlabel() == r"lag $t - k$"


def test_gradient_norms_of_a_profile_and_bound_selection(report):
    prof = spectra.gradient_norm_profile(np.broadcast_to(0.5 * np.eye(3), (10, 3, 3)))
    ax = plot.gradient_norms(prof).axes[0]
    assert len(ax.lines) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 0.5 ** np.arange(1, 11), rtol=1e-12)
    assert len(plot.gradient_norms(report, bounds="classic").axes[0].lines) == 2
    assert len(plot.gradient_norms(report, bounds=()).axes[0].lines) == 1


def test_gradient_norms_beyond_float64_use_log10_values():
    prof = spectra.gradient_norm_profile(np.broadcast_to(3.0 * np.eye(2), (1000, 2, 2)))
    ax = plot.gradient_norms(prof).axes[0]       # 3^1000 ~ 1e477 has no float64
    assert ax.get_yscale() == "linear"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.arange(1, 1001) * math.log10(3.0), rtol=1e-12)
    fmt = ax.yaxis.get_major_formatter()
    assert fmt(300.0, 0) == "$10^{300}$"


# -- singular value spectra -------------------------------------------------------------------

def test_singular_value_spectra_from_jacobians():
    J = 1.2 * np.random.default_rng(3).standard_normal((64, 6, 6)) / np.sqrt(6)
    ax = plot.singular_value_spectra(J, [1, 8, 64]).axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 3
    for ln, lag in zip(ax.lines, (1, 8, 64)):
        sv = np.linalg.svd(np.linalg.multi_dot(J[64 - lag:][::-1]) if lag > 1 else J[-1],
                           compute_uv=False)
        # a dense product resolves small singular values only to ~1e-16 of the largest
        np.testing.assert_allclose(ln.get_ydata(), sv, rtol=1e-9, atol=1e-13 * sv[0])
        assert ln.get_label() == f"lag {lag}"
    assert ax.get_xlabel() == "index $i$"


def test_singular_value_spectra_per_step_and_from_results():
    data = {10: np.log([4.0, 2.0, 1.0]), 2: np.array([0.0, -1.0, -np.inf])}
    ax = plot.singular_value_spectra(data, per_step=True).axes[0]
    assert ax.get_yscale() == "linear"
    assert [ln.get_label() for ln in ax.lines if ln.get_label().startswith("lag")] == ["lag 2", "lag 10"]
    np.testing.assert_allclose(ax.lines[1].get_ydata()[:2], [0.0, -0.5])
    assert np.isnan(ax.lines[1].get_ydata()[2])         # a zero singular value leaves a gap
    np.testing.assert_allclose(ax.lines[2].get_ydata(), np.log([4.0, 2.0, 1.0]) / 10)


def test_singular_value_spectra_default_lags():
    J = np.broadcast_to(0.9 * np.eye(2), (20, 2, 2))
    ax = plot.singular_value_spectra(J).axes[0]
    assert [ln.get_label() for ln in ax.lines] == ["lag 1", "lag 4", "lag 16", "lag 20"]


# -- Lyapunov ---------------------------------------------------------------------------------

def test_lyapunov_exponents_with_error_bars(lyap):
    ax = plot.lyapunov_exponents(lyap, nsigma=2.0).axes[0]
    data = [ln for ln in ax.lines if len(ln.get_xdata()) == 5]
    np.testing.assert_allclose(data[0].get_ydata(), lyap.exponents)
    (bars,) = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    half = np.array([abs(s[1, 1] - s[0, 1]) / 2 for s in bars.get_segments()])
    np.testing.assert_allclose(half, 2.0 * lyap.stderr, rtol=1e-9)
    assert ax.get_ylabel() == r"$\lambda_i$ (per step)"


def test_lyapunov_exponents_of_several_results_with_colours(lyap):
    ax = plot.lyapunov_exponents({"a": lyap, "b": lyap}, colors=["black", "#D55E00"]).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    data = [ln for ln in ax.lines if len(ln.get_xdata()) == 5 and ln.get_linestyle() == "-"]
    assert [ln.get_color() for ln in data] == ["black", "#D55E00"]


def test_lyapunov_convergence_draws_running_estimates(lyap):
    ax = plot.lyapunov_convergence(lyap, which=[1, 5]).axes[0]
    assert ax.get_xscale() == "log" and len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[1].get_ydata(), lyap.running[:, 4])
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), lyap.running_steps)
    assert len(ax.collections) == 2          # one +-2 s.e. band per exponent
    assert len(plot.lyapunov_convergence(lyap).axes[0].lines) == 4


# -- phase diagram ----------------------------------------------------------------------------

def _markers(ax):
    """{marker collection label: set of (x value, row)}."""
    return {c.get_label(): {(float(p[0]), int(p[1])) for p in c.get_offsets()} for c in ax.collections
            if type(c).__name__ == "PathCollection"}


def test_phase_diagram_regimes_and_measured_signs():
    rows = [  # replicates of (gain, activation) are averaged; their spread gives the error
        {"gain": 2.0, "activation": "tanh", "regime": "exploding possible", "measured": 0.30},
        {"gain": 2.0, "activation": "tanh", "regime": "exploding possible", "measured": 0.32},
        {"gain": 0.5, "activation": "tanh", "regime": "vanishing guaranteed", "measured": -0.70},
        {"gain": 0.5, "activation": "tanh", "regime": "vanishing guaranteed", "measured": -0.72},
        {"gain": 1.0, "activation": "relu", "regime": "undetermined", "measured": 0.1},
        {"gain": 1.0, "activation": "relu", "regime": "undetermined", "measured": -0.1},
        {"gain": 2.0, "activation": "relu", "regime": "exploding possible", "measured": 0.2},
        {"gain": 2.0, "activation": "relu", "regime": "vanishing guaranteed", "measured": 1.0},
    ]
    fig = plot.phase_diagram(rows, annotate=True)
    ax = fig.axes[0]
    mesh = ax.collections[0]
    grid = np.ma.filled(mesh.get_array(), -1).reshape(2, 3)
    R = {k: i for i, k in enumerate(plot.REGIMES)}
    np.testing.assert_array_equal(grid, [[R["vanishing guaranteed"], -1, R["exploding possible"]],
                                         [-1, R["undetermined"], R["mixed"]]])
    marks = _markers(ax)
    # markers at the gains themselves (an uneven grid stays uneven)
    assert marks == {r"$\lambda_{\max}$ > 0": {(2.0, 0)},
                     r"$\lambda_{\max}$ < 0": {(0.5, 0)},
                     r"$\lambda_{\max}$ $\approx$ 0": {(1.0, 1), (2.0, 1)}}   # 0.6 +- 0.4: not 2 s.e.
    # each mean with the standard error of the mean of its replicates: sd(ddof=1) / sqrt(2)
    assert sorted(t.get_text() for t in ax.texts) == ["-0.71\n\u00b1.01", "0.00\n\u00b1.10",
                                                      "0.31\n\u00b1.01", "0.60\n\u00b1.40"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "1", "2"]
    np.testing.assert_allclose(ax.get_xticks(), [0.5, 1.0, 2.0])
    # cells reach halfway to their neighbours: edges 0.25 | 0.75 | 1.5 | 2.5
    np.testing.assert_allclose(ax.get_xlim(), [0.25, 2.5])
    np.testing.assert_allclose(np.unique(mesh.get_coordinates()[..., 0]), [0.25, 0.75, 1.5, 2.5])
    assert ax.get_legend().get_title().get_text() == "markers: sign at 2 s.e.\nnumbers: mean \u00b1 s.e."
    assert [t.get_text() for t in ax.get_yticklabels()] == ["tanh", "relu"]
    assert ax.get_xlabel() == "gain" and ax.get_ylabel() == "activation"


def test_phase_diagram_columns_stderr_and_names():
    table = {"g": np.array([1.0, 2.0]), "act": ["sigmoid", "sigmoid"],
             "reg": ["vanishing guaranteed", "vanishing guaranteed"], "rate": [-0.05, -0.05],
             "se": [0.01, 0.1]}
    ax = plot.phase_diagram(table, x="g", y="act", regime="reg", measured="rate", stderr="se",
                            measured_label="rate").axes[0]
    # -0.05 is 5 s.e. below zero at gain 1, half an s.e. at gain 2
    assert _markers(ax) == {"rate < 0": {(1.0, 0)}, r"rate $\approx$ 0": {(2.0, 0)}}


def test_phase_table_feeds_the_phase_diagram():
    table = plot.phase_table([0.5, 2.0], ["tanh", "sigmoid"], n=8, steps=60, warmup=10, seeds=2, rng=0)
    assert len(table["gain"]) == 8 and set(table) >= {"gain", "activation", "regime", "measured", "stderr"}
    # orthogonal W has gamma_W = gain exactly: the regime follows from gamma_W gamma_h
    for g, a, r in zip(table["gain"], table["activation"], table["regime"]):
        assert r == ("vanishing guaranteed" if g * spectra.gamma_h(a) < 1 else "exploding possible")
    # a vanishing-guaranteed network contracts: lambda_max <= log(gamma_W gamma_h)
    for g, a, m in zip(table["gain"], table["activation"], table["measured"]):
        assert m <= math.log(g * spectra.gamma_h(a)) + 1e-9
    assert plot.phase_table([0.5], ["tanh"], n=4, steps=30, warmup=5, seeds=1, rng=5) == \
        plot.phase_table([0.5], ["tanh"], n=4, steps=30, warmup=5, seeds=1, rng=5)
    fig = plot.phase_diagram(table)
    assert len(fig.axes[0].get_yticklabels()) == 2


# -- bad arguments ----------------------------------------------------------------------------

def _lyap_batch():
    return spectra.lyapunov_spectrum(np.ones((2, 10, 2, 2)) * 0.5)


BAD = [
    ("act type", lambda: plot.activation_derivatives(3), TypeError, "`activations` must be"),
    ("act name", lambda: plot.activation_derivatives(["mish"]), ValueError, "mish"),
    ("act empty", lambda: plot.activation_derivatives([]), TypeError, "non-empty"),
    ("ax type", lambda: plot.activation_derivatives(ax="left"), TypeError, "`ax` must be a matplotlib Axes"),
    ("eig type", lambda: plot.eigenvalues("W"), TypeError, "`values` must be a square matrix"),
    ("eig nan", lambda: plot.eigenvalues(np.array([1j, np.nan])), ValueError, "finite"),
    ("eig size", lambda: plot.eigenvalues(np.eye(2), size=0), ValueError, "`size`"),
    ("gn type", lambda: plot.gradient_norms(np.ones(3)), TypeError, "`reports` must be a BoundReport or NormProfile"),
    ("gn empty", lambda: plot.gradient_norms({}), ValueError, "`reports` must not be empty"),
    ("gn bounds", lambda: plot.gradient_norms(
        spectra.gradient_norm_profile(np.ones((2, 2, 2))), bounds=["exact"]), ValueError, "`bounds`"),
    ("gn batch", lambda: plot.gradient_norms(
        spectra.gradient_norm_profile(np.ones((2, 3, 2, 2)))), ValueError, "unbatched"),
    ("sv lag", lambda: plot.singular_value_spectra(np.ones((4, 2, 2)), [5]), ValueError, "1..t = 1..4"),
    ("sv lag type", lambda: plot.singular_value_spectra(np.ones((4, 2, 2)), [1.5]), TypeError, "positive integers"),
    ("sv map lags", lambda: plot.singular_value_spectra({1: [0.0]}, [1]), TypeError, "`lags` and `t`"),
    ("sv map nan", lambda: plot.singular_value_spectra({1: [np.nan]}), ValueError, "finite log singular"),
    ("sv map 2d", lambda: plot.singular_value_spectra({1: [[0.0]]}), ValueError, "1-D"),
    ("sv J", lambda: plot.singular_value_spectra("J"), TypeError, "`J` must be"),
    ("ly type", lambda: plot.lyapunov_exponents([1.0]), TypeError, "LyapunovResult"),
    ("ly batch", lambda: plot.lyapunov_exponents(_lyap_batch()), ValueError, "unbatched"),
    ("ly colors", lambda: plot.lyapunov_exponents(
        spectra.lyapunov_spectrum(np.ones((4, 2, 2))), colors=["red", "blue"]), ValueError, "`colors`"),
    ("ly which", lambda: plot.lyapunov_convergence(
        spectra.lyapunov_spectrum(np.ones((4, 2, 2))), which=[3]), ValueError, "indices in 1..2"),
    ("ly which type", lambda: plot.lyapunov_convergence(
        spectra.lyapunov_spectrum(np.ones((4, 2, 2))), which=[0]), ValueError, "`which` indices must be"),
    ("log axis", lambda: plot.log_axis(plot.figure_and_axes()[1], [0.0], which="z"), ValueError, "`which`"),
    ("ly nsigma", lambda: plot.lyapunov_convergence(
        spectra.lyapunov_spectrum(np.ones((4, 2, 2))), nsigma=-1), ValueError, "`nsigma`"),
    ("pd type", lambda: plot.phase_diagram(3), TypeError, "`table` must be a mapping"),
    ("pd rows", lambda: plot.phase_diagram([{"gain": 1}, 3]), TypeError, "row mappings"),
    ("pd column", lambda: plot.phase_diagram({"gain": [1.0]}), ValueError, "no column 'activation'"),
    ("pd regime", lambda: plot.phase_diagram({"gain": [1.0], "activation": ["tanh"], "regime": ["chaos"],
                                               "measured": [0.0]}), ValueError, "regimes from"),
    ("pd numbers", lambda: plot.phase_diagram({"gain": ["a"], "activation": ["tanh"],
                                                "regime": ["undetermined"], "measured": [0.0]}),
     TypeError, "must hold numbers"),
    ("pd empty", lambda: plot.phase_diagram([]), ValueError, "must not be empty"),
    ("pt gains", lambda: plot.phase_table([], ["tanh"]), TypeError, "`gains` must be a non-empty"),
    ("pt gain", lambda: plot.phase_table([np.nan], ["tanh"]), ValueError, "`gains` must be finite"),
    ("pt acts", lambda: plot.phase_table([1.0], "tanh"), TypeError, "`activations` must be"),
    ("pt warmup", lambda: plot.phase_table([1.0], ["tanh"], steps=10, warmup=10), ValueError, "`warmup`"),
    ("pt init", lambda: plot.phase_table([1.0], ["tanh"], init_name="xavier"), ValueError, "`init_name`"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_phase_table_runs_through_sweep_identically_on_any_executor():
    """The phase diagram's data come from spectra.sweep: serial and process pool agree exactly."""
    args = ([0.5, 3.0], ["tanh", spectra.activation("leaky_relu", slope=0.2)])
    kw = dict(n=6, steps=40, warmup=5, seeds=2, rng=7)
    serial = spectra.plot.phase_table(*args, **kw)
    pooled = spectra.plot.phase_table(*args, executor=2, **kw)
    assert serial == pooled or all(
        np.array_equal(np.asarray(serial[k], dtype=object), np.asarray(pooled[k], dtype=object))
        for k in serial)
    assert serial["activation"].count("leaky_relu") == 4
    # per-point seeds: a replicate's result does not depend on which other points exist
    alone = spectra.plot.phase_table([3.0], ["tanh"], **kw)
    both = [m for g, a, m in zip(serial["gain"], serial["activation"], serial["measured"])
            if g == 3.0 and a == "tanh"]
    assert alone["measured"] == both
