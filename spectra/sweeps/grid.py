"""Parameter grids for :func:`spectra.sweep`.

A grid is an ordered sequence of *points*; a point is a dict mapping
parameter names (Python identifiers, since they become keyword arguments)
to JSON values: numbers, strings, booleans, None, and lists or dicts of
those.  Values are stored in canonical form (numpy scalars become Python
numbers, tuples and arrays become lists), which is also the form the swept
function receives and the form written to a sweep's JSON-lines file, so a
point read back from the file is equal to the point that was run.

Three ways to build one, and combinators for the rest:

* ``{"gain": [0.5, 1.0], "activation": ["tanh", "relu"]}`` -- a dict maps
  names to lists of values: the Cartesian product (a scalar value is a fixed
  parameter, the same at every point);
* ``[{"n": 8, "steps": 100}, {"n": 64, "steps": 400}]`` -- a list of dicts
  gives the points explicitly;
* ``product``, ``zip``, ``chain`` and ``Grid.filter`` combine grids:
  ``product(zip(n=[8, 64], steps=[100, 400]), gain=[0.5, 1.0])`` varies
  ``(n, steps)`` together and crosses them with ``gain``.  ``a * b`` is
  ``product(a, b)`` and ``a + b`` is ``chain(a, b)``.

Order is deterministic: in a product the last factor varies fastest (as in
:func:`itertools.product` and C order), so a point's position in the grid
does not depend on anything but the specification.

Examples
--------
>>> from spectra import grid
>>> g = grid.product(gain=[0.5, 2.0], activation=["tanh", "relu"], seed=range(3))
>>> len(g)
12
>>> g[0], g[1]
({'gain': 0.5, 'activation': 'tanh', 'seed': 0}, {'gain': 0.5, 'activation': 'tanh', 'seed': 1})
>>> g
Grid(12 points: gain (2 values), activation (2 values), seed (3 values))
>>> pairs = grid.zip(n=[8, 64], steps=[100, 400])
>>> [p["steps"] for p in pairs * grid.product(gain=[1.0, 2.0])]
[100, 100, 400, 400]
>>> len(g.filter(lambda p: p["activation"] == "tanh" or p["gain"] > 1))
9
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import itertools
import json
import keyword
import math
import numbers
from collections.abc import Iterable, Mapping

import numpy as np

from .._core.validation import describe

__all__ = ["Grid", "as_grid", "product", "zip", "chain", "point_key"]


# -- canonical JSON values -----------------------------------------------------------------
def _json_value(value, where: str, *, finite: bool = True, objects: bool = False, depth: int = 0):
    """``value`` as plain JSON-friendly Python data, or raise TypeError/ValueError.

    numpy scalars become Python numbers; tuples and arrays become lists.
    ``finite`` rejects NaN and infinities (grid values must have a canonical
    JSON text); ``objects`` also converts objects with a ``to_dict()`` method
    and dataclasses (results of swept functions).
    """
    if depth > 100:
        raise ValueError(f"{where} is nested more than 100 levels deep (a cycle?)")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if finite and not math.isfinite(value):
            raise ValueError(f"{where} must be finite; got {value}")
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuUfO":
        if value.dtype.kind in "biuU" or (value.dtype.kind == "f" and not finite):
            return value.tolist()  # already plain Python values
        return _json_value(value.tolist(), where, finite=finite, objects=objects, depth=depth + 1)
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{where}[{i}]", finite=finite, objects=objects, depth=depth + 1)
                for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} must have string keys (JSON keys are strings); "
                                f"got key {describe(k)}")
            out[k] = _json_value(v, f"{where}[{k!r}]", finite=finite, objects=objects, depth=depth + 1)
        return out
    if objects and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict):
            return _json_value(to_dict(), f"{where}.to_dict()", finite=finite, objects=objects,
                               depth=depth + 1)
        if dataclasses.is_dataclass(value):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return _json_value(fields, where, finite=finite, objects=objects, depth=depth + 1)
    expected = ("a dict, list, number, string, bool, None, numpy array, or an object with to_dict()"
                if objects else "a number, string, bool, None, list or dict")
    raise TypeError(f"{where} must be a JSON value ({expected}); got {describe(value)}")


def _canonical(value, where: str):
    """A grid value in canonical form: finite, plain Python JSON data."""
    return _json_value(value, where)


def _check_name(name, where: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{where} names must be strings; got {describe(name)}")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{where} names must be Python identifiers (they become keyword "
                         f"arguments); got {name!r}")
    return name


def _canonical_point(point, where: str) -> dict:
    if not isinstance(point, Mapping):
        raise TypeError(f"{where} must be a dict of parameter values; got {describe(point)}")
    return {_check_name(k, where): _canonical(v, f"{where} parameter {k!r}") for k, v in point.items()}


def _copy(value):
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _canonical_json(point) -> str:
    """The canonical JSON text of a point: sorted keys, no spaces, exact float repr."""
    return json.dumps(point, sort_keys=True, separators=(",", ":"), allow_nan=False)


def point_key(point) -> str:
    """Stable identity of a point: 16 hex digits of the SHA-256 of its canonical JSON.

    The key depends on the parameter names and values only (not on their
    order, nor on the grid the point belongs to), so it identifies a point
    across runs, machines and grids.

    Examples
    --------
    >>> from spectra.grid import point_key
    >>> point_key({"gain": 1.5, "activation": "tanh"}) == point_key({"activation": "tanh", "gain": 1.5})
    True
    >>> point_key({"gain": 1.5}) == point_key({"gain": 2.5})
    False
    """
    return _key(_canonical_point(point, "`point`"))


def _key(point: dict) -> str:
    return hashlib.sha256(_canonical_json(point).encode()).hexdigest()[:16]


# -- grids -----------------------------------------------------------------------------------
class Grid:
    """An ordered, immutable sequence of parameter points.

    Parameters
    ----------
    points : iterable of dict
        The points, each a dict of parameter name -> JSON value.

    Notes
    -----
    Indexing gives a fresh copy of a point (a dict), slicing a Grid.
    Different points may have different parameter names (e.g. after
    :func:`chain`); ``names`` lists all of them in order of first appearance.
    """

    __slots__ = ("_points",)

    def __init__(self, points=()):
        if isinstance(points, (Mapping, str, bytes)) or not isinstance(points, Iterable):
            raise TypeError(f"`points` must be an iterable of dicts; got {describe(points)}")
        self._points = tuple(_canonical_point(p, f"point {i}") for i, p in enumerate(points))

    @classmethod
    def _from_canonical(cls, points) -> "Grid":
        g = cls.__new__(cls)
        g._points = tuple(points)
        return g

    # -- sequence protocol --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._points)

    def __iter__(self):
        return (_copy(p) for p in self._points)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Grid._from_canonical(self._points[i])
        return _copy(self._points[i])

    def __eq__(self, other):
        if not isinstance(other, Grid):
            return NotImplemented
        return self._points == other._points

    __hash__ = None

    def __mul__(self, other):
        if not isinstance(other, (Grid, Mapping, list, tuple)):
            return NotImplemented
        return product(self, other)

    def __rmul__(self, other):
        if not isinstance(other, (Mapping, list, tuple)):
            return NotImplemented
        return product(other, self)

    def __add__(self, other):
        if not isinstance(other, (Grid, Mapping, list, tuple)):
            return NotImplemented
        return chain(self, other)

    def __radd__(self, other):
        if not isinstance(other, (Mapping, list, tuple)):
            return NotImplemented
        return chain(other, self)

    # -- queries ------------------------------------------------------------------------------
    @property
    def names(self) -> tuple:
        """All parameter names, in order of first appearance."""
        seen = {}
        for p in self._points:
            for k in p:
                seen.setdefault(k, None)
        return tuple(seen)

    def values(self, name: str) -> list:
        """The distinct values of parameter ``name``, in order of first appearance."""
        if name not in self.names:
            raise KeyError(f"no parameter {name!r} in this grid; its parameters are {list(self.names)}")
        seen = {}
        for p in self._points:
            if name in p:
                seen.setdefault(_canonical_json(p[name]), p[name])
        return [_copy(v) for v in seen.values()]

    def keys(self) -> list:
        """The :func:`point_key` of every point, in grid order."""
        return [_key(p) for p in self._points]

    def filter(self, predicate) -> "Grid":
        """The points for which ``predicate(point)`` is true, in order."""
        if not callable(predicate):
            raise TypeError(f"`predicate` must be callable; got {describe(predicate)}")
        return Grid._from_canonical(p for p in self._points if predicate(_copy(p)))

    def to_list(self) -> list:
        """The points as a list of dicts (JSON-friendly)."""
        return list(self)

    def __repr__(self) -> str:
        names = self.names
        if not names:
            return f"Grid({len(self)} point{'s' if len(self) != 1 else ''})"
        desc = ", ".join(f"{k} ({len(self.values(k))} value{'s' if len(self.values(k)) != 1 else ''})"
                         for k in names[:8])
        if len(names) > 8:
            desc += f", ... ({len(names) - 8} more)"
        return f"Grid({len(self)} point{'s' if len(self) != 1 else ''}: {desc})"


def _axis(name, values, where: str) -> Grid:
    """The one-parameter grid ``name`` = each of ``values`` (a scalar: one fixed value)."""
    _check_name(name, where)
    if isinstance(values, (str, bytes, Mapping, numbers.Number, np.bool_)) or values is None:
        vals = [values]
    elif isinstance(values, np.ndarray) and values.ndim == 0:
        vals = [values.item()]
    elif isinstance(values, Iterable):
        vals = list(values)
        if not vals:
            raise ValueError(f"{where} parameter {name!r} has no values; give at least one")
    else:
        raise TypeError(f"{where} parameter {name!r} must be a list of values or a single value; "
                        f"got {describe(values)}")
    return Grid._from_canonical({name: _canonical(v, f"{where} parameter {name!r}")} for v in vals)


def as_grid(spec, name: str = "grid") -> Grid:
    """A :class:`Grid` from any grid specification.

    Parameters
    ----------
    spec : Grid, dict or list of dict
        A Grid (returned as is); a dict of name -> list of values (their
        Cartesian product, last name fastest; a non-list value is fixed); or
        a list (or tuple) of dicts, the points themselves.
    name : str
        Argument name for error messages.
    """
    if isinstance(spec, Grid):
        return spec
    if isinstance(spec, Mapping):
        return _product([_axis(k, v, f"`{name}`") for k, v in spec.items()])
    if isinstance(spec, (list, tuple)):
        return Grid._from_canonical(_canonical_point(p, f"`{name}` point {i}") for i, p in enumerate(spec))
    raise TypeError(f"`{name}` must be a dict of parameter lists, a list of parameter dicts or a "
                    f"spectra.grid.Grid; got {describe(spec)}")


def _factors(factors, axes, who):
    grids = [as_grid(f, f"{who} factor {i}") for i, f in enumerate(factors)]
    grids += [_axis(k, v, f"`{who}`") for k, v in axes.items()]
    owner = {}
    for i, g in enumerate(grids):
        for k in g.names:
            if owner.setdefault(k, i) != i:
                raise ValueError(f"`{who}` factors must have distinct parameters; "
                                 f"{k!r} appears in more than one")
    return grids


def _product(grids) -> Grid:
    points = []
    for combo in itertools.product(*(g._points for g in grids)):
        merged = {}
        for p in combo:
            merged.update(p)
        points.append(merged)
    return Grid._from_canonical(points)


def product(*factors, **axes) -> Grid:
    """Cartesian product of grids and named axes; the last varies fastest.

    Parameters
    ----------
    *factors : Grid, dict or list of dict
        Grids (any form accepted by :func:`as_grid`).
    **axes : list or scalar
        ``name=values``: one more factor per keyword, after ``factors``.

    Returns
    -------
    Grid
        ``len`` is the product of the factors' lengths; each point merges one
        point of every factor.  Factors must not share parameter names.

    Examples
    --------
    >>> from spectra import grid
    >>> [tuple(p.values()) for p in grid.product(a=[1, 2], b=["x", "y"])]
    [(1, 'x'), (1, 'y'), (2, 'x'), (2, 'y')]
    """
    return _product(_factors(factors, axes, "product"))


def zip(*factors, **axes) -> Grid:  # noqa: A001 -- the grid analogue of builtins.zip
    """Points taken in step from grids and named axes of equal length.

    ``zip(n=[8, 64], steps=[100, 400])`` has two points,
    ``{"n": 8, "steps": 100}`` and ``{"n": 64, "steps": 400}``.  Unlike
    :func:`builtins.zip` it never truncates: the lengths must agree.
    A scalar axis is broadcast to the common length.

    Examples
    --------
    >>> from spectra import grid
    >>> grid.zip(n=[8, 64], steps=[100, 400]).to_list()
    [{'n': 8, 'steps': 100}, {'n': 64, 'steps': 400}]
    """
    grids = _factors(factors, axes, "zip")
    if not grids:
        return Grid()
    lengths = [len(g) for g in grids]
    common = max(lengths)
    for i, g in enumerate(grids):
        if len(g) not in (1, common):
            desc = ", ".join(f"{list(h.names)}: {len(h)}" for h in grids)
            raise ValueError(f"`zip` needs factors of equal length; got lengths {desc}")
    columns = [g._points * common if len(g) == 1 else g._points for g in grids]
    points = []
    for combo in builtins.zip(*columns):
        merged = {}
        for p in combo:
            merged.update(p)
        points.append(merged)
    return Grid._from_canonical(points)


def chain(*grids) -> Grid:
    """The points of several grids one after another (a union of designs).

    Examples
    --------
    >>> from spectra import grid
    >>> g = grid.chain({"cell": "elman", "gain": [1.0, 2.0]}, {"cell": "leaky", "alpha": [0.5, 0.9]})
    >>> len(g), g.names
    (4, ('cell', 'gain', 'alpha'))
    """
    return Grid._from_canonical(p for i, g in enumerate(grids)
                                for p in as_grid(g, f"chain argument {i}")._points)
