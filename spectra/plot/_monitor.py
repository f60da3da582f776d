"""Figures of a :class:`spectra.monitor.GradientMonitor` history.

Import direction: plot -> monitor only.  This module imports
:mod:`spectra.monitor`; the monitor never imports plot (its
:meth:`~spectra.monitor.GradientMonitor.plot` reaches :func:`plot_monitor`
through the top-level namespace's lazy ``spectra.plot`` attribute).
"""

from __future__ import annotations

import numpy as np

from .._core.validation import as_generator
from ..cells import init
from ..monitor import GradientMonitor
from ._figureset import register
from ._style import color, decade_ticks, figure_and_axes, paper_style

__all__ = ["monitor_history", "monitor_layers", "monitor_lags", "plot_monitor", "figure_set"]

_EVENT_STYLE = {"explode": ("^", "vermillion"), "vanish": ("v", "sky")}


def _check_monitor(monitor):
    if not isinstance(monitor, GradientMonitor):
        raise TypeError(f"`monitor` must be a spectra.monitor.GradientMonitor; got "
                        f"{type(monitor).__name__}")
    if not monitor.history:
        raise ValueError("`monitor` has no recordings yet; nothing to plot")
    return monitor


def _check_gradients(mon, names):
    if not names:
        raise ValueError("`monitor` recorded no gradient norms; pass grads= to record() (a "
                         "monitor of trajectories only is drawn by kind='lags')")
    return names


def _series_colors(k):
    """k colours: the palette for few series, a sequential colour-blind-safe map for many."""
    if k <= 7:
        return [color(i) for i in range(k)]
    import matplotlib

    cmap = matplotlib.colormaps["cividis"]
    return [cmap(x) for x in np.linspace(0.0, 0.9, k)]


def monitor_history(monitor, ax=None, *, names=None):
    """Gradient norms against the training step, one line per gradient (log scale).

    Parameters
    ----------
    monitor : GradientMonitor
    ax : matplotlib Axes, optional
    names : sequence of str, optional
        Which gradients (default all, the global norm dashed in black).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Explosion events are marked with upward triangles, vanishing events with
    downward ones; a step with non-finite gradients gets a dotted vertical
    line, and an exactly zero gradient a cross on the bottom edge (neither
    can be drawn on a log axis).
    """
    mon = _check_monitor(monitor)
    names = _check_gradients(mon, mon.names if names is None else list(names))
    layers = [n for n in names if n != "total"]
    cols = dict(zip(layers, _series_colors(len(layers))))
    cols["total"] = color("black")
    fig, ax = figure_and_axes(ax)
    with paper_style():
        zeros = []
        for name in names:
            steps, vals = mon.series(name)
            ok = np.isfinite(vals) & (vals > 0)
            ax.plot(steps[ok], vals[ok], color=cols[name], label=name,
                    linestyle="--" if name == "total" else "-")
            zeros += steps[vals == 0].tolist()
        if zeros:  # an exactly zero gradient has no place on a log axis: mark it on the bottom edge
            _at_bottom(ax, sorted(set(zeros)), marker="x", color=color("black"), label="exactly 0")
        for kind, (marker, c) in _EVENT_STYLE.items():
            ev = [e for e in mon.events if e.kind == kind and e.name in names]
            pos = [e for e in ev if e.value > 0]
            if pos:
                ax.scatter([e.step for e in pos], [e.value for e in pos], marker=marker,
                           color=color(c), zorder=5, label=kind)
            if len(pos) < len(ev):
                _at_bottom(ax, [e.step for e in ev if not e.value > 0], marker=marker, color=color(c),
                           label=None if pos else kind, offset=0.06)
        bad = sorted({e.step for e in mon.events if e.kind == "nonfinite"})
        for i, s in enumerate(bad):
            ax.axvline(s, color=color("black"), linestyle=":", linewidth=0.8,
                       label="non-finite" if i == 0 else None)
        ax.set_yscale("log")
        decade_ticks(ax, "y")
        ax.set_xlabel("training step")
        ax.set_ylabel("gradient norm")
        ax.legend(ncols=2 if len(names) > 4 else 1)
    return fig


