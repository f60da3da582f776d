"""One function per figure kind: activation derivatives, eigenvalues, gradient norms.

Each function takes results (or the data to compute them from) and an optional
``ax``, draws in the shared paper style, and returns the matplotlib Figure.
None calls ``show()``, ``savefig()`` or anything in ``matplotlib.pyplot``:
new figures are plain :class:`matplotlib.figure.Figure` objects, so nothing
is global and nothing needs a display.  Save with :func:`spectra.plot.save`.

The other families live beside this module: singular-value and Lyapunov
spectra in :mod:`._lyapunov`, the phase diagram in :mod:`._phase`; the
label-or-mapping helper :func:`_items` is shared with them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..cells.activations import Activation, activation as _activation
from ..analysis.bounds import BoundReport
from ..analysis.products import NormProfile
from .._core.validation import as_array, check_real, describe
from ._style import color, figure_and_axes, log_axis, paper_style

__all__ = ["activation_derivatives", "eigenvalues", "gradient_norms"]


def _type_name(kind, old=None):
    """A class's name for messages, with its 0.1 name when that differs (a renamed result class)."""
    new = kind.__name__
    return new if old is None or old == new else f"{new} ({old} in 0.1)"


def _items(data, name, kinds, what=None):
    """``[(label or None, item)]`` from one item, a sequence of items or a mapping label -> item.

    ``what`` names the expected kinds in messages (default their class names).
    """
    if isinstance(data, kinds):
        return [(None, data)]
    if isinstance(data, Mapping):
        items = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, (list, tuple)):
        items = [(None, v) for v in data]
    else:
        items = [(None, data)]
    if not items:
        raise ValueError(f"`{name}` must not be empty")
    for label, v in items:
        if not isinstance(v, kinds):
            if what is None:
                what = " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))
            where = f"`{name}`" if label is None else f"`{name}[{label!r}]`"
            raise TypeError(f"{where} must be a {what} (or a mapping of labels to them); got "
                            f"{describe(v)}")
    return items


# -- activation derivatives -----------------------------------------------------------------

def activation_derivatives(activations=("tanh", "sigmoid"), *, x=None, ax=None):
    """f'(x) of each activation with its bound gamma_h = sup|f'| marked.

    The diagram of the seed text (Pascanu et al. 2013, eq. 10-11): tanh' is
    bounded by 1 and sigmoid' by 1/4, which is what makes
    ``||dh_t/dh_k|| <= (gamma_W gamma_h)^(t-k)``.

    Parameters
    ----------
    activations : str, Activation, or sequence of them
    x : (m,) array_like, optional
        Abscissae (default 601 points on [-6, 6]).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two lines per activation: f' (solid) and gamma_h (dashed, labelled).

    Examples
    --------
    >>> import spectra
    >>> fig = spectra.plot.activation_derivatives(["tanh", "sigmoid"])
    >>> len(fig.axes[0].lines)
    4
    """
    if isinstance(activations, (str, Activation)):
        activations = [activations]
    if not isinstance(activations, (list, tuple)) or not activations:
        raise TypeError(f"`activations` must be a name, an Activation or a non-empty sequence of "
                        f"them; got {describe(activations)}")
    acts = []
    for a in activations:
        if not isinstance(a, (str, Activation)):
            raise TypeError(f"`activations` must hold names or Activations; got {describe(a)}")
        acts.append(_activation(a))
    x = np.linspace(-6.0, 6.0, 601) if x is None else as_array(x, "x", ndim=1, allow_empty=False)
    fig, ax = figure_and_axes(ax)
    with paper_style():
        top = 0.0
        for i, act in enumerate(acts):
            c = color(i)
            ax.plot(x, act.df(x), color=c, label=f"{act.name}$'$")
            g = act.gamma
            ax.axhline(g, color=c, linestyle="--", linewidth=0.8)
            ax.annotate(rf"$\gamma_h = {_nice(g)}$", xy=(x[-1], g), xytext=(-2, 2),
                        textcoords="offset points", ha="right", va="bottom", color=c, fontsize=7)
            top = max(top, g)
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]), top=1.15 * top if top > 0 else None)
        ax.set_xlabel("$x$")
        ax.set_ylabel("$f'(x)$")
        ax.legend(loc="center left", bbox_to_anchor=(0.0, 0.6))
    return fig


