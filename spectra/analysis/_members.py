"""Lyapunov spectra of a batch with one "auto" re-orthonormalisation schedule per member.

A batch (an ensemble of networks, or one network from several states) advances
all its frames with one batched product per step, but its members need QRs at
different rates: a member whose exponents spread little per step can go 10-16
steps between QRs where another needs one at every step.  One schedule for the
whole batch (the most demanding member's) makes every member pay the QRs of
the worst one; here each member follows its own verified schedule (the rules
of :func:`spectra.lyapunov_spectrum`'s ``"auto"``, passed in by its caller)
and only the members due are factorised, each by LAPACK directly
(``dgeqrf`` + ``dorgqr``, which takes any subset of the members without a
gathering copy; for all 64 frames of 32 x 32 it measured 0.84-1.22 times the
time of ``numpy.linalg.qr`` of the stack, ``benchmarks/bench_ensemble.py
--qr-kernels``).  Between QRs the frames are propagated without normalising
their columns (scaling a column commutes with the products and the QR): one
``einsum`` per step checks that every column norm stays within [1e-30, 1e30].

Every member is re-orthonormalised at the same "sync" steps (every
``sync`` steps after the warm-up, and at the end): the rows of ``running`` are
taken there, so every row holds each member's exact running mean over the
same number of steps.
"""

from __future__ import annotations

import numpy as np

from ..linalg.graded import column_norms, flush_subnormals

__all__ = ["member_schedule_spectrum", "qr_frames"]

_EPS = np.finfo(np.float64).eps


def qr_frames(Z, idx, out):
    """QR of the frames ``Z[b]`` for b in idx by LAPACK (dgeqrf + dorgqr): Q into
    ``out[b]``; returns the (len(idx), k) array of log|r_jj|."""
    from scipy.linalg import lapack

    geqrf, orgqr = lapack.dgeqrf, lapack.dorgqr
    k = Z.shape[-1]
    diag = np.empty((len(idx), k))
    for i, b in enumerate(idx):
        qr, tau, _, info = geqrf(Z[b])
        if info != 0:  # pragma: no cover - only for invalid arguments
            raise RuntimeError(f"LAPACK dgeqrf failed (info={info})")
        diag[i] = qr.diagonal()[:k]
        q, _, info = orgqr(qr, tau, overwrite_a=1)
        if info != 0:  # pragma: no cover - only for invalid arguments
            raise RuntimeError(f"LAPACK dorgqr failed (info={info})")
        out[b] = flush_subnormals(q)
    return np.log(np.abs(diag))


_SQ_LO, _SQ_HI = 1e-60, 1e60     # squared column norms kept here (norms in [1e-30, 1e30])


def _out_of_range(sq):
    """Columns whose squared norm left [1e-60, 1e60] (or is not finite), zero columns apart."""
    return ~((sq >= _SQ_LO) & (sq <= _SQ_HI)) & (sq != 0)


def _unit_columns(X, m, col_log, s):
    """Rescale the columns of the members m of X to unit norm (in place), logs into col_log."""
    norms = column_norms(X[m])
    if not np.all(np.isfinite(norms)):
        from .._core.errors import NumericalError

        raise NumericalError(f"the frame after the step Jacobian J_{s} has non-finite entries "
                             "(a step beyond the float64 range)")
    live = norms > 0
    X[m] /= np.where(live, norms, 1.0)[:, None, :]
    col_log[m] += np.where(live, np.log(np.where(live, norms, 1.0)), 0.0)


def _checked_step(seq, s, Q, col_log, only=None):
    """``Z = J_s Q`` and its squared column norms, every column within [1e-30, 1e30] (or zero).

    The frame is propagated without normalising its columns (scaling a column commutes
    with the products and the QR); a member whose columns leave the range has its previous
    frame rescaled and the step redone, and if one step alone takes a column out of range,
    the new frame is rescaled too.  ``only``: the members to check (default all).
    """
    Z = np.asarray(seq.matmat(s, Q), dtype=np.float64)
    if Z is Q or not Z.flags.writeable:
        Z = Z.copy()
    sq = np.einsum("bij,bij->bj", Z, Z)
    bad = _out_of_range(sq).any(axis=1)
    if only is not None:
        bad[np.setdiff1d(np.arange(bad.size), only)] = False
    if bad.any():
        m = np.flatnonzero(bad)
        _unit_columns(Q, m, col_log, s)
        Z = np.array(seq.matmat(s, Q), dtype=np.float64)
        sq = np.einsum("bij,bij->bj", Z, Z)
        again = _out_of_range(sq[m]).any(axis=1)
        if again.any():
            _unit_columns(Z, m[again], col_log, s)
            sq[m] = np.einsum("bij,bij->bj", Z[m], Z[m])
    return Z, sq