def _at_bottom(ax, xs, *, offset=0.0, **kw):
    """Markers at data x on the bottom edge of the axes (for values a log axis cannot show)."""
    trans = ax.get_xaxis_transform()              # x in data, y in axes coordinates
    ax.scatter(xs, np.full(len(xs), offset), transform=trans, clip_on=False, zorder=6, **kw)


def _pick_steps(recorded, steps, what, count=5):
    """The steps to draw: the given ones (checked against ``recorded``) or up to ``count`` spread."""
    if steps is None:
        if len(recorded) <= count:
            return list(recorded)
        idx = np.unique(np.linspace(0, len(recorded) - 1, count).round().astype(int))
        return [recorded[i] for i in idx]
    steps = list(steps)
    missing = [s for s in steps if s not in recorded]
    if missing:
        raise ValueError(f"`at_steps` must be {what}; {missing} are not")
    return steps


def monitor_layers(monitor, ax=None, *, at_steps=None):
    """Gradient norm across the layers (in recording order) at a few recorded steps.

    A steady geometric decay towards the first layers is the signature of
    vanishing gradients; a rise, of exploding ones.

    Parameters
    ----------
    monitor : GradientMonitor
    ax : matplotlib Axes, optional
    at_steps : sequence of int, optional
        Recorded steps to draw (default up to five, evenly spaced).
    """
    mon = _check_monitor(monitor)
    layers = [n for n in _check_gradients(mon, mon.names) if n != "total"]
    steps = _pick_steps(mon.steps, at_steps, "recorded steps")
    by_step = {r.step: r for r in mon.history}
    cols = _series_colors(len(steps))
    fig, ax = figure_and_axes(ax)
    with paper_style():
        x = np.arange(1, len(layers) + 1)
        for c, s in zip(cols, steps):
            norms = by_step[s].grad_norms
            y = np.array([norms.get(n, np.nan) for n in layers], dtype=float)
            zero = y == 0
            y = np.where(np.isfinite(y) & (y > 0), y, np.nan)
            ax.plot(x, y, marker="o", color=c, label=f"step {s}")
            if np.any(zero):  # exactly zero: marked on the bottom edge
                _at_bottom(ax, x[zero], marker="x", color=c)
        ax.set_xticks(x)
        ax.set_xticklabels(layers, rotation=45 if len(layers) > 6 else 0)
        ax.set_yscale("log")
        decade_ticks(ax, "y")
        ax.set_xlabel("layer (input to output)")
        ax.set_ylabel("gradient norm")
        ax.legend()
    return fig


def monitor_lags(monitor, ax=None, *, at_steps=None):
    """The recorded per-lag profile log10 ||dh_T/dh_{T-lag}|| at a few recorded steps.

    ``at_steps``: recorded steps with a trajectory (default up to five, evenly spaced).
    """
    mon = _check_monitor(monitor)
    have = [r for r in mon.history if r.lag_log_norms is not None]
    if not have:
        raise ValueError("`monitor` recorded no trajectory; pass trajectory= to record()")
    steps = _pick_steps([r.step for r in have], at_steps, "steps with a recorded trajectory")
    by_step = {r.step: r for r in have}
    fig, ax = figure_and_axes(ax)
    with paper_style():
        for i, s in enumerate(steps):
            y = by_step[s].lag_log_norms / np.log(10.0)
            ax.plot(np.arange(1, y.size + 1), y, color=color(i), label=f"step {s}")
        ax.set_xlabel("lag")
        ax.set_ylabel(r"$\log_{10}\,\|\partial h_T/\partial h_{T-\mathrm{lag}}\|$")
        ax.legend()
    return fig