def _nice(g):
    """1/4 rather than 0.25 where a small fraction is exact."""
    for den in (1, 2, 3, 4, 8):
        num = g * den
        if abs(num - round(num)) < 1e-12 and round(num) != 0:
            return str(int(round(num))) if den == 1 else rf"{int(round(num))}/{den}"
    return f"{g:.3g}"


# -- eigenvalues in the complex plane --------------------------------------------------------

def _eigs(values, name):
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"`{name}` must be a square matrix or an array of eigenvalues; got "
                        f"{describe(values)}")
    if arr.dtype.kind != "c" and arr.ndim == 2 and arr.shape[0] == arr.shape[1]:
        W = as_array(arr, name, ndim=2)
        return np.linalg.eigvals(W)
    if arr.dtype.kind != "c" and arr.ndim == 2 and min(arr.shape) > 1:
        raise ValueError(f"`{name}` must be a square matrix or eigenvalues (complex, or a real "
                         f"vector); got a real {arr.shape[0]} x {arr.shape[1]} matrix, which has "
                         f"no eigenvalues")
    lam = np.asarray(arr, dtype=complex).ravel()
    if not np.all(np.isfinite(lam)):
        raise ValueError(f"`{name}` must be finite")
    return lam


def eigenvalues(values, *, ax=None, circle=True, size=6.0):
    """Eigenvalues in the complex plane, with the unit circle.

    Parameters
    ----------
    values : array_like or mapping of labels to array_like
        A real square matrix (W, or a step Jacobian J_t), whose eigenvalues
        are computed, or eigenvalues themselves (a complex array of any
        shape, e.g. :func:`spectra.step_eigenvalues` output).  A mapping
        draws several sets in the palette's colours, labelled.
    ax : matplotlib Axes, optional
    circle : bool
        Draw the unit circle |lambda| = 1 (dashed): inside it a linear
        recurrence forgets, outside it grows.
    size : float
        Marker area in points^2.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter collection per set; the circle is a line.

    Examples
    --------
    >>> import spectra
    >>> W = spectra.init.orthogonal(50, rng=0)
    >>> fig = spectra.plot.eigenvalues({"orthogonal": W, "gaussian": spectra.init.gaussian(50, rng=0)})
    >>> len(fig.axes[0].collections), fig.axes[0].get_xlabel()
    (2, 'Re $\\\\lambda$')
    """
    sets = _items(values, "values", (np.ndarray, list, tuple)) if isinstance(values, Mapping) \
        else [(None, values)]
    lams = [(label, _eigs(v, "values" if label is None else f"values[{label!r}]")) for label, v in sets]
    check_real(size, "size", low=0.0, low_open=True)
    fig, ax = figure_and_axes(ax, aspect=1.0)
    with paper_style():
        r = 1.0
        for i, (label, lam) in enumerate(lams):
            ax.scatter(lam.real, lam.imag, s=size, color=color(i), linewidths=0, label=label,
                       alpha=0.85, zorder=3)
            if lam.size:
                r = max(r, float(np.max(np.abs(lam))))
        if circle:
            th = np.linspace(0.0, 2.0 * np.pi, 361)
            ax.plot(np.cos(th), np.sin(th), color=color("black"), linestyle="--", linewidth=0.7,
                    zorder=2)
        lim = 1.2 * r
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.axhline(0.0, color="0.8", linewidth=0.5, zorder=1)
        ax.axvline(0.0, color="0.8", linewidth=0.5, zorder=1)
        ax.set_xlabel(r"Re $\lambda$")
        ax.set_ylabel(r"Im $\lambda$")
        if any(label is not None for label, _ in lams):
            ax.legend(loc="upper right", markerscale=2.0, handletextpad=0.1, borderaxespad=0.1,
                      labelspacing=0.2)
    return fig


# -- gradient norms against lag --------------------------------------------------------------

# line style, width, opacity, marker: the classic bound is a wide faint band under the others,
# so it stays visible where the trajectory bound coincides with it; the trajectory bound is
# dashed with open markers, so it can be told from the band even where it lies inside it
_BOUND_STYLES = {"exact": ("-", 1.2, 1.0, None), "trajectory": ("--", 0.9, 1.0, "o"),
                 "classic": ("-", 3.0, 0.3, None)}
