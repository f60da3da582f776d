"""One seed keyword across the figure builders (rng=, with seed= as the 0.1 alias), and the
declarative figure families the remedy figures are built from."""

import numpy as np
import pytest

plot = pytest.importorskip("spectra.plot")
from spectra.plot._figureset import FigureFamily, FigureRecipe  # noqa: E402


def _noise(rng):
    fig, ax = plot.figure_and_axes()
    ax.plot(rng.standard_normal(8))
    return fig


@pytest.fixture
def noise_figure():
    plot.register("t-rng-noise", _noise)
    yield "t-rng-noise"
    plot.unregister("t-rng-noise")


def _ydata(figs):
    return [ln.get_ydata() for f in figs.values() for ax in f.axes for ln in ax.get_lines()]


def test_build_figure_seed_is_an_alias_of_rng(noise_figure):
    by_rng = _ydata(plot.build_figure(noise_figure, rng=5))
    by_seed = _ydata(plot.build_figure(noise_figure, seed=5))
    assert all(np.array_equal(a, b) for a, b in zip(by_rng, by_seed))
    other = _ydata(plot.build_figure(noise_figure, rng=6))
    assert not np.array_equal(by_rng[0], other[0])


def test_build_figure_accepts_a_generator(noise_figure):
    a = _ydata(plot.build_figure(noise_figure, rng=np.random.default_rng(1)))
    b = _ydata(plot.build_figure(noise_figure, rng=np.random.default_rng(1)))
    assert np.array_equal(a[0], b[0])


def test_make_figure_set_seed_alias_gives_the_same_bytes(noise_figure, tmp_path):
    a = plot.make_figure_set(tmp_path / "a", names=[noise_figure], rng=3, formats=["png"], dpi=30)
    b = plot.make_figure_set(tmp_path / "b", names=[noise_figure], seed=3, formats=["png"], dpi=30)
    assert a[0].read_bytes() == b[0].read_bytes()


@pytest.mark.parametrize("call,exc,needle", [
    (lambda: plot.build_figure("activation_derivatives", rng=-1), ValueError, "`rng`"),
    (lambda: plot.build_figure("activation_derivatives", rng="zero"), TypeError, "`rng`"),
    (lambda: plot.build_figure("activation_derivatives", rng=2, seed=3), TypeError, "`seed`"),
    (lambda: plot.make_figure_set("x", seed=-1), ValueError, "`seed`"),
    (lambda: plot.remedies_figure_set(rng=1.5), TypeError, "`rng`"),
])
def test_bad_seeds(call, exc, needle):
    with pytest.raises(exc, match=needle):
        call()


def _family():
    draw = plot.activation_derivatives
    return FigureFamily("t-family", "Two activations.", context=lambda rng: {"rng": rng}, recipes=(
        FigureRecipe("one", "tanh'", lambda ctx: {"activations": "tanh"}, draw),
        FigureRecipe("two", "both", lambda ctx: {"activations": ["tanh", "relu"]}, draw,
                     width="double", aspect=0.4, title="two activations")))


def test_family_builds_each_recipe_in_the_house_style():
    figs = _family().build(0, prefix="p_")
    assert list(figs) == ["p_one", "p_two"]
    assert figs["p_one"].get_size_inches().tolist() == pytest.approx([3.4, 2.55])
    assert figs["p_two"].get_size_inches().tolist() == pytest.approx([7.0, 2.8])
    assert figs["p_two"].get_suptitle() == "two activations"
    assert len(figs["p_two"].axes[0].lines) == 4


def test_family_registers_as_one_builder(tmp_path):
    fam = _family()
    fam.register()
    try:
        spec = {s.name: s for s in plot.figure_specs()}["t-family"]
        assert spec.description == "Two activations."
        assert sorted(plot.build_figure("t-family")) == ["t-family-one", "t-family-two"]
    finally:
        plot.unregister("t-family")


@pytest.mark.parametrize("make,exc,needle", [
    (lambda: FigureRecipe("Bad Name", "", lambda c: {}, plot.eigenvalues), ValueError, "recipe's `name`"),
    (lambda: FigureRecipe("ok", "", None, plot.eigenvalues), TypeError, "`data` must be callable"),
    (lambda: FigureRecipe("ok", "", lambda c: {}, plot.eigenvalues, ncols=0), ValueError, "`ncols`"),
    (lambda: FigureRecipe("ok", "", lambda c: {}, plot.eigenvalues, width="triple"), ValueError, "`width` must be one of"),
    (lambda: FigureFamily("f", "", lambda r: None, ()), ValueError, "non-empty"),
    (lambda: FigureFamily("f", "", lambda r: None, ("x",)), TypeError, "FigureRecipe"),
    (lambda: FigureRecipe("ok", "", lambda c: [1], plot.eigenvalues).build(None), TypeError, "mapping"),
])
def test_bad_recipes(make, exc, needle):
    with pytest.raises(exc, match=needle):
        make()


def test_remedies_are_one_family_of_nine():
    from spectra.plot._remedies import REMEDIES

    assert [r.name for r in REMEDIES.recipes] == [
        "bptt_lags", "clipping", "regularizer", "truncation", "penalties", "spectral_control",
        "echo_state", "leaky", "teacher_forcing"]
    assert "remedies" in plot.figure_names()
