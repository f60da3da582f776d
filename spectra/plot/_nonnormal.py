"""Figures of non-normality: pseudospectra and transient growth."""

from __future__ import annotations

import numpy as np

from .._core.validation import describe
from ._figureset import register
from ._style import color, figure_and_axes, log_axis

__all__ = ["pseudospectra_contours", "transient_growth_curves"]


def pseudospectra_contours(ps, ax=None, *, unit_circle=True, title=None):
    """Contours of sigma_min(zI - W) (the eps-pseudospectra) with the eigenvalues.

    Parameters
    ----------
    ps : Pseudospectra
        From :func:`spectra.pseudospectra`; its ``levels`` are the eps drawn.
    ax : matplotlib Axes, optional
    unit_circle : bool
        Draw |z| = 1: an eps-pseudospectrum reaching past it means transient
        growth of at least (rho_eps - 1)/eps (Trefethen & Embree, Thm 16.4).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    for field in ("x", "y", "sigma_min", "levels", "eigenvalues"):
        if not hasattr(ps, field):
            raise TypeError(f"`ps` must be a Pseudospectra result (spectra.pseudospectra); "
                            f"got {describe(ps)}")
    fig, ax = figure_and_axes(ax, aspect=1.0)
    s = np.asarray(ps.sigma_min, dtype=float)
    tiny = np.finfo(float).tiny
    logs = np.log10(np.maximum(s, tiny))                     # exactly 0 on an eigenvalue
    levels = np.log10(np.asarray(ps.levels, dtype=float))
    cs = ax.contour(ps.x, ps.y, logs, levels=levels,
                    colors=[color(i) for i in range(len(levels))], linewidths=0.9)
    labels = {lev: f"$10^{{{lev:.0f}}}$" if float(lev).is_integer() else f"{10 ** lev:.1e}"
              for lev in cs.levels}
    ax.clabel(cs, fmt=labels, fontsize=6, inline=True)
    lam = np.asarray(ps.eigenvalues)
    ax.plot(lam.real, lam.imag, "o", ms=2.5, color=color("black"), label="eigenvalues", zorder=3)
    if unit_circle:
        th = np.linspace(0, 2 * np.pi, 400)
        ax.plot(np.cos(th), np.sin(th), "--", lw=0.8, color="0.4", label="|z| = 1")
    ax.set_aspect("equal")
    ax.set_xlabel("Re z")
    ax.set_ylabel("Im z")
    ax.set_title(title if title is not None else r"$\varepsilon$-pseudospectra: $\sigma_{\min}(zI - W) = \varepsilon$")
    ax.legend(loc="upper right")
    return fig


def transient_growth_curves(growth, normal=None, ax=None, *, title=None):
    """||W^t|| against t with rho^t and ||W||^t (log scale); optionally a normal twin.

    Parameters
    ----------
    growth : TransientGrowth
        From :func:`spectra.transient_growth` for the (non-normal) matrix.
    normal : TransientGrowth, optional
        The same for a normal matrix with the same spectrum
        (:func:`spectra.normal_counterpart`): its powers follow rho^t exactly.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    for g, name in ((growth, "growth"), (normal, "normal")):
        if g is not None and not (hasattr(g, "log_norms") and hasattr(g, "t")):
            raise TypeError(f"`{name}` must be a TransientGrowth result (spectra.transient_growth); "
                            f"got {describe(g)}")
    fig, ax = figure_and_axes(ax)
    curves = [growth.log_norms, growth.log_rho_powers, growth.log_norm_powers]
    if normal is not None:
        curves.append(normal.log_norms)
    to_plot = log_axis(ax, *curves, label=r"norm")
    t = np.asarray(growth.t)
    ax.plot(t, to_plot(growth.log_norms), color=color(0), label=r"$\|W^t\|$ (non-normal)")
    if normal is not None:
        ax.plot(np.asarray(normal.t), to_plot(normal.log_norms), color=color(2), lw=2.2, alpha=0.6,
                label=r"$\|V^t\|$ (normal, same spectrum)")
    ax.plot(t, to_plot(growth.log_rho_powers), "--", color=color("black"), lw=0.9, label=r"$\rho^t$")
    ax.plot(t, to_plot(growth.log_norm_powers), ":", color=color(1), lw=1.0, label=r"$\|W\|^t$")
    ax.axvline(growth.peak_step, color="0.6", lw=0.6)
    ax.annotate(rf"peak {np.exp(growth.log_peak):.3g} at $t = {growth.peak_step}$",
                xy=(growth.peak_step, 0.02), xycoords=("data", "axes fraction"), xytext=(3, 0),
                textcoords="offset points", ha="left", va="bottom", fontsize=6, color="0.35")
    # ||W||^t leaves the picture a few decades above the peak, where nothing else happens
    finite = [np.asarray(c)[np.isfinite(c)] for c in curves]
    low = min(float(np.min(c)) for c in finite if c.size)
    high = max(float(np.max(c)) for c in finite[:2] + finite[3:] if c.size)
    ax.set_ylim(to_plot(np.array([low - 1.0, high + 3 * np.log(10.0)])))
    ax.set_xlabel("t")
    ax.set_title(title if title is not None else
                 f"transient growth: peak {np.exp(growth.log_peak):.3g} at t = {growth.peak_step}")
    ax.legend(loc="best")
    return fig


@register("nonnormal")
def _nonnormal_figures(rng):
    """When eigenvalues mislead: pseudospectra (nonnormal-pseudospectra) and powers (nonnormal-transient)."""
    import spectra

    W = spectra.random_nonnormal(24, spectral_radius=0.9, coupling=2.0, rng=rng)
    V = spectra.normal_counterpart(W)
    T = 60
    figs = {"pseudospectra": pseudospectra_contours(spectra.pseudospectra(W, resolution=121,
                                                                          levels=[1e-3, 1e-2, 1e-1]))}
    figs["transient"] = transient_growth_curves(spectra.transient_growth(W, steps=T),
                                                spectra.transient_growth(V, steps=T))
    return figs
