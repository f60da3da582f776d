"""The shared paper style: sizes, a colour-blind-safe palette, output helpers.

Every figure function of :mod:`spectra.plot` draws through :func:`figure_and_axes`
and the palette below; none calls ``show()`` or ``savefig()``; scripts save
with :func:`save`.
"""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

__all__ = ["PALETTE", "WIDTHS", "paper_style", "figure_and_axes", "save", "color", "log_axis",
           "decade_ticks"]

# Okabe & Ito (2008), "Color universal design": distinguishable under the common
# colour-vision deficiencies and in greyscale by lightness.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
_CYCLE = ["blue", "vermillion", "green", "orange", "purple", "sky", "black", "yellow"]

# Text widths in inches: one column and two columns of a typical two-column paper.
WIDTHS = {"single": 3.4, "double": 7.0}

_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.2,
    "lines.markersize": 3,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42,   # embed TrueType: editable text in vector output
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "figure.dpi": 150,
    "savefig.dpi": 300,
}


def color(i) -> str:
    """The i-th colour of the palette cycle (or a palette colour by name)."""
    if isinstance(i, str):
        return PALETTE[i]
    return PALETTE[_CYCLE[i % len(_CYCLE)]]


@contextlib.contextmanager
def paper_style():
    """Context manager applying the paper rc settings and colour cycle (restored on exit)."""
    rc = dict(_RC)
    rc["axes.prop_cycle"] = mpl.cycler(color=[PALETTE[c] for c in _CYCLE])
    with mpl.rc_context(rc):
        yield


def figure_and_axes(ax=None, *, width="single", aspect=0.75, nrows=1, ncols=1):
    """Return ``(fig, axes)``: the given ``ax`` and its figure, or a new styled figure.

    New figures are created without pyplot (no global state, no GUI
    backend): ``width`` is ``"single"`` or ``"double"`` (column widths in
    inches, see ``WIDTHS``) or a number of inches; each panel is
    ``width / ncols`` wide and ``aspect`` times that high.
    """
    if ax is not None:
        if not hasattr(ax, "figure") or not hasattr(ax, "plot"):
            raise TypeError(f"`ax` must be a matplotlib Axes; got {type(ax).__name__}")
        return ax.figure, ax
    if isinstance(width, str):
        if width not in WIDTHS:
            raise ValueError(f"`width` must be one of {sorted(WIDTHS)} or a number of inches; got {width!r}")
        w = WIDTHS[width]
    else:
        w = float(width)
        if not w > 0:
            raise ValueError(f"`width` must be positive; got {width!r}")
    with paper_style():
        fig = Figure(figsize=(w, aspect * w * nrows / ncols), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def save(fig, path, *, formats=("pdf", "png"), dpi=None):
    """Write ``fig`` as ``path`` with each suffix in ``formats`` (vector PDF and PNG).

    Parameters
    ----------
    fig : matplotlib Figure
    path : str or os.PathLike
        The file name; its suffix, if any, is replaced by each format's.
    formats : sequence of str
        Any format matplotlib writes (``"pdf"``, ``"png"``, ``"svg"``, ...).
    dpi : float, optional
        Resolution of raster output (default 300).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.  Metadata that
        changes between runs (creation dates, the software version in PNGs)
        is left out, so the same figure gives the same bytes.
    """
    if isinstance(formats, str):
        formats = (formats,)
    if dpi is not None and not (isinstance(dpi, (int, float)) and not isinstance(dpi, bool)
                                and math.isfinite(dpi) and dpi > 0):
        raise ValueError(f"`dpi` must be a positive number; got {dpi!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with paper_style(), _quiet_font_subsetting(), _layout_fixed(fig):
        for fmt in formats:
            out = path.with_suffix("." + fmt)
            meta = {"CreationDate": None} if fmt == "pdf" else ({"Software": None} if fmt == "png" else None)
            fig.savefig(out, format=fmt, metadata=meta, **({} if dpi is None else {"dpi": dpi}))
            written.append(out)
    return written


@contextlib.contextmanager
def _layout_fixed(fig):
    """Lay ``fig`` out once, and keep that layout while it is saved in several formats.

    A layout engine (constrained layout) re-runs at every draw and starts
    from the positions the previous draw left, measured with that draw's
    renderer; so without this the PNG of a figure depends on whether a PDF
    was written first.  The engine is restored afterwards.
    """
    engine = fig.get_layout_engine()
    if engine is None:
        yield
        return
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    try:
        yield
    finally:
        fig.set_layout_engine(engine)


@contextlib.contextmanager
def _quiet_font_subsetting():
    """Silence fontTools' notes about the fonts' own metadata while a PDF embeds them.

    (Some shipped fonts carry a 'created' date fontTools finds implausibly
    early; the note says nothing about the figure.)
    """
    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# float64 spans about 1e-308 .. 1e308; keep a margin for tick computations
_LOG_LIMIT = math.log(1e300)


def log_axis(ax, *logs, which="y", label=None):
    """Put natural-log data on a logarithmic axis; return a function mapping logs to plot values.

    When every finite value of ``logs`` lies within float64's range (about
    1e-300 to 1e300), the axis gets matplotlib's log scale and the function
    is ``exp``.  Products of step Jacobians routinely leave that range
    (0.5^2000); then the axis stays linear, shows ``log10`` of the data with
    ticks labelled ``10^k``, and the function is ``x / ln 10``.  Values of
    ``-inf`` (exact zeros) cannot be drawn on a log axis and become NaN
    (a gap).

    Parameters
    ----------
    ax : matplotlib Axes
    *logs : array_like
        All natural-log data that will be drawn on this axis.
    which : {"x", "y"}
    label : str, optional
        The axis label.

    Returns
    -------
    callable
        ``to_plot(log_values) -> ndarray``.
    """
    if which not in ("x", "y"):
        raise ValueError(f"`which` must be 'x' or 'y'; got {which!r}")
    finite = [np.asarray(a, dtype=float) for a in logs]
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in finite]) if finite else np.empty(0)
    fits = finite.size == 0 or float(np.max(np.abs(finite))) <= _LOG_LIMIT
    set_scale = ax.set_yscale if which == "y" else ax.set_xscale
    axis = ax.yaxis if which == "y" else ax.xaxis
    if fits:
        set_scale("log")
        decade_ticks(ax, which)

        def to_plot(x):
            x = np.asarray(x, dtype=float)
            with np.errstate(over="ignore"):
                return np.where(x == -np.inf, np.nan, np.exp(x))
    else:
        from matplotlib.ticker import FuncFormatter

        decade_ticks(ax, which, exponents=True)
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"$10^{{{int(round(v))}}}$"))

        def to_plot(x):
            x = np.asarray(x, dtype=float)
            return np.where(np.isfinite(x), x / math.log(10.0), np.nan)
    if label is not None:
        (ax.set_ylabel if which == "y" else ax.set_xlabel)(label)
    return to_plot


