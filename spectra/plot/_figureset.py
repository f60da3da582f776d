"""The figure set: a registry of named figure builders, and one call that writes them all.

A *builder* is a function ``builder(rng) -> Figure`` (or a dict of Figures,
written as ``NAME-KEY``) that computes its data and draws it with the figure
functions of :mod:`spectra.plot`.  Register one with :func:`register`; the
``spectra figures`` command and ``scripts/make_figures.py`` write every
registered figure with :func:`make_figure_set`.

Determinism: each builder receives a ``numpy.random.Generator`` seeded from
the set's ``rng`` (an int seed) and the figure's *name* (not its position),
so a figure is the same whether it is made alone (``names=[...]``) or with
the whole set, and the same seed gives byte-identical files.  ``seed=`` is
the deprecated 0.1 spelling of ``rng=`` (still accepted, silently).

A *family* of figures that share their data (the nine remedy figures) is
declared rather than written out: one :class:`FigureRecipe` per figure
(name, description, data function, draw function, size) and a
:class:`FigureFamily` that computes the shared context once, builds each
recipe in the house style and registers itself as one builder.  Adding a
figure to a family is writing its data and draw functions and one recipe.
"""

from __future__ import annotations

import numbers
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .._core.validation import as_generator, check_int, check_real, describe
from ._style import WIDTHS, figure_and_axes, paper_style, save

