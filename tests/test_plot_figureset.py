"""The figure-set registry: registering builders, building and writing them deterministically."""

import numpy as np
import pytest

from spectra import plot

BUILTIN = ("activation_derivatives", "eigenvalues", "gradient_norms", "singular_values", "lyapunov",
           "phase_diagram")


def _noise(rng):
    """A cheap figure of random data: it changes with every draw of rng."""
    fig, ax = plot.figure_and_axes()
    ax.plot(rng.standard_normal(20))
    return fig


def _pair(rng):
    return {"left": _noise(rng), "right": _noise(rng)}


@pytest.fixture
def temp_figures():
    """Register test builders; remove them afterwards whatever happens."""
    added = []

    def add(name, builder, **kw):
        plot.register(name, builder, **kw)
        added.append(name)
        return name

    yield add
    for name in added:
        if name in plot.figure_names():
            plot.unregister(name)


def test_builtin_figures_are_registered_with_descriptions():
    assert plot.figure_names()[:len(BUILTIN)] == BUILTIN
    for spec in plot.figure_specs():
        assert spec.description and "\n" not in spec.description
        assert spec.to_dict() == {"name": spec.name, "description": spec.description}


def test_register_as_decorator_and_function(temp_figures):
    try:
        @plot.register("t-deco", description="a test figure")
        def builder(rng):
            return _noise(rng)

        assert builder.__name__ == "builder"             # the decorator returns the function
        spec = plot.figure_specs()[plot.figure_names().index("t-deco")]
        assert spec.description == "a test figure" and spec.builder is builder
    finally:
        plot.unregister("t-deco")
    assert "t-deco" not in plot.figure_names()
    temp_figures("t-func", _pair)
    specs = {s.name: s for s in plot.figure_specs()}
    assert specs["t-func"].description == ""              # no docstring, no description
    with pytest.raises(ValueError, match="already registered"):
        plot.register("t-func", _noise)
    plot.register("t-func", _noise, replace=True)
    assert plot.figure_specs()[plot.figure_names().index("t-func")].builder is _noise


def test_description_defaults_to_the_docstrings_first_line(temp_figures):
    temp_figures("t-doc", _noise)
    spec = next(s for s in plot.figure_specs() if s.name == "t-doc")
    assert spec.description == "A cheap figure of random data: it changes with every draw of rng."


def test_build_figure_names_several_figures_by_key(temp_figures):
    temp_figures("t-pair", _pair)
    figs = plot.build_figure("t-pair", seed=3)
    assert list(figs) == ["t-pair-left", "t-pair-right"]


def test_make_figure_set_writes_files_and_reports_progress(temp_figures, tmp_path):
    temp_figures("t-one", _noise)
    temp_figures("t-two", _pair)
    calls = []
    paths = plot.make_figure_set(tmp_path / "out", names=["t-two", "t-one"], formats=("png", "svg"),
                                 progress=lambda *a: calls.append(a), dpi=30)
    assert [p.name for p in paths] == ["t-two-left.png", "t-two-left.svg", "t-two-right.png",
                                       "t-two-right.svg", "t-one.png", "t-one.svg"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert calls == [(1, 2, "t-two"), (2, 2, "t-one")]


def test_same_seed_same_bytes_other_seed_other_bytes(temp_figures, tmp_path):
    temp_figures("t-noise", _noise)
    temp_figures("t-other", _noise)
    a = plot.make_figure_set(tmp_path / "a", names=["t-noise", "t-other"], seed=7, dpi=40)
    b = plot.make_figure_set(tmp_path / "b", names=["t-noise"], seed=7, dpi=40)   # alone: same figure
    c = plot.make_figure_set(tmp_path / "c", names=["t-noise"], seed=8, dpi=40, formats=["png"])
    assert a[0].read_bytes()[:5] == b"%PDF-"
    assert [p.read_bytes() for p in a[:2]] == [p.read_bytes() for p in b]
    assert a[1].read_bytes() != c[0].read_bytes()
    # each figure has its own stream (seeded by its name), not the next draws of a shared one
    assert a[1].read_bytes() != a[3].read_bytes()


def test_builders_draw_in_the_paper_style(temp_figures):
    def titled(rng):
        fig, ax = plot.figure_and_axes()
        ax.set_title("drawn by the builder itself")
        return fig

    temp_figures("t-title", titled)
    (fig,) = plot.build_figure("t-title").values()
    assert fig.axes[0].title.get_fontsize() == 8


BAD = [
    ("name type", lambda: plot.register(3, _noise), TypeError, "`name` must be a string"),
    ("name chars", lambda: plot.register("My Figure", _noise), ValueError, "file stem"),
    ("builder", lambda: plot.register("t-bad", 3), TypeError, "`builder` must be callable"),
    ("description", lambda: plot.register("t-bad", _noise, description=1), TypeError, "`description`"),
    ("unregister", lambda: plot.unregister("t-missing"), ValueError, "no figure named 't-missing'"),
    ("build unknown", lambda: plot.build_figure("t-missing"), ValueError, "known figures: activation_derivatives"),
    ("build seed", lambda: plot.build_figure("activation_derivatives", seed=-1), ValueError, "`seed`"),
    ("set names", lambda: plot.make_figure_set("x", names=["t-missing"]), ValueError, "no figure named"),
    ("set formats", lambda: plot.make_figure_set("x", formats=["docx"]), ValueError, "`formats` must hold"),
    ("set no formats", lambda: plot.make_figure_set("x", formats=[]), ValueError, "at least one format"),
    ("set progress", lambda: plot.make_figure_set("x", names=[], progress=3), TypeError, "`progress`"),
    ("save dpi", lambda: plot.save(None, "x", dpi=0), ValueError, "`dpi`"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exc, match=match):
        call()
    assert "t-bad" not in plot.figure_names()


def test_builder_returning_something_else_is_reported(temp_figures):
    temp_figures("t-wrong", lambda rng: np.zeros(3))
    with pytest.raises(TypeError, match="builder of figure 't-wrong' must return a Figure"):
        plot.build_figure("t-wrong")
    temp_figures("t-badkey", lambda rng: {"Bad Key": _noise(rng)})
    with pytest.raises(ValueError, match="a key of figure 't-badkey'"):
        plot.build_figure("t-badkey")


def test_two_figures_writing_the_same_file_are_refused(temp_figures, tmp_path):
    temp_figures("t-a", lambda rng: {"b": _noise(rng)})
    temp_figures("t-a-b", _noise)
    with pytest.raises(ValueError, match="both write 't-a-b'"):
        plot.make_figure_set(tmp_path, names=["t-a", "t-a-b"], formats=["png"], dpi=20)


def test_builtin_figures_follow_the_seed():
    def data(seed):
        (fig,) = plot.build_figure("gradient_norms", seed=seed).values()
        return [ln.get_ydata() for ln in fig.axes[0].lines]

    a, b, c = data(0), data(0), data(1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