_MARKS = 8          # markers along each trajectory-bound line
_BOUND_NAMES = {"exact": "exact", "trajectory": "trajectory bound", "classic": "classic bound"}


def gradient_norms(reports, *, bounds=("classic", "trajectory"), ax=None):
    """``||dh_t/dh_{t-lag}||_2`` against the lag, with the classic and trajectory bounds.

    Parameters
    ----------
    reports : BoundReport, NormProfile, or a mapping of labels to them (or a list)
        From :func:`spectra.bound_report` (exact norms and bounds) or
        :func:`spectra.gradient_norm_profile` (exact norms only), e.g. one
        per gain: ``{"gain 0.9": rep1, "gain 1.2": rep2}``.
    bounds : sequence of {"classic", "trajectory"}
        Which bounds of a BoundReport to draw.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        A log y-axis (or, when a norm leaves float64's range, a linear axis
        of log10 values with ticks labelled 10^k); one line per report
        and per drawn bound, colour by report; exact solid, trajectory bound
        dashed, classic bound a wide faint band.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN.random(16, init="orthogonal", gain=1.1, rng=0)
    >>> rep = spectra.bound_report(cell.run(steps=40, h0=np.full(16, 0.1)))
    >>> fig = spectra.plot.gradient_norms({"gain 1.1": rep})
    >>> fig.axes[0].get_yscale(), len(fig.axes[0].lines)
    ('log', 3)
    """
    items = _items(reports, "reports", (BoundReport, NormProfile))
    if isinstance(bounds, str):
        bounds = (bounds,)
    bounds = tuple(bounds)
    for b in bounds:
        if b not in ("classic", "trajectory"):
            raise ValueError(f"`bounds` must hold 'classic' and/or 'trajectory'; got {b!r}")
    series = []  # (label, colour index, kind, lags, logs)
    for i, (label, rep) in enumerate(items):
        logs = rep.exact if isinstance(rep, BoundReport) else rep.log_norms
        if np.ndim(logs) != 1:
            raise ValueError(f"`reports` must be single (unbatched) results; got values of shape "
                             f"{np.shape(logs)} (select one sequence first)")
        series.append((label, i, "exact", rep.lags, logs))
        if isinstance(rep, BoundReport):
            for b in ("trajectory", "classic"):
                if b in bounds and getattr(rep, b) is not None:
                    series.append((label, i, b, rep.lags, getattr(rep, b)))
    fig, ax = figure_and_axes(ax)
    with paper_style():
        to_plot = log_axis(ax, *[s[4] for s in series],
                           label=r"$\|\partial h_t / \partial h_k\|_2$")
        for label, i, kind, lags, logs in series:
            ls, lw, alpha, marker = _BOUND_STYLES[kind]
            every = max(1, len(lags) // _MARKS)
            ax.plot(lags, to_plot(logs), color=color(i), linestyle=ls, linewidth=lw, alpha=alpha,
                    marker=marker, markevery=(every // 2, every), markersize=3.5,
                    markerfacecolor="white", markeredgewidth=0.8,
                    zorder=1 if kind == "classic" else 2, label=label if kind == "exact" else None)
        ax.set_xlabel(r"lag $t - k$")
        ax.set_xlim(left=0)
        _two_legends(ax, [k for k in ("exact", "trajectory", "classic")
                          if any(s[2] == k for s in series)],
                     any(label is not None for label, _ in items))
    return fig


def _two_legends(ax, kinds, labelled):
    """A legend of the reports (by colour, inside: matplotlib's least crowded corner) and one
    of the line styles (by kind, in a row above the axes, clear of every curve and band)."""
    from matplotlib.lines import Line2D

    first = ax.legend(loc="best") if labelled else None
    if len(kinds) > 1:
        if first is not None:
            ax.add_artist(first)
        handles = [Line2D([], [], color="0.3", linestyle=ls, linewidth=lw, alpha=alpha,
                          marker=marker, markersize=3.5, markerfacecolor="white",
                          markeredgewidth=0.8)
                   for ls, lw, alpha, marker in (_BOUND_STYLES[k] for k in kinds)]
        ax.legend(handles, [_BOUND_NAMES[k] for k in kinds], loc="lower left",
                  bbox_to_anchor=(0.0, 1.01), ncol=len(kinds), borderaxespad=0.0,
                  handlelength=2.2, columnspacing=1.0)
