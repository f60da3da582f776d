"""Parameter sweeps: one function over a grid, on local cores or a cluster, resumable.

:func:`sweep` runs ``fn(**point)`` for every point of a grid (see
:mod:`spectra.grid`) and returns one :class:`SweepRecord` per point.  The
work goes to a ``concurrent.futures.Executor``: by default a process pool
over all local cores, or any executor the caller passes (a thread pool, a
``dask.distributed`` client's ``client.get_executor()``, ...).  Scheduling is
the executor's business; this module only submits points, collects results
and writes them down.

With ``out=FILE`` every finished record is appended to ``FILE`` (JSON lines,
flushed at once, on disk within a second) as soon as it arrives, so a crash,
a kill or a lost worker loses nothing that had finished, and a rerun with the
same ``out`` runs only the points that are missing.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import numbers
import os
import sys
import time
import traceback
import warnings
from collections.abc import Mapping

import numpy as np

from . import grid as _grid
from ._validation import check_int, describe

__all__ = ["sweep", "SweepRecord", "SweepResult", "load_sweep", "process_pool"]

#: Environment variables read by BLAS / OpenMP runtimes when they load.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

_HOST = None


# -- records -----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SweepRecord:
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


@dataclasses.dataclass(frozen=True)
class SweepResult:
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

    def to_dict(self) -> dict:
        """JSON-friendly dict of the whole result."""
        return {"records": [r.to_dict() for r in self.records], "out": self.out, "seed": self.seed,
                "resumed": self.resumed, "ran": self.ran, "elapsed": self.elapsed}

    def __repr__(self) -> str:
        out = "" if self.out is None else f", out={self.out!r}"
        return (f"SweepResult({len(self.records)} points, {len(self.failed)} failed, "
                f"{self.resumed} resumed, {self.ran} ran{out})")


# -- per-point work (runs in the workers) ----------------------------------------------------------
def _derive_seed(seed: int, key: str) -> int:
    """The seed of one point: SeedSequence(seed, spawn_key=the key's two 32-bit words), 63 bits."""
    words = (int(key[:8], 16), int(key[8:16], 16))
    state = np.random.SeedSequence(entropy=seed, spawn_key=words).generate_state(1, np.uint64)
    return int(state[0]) >> 1


def _error(exc: BaseException, where: str, *, skip_frames: int = 0) -> dict:
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    return {"type": type(exc).__name__, "message": str(exc),
            "traceback": "".join(traceback.format_exception(type(exc), exc, tb)), "where": where}


def _host() -> str:
    global _HOST
    if _HOST is None:
        import socket

        _HOST = socket.gethostname()
    return _HOST


def _run_point(fn, params, rng_seed, index, key):
    """Run one point; never raises for an exception of ``fn`` (it goes in the record)."""
    kwargs = _grid._copy(params)
    if rng_seed is not None:
        kwargs["rng"] = rng_seed
    result = error = None
    start = time.perf_counter()
    try:
        value = fn(**kwargs)
    except Exception as exc:  # recorded, not raised: one bad point must not stop a sweep
        elapsed = time.perf_counter() - start
        error = _error(exc, "fn", skip_frames=1)
    else:
        elapsed = time.perf_counter() - start
        try:
            result = _grid._json_value(value, "the result of `fn`", finite=False, objects=True)
        except (TypeError, ValueError) as exc:
            error = _error(exc, "result")
    return SweepRecord(index=index, key=key, params=params, result=result, error=error,
                       elapsed=elapsed, rng_seed=rng_seed, host=_host(), pid=os.getpid())


# -- executors -----------------------------------------------------------------------------------
def _cpu_count() -> int:
    counter = getattr(os, "process_cpu_count", None)  # Python >= 3.13: honours affinity
    if counter is not None:
        return counter() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _pin_worker_threads():
    """Worker initializer: one BLAS/OpenMP thread per worker process.

    A spawned worker has loaded numpy's BLAS before this runs (unpickling
    the initializer imports spectra, hence numpy), so libraries already
    loaded are limited at run time through threadpoolctl; the environment
    variables cover libraries loaded later (e.g. the BLAS bundled with
    scipy, torch's), which read them when they load.
    """
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return
    threadpool_limits(limits=1)


def process_pool(max_workers=None):
    """The process pool :func:`sweep` uses by default, for reuse across sweeps.

    Parameters
    ----------
    max_workers : int, optional
        Number of worker processes (default: the cores this process may
        use).

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Workers started with the ``spawn`` method, each limited to one
        BLAS/OpenMP thread.  Use it as a context manager (or call
        ``shutdown()``) when done.

    Notes
    -----
    ``spawn`` starts each worker as a fresh interpreter.  ``fork`` would start
    faster but copies the parent mid-flight: BLAS and OpenMP thread pools
    (GNU OpenMP is not fork-safe), locks held by other threads (a Dask
    client, a progress thread, logging) and any library state the parent
    set up, which can deadlock or silently change results; Python 3.12
    warns about forking a multi-threaded process and 3.14 stopped using fork
    by default.  ``spawn`` behaves the same on Linux, macOS and Windows.
    Its price is a startup of a fraction of a second per worker, paid once
    per pool, and that ``fn`` must be importable by the workers: a function
    defined at module level (in a script, behind
    ``if __name__ == "__main__":``), not a lambda, a local function, or a
    function typed into an interactive session.  For the latter on Linux,
    pass ``concurrent.futures.ProcessPoolExecutor(mp_context=
    multiprocessing.get_context("fork"))`` as the executor (BLAS threads are
    then not pinned), or use a thread pool.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = _cpu_count() if max_workers is None else check_int(max_workers, "max_workers", minimum=1)
    return ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_pin_worker_threads)


def _resolve_executor(executor):
    """(kind, executor-or-workers): kind is "serial", "own" (workers: int) or "given"."""
    from concurrent.futures import Executor

    if executor is None:
        return "own", _cpu_count()
    if isinstance(executor, str):
        if executor != "serial":
            raise ValueError(f"`executor` must be None, 'serial', a number of worker processes "
                             f"or a concurrent.futures.Executor; got {executor!r}")
        return "serial", None
    if isinstance(executor, numbers.Integral) and not isinstance(executor, (bool, np.bool_)):
        return "own", check_int(executor, "executor", minimum=1)
    if isinstance(executor, Executor):
        return "given", executor
    raise TypeError(f"`executor` must be None, 'serial', a number of worker processes or a "
                    f"concurrent.futures.Executor (for Dask: client.get_executor()); "
                    f"got {describe(executor)}")


def _check_picklable(fn, start_method):
    """Fail early, in the caller, when a process pool could not run ``fn``."""
    import pickle

    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"`fn` must be picklable to run in a process pool (a function defined at "
                        f"module level, not a lambda or a local function); got {describe(fn)} "
                        f"({type(exc).__name__}: {exc}); pass executor='serial' or a "
                        f"concurrent.futures.ThreadPoolExecutor to run it in this process") from exc
    main = sys.modules.get("__main__")
    if (start_method != "fork" and getattr(fn, "__module__", None) == "__main__"
            and getattr(main, "__file__", None) is None):
        raise TypeError(f"`fn` ({describe(fn)}) was defined in an interactive session, which "
                        f"worker processes started with {start_method!r} cannot import; define "
                        f"it in a module, or pass executor='serial', a ThreadPoolExecutor or a "
                        f"ProcessPoolExecutor with mp_context=multiprocessing.get_context('fork')")


# -- the out file --------------------------------------------------------------------------------------
class _Store:
    """An append-only JSON-lines file of records, locked while a sweep uses it."""

    def __init__(self, path):
        self.path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        self._fh = open(self.path, "a+b")
        try:
            self._lock()
            self.records = self._read()
        except BaseException:
            self._fh.close()
            raise
        self._syncer = None  # started by the first append: see _start_syncing
        self._pending = False  # records written since the last fsync

    def _lock(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            return
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise RuntimeError(f"`out` file {self.path!r} is locked by another running sweep; "
                               f"wait for it to finish or use another file") from exc

    def _read(self):
        self._fh.seek(0)
        data = self._fh.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            # A line without its newline was being written when the writer died:
            # drop it (its point will run again) so new records start on a fresh line.
            self._fh.truncate(end)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        return _parse_records(data[:end], f"`out` file {self.path!r}")

    #: Seconds between fsyncs.  Every record is flushed to the operating system at
    #: once, which is all a killed or crashed process needs.  fsync, which guards
    #: against the machine itself going down, costs milliseconds: done per record
    #: it would make the writer the bottleneck of a sweep of many short points on
    #: many workers, so a background thread does it for all new records at most
    #: this often.
    SYNC_INTERVAL = 1.0

    def _start_syncing(self):
        # Started lazily, after every point has been submitted, so that no thread of
        # ours is alive while an executor forks its workers (a fork-context pool
        # passed in forks them all at its first submit).
        import threading

        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name="spectra-sweep-fsync", daemon=True)
        self._syncer.start()

    def _sync_loop(self):
        while not self._stop.wait(self.SYNC_INTERVAL):
            if self._pending:
                self._pending = False
                try:
                    os.fsync(self._fh.fileno())
                except (OSError, ValueError):  # reported by close(), which fsyncs again
                    pass

    def append(self, record: SweepRecord):
        line = json.dumps(record.to_dict(), separators=(",", ":")) + "\n"
        self._fh.write(line.encode())
        self._fh.flush()
        self._pending = True
        if self._syncer is None:
            self._start_syncing()

    def close(self):
        if self._syncer is not None:
            self._stop.set()
            self._syncer.join()
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        finally:
            self._fh.close()  # closing releases the lock


def _parse_records(data: bytes, name: str) -> list:
    """The records of complete JSON lines ``data``; ``name`` names the file in errors."""
    records = []
    for lineno, line in enumerate(data.split(b"\n")[:-1], start=1):
        if not line.strip():
            continue
        where = f"{name} line {lineno}"
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{where} is not valid JSON ({exc}); the file is corrupt or is not "
                             f"a sweep's output") from None
        records.append(SweepRecord.from_dict(obj, where=where))
    return records


def _latest(records):
    """key -> the record to keep: the last success, else the last failure."""
    best = {}
    for rec in records:
        old = best.get(rec.key)
        if old is None or rec.ok or not old.ok:
            best[rec.key] = rec
    return best


def load_sweep(path) -> SweepResult:
    """Read the records of a sweep's ``out`` file (JSON lines).

    Parameters
    ----------
    path : str or os.PathLike
        The file given as ``out`` to :func:`sweep`.

    Returns
    -------
    SweepResult
        One record per point found in the file (when a point was retried,
        its last success, or else its last failure), ordered by their grid
        index.  A truncated last line (a writer killed mid-line) is ignored.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file path; got {describe(path)}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`path` {path!r} does not exist or is not a file")
    with open(path, "rb") as fh:
        data = fh.read()
    records = _parse_records(data[:data.rfind(b"\n") + 1], repr(path))
    order = {}
    for pos, rec in enumerate(records):
        order.setdefault(rec.key, pos)
    kept = sorted(_latest(records).values(), key=lambda r: (r.index, order[r.key]))
    return SweepResult(records=tuple(kept), out=path, resumed=len(kept))


# -- progress ---------------------------------------------------------------------------------------------
class _Progress:
    """A one-line progress report on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool, total: int, resumed: int, to_run: int):
        stream = sys.stderr
        try:
            tty = bool(enabled) and stream is not None and stream.isatty()
        except (AttributeError, ValueError):
            tty = False
        self._stream = stream if tty else None
        self._total, self._resumed, self._to_run = total, resumed, to_run
        self._start = time.perf_counter()
        self._last = -1.0
        self._open = False  # a line is on the terminal without its newline

    def update(self, ran: int, failed: int, *, final: bool = False):
        if self._stream is None:
            return
        now = time.perf_counter()
        if not final and now - self._last < 0.1:
            return
        self._last = now
        spent = now - self._start
        done = self._resumed + ran
        text = f"sweep: {done}/{self._total} points"
        extras = []
        if self._resumed:
            extras.append(f"{self._resumed} resumed")
        if failed:
            extras.append(f"{failed} failed")
        if extras:
            text += f" ({', '.join(extras)})"
        text += f", {spent:.1f} s"
        if 0 < ran < self._to_run:
            text += f", ~{spent / ran * (self._to_run - ran):.0f} s left"
        self._stream.write("\r" + text + "\x1b[K" + ("\n" if final else ""))
        self._stream.flush()
        self._open = not final

    def close(self):
        """End an unfinished line (the sweep stopped early, e.g. on Ctrl-C)."""
        if self._stream is not None and self._open:
            self._stream.write("\n")
            self._stream.flush()
            self._open = False


# -- the sweep ----------------------------------------------------------------------------------------------
def _rng_parameter(fn):
    """(signature or None, whether ``fn`` has a parameter ``rng`` that takes a keyword)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None, False
    p = sig.parameters.get("rng")
    return sig, p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)