class _Plans:
    """Per-member "auto" schedules: :func:`spectra.lyapunov_spectrum`'s rules (its class
    ``_Schedule``) for B members at once, with its tables passed in.

    ``rates[m - 1]``: the largest smoothed growth per step of log cond(Z) that allows an
    interval of m steps (decreasing); ``reject[m - 1]``: the largest log cond(Z) an
    interval of m steps may end with before it is redone with a QR at every step.
    """

    def __init__(self, B, rates, reject):
        self.rates = np.asarray(rates, dtype=np.float64)[::-1]     # increasing, for searchsorted
        self.reject = np.asarray(reject, dtype=np.float64)
        self.last = np.zeros(B, dtype=np.int64)
        self.every = np.ones(B, dtype=np.int64)
        self.rate = np.full(B, np.nan)        # NaN: no estimate yet

    def rejected(self, idx, s, worst):
        """Mask over idx of the intervals that ended too ill-conditioned (and their update)."""
        m = s - self.last[idx]
        bad = (m > 1) & ~(worst <= self.reject[np.minimum(m, self.reject.size) - 1])
        if bad.any():
            j, w = idx[bad], worst[bad]
            base = np.where(np.isnan(self.rate[j]), 0.0, self.rate[j])
            with np.errstate(invalid="ignore"):
                self.rate[j] = np.where(np.isfinite(w), np.maximum(base, w / m[bad]), np.inf)
            self.every[j] = 1
        return bad

    def done(self, idx, s, worst):
        m = s - self.last[idx]
        finite = np.isfinite(worst)
        with np.errstate(invalid="ignore"):
            now = np.maximum(worst, 0.0) / m
            old = self.rate[idx]
            rate = np.where(np.isnan(old), now, 0.75 * old + 0.25 * now)
        fit = self.rates.size - np.searchsorted(self.rates, rate, side="left")
        every = np.maximum(1, np.minimum(fit, 2 * self.every[idx]))
        self.rate[idx] = np.where(finite, rate, np.nan)
        self.every[idx] = np.where(finite, every, 1)
        self.last[idx] = s


def member_schedule_spectrum(seq, T, Q, warmup, rates, reject, sync):
    """Exponents of a batch (batch shape ``(B,)``) with a QR schedule per member.

    Parameters
    ----------
    seq : JacobianSequence
        Square steps with batch shape ``(B,)``.
    T : int
        Steps.
    Q : (B, n, k) ndarray
        The initial orthonormal frames (written to).
    warmup : int
        Steps before averaging starts (a QR for every member there).
    rates, reject : sequences of floats
        The "auto" tables of :func:`spectra.lyapunov_spectrum` (see :class:`_Plans`).
    sync : int
        Steps between the rows of ``running``, where every member is
        re-orthonormalised.

    Returns
    -------
    (sums, lengths, errs, counts)
        ``sums``: per row the (B, k) sums of log|r_jj| since the previous row;
        ``lengths``: the steps behind each row; ``errs``: one (B, k) array, the
        summed first-order rounding estimates ``eps ||z_j|| / |r_jj|``;
        ``counts``: the (B,) numbers of QRs per member.
    """
    B, _, k = Q.shape
    plans = _Plans(B, rates, reject)
    col_log = np.zeros((B, k))
    acc = np.zeros((B, k))                        # sums of log|r_jj| since the last row
    err = np.zeros((B, k))
    counts = np.zeros(B, dtype=np.int64)
    saved = Q.copy()                              # each member's frame after its last accepted QR
    sums, lengths = [], []
    row_start = warmup
    everyone = np.arange(B)

    def factorise(Z, sq, idx, s):
        """QR of the frames Z[idx] into Q (sq: their squared column norms); returns the
        members rejected."""
        log_diag = qr_frames(Z, idx, Q)
        sqi = sq[idx]
        with np.errstate(invalid="ignore"):
            # log ||z_j|| / |r_jj|: 0 for a zero column and for an exact rank drop
            lr = np.where((sqi > 0) & np.isfinite(log_diag), 0.5 * np.log(sqi) - log_diag, 0.0)
        worst = np.max(lr, axis=1)
        worst[~np.isfinite(worst)] = np.inf
        bad = plans.rejected(idx, s, worst)
        if bad.any():
            idx, lr, log_diag, worst = idx[~bad], lr[~bad], log_diag[~bad], worst[~bad]
        saved[idx] = Q[idx]
        if s > warmup:
            acc[idx] += log_diag + col_log[idx]
            err[idx] += _EPS * np.exp(np.minimum(lr, 700.0))
        col_log[idx] = 0.0
        plans.done(idx, s, worst)
        counts[idx] += 1
        return bad

    def redo(b, s):
        """Member b's last interval was rejected: from its last accepted QR up to step s, a QR
        at every step (one batched product per step, used for member b only)."""
        Q[b] = saved[b]
        col_log[b] = 0.0
        one = np.array([b])
        for r in range(int(plans.last[b]) + 1, s + 1):
            Z, sq = _checked_step(seq, r, Q, col_log, one)
            if factorise(Z, sq, one, r).any():  # pragma: no cover - one-step intervals pass
                raise RuntimeError("a one-step re-orthonormalisation was rejected")

    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        for s in range(1, T + 1):
            Z, sq = _checked_step(seq, s, Q, col_log)
            row = s == T or (s >= warmup and (s - warmup) % sync == 0)
            idx = everyone if row else np.flatnonzero(plans.last + plans.every <= s)
            Q = Z                                          # the not-due members: propagated frames
            if idx.size:
                bad = factorise(Z, sq, idx, s)
                for b in idx[bad]:
                    redo(b, s)
            if row and s > warmup:
                sums.append(acc.copy())
                lengths.append(s - row_start)
                acc[...] = 0.0
                row_start = s
    return sums, lengths, [err], counts
