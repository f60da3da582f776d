"""Figures of parameter gradients by lag: how far back each weight's gradient reaches.

:func:`parameter_lag_figure` draws, from :func:`spectra.bptt_gradient` results
computed with ``decompose``, ``||C_lag||_F`` against the lag for the recurrent
weights of any cell (an LSTM's ``weight_hh``, a stack's every layer), on a
log axis with decade ticks.  The figure set's ``lstm_lags`` builds it for an
LSTM at three gains.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._core.validation import describe
from ._figureset import register
from ._style import color, decade_ticks, figure_and_axes, paper_style

__all__ = ["parameter_lag_figure"]

_LINESTYLES = ("-", "--", ":", "-.")


def _recurrent_names(names):
    """The recurrent matrices among parameter names (``weight_hh*``, ``W_hh``, ``W``), else all."""
    rec = [k for k in names if k.split(".")[-1].startswith(("weight_hh", "W_hh")) or
           k.split(".")[-1] == "W"]
    return rec or list(names)


def parameter_lag_figure(results, parameters=None, ax=None):
    """``||C_lag||_F`` of recurrent parameters' BPTT gradients against the lag t - k.

    ``C_lag`` is the part of ``dE/dtheta`` that flows from the losses E_t
    through the step k = t - lag (``sum_lag C_lag = dE/dtheta``).

    Parameters
    ----------
    results : BPTTGradient, list or dict label -> BPTTGradient
        Computed with ``decompose=True`` (or ``decompose=[names]``).
    parameters : list of str, optional
        Which parameters (names as in ``result.grads``): by default the
        recurrent matrices (``weight_hh*``, ``W_hh``), else every
        decomposed parameter.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One line per result (colour) and parameter (line style), labelled
        ``label: name``; zero contributions (e.g. the last lag from
        ``h_0 = 0``) are gaps.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> lstm = spectra.LSTM.random(4, input_size=2, rng=0)
    >>> x = np.random.default_rng(1).standard_normal((30, 2))
    >>> res = spectra.bptt_gradient(lstm, x, np.zeros((30, 1)), np.ones((1, 4)),
    ...                             loss="squared", decompose=["weight_hh"])
    >>> fig = spectra.plot.parameter_lag_figure(res)
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['weight_hh']
    """
    from ..remedies import BPTTGradient

    if isinstance(results, BPTTGradient):
        items = [(None, results)]
    elif isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif isinstance(results, (list, tuple)):
        items = [(None, v) for v in results]
    else:
        raise TypeError(f"`results` must be a BPTTGradient, a list or a dict of them; got "
                        f"{describe(results)}")
    if not items:
        raise ValueError("`results` must hold at least one BPTTGradient")
    for label, r in items:
        if not isinstance(r, BPTTGradient):
            raise TypeError(f"`results` must hold BPTTGradient results; got {type(r).__name__}")
        if r.lag_norms_by_param is None:
            raise ValueError("`results` must be computed with decompose=True (or a list of "
                             "parameter names): lag_norms_by_param is None")
    if parameters is not None and (isinstance(parameters, str) or not all(
            isinstance(p, str) for p in parameters)):
        raise TypeError(f"`parameters` must be a list of parameter names; got {describe(parameters)}")
    fig, ax = figure_and_axes(ax)
    with paper_style():
        for i, (label, r) in enumerate(items):
            names = _recurrent_names(list(r.lag_norms_by_param)) if parameters is None \
                else list(parameters)
            missing = [k for k in names if k not in r.lag_norms_by_param]
            if missing:
                raise ValueError(f"`parameters` names {missing}, which were not decomposed; "
                                 f"decomposed: {list(r.lag_norms_by_param)}")
            for j, name in enumerate(names):
                y = np.asarray(r.lag_norms_by_param[name], dtype=float)
                text = name if label is None else (label if len(names) == 1 else f"{label}: {name}")
                ax.plot(r.lags, np.where(y > 0, y, np.nan), color=color(i),
                        linestyle=_LINESTYLES[j % len(_LINESTYLES)], label=text)
        ax.set_yscale("log")
        decade_ticks(ax, "y")
        ax.set_xlabel("lag t - k")
        ax.set_ylabel(r"$\|C_{\mathrm{lag}}\|_F$ (part of $\partial E/\partial \theta$)")
        ax.set_xlim(left=0)
        if len(ax.get_lines()) > 1 or items[0][0] is not None:
            ax.legend()
    return fig


@register("lstm_lags")
def _lstm_lags(rng):
    """The lag decomposition of an LSTM's dE/dW_hh (one layer, three gains)."""
    from ..cells.gated import LSTM
    from ..remedies import bptt_gradient

    n, d, T = 16, 3, 80
    x = rng.standard_normal((T, d))
    y = rng.standard_normal((T, 2))
    V = rng.standard_normal((2, n)) / np.sqrt(n)
    base = LSTM.random(n, input_size=d, rng=rng)
    p = base.parameters()
    results = {}
    for gain in (1.0, 3.0, 6.0):
        cell = LSTM(p["weight_ih"], gain * p["weight_hh"], p["bias_ih"], p["bias_hh"])
        results[f"gain {gain:g}"] = bptt_gradient(cell, x, y, V, loss="squared",
                                                  decompose=["weight_hh"])
    return parameter_lag_figure(results)
