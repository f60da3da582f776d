"""A Jacobian sequence that drives a progress bar, one tick per step Jacobian applied.

The bar itself is :class:`spectra._core.progress.ProgressBar` (tqdm, drawn only
when the output is interactive); it is re-exported here for the 0.1 address.
"""

from __future__ import annotations

from .._core.progress import ProgressBar, progress_bar
from .sequence import JacobianSequence

__all__ = ["ProgressBar", "counting", "counted"]


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

    def lmatmat(self, t, P):
        self._bar.advance()
        return self._seq.lmatmat(t, P)

    def step_operator(self, side="left"):
        apply, log2_bound = self._seq.step_operator(side)   # keep the structured fast path

        def counted_apply(s, P):
            self._bar.advance()
            return apply(s, P)
        return counted_apply, log2_bound

    def matrices(self, start=1, stop=None):
        out = self._seq.matrices(start, stop)
        self._bar.advance(out.shape[len(self.batch_shape)] if out.ndim > 2 else 0)
        return out

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


class counted:
    """Context manager: ``J`` as a sequence that advances a ``progress=`` bar of ``total`` steps.

    ``with counted(J, total, "lyapunov", progress) as seq: ...`` gives ``J``
    itself (no overhead) when the bar is off.

    >>> import numpy as np
    >>> with counted(np.zeros((3, 2, 2)), 3, "demo", False) as seq:
    ...     seq.steps
    3
    """

    def __init__(self, J, total, label, progress):
        from .structured import as_jacobian_sequence

        self._bar = progress_bar(total, label, progress)
        self._seq = counting(as_jacobian_sequence(J), self._bar)

    def __enter__(self):
        return self._seq

    def __exit__(self, *exc):
        self._bar.close()
        return False
