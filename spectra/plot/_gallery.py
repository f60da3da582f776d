"""The figures of the seed texts, registered in the figure set.

Each builder computes its data with the analysis API and draws it with the
figure functions; ``rng`` (a numpy Generator from the set's seed and the
figure's name) drives every random draw, so the same seed gives the same
figure.  Sizes are chosen so that the whole set takes seconds.
"""

from __future__ import annotations

from ..cells.activations import Activation, activation as _activation
from ..analysis.bounds import bound_report, regime
from ..cells.simple import ElmanRNN
from .._core.errors import NumericalError
from ..analysis.lyapunov import lyapunov_spectrum
from ..analysis.theory import edge_of_chaos, recurrent_mean_field
from ..analysis.products import product_log_singular_values
from ._figures import activation_derivatives, eigenvalues, gradient_norms
from ._lyapunov import lyapunov_convergence, lyapunov_exponents, singular_value_spectra
from ._phase import phase_diagram
from ._figureset import register
from ._style import color, figure_and_axes

__all__ = ["phase_table", "phase_point"]


def _driven_run(cell, steps, rng, *, scale=1.0):
    """Run ``cell`` on Gaussian inputs of standard deviation ``scale`` from a small random state."""
    x = scale * rng.standard_normal((steps, cell.input_size))
    return cell.run(x, h0=0.1 * rng.standard_normal(cell.n))


def _cell(n, *, init_name="gaussian", gain=1.0, activation="tanh", rng):
    return ElmanRNN.random(n, input_size=n, init=init_name, gain=gain, activation=activation, rng=rng)


@register("activation_derivatives")
def _activation_derivatives(rng):
    """tanh' bounded by gamma_h = 1 and sigmoid' by 1/4 (the seed text's diagram)."""
    return activation_derivatives(["tanh", "sigmoid"])


@register("eigenvalues")
def _eigenvalues(rng):
    """Eigenvalues of W and of a step Jacobian: Gaussian, orthogonal and echo-state initialisation."""
    n, steps = 200, 50
    fig, axes = figure_and_axes(width="double", ncols=3, aspect=1.0)
    for ax, (title, name, gain) in zip(axes, [("Gaussian, gain 1", "gaussian", 1.0),
                                              ("orthogonal, gain 1", "orthogonal", 1.0),
                                              ("echo state, radius 0.95", "echo_state", 0.95)]):
        cell = _cell(n, init_name=name, gain=gain, rng=rng)
        traj = _driven_run(cell, steps, rng)
        eigenvalues({"$W$": cell.W_hh, "$J_T$": traj.jacobian(steps)}, ax=ax)
        ax.set_title(title)
    return fig


@register("gradient_norms")
def _gradient_norms(rng):
    """Gradient norm against lag with the classic and trajectory bounds, for several gains."""
    n, steps = 64, 100
    reports = {}
    for gain in (0.8, 1.0, 1.25):
        cell = _cell(n, init_name="orthogonal", gain=gain, rng=rng)
        reports[f"gain {gain:g}"] = bound_report(_driven_run(cell, steps, rng))
    return gradient_norms(reports)


