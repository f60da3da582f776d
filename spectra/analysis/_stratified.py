"""Stable log singular values of a long product with a verified QR schedule.

The fast path of :func:`spectra.product_log_singular_values` for a single square
sequence with n >= ``MIN_N``.  The product is kept, as in
:mod:`spectra.linalg.graded`, as

    P = Z diag(e^c) T,

Z a frame (orthonormal right after a QR), c log column scales and T with unit
rows.  Between QRs the frame is only multiplied by the step Jacobians (one GEMM
per step, rescaled by a power of two when its norm leaves [1e-125, 1e125]); a
pre-pivoted Householder QR folds it back into ``Q diag(e^l) Rt``, and T <- Rt T.
Three savings over a graded QR at every step:

* the QR is LAPACK's recursive compact-WY ``dgeqrt`` and the orthogonal factor
  is never formed: the next step Jacobian is multiplied by it with ``dgemqrt``;
* the QR runs only every m steps, m chosen so that the frame's condition number
  estimate ``max_j ||z_j|| / |r_jj|`` stays below 1e6 (a rounding error of about
  u cond, 2e-10, in each log singular value per QR), and verified: an interval
  whose frame ends beyond 1e7 is rewound and redone with a QR at every step (the
  schedule of Lyapunov spectra, :class:`._schedule.QRSchedule`, with the budget
  ``PRODUCTS``);
* the row scales of ``R diag(e^lp)`` are the pivot keys c_i (an upper bound on
  the row's largest entry, because the columns are sorted by c), so ``Rt`` is
  formed with one exponential per row and column of a band of rows, and its
  entries below e^-70 of their row's bound (far below rounding) are dropped.

The rounding errors of the QRs add up like a random walk: measured against the
graded QR at every step, the log singular values agree to 1.4e-9 (absolute) for a
256-unit tanh network over 1000 steps (values down to -3666), 3e-9 at n = 96 over
500 steps.
"""

from __future__ import annotations

import numpy as np

from ..jacobians.kernels import step_operator
from ..linalg.graded import (column_norms, flush_subnormals, graded_qr,
                             log_singular_values_graded, normalise_rows)
from ._schedule import PRODUCTS, QRSchedule

MIN_N = 96                  # below this the graded QR at every step is faster (Python overhead)
_NB = 32                    # dgeqrt panel width (measured best at n = 256)
_BAND = 300.0               # log-scale width of a band of rows scaled by one exponential


def _graded_update(V, norms, c, T):
    """``Rt @ T`` and the rows' log scales, ``Rt = diag(e^-c) R diag(e^c / norms)``.

    R is the upper triangle of V and c is sorted descending (finite).  Entry
    (i, j), j >= i, of Rt is ``R_ij / ||z_j|| e^(c_j - c_i)``, at most 1 in
    magnitude (the columns are pivoted by c); entries with ``c_j < c_i - 70``
    (below 4e-31 of their row's bound: far below rounding) are dropped.  Rt is
    then banded once the scales have spread, and is formed and multiplied a band
    of at most ``_ROWS`` rows at a time whose keys span at most ``_BAND``: one
    exponential per row and per column of a band, GEMMs of the band's width only.
    """
    n = V.shape[0]
    upper = _upper_ones(n)
    if c[0] - c[-1] > _BAND * _MAX_BANDS:      # widely spread keys: one exponential per entry
        Rt = V * np.exp(np.clip(c[None, :] - c[:, None], -_DROP - 1.0, 0.0))
        Rt /= norms[None, :]
        Rt *= upper
        Rt[c[None, :] - c[:, None] < -_DROP] = 0.0
        if np.min(np.abs(np.diagonal(Rt))) < 1e-200:
            flush_subnormals(Rt)
        return normalise_rows(Rt @ T, c)
    out = np.empty_like(T)
    i0 = 0
    while i0 < n:
        i1 = int(np.searchsorted(-c, -(c[i0] - _BAND), side="right"))
        i1 = min(max(i1, i0 + 1), i0 + _ROWS)
        j1 = max(int(np.searchsorted(-c, -(c[i1 - 1] - _DROP), side="right")), i1)
        block = V[i0:i1, i0:j1] * np.exp(c[i0] - c[i0:i1])[:, None]     # <= e^_BAND
        block *= np.exp(c[i0:j1] - c[i0]) / norms[i0:j1]
        block *= upper[i0:i1, i0:j1]                                   # the triangle of R only
        if np.min(np.abs(np.diagonal(block))) < 1e-200:
            flush_subnormals(block)     # only tiny rows can hold subnormal entries
        out[i0:i1] = block @ T[i0:j1]
        i0 = i1
    return normalise_rows(out, c)


_ROWS = 64          # rows of Rt formed and multiplied at a time
_MAX_BANDS = 4      # keys spread wider than this many bands: Rt is formed in one piece
_DROP = 70.0        # entries of Rt below e^-_DROP of their row's bound are dropped


_UPPER = {}


def _upper_ones(n):
    if n not in _UPPER:
        _UPPER.clear()
        _UPPER[n] = np.triu(np.ones((n, n)))
    return _UPPER[n]


