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
import os
import time
import warnings

import numpy as np

from . import grid as _grid
from .._core.progress import check_progress, progress_bar
from .._core.validation import check_int, describe
from .execution import _check_picklable, _resolve_executor, _run_on, _run_point, process_pool
from .records import SweepRecord, SweepResult
from .store import _latest, _Store

__all__ = ["sweep"]


# -- progress ---------------------------------------------------------------------------------------------
class _Progress:
    """The sweep's progress bar (:mod:`spectra._core.progress`): points done of all, with
    the resumed and failed ones noted, a rate and a time estimate."""

    def __init__(self, progress, total: int, resumed: int, to_run: int):
        self._bar = progress_bar(total, "sweep", progress, unit="point")
        self._resumed = resumed
        self._bar.update(resumed, f"{resumed} resumed" if resumed else None)

    def update(self, ran: int, failed: int, *, final: bool = False):
        extras = [f"{self._resumed} resumed"] if self._resumed else []
        if failed:
            extras.append(f"{failed} failed")
        self._bar.update(self._resumed + ran, ", ".join(extras) if extras else None)

    def close(self):
        """End the bar (also when the sweep stopped early, e.g. on Ctrl-C)."""
        self._bar.close()


# -- the sweep ----------------------------------------------------------------------------------------------
def _rng_parameter(fn):
    """(signature or None, whether ``fn`` has a parameter ``rng`` that takes a keyword)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None, False
    p = sig.parameters.get("rng")
    return sig, p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)


def _derive_seed(seed: int, key: str) -> int:
    """The seed of one point: SeedSequence(seed, spawn_key=the key's two 32-bit words), 63 bits."""
    words = (int(key[:8], 16), int(key[8:16], 16))
    state = np.random.SeedSequence(entropy=seed, spawn_key=words).generate_state(1, np.uint64)
    return int(state[0]) >> 1


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
    progress : bool or None
        A progress bar (tqdm, with a time estimate; a terminal or a
        notebook, never a pipe or a log): True (default) shows it, False
        never, None once the sweep has run for a second (the policy of
        every ``progress=`` keyword, :mod:`spectra._core.progress`).
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
    if not isinstance(retry_failed, (bool, np.bool_)):
        raise TypeError(f"`retry_failed` must be True or False; got {describe(retry_failed)}")
    progress = check_progress(bool(progress) if isinstance(progress, np.bool_) else progress)
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