def _point_seeds(fn, points, keys, seed):
    """The ``rng`` seed of each point (None: not passed), after checking ``fn`` accepts the points."""
    sig, takes_rng = _rng_parameter(fn)
    seeds, checked = [], set()
    for i, p in enumerate(points):
        passes_rng = takes_rng and "rng" not in p
        seeds.append(_derive_seed(seed, keys[i]) if passes_rng else None)
        names = (frozenset(p), passes_rng)
        if sig is not None and names not in checked:  # binding depends on the names only
            checked.add(names)
            try:
                sig.bind(**p, **({"rng": 0} if passes_rng else {}))
            except TypeError as exc:
                raise TypeError(f"`fn` cannot be called with point {i} of `grid`, {p}: {exc}") from None
    return seeds


def _finished(store, points, keys, seeds, retry_failed) -> dict:
    """index -> record, for the points of the grid that ``store`` already holds."""
    previous = _latest(store.records)
    done = {}
    for i, key in enumerate(keys):
        rec = previous.get(key)
        if rec is None:
            continue
        if rec.rng_seed != seeds[i]:
            raise ValueError(
                f"`out` file {store.path!r} holds point {points[i]} run with rng seed "
                f"{rec.rng_seed}, but this sweep derives {seeds[i]}: the file was written with "
                f"another `seed` (or `fn` gained or lost its `rng` parameter); use the same "
                f"`seed` or another `out`")
        if rec.ok or not retry_failed:
            done[i] = dataclasses.replace(rec, index=i)
    return done


