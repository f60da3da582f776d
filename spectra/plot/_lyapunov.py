"""Spectra of Jacobian products: singular values by lag, Lyapunov exponents and their convergence.

Figure functions in the house convention (results in, optional ``ax``, a
Figure out; see :mod:`spectra.plot`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..analysis.lyapunov import LyapunovSpectrum
from ..analysis.products import product_log_singular_values
from .._core.validation import check_real, describe
from ._figures import _items, _type_name
from ._style import color, decade_ticks, figure_and_axes, log_axis, paper_style

__all__ = ["singular_value_spectra", "lyapunov_exponents", "lyapunov_convergence"]

_LYAPUNOV = _type_name(LyapunovSpectrum, "LyapunovResult")    # messages name the 0.1 class too
_LAG_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<")


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
        One line per lag against the index i = 1, 2, ..., each lag with its own
        colour and marker shape (so lines that coincide can still be told apart).

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
        from ..jacobians import as_jacobian_sequence

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
            ax.plot(idx, to_plot(sv, lag), color=color(i), marker=_LAG_MARKERS[i % len(_LAG_MARKERS)],
                    markersize=2.5, linewidth=0.9, label=f"lag {lag}")
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
    items = _items(results, "result", LyapunovSpectrum, _LYAPUNOV)
    for label, r in items:
        if r.exponents.ndim != 1:
            raise ValueError("`result` must be a single (unbatched) LyapunovSpectrum; got exponents "
                             f"of shape {r.exponents.shape}")
    return items


def lyapunov_exponents(result, *, nsigma=2.0, colors=None, theory=None, ax=None):
    """The Lyapunov spectrum with error bars (``nsigma`` standard errors).

    Parameters
    ----------
    result : LyapunovSpectrum, or a mapping of labels to them
        From :func:`spectra.lyapunov_spectrum` (unbatched).
    nsigma : float
        Half-width of the error bars in standard errors.  An infinite
        standard error (fewer than two blocks) draws no bar.
    colors : sequence of colours, optional
        One per result (default the palette in order); useful when drawing
        over another figure function's lines.
    theory : mapping of labels to numbers or arrays, optional
        Predicted exponents, in the colour of the result of the same label
        when there is one: a number (e.g. the mean-field lambda_max of
        :func:`spectra.recurrent_mean_field`) is a dashed horizontal line, an
        array (lambda_1, lambda_2, ...; e.g. Newman's
        :func:`spectra.gaussian_product_lyapunov`) a dashed curve against the
        index.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One error-bar series per result against the index i = 1..k, and the
        zero line (and one dashed line per ``theory`` entry).

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
        labels = [label for label, _ in items]
        for j, (label, value) in enumerate((theory or {}).items()):
            c = colors[labels.index(label)] if label in labels else color("black")
            name = f"theory: {label}" if label is not None else "theory"
            value = np.asarray(value, dtype=float)
            if value.ndim == 0:
                ax.axhline(float(value), color=c, linestyle="--", linewidth=0.8, zorder=2,
                           label=name)
            elif value.ndim == 1 and value.size:
                ax.plot(np.arange(1, value.size + 1), value, color=c, linestyle="--",
                        linewidth=1.0, zorder=4, label=name)     # on top: it runs through the markers
            else:
                raise ValueError(f"`theory` values must be numbers or 1-d arrays of exponents; "
                                 f"got shape {value.shape} for {label!r}")
        ax.set_xlabel("index $i$")
        ax.set_ylabel(r"$\lambda_i$ (per step)")
        if any(label is not None for label, _ in items) or theory:
            ax.legend(loc="best")
    return fig


def lyapunov_convergence(result, *, which=None, nsigma=2.0, ax=None):
    """Running estimates of Lyapunov exponents against the number of steps averaged.

    Parameters
    ----------
    result : LyapunovSpectrum
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
    (_, r), = _items(result, "result", LyapunovSpectrum, _LYAPUNOV)
    if r.exponents.ndim != 1:
        raise ValueError("`result` must be a single (unbatched) LyapunovSpectrum; got exponents "
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
        decade_ticks(ax, "x")
        ax.set_xlabel("steps averaged")
        ax.set_ylabel("running estimate (per step)")
        ax.legend(loc="best")
    return fig