def plot_monitor(monitor, kind="summary", *, ax=None):
    """A figure of a monitor's history, by kind (what :meth:`GradientMonitor.plot` draws).

    Parameters
    ----------
    monitor : GradientMonitor
        With at least one recording.
    kind : {"summary", "history", "layers", "lags"}
        ``"summary"``: two panels in a new double-width figure, the norms
        over the steps (:func:`monitor_history`) and across the layers at a
        few steps (:func:`monitor_layers`), or, for a monitor that recorded
        trajectories only, their per-lag profiles (:func:`monitor_lags`);
        the others draw one of
        :func:`monitor_history`, :func:`monitor_layers`, :func:`monitor_lags`.
    ax : matplotlib Axes, optional
        Where to draw (not with ``"summary"``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, spectra
    >>> mon = spectra.monitor.GradientMonitor()
    >>> for step in range(4):
    ...     _ = mon.record(step, {"W1": np.full(3, 0.1 * (step + 1)), "W2": np.ones(2)})
    >>> len(spectra.plot.plot_monitor(mon).axes)
    2
    """
    kinds = {"history": monitor_history, "layers": monitor_layers, "lags": monitor_lags}
    if kind == "summary":
        if ax is not None:
            raise ValueError("kind='summary' draws two panels in a new figure; pass kind='history' "
                             "or 'layers' to draw into `ax`")
        if not _check_monitor(monitor).names:   # trajectories only: their per-lag profiles
            return monitor_lags(monitor)
        fig, axes = figure_and_axes(width="double", ncols=2, aspect=0.7)
        monitor_history(monitor, axes[0])
        monitor_layers(monitor, axes[1])
        return fig
    if kind not in kinds:
        raise ValueError(f"`kind` must be one of ['summary', 'history', 'layers', 'lags']; got {kind!r}")
    return kinds[kind](monitor, ax)


# ---------------------------------------------------------------------------------------


def toy_training(rng=0, *, steps=250, every=10, lr=0.1, lr_jump=(200, 5.0)):
    """Train a small tanh MLP by hand-written backprop on a toy regression, monitored.

    The README's example: a 5-layer tanh network (widths 4-32-32-32-32-1,
    linear output) fitted to y = sin(x . w) by full-batch gradient descent
    on half the mean squared error.  From step ``lr_jump[0]`` the learning
    rate is multiplied by ``lr_jump[1]`` (a planted mistake the monitor
    flags).  Returns the :class:`~spectra.monitor.GradientMonitor`.
    """
    gen = as_generator(rng)
    X = gen.standard_normal((256, 4))
    y = np.sin(X @ np.array([1.0, -2.0, 0.5, 1.5]))[:, None]
    sizes = [4, 32, 32, 32, 32, 1]
    Ws = [init.xavier_normal(m, n, rng=gen) for n, m in zip(sizes[:-1], sizes[1:])]
    mon = GradientMonitor(every=every, explode_factor=10.0, vanish_factor=100.0, top_k=2)
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps):
            hs = [X]
            for W in Ws[:-1]:
                hs.append(np.tanh(hs[-1] @ W.T))
            d = (hs[-1] @ Ws[-1].T - y) / len(X)          # d loss / d output
            grads = [None] * len(Ws)
            for l in reversed(range(len(Ws))):
                grads[l] = d.T @ hs[l]                     # d loss / d W_(l+1)
                if l:
                    d = (d @ Ws[l]) * (1.0 - hs[l] ** 2)
            mon.record(step, {f"W{l + 1}": G for l, G in enumerate(grads)},
                       weights={f"W{l + 1}": W for l, W in enumerate(Ws)})
            rate = lr * (lr_jump[1] if lr_jump is not None and step >= lr_jump[0] else 1.0)
            Ws = [W - rate * G for W, G in zip(Ws, grads)]
    return mon


def figure_set(rng=0) -> dict:
    """The monitor figure of the figure set: ``{"gradient_monitor": Figure}``."""
    return {"gradient_monitor": plot_monitor(toy_training(rng), "summary")}


@register("gradient_monitor")
def _gradient_monitor_figure(rng):
    """The gradient monitor's history over the README's short training run."""
    return plot_monitor(toy_training(rng), "summary")
