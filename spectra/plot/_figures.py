"""One function per figure kind.

Each function takes results (or the data to compute them from) and an optional
``ax``, draws in the shared paper style, and returns the matplotlib Figure.
None calls ``show()``, ``savefig()`` or anything in ``matplotlib.pyplot``:
new figures are plain :class:`matplotlib.figure.Figure` objects, so nothing
is global and nothing needs a display.  Save with :func:`spectra.plot.save`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..cells.activations import Activation, activation as _activation
from ..analysis.bounds import BoundReport
from ..analysis.lyapunov import LyapunovResult
from ..analysis.products import NormProfile, product_log_singular_values
from .._core.validation import as_array, check_real, describe
from ._style import color, figure_and_axes, log_axis, paper_style

__all__ = ["activation_derivatives", "eigenvalues", "gradient_norms", "singular_value_spectra",
           "lyapunov_exponents", "lyapunov_convergence", "phase_diagram", "REGIMES"]


def _items(data, name, kinds):
    """``[(label or None, item)]`` from one item, a sequence of items or a mapping label -> item."""
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

# line style, width, opacity: the classic bound is a wide faint band under the others, so it
# stays visible where the trajectory bound coincides with it
_BOUND_STYLES = {"exact": ("-", 1.2, 1.0), "trajectory": ("--", 0.9, 1.0), "classic": ("-", 3.0, 0.3)}
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
            ls, lw, alpha = _BOUND_STYLES[kind]
            ax.plot(lags, to_plot(logs), color=color(i), linestyle=ls, linewidth=lw, alpha=alpha,
                    zorder=1 if kind == "classic" else 2, label=label if kind == "exact" else None)
        ax.set_xlabel(r"lag $t - k$")
        ax.set_xlim(left=0)
        _two_legends(ax, [k for k in ("exact", "trajectory", "classic")
                          if any(s[2] == k for s in series)],
                     any(label is not None for label, _ in items))
    return fig


def _two_legends(ax, kinds, labelled):
    """A legend of the reports (by colour) and one of the line styles (by kind)."""
    from matplotlib.lines import Line2D

    first = ax.legend(loc="lower left") if labelled else None
    if len(kinds) > 1:
        if first is not None:
            ax.add_artist(first)
        handles = [Line2D([], [], color="0.3", linestyle=_BOUND_STYLES[k][0],
                          linewidth=_BOUND_STYLES[k][1], alpha=_BOUND_STYLES[k][2]) for k in kinds]
        ax.legend(handles, [_BOUND_NAMES[k] for k in kinds], loc="upper left")


# -- singular value spectra of dh_t/dh_k -----------------------------------------------------

def singular_value_spectra(J, lags=None, *, t=None, per_step=False, ax=None):
    """The singular values of ``dh_t/dh_{t-lag}`` for several lags.

    Parameters
    ----------
    J : mapping of lag -> log singular values, or Trajectory / sequence of step Jacobians
        Either results (natural logs, e.g. from
        :func:`spectra.product_log_singular_values`) keyed by lag, or the
        Jacobians to compute them from, at ``lags``.
    lags : sequence of int, optional
        With a trajectory: the lags (default 1 and powers of 4 up to t).
    t : int, optional
        With a trajectory: the end of the span (default T).
    per_step : bool
        Plot ``log(sigma_i) / lag`` on a linear axis instead of sigma_i on a
        log axis: as the lag grows these converge to the Lyapunov exponents
        (draw them on the same axes with :func:`lyapunov_exponents`).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One line (with markers) per lag, against the index i = 1, 2, ...

    Examples
    --------
    >>> import numpy as np, spectra
    >>> J = 1.2 * np.random.default_rng(0).standard_normal((64, 8, 8)) / np.sqrt(8)
    >>> fig = spectra.plot.singular_value_spectra(J, [1, 8, 64])
    >>> len(fig.axes[0].lines), fig.axes[0].get_yscale()
    (3, 'log')
    """
    if isinstance(J, Mapping):
        if lags is not None or t is not None:
            raise TypeError("`lags` and `t` apply only when `J` is a trajectory or Jacobians; "
                            "a mapping already names its lags")
        if not J:
            raise ValueError("`J` must not be empty")
        spectra_ = []
        for lag, sv in J.items():
            lag = _lag(lag)
            try:
                sv = np.asarray(sv, dtype=float)
            except (TypeError, ValueError):
                raise TypeError(f"`J[{lag}]` must be an array of log singular values; got "
                                f"{describe(sv)}") from None
            if sv.ndim != 1 or sv.size == 0:
                raise ValueError(f"`J[{lag}]` must be a non-empty 1-D array of log singular values; "
                                 f"got shape {sv.shape}")
            if np.any(np.isnan(sv) | (sv == np.inf)):
                raise ValueError(f"`J[{lag}]` must hold finite log singular values (-inf for zeros)")
            spectra_.append((lag, sv))
    else:
        from ..jacobians.structured import as_jacobian_sequence

        seq = as_jacobian_sequence(J)
        t, _ = seq.check_span(t, 0)
        if t == 0:
            raise ValueError("`J` must have at least one step")
        if lags is None:
            lags = sorted({1, *[4 ** j for j in range(1, 8) if 4 ** j < t], t})
        if isinstance(lags, (int, np.integer)):
            lags = [lags]
        spectra_ = []
        for lag in lags:
            lag = _lag(lag)
            if lag > t:
                raise ValueError(f"`lags` must lie in 1..t = 1..{t}; got {lag}")
            spectra_.append((lag, product_log_singular_values(seq, t=t, k=t - lag)))
    spectra_.sort(key=lambda p: p[0])
    fig, ax = figure_and_axes(ax)
    with paper_style():
        if per_step:
            to_plot = (lambda v, lag: np.where(np.isfinite(v), v / lag, np.nan))
            ax.set_ylabel(r"$\log \sigma_i \,/\, (t - k)$")
            ax.axhline(0.0, color="0.8", linewidth=0.5, zorder=1)
        else:
            f = log_axis(ax, *[s for _, s in spectra_], label=r"$\sigma_i(\partial h_t/\partial h_k)$")
            to_plot = (lambda v, lag: f(v))
        for i, (lag, sv) in enumerate(spectra_):
            idx = np.arange(1, sv.size + 1)
            ax.plot(idx, to_plot(sv, lag), color=color(i), marker="o", markersize=2.0,
                    linewidth=0.9, label=f"lag {lag}")
        ax.set_xlabel("index $i$")
        ax.legend(loc="lower left")
    return fig


def _lag(lag, what="lags"):
    if isinstance(lag, (bool, np.bool_)) or not isinstance(lag, (int, np.integer)):
        raise TypeError(f"{what} must be positive integers; got {describe(lag)}")
    if lag < 1:
        raise ValueError(f"{what} must be positive integers; got {lag}")
    return int(lag)


# -- Lyapunov exponents ------------------------------------------------------------------------

def _lyap_items(results):
    items = _items(results, "result", LyapunovResult)
    for label, r in items:
        if r.exponents.ndim != 1:
            raise ValueError("`result` must be a single (unbatched) LyapunovResult; got exponents "
                             f"of shape {r.exponents.shape}")
    return items


def lyapunov_exponents(result, *, nsigma=2.0, colors=None, ax=None):
    """The Lyapunov spectrum with error bars (``nsigma`` standard errors).

    Parameters
    ----------
    result : LyapunovResult, or a mapping of labels to them
        From :func:`spectra.lyapunov_spectrum` (unbatched).
    nsigma : float
        Half-width of the error bars in standard errors.  An infinite
        standard error (fewer than two blocks) draws no bar.
    colors : sequence of colours, optional
        One per result (default the palette in order); useful when drawing
        over another figure function's lines.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One error-bar series per result against the index i = 1..k, and the
        zero line.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> J = np.random.default_rng(0).standard_normal((400, 6, 6)) / np.sqrt(6)
    >>> fig = spectra.plot.lyapunov_exponents(spectra.lyapunov_spectrum(J))
    >>> fig.axes[0].get_ylabel()
    '$\\\\lambda_i$ (per step)'
    """
    items = _lyap_items(result)
    nsigma = check_real(nsigma, "nsigma", low=0.0)
    if colors is None:
        colors = [color(i) for i in range(len(items))]
    elif isinstance(colors, str) or len(colors) != len(items):
        raise ValueError(f"`colors` must be a sequence of {len(items)} colours (one per result); "
                         f"got {colors!r}")
    fig, ax = figure_and_axes(ax)
    with paper_style():
        ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=1)
        for i, (label, r) in enumerate(items):
            lam = np.where(np.isfinite(r.exponents), r.exponents, np.nan)
            err = np.where(np.isfinite(r.stderr), nsigma * r.stderr, np.nan)
            idx = np.arange(1, lam.size + 1)
            ax.errorbar(idx, lam, yerr=err, color=colors[i], marker="o", markersize=2.5,
                        linewidth=0.9, elinewidth=0.8, capsize=1.5, label=label, zorder=3)
        ax.set_xlabel("index $i$")
        ax.set_ylabel(r"$\lambda_i$ (per step)")
        if any(label is not None for label, _ in items):
            ax.legend(loc="best")
    return fig


def lyapunov_convergence(result, *, which=None, nsigma=2.0, ax=None):
    """Running estimates of Lyapunov exponents against the number of steps averaged.

    Parameters
    ----------
    result : LyapunovResult
        Unbatched, from :func:`spectra.lyapunov_spectrum`.
    which : sequence of int, optional
        1-based indices of the exponents to draw (default the first
        min(k, 4)).
    nsigma : float
        Half-width, in standard errors, of the band drawn around each final
        value.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One line per exponent (log x-axis) and one shaded band per finite
        standard error.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> J = np.random.default_rng(0).standard_normal((400, 6, 6)) / np.sqrt(6)
    >>> fig = spectra.plot.lyapunov_convergence(spectra.lyapunov_spectrum(J), which=[1, 6])
    >>> len(fig.axes[0].lines), fig.axes[0].get_xscale()
    (2, 'log')
    """
    (_, r), = _items(result, "result", LyapunovResult)
    if r.exponents.ndim != 1:
        raise ValueError("`result` must be a single (unbatched) LyapunovResult; got exponents "
                         f"of shape {r.exponents.shape}")
    k = r.exponents.size
    if which is None:
        which = list(range(1, min(k, 4) + 1))
    elif isinstance(which, (int, np.integer)) and not isinstance(which, bool):
        which = [which]
    which = [_lag(i, "`which` indices") for i in which]
    for i in which:
        if i > k:
            raise ValueError(f"`which` must hold indices in 1..{k}; got {i}")
    nsigma = check_real(nsigma, "nsigma", low=0.0)
    fig, ax = figure_and_axes(ax)
    with paper_style():
        steps = r.running_steps
        for j, i in enumerate(which):
            c = color(j)
            run = np.where(np.isfinite(r.running[:, i - 1]), r.running[:, i - 1], np.nan)
            ax.plot(steps, run, color=c, linewidth=0.9, label=rf"$\lambda_{{{i}}}$")
            lam, se = r.exponents[i - 1], r.stderr[i - 1]
            if np.isfinite(lam) and np.isfinite(se) and se > 0:
                ax.fill_between([steps[0], steps[-1]], lam - nsigma * se, lam + nsigma * se,
                                color=c, alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_xlabel("steps averaged")
        ax.set_ylabel("running estimate (per step)")
        ax.legend(loc="best")
    return fig


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


def phase_diagram(table, *, x="gain", y="activation", regime="regime", measured="measured",
                  stderr="stderr", measured_label=r"$\lambda_{\max}$", nsigma=2.0,
                  annotate=False, ax=None):
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
        Write the measured mean in each cell.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        The regime colours as one mesh, the markers as one scatter
        collection per sign that occurs.

    Examples
    --------
    >>> import spectra
    >>> table = {"gain": [0.5, 2.0, 0.5, 2.0], "activation": ["tanh", "tanh", "sigmoid", "sigmoid"],
    ...          "regime": ["vanishing guaranteed", "exploding possible"] + ["vanishing guaranteed"] * 2,
    ...          "measured": [-0.7, 0.2, -1.5, -0.9], "stderr": [0.01, 0.02, 0.01, 0.01]}
    >>> fig = spectra.plot.phase_diagram(table)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['tanh', 'sigmoid']
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
        ax.pcolormesh(np.arange(len(gx) + 1) - 0.5, np.arange(len(gy) + 1) - 0.5, grid,
                      cmap=cmap, vmin=-0.5, vmax=len(REGIMES) - 0.5, edgecolors="white",
                      linewidth=0.8)
        err0 = np.where(np.isfinite(err), err, 0.0)
        up = np.isfinite(mean) & (mean > nsigma * err0)
        down = np.isfinite(mean) & (mean < -nsigma * err0)
        flat = np.isfinite(mean) & ~up & ~down
        R, C = np.indices(mean.shape)
        marks = [(up, "^", color("vermillion"), f"{measured_label} > 0"),
                 (down, "v", color("blue"), f"{measured_label} < 0"),
                 (flat, "o", color("black"), rf"{measured_label} $\approx$ 0")]
        handles = [Patch(facecolor=_REGIME_COLORS[k], edgecolor="0.6", linewidth=0.4, label=k)
                   for k in REGIMES if np.any(cell_regime == REGIMES.index(k))]
        for mask, m, c, label in marks:
            if np.any(mask):
                ax.scatter(C[mask], R[mask], marker=m, s=18, color=c, linewidths=0, zorder=3,
                           label=label)
        if annotate:
            for r, c in zip(*np.nonzero(np.isfinite(mean))):
                ax.annotate(f"{mean[r, c]:.2f}", xy=(c, r), xytext=(0, -7), textcoords="offset points",
                            ha="center", va="top", fontsize=5, color="0.25")
        ax.set_xticks(np.arange(len(gx)), [f"{v:g}" for v in gx])
        ax.set_yticks(np.arange(len(gy)), gy)
        ax.set_xlim(-0.5, len(gx) - 0.5)
        ax.set_ylim(len(gy) - 0.5, -0.5)
        ax.tick_params(length=0)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        scat, scat_labels = ax.get_legend_handles_labels()
        ax.legend(handles + scat, [h.get_label() for h in handles] + scat_labels,
                  loc="center left", bbox_to_anchor=(1.01, 0.5), handlelength=1.2,
                  borderaxespad=0.0)
    return fig
