"""The ``spectra`` command.

Subcommands::

    spectra bound      exact gradient norms against the classic and trajectory bounds, per lag
    spectra profile    the gradient-norm profile log ||dh_t/dh_{t-lag}|| over all lags
    spectra spectrum   singular values of dh_t/dh_{t-lag} for chosen lags (or eigenvalues of J_t)
    spectra lyapunov   Lyapunov exponents with standard errors
    spectra figures    the figure set, written to --out DIR
    spectra report     one self-contained report.html and report.json of a model, in --out DIR

The analysis subcommands build a network from the options (or read one with
``--weights FILE``), run it on Gaussian inputs and analyse its trajectory.
Output is a human-readable table by default, ``--json`` (strict JSON:
non-finite numbers are the strings "inf", "-inf" and "nan") or ``--csv``
(a header row, then one row per line of the table) for scripts.  Norms,
singular values and bounds are given as natural logarithms in JSON and CSV
(they routinely leave the float64 range); the tables print them as numbers.

Every bad argument, including an unreadable weights file or one of the wrong
kind, prints one plain line ``spectra: error: ...`` (no terminal escape codes,
the advice first) and exits with status 2; numerical failure (a run that
overflows) exits with status 1.  ``spectra`` alone prints the help on standard
error and exits with status 2, argparse's status for a missing argument;
``spectra --version`` prints the version.  A progress bar (tqdm) is drawn on
standard error during long computations, only on a terminal.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from .args import _ArgumentError, build_parser
from .network import _describe, _make_network, _simple_parts
from .output import _bar, _fmt_log, _fmt_num, _Table, _write_json

__all__ = ["main", "build_parser"]


def _select_lags(lags, available_max, what="--lags"):
    if lags is None:
        return None
    bad = [lag for lag in lags if lag > available_max]
    if bad:
        raise _ArgumentError(f"argument {what}: lags must lie in 1..{available_max} (the span); got {bad[0]}")
    return [lag - 1 for lag in lags]


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
    reg = None if parts is None else spectra.regime(parts[0], parts[1], alpha=parts[2])
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
        header.append("not of the classic form f(W h + W_in x + b) (a gated cell, an LRU, ...): "
                      "no classic bound; the trajectory bound uses the exact step norms")
    header.append(f"first lag below eps={args.eps:g} (lag 0, the identity, has norm 1): exact "
                  f"{rep.horizon_text('exact')}, trajectory bound {rep.horizon_text('trajectory')}, "
                  f"classic bound {rep.horizon_text('classic')}")
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
            _write_json([s.to_dict() for s in specs], out)
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

        paths = plot.make_figure_set(args.out, rng=args.seed, formats=args.formats, names=todo,
                                     progress=progress, dpi=args.dpi)
    total = time.perf_counter() - start
    by_name = {}
    for p in paths:    # NAME.fmt or NAME-KEY.fmt; stems are unique (make_figure_set checks)
        owner = max((n for n in todo if p.stem == n or p.stem.startswith(n + "-")), key=len)
        by_name.setdefault(owner, []).append(str(p))
    if args.json:
        _write_json({"out": os.fspath(args.out), "seed": args.seed, "formats": args.formats,
                     "figures": [{"name": n, "files": by_name.get(n, []), "seconds": round(s, 3)}
                                 for n, s in timings],
                     "seconds": round(total, 3)}, out)
    else:
        for n, s in timings:
            for f in by_name.get(n, []):
                out.write(f"{f}\n")
        out.write(f"# {len(paths)} files, {len(todo)} figures in {total:.1f} s (seed {args.seed})\n")
    return 0


_COMMANDS = {"bound": _cmd_bound, "profile": _cmd_profile, "spectrum": _cmd_spectrum,
             "lyapunov": _cmd_lyapunov}


def _one_line(exc):
    from .._core.errors import plain_text

    return plain_text(exc) or type(exc).__name__


def main(argv=None, out=None) -> int:
    """Entry point of the ``spectra`` console script; returns the exit status.

    0 on success, 2 for a bad argument or no command (one line on stderr, no
    traceback; the help without a command), 1 for numerical failure.
    """
    from .._core.errors import NumericalError

    out = sys.stdout if out is None else out
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:          # argparse's convention for a missing argument: status 2
            parser.print_help(sys.stderr)
            return 2
        if args.command == "figures":
            return _cmd_figures(args, out)
        if args.command == "report":
            from .report import _cmd_report

            return _cmd_report(args, out)
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
    except MemoryError:
        sys.stderr.write("spectra: error: out of memory (try a smaller --size or fewer --steps)\n")
        return 1
    except OSError as exc:                        # unwritable --out, a missing file, ...
        sys.stderr.write(f"spectra: error: {_one_line(exc)}\n")
        return 1
    except SystemExit as exc:                     # --help, --version: argparse printed and exits
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        sys.stderr.write("spectra: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
