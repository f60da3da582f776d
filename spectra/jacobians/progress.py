"""A dependency-free progress bar for the command line, and a Jacobian sequence that drives one.

The bar draws only on a terminal (``stream.isatty()``), so scripts, pipes and
logs never see it; it redraws at most ten times a second and always on the
last step.
"""

from __future__ import annotations

import sys
import time

from .sequence import JacobianSequence

__all__ = ["ProgressBar", "counting"]


class ProgressBar:
    """``label [#######.............]  35%  350/1000`` on one terminal line.

    Parameters
    ----------
    total : int
        Units of work (steps, figures).
    label : str
    stream : file, optional
        Default ``sys.stderr``.
    enabled : bool, optional
        Default: whether ``stream`` is a terminal.
    """

    def __init__(self, total, label="", *, stream=None, enabled=None, width=28, interval=0.1):
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.total = max(int(total), 1)
        self.label = label
        self.width = width
        self.interval = interval
        self.done = 0
        self._last = -float("inf")
        self._shown = False

    def update(self, done, note=None):
        """Set the amount of work done (clamped to ``total``); redraw if due."""
        self.done = min(max(int(done), 0), self.total)
        if not self.enabled:
            return
        now = time.monotonic()
        if self.done < self.total and now - self._last < self.interval:
            return
        self._last = now
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        pct = 100 * self.done // self.total
        text = f"\r{self.label} [{bar}] {pct:3d}%  {self.done}/{self.total}"
        if note:
            text += f"  {note}"
        self.stream.write(text + "\x1b[K")   # erase what a longer previous line left
        self.stream.flush()
        self._shown = True

    def advance(self, n=1):
        self.update(self.done + n)

    def close(self):
        """End the line (only if anything was drawn)."""
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _Counting(JacobianSequence):
    """Delegates to ``seq``, advancing ``bar`` once per step Jacobian applied.

    The analysis routines visit each step once through ``matrix``,
    ``matmat`` or ``rmatmat`` (QR sweeps, lag profiles), so the count
    tracks their progress.
    """

    def __init__(self, seq, bar):
        self._seq = seq
        self._bar = bar
        self.steps = seq.steps
        self.batch_shape = seq.batch_shape
        self.dtype = seq.dtype

    def step_shape(self, t):
        return self._seq.step_shape(t)

    @property
    def is_square(self):
        return self._seq.is_square

    def matrix(self, t):
        self._bar.advance()
        return self._seq.matrix(t)

    def matmat(self, t, X):
        self._bar.advance()
        return self._seq.matmat(t, X)

    def rmatmat(self, t, Y):
        self._bar.advance()
        return self._seq.rmatmat(t, Y)

    def logabsdet(self, t):
        return self._seq.logabsdet(t)

    def step_norm_bounds(self):
        return self._seq.step_norm_bounds()


def counting(J, bar):
    """``J``'s Jacobian sequence, reporting to ``bar`` (or ``J`` itself when the bar is off)."""
    if bar is None or not bar.enabled:
        return J
    from .structured import as_jacobian_sequence

    return _Counting(as_jacobian_sequence(J), bar)