@register("singular_values")
def _singular_values(rng):
    """Singular values of dh_t/dh_k for several lags; per step they approach the Lyapunov spectrum."""
    import numpy as np

    n, steps = 32, 1024
    cell = _cell(n, gain=1.5, rng=rng)
    traj = _driven_run(cell, steps, rng)
    lags = [1, 4, 16, 64, 256, 1024]
    data = {lag: product_log_singular_values(traj, k=steps - lag) for lag in lags}
    lyap = lyapunov_spectrum(traj, warmup=64)
    fig, (left, right) = figure_and_axes(width="double", ncols=2, aspect=0.75)
    # sigma_i itself only for the short lags: at lag 1024 it spans 2000 decades, which flattens
    # every other lag into one line at 10^0; the long lags are read per step on the right
    singular_value_spectra({lag: data[lag] for lag in lags[:3]}, ax=left)
    singular_value_spectra(data, per_step=True, ax=right)
    # the Lyapunov spectrum as a wide light band under the lags, so that the long lags, which
    # have converged onto it, stay visible on top of it
    idx = np.arange(1, lyap.exponents.size + 1)
    half = 2.0 * float(np.max(lyap.stderr))
    right.plot(idx, lyap.exponents, color="0.55", linewidth=5.0, alpha=0.45, zorder=1,
               solid_capstyle="round", label=rf"Lyapunov $\lambda_i$ ($\pm$2 s.e. $\leq$ {half:.2f})")
    right.legend(loc="lower left")
    left.set_title(r"(a) $\sigma_i$ of $\partial h_t/\partial h_{t-\mathrm{lag}}$, short lags")
    right.set_title(r"(b) $\log\sigma_i\,/\,\mathrm{lag}$ tends to $\lambda_i$ as the lag grows")
    fig.suptitle(r"Elman RNN, tanh, Gaussian $W$ with gain 1.5, $n = 32$, $T = 1024$")
    return fig


@register("lyapunov")
def _lyapunov(rng):
    """The Lyapunov spectrum with error bars, and the convergence of its running estimates."""
    n, steps = 32, 2000
    results = {}
    for gain in (1.0, 2.0):
        cell = _cell(n, gain=gain, rng=rng)
        traj = _driven_run(cell, steps, rng, scale=0.5)
        results[f"gain {gain:g}"] = lyapunov_spectrum(traj, warmup=100)
    fig, (left, right) = figure_and_axes(width="double", ncols=2, aspect=0.75)
    theory = {f"gain {g:g}": recurrent_mean_field(g, "tanh", input_std=0.5).lyapunov_max
              for g in (1.0, 2.0)}          # the mean-field lambda_max, N -> infinity
    lyapunov_exponents(results, theory=theory, ax=left)
    lyapunov_convergence(results["gain 2"], which=[1, 2, 8, 32], ax=right)
    left.set_title("tanh, Gaussian weights, $n = 32$, inputs of s.d. 0.5")
    right.set_title("running estimates, gain 2")
    return fig


def phase_point(gain, activation, replicate, *, rng, n=32, steps=200, warmup=50,
                init_name="orthogonal", input_scale=0.3):
    """One point of the phase diagram: the regime by the bound and the measured lambda_max.

    A module-level function so that :func:`spectra.sweep` can send it to worker
    processes.  ``activation`` is a registry name or ``{"name": ..., **params}``;
    ``rng`` is the per-point seed the sweep derives; ``replicate`` only tells
    replicates apart (each gets its own seed).

    Returns
    -------
    dict
        ``regime`` (label of :func:`spectra.regime`), ``measured`` (the largest
        Lyapunov exponent of a driven run) and ``stderr``; when the run's state
        overflows, ``measured`` and ``stderr`` are None and ``error`` says so.
    """
    import numpy as np

    act = activation if isinstance(activation, str) else dict(activation)
    name = act if isinstance(act, str) else act.pop("name")
    params = {} if isinstance(act, str) else act
    gen = np.random.default_rng(rng)
    cell = ElmanRNN.random(n, input_size=n, init=init_name, gain=gain,
                           activation=_activation(name, **params), rng=gen)
    label = regime(cell).regime
    try:
        traj = _driven_run(cell, steps, gen, scale=input_scale)
    except NumericalError as exc:                              # the run diverged
        return {"regime": label, "measured": None, "stderr": None, "error": str(exc)}
    res = lyapunov_spectrum(traj, k=1, warmup=warmup, rng=gen)
    return {"regime": label, "measured": float(res.exponents[0]), "stderr": float(res.stderr[0]),
            "error": None}


