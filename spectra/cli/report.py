"""``spectra report MODEL --out DIR``: the network of the command line, reported by
:func:`spectra.plot.model_report` (report.html with every figure embedded, and report.json)."""

from __future__ import annotations

import os

from .args import _ArgumentError
from .network import _describe, _make_network
from .output import _write_json


def _cmd_report(args, out):
    if args.model is not None:
        if args.weights is not None:
            raise _ArgumentError("argument --weights: give the model once, as MODEL or --weights")
        args.weights = args.model
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise _ArgumentError(f"argument --out: {args.out!r} exists and is not a folder")
    cell, traj, network = _make_network(args)
    from .. import plot

    n = traj.states.shape[-1]
    if args.k is not None and args.k > n:
        raise _ArgumentError(f"argument --k: at most the state size {n}; got {args.k}")
    # the same run as the other commands: their inputs and initial state
    data = plot.model_report(cell, args.out, inputs=traj.inputs, steps=args.steps,
                             h0=traj.states[0], k=args.k, network=network, rng=args.seed)
    html = os.path.join(args.out, "report.html")
    jsn = os.path.join(args.out, "report.json")
    if getattr(args, "json", False):
        _write_json({"html": html, "json": jsn, "regime": data["regime"]}, out)
    else:
        out.write(f"# {_describe(network)}\n{html}\n{jsn}\n")
    return 0
