"""Figures of linear recurrent units: the curse of memory and an LRU's eigenvalues on its ring."""

from __future__ import annotations

import math

import numpy as np

from .._core.validation import as_generator, check_int, describe
from ._figureset import register
from ._style import color, decade_ticks, figure_and_axes

__all__ = ["curse_of_memory_figure", "lru_eigenvalues", "measure_curse_of_memory"]

_NORMS = {"none": False, "tied": True}


def measure_curse_of_memory(lams, *, normalization="none", replicas=32, rng=0):
    """Monte-Carlo ``E[h^2]``, ``E[(dh/dlambda)^2]`` and ``E[(dh/dnu)^2]`` with standard errors.

    Runs the one-unit LRU ``h_t = lambda h_{t-1} + gamma x_t`` (real lambda, unit
    white-noise input) in ``replicas`` independent runs, measures ``dh_t/dnu`` with
    :func:`spectra.analysis.parameter_sensitivity` and time-averages over the stationary
    part of each run (after ``9/(1-lambda)`` steps, for ``16/(1-lambda)`` steps, at least
    400); each
    replica's average is one sample, so the standard errors account for the
    autocorrelation within a run.  ``dh/dlambda = (dh/dnu) / (lambda log lambda)``.

    Parameters
    ----------
    lams : array_like
        lambdas in (0, 1).
    normalization : {"none", "tied"}
        gamma = 1, or ``gamma = sqrt(1 - lambda^2)`` (the LRU's ``normalize=True``).
    replicas : int
    rng : int or Generator

    Returns
    -------
    dict
        ``{"lam", "h2", "h2_se", "dlam2", "dlam2_se", "dnu2", "dnu2_se"}``, arrays over lams.

    Examples
    --------
    >>> from spectra.plot import measure_curse_of_memory
    >>> m = measure_curse_of_memory([0.5], replicas=8, rng=0)
    >>> sorted(m)
    ['dlam2', 'dlam2_se', 'dnu2', 'dnu2_se', 'h2', 'h2_se', 'lam']
    """
    import spectra
    from ..analysis.sensitivity import parameter_sensitivity

    lams = np.atleast_1d(np.asarray(lams, dtype=float))
    if lams.ndim != 1 or np.any(~(lams > 0)) or np.any(~(lams < 1)):
        raise ValueError(f"`lams` must lie in (0, 1); got {lams}")
    if normalization not in _NORMS:
        raise ValueError(f"`normalization` must be one of {list(_NORMS)}; got {normalization!r}")
    R = check_int(replicas, "replicas", minimum=2)
    gen = as_generator(rng)
    out = {k: np.empty(lams.size) for k in ("h2", "h2_se", "dlam2", "dlam2_se", "dnu2", "dnu2_se")}
    for i, lam in enumerate(lams):
        burn, keep = math.ceil(9 / (1 - lam)), max(math.ceil(16 / (1 - lam)), 400)
        cell = spectra.LRU.from_eigenvalues([lam], B=[[1.0]], normalize=_NORMS[normalization])
        run = cell.run(gen.standard_normal((R, burn + keep, 1)))
        s = parameter_sensitivity(run, "nu_log", t=1)
        samples = {"h2": (run.states[:, burn + 1:, :] ** 2).sum(-1).mean(-1),
                   "dnu2": (s.norms[:, burn + 1:] ** 2).mean(-1)}
        samples["dlam2"] = samples["dnu2"] / (lam * math.log(lam)) ** 2
        for k, v in samples.items():
            out[k][i] = v.mean()
            out[k + "_se"][i] = v.std(ddof=1) / math.sqrt(R)
    out["lam"] = lams
    return out


