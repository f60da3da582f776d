"""The ``spectra`` command.

``spectra bound`` prints, for a network built from the options, the exact
gradient norm ||dh_T/dh_{T-lag}||_2 at each lag next to the classic bound
(gamma_W gamma_h)^lag of Pascanu et al. (2013).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

__all__ = ["main", "build_parser"]

_CELLS = {"elman": "ElmanRNN", "recurrent-first": "RecurrentFirstRNN", "leaky": "LeakyRNN"}


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit code 2, no usage dump
        raise _ArgumentError(message)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _finite_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _add_network_options(p):
    from ._activations import available_activations
    from ._cells import _INITS

    g = p.add_argument_group("network")
    g.add_argument("--cell", choices=sorted(_CELLS), default="elman", help="cell type (default elman)")
    g.add_argument("--size", type=_positive_int, default=64, help="number of units n (default 64)")
    g.add_argument("--gain", type=_finite_float, default=1.2, help="gain of the recurrent initialiser (default 1.2)")
    g.add_argument("--init", choices=_INITS, default="gaussian", help="recurrent initialiser (default gaussian)")
    g.add_argument("--activation", choices=available_activations(), default="tanh",
                   help="activation function (default tanh)")
    g.add_argument("--steps", type=_positive_int, default=50, help="number of steps T (default 50)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spectra", description="Jacobian spectra of recurrent and deep networks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("bound", help="exact gradient norms against the classic bound, per lag")
    _add_network_options(p)
    p.add_argument("--eps", type=_finite_float, default=1e-6, help="tolerance for the horizons (default 1e-6)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _network(args):
    import spectra

    rng = np.random.default_rng(args.seed)
    cls = getattr(spectra, _CELLS[args.cell])
    cell = cls.random(args.size, init=args.init, gain=args.gain, input_size=args.size,
                      activation=args.activation, rng=rng)
    inputs = rng.standard_normal((args.steps, args.size))
    return cell, cell.run(inputs, h0=0.1 * rng.standard_normal(args.size))


def _jsonable(x):
    """Plain JSON: non-finite floats become the strings "inf", "-inf", "nan"."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    return x


def _bound(args, out):
    import json

    import spectra

    cell, traj = _network(args)
    rep = spectra.bound_report(traj, eps=args.eps)
    if args.json:
        json.dump(_jsonable(rep.to_dict()), out)
        out.write("\n")
        return 0
    out.write(f"# {args.cell} n={args.size} {args.init}(gain={args.gain}) {args.activation}, "
              f"T={traj.steps}, seed={args.seed}\n")
    out.write(f"# gamma_W = {rep.gamma_W:.6g}, gamma_h = {rep.gamma_h:.6g}; "
              f"{spectra.regime(cell).regime}\n")
    out.write(f"# first lag below eps={args.eps:g}: exact {rep.horizon_exact}, "
              f"trajectory bound {rep.horizon_trajectory}, classic bound {rep.horizon_classic}\n")
    out.write(rep.table() + "\n")
    return 0


def main(argv=None, out=None) -> int:
    """Entry point of the ``spectra`` console script; returns the exit code."""
    out = sys.stdout if out is None else out
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _ArgumentError as exc:
        sys.stderr.write(f"spectra: error: {exc}\n")
        return 2
    if args.command is None:
        parser.print_help(out)
        return 0
    try:
        return _bound(args, out)
    except (ValueError, TypeError) as exc:
        sys.stderr.write(f"spectra: error: {exc}\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
