"""The ``spectra`` command.

Subcommands::

    spectra bound      exact gradient norms against the classic and trajectory bounds, per lag
    spectra profile    the gradient-norm profile log ||dh_t/dh_{t-lag}|| over all lags
    spectra spectrum   singular values of dh_t/dh_{t-lag} for chosen lags (or eigenvalues of J_t)
    spectra lyapunov   Lyapunov exponents with standard errors
    spectra figures    the figure set, written to --out DIR

The analysis subcommands build a network from the options (or read one with
``--weights FILE``), run it on Gaussian inputs and analyse its trajectory.
Output is a human-readable table by default, ``--json`` (strict JSON:
non-finite numbers are the strings "inf", "-inf" and "nan") or ``--csv``
(a header row, then one row per line of the table) for scripts.  Norms,
singular values and bounds are given as natural logarithms in JSON and CSV
(they routinely leave the float64 range); the tables print them as numbers.

Every bad argument, including an unreadable weights file or one of the wrong
kind, prints one line ``spectra: error: ...`` and exits with status 2;
numerical failure (a run that overflows) exits with status 1.  A progress bar
is drawn on standard error during long computations, only on a terminal.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

__all__ = ["main", "build_parser"]

_CELLS = {"elman": "ElmanRNN", "recurrent-first": "RecurrentFirstRNN", "leaky": "LeakyRNN",
          "lstm": "LSTM", "gru": "GRU"}
_GATED = ("lstm", "gru")
_FROM_TORCH = ("elman", "lstm", "gru")            # what a PyTorch state dict can hold
_GATES = {1: "elman", 3: "gru", 4: "lstm"}         # rows of weight_hh per hidden unit
_DEFAULTS = {"size": 64, "gain": 1.2, "init": "gaussian", "activation": "tanh", "alpha": 0.5}
# the progress bar is shown only for work of at least this many step Jacobians
_PROGRESS_MIN = 2000


class _ArgumentError(Exception):
    """A bad command-line argument: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit code 2, no usage dump
        raise _ArgumentError(message)


# -- argument types ----------------------------------------------------------------------------

def _int_at_least(minimum, what):
    """An argparse type: an integer >= ``minimum``, described as ``what`` in errors."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value
    return parse


_positive_int = _int_at_least(1, "a positive integer")
_nonnegative_int = _int_at_least(0, "a non-negative integer")


def _reorth(text):
    if text == "auto":
        return text
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {text!r}") from None


def _finite_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _nonnegative_float(text):
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return value


def _positive_float(text):
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _int_list(text):
    """``1,10,50`` -> [1, 10, 50] (positive integers)."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of positive integers, got {text!r}")
    return [_positive_int(p) for p in parts]


def _name_list(text):
    parts = [p.strip() for p in text.split(",")]
    if any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of names, got {text!r}")
    return parts


# -- the parser ---------------------------------------------------------------------------------

def _add_network_options(p):
    from ..cells.activations import available_activations
    from ..cells.simple import _INITS

    g = p.add_argument_group("network")
    g.add_argument("--cell", choices=list(_CELLS), default=None,
                   help="cell type (default elman; with --weights, read from the file)")
    g.add_argument("--size", type=_positive_int, default=None,
                   help=f"number of hidden units n (default {_DEFAULTS['size']})")
    g.add_argument("--gain", type=_finite_float, default=None,
                   help="gain of the recurrent initialiser (default 1.2; for lstm/gru the scale of "
                        "PyTorch's uniform initialisation, default 1); for --init echo_state the "
                        "spectral radius")
    g.add_argument("--init", choices=_INITS, default=None,
                   help="recurrent initialiser of elman/recurrent-first/leaky cells (default gaussian)")
    g.add_argument("--activation", choices=available_activations(), default=None,
                   help="activation function (default tanh)")
    g.add_argument("--alpha", type=_finite_float, default=None,
                   help="leak of the leaky cell, in [0, 1] (default 0.5)")
    g.add_argument("--steps", type=_positive_int, default=50, help="number of steps T (default 50)")
    g.add_argument("--inputs", type=_nonnegative_int, default=None,
                   help="number of input features d (default n; 0 runs the network without input)")
    g.add_argument("--input-scale", type=_nonnegative_float, default=1.0,
                   help="standard deviation of the Gaussian inputs (default 1)")
    g.add_argument("--seed", type=_nonnegative_int, default=0,
                   help="random seed of weights, inputs and initial state (default 0)")
    g.add_argument("--weights", metavar="FILE", default=None,
                   help="saved weights instead of random ones: an .npz state dict or a torch "
                        ".pt/.pth file of an nn.RNN, nn.LSTM or nn.GRU (key names weight_hh_l0, ...)")
    g.add_argument("--layer", type=_nonnegative_int, default=None,
                   help="layer of a multi-layer module in --weights (default 0)")
    g.add_argument("--key", default=None,
                   help="entry of a checkpoint in --weights holding the state dict (e.g. model)")


