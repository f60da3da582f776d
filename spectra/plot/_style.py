"""The shared paper style: sizes, a colour-blind-safe palette, output helpers.

Every figure function of :mod:`spectra.plot` draws through :func:`figure_and_axes`
and the palette below; none calls ``show()`` or ``savefig()``; scripts save
with :func:`save`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

__all__ = ["PALETTE", "WIDTHS", "paper_style", "figure_and_axes", "save", "color"]

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


def save(fig, path, *, formats=("pdf", "png")):
    """Write ``fig`` as ``path`` with each suffix in ``formats`` (vector PDF and PNG).

    Returns the list of paths written.  Metadata that changes between runs
    (creation dates) is removed, so the same figure gives the same file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with paper_style():
        for fmt in formats:
            out = path.with_suffix("." + fmt)
            meta = {"CreationDate": None} if fmt == "pdf" else ({"Software": None} if fmt == "png" else None)
            fig.savefig(out, format=fmt, metadata=meta)
            written.append(out)
    return written
