"""The parser of the ``spectra`` command and its argument types.

Every argument type comes from one factory, :func:`_argument_type`: parse the
text, check the value, and on failure say ``expected WHAT, got TEXT`` (argparse
prefixes ``argument --NAME:``).  ``--cell`` is checked against the cell
registry when the command line is parsed, not when the parser is built, so a
cell registered at any time is a valid choice.
"""

from __future__ import annotations

import argparse
import math

from ..cells.activations import available_activations
from ..cells.init import INITIALIZERS
from ..cells.registry import cell_name, registered_cells

__all__ = ["build_parser"]

#: Defaults of the network options (``gain``, ``init``, ``activation`` and
#: ``alpha`` are those of the cells initialised by :mod:`spectra.init`).
_DEFAULTS = {"size": 64, "gain": 1.2, "init": "gaussian", "activation": "tanh", "alpha": 0.5,
             "cell": "elman"}


class _ArgumentError(Exception):
    """A bad command-line argument: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit code 2, no usage dump
        raise _ArgumentError(message)


# -- argument types ----------------------------------------------------------------------------

def _argument_type(convert, expected, *, accept=None, unreadable=None, literals=(), show_value=False):
    """An argparse type: ``convert(text)``, then ``accept(value)``, with one message style.

    A text ``convert`` rejects with ValueError gives ``expected UNREADABLE, got 'TEXT'``
    (``unreadable`` defaults to ``expected``); a value ``accept`` rejects gives
    ``expected EXPECTED, got 'TEXT'`` (``got VALUE`` with ``show_value``).  An
    ``argparse.ArgumentTypeError`` raised by ``convert`` (from a nested type) passes
    through.  Texts in ``literals`` are returned as they are.
    """
    def parse(text):
        if text in literals:
            return text
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {unreadable or expected}, got {text!r}") from None
        if accept is not None and not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got "
                                             f"{value if show_value else repr(text)}")
        return value
    return parse


def _int_at_least(minimum, what):
    """An argparse type: an integer >= ``minimum``, described as ``what`` in errors."""
    return _argument_type(int, what, accept=lambda value: value >= minimum, show_value=True)


def _comma_list(item, what):
    """An argparse type: a comma-separated list of ``item``s (no empty entries)."""
    def convert(text):
        parts = [p.strip() for p in text.split(",")]
        if any(not p for p in parts):
            raise ValueError(text)
        return [item(p) for p in parts]
    return _argument_type(convert, what)


_positive_int = _int_at_least(1, "a positive integer")
_nonnegative_int = _int_at_least(0, "a non-negative integer")
_reorth = _argument_type(int, "a positive integer or 'auto'", accept=lambda value: value >= 1,
                         literals=("auto",))
_finite_float = _argument_type(float, "a finite number", accept=math.isfinite, unreadable="a number")
_nonnegative_float = _argument_type(_finite_float, "a non-negative number", accept=lambda value: value >= 0)
_positive_float = _argument_type(_finite_float, "a positive number", accept=lambda value: value > 0)
_int_list = _comma_list(_positive_int, "a comma-separated list of positive integers")   # 1,10,50
_name_list = _comma_list(str, "a comma-separated list of names")


def _cli_spelling(name: str) -> str:
    """A registered cell name as the command line writes it (``recurrent_first`` -> ``recurrent-first``)."""
    return name.replace("_", "-")


def _cell_argument(text):
    """``--cell``: any accepted spelling of a registered cell becomes its CLI spelling."""
    try:
        return _cli_spelling(cell_name(text))
    except (ValueError, TypeError):
        return text                 # not registered: argparse reports "invalid choice"


class _RegisteredCells:
    """The choices of ``--cell``: a live view of the cell registry, in CLI spelling."""

    def __contains__(self, name):
        return name in list(self)

    def __iter__(self):
        return iter([_cli_spelling(name) for name in registered_cells()])


# -- the parser ---------------------------------------------------------------------------------

def _add_network_options(p):
    g = p.add_argument_group("network")
    g.add_argument("--cell", type=_cell_argument, choices=_RegisteredCells(), default=None,
                   help="cell type: any registered cell, see spectra.cells.register_cell (default "
                        "elman; with --weights, read from the file)")
    g.add_argument("--size", type=_positive_int, default=None,
                   help=f"number of hidden units n (default {_DEFAULTS['size']})")
    g.add_argument("--gain", type=_finite_float, default=None,
                   help="gain of the recurrent initialiser (default 1.2 for cells with --init; otherwise "
                        "the cell's own default, e.g. for lstm/gru the scale of PyTorch's uniform "
                        "initialisation, default 1); for --init echo_state the spectral radius")
    g.add_argument("--init", choices=INITIALIZERS, default=None,
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
    """The argument parser of the ``spectra`` command.

    A bad argument raises an exception carrying one line of text (``main``
    prints it and exits with status 2) instead of printing the usage.

    Examples
    --------
    >>> from spectra.cli import build_parser
    >>> args = build_parser().parse_args(["lyapunov", "--cell", "recurrent_first", "--size", "8"])
    >>> args.command, args.cell, args.size, args.reorth_every
    ('lyapunov', 'recurrent-first', 8, 'auto')
    """
    parser = _Parser(prog="spectra",
                     description="Jacobian spectra of recurrent and deep networks: gradient norms, "
                                 "bounds, singular values, Lyapunov exponents and figures.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"spectra {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("bound", help="exact gradient norms against the classic and trajectory bounds",
                       description="Exact ||dh_t/dh_{t-lag}||_2 at every lag next to the classic bound "
                                   "(gamma_W gamma_h)^lag (Pascanu et al. 2013), the trajectory bound and "
                                   "a lower bound.")
    _add_network_options(p)
    p.add_argument("--eps", type=_positive_float, default=1e-6,
                   help="tolerance for the horizons: the first lag at which the norm (1 at lag 0) "
                        "is below eps, so eps > 1 gives 0 (default 1e-6)")
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

    p = sub.add_parser("report", help="one HTML report (and report.json) of a model in --out DIR",
                       description="Everything about one network in one self-contained HTML file "
                                   "with its figures embedded, and the numbers in report.json: the "
                                   "regime, the bound table, the gradient-norm profile, the Lyapunov "
                                   "spectrum with standard errors, non-normality and pseudospectra of "
                                   "the recurrent matrix.")
    p.add_argument("model", metavar="MODEL", nargs="?", default=None,
                   help="a torch checkpoint or state dict (.pt/.pth) or an .npz state dict; "
                        "without it, the network given by the network options")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created if missing)")
    p.add_argument("--k", type=_positive_int, default=None,
                   help="number of Lyapunov exponents (default all, at most 64)")
    _add_network_options(p)
    _add_output_options(p, csv=False)
    return parser