def _stepper(seq, n):
    """``times(s, frame) -> J_s Q`` (Fortran-ordered, a fresh array) for an explicit frame Q
    (Fortran-ordered) or a compact-WY one ``(V, Tf)``."""
    from scipy.linalg import lapack

    from ..jacobians.structured import ScaledJacobians

    apply, _ = step_operator(seq, "left")     # (also rejects non-finite steps)
    if isinstance(seq, ScaledJacobians) and seq.shift is None and seq.col is None \
            and seq.row is not None and not seq.batch_shape:
        WF = np.asfortranarray(seq.W, dtype=np.float64)
        WT = WF.T
        rows = seq.row

        def matrix(s):
            return rows[s - 1][:, None] * WF                     # diag(f') W, Fortran

        def explicit(s, Q):
            Z = np.matmul(Q.T, WT).T                             # W Q, Fortran
            Z *= rows[s - 1][:, None]
            return Z
    else:
        def matrix(s):
            return np.array(seq.matrix(s), dtype=np.float64, order="F")

        def explicit(s, Q):
            return np.asfortranarray(apply(s, Q), dtype=np.float64)

    def times(s, frame):
        if len(frame) == 2:
            return lapack.dgemqrt(frame[0], frame[1], matrix(s), side="R", trans="N",
                                  overwrite_c=1)[0]
        return explicit(s, frame[0])

    return times


_SAFE = (1e-250, 1e250)     # a frame's squared Frobenius norm is kept inside this
_LN2 = np.log(2.0)


def stratified_log_singular_values(seq, k, wanted):
    """``{t: log singular values of dh_t/dh_k}`` for every t in ``wanted`` (sorted, > k).

    A single square sequence (no batch); see the module docstring.
    """
    from scipy.linalg import lapack

    n = seq.state_size(k)
    times = _stepper(seq, n)
    want = set(wanted)
    out = {}
    frame = (np.eye(n, order="F"),)   # Q: (explicit,) or (V, Tf) in compact-WY form
    shift = 0.0                       # Z = frame propagated, times e^-shift
    l = np.zeros(n)
    T = np.eye(n)
    saved = (frame, l, T)
    plan = QRSchedule(PRODUCTS, start=k)     # cond(Z) aimed below 1e6, rejected beyond 1e7
    s = k + 1
    with np.errstate(under="ignore", divide="ignore", over="ignore", invalid="ignore"):
        while s <= wanted[-1]:
            Z = times(s, frame)
            f2 = float(np.einsum("ij,ij->", Z, Z))
            if not (plan.due(s) or s in want):
                if not _SAFE[0] < f2 < _SAFE[1]:
                    if not np.isfinite(f2) or f2 == 0.0:   # redo with a QR at every step
                        frame, l, T = saved
                        shift = 0.0
                        plan.force_until, plan.every, s = s, 1, plan.last + 1
                        continue
                    e2 = int(np.frexp(np.sqrt(f2))[1])
                    Z = np.ldexp(Z, -e2)                   # exact: a power of two
                    shift += e2 * _LN2
                frame = (Z,)
                s += 1
                continue
            norms = np.sqrt(np.einsum("ij,ij->j", Z, Z))
            if not (np.isfinite(f2) and _SAFE[0] < f2 < _SAFE[1]) or not np.all(norms > 0):
                norms = column_norms(Z)
            c = l + shift + np.log(norms)
            if not np.all(np.isfinite(c)):               # zero columns or scales: exact path
                if s - plan.last > 1:
                    frame, l, T = saved
                    shift = 0.0
                    plan.force_until, plan.every, s = s, 1, plan.last + 1
                    continue
                frame, l, T = _exact_step(Z, l + shift, T)
                shift = 0.0
                plan.last = s
                saved = (frame, l, T)
                if s in want:
                    out[s] = log_singular_values_graded(l, T)
                s += 1
                continue
            perm = np.argsort(-c, kind="stable")
            cs = c[perm]
            pn = norms[perm]
            Zp = np.asfortranarray(Z).T[perm].T          # columns permuted, Fortran-ordered
            V, Tf, info = lapack.dgeqrt(_NB, Zp, overwrite_a=1)
            if info != 0:  # pragma: no cover - only for invalid arguments
                raise RuntimeError(f"LAPACK dgeqrt failed (info={info})")
            R = V                                        # R in its upper triangle
            d = np.abs(np.diagonal(R))
            log_cond = float(np.max(np.log(pn) - np.log(np.where(d > 0, d, 1e-300))))
            if not plan.accept(s, log_cond):             # rewind: redo step by step
                frame, l, T = saved
                shift = 0.0
                s = plan.last + 1
                continue
            T, l = _graded_update(R, pn, cs, T[perm])
            shift = 0.0
            frame = (flush_subnormals(V), Tf)
            saved = (frame, l, T)
            plan.done(s, log_cond)
            if s in want:
                out[s] = log_singular_values_graded(l, T)
            s += 1
    return out


def _exact_step(Z, lc, T):
    """One graded QR step as in the general path (for zero columns and scales)."""
    Q, l_new, Rt, perm = graded_qr(Z, lc)
    T = Rt @ np.take_along_axis(T, perm[:, None], axis=-2)
    T, l_new = normalise_rows(T, l_new)
    return (np.asfortranarray(Q),), l_new, T