def sweep(fn, grid, *, executor=None, out=None, progress=True, seed=0, retry_failed=True):
    """Run ``fn(**point)`` at every point of a parameter grid.

    Parameters
    ----------
    fn : callable
        Called as ``fn(**point)`` (plus ``rng=...``, see Notes).  It returns a
        spectra result (anything with ``to_dict()``), a dict, a list, a
        number or a numpy array; the record keeps it in JSON-friendly form.
        For a process pool it must be a module-level function.
    grid : dict, list of dict or spectra.grid.Grid
        The points: ``{"gain": [...], "activation": [...]}`` (Cartesian
        product, last name fastest; a non-list value is fixed), a list of
        point dicts, or a grid built with :mod:`spectra.grid`
        (``product``, ``zip``, ``chain``).  Values must be JSON values;
        points must be distinct.
    executor : None, "serial", int or concurrent.futures.Executor
        Where points run.  None (default): a process pool over all local
        cores (:func:`process_pool`; spawned workers, one BLAS thread each),
        shut down at the end.  An int: such a pool with that many workers.
        ``"serial"``: one after another in this process.  An Executor: used
        as is and left running, e.g. a ``ThreadPoolExecutor``, a
        ``ProcessPoolExecutor``, or ``client.get_executor()`` of a
        ``dask.distributed`` client (``pip install 'spectra[dask]'``).
    out : str or os.PathLike, optional
        A JSON-lines file.  Each record is appended as soon as its point
        finishes and flushed at once, so killing the sweep loses nothing;
        a background thread fsyncs new records once a second, so even a
        power cut loses at most the last second's records.  Records
        already in the file are reused: their points do not run again.  The
        file is locked while the sweep runs; missing directories are
        created.
    progress : bool
        Show a progress line on stderr when it is a terminal (never
        otherwise).
    seed : int
        Base seed of the per-point seeds (see Notes).
    retry_failed : bool
        Whether points recorded in ``out`` with an error run again (default)
        or keep their recorded error.

    Returns
    -------
    SweepResult
        One :class:`SweepRecord` per point, in grid order, whether it ran now
        or was read from ``out``.

    Notes
    -----
    *Seeds.*  If ``fn`` has a parameter named ``rng`` and the point does not
    set ``rng`` itself, ``fn`` receives ``rng=s``, an int seed with
    ``s = SeedSequence(seed, spawn_key=(w0, w1)).generate_state(1, uint64)[0] >> 1``,
    where ``w0, w1`` are the two 32-bit words of the point's key (the first
    16 hex digits of the SHA-256 of the point's canonical JSON).  The seed
    thus depends on the base seed and the point's parameters only, not on
    the order of the grid, the executor or the timing; points get
    statistically independent streams; and ``fn(**r.params, rng=r.rng_seed)``
    reproduces any record ``r``.  To give replicates, add an axis
    (``replicate=range(5)``); to reuse the same random draws across a
    parameter (common random numbers), put the seed in the grid and use it
    directly (``seed=range(5)`` and ``rng=seed`` inside ``fn``).

    *Errors.*  An exception raised by ``fn`` is recorded (type, message,
    traceback) and the sweep goes on.  If the executor itself fails a point
    (a worker process died, a Dask worker was lost too often), the record has
    ``error["where"] == "executor"``, is not written to ``out`` (so a rerun
    retries it), and a RuntimeWarning is issued.

    *Resuming.*  Rerun the same call after a crash or a kill: points whose
    record is in ``out`` are skipped (a line cut short by the kill is
    dropped), the rest run, and the result is complete, in grid order, one
    record per point.  Growing the grid and rerunning runs only the new
    points.  A record whose ``rng_seed`` differs from the one this call
    derives (another ``seed``, or ``fn`` gained or lost ``rng``) raises
    ValueError rather than mixing incompatible results.  The file is an
    append-only log: a retried failure leaves its old line, and the
    success wins.

    *Threads.*  Worker processes of the default pool use one BLAS/OpenMP
    thread each (through threadpoolctl and the usual environment
    variables), so N workers on N cores do not oversubscribe them.  Serial
    runs and executors passed in are left as they are.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> def growth(gain, activation, *, rng):
    ...     cell = spectra.ElmanRNN.random(16, gain=gain, activation=activation, rng=rng)
    ...     traj = cell.run(steps=30, h0=np.full(16, 0.5))
    ...     return {"log_norm": float(np.log(np.linalg.norm(traj.product(30, 20), 2)))}
    >>> res = spectra.sweep(growth, {"gain": [0.5, 2.0], "activation": ["tanh", "relu"]},
    ...                     executor="serial")
    >>> res
    SweepResult(4 points, 0 failed, 0 resumed, 4 ran)
    >>> res[1].params
    {'gain': 0.5, 'activation': 'relu'}
    >>> sorted(res.rows()[0])
    ['activation', 'elapsed', 'error', 'gain', 'host', 'index', 'key', 'log_norm', 'pid', 'rng_seed']
    >>> res[0].result["log_norm"] < 0 < res[3].result["log_norm"]
    True
    """
    start = time.perf_counter()
    if not callable(fn):
        raise TypeError(f"`fn` must be callable; got {describe(fn)}")
    g = _grid.as_grid(grid, "grid")
    seed = check_int(seed, "seed", minimum=0)
    for name, flag in (("progress", progress), ("retry_failed", retry_failed)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False; got {describe(flag)}")
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"`out` must be a file path or None; got {describe(out)}")
    kind, target = _resolve_executor(executor)

    points = g._points
    if not points:
        raise ValueError("`grid` has no points")
    keys = g.keys()
    first = {}
    for i, key in enumerate(keys):
        j = first.setdefault(key, i)
        if j != i:
            raise ValueError(f"`grid` must not repeat a point; points {j} and {i} are both "
                             f"{points[i]} (add a replicate axis to repeat a computation)")

    seeds = _point_seeds(fn, points, keys, seed)

    if kind == "own":
        _check_picklable(fn, "spawn")
    elif kind == "given":
        from concurrent.futures import ProcessPoolExecutor

        if isinstance(target, ProcessPoolExecutor):
            ctx = getattr(target, "_mp_context", None)
            _check_picklable(fn, ctx.get_start_method() if ctx is not None else None)

    store = _Store(out) if out is not None else None
    collector = None
    try:
        done = {} if store is None else _finished(store, points, keys, seeds, retry_failed)
        todo = [i for i in range(len(points)) if i not in done]
        collector = _Collector(done, store, _Progress(progress, len(points), len(done), len(todo)))
        tasks = [(fn, points[i], seeds[i], i, keys[i]) for i in todo]
        if tasks:
            if kind == "serial":
                for task in tasks:
                    collector.add(_run_point(*task))
            elif kind == "own":
                _run_on(process_pool(min(target, len(tasks))), tasks, collector.add, owned=True)
            else:
                _run_on(target, tasks, collector.add, owned=False)
        collector.progress.update(collector.ran, collector.failed, final=True)
    finally:
        if collector is not None:
            collector.progress.close()
        if store is not None:
            store.close()

    records, failures = collector.records, collector.lost
    if failures:
        first_err = failures[0].error
        warnings.warn(f"{len(failures)} point(s) of the sweep could not be run by the executor "
                      f"(first: {first_err['type']}: {first_err['message']}); they are recorded "
                      f"with error['where'] == 'executor' and were not written to `out`, so "
                      f"rerunning the sweep retries them", RuntimeWarning, stacklevel=2)
    return SweepResult(records=tuple(records[i] for i in range(len(points))),
                       out=None if out is None else os.fspath(out), seed=seed,
                       resumed=len(done), ran=len(todo), elapsed=time.perf_counter() - start)


