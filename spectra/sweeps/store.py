"""A sweep's ``out`` file: append-only JSON lines, locked while in use, fsynced in batches."""

from __future__ import annotations

import json
import os

from .._core.validation import describe
from .records import SweepRecord, SweepResult

__all__ = ["load_sweep"]


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