def curse_of_memory_figure(lams=(0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999), *,
                           replicas=32, rng=0, axes=None, title=None):
    """The curse of memory: state variance and parameter sensitivity against ``1 - lambda``.

    Left: ``E[h^2]`` and ``E[(dh/dlambda)^2]`` of ``h_t = lambda h_{t-1} + gamma x_t`` with and
    without the LRU's normalisation ``gamma = sqrt(1 - lambda^2)``: measured (points with
    standard-error bars, :func:`measure_curse_of_memory`) against the closed forms of
    :func:`spectra.analysis.curse_of_memory` (lines).  Right: the same sensitivity along the
    LRU's parameter ``nu = log(-log lambda)``, bounded (-> 1/4) only with normalisation.

    Parameters
    ----------
    lams : sequence of float
        The measured lambdas, in (0, 1).
    replicas : int
        Independent runs per point.
    rng : int or Generator
    axes : pair of matplotlib Axes, optional
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..analysis.sensitivity import curse_of_memory

    if axes is None:
        fig, axes = figure_and_axes(width="double", ncols=2, aspect=0.8)
    else:
        if not (isinstance(axes, (tuple, list, np.ndarray)) and len(axes) == 2):
            raise TypeError(f"`axes` must be a pair of matplotlib Axes; got {describe(axes)}")
        fig = axes[0].figure
    ax_lam, ax_nu = axes
    gen = as_generator(rng)
    data = {norm: measure_curse_of_memory(lams, normalization=norm, replicas=replicas, rng=gen)
            for norm in _NORMS}
    lo = min(1 - float(np.max(lams)), 1e-3) / 2
    grid = 1 - np.geomspace(lo, 0.5, 200)
    labels = {"none": r"$\gamma = 1$", "tied": r"$\gamma = \sqrt{1-\lambda^2}$"}
    for i, norm in enumerate(_NORMS):
        m, c = data[norm], color(i)
        x = 1 - m["lam"]
        th = curse_of_memory(grid, normalization=norm)
        ax_lam.plot(1 - grid, th.sensitivity, "-", color=c, lw=1.0,
                    label=rf"$E[(\partial h/\partial\lambda)^2]$, {labels[norm]}")
        ax_lam.plot(1 - grid, th.state_variance, "--", color=c, lw=1.0,
                    label=rf"$E[h^2]$, {labels[norm]}")
        ax_lam.errorbar(x, m["dlam2"], yerr=m["dlam2_se"], fmt="o", ms=3, color=c, capsize=1.5)
        ax_lam.errorbar(x, m["h2"], yerr=m["h2_se"], fmt="s", ms=3, mfc="none", color=c,
                        capsize=1.5)
        th_nu = curse_of_memory(grid, normalization=norm, parameter="nu")
        ax_nu.plot(1 - grid, th_nu.sensitivity, "-", color=c, lw=1.0,
                   label=rf"$E[(\partial h/\partial\nu)^2]$, {labels[norm]}")
        ax_nu.errorbar(x, m["dnu2"], yerr=m["dnu2_se"], fmt="o", ms=3, color=c, capsize=1.5)
    ax_nu.axhline(0.25, color="0.5", lw=0.7, ls=":", label="1/4")
    for ax in axes:
        ax.set_xscale("log")
        decade_ticks(ax, "x")
        ax.set_yscale("log")
        decade_ticks(ax, "y")
        ax.set_xlabel(r"$1 - \lambda$")
        ax.legend(loc="best", fontsize=6)
    ax_lam.set_title(r"along $\lambda$: points measured (±1 s.e.), lines theory")
    ax_nu.set_title(r"along the LRU's $\nu = \log(-\log\lambda)$")
    if title is not None:
        fig.suptitle(title)
    return fig


def lru_eigenvalues(cell, ax=None, *, r_min=None, r_max=None, title=None):
    """An LRU's eigenvalues ``lambda_j`` in the complex plane, with the unit circle and its ring.

    Parameters
    ----------
    cell : LRU or (N,) array_like of complex
        The cell (its ``lam``) or the eigenvalues.
    ax : matplotlib Axes, optional
    r_min, r_max : float, optional
        The ring of the initialisation, drawn as dashed circles (default: the smallest and
        largest ``|lambda_j|``).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    lam = getattr(cell, "lam", cell)
    lam = np.asarray(lam)
    if lam.dtype.kind not in "biufc" or lam.ndim != 1 or lam.size == 0:
        raise TypeError(f"`cell` must be an LRU or a 1-D array of eigenvalues; got {describe(cell)}")
    r = np.abs(lam)
    r_min = float(r.min()) if r_min is None else float(r_min)
    r_max = float(r.max()) if r_max is None else float(r_max)
    fig, ax = figure_and_axes(ax, aspect=1.0)
    th = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(th), np.sin(th), "-", lw=0.8, color="0.4", label="|z| = 1")
    for rad, name in ((r_min, "min"), (r_max, "max")):
        ax.plot(rad * np.cos(th), rad * np.sin(th), "--", lw=0.7, color=color(1),
                label=rf"$r_{{\mathrm{{{name}}}}} = {rad:.3g}$")
    ax.plot(lam.real, lam.imag, "o", ms=2.0, color=color(0), label=r"$\lambda_j$", zorder=3)
    ax.set_aspect("equal")
    ax.set_xlim(-1.08, 1.08)
    ax.set_ylim(-1.08, 1.08)
    ax.set_xlabel(r"Re $\lambda$")
    ax.set_ylabel(r"Im $\lambda$")
    ax.set_title(title if title is not None else f"LRU eigenvalues (N = {lam.size})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, fontsize=6,
              handlelength=1.5, columnspacing=1.0)
    return fig


@register("lru")
def _lru_figures(rng):
    """LRU: eigenvalues on the ring (lru-ring) and the curse of memory (lru-curse_of_memory)."""
    import spectra

    cell = spectra.LRU.random(256, input_size=1, r_min=0.4, r_max=0.99, max_phase=math.pi,
                              rng=rng)
    return {"ring": lru_eigenvalues(cell, r_min=0.4, r_max=0.99),
            "curse_of_memory": curse_of_memory_figure(
                (0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999), replicas=16, rng=rng)}