def phase_table(gains, activations, *, n=32, steps=200, warmup=50, seeds=3, init_name="orthogonal",
                input_scale=0.3, rng=None, executor="serial", out=None):
    """Tidy data for :func:`spectra.plot.phase_diagram`: regime and measured lambda_max per point.

    A parameter sweep (:func:`spectra.sweep`) over ``activations x gains x
    seeds`` of :func:`phase_point`: each point draws an Elman network
    (``init_name`` with that gain), classifies it with :func:`spectra.regime`,
    runs it on Gaussian inputs of standard deviation ``input_scale`` and
    measures the largest Lyapunov exponent (``lyapunov_spectrum(traj, k=1,
    warmup=warmup)``).  One row per replicate; the phase diagram averages
    them.  A run whose state overflows is recorded with ``measured`` = NaN and
    its ``error`` message (no marker is drawn there).  Every point has its
    own seed derived from the base seed and its parameters, so the table does
    not depend on the executor or on the order points finish.

    Parameters
    ----------
    gains : sequence of float
    activations : sequence of str or Activation
    n, steps, warmup, seeds : int
        Units, steps per run, steps discarded before averaging, replicates.
    init_name : str
        Recurrent initialiser (see :meth:`spectra.ElmanRNN.random`).
    input_scale : float
    rng : int, Generator or None
        The base seed (a Generator draws one).
    executor : "serial", None, int or concurrent.futures.Executor
        Where the points run (see :func:`spectra.sweep`): in-process by
        default; None for all local cores, or a Dask client's executor.
    out : str or path, optional
        A JSON-lines file: finished points are kept there and a rerun skips
        them.

    Returns
    -------
    dict of lists
        Columns ``gain``, ``activation``, ``seed``, ``regime``, ``measured``,
        ``stderr`` (of the single run) and ``error``.

    Examples
    --------
    >>> import spectra
    >>> t = spectra.plot.phase_table([0.5, 2.0], ["sigmoid"], n=8, steps=60, warmup=10, seeds=2, rng=0)
    >>> t["regime"]
    ['vanishing guaranteed', 'vanishing guaranteed', 'vanishing guaranteed', 'vanishing guaranteed']
    >>> all(m < 0 for m in t["measured"])
    True
    """
    import numpy as np

    from ..sweeps import grid as _grid
    from ..cells.init import INITIALIZERS
    from ..sweeps import sweep
    from .._core.validation import as_generator, check_choice, check_int, check_real, describe

    if isinstance(gains, (str, bytes)) or not hasattr(gains, "__len__") or len(gains) == 0:
        raise TypeError(f"`gains` must be a non-empty sequence of numbers; got {describe(gains)}")
    gains = [check_real(g, "gains") for g in gains]
    if isinstance(activations, (str, Activation)) or not hasattr(activations, "__len__") \
            or len(activations) == 0:
        raise TypeError(f"`activations` must be a non-empty sequence of names or Activations; got "
                        f"{describe(activations)}")
    acts = []
    for a in activations:
        act = _activation(a)                       # validates names and instances alike
        acts.append(act.name if not act.params else {"name": act.name, **act.kwargs})
    n = check_int(n, "n", minimum=1)
    steps = check_int(steps, "steps", minimum=2)
    warmup = check_int(warmup, "warmup", minimum=0, maximum=steps - 1)
    seeds = check_int(seeds, "seeds", minimum=1)
    check_choice(init_name, "init_name", INITIALIZERS)
    input_scale = check_real(input_scale, "input_scale", low=0.0)
    base = rng if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0 \
        else int(as_generator(rng).integers(2 ** 62))
    points = _grid.product(activation=acts, gain=gains, replicate=list(range(seeds)),
                           n=[n], steps=[steps], warmup=[warmup], init_name=[init_name],
                           input_scale=[input_scale])
    res = sweep(phase_point, points, executor=executor, out=out, progress=False, seed=base)
    cols = {k: [] for k in ("gain", "activation", "seed", "regime", "measured", "stderr", "error")}
    for rec in res.records:
        p = rec.params
        act = p["activation"] if isinstance(p["activation"], str) else p["activation"]["name"]
        if rec.error is not None:       # a bug, not a divergent run: do not hide it
            raise RuntimeError(f"phase point {p} failed: {rec.error['type']}: {rec.error['message']}")
        r = rec.result
        nan = float("nan")
        m = nan if r["measured"] is None else r["measured"]
        se = nan if r["stderr"] is None else r["stderr"]
        reg, err = r["regime"], r["error"]
        for key, v in (("gain", p["gain"]), ("activation", act), ("seed", p["replicate"]),
                       ("regime", reg), ("measured", m), ("stderr", se), ("error", err)):
            cols[key].append(v)
    return cols


