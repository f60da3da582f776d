"""Progress bars for long computations: tqdm's, in a terminal or a notebook, silent elsewhere.

One policy for every ``progress=`` keyword of the package (the analysis
functions, sweeps) and for the command line:

* ``progress=True``: a bar whenever the output is interactive;
* ``progress=None`` (the analysis functions' default): the same, but the bar
  appears only once the call has run for a second, so quick calls stay quiet;
* ``progress=False``: never.

"Interactive" means standard error is a terminal, or the code runs in a
Jupyter kernel (then ``tqdm.auto`` draws a notebook widget).  Scripts, pipes,
logs and test runs never see a bar.  tqdm is imported only when a bar is
actually drawn, so ``import spectra`` does not load it.
"""

from __future__ import annotations

import sys

__all__ = ["ProgressBar", "progress_bar", "check_progress"]

#: seconds a ``progress=None`` call runs before its bar appears
AUTO_DELAY = 1.0


def check_progress(progress, name: str = "progress"):
    """``progress`` if it is True, False or None; TypeError naming ``name`` otherwise.

    >>> check_progress(None) is None
    True
    """
    if progress is None or isinstance(progress, bool):
        return progress
    raise TypeError(f"`{name}` must be True, False or None; got {progress!r}")


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:      # noqa: BLE001 - any failure means "not a kernel"
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _interactive(stream) -> bool:
    if stream is sys.stderr and _in_notebook():
        return True
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):   # no isatty, or a closed stream
        return False


def _width(stream):
    """None where tqdm can measure the terminal, else a fixed width of 100 columns."""
    import os

    try:
        if os.get_terminal_size(stream.fileno()).columns > 0:
            return None
    except (AttributeError, ValueError, OSError):
        return None if _in_notebook() else 100
    return 100


class ProgressBar:
    """A tqdm bar over ``total`` units of work, or nothing when not interactive.

    Parameters
    ----------
    total : int or None
        Units of work (steps, figures, points); None when unknown (a count
        and a rate are shown, no time estimate).
    label : str
    stream : file, optional
        Default ``sys.stderr``.
    enabled : bool, optional
        Default: whether the output is interactive (a terminal, or a notebook).
    delay : float
        Seconds before the bar first appears (tqdm's ``delay``).
    unit : str

    Examples
    --------
    >>> import io
    >>> with ProgressBar(3, "demo", stream=io.StringIO()) as bar:   # not a terminal: silent
    ...     bar.advance(3)
    >>> bar.enabled, bar.done
    (False, 3)
    """

    def __init__(self, total, label="", *, stream=None, enabled=None, delay=0.0, unit="it"):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _interactive(self.stream) if enabled is None else bool(enabled)
        self.total = None if total is None else max(int(total), 1)
        self.label = label
        self.done = 0
        self._bar = None
        if self.enabled:
            from tqdm.auto import tqdm

            width = _width(self.stream)     # a terminal of unknown width (0 columns): 100
            self._bar = tqdm(total=self.total, desc=label or None, file=self.stream, delay=delay,
                             unit=unit, leave=True, mininterval=0.1, dynamic_ncols=width is None,
                             ncols=width, nrows=None if width is None else 20)

    def update(self, done, note=None):
        """Set the amount of work done (clamped to ``total``), with an optional note."""
        done = max(int(done), 0)
        if self.total is not None:
            done = min(done, self.total)
        step, self.done = done - self.done, done
        if self._bar is not None:
            if note is not None:
                self._bar.set_postfix_str(note, refresh=False)
            if step:
                self._bar.update(step)
            elif note is not None:
                self._bar.refresh()

    def advance(self, n=1):
        """Count ``n`` more units of work."""
        self.update(self.done + n)

    def close(self):
        """End the bar (its last state stays on screen)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def progress_bar(total, label, progress, *, unit="it") -> ProgressBar:
    """The bar of a ``progress=`` keyword (True, None or False: see the module docs).

    >>> progress_bar(10, "demo", False).enabled
    False
    """
    progress = check_progress(progress)
    if progress is False:
        return ProgressBar(total, label, enabled=False)
    return ProgressBar(total, label, delay=AUTO_DELAY if progress is None else 0.0, unit=unit)