__all__ = ["register", "unregister", "figure_names", "figure_specs", "build_figure", "make_figure_set",
           "FigureSpec", "FigureRecipe", "FigureFamily"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure: its name (the file stem), builder and one-line description."""

    name: str
    builder: Callable
    description: str

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description}


_REGISTRY: dict[str, FigureSpec] = {}


def _check_name(name, what="`name`"):
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a string; got {describe(name)}")
    if not _NAME.match(name):
        raise ValueError(f"{what} must be lower-case letters, digits, '_' or '-' (a file stem); "
                         f"got {name!r}")
    return name


def register(name, builder=None, *, description=None, replace=False):
    """Register a figure builder under ``name``; usable as a decorator.

    Parameters
    ----------
    name : str
        The figure's name and file stem (lower case, digits, ``_``, ``-``).
    builder : callable, optional
        ``builder(rng) -> Figure`` or ``-> dict[str, Figure]``; ``rng`` is a
        ``numpy.random.Generator``.  Without it, ``register`` returns a
        decorator.
    description : str, optional
        One line for ``spectra figures --list`` (default: the first line of
        the builder's docstring).
    replace : bool
        Allow replacing a figure already registered under ``name``.

    Returns
    -------
    The builder (so the decorator leaves the function as it was).

    Examples
    --------
    >>> import spectra
    >>> @spectra.plot.register("my-figure")
    ... def _(rng):
    ...     '''A figure of my own.'''
    ...     return spectra.plot.activation_derivatives("softplus")
    >>> "my-figure" in spectra.plot.figure_names()
    True
    >>> spectra.plot.unregister("my-figure")
    """
    _check_name(name)
    if description is not None and not isinstance(description, str):
        raise TypeError(f"`description` must be a string; got {describe(description)}")

    def deco(fn):
        if not callable(fn):
            raise TypeError(f"`builder` must be callable; got {describe(fn)}")
        if name in _REGISTRY and not replace:
            raise ValueError(f"a figure named {name!r} is already registered (pass replace=True "
                             "to replace it)")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = FigureSpec(name, fn, description if description is not None
                                     else (doc[0].strip() if doc else ""))
        return fn

    return deco if builder is None else deco(builder)


def unregister(name) -> None:
    """Remove a registered figure (ValueError when no figure has that name)."""
    _check_name(name)
    if name not in _REGISTRY:
        raise ValueError(f"no figure named {name!r} is registered; known: {list(_REGISTRY)}")
    del _REGISTRY[name]


def figure_names() -> tuple:
    """Names of the registered figures, in registration order."""
    return tuple(_REGISTRY)


def figure_specs() -> tuple:
    """The registered :class:`FigureSpec` objects, in registration order."""
    return tuple(_REGISTRY.values())


def _base_seed(rng, seed=None, *, default=0) -> int:
    """The integer seed of a figure set from ``rng`` (or ``seed``, its deprecated 0.1 alias).

    An int is the seed itself (validated as :func:`as_generator` does); a
    Generator or None (fresh entropy) draws one.  ``seed``, when given, must
    be a non-negative int and ``rng`` left at its default.
    """
    if seed is not None:
        if not (isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_))
                and rng == default):
            raise TypeError("pass the seed as `rng` only (`seed` is its deprecated alias); "
                            f"got rng={describe(rng)} and seed={describe(seed)}")
        return check_int(seed, "seed", minimum=0)
    gen = as_generator(rng)                    # validates: int >= 0, Generator, SeedSequence or None
    if isinstance(rng, numbers.Integral):
        return int(rng)
    return int(gen.integers(2 ** 31))       # (what the 0.1 remedies builder drew)


def _generator(seed, name):
    # crc32 of the name: stable across runs and Python versions (unlike hash())
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


def build_figure(name, *, rng=0, seed=None) -> dict:
    """Build one registered figure; returns ``{file stem: Figure}``.

    Parameters
    ----------
    name : str
    rng : int, Generator or None
        With the name, seeds the builder's generator: an int seed (default
        0) is reproducible; a Generator (or None, fresh entropy) first draws
        one.
    seed : int, optional
        Deprecated alias of ``rng`` (the 0.1 keyword); still accepted.

    Examples
    --------
    >>> import spectra
    >>> figs = spectra.plot.build_figure("activation_derivatives", rng=1)
    >>> list(figs)
    ['activation_derivatives']
    """
    _check_name(name)
    base = _base_seed(rng, seed)
    if name not in _REGISTRY:
        raise ValueError(f"no figure named {name!r}; known figures: {', '.join(_REGISTRY)}")
    from matplotlib.figure import Figure

    with paper_style():   # what a builder draws itself (titles, extra lines) is in the style too
        out = _REGISTRY[name].builder(_generator(base, name))

    if isinstance(out, Figure):
        return {name: out}
    if isinstance(out, dict) and out and all(isinstance(v, Figure) for v in out.values()):
        return {f"{name}-{_check_name(k, f'a key of figure {name!r}')}": v for k, v in out.items()}
    raise TypeError(f"the builder of figure {name!r} must return a Figure or a non-empty dict of "
                    f"Figures; got {describe(out)}")


def make_figure_set(out_dir, *, rng=0, formats=("pdf", "png"), names=None, progress=None,
                    dpi=None, seed=None) -> list:
    """Build every registered figure (or those in ``names``) and write them to ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Created if missing; files are ``NAME.FORMAT`` (``NAME-KEY.FORMAT``
        for builders returning several figures).
    rng : int, Generator or None
        The set's seed: the same int seed (default 0) gives byte-identical
        files; a Generator (or None, fresh entropy) first draws one.
    formats : sequence of str
        Default vector PDF and PNG.
    names : sequence of str, optional
        A subset of :func:`figure_names` (in the order given).
    progress : callable, optional
        Called as ``progress(done, total, name)`` after each figure.
    dpi : float, optional
        Resolution of raster formats (default 300).
    seed : int, optional
        Deprecated alias of ``rng`` (the 0.1 keyword, which ``spectra
        figures`` still passes); still accepted.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile, spectra
    >>> paths = spectra.plot.make_figure_set(tempfile.mkdtemp(), names=["activation_derivatives"],
    ...                                      formats=["png"], dpi=50)
    >>> [p.name for p in paths]
    ['activation_derivatives.png']
    """
    base = _base_seed(rng, seed)
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(formats)
    if not formats:
        raise ValueError("`formats` must name at least one format (e.g. 'pdf', 'png')")
    from matplotlib.backend_bases import FigureCanvasBase

    supported = FigureCanvasBase.get_supported_filetypes()
    for fmt in formats:
        if not isinstance(fmt, str) or fmt not in supported:
            raise ValueError(f"`formats` must hold formats matplotlib writes ({', '.join(sorted(supported))}); "
                             f"got {fmt!r}")
    if names is None:
        names = figure_names()
    elif isinstance(names, str):
        names = (names,)
    names = tuple(names)
    for name in names:
        _check_name(name, "a name in `names`")
        if name not in _REGISTRY:
            raise ValueError(f"no figure named {name!r}; known figures: {', '.join(_REGISTRY)}")
    if progress is not None and not callable(progress):
        raise TypeError(f"`progress` must be callable; got {describe(progress)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, stems = [], {}
    # The set's matrices are small (n <= a few hundred): BLAS threads only add synchronisation,
    # which on a busy machine costs several times the work itself.  One thread, restored after.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        for done, name in enumerate(names, start=1):
            written += _write_one(name, base, out_dir, formats, dpi, stems)
            if progress is not None:
                progress(done, len(names), name)
    return written


def _write_one(name, seed, out_dir, formats, dpi, stems):
    """Build figure ``name`` and save each of its figures; ``stems`` guards against overwrites."""
    written = []
    for stem, fig in build_figure(name, rng=seed).items():
        if stem in stems:
            raise ValueError(f"figures {stems[stem]!r} and {name!r} both write {stem!r}; "
                             "rename one of them")
        stems[stem] = name
        written += save(fig, out_dir / stem, formats=formats, dpi=dpi)
    return written


# -- families of figures that share their data ---------------------------------------------------

@dataclass(frozen=True)
class FigureRecipe:
    """One figure of a :class:`FigureFamily`: what it computes and how it draws it.

    Parameters
    ----------
    name : str
        The figure's key in its family (file stem ``FAMILY-NAME``).
    description : str
        One line: what the figure shows.
    data : callable
        ``data(context) -> Mapping``: the keyword arguments of ``draw``
        (other than ``ax``), computed from the family's shared context.
    draw : callable
        ``draw(**data, ax=axes) -> Figure``: a figure function of
        :mod:`spectra.plot`.  It receives the axes the recipe made (one
        Axes, or an array of ``ncols`` Axes).
    width : {"single", "double"} or float
        Width of the figure (see :func:`spectra.plot.figure_and_axes`).
    ncols : int
        Panels side by side.
    aspect : float
        Height of a panel over its width.
    title : str, optional
        Drawn over the figure (default none).

    Examples
    --------
    >>> import spectra
    >>> from spectra.plot._figureset import FigureRecipe
    >>> recipe = FigureRecipe("tanh", "The derivative of tanh.",
    ...                       data=lambda ctx: {"activations": ctx["activation"]},
    ...                       draw=spectra.plot.activation_derivatives)
    >>> fig = recipe.build({"activation": "tanh"})
    >>> len(fig.axes[0].lines), fig.get_size_inches().round(2).tolist()
    (2, [3.4, 2.55])
    """

    name: str
    description: str
    data: Callable
    draw: Callable
    width: object = "single"
    ncols: int = 1
    aspect: float = 0.75
    title: str | None = None

    def __post_init__(self):
        _check_name(self.name, "the recipe's `name`")
        for field in ("data", "draw"):
            if not callable(getattr(self, field)):
                raise TypeError(f"`{field}` must be callable; got {describe(getattr(self, field))}")
        if isinstance(self.width, str):
            if self.width not in WIDTHS:
                raise ValueError(f"`width` must be one of {sorted(WIDTHS)} or a number of inches; "
                                 f"got {self.width!r}")
        else:
            check_real(self.width, "width", low=0.0, low_open=True)
        check_int(self.ncols, "ncols", minimum=1)
        check_real(self.aspect, "aspect", low=0.0, low_open=True)

    def build(self, context):
        """Compute the data from ``context``, make the axes in the house style, draw; return the Figure."""
        kwargs = self.data(context)
        if not isinstance(kwargs, Mapping):
            raise TypeError(f"the data function of figure {self.name!r} must return a mapping of "
                            f"keyword arguments of its draw function; got {describe(kwargs)}")
        fig, axes = figure_and_axes(width=self.width, ncols=self.ncols, aspect=self.aspect)
        self.draw(**kwargs, ax=axes)
        if self.title is not None:
            with paper_style():
                fig.suptitle(self.title)
        return fig


@dataclass(frozen=True)
class FigureFamily:
    """Figures built from one shared context, registered as one builder of the figure set.

    Parameters
    ----------
    name : str
        The registered name; the files are ``NAME-RECIPE``.
    description : str
        One line for ``spectra figures --list``.
    context : callable
        ``context(rng) -> object``: the data the recipes share (networks,
        inputs, generators), computed once per build.
    recipes : tuple of FigureRecipe
        In drawing order (the order the recipes draw from shared generators).

    Examples
    --------
    >>> import spectra
    >>> from spectra.plot._figureset import FigureFamily, FigureRecipe
    >>> draw = spectra.plot.activation_derivatives
    >>> family = FigureFamily("demo", "Two activations.", context=lambda rng: None, recipes=(
    ...     FigureRecipe("tanh", "tanh'", lambda ctx: {"activations": "tanh"}, draw),
    ...     FigureRecipe("relu", "relu'", lambda ctx: {"activations": "relu"}, draw)))
    >>> sorted(family.build(0))
    ['relu', 'tanh']
    """

    name: str
    description: str
    context: Callable
    recipes: tuple

    def __post_init__(self):
        _check_name(self.name)
        if not callable(self.context):
            raise TypeError(f"`context` must be callable; got {describe(self.context)}")
        recipes = tuple(self.recipes)
        for r in recipes:
            if not isinstance(r, FigureRecipe):
                raise TypeError(f"`recipes` must hold FigureRecipe objects; got {describe(r)}")
        names = [r.name for r in recipes]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"`recipes` must be a non-empty sequence with distinct names; got {names}")
        object.__setattr__(self, "recipes", recipes)

    def build(self, rng=0, *, prefix="") -> dict:
        """Every figure of the family: ``{prefix + recipe name: Figure}``, from one context.

        ``rng`` goes to the family's ``context`` function.
        """
        ctx = self.context(rng)
        return {prefix + r.name: r.build(ctx) for r in self.recipes}

    def register(self, **kwargs):
        """Register the family in the figure set (a builder returning one Figure per recipe)."""
        return register(self.name, self.build, description=self.description, **kwargs)