@register("phase_diagram")
def _phase_diagram(rng):
    """Regimes over gain and activation: vanishing guaranteed / exploding possible / measured."""
    table = phase_table([0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0],
                        ["tanh", "sigmoid", "relu", "softplus"], rng=rng)
    fig, ax = figure_and_axes(width="double", aspect=0.3)
    phase_diagram(table, ax=ax, annotate=True,   # the mean-field edge of chaos at input s.d. 0.3
                  theory={a: edge_of_chaos(a, input_std=0.3) for a in ("tanh", "relu", "softplus")})
    ax.set_xlabel(r"gain of orthogonal $W$ ($= \gamma_W$)")
    ax.set_title(r"regime by the bound (colour) vs measured $\lambda_{\max}$ (marker; mean of 3 runs)")
    return fig


def _gaussian_product_data(sizes=(8, 32), steps=2000, *, rng=None):
    """Measured Lyapunov spectra of products of Gaussian matrices and Newman's closed form.

    For each n in ``sizes``: ``steps`` i.i.d. n x n matrices with N(0, 1/n) entries, their
    spectrum by QR every step (``lyapunov_spectrum(..., reorth_every=1)``), Newman's
    lambda_i (:func:`spectra.gaussian_product_lyapunov`) and the exact standard error of the
    time average, sqrt(psi'((n - i + 1)/2) / (4 T)) (each log R_ii is i.i.d. over steps).

    Returns
    -------
    dict
        label -> (LyapunovSpectrum, theory (n,), exact standard error (n,)).
    """
    import math

    import numpy as np
    from scipy.special import polygamma

    from ..analysis.theory import gaussian_product_lyapunov
    from .._core.validation import as_generator, check_int

    steps = check_int(steps, "steps", minimum=2)
    gen = as_generator(rng)
    out = {}
    for n in sizes:
        n = check_int(n, "sizes", minimum=1)
        Ws = gen.standard_normal((steps, n, n)) / math.sqrt(n)
        res = lyapunov_spectrum(Ws, reorth_every=1)
        se = np.sqrt(polygamma(1, np.arange(n, 0, -1) / 2.0) / (4.0 * steps))
        out[f"n = {n}"] = (res, gaussian_product_lyapunov(n), se)
    return out


@register("gaussian_products")
def _gaussian_products(rng):
    """Lyapunov spectra of products of Gaussian matrices against Newman's closed form."""
    import numpy as np

    data = _gaussian_product_data(rng=rng)
    fig, (left, right) = figure_and_axes(width="double", ncols=2, aspect=0.75)
    lyapunov_exponents({k: v[0] for k, v in data.items()},
                       theory={k: v[1] for k, v in data.items()}, ax=left)
    for i, (label, (res, theory, se)) in enumerate(data.items()):
        idx = np.arange(1, theory.size + 1)
        right.plot(idx / theory.size, (res.exponents - theory) / se, marker="o", markersize=2.5,
                   linewidth=0.8, label=label, color=color(i))
    right.axhspan(-2.0, 2.0, color="0.85", zorder=0, label=r"$\pm 2$ s.e.")
    right.axhline(0.0, color="0.6", linewidth=0.6)
    right.set_xlabel("normalised index $i/n$")
    right.set_ylabel(r"(measured $-$ Newman) / exact s.e.")
    right.legend(loc="best")
    steps = next(iter(data.values()))[0].steps
    left.set_title(r"$\lambda_i$ of $W_T \cdots W_1$, $W_{ij} \sim N(0, 1/n)$ (dashed: Newman)")
    right.set_title(f"deviation in exact standard errors, $T = {steps}$")
    return fig


