"""Figures of stacked networks: gradient norms block by block, with states named.

:func:`layer_gradient_norms` draws, for a run of a :class:`~spectra.Stack`
(or of one cell), ``||d s^top_t / d s^l_k||_2`` against the lag for every
layer l, one line per block of the block lower-triangular product, each
labelled with its layer and what its state is (an LSTM's (h, c)).
"""

from __future__ import annotations

import numpy as np

from ..cells.stack import Stack
from ..jacobians.trajectory import Trajectory
from .._core.validation import check_int, describe
from ._style import color, figure_and_axes, log_axis, paper_style

__all__ = ["layer_gradient_norms", "state_label"]


def state_label(cell) -> str:
    """What a cell's state is, for axis labels: ``"(h, c)"`` when the hidden part is h of a larger state.

    >>> import spectra
    >>> from spectra.plot import state_label
    >>> state_label(spectra.LSTM.random(2, rng=0)), state_label(spectra.GRU.random(2, rng=0))
    ('(h, c)', 'h')
    """
    if isinstance(cell, Stack):
        return "(" + ", ".join(f"{state_label(c)}$^{l}$" for l, c in enumerate(cell.cells)) + ")"
    hidden = np.asarray(cell.hidden_part(np.zeros((1, cell.n)))).shape[-1]
    return "(h, c)" if hidden < cell.n else "h"


def layer_gradient_norms(traj, *, t=None, ax=None):
    """``||d s^top_t / d s^l_{t-lag}||_2`` against the lag, one line per layer l of a stack.

    Parameters
    ----------
    traj : Trajectory
        A run of a :class:`~spectra.Stack` (one line per layer) or of one
        cell (one line).
    t : int, optional
        The time the gradient starts from (default T).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        One line per block, labelled ``layer l: <cell> (h, c)``; the y label
        names the states.  The blocks come from one backward sweep of the
        top layer's rows (O(t n^2 n_top)), never a dense product.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> stack = spectra.Stack([spectra.LSTM.random(3, input_size=2, rng=0),
    ...                        spectra.GRU.random(3, input_size=3, rng=1)])
    >>> fig = spectra.plot.layer_gradient_norms(stack.run(np.ones((20, 2))))
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['layer 0: LSTM (h, c)', 'layer 1: GRU h']
    """
    if not isinstance(traj, Trajectory):
        raise TypeError(f"`traj` must be a Trajectory (a run of a Stack or of one cell); got "
                        f"{describe(traj)}")
    if traj.batch_shape:
        raise ValueError(f"`traj` must be a single run; got batch shape {traj.batch_shape} "
                         "(select one with traj.select(b))")
    T = traj.steps
    t = T if t is None else check_int(t, "t", minimum=1, maximum=T)
    cell = traj.cell
    cells = cell.cells if isinstance(cell, Stack) else (cell,)
    slices = cell.slices if isinstance(cell, Stack) else (slice(0, cell.n),)
    seq = traj.jacobian_sequence
    G = np.eye(traj.n)[:, slices[-1]]                  # columns: the top layer's state
    logs = np.empty((len(cells), t))
    acc = 0.0                                          # log of the scale divided out so far
    with np.errstate(divide="ignore"):
        for lag in range(1, t + 1):
            G = seq.rmatmat(t - lag + 1, G)
            scale = float(np.abs(G).max())
            if scale == 0.0:                           # the gradient is exactly zero from here on
                logs[:, lag - 1:] = -np.inf
                break
            G = G / scale                              # keep the sweep in float64's range
            acc += np.log(scale)
            for l, sl in enumerate(slices):
                logs[l, lag - 1] = np.log(np.linalg.norm(G[sl], 2)) + acc
    lags = np.arange(1, t + 1)
    top = state_label(cells[-1])
    fig, ax = figure_and_axes(ax)
    with paper_style():
        to_plot = log_axis(ax, *logs, label=rf"$\|\partial s^{{top}}_t / \partial s^l_k\|_2$, "
                                           rf"$s^{{top}}$ = {top}")
        for l, c in enumerate(cells):
            ax.plot(lags, to_plot(logs[l]), color=color(l),
                    label=f"layer {l}: {type(c).__name__} {state_label(c)}")
        ax.set_xlabel(r"lag $t - k$")
        ax.set_xlim(left=0)
        ax.legend(loc="lower left")
    return fig
