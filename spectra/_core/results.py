"""One base for every result: a frozen dataclass with ``to_dict()``, a short repr and ``summary()``.

The JSON policy (one, everywhere: results, the CLI's ``--json``, sweep records):

* numpy scalars become Python ``int``/``float``/``bool``; arrays and tuples become lists;
* infinite floats become the strings ``"inf"`` and ``"-inf"`` (a log norm of an
  exact zero is ``"-inf"``), NaN becomes ``null`` (in spectra's results NaN
  always means "undefined here", e.g. a ratio with no error to compare), so the
  output is strict JSON that ``json.dumps(..., allow_nan=False)`` accepts;
* complex numbers become ``{"real": re, "imag": im}``; complex arrays
  ``{"real": [...], "imag": [...]}``;
* nested results and other objects with ``to_dict()`` become their dicts,
  objects with ``json_value()`` that value (an activation: its name);
  mapping keys become strings.

:func:`from_jsonable` reverses the float rule for a value read back.

Defining a result::

    @dataclass(frozen=True, repr=False)
    class MyProfile(Result):
        lags: np.ndarray
        log_norms: np.ndarray

``repr=False`` keeps the short repr of :class:`Result` (a dataclass would write
its own, printing whole arrays).  A result holding per-lag, per-exponent,
per-layer or per-point data names its rows in ``_frame``: ``to_frame()`` then
gives a tidy pandas DataFrame (one row per lag, ...), e.g.
``_frame = ("lag", "lags", ("log_norms",))``: the index column ``lag`` from the
field ``lags`` (None numbers the rows 1, 2, ...), then the columns; arrays of
shape ``(*batch, rows)`` add a ``_frame_batch`` column (one row per sample and
lag).  ``_repr_html_`` draws the summary as an HTML table in notebooks.  Fields listed in ``_json_exclude`` are left
out of ``to_dict()`` (live objects such as a cell); properties listed in
``_json_extra`` are written too (derived statistics worth keeping in a file).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

__all__ = ["Result", "to_jsonable", "from_jsonable", "format_value", "require_pandas"]

_NONFINITE = {"inf": math.inf, "-inf": -math.inf}


def _float(x: float):
    if math.isfinite(x):
        return x
    return None if math.isnan(x) else ("inf" if x > 0 else "-inf")


def to_jsonable(value, *, _depth: int = 0):
    """``value`` as strict-JSON Python data under the package's one policy (see module docs).

    >>> import numpy as np
    >>> to_jsonable({"a": np.array([1.0, -np.inf]), "z": 1 + 2j, "k": np.int64(3)})
    {'a': [1.0, '-inf'], 'z': {'real': 1.0, 'imag': 2.0}, 'k': 3}
    """
    if _depth > 100:
        raise ValueError("value is nested more than 100 levels deep (a cycle?)")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _float(float(value))
    if isinstance(value, numbers.Complex):
        return {"real": _float(float(value.real)), "imag": _float(float(value.imag))}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "c":
            return {"real": to_jsonable(value.real, _depth=_depth + 1),
                    "imag": to_jsonable(value.imag, _depth=_depth + 1)}
        if value.dtype.kind in "biuU" or (value.dtype.kind == "f" and np.isfinite(value).all()):
            return value.tolist()
        return to_jsonable(value.tolist(), _depth=_depth + 1)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, _depth=_depth + 1) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, _depth=_depth + 1) for k, v in value.items()}
    json_value = getattr(value, "json_value", None)
    if callable(json_value) and not isinstance(value, type):   # e.g. an Activation: its name
        return to_jsonable(json_value(), _depth=_depth + 1)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return to_jsonable(to_dict(), _depth=_depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name), _depth=_depth + 1)
                for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v, _depth=_depth + 1) for v in sorted(value, key=repr)]
    raise TypeError(f"cannot convert {type(value).__name__} to JSON; give it a to_dict() method")


def from_jsonable(value):
    """Undo the float rule of :func:`to_jsonable`: ``"inf"`` and ``"-inf"`` become floats.

    ``null`` stays None (whether it was a NaN is not recorded).

    >>> from_jsonable([1.0, "-inf", {"x": None}])
    [1.0, -inf, {'x': None}]
    """
    if isinstance(value, str):
        return _NONFINITE.get(value, value)
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: from_jsonable(v) for k, v in value.items()}
    return value


def format_value(value, *, width: int = 48) -> str:
    """A short text for one field: numbers with 6 significant digits, arrays by shape and range.

    >>> import numpy as np
    >>> format_value(np.arange(10.0))
    'array(10,) in [0, 9]'
    >>> format_value(np.array([0.5, -np.inf]))
    '[0.5, -inf]'
    """
    if isinstance(value, Result):
        return f"{type(value).__name__}(...)"
    if value is None or isinstance(value, (bool, np.bool_, str)):
        text = repr(value) if isinstance(value, str) else str(value)
    elif isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        text = f"{float(value):.6g}"
    elif isinstance(value, numbers.Complex):
        text = f"{complex(value):.4g}"
    elif isinstance(value, np.ndarray) or (isinstance(value, (list, tuple)) and value
                                           and all(isinstance(v, numbers.Number) for v in value)):
        arr = np.asarray(value)
        if arr.size <= 4 and arr.ndim <= 1:
            text = "[" + ", ".join(format_value(v) for v in arr.tolist()) + "]"
        elif arr.dtype.kind in "biuf" and arr.size:
            finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
            shape = "x".join(map(str, arr.shape)) if arr.ndim > 1 else f"{arr.shape[0]},"
            if finite.size:
                text = f"array({shape}) in [{finite.min():.4g}, {finite.max():.4g}]"
            else:
                text = f"array({shape}) non-finite"
            if arr.dtype.kind == "f" and finite.size < arr.size:
                text += f", {arr.size - finite.size} non-finite"
        else:
            text = f"array(shape={arr.shape}, dtype={arr.dtype})"
    elif isinstance(value, Mapping):
        text = "{" + ", ".join(map(str, list(value)[:4])) + (", ...}" if len(value) > 4 else "}")
    elif isinstance(value, (list, tuple)):
        text = f"[{len(value)} items]"
    else:
        text = str(value)
        if "\n" in text or len(text) > width or text.startswith("<"):
            text = type(value).__name__
    return text if len(text) <= width else text[: width - 3] + "..."


def require_pandas(what: str = "to_frame()"):
    """The pandas module, or an ImportError saying what needs it and how to install it."""
    try:
        import pandas
    except ImportError:
        raise ImportError(f"{what} needs pandas, which is not installed: pip install pandas "
                          "(or pip install 'jacobian-spectra[pandas]'); to_dict() gives the same "
                          "data without it") from None
    return pandas


class Result:
    """Base of every result class: ``to_dict()``, a short ``repr`` and ``summary()``.

    Subclasses are ``@dataclass(frozen=True, repr=False)``; see the module docs.

    >>> import numpy as np
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True, repr=False)
    ... class Demo(Result):
    ...     values: np.ndarray
    ...     steps: int
    >>> d = Demo(np.array([1.0, 2.0, -np.inf, 4.0, 5.0]), 7)
    >>> d
    Demo(values=array(5,) in [1, 5], 1 non-finite, steps=7)
    >>> d.to_dict()
    {'values': [1.0, 2.0, '-inf', 4.0, 5.0], 'steps': 7}
    """

    __slots__ = ()
    _json_exclude: ClassVar[frozenset] = frozenset()
    _json_extra: ClassVar[tuple] = ()   # derived properties that to_dict() also writes
    # (index column, field giving its values or None for 1, 2, ..., per-row fields): see module docs
    _frame: ClassVar[tuple | None] = None
    _frame_batch: ClassVar[str] = "batch"   # the column of a leading batch axis

    def frame_columns(self) -> dict:
        """The columns of :meth:`to_frame` as ``{name: 1-d array}`` (all of one length).

        Driven by the class's ``_frame``; a result whose rows are not one axis
        overrides it.
        """
        if self._frame is None:
            raise TypeError(f"{type(self).__name__} holds no per-row data (lags, exponents, layers "
                            "or points); use to_dict() or summary()")
        index, source, names = self._frame
        cols = {name: np.asarray(getattr(self, name)) for name in names
                if getattr(self, name) is not None}
        rows = None if source is None else np.asarray(getattr(self, source))
        shape = next(iter(cols.values())).shape if cols else rows.shape
        n = shape[-1] if shape else 0
        if rows is None:
            rows = np.arange(1, n + 1)
        batch = shape[:-1]
        out = {}
        if batch:
            count = int(np.prod(batch))
            out[self._frame_batch] = np.repeat(np.arange(count), n)
            out[index] = np.tile(rows, count)
        else:
            out[index] = rows
        for name, value in cols.items():
            out[name] = np.broadcast_to(value, batch + (n,)).reshape(-1)
        return out

    def to_frame(self):
        """A tidy pandas DataFrame: one row per lag, exponent, layer or point (pandas needed).

        Examples
        --------
        >>> import numpy as np, spectra
        >>> prof = spectra.gradient_norm_profile(np.broadcast_to(np.diag([0.5, 0.25]), (3, 2, 2)))
        >>> prof.to_frame()
           lag  log_norms
        0    1  -0.693147
        1    2  -1.386294
        2    3  -2.079442
        """
        pandas = require_pandas(f"{type(self).__name__}.to_frame()")
        return pandas.DataFrame(self.frame_columns())

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebooks)."""
        from html import escape

        rows = "".join(f"<tr><th style='text-align:left'>{escape(f.name)}</th>"
                       f"<td style='text-align:left'>{escape(format_value(getattr(self, f.name), width=64))}"
                       "</td></tr>" for f in self._fields())
        return (f"<table><caption style='text-align:left'><b>{escape(type(self).__name__)}</b>"
                f"</caption>{rows}</table>")

    def _fields(self):
        return [f for f in dataclasses.fields(self) if f.repr]

    def to_dict(self) -> dict:
        """The fields as strict-JSON Python data (one policy for the package: see
        :mod:`spectra._core.results`)."""
        out = {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
               if f.name not in self._json_exclude}
        for name in self._json_extra:
            out[name] = to_jsonable(getattr(self, name))
        return out

    def __repr__(self) -> str:
        parts = [f"{f.name}={format_value(getattr(self, f.name), width=40)}" for f in self._fields()]
        lines, line = [], f"{type(self).__name__}("
        indent = " " * len(line)
        for i, part in enumerate(parts):
            piece = part + (", " if i < len(parts) - 1 else "")
            if len(line) + len(piece) > 96 and line.strip() and not line.endswith("("):
                lines.append(line.rstrip())
                line = indent
            line += piece
        if len(lines) >= 6:
            lines = lines[:5] + [indent + "..."]
        return "\n".join(lines + [line + ")"])

    def summary(self) -> str:
        """A plain-text table of the fields: name and value (arrays by shape and range)."""
        rows = [(f.name, format_value(getattr(self, f.name), width=64)) for f in self._fields()]
        width = max((len(name) for name, _ in rows), default=0)
        head = type(self).__name__
        return "\n".join([head, "-" * len(head)] + [f"{name:<{width}}  {text}" for name, text in rows])
