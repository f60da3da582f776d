"""Records of a sweep: one :class:`SweepRecord` per point, gathered in a :class:`SweepResult`."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping

from . import grid as _grid
from .._core.results import Result
from .._core.validation import describe

__all__ = ["SweepRecord", "SweepResult"]


# -- records -----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, repr=False)
class SweepRecord(Result):
    """What happened at one point of a sweep.

    Attributes
    ----------
    index : int
        Position of the point in the grid.
    key : str
        Stable identity of the point (:func:`spectra.grid.point_key`): 16 hex
        digits of the SHA-256 of the point's canonical JSON.
    params : dict
        The point: parameter name -> JSON value, as passed to ``fn``.
    result : JSON value or None
        What ``fn`` returned, made JSON-friendly: ``to_dict()`` of an object
        that has it (every spectra result), dicts, lists, numbers, strings;
        numpy arrays become nested lists and numpy scalars Python numbers.
        None when the point failed.
    error : dict or None
        None on success; otherwise ``{"type", "message", "traceback",
        "where"}`` with ``where`` one of ``"fn"`` (``fn`` raised),
        ``"result"`` (its result could not be made JSON-friendly) or
        ``"executor"`` (the executor could not run the point, e.g. its worker
        process died).
    elapsed : float
        Seconds spent in ``fn`` (wall time, measured where it ran).
    rng_seed : int or None
        The seed passed to ``fn`` as ``rng`` (None when ``fn`` has no ``rng``
        parameter or the point sets ``rng`` itself).  ``fn(**params,
        rng=rng_seed)`` reproduces the point.
    host, pid : str, int or None
        Where the point ran.
    """

    index: int
    key: str
    params: dict
    result: object = None
    error: dict | None = None
    elapsed: float = 0.0
    rng_seed: int | None = None
    host: str | None = None
    pid: int | None = None

    @property
    def ok(self) -> bool:
        """True when the point ran without error."""
        return self.error is None

    def to_dict(self) -> dict:
        """The record as a JSON-friendly dict (one line of a sweep's ``out`` file)."""
        return {"index": self.index, "key": self.key, "params": _grid._copy(self.params),
                "result": _grid._copy(self.result), "error": None if self.error is None else dict(self.error),
                "elapsed": self.elapsed, "rng_seed": self.rng_seed, "host": self.host, "pid": self.pid}

    @classmethod
    def from_dict(cls, data, *, where: str = "record") -> "SweepRecord":
        """A record from :meth:`to_dict` output, checked (e.g. a line read back from a file)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} is not a sweep record; got {describe(data)}")
        missing = [k for k in ("key", "params") if k not in data]
        if missing:
            raise ValueError(f"{where} is not a sweep record; it lacks {missing}")
        key, params = data["key"], data["params"]
        if not isinstance(params, Mapping):
            raise ValueError(f"{where} is not a sweep record; its params are {describe(params)}")
        params = _grid._canonical_point(params, f"{where} params")
        if key != _grid._key(params):
            raise ValueError(f"{where} has key {key!r}, which does not match its params "
                             f"{params} (key {_grid._key(params)!r}); the file was altered")
        error = data.get("error")
        if error is not None and not isinstance(error, Mapping):
            raise ValueError(f"{where} has a malformed error field: {describe(error)}")
        rng_seed = data.get("rng_seed")
        if rng_seed is not None and (isinstance(rng_seed, bool) or not isinstance(rng_seed, int)):
            raise ValueError(f"{where} has a malformed rng_seed: {describe(rng_seed)}")
        index = data.get("index", -1)
        elapsed = data.get("elapsed", 0.0)
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"{where} has a malformed index: {describe(index)}")
        if isinstance(elapsed, bool) or not isinstance(elapsed, numbers.Real):
            raise ValueError(f"{where} has a malformed elapsed time: {describe(elapsed)}")
        return cls(index=index, key=key, params=params, result=data.get("result"),
                   error=None if error is None else dict(error), elapsed=float(elapsed),
                   rng_seed=rng_seed, host=data.get("host"), pid=data.get("pid"))

    def row(self) -> dict:
        """One flat row: parameters, result fields, then bookkeeping.

        A dict result contributes one column per field (nested dicts are
        flattened with dotted names, lists stay as cells); any other result
        is one column ``result``.  The bookkeeping columns are ``index``,
        ``key``, ``rng_seed``, ``elapsed``, ``error`` (``"Type: message"`` or
        None), ``host`` and ``pid``.  On a name clash parameters win: a
        result field is renamed ``result.<name>`` and a bookkeeping column
        ``sweep.<name>``.
        """
        row = dict(_grid._copy(self.params))
        fields = _flatten(self.result) if isinstance(self.result, dict) else (
            {} if self.result is None and not self.ok else {"result": _grid._copy(self.result)})
        for name, value in fields.items():
            row[f"result.{name}" if name in row else name] = value
        err = None if self.ok else f"{self.error.get('type')}: {self.error.get('message')}"
        for name, value in (("index", self.index), ("key", self.key), ("rng_seed", self.rng_seed),
                            ("elapsed", self.elapsed), ("error", err), ("host", self.host),
                            ("pid", self.pid)):
            row[f"sweep.{name}" if name in row else name] = value
        return row


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, name + "."))
        else:
            out[name] = _grid._copy(v)
    return out


@dataclasses.dataclass(frozen=True, repr=False)
class SweepResult(Result):
    """All records of a sweep, in grid order, one per point.

    Attributes
    ----------
    records : tuple of SweepRecord
        One record per grid point, in grid order (``records[i].index == i``).
    out : str or None
        The JSON-lines file the records were written to.
    seed : int
        The base seed the per-point seeds were derived from.
    resumed : int
        Points taken from ``out`` rather than run.
    ran : int
        Points run by this call.
    elapsed : float
        Wall time of the call, in seconds.

    Notes
    -----
    A result behaves as a sequence of records (``len``, iteration,
    indexing).  ``failed`` lists the records with an error; ``rows()`` gives
    flat dicts and ``to_dataframe()`` a pandas DataFrame of them.
    """

    records: tuple
    out: str | None = None
    seed: int = 0
    resumed: int = 0
    ran: int = 0
    elapsed: float = 0.0

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, i):
        return self.records[i]

    @property
    def failed(self) -> tuple:
        """The records whose point raised (or could not be run)."""
        return tuple(r for r in self.records if not r.ok)

    @property
    def succeeded(self) -> tuple:
        """The records whose point ran without error."""
        return tuple(r for r in self.records if r.ok)

    def rows(self) -> list:
        """One flat dict per record (see :meth:`SweepRecord.row`): a tidy table."""
        return [r.row() for r in self.records]

    def to_dataframe(self):
        """The tidy table as a :class:`pandas.DataFrame`, one row per point.

        Raises
        ------
        ImportError
            When pandas is not installed (it is optional; :meth:`rows` gives
            the same table as plain dicts).
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("SweepResult.to_dataframe needs pandas, which is not installed; "
                              "install it (pip install pandas, or pip install 'spectra[pandas]'), "
                              "or use SweepResult.rows() for the same table as plain dicts") from exc
        return pd.DataFrame(self.rows())

    def to_frame(self):
        """The tidy table, one row per point: the same as :meth:`to_dataframe` (the name every
        result uses)."""
        return self.to_dataframe()

    def to_dict(self) -> dict:
        """JSON-friendly dict of the whole result."""
        return {"records": [r.to_dict() for r in self.records], "out": self.out, "seed": self.seed,
                "resumed": self.resumed, "ran": self.ran, "elapsed": self.elapsed}

    def __repr__(self) -> str:
        out = "" if self.out is None else f", out={self.out!r}"
        return (f"SweepResult({len(self.records)} points, {len(self.failed)} failed, "
                f"{self.resumed} resumed, {self.ran} ran{out})")

