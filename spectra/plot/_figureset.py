"""The figure set: a registry of named figure builders, and one call that writes them all.

A *builder* is a function ``builder(rng) -> Figure`` (or a dict of Figures,
written as ``NAME-KEY``) that computes its data and draws it with the figure
functions of :mod:`spectra.plot`.  Register one with :func:`register`; the
``spectra figures`` command and ``scripts/make_figures.py`` write every
registered figure with :func:`make_figure_set`.

Determinism: each builder receives a ``numpy.random.Generator`` seeded from
the set's ``seed`` and the figure's *name* (not its position), so a figure is
the same whether it is made alone (``names=[...]``) or with the whole set,
and the same seed gives byte-identical files.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .._core.validation import check_int, describe
from ._style import paper_style, save

__all__ = ["register", "unregister", "figure_names", "figure_specs", "build_figure", "make_figure_set",
           "FigureSpec"]

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


def _generator(seed, name):
    # crc32 of the name: stable across runs and Python versions (unlike hash())
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode())]))


def build_figure(name, *, seed=0) -> dict:
    """Build one registered figure; returns ``{file stem: Figure}``.

    Parameters
    ----------
    name : str
    seed : int
        With the name, seeds the builder's generator.
    """
    _check_name(name)
    seed = check_int(seed, "seed", minimum=0)
    if name not in _REGISTRY:
        raise ValueError(f"no figure named {name!r}; known figures: {', '.join(_REGISTRY)}")
    from matplotlib.figure import Figure

    with paper_style():   # what a builder draws itself (titles, extra lines) is in the style too
        out = _REGISTRY[name].builder(_generator(seed, name))

    if isinstance(out, Figure):
        return {name: out}
    if isinstance(out, dict) and out and all(isinstance(v, Figure) for v in out.values()):
        return {f"{name}-{_check_name(k, f'a key of figure {name!r}')}": v for k, v in out.items()}
    raise TypeError(f"the builder of figure {name!r} must return a Figure or a non-empty dict of "
                    f"Figures; got {describe(out)}")


def make_figure_set(out_dir, *, seed=0, formats=("pdf", "png"), names=None, progress=None,
                    dpi=None) -> list:
    """Build every registered figure (or those in ``names``) and write them to ``out_dir``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Created if missing; files are ``NAME.FORMAT`` (``NAME-KEY.FORMAT``
        for builders returning several figures).
    seed : int
        The same seed gives byte-identical files.
    formats : sequence of str
        Default vector PDF and PNG.
    names : sequence of str, optional
        A subset of :func:`figure_names` (in the order given).
    progress : callable, optional
        Called as ``progress(done, total, name)`` after each figure.
    dpi : float, optional
        Resolution of raster formats (default 300).

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
    seed = check_int(seed, "seed", minimum=0)
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
            written += _write_one(name, seed, out_dir, formats, dpi, stems)
            if progress is not None:
                progress(done, len(names), name)
    return written


def _write_one(name, seed, out_dir, formats, dpi, stems):
    """Build figure ``name`` and save each of its figures; ``stems`` guards against overwrites."""
    written = []
    for stem, fig in build_figure(name, seed=seed).items():
        if stem in stems:
            raise ValueError(f"figures {stems[stem]!r} and {name!r} both write {stem!r}; "
                             "rename one of them")
        stems[stem] = name
        written += save(fig, out_dir / stem, formats=formats, dpi=dpi)
    return written
