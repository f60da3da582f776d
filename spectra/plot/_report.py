"""One report of a network: a self-contained ``report.html`` (figures embedded) and ``report.json``.

``spectra report MODEL --out DIR`` builds it from a torch checkpoint or state
dict (or a built-in network); :func:`model_report` builds it from a cell.  The
page holds no script and loads nothing: every figure is a base64 PNG inside it,
so it opens offline, in a mail attachment, or in a headless browser.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from .._core.results import to_jsonable
from .._core.validation import check_int, describe
from ..analysis.bounds import bound_report, regime
from ..analysis.lyapunov import lyapunov_spectrum
from ..analysis.products import gradient_norm_profile
from ..nonnormal.growth import transient_growth
from ..nonnormal.measures import nonnormality
from ..nonnormal.pseudospectral import pseudospectra
from ._figures import eigenvalues, gradient_norms
from ._lyapunov import lyapunov_exponents
from ._nonnormal import pseudospectra_contours, transient_growth_curves
from ._stack import layer_gradient_norms
from ._style import figure_and_axes

__all__ = ["model_report"]

_MAX_EXPONENTS = 64


def _png(fig, dpi=110) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _profile_figure(prof):
    fig, ax = figure_and_axes()
    ax.plot(prof.lags, prof.log_norms / math.log(10.0), color="C0")
    ax.set_xlabel("lag")
    ax.set_ylabel(r"$\log_{10}\,\|\partial h_t/\partial h_{t-\mathrm{lag}}\|_2$")
    ax.set_title("gradient-norm profile")
    return fig


def _layers(cell):
    """``[(name, cell)]``: the layers of a :class:`~spectra.Stack` (its ``cells``), or the cell."""
    layers = getattr(cell, "cells", None)
    if isinstance(layers, (tuple, list)) and layers:
        return [(f"layer {i}", layer) for i, layer in enumerate(layers)]
    return [("", cell)]


def _matrix_block(name, W, what, figures):
    """Non-normality, transient growth and pseudospectra of one square matrix."""
    measures = nonnormality(W)
    growth = transient_growth(W, steps=min(200, 20 * W.shape[0]))
    ps = pseudospectra(W, resolution=41 if W.shape[0] > 64 else 61)
    prefix = f"{name}: " if name else ""
    figures.append((f"{prefix}eigenvalues of {what}", _png(eigenvalues(np.linalg.eigvals(W)))))
    figures.append((f"{prefix}pseudospectra of {what}", _png(pseudospectra_contours(ps))))
    figures.append((f"{prefix}transient growth ||{what}^t||", _png(transient_growth_curves(growth))))
    return {"matrix": what, "nonnormality": measures.to_dict(),
            "transient_growth": {"log_peak": growth.log_peak, "peak_step": growth.peak_step,
                                 "certified": growth.certified},
            "pseudospectra": {"levels": ps.levels, "spectral_radius": ps.spectral_radius,
                              "spectral_norm": ps.spectral_norm}}


def model_report(cell, out, *, inputs=None, steps=200, h0=None, k=None, network=None, rng=0):
    """Analyse ``cell`` on one run and write ``out/report.html`` and ``out/report.json``.

    Parameters
    ----------
    cell : Cell
        Any cell (e.g. ``spectra.LSTM.from_torch(state_dict)``).
    out : str or os.PathLike
        Output folder (created if missing).
    inputs : (T, d) array_like, optional
        The input sequence; default ``steps`` standard Gaussian inputs drawn
        from ``rng`` (none for a cell without input).
    steps : int
        Length of the default run.
    h0 : array_like, optional
        Initial state (default the cell's).
    k : int, optional
        Number of Lyapunov exponents (default all, at most 64).
    network : dict, optional
        A description of the network written at the top (e.g. the file it came from).
    rng : int or Generator

    Returns
    -------
    dict
        The content of ``report.json`` (strict JSON under the package's policy).

    Examples
    --------
    >>> import json, os, tempfile, spectra
    >>> from spectra.plot import model_report
    >>> cell = spectra.ElmanRNN.random(4, input_size=2, rng=0)
    >>> out = tempfile.mkdtemp()
    >>> data = model_report(cell, out, steps=40)
    >>> sorted(os.listdir(out))
    ['report.html', 'report.json']
    >>> data["regime"]["gamma_W"] == spectra.gamma_W(cell.recurrence().W)
    True
    """
    steps = check_int(steps, "steps", minimum=2)
    if network is not None and not isinstance(network, dict):
        raise TypeError(f"`network` must be a dict or None; got {describe(network)}")
    gen = np.random.default_rng(rng)
    d = getattr(cell, "input_size", 0)
    if inputs is None and d:
        inputs = gen.standard_normal((steps, d))
    traj = cell.run(inputs, h0=h0, steps=None if inputs is not None else steps)
    n = traj.states.shape[-1]
    k = min(n, _MAX_EXPONENTS) if k is None else check_int(k, "k", minimum=1, maximum=n)
    rec = cell.recurrence() if hasattr(cell, "recurrence") else None
    figures = []

    if rec is not None:
        reg = regime(rec.W, rec.activation, alpha=rec.alpha)
        bounds = bound_report(traj, W=rec.W, activation=rec.activation, alpha=rec.alpha)
    else:
        reg = None
        bounds = bound_report(traj)
    prof = gradient_norm_profile(traj)
    lyap = lyapunov_spectrum(traj, k=k, warmup=min(traj.steps // 10, 100), rng=gen)
    figures.append(("exact gradient norms and bounds", _png(gradient_norms(bounds))))
    figures.append(("gradient-norm profile", _png(_profile_figure(prof))))
    figures.append(("Lyapunov exponents (2 standard errors)", _png(lyapunov_exponents(lyap))))
    if len(_layers(cell)) > 1:
        figures.append(("gradient norms per layer", _png(layer_gradient_norms(traj))))

    blocks = []
    for name, layer in _layers(cell):
        lrec = layer.recurrence() if hasattr(layer, "recurrence") else None
        if lrec is not None and lrec.W.shape[0] == lrec.W.shape[1]:
            lreg = regime(lrec.W, lrec.activation, alpha=lrec.alpha)
            blocks.append({"layer": name, "regime": lreg.to_dict(),
                           **_matrix_block(name, np.asarray(lrec.W), "W", figures)})
    if not blocks:     # a gated cell: no single recurrent matrix; the last step Jacobian instead
        J = np.asarray(traj.jacobian(traj.steps))
        blocks.append({"layer": "", "regime": None,
                       **_matrix_block("", J, f"J_{traj.steps}", figures)})

    data = to_jsonable({
        "spectra_version": _version(),
        "network": network or {"cell": type(cell).__name__, "n": n},
        "steps": traj.steps,
        "regime": None if reg is None else reg.to_dict(),
        "bounds": bounds.to_dict(),
        "profile": prof.to_dict(),
        "lyapunov": {"exponents": lyap.exponents, "stderr": lyap.stderr, "steps": lyap.steps,
                     "warmup": lyap.warmup, "sum": float(np.sum(lyap.exponents)),
                     "kaplan_yorke_dimension": (float(lyap.kaplan_yorke_dimension)
                                                if k == n else None)},
        "matrices": blocks,
    })
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"`out` must be a folder; {os.fspath(out)!r} is a file")
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(data, allow_nan=False, indent=1) + "\n")
    (out / "report.html").write_text(_html(data, figures, reg, bounds, lyap), encoding="utf-8")
    return data


def _version():
    from .. import __version__

    return __version__


def _fmt(x, digits=4):
    if x is None:
        return "-"
    if isinstance(x, str):
        return html.escape(x)
    return f"{float(x):.{digits}g}"


def _table(head, rows):
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _lag_rows(bounds, count=12):
    lags = np.asarray(bounds.lags)
    pick = np.unique(np.geomspace(1, lags.size, num=min(count, lags.size)).astype(int)) - 1
    e10 = math.log(10.0)

    def log10(arr, i):
        return "-" if arr is None else _fmt(np.asarray(arr)[i] / e10)
    return [[str(int(lags[i])), log10(bounds.exact, i), log10(bounds.classic, i),
             log10(bounds.trajectory, i), log10(bounds.lower, i)] for i in pick]


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#222}h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.2rem .6rem;border:1px solid #ddd;
text-align:right}th{background:#f4f4f4}figure{display:inline-block;margin:.5rem;vertical-align:top}
figure img{max-width:28rem;height:auto}figcaption{font-size:.85rem;color:#555}"""


def _html(data, figures, reg, bounds, lyap):
    esc = html.escape
    net = data["network"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>spectra report</title><style>{_CSS}</style></head><body>",
             f"<h1>spectra report</h1><p>{esc(', '.join(f'{k}={v}' for k, v in net.items()))}; "
             f"{data['steps']} steps; spectra {esc(data['spectra_version'])}</p>",
             "<h2>Regime</h2>"]
    if reg is None and any(b["regime"] for b in data["matrices"]):
        parts.append("<p>A stack of layers: no single recurrent matrix for the whole; each "
                     "layer's regime is given with its block below.</p>")
    elif reg is None:
        parts.append("<p>Not of the classic form f(W h + W_in x + b) (a gated cell, an LRU, ...): "
                     "no single recurrent matrix, so no classic regime; the "
                     "trajectory bound uses the exact step norms.</p>")
    else:
        parts.append(f"<p><b>{esc(reg.regime)}</b>: gamma_W = {_fmt(reg.gamma_W)}, gamma_h = "
                     f"{_fmt(reg.gamma_h)}, gamma = {_fmt(reg.gamma)} (threshold "
                     f"{_fmt(reg.threshold)}). {esc(reg.reason)}</p>")
    parts.append("<h2>Bounds</h2><p>log10 ||dh_T/dh_{T-lag}||_2: exact, the classic bound "
                 "(gamma_W gamma_h)^lag, the trajectory bound and a lower bound. First lag below "
                 f"eps={_fmt(bounds.eps)}: exact {esc(bounds.horizon_text('exact'))}, trajectory "
                 f"{esc(bounds.horizon_text('trajectory'))}, classic "
                 f"{esc(bounds.horizon_text('classic'))}.</p>")
    parts.append(_table(["lag", "exact", "classic", "trajectory", "lower"], _lag_rows(bounds)))
    parts.append("<h2>Lyapunov spectrum</h2><p>Exponents per step (natural log) with standard "
                 f"errors from block averages, over {lyap.steps} steps after a warm-up of "
                 f"{lyap.warmup}.</p>")
    rows = [[str(i + 1), _fmt(e, 6), _fmt(s, 2)] for i, (e, s) in
            enumerate(zip(lyap.exponents[:16], lyap.stderr[:16]))]
    parts.append(_table(["i", "exponent", "stderr"], rows))
    if lyap.exponents.size > 16:
        parts.append(f"<p>... {lyap.exponents.size - 16} more in report.json.</p>")
    for block in data["matrices"]:
        nn = block["nonnormality"]
        title = f"{block['layer']}: " if block["layer"] else ""
        parts.append(f"<h2>{esc(title)}Non-normality of {esc(block['matrix'])}</h2>")
        if block["regime"] is not None and block["layer"]:
            r = block["regime"]
            parts.append(f"<p>Regime of this layer: <b>{esc(r['regime'])}</b> (gamma_W = "
                         f"{_fmt(r['gamma_W'])}, gamma_h = {_fmt(r['gamma_h'])}).</p>")
        keys = ["spectral_radius", "spectral_norm", "numerical_radius", "henrici_relative",
                "eigenvector_condition"]
        parts.append(_table(keys, [[_fmt(nn.get(key)) for key in keys]]))
        tg = block["transient_growth"]
        parts.append(f"<p>Transient growth: peak ||{esc(block['matrix'])}^t|| = "
                     f"{_fmt(math.exp(tg['log_peak']) if isinstance(tg['log_peak'], float) else None)}"
                     f" at t = {tg['peak_step']}"
                     f"{' (certified supremum)' if tg['certified'] else ''}.</p>")
    parts.append("<h2>Figures</h2>")
    for caption, png in figures:
        parts.append(f"<figure><img alt='{esc(caption)}' src='data:image/png;base64,{png}'>"
                     f"<figcaption>{esc(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
