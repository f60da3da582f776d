"""Figures of the remedies for vanishing and exploding gradients.

Each function takes results of :mod:`spectra.remedies` (one result, a list, or
a dict ``label -> result``) and an optional ``ax``, and returns the Figure.

The nine figures of the set share one context (networks, inputs, a dozen
generators: :func:`_context`) and are declared as one
:class:`~spectra.plot._figureset.FigureFamily`, :data:`REMEDIES`: a
:class:`~spectra.plot._figureset.FigureRecipe` per figure names its data
function (``_data_*`` below) and its draw function (above).  Adding a remedy
figure is one draw function, one data function and one recipe.
:func:`figure_set` builds them all from a seed.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.ticker import NullFormatter

from .._core.validation import check_real
from ._figures import _type_name
from ._figureset import FigureFamily, FigureRecipe, _base_seed
from ._style import color, decade_ticks, figure_and_axes, paper_style

__all__ = [
    "bptt_lag_figure",
    "clipping_figure",
    "regularizer_figure",
    "truncation_figure",
    "penalty_figure",
    "spectral_control_figure",
    "echo_state_figure",
    "leaky_figure",
    "teacher_forcing_figure",
    "figure_set",
    "REMEDIES",
]

_LOG10 = math.log(10.0)


def _labelled(results, kind, name="results", *, old=None):
    """[(label, result)] from one result, a list or a dict; ``old``: the class's 0.1 name."""
    if isinstance(results, dict):
        items = list(results.items())
    elif isinstance(results, (list, tuple)):
        items = [(None, r) for r in results]
    else:
        items = [(None, results)]
    if not items:
        raise ValueError(f"`{name}` must contain at least one result")
    for label, r in items:
        if not isinstance(r, kind):
            raise TypeError(f"`{name}` must hold {_type_name(kind, old)} results; got "
                            f"{type(r).__name__}")
    return items


def _positive(a):
    """Values for a log axis: zeros (and negatives) become NaN gaps, not warnings."""
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, a, np.nan)