#: Strides between labelled decades, in decades: 1, 2, 5, 10, 20, 50, ...
def _stride(k0, k1, max_ticks):
    """The smallest stride leaving at most ``max_ticks`` of its multiples in [k0, k1]."""
    step = 1
    while True:
        for m in (1, 2, 5):
            s = m * step
            if k1 // s - (-(-k0 // s)) + 1 <= max_ticks:
                return s
        step *= 10


def _decade_locator(exponents, max_ticks):
    from matplotlib.ticker import Locator

    class DecadeLocator(Locator):
        """Ticks at 10^k for whole k, every ``stride`` decades with k a multiple of the stride."""

        def __call__(self):
            return self.tick_values(*self.axis.get_view_interval())

        def tick_values(self, vmin, vmax):
            lo, hi = sorted((float(vmin), float(vmax)))
            if not exponents:
                if not hi > 0:
                    return np.array([])
                tiny = np.finfo(float).tiny
                lo, hi = math.log10(max(lo, tiny)), math.log10(hi)
            if not (math.isfinite(lo) and math.isfinite(hi)):
                return np.array([])
            k0, k1 = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
            if k1 < k0:                      # less than a decade in view: the decades around it
                k0, k1 = math.floor(lo), math.ceil(hi)
            s = _stride(k0, k1, max_ticks)
            ks = np.arange(math.ceil(k0 / s) * s, k1 + 1, s, dtype=float)
            return ks if exponents else 10.0 ** ks

    return DecadeLocator()


def decade_ticks(ax, which="y", *, exponents=False, max_ticks=9):
    """Major ticks of a logarithmic axis at whole decades only: 10^k, k a multiple of the stride.

    The stride is the smallest of 1, 2, 5, 10, 20, 50, ... decades that
    keeps at most ``max_ticks`` ticks, and every tick is a multiple of it
    (10^-30, 10^-20, ..., never 10^-29, 10^-24, ...).  Every logarithmic
    axis of :mod:`spectra.plot` gets its ticks here (through
    :func:`log_axis` or directly).  Call it after setting the scale:
    matplotlib resets the locator with the scale.

    Parameters
    ----------
    ax : matplotlib Axes
    which : {"x", "y"}
    exponents : bool
        The axis is linear and shows log10 of the data (as :func:`log_axis`
        does beyond float64's range): ticks at the integers k instead of 10^k.
    max_ticks : int
        At most this many major ticks.

    Returns
    -------
    matplotlib.ticker.Locator
        The locator set on the axis.

    Examples
    --------
    >>> import spectra
    >>> fig, ax = spectra.plot.figure_and_axes()
    >>> _ = ax.plot([0, 1], [1e-29, 1e11]); ax.set_yscale("log")
    >>> loc = spectra.plot.decade_ticks(ax)
    >>> [f"{v:.0e}" for v in loc.tick_values(1e-29, 1e11)]
    ['1e-25', '1e-20', '1e-15', '1e-10', '1e-05', '1e+00', '1e+05', '1e+10']
    """
    if which not in ("x", "y"):
        raise ValueError(f"`which` must be 'x' or 'y'; got {which!r}")
    if isinstance(max_ticks, bool) or not isinstance(max_ticks, int) or max_ticks < 2:
        raise ValueError(f"`max_ticks` must be an integer >= 2; got {max_ticks!r}")
    axis = ax.yaxis if which == "y" else ax.xaxis
    locator = _decade_locator(bool(exponents), max_ticks)
    axis.set_major_locator(locator)
    return locator