class _Collector:
    """Receives records as they finish: writes them to ``out`` and keeps count."""

    def __init__(self, done: dict, store, progress: _Progress):
        self.records = dict(done)
        self.store = store
        self.progress = progress
        self.lost = []  # records of points the executor could not run
        self.ran = self.failed = 0
        progress.update(0, 0)

    def add(self, rec: SweepRecord):
        self.records[rec.index] = rec
        if rec.ok or rec.error.get("where") != "executor":
            if self.store is not None:
                self.store.append(rec)
        else:
            self.lost.append(rec)
        self.ran += 1
        self.failed += not rec.ok
        self.progress.update(self.ran, self.failed)


def _run_on(executor, tasks, finish, *, owned: bool):
    """Submit every task to ``executor`` and hand each record to ``finish`` as it completes."""
    from concurrent.futures import as_completed

    futures = {}
    try:
        for pos, task in enumerate(tasks):
            try:
                futures[executor.submit(_run_point, *task)] = task
            except Exception as exc:  # e.g. a pool that broke while we were still submitting
                for rest in tasks[pos:]:
                    finish(_executor_failure(rest, exc))
                break
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the executor failed the point; fn's own errors never get here
                rec = _executor_failure(task, exc)
            finish(rec)
    finally:
        for fut in futures:
            fut.cancel()
        if owned:
            executor.shutdown(wait=True, cancel_futures=True)


def _executor_failure(task, exc) -> SweepRecord:
    _, params, rng_seed, index, key = task
    return SweepRecord(index=index, key=key, params=params, result=None,
                       error=_error(exc, "executor"), elapsed=math.nan, rng_seed=rng_seed)