def _add_output_options(p, *, csv=True):
    g = p.add_argument_group("output").add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true",
                   help="strict JSON on stdout (non-finite numbers as \"inf\", \"-inf\", \"nan\")")
    if csv:
        g.add_argument("--csv", action="store_true", help="CSV on stdout: a header row, then the rows")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spectra",
                     description="Jacobian spectra of recurrent and deep networks: gradient norms, "
                                 "bounds, singular values, Lyapunov exponents and figures.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("bound", help="exact gradient norms against the classic and trajectory bounds",
                       description="Exact ||dh_t/dh_{t-lag}||_2 at every lag next to the classic bound "
                                   "(gamma_W gamma_h)^lag (Pascanu et al. 2013), the trajectory bound and "
                                   "a lower bound.")
    _add_network_options(p)
    p.add_argument("--eps", type=_positive_float, default=1e-6,
                   help="tolerance for the horizons: first lag below eps (default 1e-6)")
    p.add_argument("--lags", type=_int_list, default=None, help="only these lags, e.g. 1,10,50")
    _add_output_options(p)

    p = sub.add_parser("profile", help="the gradient-norm profile over all lags",
                       description="log ||dh_t/dh_{t-lag}|| for lag = 1..t in one backward sweep, and "
                                   "the fitted rate of growth or decay per step.")
    _add_network_options(p)
    p.add_argument("--ord", choices=["2", "fro"], default="2", help="spectral (2, default) or Frobenius norm")
    p.add_argument("--vector", choices=["ones", "random"], default=None,
                   help="profile of one gradient v^T dh_t/dh_k instead of the matrix norm "
                        "(v all ones, or a random unit vector)")
    p.add_argument("--t", type=_positive_int, default=None, help="the time the gradient starts from (default T)")
    p.add_argument("--lags", type=_int_list, default=None, help="only these lags, e.g. 1,10,50")
    _add_output_options(p)

    p = sub.add_parser("spectrum", help="singular values of dh_t/dh_{t-lag}, or eigenvalues of J_t",
                       description="All singular values of the Jacobian product dh_t/dh_{t-lag} for each "
                                   "lag (accurate far beyond float64's range), or with --eigenvalues "
                                   "the eigenvalues of the step Jacobian J_t.")
    _add_network_options(p)
    p.add_argument("--lags", type=_int_list, default=None,
                   help="lags (default 1, 4, 16, ... and T)")
    p.add_argument("--t", type=_positive_int, default=None, help="end of the span (default T)")
    p.add_argument("--eigenvalues", action="store_true",
                   help="eigenvalues of the step Jacobian J_t instead")
    p.add_argument("--top", type=_positive_int, default=None, help="only the first TOP values")
    _add_output_options(p)

    p = sub.add_parser("lyapunov", help="Lyapunov exponents with standard errors",
                       description="Lyapunov exponents per step by repeated QR (Benettin et al. 1980), "
                                   "with standard errors from block averages.")
    _add_network_options(p)
    p.add_argument("--k", type=_positive_int, default=None, help="number of exponents (default all)")
    p.add_argument("--warmup", type=_nonnegative_int, default=0, help="steps discarded first (default 0)")
    p.add_argument("--reorth-every", type=_reorth, default="auto",
                   help="steps between QR re-orthonormalisations: an integer, or 'auto' (default: "
                        "as often as the frame's conditioning requires)")
    p.add_argument("--running", action="store_true",
                   help="include the running estimates in --json output")
    _add_output_options(p)

    p = sub.add_parser("figures", help="write the figure set (PDF and PNG) to --out DIR",
                       description="Regenerate the figure set deterministically: the same seed gives "
                                   "the same files.")
    p.add_argument("--out", metavar="DIR", default=None, help="output folder (created if missing)")
    p.add_argument("--formats", type=_name_list, default=["pdf", "png"],
                   help="comma-separated formats (default pdf,png)")
    p.add_argument("--only", type=_name_list, action="append", default=None, metavar="NAME",
                   help="only these figures (comma-separated or repeated; see --list)")
    p.add_argument("--seed", type=_nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--dpi", type=_positive_float, default=None, help="resolution of PNGs (default 300)")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    _add_output_options(p, csv=False)
    return parser


# -- the network --------------------------------------------------------------------------------

def _given(args, *names):
    return [n for n in names if getattr(args, n, None) is not None]


def _flag(name):
    return "--" + name.replace("_", "-")


def _detect_cell(state, layer, path):
    """elman / gru / lstm from the shape of weight_hh (rows = gates x hidden units)."""
    ratios = set()
    for key, value in state.items():
        leaf = key.rsplit(".", 1)[-1]
        if leaf in (f"weight_hh_l{layer}", "weight_hh") and getattr(value, "ndim", 0) == 2:
            rows, cols = value.shape
            if cols and rows % cols == 0:
                ratios.add(rows // cols)
    kinds = {_GATES.get(r) for r in ratios}
    if len(kinds) != 1 or None in kinds:
        raise _ArgumentError(f"argument --weights: cannot tell the cell type of {path!r} "
                             f"(layer {layer}); pass --cell elman, lstm or gru")
    return kinds.pop()


def _load_weights(args):
    import spectra

    path = args.weights
    if not os.path.exists(path):
        raise _ArgumentError(f"argument --weights: no such file: {path!r}")
    if os.path.isdir(path):
        raise _ArgumentError(f"argument --weights: {path!r} is a folder, not a file")
    try:
        state = spectra.io.load_state_dict(path, key=args.key)
    except ImportError as exc:                      # a torch file without torch
        raise _ArgumentError(f"argument --weights: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise _ArgumentError(f"argument --weights: {exc}") from None
    except Exception as exc:                        # a file that is not a state dict at all
        raise _ArgumentError(f"argument --weights: cannot read {path!r} as a state dict "
                             f"({type(exc).__name__}: {exc})") from None
    if not state:
        raise _ArgumentError(f"argument --weights: {path!r} holds no arrays")
    return state


def _make_network(args):
    """(cell, trajectory, description) from the network options."""
    import spectra

    layer = 0 if args.layer is None else args.layer
    rng = np.random.default_rng(args.seed)
    if args.alpha is not None and args.cell != "leaky":
        raise _ArgumentError("argument --alpha: applies only to --cell leaky")
    if args.weights is not None:
        extra = _given(args, "size", "gain", "init", "inputs")
        if extra:
            raise _ArgumentError(f"argument {_flag(extra[0])}: does not apply with --weights "
                                 "(the file fixes the network)")
        state = _load_weights(args)
        kind = args.cell or _detect_cell(state, layer, args.weights)
        if kind not in _FROM_TORCH:
            raise _ArgumentError(f"argument --cell: --weights holds PyTorch nn.RNN/LSTM/GRU weights; "
                                 f"use --cell elman, lstm or gru, not {kind}")
        cls = getattr(spectra, _CELLS[kind])
        if kind == "elman":
            cell = cls.from_torch(state, layer, activation=args.activation)
        else:
            if args.activation is not None:
                raise _ArgumentError(f"argument --activation: does not apply to --cell {kind} "
                                     "(its gates fix the nonlinearities)")
            cell = cls.from_torch(state, layer)
        source = {"weights": os.fspath(args.weights), "layer": layer}
    else:
        extra = _given(args, "layer", "key")
        if extra:
            raise _ArgumentError(f"argument {_flag(extra[0])}: applies only with --weights")
        kind = args.cell or "elman"
        cls = getattr(spectra, _CELLS[kind])
        n = args.size or _DEFAULTS["size"]
        d = n if args.inputs is None else args.inputs
        if kind in _GATED:
            extra = _given(args, "init", "activation")
            if extra:
                raise _ArgumentError(f"argument {_flag(extra[0])}: does not apply to --cell {kind} "
                                     "(gated cells use PyTorch's uniform initialisation and "
                                     "fixed nonlinearities)")
            gain = 1.0 if args.gain is None else args.gain
            cell = cls.random(n, input_size=d, gain=gain, rng=rng)
            source = {"gain": gain, "inputs": d}
        else:
            gain = _DEFAULTS["gain"] if args.gain is None else args.gain
            init = args.init or _DEFAULTS["init"]
            act = args.activation or _DEFAULTS["activation"]
            options = {}
            if kind == "leaky":
                options["alpha"] = _DEFAULTS["alpha"] if args.alpha is None else args.alpha
            cell = cls.random(n, init=init, gain=gain, input_size=d, activation=act, rng=rng,
                              **options)
            source = {"init": init, "gain": gain, "activation": act, "inputs": d, **options}
    d = cell.input_size
    inputs = args.input_scale * rng.standard_normal((args.steps, d)) if d else None
    h0 = 0.1 * rng.standard_normal(cell.n)
    traj = cell.run(inputs, h0=h0, steps=None if d else args.steps)
    if kind not in _GATED:
        source.setdefault("activation", cell.activation.name)
    hidden = getattr(cell, "hidden_size", cell.n)
    network = {"cell": kind, "hidden_size": hidden, **source, "steps": args.steps,
               "input_scale": args.input_scale, "seed": args.seed}
    return cell, traj, network


def _describe(network):
    parts = [f"{network['cell']} n={network['hidden_size']}"]
    if "weights" in network:
        parts.append(f"weights {network['weights']} (layer {network['layer']})")
    elif "init" in network:
        parts.append(f"{network['init']}(gain={network['gain']:g})")
    else:
        parts.append(f"uniform(gain={network['gain']:g})")
    if "activation" in network:
        parts.append(network["activation"])
    if "alpha" in network:
        parts.append(f"alpha={network['alpha']:g}")
    parts.append(f"T={network['steps']}, seed={network['seed']}")
    return " ".join(parts[:-1]) + ", " + parts[-1]


def _simple_parts(cell):
    """(W, activation, alpha) of a single-matrix cell, or None for gated cells."""
    W = getattr(cell, "W_hh", None)
    if W is None:
        W = getattr(cell, "W", None)
    act = getattr(cell, "activation", None)
    if W is None or act is None:
        return None
    return W, act, getattr(cell, "alpha", None)


# -- output -------------------------------------------------------------------------------------

def _jsonable(x):
    """Plain JSON: numpy values become Python ones, non-finite floats the strings "inf", "-inf", "nan"."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if not math.isfinite(x):
            return "nan" if x != x else ("inf" if x > 0 else "-inf")
        return x
    return x


def _fmt_log(x):
    from ..analysis.bounds import _fmt_log as fmt

    return fmt(float(x))


def _fmt_num(x):
    x = float(x)
    return f"{x:.6g}" if math.isfinite(x) else ("nan" if x != x else ("inf" if x > 0 else "-inf"))


class _Table:
    """Columns of one result: written as an aligned table, CSV, or (with a payload) JSON."""

    def __init__(self, header, columns, payload):
        self.header = header            # list of str: comment lines of the human table
        self.columns = columns          # list of (name, values, formatter)
        self.payload = payload          # dict for --json

    def write(self, args, out):
        if args.json:
            json.dump(_jsonable(self.payload), out, allow_nan=False)
            out.write("\n")
        elif getattr(args, "csv", False):
            import csv

            w = csv.writer(out, lineterminator="\n")
            w.writerow([name for name, _, _ in self.columns])
            for row in zip(*[vals for _, vals, _ in self.columns]):
                w.writerow([_csv_value(v) for v in row])
        else:
            for line in self.header:
                out.write(f"# {line}\n")
            cells = [[name] + [fmt(v) for v in vals] for name, vals, fmt in self.columns]
            widths = [max(len(c) for c in col) for col in cells]
            for row in zip(*cells):
                out.write(" ".join(c.rjust(w) for c, w in zip(row, widths)) + "\n")


def _csv_value(v):
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    return v


def _select_lags(lags, available_max, what="--lags"):
    if lags is None:
        return None
    bad = [lag for lag in lags if lag > available_max]
    if bad:
        raise _ArgumentError(f"argument {what}: lags must lie in 1..{available_max} (the span); got {bad[0]}")
    return [lag - 1 for lag in lags]


def _bar(total, label):
    from ..jacobians.progress import ProgressBar

    return ProgressBar(total, label, enabled=None if total >= _PROGRESS_MIN else False)


# -- subcommands ---------------------------------------------------------------------------------

def _cmd_bound(args):
    import spectra
    from ..jacobians.progress import counting

    cell, traj, network = _make_network(args)
    idx = _select_lags(args.lags, traj.steps)
    parts = _simple_parts(cell)
    with _bar(traj.steps, "bound") as bar:
        if parts is None:
            rep = spectra.bound_report(counting(traj, bar), eps=args.eps)
        else:
            W, act, alpha = parts
            rep = spectra.bound_report(counting(traj, bar), W=W, activation=act, alpha=alpha,
                                       eps=args.eps)
    reg = spectra.regime(cell) if parts is not None else None
    data = rep.to_dict()
    if idx is not None:
        for key in ("lags", "exact", "classic", "trajectory", "lower", "classic_tightness",
                    "trajectory_tightness"):
            if data[key] is not None:
                data[key] = [data[key][i] for i in idx]
    payload = {"network": network, "regime": None if reg is None else reg.to_dict(), **data}
    header = [_describe(network)]
    if reg is not None:
        header.append(f"gamma_W = {rep.gamma_W:.6g}, gamma_h = {rep.gamma_h:.6g}; {reg.regime}")
    else:
        header.append("gated cell: no single recurrent matrix, so no classic bound; "
                      "the trajectory bound uses the exact step norms")
    header.append(f"first lag below eps={args.eps:g}: exact {rep.horizon_exact}, "
                  f"trajectory bound {rep.horizon_trajectory}, classic bound {rep.horizon_classic}")
    header.append("norms ||dh_T/dh_{T-lag}||_2; --json and --csv give natural logarithms")
    rows = range(len(rep.lags)) if idx is None else idx
    none = (lambda v: "-" if v is None else _fmt_log(v))
    classic = [None] * len(rows) if rep.classic is None else [rep.classic[i] for i in rows]
    cols = [("lag", [int(rep.lags[i]) for i in rows], str),
            ("exact", [rep.exact[i] for i in rows], _fmt_log),
            ("classic", classic, none),
            ("trajectory", [rep.trajectory[i] for i in rows], _fmt_log),
            ("lower", [rep.lower[i] for i in rows], _fmt_log)]
    if args.csv:
        cols = [(name if name == "lag" else f"log_{name}", [("" if v is None else v) for v in vals], fmt)
                for name, vals, fmt in cols]
    return _Table(header, cols, payload)


def _fit_rate(lags, logs):
    """Least-squares slope of log norm against lag (per step), over the finite values."""
    ok = np.isfinite(logs)
    if ok.sum() < 2:
        return math.nan
    return float(np.polyfit(np.asarray(lags, float)[ok], np.asarray(logs)[ok], 1)[0])


def _cmd_profile(args):
    import spectra
    from ..jacobians.progress import counting

    cell, traj, network = _make_network(args)
    t = traj.steps if args.t is None else args.t
    if t > traj.steps:
        raise _ArgumentError(f"argument --t: must be at most --steps ({traj.steps}); got {t}")
    vector = None
    if args.vector == "ones":
        vector = np.ones(traj.states.shape[-1])
    elif args.vector == "random":
        v = np.random.default_rng([args.seed, 1]).standard_normal(traj.states.shape[-1])
        vector = v / np.linalg.norm(v)
    with _bar(t, "profile") as bar:
        prof = spectra.gradient_norm_profile(counting(traj, bar), t=t,
                                             ord=2 if args.ord == "2" else "fro", vector=vector)
    idx = _select_lags(args.lags, t)
    rows = range(t) if idx is None else idx
    rate = _fit_rate(prof.lags, prof.log_norms)
    what = ("||v^T dh_t/dh_{t-lag}||" if vector is not None
            else ("||dh_t/dh_{t-lag}||_2" if prof.ord == 2 else "||dh_t/dh_{t-lag}||_F"))
    if not math.isfinite(rate):
        fit = "fitted rate: undefined (fewer than two non-zero norms)"
    elif rate == 0:
        fit = "fitted rate: 0 per step (flat)"
    else:
        fit = (f"fitted rate: {rate:.6g} per step (slope of log norm against lag; a factor e every "
               f"{1 / abs(rate):.3g} steps)")
    header = [_describe(network), f"{what} from t={t}" + ("" if vector is None else f", v = {args.vector}"),
              fit, "--json and --csv give natural logarithms"]
    data = prof.to_dict()
    if idx is not None:
        data["lags"] = [data["lags"][i] for i in idx]
        data["log_norms"] = [data["log_norms"][i] for i in idx]
    payload = {"network": network, **data, "rate": rate}
    cols = [("lag", [int(prof.lags[i]) for i in rows], str)]
    if args.csv:
        cols.append(("log_norm", [prof.log_norms[i] for i in rows], None))
    else:
        cols += [("norm", [prof.log_norms[i] for i in rows], _fmt_log),
                 ("log_norm", [prof.log_norms[i] for i in rows], _fmt_num)]
    return _Table(header, cols, payload)


def _default_lags(t):
    return sorted({1, *[4 ** j for j in range(1, 16) if 4 ** j < t], t})


def _cmd_spectrum(args):
    import spectra
    from ..jacobians.progress import counting

    cell, traj, network = _make_network(args)
    t = traj.steps if args.t is None else args.t
    if t > traj.steps:
        raise _ArgumentError(f"argument --t: must be at most --steps ({traj.steps}); got {t}")
    header = [_describe(network)]
    if args.eigenvalues:
        if args.lags is not None:
            raise _ArgumentError("argument --lags: does not apply with --eigenvalues (use --t)")
        J = traj.jacobian(t)
        lam = np.linalg.eigvals(J)
        lam = lam[np.argsort(-np.abs(lam), kind="stable")]
        if args.top is not None:
            lam = lam[:args.top]
        header.append(f"eigenvalues of the step Jacobian J_{t} = dh_{t}/dh_{t - 1}, by decreasing modulus; "
                      f"spectral radius {np.abs(lam[0]):.6g}")
        parts = _simple_parts(cell)
        if parts is not None:
            header.append(f"spectral radius of the recurrent matrix: {spectra.spectral_radius(parts[0]):.6g}")
        payload = {"network": network, "t": t, "real": lam.real, "imag": lam.imag,
                   "modulus": np.abs(lam)}
        idx = list(range(1, lam.size + 1))
        cols = [("i", idx, str), ("real", lam.real.tolist(), _fmt_num),
                ("imag", lam.imag.tolist(), _fmt_num), ("modulus", np.abs(lam).tolist(), _fmt_num)]
        return _Table(header, cols, payload)
    lags = _default_lags(t) if args.lags is None else args.lags
    bad = [lag for lag in lags if lag > t]
    if bad:
        raise _ArgumentError(f"argument --lags: lags must lie in 1..{t} (the span); got {bad[0]}")
    with _bar(sum(lags), "spectrum") as bar:
        seq = counting(traj, bar)
        sv = [spectra.product_log_singular_values(seq, t=t, k=t - lag) for lag in lags]
    count = sv[0].size if args.top is None else min(args.top, sv[0].size)
    header.append(f"singular values of dh_{t}/dh_{{{t}-lag}}, largest first; "
                  "--json and --csv give natural logarithms")
    payload = {"network": network, "t": t, "lags": lags,
               "log_singular_values": [s[:count] for s in sv]}
    cols = [("i", list(range(1, count + 1)), str)]
    for lag, s in zip(lags, sv):
        if args.csv:
            cols.append((f"log_sv_lag{lag}", s[:count].tolist(), None))
        else:
            cols.append((f"lag={lag}", s[:count].tolist(), _fmt_log))
    return _Table(header, cols, payload)


def _cmd_lyapunov(args):
    import spectra
    from ..jacobians.progress import counting

    cell, traj, network = _make_network(args)
    n = traj.states.shape[-1]
    if args.k is not None and args.k > n:
        raise _ArgumentError(f"argument --k: at most the state size {n}; got {args.k}")
    if args.warmup >= traj.steps:
        raise _ArgumentError(f"argument --warmup: must be less than --steps ({traj.steps}); got {args.warmup}")
    with _bar(traj.steps, "lyapunov") as bar:
        res = spectra.lyapunov_spectrum(counting(traj, bar), k=args.k, warmup=args.warmup,
                                        reorth_every=args.reorth_every, rng=args.seed)
    header = [_describe(network),
              f"{res.exponents.size} Lyapunov exponents per step (natural log) over {res.steps} steps "
              f"after a warm-up of {res.warmup}; stderr from block averages",
              f"largest {res.exponents[0]:.6g} +- {res.stderr[0]:.2g}"
              + (f"; sum {np.sum(res.exponents):.6g}; Kaplan-Yorke dimension "
                 f"{float(res.kaplan_yorke_dimension):.4g}" if res.exponents.size == n else "")]
    data = res.to_dict()
    if not args.running:
        data.pop("running")
        data.pop("running_steps")
    payload = {"network": network, **data}
    cols = [("i", list(range(1, res.exponents.size + 1)), str),
            ("exponent", res.exponents.tolist(), _fmt_num),
            ("stderr", res.stderr.tolist(), _fmt_num)]
    return _Table(header, cols, payload)


def _cmd_figures(args, out):
    if args.out is None and not args.list:
        raise _ArgumentError("argument --out: required (the folder to write the figures to)")
    if args.out is not None and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise _ArgumentError(f"argument --out: {args.out!r} exists and is not a folder")
    from .. import plot

    specs = plot.figure_specs()
    if args.list:
        if args.json:
            json.dump([s.to_dict() for s in specs], out)
            out.write("\n")
        else:
            width = max(len(s.name) for s in specs)
            for s in specs:
                out.write(f"{s.name.ljust(width)}  {s.description}\n")
        return 0
    names = None if args.only is None else [n for group in args.only for n in group]
    known = set(plot.figure_names())
    for name in names or ():
        if name not in known:
            raise _ArgumentError(f"argument --only: no figure named {name!r}; choose from "
                                 f"{', '.join(plot.figure_names())}")
    todo = list(names or plot.figure_names())
    timings = []
    start = last = time.perf_counter()

    from ..jacobians.progress import ProgressBar

    with ProgressBar(len(todo), "figures") as bar:
        bar.update(0, todo[0])

        def progress(done, total, name):
            nonlocal last
            now = time.perf_counter()
            timings.append((name, now - last))
            last = now
            bar.update(done, todo[done] if done < total else "")

        paths = plot.make_figure_set(args.out, seed=args.seed, formats=args.formats, names=todo,
                                     progress=progress, dpi=args.dpi)
    total = time.perf_counter() - start
    by_name = {}
    for p in paths:    # NAME.fmt or NAME-KEY.fmt; stems are unique (make_figure_set checks)
        owner = max((n for n in todo if p.stem == n or p.stem.startswith(n + "-")), key=len)
        by_name.setdefault(owner, []).append(str(p))
    if args.json:
        json.dump({"out": os.fspath(args.out), "seed": args.seed, "formats": args.formats,
                   "figures": [{"name": n, "files": by_name.get(n, []), "seconds": round(s, 3)}
                               for n, s in timings],
                   "seconds": round(total, 3)}, out)
        out.write("\n")
    else:
        for n, s in timings:
            for f in by_name.get(n, []):
                out.write(f"{f}\n")
        out.write(f"# {len(paths)} files, {len(todo)} figures in {total:.1f} s (seed {args.seed})\n")
    return 0


_COMMANDS = {"bound": _cmd_bound, "profile": _cmd_profile, "spectrum": _cmd_spectrum,
             "lyapunov": _cmd_lyapunov}


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv=None, out=None) -> int:
    """Entry point of the ``spectra`` console script; returns the exit status.

    0 on success, 2 for a bad argument (one line on stderr, no traceback),
    1 for numerical failure.
    """
    from .._core.errors import NumericalError

    out = sys.stdout if out is None else out
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(out)
            return 0
        if args.command == "figures":
            return _cmd_figures(args, out)
        table = _COMMANDS[args.command](args)
        table.write(args, out)
        return 0
    except (_ArgumentError, ValueError, TypeError) as exc:
        sys.stderr.write(f"spectra: error: {_one_line(exc)}\n")
        return 2
    except NumericalError as exc:
        sys.stderr.write(f"spectra: error: {_one_line(exc)}\n")
        return 1
    except BrokenPipeError:                       # e.g. `spectra profile | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("spectra: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
