"""What the analysis commands write: an aligned table, CSV, or strict JSON.

JSON follows the package's one policy, :func:`spectra._core.results.to_jsonable`
(numpy values become Python ones, non-finite floats the strings ``"inf"``,
``"-inf"`` and ``"nan"``); CSV writes non-finite floats the same way.
"""

from __future__ import annotations

import json

from .._core.results import to_jsonable
from ..analysis.bounds import format_log as _fmt_log

# the progress bar is shown only for work of at least this many step Jacobians
_PROGRESS_MIN = 2000


def _write_json(value, out):
    """``value`` as one line of strict JSON under the package's JSON policy."""
    json.dump(to_jsonable(value), out, allow_nan=False)
    out.write("\n")


def _fmt_num(x):
    """A number with 6 significant digits (``inf``, ``-inf``, ``nan`` as such)."""
    return f"{float(x):.6g}"


def _csv_value(v):
    """A CSV cell: floats at full precision, non-finite ones as the JSON policy writes them."""
    v = to_jsonable(v)
    return repr(v) if isinstance(v, float) else v


class _Table:
    """Columns of one result: written as an aligned table, CSV, or (with a payload) JSON."""

    def __init__(self, header, columns, payload):
        self.header = header            # list of str: comment lines of the human table
        self.columns = columns          # list of (name, values, formatter)
        self.payload = payload          # dict for --json

    def write(self, args, out):
        if args.json:
            _write_json(self.payload, out)
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


def _bar(total, label):
    """A progress bar on stderr for ``total`` step Jacobians (off for small jobs and off a terminal)."""
    from ..jacobians.progress import ProgressBar

    return ProgressBar(total, label, enabled=None if total >= _PROGRESS_MIN else False)