def _styled(fn):
    """Draw inside the paper style, so that legends and labels get its sizes too."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with paper_style():
            return fn(*args, **kwargs)
    return wrapper


def _legend(ax, items):
    if any(label is not None for label, _ in items) or len(items) > 1:
        ax.legend()


@_styled
def bptt_lag_figure(results, ax=None):
    """How much of dE/dW_hh comes from each lag t - k (seed eq. 6).

    Parameters
    ----------
    results : BPTTResult, list or dict of them
        Computed with ``decompose=True``.
    ax : matplotlib Axes, optional
    """
    from ..remedies import BPTTResult

    items = _labelled(results, BPTTResult, old="BPTTResult")
    fig, ax = figure_and_axes(ax)
    for i, (label, r) in enumerate(items):
        if r.lag_norms is None:
            raise ValueError("`results` must be computed with decompose=True (lag_norms is None)")
        ax.plot(r.lags, _positive(r.lag_norms), color=color(i), label=label or f"run {i + 1}")
    ax.set_yscale("log")
    decade_ticks(ax, "y")
    ax.set_xlabel("lag t - k")
    ax.set_ylabel(r"$\|C_{\mathrm{lag}}\|_F$ (part of $\partial E/\partial W_{hh}$)")
    _legend(ax, items)
    return fig


@_styled
def clipping_figure(norm_results, value_results=None, ax=None, *, threshold=None):
    """Update size and direction after norm clipping (seed eq. 13) and value clipping.

    Parameters
    ----------
    norm_results : sequence of ClipResult
        Norm clipping of several gradients (one threshold).
    value_results : sequence of ClipResult, optional
        Value clipping of the same gradients.
    ax : pair of matplotlib Axes, optional
        Left: the norm of the update against the norm of the gradient;
        right: the cosine between clipped and original gradient.
    threshold : float, optional
        The norm-clipping threshold, marked on both panels (dashed grey: the
        update's norm on the left, where clipping starts on both).  By
        default it is read from ``norm_results``: norm clipping leaves a
        clipped gradient with norm exactly the threshold.  No mark when no
        gradient was clipped and none is given.
    """
    from ..remedies import ClipResult

    series = [("norm clipping",
               _labelled(list(norm_results), ClipResult, "norm_results", old="ClipResult"))]
    if value_results is not None:
        series.append(("value clipping",
                       _labelled(list(value_results), ClipResult, "value_results", old="ClipResult")))
    if ax is None:
        fig, axes = figure_and_axes(width="double", ncols=2, aspect=0.7)
    else:
        if len(ax) != 2:
            raise ValueError("`ax` must be a pair of Axes (size, direction)")
        axes = ax
        fig = axes[0].figure
    a0, a1 = axes
    for i, (name, items) in enumerate(series):
        g = np.array([r.norm for _, r in items])
        u = np.array([r.clipped_norm for _, r in items])
        c = np.array([r.cosine for _, r in items])
        order = np.argsort(g)
        a0.plot(g[order], _positive(u[order]), "o-", color=color(i), label=name)
        a1.plot(g[order], c[order], "o-", color=color(i), label=name)
    lim = np.array([min(r.norm for _, r in series[0][1]), max(r.norm for _, r in series[0][1])])
    a0.plot(lim, lim, ":", color=color("black"), linewidth=0.8, label="no clipping")
    if threshold is None:
        cut = [r.clipped_norm for _, r in series[0][1] if r.clipped]
        threshold = float(np.median(cut)) if cut else None
    else:
        threshold = check_real(threshold, "threshold", low=0.0, low_open=True)
    if threshold is not None:
        mant, expo = f"{threshold:.2e}".split("e")
        value = (f"{threshold:.3g}" if 1e-2 <= threshold < 1e3
                 else rf"{float(mant):.3g} \times 10^{{{int(expo)}}}")
        a0.axhline(threshold, color="0.5", linestyle="--", linewidth=0.8, zorder=1,
                   label=rf"threshold $c = {value}$")
        for a in (a0, a1):                  # where clipping starts: ||g|| = c
            a.axvline(threshold, color="0.5", linestyle="--", linewidth=0.8, zorder=1)
    a0.set_xscale("log")
    decade_ticks(a0, "x")
    a0.set_yscale("log")
    decade_ticks(a0, "y")
    a0.set_xlabel(r"$\|g\|$")
    a0.set_ylabel("norm of the clipped update")
    a0.legend(loc="upper left")
    a1.set_xscale("log")
    decade_ticks(a1, "x")
    for a in (a0, a1):
        a.xaxis.set_minor_formatter(NullFormatter())
    a1.set_xlabel(r"$\|g\|$")
    a1.set_ylabel("cosine(clipped, g)")
    a1.set_ylim(min(0.0, a1.get_ylim()[0]), 1.05)
    a1.legend(loc="lower left")
    return fig


@_styled
def regularizer_figure(results, ax=None):
    """Per-step norm ratios ``||J_{k+1}^T g_{k+1}|| / ||g_{k+1}||`` (Omega's terms).

    Parameters
    ----------
    results : RegularizerResult, list or dict of them (unbatched)
    ax : matplotlib Axes, optional
    """
    from ..remedies import RegularizerResult

    items = _labelled(results, RegularizerResult, old="RegularizerResult")
    fig, ax = figure_and_axes(ax)
    for i, (label, r) in enumerate(items):
        if np.ndim(r.ratios) != 1:
            raise ValueError("`regularizer_figure` needs unbatched results")
        text = label or f"run {i + 1}"
        ax.plot(np.arange(r.ratios.size), r.ratios, color=color(i),
                label=f"{text} ($\\Omega$ = {r.value:.3g})")
    ax.axhline(1.0, color=color("black"), linestyle=":", linewidth=0.8)
    ax.set_xlabel("step k")
    ax.set_ylabel(r"$\|J_{k+1}^T g_{k+1}\| / \|g_{k+1}\|$")
    ax.legend()
    return fig


@_styled
def truncation_figure(results, ax=None):
    """Relative error of truncated BPTT against the truncation n.

    Parameters
    ----------
    results : TruncationResult, list or dict of them
    ax : matplotlib Axes, optional
    """
    from ..remedies import TruncationResult

    items = _labelled(results, TruncationResult, old="TruncationResult")
    fig, ax = figure_and_axes(ax)
    for i, (label, r) in enumerate(items):
        ax.plot(r.truncations, _positive(r.relative_errors), color=color(i),
                label=label or f"run {i + 1}")
    ax.set_yscale("log")
    decade_ticks(ax, "y")
    ax.set_xlabel("truncation n (lags 0..n kept)")
    ax.set_ylabel(r"$\|\nabla - \nabla^{(n)}\|_F / \|\nabla\|_F$")
    _legend(ax, items)
    return fig


@_styled
def penalty_figure(results, ax=None):
    """gamma_W (solid) and spectral radius (dashed) along L1/L2 penalty paths.

    The horizontal line is 1/gamma_h, below which vanishing is guaranteed;
    a marker shows the first step that gets there.

    Parameters
    ----------
    results : PenaltyPath, list or dict of them
    ax : matplotlib Axes, optional
    """
    from ..remedies import PenaltyPath

    items = _labelled(results, PenaltyPath)
    fig, ax = figure_and_axes(ax)
    for i, (label, p) in enumerate(items):
        c = color(i)
        ax.plot(p.steps, p.gamma_W, color=c, label=label or f"path {i + 1}")
        ax.plot(p.steps, p.spectral_radius, "--", color=c, linewidth=0.9)
        if math.isfinite(p.first_vanishing):
            m = int(p.first_vanishing)
            ax.plot([m], [p.gamma_W[m]], "o", color=c)
    gh = items[0][1].gamma_h
    if gh > 0:
        ax.axhline(1.0 / gh, color=color("black"), linestyle=":", linewidth=0.8,
                   label=r"$1/\gamma_h$")
    ax.set_xlabel("penalty step")
    ax.set_ylabel(r"$\gamma_W$ (solid), $\rho(W_{hh})$ (dashed)")
    ax.legend()
    return fig


@_styled
def spectral_control_figure(results, ax=None, *, gamma_h=1.0):
    """Spectral radius and gamma_W before and after spectral control.

    Parameters
    ----------
    results : SpectralControl, list or dict of them
    ax : matplotlib Axes, optional
    gamma_h : float
        For the 1/gamma_h line.
    """
    from ..remedies import SpectralControl

    items = _labelled(results, SpectralControl)
    fig, ax = figure_and_axes(ax)
    names, rho, gw = ["before"], [items[0][1].spectral_radius_before], [items[0][1].gamma_W_before]
    for i, (label, r) in enumerate(items):
        names.append(label or f"{r.measure} control")
        rho.append(r.spectral_radius_after)
        gw.append(r.gamma_W_after)
    x = np.arange(len(names))
    ax.bar(x - 0.18, rho, width=0.36, color=color(0), label=r"spectral radius $\rho$")
    ax.bar(x + 0.18, gw, width=0.36, color=color(1), label=r"$\gamma_W = \|W_{hh}\|_2$")
    ax.axhline(1.0 / gamma_h, color=color("black"), linestyle=":", linewidth=0.8,
               label=r"$1/\gamma_h$")
    ax.set_xticks(x)
    ax.set_xticklabels(names)
    ax.set_ylabel(r"$\rho(W_{hh})$ and $\gamma_W = \|W_{hh}\|_2$")
    ax.legend()
    return fig


@_styled
def echo_state_figure(results, ax=None):
    """Distance between runs from different initial states, with the contraction bound.

    Dotted, in a run's colour: the bound ``(gamma_W gamma_h)^t d_0`` where it
    guarantees the echo-state property.  Dash-dotted grey, when a distance
    comes near it: float64's machine epsilon 2^-52, the relative rounding
    of every stored state, below which distances are rounding noise (a
    run that has forgotten its initial state stops there instead of at 0).
    The legend sits right of the axes, clear of the curves.

    Parameters
    ----------
    results : EchoStateCheck, list or dict of them
    ax : matplotlib Axes, optional

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN(0.5 * np.eye(4), np.ones((4, 1)))
    >>> check = spectra.remedies.echo_state_check(cell, np.zeros((80, 1)), rng=0)
    >>> fig = spectra.plot.echo_state_figure({"gain 0.5": check})
    >>> texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    >>> len(texts), texts[1].startswith("contraction bound"), "rounding floor" in texts[2]
    (3, True, True)
    """
    from matplotlib.lines import Line2D

    from ..remedies import EchoStateCheck

    items = _labelled(results, EchoStateCheck)
    fig, ax = figure_and_axes(ax)
    handles, labels = [], []
    bound_drawn = False
    for i, (label, r) in enumerate(items):
        c = color(i)
        (line,) = ax.plot(r.times, _positive(r.max_distance), color=c, label=label or f"run {i + 1}")
        handles.append(line)
        labels.append(line.get_label())
        if r.bound is not None and r.guaranteed:
            ax.plot(r.times, _positive(r.bound), ":", color=c, linewidth=0.9)
            bound_drawn = True
    if bound_drawn:
        handles.append(Line2D([], [], color="0.3", linestyle=":", linewidth=0.9))
        labels.append(r"contraction bound $(\gamma_W\gamma_h)^t d_0$")
    eps = float(np.finfo(float).eps)
    low = min((float(np.nanmin(_positive(r.max_distance))) for _, r in items
               if np.any(np.asarray(r.max_distance) > 0)), default=math.inf)
    if low < 1e4 * eps:
        handles.append(ax.axhline(eps, color="0.5", linestyle="-.", linewidth=0.7, zorder=1))
        labels.append(r"float64 rounding floor ($\epsilon = 2^{-52}$)")
    ax.set_yscale("log")
    decade_ticks(ax, "y")
    ax.set_xlabel("time t")
    ax.set_ylabel(r"$\max_i \|h_t^{(i)} - h_t^{(0)}\|$")
    if len(handles) > 1 or any(label is not None for label, _ in items):
        ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.02, 0.5),
                  borderaxespad=0.0, handlelength=1.8)
    return fig


@_styled
def leaky_figure(results, ax=None):
    """Lag profiles with and without leaky integration (dotted: ``eps``).

    Parameters
    ----------
    results : LeakyComparison, list or dict of them
        Comparisons of one network with different leaks; the standard
        profile is drawn from the first.
    ax : matplotlib Axes, optional
    """
    from ..remedies import LeakyComparison

    items = _labelled(results, LeakyComparison)
    fig, ax = figure_and_axes(ax)
    r0 = items[0][1]
    ax.plot(r0.lags, r0.log_norms_standard / _LOG10, color=color(0), label=r"standard ($\alpha = 0$)")
    for i, (label, r) in enumerate(items, start=1):
        lo, hi = float(np.min(r.alpha)), float(np.max(r.alpha))
        ax.plot(r.lags, r.log_norms_leaky / _LOG10, color=color(i),
                label=label or f"leaky ($\\alpha \\in [{lo:.2f}, {hi:.2f}]$)")
    ax.axhline(math.log10(r0.eps), color=color("black"), linestyle=":", linewidth=0.6)
    ax.set_xlabel("lag")
    ax.set_ylabel(r"$\log_{10} \|\partial h_T / \partial h_{T-\mathrm{lag}}\|_2$")
    ax.legend()
    return fig


@_styled
def teacher_forcing_figure(result, ax=None):
    """Lag profiles along one state sequence, free running against teacher forced.

    Parameters
    ----------
    result : TeacherForcingComparison
    ax : matplotlib Axes, optional
    """
    from ..remedies import TeacherForcingComparison

    (_, r), = _labelled(result, TeacherForcingComparison, "result")
    fig, ax = figure_and_axes(ax)
    ax.plot(r.lags, r.log_norms_forced / _LOG10, color=color(0),
            label=f"teacher forced ($\\lambda_1$ = {r.lyapunov_forced:.3f})")
    ax.plot(r.lags, r.log_norms_free / _LOG10, color=color(1),
            label=f"free running ($\\lambda_1$ = {r.lyapunov_free:.3f})")
    ax.set_xlabel("lag")
    ax.set_ylabel(r"$\log_{10} \|\partial h_T / \partial h_{T-\mathrm{lag}}\|_2$")
    ax.legend()
    return fig


# -- the figure set: one shared context, one recipe per figure ---------------------------------

class _Context:
    """What the remedy figures share: 12 generators, inputs and labels, read-out, three networks.

    The generators are drawn from in the order of :data:`REMEDIES` (some
    serve several figures), so the set is only reproducible built whole.
    """

    def __init__(self, rng):
        from ..cells import init
        from ..cells.simple import ElmanRNN

        ss = np.random.SeedSequence(_base_seed(rng))
        self.r = r = [np.random.default_rng(s) for s in ss.spawn(12)]
        self.n, self.d, self.c, self.T = n, d, c, T = 24, 4, 5, 60
        self.x = r[0].standard_normal((T, d))
        self.labels = r[1].integers(0, c, T)
        self.W_yh = init.gaussian(c, n, rng=r[2])
        self.W_hx = init.gaussian(n, d, rng=r[3])
        self.Q = init.orthogonal(n, rng=r[4])
        gains = {"gain 0.8 (vanishing)": 0.8, "gain 1.0 (orthogonal)": 1.0, "gain 1.3": 1.3}
        self.cells = {k: ElmanRNN(g * self.Q, self.W_hx) for k, g in gains.items()}

    def loss_args(self):
        """``(x, labels, W_yh)``: the inputs, targets and read-out of every BPTT computation."""
        return self.x, self.labels, self.W_yh


def _data_bptt(ctx):
    from ..remedies import bptt_gradient

    return {"results": {k: bptt_gradient(cell, *ctx.loss_args(), decompose=True)
                        for k, cell in ctx.cells.items()}}


def _data_clipping(ctx):
    from ..cells import init
    from ..cells.simple import ElmanRNN
    from ..remedies import bptt_gradient, clip_by_norm, clip_by_value

    G = init.gaussian(ctx.n, rng=ctx.r[5])
    grads = [bptt_gradient(ElmanRNN(g * G, ctx.W_hx), *ctx.loss_args()).gradients()
             for g in np.geomspace(1.0, 3.2, 12)]
    norms = np.array([clip_by_norm(g, 1.0).norm for g in grads])
    threshold = float(np.sqrt(norms.min() * norms.max()))      # half of them get clipped
    size = sum(a.size for a in grads[0].values())
    limit = 2.0 * threshold / math.sqrt(size)
    return {"norm_results": [clip_by_norm(g, threshold) for g in grads],
            "value_results": [clip_by_value(g, limit) for g in grads]}


def _data_regularizer(ctx, iterations=30):
    """Omega's ratios at gain 0.5, then after minimising Omega over W_hh (L-BFGS)."""
    from scipy.optimize import minimize

    from ..cells.simple import ElmanRNN
    from ..remedies import vanishing_regularizer

    n, W_hx = ctx.n, ctx.W_hx

    def omega(w):
        res = vanishing_regularizer(ElmanRNN(w.reshape(n, n), W_hx), *ctx.loss_args())
        return res.value, res.grad_W_hh.ravel()

    W0 = 0.5 * ctx.Q
    opt = minimize(omega, W0.ravel(), jac=True, method="L-BFGS-B", options={"maxiter": iterations})
    before = vanishing_regularizer(ElmanRNN(W0, W_hx), *ctx.loss_args())
    after = vanishing_regularizer(ElmanRNN(opt.x.reshape(n, n), W_hx), *ctx.loss_args())
    return {"results": {"gain 0.5": before, f"after {opt.nit} L-BFGS steps on $\\Omega$": after}}


def _data_truncation(ctx):
    from ..remedies import truncated_bptt_error

    return {"results": {k: truncated_bptt_error(cell, *ctx.loss_args())
                        for k, cell in ctx.cells.items()}}


def _data_penalties(ctx):
    from ..cells import init
    from ..remedies import penalty_path

    W = init.gaussian(ctx.n, gain=1.5, rng=ctx.r[6])
    return {"results": {"L2 (lr l2 = 0.02)": penalty_path(W, "tanh", l2=0.02, steps=120),
                        "L1 (lr l1 = 0.004)": penalty_path(W, "tanh", l1=0.004, steps=120)}}


def _data_spectral_control(ctx):
    from ..remedies import spectral_control

    n = ctx.n
    N = np.triu(ctx.r[7].uniform(-1.0, 1.0, (n, n)), 1) * 0.6 + 0.5 * np.eye(n)  # non-normal
    return {"results": {
        r"$\rho \to 0.9$": spectral_control(N, 0.9, activation="tanh"),
        r"$\gamma_W \to 0.9$": spectral_control(N, 0.9, measure="norm", activation="tanh")}}


def _data_echo_state(ctx):
    from ..cells import init
    from ..cells.simple import ElmanRNN
    from ..remedies import echo_state_check

    n, r, Q = ctx.n, ctx.r, ctx.Q
    u = r[8].standard_normal((150, 1))
    W_in = init.gaussian(n, 1, rng=r[9])
    esn = {
        r"$\gamma_W = 0.9$ (guaranteed)": ElmanRNN(0.9 * Q, W_in),
        r"$\rho = 0.95$": ElmanRNN(init.echo_state(n, spectral_radius=0.95, rng=r[10]), W_in),
        r"$\rho = 2$": ElmanRNN(init.echo_state(n, spectral_radius=2.0, rng=r[10]), 0.1 * W_in),
    }
    return {"results": {k: echo_state_check(cell, u, rng=r[11]) for k, cell in esn.items()}}


def _data_leaky(ctx):
    from ..cells import init
    from ..cells.simple import ElmanRNN
    from ..remedies import leaky_alpha, leaky_comparison

    n, r = ctx.n, ctx.r
    x_long = r[0].standard_normal((100, ctx.d))
    base = ElmanRNN(init.gaussian(n, gain=0.8, rng=r[5]), 0.3 * ctx.W_hx)
    alpha = leaky_alpha(n, rng=r[11])
    return {"results": {
        r"eq. 14, $\alpha_i \sim U(0.02, 0.2)$": leaky_comparison(base, x_long, alpha=alpha),
        r"leak rate, $\alpha_i \sim 1 - U(0.02, 0.2)$": leaky_comparison(base, x_long, alpha=1 - alpha)}}


def _data_teacher_forcing(ctx):
    from ..cells import init
    from ..cells.simple import ElmanRNN
    from ..remedies import teacher_forcing_comparison

    W_fb = init.gaussian(ctx.d, ctx.n, rng=ctx.r[4])
    return {"result": teacher_forcing_comparison(
        ElmanRNN(0.9 * ctx.Q, 2.0 * ctx.W_hx), 2.0 * W_fb, output="softmax",
        h0=np.full(ctx.n, 0.5), steps=ctx.T)}


#: The nine remedy figures (in drawing order: they share the context's generators).
REMEDIES = FigureFamily(
    "remedies", "The seed remedies, one figure each (remedies-bptt_lags, -clipping, ...).",
    context=_Context, recipes=(
        FigureRecipe("bptt_lags", "How much of dE/dW_hh each lag contributes, for three gains.",
                     _data_bptt, bptt_lag_figure),
        FigureRecipe("clipping", "Norm and value clipping of gradients of growing norm.",
                     _data_clipping, clipping_figure, width="double", ncols=2, aspect=0.7),
        FigureRecipe("regularizer", "Omega's per-step ratios before and after minimising Omega.",
                     _data_regularizer, regularizer_figure),
        FigureRecipe("truncation", "Relative error of truncated BPTT against the truncation.",
                     _data_truncation, truncation_figure),
        FigureRecipe("penalties", "gamma_W and the spectral radius along L1 and L2 penalty paths.",
                     _data_penalties, penalty_figure),
        FigureRecipe("spectral_control", "A non-normal W rescaled to radius 0.9 or norm 0.9.",
                     _data_spectral_control, spectral_control_figure),
        FigureRecipe("echo_state", "Distance of runs from different initial states (echo state).",
                     _data_echo_state, echo_state_figure, width="double", aspect=0.42),
        FigureRecipe("leaky", "Lag profiles with and without leaky integration.",
                     _data_leaky, leaky_figure),
        FigureRecipe("teacher_forcing", "Lag profiles, free running against teacher forced.",
                     _data_teacher_forcing, teacher_forcing_figure),
    ))
REMEDIES.register()


def figure_set(rng=0, *, seed=None) -> dict:
    """Every remedy figure, built deterministically from ``rng`` (a few seconds).

    Parameters
    ----------
    rng : int, Generator or None
        An int seed (default 0) gives the same figures every time; a
        Generator (or None, fresh entropy) first draws one.
    seed : int, optional
        Deprecated alias of ``rng`` (the 0.1 keyword); still accepted.

    Returns
    -------
    dict of str to Figure
        ``remedy_bptt_lags``, ``remedy_clipping``, ``remedy_regularizer``,
        ``remedy_truncation``, ``remedy_penalties``, ``remedy_spectral_control``,
        ``remedy_echo_state``, ``remedy_leaky``, ``remedy_teacher_forcing``
        (the figure set writes them as ``remedies-bptt_lags`` and so on).
    """
    return REMEDIES.build(_base_seed(rng, seed), prefix="remedy_")