_EDGE_CASES = {          # label: (bias s.d., input s.d.)
    "no bias, no input": (0.0, 0.0),
    "bias s.d. 0.5": (0.5, 0.0),
    "inputs s.d. 1": (0.0, 1.0),
}


def _edge_of_chaos_data(gains, *, n=128, steps=400, warmup=100, rng=None):
    """Measured largest Lyapunov exponents of random tanh networks against the gain.

    For each case of ``_EDGE_CASES`` and each gain g: an Elman network with W_ij ~ N(0, g^2/n),
    Gaussian biases and a Gaussian input drive of the case's standard deviations (inputs
    redrawn every step), run from a random state; lambda_max by ``lyapunov_spectrum(k=1)``
    with its batch-means standard error.

    Returns
    -------
    dict
        label -> (gains (G,), measured (G,), stderr (G,), bias s.d., input s.d.).
    """
    import numpy as np

    from .._core.validation import as_generator

    gen = as_generator(rng)
    gains = np.asarray(gains, dtype=float)
    out = {}
    for label, (sb, sx) in _EDGE_CASES.items():
        lam, se = [], []
        for g in gains:
            cell = ElmanRNN.random(n, input_size=n if sx > 0 else 0, gain=float(g),
                                   bias_scale=sb, rng=gen)
            x = sx * gen.standard_normal((steps, n)) if sx > 0 else None
            traj = cell.run(x, h0=gen.standard_normal(n), steps=steps)
            res = lyapunov_spectrum(traj, k=1, warmup=warmup, rng=gen)
            lam.append(float(res.exponents[0]))
            se.append(float(res.stderr[0]))
        out[label] = (gains, np.array(lam), np.array(se), sb, sx)
    return out


@register("edge_of_chaos")
def _edge_of_chaos(rng):
    """lambda_max against the gain for random tanh networks, with the mean-field curve and g_c."""
    import numpy as np

    from ._style import paper_style

    from matplotlib.lines import Line2D

    data = _edge_of_chaos_data(np.linspace(0.6, 3.0, 9), rng=rng)
    n = 128
    fig, ax = figure_and_axes(width="double", aspect=0.45)
    with paper_style():
        ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=1)
        for i, (label, (gains, lam, se, sb, sx)) in enumerate(data.items()):
            c = color(i)
            gc = edge_of_chaos("tanh", sb, input_std=sx)
            ax.errorbar(gains, lam, yerr=2.0 * se, color=c, marker="o", markersize=3,
                        linestyle="none", elinewidth=0.8, capsize=1.5, zorder=3,
                        label=f"{label} ($g_c = {gc:.3f}$)")
            grid = np.union1d(np.linspace(0.5, 3.1, 21), [gc])      # the curve bends at g_c
            theory = [recurrent_mean_field(g, "tanh", sb, input_std=sx).lyapunov_max for g in grid]
            ax.plot(grid, theory, color=c, linewidth=1.0, zorder=2, label="_mean field")
            ax.axvline(gc, color=c, linestyle="--", linewidth=0.8, zorder=2, label="_g_c")
        ax.set_xlabel(r"gain $g$ ($W_{ij} \sim N(0, g^2/n)$)")
        ax.set_ylabel(r"$\lambda_{\max}$ (per step)")
        ax.set_title(rf"tanh networks, $n = {n}$: measured $\lambda_{{\max}}$ ($\pm$2 s.e.), "
                     "mean-field curve and edge of chaos")
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="0.3", linewidth=1.0),
                    Line2D([], [], color="0.3", linestyle="--", linewidth=0.8)]
        labels += ["mean field, $N \\to \\infty$", "mean-field $g_c$"]
        ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig
