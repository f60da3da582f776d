"""Figures for deep feedforward nets: depth profiles and singular-value spectra at depth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._core.validation import check_int
from ._figureset import register
from ._style import color, decade_ticks, figure_and_axes, paper_style

__all__ = ["depth_profile", "depth_spectra", "figure_set"]

_LN10 = np.log(10.0)


def _labelled(results, cls, what):
    """[(label, result)] from one result, a mapping label -> result, or a sequence."""
    if isinstance(results, cls):
        return [(None, results)]
    if isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif isinstance(results, (list, tuple)):
        items = [(None, v) for v in results]
    else:
        raise TypeError(f"`{what}` must be a {cls.__name__}, a dict label -> {cls.__name__} or a "
                        f"list of them; got {type(results).__name__}")
    if not items:
        raise ValueError(f"`{what}` must not be empty")
    for label, v in items:
        if not isinstance(v, cls):
            raise TypeError(f"`{what}` entries must be {cls.__name__}; got {type(v).__name__}"
                            + ("" if label is None else f" for {label!r}"))
    return items


def _depth_index(sp, depth):
    """The position of ``depth`` among the depths ``sp`` (a DepthSpectra) was computed at."""
    depth = check_int(depth, "depth")
    hit = np.nonzero(np.asarray(sp.depths) == depth)[0]
    if hit.size == 0:
        raise ValueError(f"`depth` must be one of the computed depths {np.asarray(sp.depths).tolist()}; "
                         f"got {depth}")
    return int(hit[0])


def depth_profile(profiles, ax=None, *, stat="mean_log", band=2.0, predictions=None):
    """Gradient norm against the number of layers crossed back, with error bands.

    Parameters
    ----------
    profiles : DepthProfile, dict of str to DepthProfile, or list of DepthProfile
        From :func:`spectra.depth_profile`.
    ax : matplotlib Axes, optional
    stat : {"mean_log", "log_mean_square"}
        Plot the mean of log10 of the norm, or log10 of the mean squared
        norm (what mean-field theory predicts).
    band : float
        Half-width of the shaded band in standard errors (0: none).
    predictions : dict of str to (L,) array_like, optional
        Predicted curves (natural logs, same ``stat``, e.g.
        ``MeanField.log_mean_square()``) drawn dashed in the colour of the
        profile with the same label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..analysis.deep import DepthProfile

    items = _labelled(profiles, DepthProfile, "profiles")
    if stat not in ("mean_log", "log_mean_square"):
        raise ValueError(f"`stat` must be 'mean_log' or 'log_mean_square'; got {stat!r}")
    predictions = {} if predictions is None else dict(predictions)
    labels = [lab for lab, _ in items]
    unknown = [k for k in predictions if k not in labels]
    if unknown:
        raise ValueError(f"`predictions` keys must be profile labels {labels}; got {unknown}")
    fig, ax = figure_and_axes(ax)
    with paper_style():
        for i, (label, p) in enumerate(items):
            if stat == "mean_log":
                y, se = p.mean / _LN10, p.stderr / _LN10
            else:
                y, se = p.log_mean_square / _LN10, p.log_mean_square_stderr / _LN10
            c = color(i)
            ok = np.isfinite(y)                 # -inf: some sample's gradient is exactly zero
            y = np.where(ok, y, np.nan)
            ax.plot(p.lags, y, color=c, label=label)
            if band and p.samples > 1:
                ok &= np.isfinite(se)
                ax.fill_between(p.lags[ok], (y - band * se)[ok], (y + band * se)[ok], color=c,
                                alpha=0.2, linewidth=0)
            if label in predictions:
                pred = np.asarray(predictions[label], dtype=float) / _LN10
                ax.plot(p.lags, pred, color=c, linestyle="--", linewidth=0.9)
        q = items[0][1].quantity
        norm = {"spectral": r"\|\partial h_L/\partial h_l\|_2", "fro": r"\|\partial h_L/\partial h_l\|_F",
                "vector": r"\|v^\top \partial h_L/\partial h_l\|"}[q]
        ax.set_xlabel(r"layers crossed back, $L - l$")
        ax.set_ylabel(rf"$\langle\log_{{10}} {norm}\rangle$" if stat == "mean_log"
                      else rf"$\log_{{10}} \langle {norm}^2\rangle$")
        if any(lab is not None for lab in labels) or predictions:
            ax.legend()
    return fig


def depth_spectra(spectra, ax=None, *, kind="spread", depth=None, theory=None, band=2.0,
                  scale="linear"):
    """Singular-value spectra of the input-output Jacobian at depth.

    Parameters
    ----------
    spectra : DepthSpectra, dict of str to DepthSpectra, or list of DepthSpectra
        From :func:`spectra.depth_spectra`.
    ax : matplotlib Axes, optional
    kind : {"spread", "spectrum", "density"}
        ``spread``: the mean variance of the squared singular values against
        depth (log scale, band of ``band`` standard errors).
        ``spectrum``: the squared singular values at ``depth`` in decreasing
        order against their normalised rank i/m (i = 1 for the largest, m
        the width, so the x-axis is the same for every width), log10 scale,
        mean over samples with a band (flat at 0 for an isometry).
        ``density``: a histogram (as a density) of the squared singular
        values at ``depth``, pooled over samples.
    depth : int, optional
        For ``spectrum`` and ``density``: the depth (default the deepest computed).
    theory : dict of str to (depths, values), optional
        Reference curves for ``spread``, drawn dashed (e.g. the exact
        finite-width spread of a linear Gaussian network,
        :func:`spectra.linear_gaussian_spread`, or the free-probability
        variance ``spectra.jacobian_spectrum(...).variance`` per depth).
        For ``density``: dict of str to (x, rho), predicted densities of
        sigma^2 drawn as lines (e.g. ``spectra.jacobian_spectrum(...).density(x)``).
        An entry whose label is also a label of ``spectra`` is drawn in that
        result's colour and named "label (theory)" in the legend; the others
        are black (``spread``) or take the palette in order (``density``).
    band : float
    scale : {"linear", "log"}
        For ``density``: histogram sigma^2 itself, or log10 sigma^2 (bins
        equal in log10, the density that of log10 sigma^2; a ``theory``
        pair (x, rho) is drawn as (log10 x, x ln(10) rho)).  The log scale
        shows a narrow spectrum (an isometry) and one spread over decades
        on one axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..analysis.deep import DepthSpectra

    items = _labelled(spectra, DepthSpectra, "spectra")
    if kind not in ("spread", "spectrum", "density"):
        raise ValueError(f"`kind` must be 'spread', 'spectrum' or 'density'; got {kind!r}")
    if theory is not None and kind == "spectrum":
        raise ValueError("`theory` curves go with kind='spread' or kind='density'")
    if scale not in ("linear", "log"):
        raise ValueError(f"`scale` must be 'linear' or 'log'; got {scale!r}")
    if scale == "log" and kind != "density":
        raise ValueError("`scale='log'` goes with kind='density'")
    labels = [lab for lab, _ in items]

    def theory_style(label, default):
        """(colour, legend label) of a theory entry: the matching result's colour if any."""
        if label in labels and label is not None:
            return color(labels.index(label)), f"{label} (theory)"
        return default, label

    fig, ax = figure_and_axes(ax)
    with paper_style():
        if kind == "spread":
            for i, (label, sp) in enumerate(items):
                y, se = sp.mean_spread, sp.spread_stderr
                c = color(i)
                ax.plot(sp.depths, y, marker="o", color=c, label=label)
                if band and sp.samples > 1:
                    lo = np.maximum(y - band * se, y * 1e-2)
                    ax.fill_between(sp.depths, lo, y + band * se, color=c, alpha=0.2, linewidth=0)
            unmatched = 0
            for j, (label, (d, v)) in enumerate((theory or {}).items()):
                c, lab = theory_style(label, color("black"))
                style = "--" if label in labels or unmatched == 0 else ":"
                unmatched += label not in labels
                ax.plot(d, v, color=c, linestyle=style, linewidth=0.9, label=lab)
            ax.set_yscale("log")
            decade_ticks(ax, "y")
            ax.set_xlabel("depth $d$")
            ax.set_ylabel(r"variance of $\sigma_i^2(\partial h_d/\partial h_0)$")
        elif kind == "density":
            for i, (label, sp) in enumerate(items):
                d = int(sp.depths[-1]) if depth is None else depth
                log_s = sp.log_singular_values[:, _depth_index(sp, d), :].ravel()
                if scale == "log":
                    data = 2.0 * log_s[np.isfinite(log_s)] / _LN10
                else:
                    data = np.exp(2.0 * log_s)
                    data = data[np.isfinite(data)]
                ax.hist(data, bins=40, density=True, color=color(i), alpha=0.35,
                        label=label if label is None else f"{label} (d = {d})")
            for j, (label, (x, rho)) in enumerate((theory or {}).items()):
                x, rho = np.asarray(x, dtype=float), np.asarray(rho, dtype=float)
                if scale == "log":
                    keep = x > 0
                    x, rho = np.log10(x[keep]), rho[keep] * x[keep] * _LN10
                c, lab = theory_style(label, color(j))
                ax.plot(x, rho, color=c, linewidth=1.0, label=lab)
            if scale == "log":
                ax.set_xlabel(r"$\log_{10}\sigma_i^2(\partial h_d/\partial h_0)$")
                ax.set_ylabel(r"density of $\log_{10}\sigma_i^2$")
            else:
                ax.set_xlabel(r"$\sigma_i^2(\partial h_d/\partial h_0)$")
                ax.set_ylabel("density")
        else:
            for i, (label, sp) in enumerate(items):
                d = int(sp.depths[-1]) if depth is None else depth
                j = _depth_index(sp, d)
                y = 2.0 * sp.log_singular_values[:, j, :] / _LN10        # (S, m) log10 sigma^2
                y = y[:, ~np.all(np.isnan(y), axis=0)]
                m = y.shape[1]
                x = (np.arange(m) + 0.5) / m
                mean = y.mean(axis=0)
                c = color(i)
                ax.plot(x, mean, color=c, label=label if label is None else f"{label} (d = {d})")
                if band and sp.samples > 1:
                    se = y.std(axis=0, ddof=1) / np.sqrt(sp.samples)
                    ax.fill_between(x, mean - band * se, mean + band * se, color=c, alpha=0.2,
                                    linewidth=0)
            ax.axhline(0.0, color=color("black"), linewidth=0.6, linestyle=":")
            ax.set_xlabel(r"normalised rank $i/m$ ($\sigma_i^2$ the $i$-th largest, $m$ the width)")
            ax.set_ylabel(r"$\log_{10}\sigma_i^2(\partial h_d/\partial h_0)$")
        if any(lab is not None for lab in labels) or theory:
            ax.legend()
    return fig


# ---------------------------------------------------------------------------------------


def _depth_profiles_figure(gen, width=64, depth=24, samples=24):
    from ..analysis.deep import depth_profile as _profile, mean_field, mlp_ensemble

    widths = [width] * (depth + 1)
    left = {  # label: (options, sigma_w^2 for mean-field theory)
        "sigmoid, Xavier": (dict(activation="sigmoid", init="xavier_normal"), 1.0),
        "tanh, Xavier": (dict(activation="tanh", init="xavier_normal"), 1.0),
        "ReLU, Xavier": (dict(activation="relu", init="xavier_normal"), 1.0),
        "ReLU, He": (dict(activation="relu", init="he_normal"), 2.0),
    }
    right = {
        "sigmoid, residual": dict(activation="sigmoid", init="xavier_normal", residual=True),
        "tanh, layer norm": dict(activation="tanh", init="xavier_normal", norm="layer"),
        "tanh, batch norm (B = 8)": dict(activation="tanh", init="xavier_normal", norm="batch",
                                         batch_size=8),
        "ReLU, He, batch norm (B = 8)": dict(activation="relu", init="he_normal", norm="batch",
                                             batch_size=8),
    }
    profs, preds = {}, {}
    for label, (opts, sw) in left.items():
        runs = mlp_ensemble(widths, samples=samples, rng=gen, **opts)
        profs[label] = _profile(runs, quantity="vector", rng=gen)
        preds[label] = mean_field(opts["activation"], depth, weight_var=sw).log_mean_square()
    profs_r = {}
    for label, opts in right.items():
        runs = mlp_ensemble(widths, samples=samples, rng=gen, **opts)
        profs_r[label] = _profile(runs, quantity="vector", rng=gen)
    fig, axes = figure_and_axes(width="double", ncols=2, aspect=0.75)
    depth_profile(profs, axes[0], stat="log_mean_square", predictions=preds)
    depth_profile(profs_r, axes[1], stat="log_mean_square")
    with paper_style():
        axes[0].set_title("plain MLPs (dashed: mean-field theory)")
        axes[1].set_title("residual and normalised MLPs")
    return fig


def _isometry_figure(gen, width=64, depth=32, samples=16, density_depth=16, bias_var=1e-3):
    """Spread against depth and the spectra at one depth, each against its theory.

    The tanh networks sit on the critical line (chi = 1, sigma_w^2 = g_c^2 from
    :func:`spectra.edge_of_chaos` at bias variance ``bias_var``) and their inputs are
    scaled so that every layer's pre-activations have the fixed-point variance q*; the
    free-probability spread and densities (:func:`spectra.jacobian_spectrum`) are for
    exactly these networks in the wide limit.
    """
    import math

    from ..analysis.deep import depth_spectra as _spectra, linear_gaussian_spread, mlp_ensemble
    from ..analysis.freeprob import jacobian_spectrum
    from ..analysis.theory import edge_of_chaos

    widths = [width] * (depth + 1)
    depths = [d for d in (1, 2, 4, 8, 16, 32) if d <= depth]
    density_depth = density_depth if density_depth in depths else depths[-1]
    sw = edge_of_chaos("tanh", math.sqrt(bias_var)) ** 2
    q_star = jacobian_spectrum("tanh", 1, weight_var=sw, bias_var=bias_var).q
    at_q = dict(activation="tanh", gain=math.sqrt(sw), bias_scale=math.sqrt(bias_var),
                input_scale=math.sqrt((q_star - bias_var) / sw))   # layer 1 at q* too
    cases = {"orthogonal, tanh": dict(init="orthogonal", **at_q),
             "Gaussian, tanh": dict(init="gaussian", **at_q),
             "Gaussian, linear": dict(init="gaussian", activation="identity")}
    sp = {label: _spectra(mlp_ensemble(widths, samples=samples, rng=gen, **opts), depths=depths)
          for label, opts in cases.items()}
    free = {w: [jacobian_spectrum("tanh", d, weight_var=sw, bias_var=bias_var, weights=w)
                for d in depths] for w in ("orthogonal", "gaussian")}
    spread_theory = {"orthogonal, tanh": (depths, [f.variance for f in free["orthogonal"]]),
                     "Gaussian, tanh": (depths, [f.variance for f in free["gaussian"]]),
                     f"linear Gaussian, exact (n = {width})":
                     (depths, [linear_gaussian_spread(d, width) for d in depths])}
    fig, axes = figure_and_axes(width="double", ncols=3, aspect=0.9)
    depth_spectra(sp, axes[0], kind="spread", theory=spread_theory)
    with paper_style():      # the theory lines share their result's colour: one legend entry each
        handles, names = axes[0].get_legend_handles_labels()
        keep = [i for i, nm in enumerate(names) if not nm.endswith("(theory)")]
        axes[0].legend([handles[i] for i in keep], [names[i] for i in keep], loc="lower right",
                       fontsize=5)
    j = depths.index(density_depth)
    for ax, label, w in ((axes[1], "orthogonal, tanh", "orthogonal"),
                         (axes[2], "Gaussian, tanh", "gaussian")):
        s2 = np.exp(2.0 * sp[label].log_singular_values[:, j, :])
        s2 = s2[np.isfinite(s2) & (s2 > 0)]
        x = np.geomspace(s2.min() / 2.0, s2.max() * 2.0, 240)
        depth_spectra({label: sp[label]}, ax, kind="density", depth=density_depth, scale="log",
                      theory={label: (x, free[w][j].density(x))})
    with paper_style():
        axes[0].set_title(f"spread of $\\sigma_i^2$ (dashed: theory)")
        axes[1].set_title(f"orthogonal $W$, depth {density_depth}")
        axes[2].set_title(f"Gaussian $W$, depth {density_depth}")
        fig.suptitle(f"tanh at the edge of chaos, $\\sigma_w^2 = {sw:.3f}$, "
                     f"$\\sigma_b^2 = {bias_var:g}$, $q^* = {q_star:.3f}$, width {width}; "
                     "lines: free probability")
    return fig


def figure_set(rng=0) -> dict:
    """The figures of deep feedforward nets and of the gradient monitor, from one seed.

    Returns ``{"deep_depth_profiles": Figure, "deep_isometry": Figure,
    "gradient_monitor": Figure}``:

    * ``deep_depth_profiles``: log10 of the mean squared norm of a gradient
      carried back through 24 layers of width 64 (24 networks each, 2
      standard-error bands): sigmoid and tanh with Xavier, ReLU with Xavier
      and He initialisation against mean-field theory; a residual sigmoid
      stack, layer norm, and batch norm over batches of 8.
    * ``deep_isometry``: tanh networks of width 64 at the edge of chaos
      with orthogonal and Gaussian weights, run at the fixed point q*: the
      variance of the squared singular values of dh_d/dh_0 against depth
      (and a linear Gaussian net with its exact finite-width spread), and
      histograms of log10 sigma^2 at depth 16; dashed and solid lines are
      the free-probability predictions (:func:`spectra.jacobian_spectrum`).
    * ``gradient_monitor``: the README's monitored training run.
    """
    from .._core.validation import as_generator
    from . import _monitor

    gen = as_generator(rng)
    out = {"deep_depth_profiles": _depth_profiles_figure(gen), "deep_isometry": _isometry_figure(gen)}
    out.update(_monitor.figure_set(gen))
    return out


@register("deep")
def _deep_figures(rng):
    """Deep feedforward nets: depth profiles (deep-depth_profiles) and isometry (deep-isometry)."""
    return {"depth_profiles": _depth_profiles_figure(rng), "isometry": _isometry_figure(rng)}
