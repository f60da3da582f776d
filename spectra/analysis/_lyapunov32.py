"""The frame arithmetic of ``lyapunov_spectrum(..., dtype="float32")``.

The frame is propagated by float32 GEMMs with float32 step matrices, and its QRs are
LAPACK's single-precision ``sgeqrt``/``sgemqrt`` (or numpy's ``qr`` in float32 below
48 units); the logs of ``|r_jj|``, of the column scales and of the step scales are
taken and summed in float64.  Measured on the float32 frame of a tanh network
(n = 256, T = 1000), a float64 QR of the same frame gives the same exponents to
within 1e-8 of each other: the error is the propagation's (float32 rounding of every
product, amplified by the frame's condition number), not the QR's.

Every step matrix is scaled by an exact power of two (its largest entry in [0.5, 1);
for the Elman step ``diag(d_s) W``: W once, each ``d_s`` by its largest entry) before
it is cast, and the scale is added to every column's log: float32's range
(1e-38 .. 3e38) then never clips a step, and only entries more than 2^-149 below
their step's largest become zero.  Frame columns are kept with norms in
[2^-40, 2^40] (their squares stay within float32) and rescaled by powers of two,
exactly.
"""

from __future__ import annotations

import math

import numpy as np

from .._core.errors import NumericalError
from ._schedule import EPS32

_LN2 = math.log(2.0)
_TINY32 = float(np.finfo(np.float32).tiny)


def _exponents(m):
    """e with m 2^-e in [0.5, 1) (0 where m is 0)."""
    return np.frexp(m)[1].astype(np.int64)


class Frames32:
    """Float32 steps ``J'_s = 2^-e_s J_s`` of a single square sequence, and the helpers
    of the frame loop (see the module docstring)."""

    eps = EPS32
    dtype = np.float32
    sq_range = (2.0 ** -80, 2.0 ** 80)            # squared column norms checked against this
    log_norm_range = (-40 * _LN2, 40 * _LN2)       # column norms kept here between checks

    def __init__(self, seq):
        from ..jacobians.structured import ScaledJacobians

        self.seq = seq
        T = seq.steps
        self.log_up = self.log_lo = None
        W = getattr(seq, "W", None)
        if isinstance(seq, ScaledJacobians) and seq.shift is None and seq.col is None \
                and seq.row is not None and W.ndim == 2:
            # diag(d_s) W: W scaled and cast once, each d_s scaled by its largest |entry|
            eW = int(_exponents(np.max(np.abs(W))))
            Ws = np.ldexp(W, -eW)
            self.WF = np.asfortranarray(Ws, dtype=np.float32)
            rows = np.asarray(seq.row, dtype=np.float64)
            er = _exponents(np.max(np.abs(rows), axis=-1))
            rows_s = np.ldexp(rows, -er[:, None])
            self.rows = rows_s.astype(np.float32)
            self.shifts = (eW + er) * _LN2
            n = W.shape[0]
            if n <= 1024:   # per-step bounds on a column's growth: no check while they hold
                sv = np.linalg.svd(Ws, compute_uv=False)
                a = np.abs(rows_s)
                with np.errstate(divide="ignore"):
                    log_up = np.log(np.max(a, axis=-1)) + math.log(sv[0])
                    log_lo = np.log(np.min(a, axis=-1)) + np.log(sv[-1])
                if np.all(np.isfinite(log_up)) and np.all(log_lo < np.inf):
                    self.log_up, self.log_lo = log_up, log_lo
            self.step, self.times = self._scaled_step, self._scaled_times
        else:
            self.shifts = np.zeros(T)
            self.step, self.times = self._formed_step, self._formed_times

    # -- the steps: Fortran-ordered float32 arrays (what sgeqrt/sgemqrt take in place)
    def _scaled_step(self, s, b=()):
        return self.rows[s - 1][:, None] * self.WF

    def _scaled_times(self, s, b, X):
        Z = np.matmul(X.T, self.WF.T).T            # W X, Fortran-ordered
        Z *= self.rows[s - 1][:, None]
        return Z

    def _formed_step(self, s, b=()):
        J = np.asarray(self.seq.matrix(s), dtype=np.float64)
        m = float(np.max(np.abs(J))) if J.size else 0.0
        if not math.isfinite(m):
            raise NumericalError(f"the step Jacobian J_{s} has non-finite entries")
        e = int(_exponents(m))
        out = np.empty(J.shape, dtype=np.float32, order="F")
        np.multiply(J, math.ldexp(1.0, -e), out=out, casting="unsafe")
        self.shifts[s - 1] = e * _LN2
        return out

    def _formed_times(self, s, b, X):
        return np.matmul(X.T, self._formed_step(s).T).T

    def shift(self, s):
        """log of the power of two taken out of J_s (known once step s was formed)."""
        return self.shifts[s - 1]

    @staticmethod
    def block(n):
        """Panel width of sgeqrt/sgemqrt (measured: n = 512 runs 8% faster with 64 than 32;
        at n = 256, 16 to 64 are within the noise)."""
        return 16 if n < 128 else 32 if n < 384 else 64

    # -- frame helpers
    @staticmethod
    def flush(x):
        """Entries below float32's normal range set to zero, in place (BLAS's slow path)."""
        x[np.abs(x) < _TINY32] = 0.0
        return x

    @staticmethod
    def rescale(Z):
        """Columns scaled by powers of two to norms in [0.5, 1), in place; their logs."""
        from ..linalg.graded import column_norms

        e = _exponents(column_norms(Z).astype(np.float64))
        np.ldexp(Z, -e.astype(np.int32), out=Z)
        return Z, e * _LN2

    def normalise(self, Z, col_log):
        """``_normalise_columns`` of the float64 loop, exactly (powers of two)."""
        Z, logs = self.rescale(Z)
        return Z, col_log + logs
