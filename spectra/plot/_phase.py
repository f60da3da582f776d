"""The phase diagram: regimes by the bound against measured growth rates over a grid."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .._core.validation import check_real, describe
from ._style import color, figure_and_axes, paper_style

__all__ = ["phase_diagram", "REGIMES"]


# -- phase diagram -----------------------------------------------------------------------------

#: Regime labels of :func:`spectra.regime`, plus "mixed" for cells whose replicates disagree.
REGIMES = ("vanishing guaranteed", "undetermined", "exploding possible", "mixed")
_REGIME_COLORS = {"vanishing guaranteed": "#CFE3F1",   # light blue
                  "undetermined": "#E5E5E5",           # light grey
                  "exploding possible": "#F8DCC0",     # light orange
                  "mixed": "#FFFFFF"}


def _columns(table):
    """A dict of columns (lists) from a mapping of columns or a sequence of row mappings."""
    if isinstance(table, (list, tuple)):
        if not table:
            raise ValueError("`table` must not be empty")
        if not all(isinstance(r, Mapping) for r in table):
            raise TypeError("`table` must be a mapping of columns or a sequence of row mappings; "
                            f"got a sequence holding {describe(next(r for r in table if not isinstance(r, Mapping)))}")
        keys = set().union(*[r.keys() for r in table])
        return {k: [r.get(k) for r in table] for k in keys}
    if hasattr(table, "keys") and hasattr(table, "__getitem__"):  # a dict or a pandas DataFrame
        return {k: list(np.asarray(table[k]).tolist()) for k in table.keys()}
    raise TypeError("`table` must be a mapping of columns (a dict or a DataFrame) or a sequence of "
                    f"row mappings; got {describe(table)}")


def _edges(g):
    """Cell edges for grid values ``g`` (sorted): halfway between neighbours, and as far
    beyond the ends as the neighbouring half-step (1/2 for a single value)."""
    if g.size == 1:
        return np.array([g[0] - 0.5, g[0] + 0.5])
    mid = (g[1:] + g[:-1]) / 2.0
    return np.concatenate([[g[0] - (mid[0] - g[0])], mid, [g[-1] + (g[-1] - mid[-1])]])


def phase_diagram(table, *, x="gain", y="activation", regime="regime", measured="measured",
                  stderr="stderr", measured_label=r"$\lambda_{\max}$", nsigma=2.0,
                  annotate=False, theory=None, ax=None):
    """Theoretical regimes and measured behaviour over a grid (gain x activation).

    Each cell's colour is the regime of Pascanu et al.'s conditions
    (:func:`spectra.regime`: vanishing guaranteed / undetermined /
    exploding possible); its marker is the sign of a measured growth rate
    (e.g. the largest Lyapunov exponent, or the decay rate of the gradient
    norm): up-triangle when it is above zero by more than ``nsigma``
    standard errors, down-triangle when below, a circle when zero is within
    the error.  The theory is a sufficient condition for vanishing and a
    necessary one for exploding, so "exploding possible" cells may well
    measure negative; a measured positive rate in a "vanishing guaranteed"
    cell would contradict the bound.

    Parameters
    ----------
    table : mapping of columns (dict, pandas DataFrame) or sequence of row mappings
        Tidy data, one row per grid point (or per replicate): the columns
        named by ``x`` (numbers), ``y`` (labels), ``regime`` (strings from
        :data:`REGIMES`), ``measured`` (numbers) and optionally ``stderr``.
        Rows sharing (x, y) are replicates: their mean is drawn, with the
        standard error of the mean from their spread (their own stderr
        column is then ignored); replicates whose regimes differ give
        "mixed".  Grid points without rows are left blank.  Rows as
        produced by ``spectra.sweep(...).rows()`` fit directly.
    x, y, regime, measured, stderr : str
        Column names.
    measured_label : str
        What the measured value is, for the legend.
    nsigma : float
        Significance, in standard errors, for the sign of the measurement.
    annotate : bool
        Write the measured mean and its standard error (``mean`` over
        ``± s.e.``) in each cell: the numbers behind each marker's
        significance.
    theory : mapping of y labels to numbers, optional
        A predicted critical ``x`` per row (e.g. the mean-field edge of chaos
        g_c of :func:`spectra.edge_of_chaos`), drawn as a vertical black bar
        across the row, placed by linear interpolation between the grid's
        columns (values outside the grid are not drawn).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        The regime colours as one mesh, the markers as one scatter
        collection per sign that occurs.  Grid values of ``x`` are drawn at
        their true positions on a linear axis (each cell reaches halfway to
        its neighbours), so an uneven grid looks uneven.

    Examples
    --------
    >>> import spectra
    >>> table = {"gain": [0.5, 2.0, 0.5, 2.0], "activation": ["tanh", "tanh", "sigmoid", "sigmoid"],
    ...          "regime": ["vanishing guaranteed", "exploding possible"] + ["vanishing guaranteed"] * 2,
    ...          "measured": [-0.7, 0.2, -1.5, -0.9], "stderr": [0.01, 0.02, 0.01, 0.01]}
    >>> fig = spectra.plot.phase_diagram(table)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['tanh', 'sigmoid']
    >>> fig.axes[0].get_xticks().tolist()
    [0.5, 2.0]
    """
    cols = _columns(table)
    for name in (x, y, regime, measured):
        if name not in cols:
            raise ValueError(f"`table` has no column {name!r}; it has {sorted(map(str, cols))}")
    N = len(cols[x])
    try:
        xs = np.asarray(cols[x], dtype=float)
        ms = np.asarray([np.nan if v is None else v for v in cols[measured]], dtype=float)
        ses = (np.asarray([np.nan if v is None else v for v in cols[stderr]], dtype=float)
               if stderr in cols else np.full(N, np.nan))
    except (TypeError, ValueError):
        raise TypeError(f"columns {x!r}, {measured!r} and {stderr!r} of `table` must hold numbers") from None
    if not np.all(np.isfinite(xs)):
        raise ValueError(f"column {x!r} of `table` must hold finite numbers")
    ys = [str(v) for v in cols[y]]
    regs = list(cols[regime])
    for rg in regs:
        if rg not in REGIMES:
            raise ValueError(f"column {regime!r} of `table` must hold regimes from {list(REGIMES)}; "
                             f"got {rg!r}")
    nsigma = check_real(nsigma, "nsigma", low=0.0)
    gx = np.unique(xs)
    gy = list(dict.fromkeys(ys))            # order of first appearance
    cell_regime = np.full((len(gy), len(gx)), -1)
    mean = np.full((len(gy), len(gx)), np.nan)
    err = np.full((len(gy), len(gx)), np.nan)
    groups = {}
    for i in range(N):
        groups.setdefault((gy.index(ys[i]), int(np.searchsorted(gx, xs[i]))), []).append(i)
    for (r, c), rows in groups.items():
        kinds = {regs[i] for i in rows}
        cell_regime[r, c] = REGIMES.index(kinds.pop() if len(kinds) == 1 else "mixed")
        vals = ms[rows]
        vals = vals[np.isfinite(vals)]
        if vals.size == 1:
            mean[r, c] = vals[0]
            err[r, c] = ses[rows][np.isfinite(ms[rows])][0]
        elif vals.size > 1:
            mean[r, c] = vals.mean()
            err[r, c] = vals.std(ddof=1) / math.sqrt(vals.size)
    fig, ax = figure_and_axes(ax, width="single", aspect=0.55 + 0.08 * len(gy))
    with paper_style():
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        cmap = ListedColormap([_REGIME_COLORS[k] for k in REGIMES]).with_extremes(bad="white")
        grid = np.ma.masked_less(cell_regime, 0)
        xe = _edges(gx)
        ax.pcolormesh(xe, np.arange(len(gy) + 1) - 0.5, grid,
                      cmap=cmap, vmin=-0.5, vmax=len(REGIMES) - 0.5, edgecolors="white",
                      linewidth=0.8)
        err0 = np.where(np.isfinite(err), err, 0.0)
        up = np.isfinite(mean) & (mean > nsigma * err0)
        down = np.isfinite(mean) & (mean < -nsigma * err0)
        flat = np.isfinite(mean) & ~up & ~down
        R, C = np.indices(mean.shape)
        X = gx[C]
        marks = [(up, "^", color("vermillion"), f"{measured_label} > 0"),
                 (down, "v", color("blue"), f"{measured_label} < 0"),
                 (flat, "o", color("black"), rf"{measured_label} $\approx$ 0")]
        handles = [Patch(facecolor=_REGIME_COLORS[k], edgecolor="0.6", linewidth=0.4, label=k)
                   for k in REGIMES if np.any(cell_regime == REGIMES.index(k))]
        for mask, m, c, label in marks:
            if np.any(mask):
                ax.scatter(X[mask], R[mask], marker=m, s=18, color=c, linewidths=0, zorder=3,
                           label=label)
        if annotate:
            for r, c in zip(*np.nonzero(np.isfinite(mean))):
                text = f"{mean[r, c]:.2f}"
                if np.isfinite(err[r, c]):      # to the mean's two decimals, compact (±.03, ±<.01)
                    se = f"{err[r, c]:.2f}" if err[r, c] >= 0.005 else "<0.01"
                    text += "\n\u00b1" + (se.replace("0.", ".", 1) if err[r, c] < 0.995 else se)
                ax.annotate(text, xy=(gx[c], r), xytext=(0, -6), textcoords="offset points",
                            ha="center", va="top", fontsize=5, color="0.25", linespacing=1.0)
        first = True
        for lab, xc in (theory or {}).items():
            if str(lab) in gy and gx[0] <= float(xc) <= gx[-1]:
                r = gy.index(str(lab))
                pos = float(xc)                 # gains are drawn at their true positions
                ax.plot([pos, pos], [r - 0.42, r + 0.42], color=color("black"), linewidth=1.4,
                        zorder=4, label="mean-field $g_c$" if first else None)
                first = False
        ax.set_xticks(gx, [f"{v:g}" for v in gx])
        ax.set_yticks(np.arange(len(gy)), gy)
        ax.set_xlim(xe[0], xe[-1])
        ax.set_ylim(len(gy) - 0.5, -0.5)
        ax.tick_params(length=0)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        scat, scat_labels = ax.get_legend_handles_labels()
        title = f"markers: sign at {nsigma:g} s.e."
        if annotate:
            title += "\nnumbers: mean \u00b1 s.e."
        ax.legend(handles + scat, [h.get_label() for h in handles] + scat_labels,
                  loc="center left", bbox_to_anchor=(1.01, 0.5), handlelength=1.2,
                  borderaxespad=0.0, title=title, title_fontsize=6, alignment="left")
    return fig
