"""Lyapunov exponents of a sequence of step Jacobians (Benettin et al. 1980)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.results import Result
from ..linalg.graded import column_norms, flush_subnormals
from ..jacobians.structured import as_jacobian_sequence
from .._core.progress import check_progress, progress_bar
from ..cells.gated_jacobians import LSTMJacobians
from ._lyapunov_lstm import lstm_full_spectrum
from .._core.validation import as_generator, check_int
from ..jacobians.progress import counted

__all__ = ["lyapunov_spectrum", "LyapunovSpectrum"]

_BLOCKS = 20  # block averages for the standard errors


@dataclass(frozen=True, repr=False)
class LyapunovSpectrum(Result):
    """Lyapunov exponents with standard errors and running estimates.

    Attributes
    ----------
    exponents : (k,) or (B, k) ndarray
        Per-step exponents, largest first (natural log).
    stderr : same shape as ``exponents``
        Standard errors from block averages (``inf`` when fewer than two
        blocks exist; 0 for an exponent that is exactly ``-inf``).
    running : (m, k) or (B, m, k) ndarray
        The estimates after each re-orthonormalisation (cumulative means);
        for a batch with per-member schedules, at the steps where all
        members are re-orthonormalised.
    running_steps : (m,) int ndarray
        The number of averaged steps behind each row of ``running``.
    steps : int
        Steps averaged (T - warmup).
    warmup : int
        Steps discarded at the start.
    reorth_every : int or "auto"
        Steps between QR re-orthonormalisations, as requested.
    qr_count : int or (B,) int ndarray
        Re-orthonormalisations done (one per row of ``running``); for a batch
        with ``reorth_every="auto"``, whose members follow their own
        schedules, the count of each member.
    roundoff : same shape as ``exponents``
        First-order estimate of the error each exponent carries from
        floating-point rounding: the mean over the QRs of
        ``eps * ||z_j|| / |r_jj|`` (exact rank drops, r_jj = 0, count as
        exact).  It is ~1e-16 for well-resolved exponents; it grows when a
        direction is contracted, within one re-orthonormalisation interval,
        towards float64's resolution relative to the stronger ones (e.g. by
        saturated units, whose f' is below 1e-15): such an exponent is then
        only known to about this size, whatever the method.
    """

    _frame = ("exponent", None, ("exponents", "stderr", "roundoff"))

    exponents: np.ndarray
    stderr: np.ndarray
    running: np.ndarray
    running_steps: np.ndarray
    steps: int
    warmup: int
    reorth_every: object
    qr_count: int = 0
    roundoff: np.ndarray | None = None

    @property
    def max(self):
        """The largest exponent."""
        return self.exponents[..., 0]

    @property
    def kaplan_yorke_dimension(self):
        """Kaplan-Yorke (Lyapunov) dimension ``j + sum_{i<=j} lambda_i / |lambda_{j+1}|``.

        j is the largest index whose partial sum of exponents is >= 0; the
        dimension is the number of exponents computed when all partial sums
        are >= 0 (compute the full spectrum for a meaningful value).
        """
        lam = np.atleast_2d(self.exponents)
        out = np.empty(lam.shape[0])
        for i, row in enumerate(lam):
            c = np.cumsum(row)
            nonneg = np.nonzero(c >= 0)[0]
            if nonneg.size == 0:
                out[i] = 0.0
            elif nonneg[-1] == row.size - 1:
                out[i] = float(row.size)
            else:
                j = nonneg[-1]
                out[i] = (j + 1) + c[j] / abs(row[j + 1])
        return out[0] if self.exponents.ndim == 1 else out


def lyapunov_spectrum(J, *, k=None, reorth_every="auto", warmup=0, rng=None,
                      progress=None) -> LyapunovSpectrum:
    """Lyapunov exponents of the product of J_1 to J_T by repeated QR (Benettin et al. 1980).

    Parameters
    ----------
    J : Trajectory, JacobianSequence, (T, n, n) or (B, T, n, n) array_like, or sequence of matrices
        Square step Jacobians.
    k : int, optional
        Number of exponents (default all n).  For k < n the cost is
        O(T n^2 k) through matrix-free products, never forming an n x n
        matrix.
    reorth_every : int or "auto"
        Steps between QR re-orthonormalisations.  ``"auto"`` (default)
        chooses the interval from the conditioning of the propagated frame
        (estimated at each QR as ``max ||z_j|| / |r_jj|``) so that the QR error
        stays near 1e-10 per step: the same exponents as a QR at every step
        to better than 1e-8.  An integer fixes it (1: every step).  Between
        QRs the columns are renormalised exactly in the log domain, so
        nothing overflows.  For a batch (e.g. :func:`spectra.ensemble`) at
        n < 48 or with k < n, every member follows its own "auto" schedule
        (only the members due are factorised); all members are
        re-orthonormalised together every ``max(16, (T - warmup) // 20)``
        steps, where the rows of ``running`` are taken.
    warmup : int
        Steps run before averaging starts, to let the frame align with the
        Oseledets subspaces.
    rng : int, Generator or None
        Draws the random initial frame when ``k < n`` (the identity frame is
        used for the full spectrum).
    progress : bool or None
        A progress bar (tqdm; a terminal or a notebook, never a pipe or a log):
        True shows it, False never, None (default) shows it once the call has
        run for a second.

    Returns
    -------
    LyapunovSpectrum

    Notes
    -----
    With ``Z = J_s Q_{s-1} = Q_s R_s`` the exponents are the averages of
    ``log|diag R_s|`` (Benettin, Galgani, Giorgilli & Strelcyn 1980;
    Shimada & Nagashima 1979).  For the full spectrum their sum is exactly
    the mean of ``log|det J_s|`` (the determinant of a product is the
    product of determinants), an identity the tests check.  Standard errors
    come from 20 contiguous block averages; they assume the blocks are
    longer than the correlation time of the local expansion rates.

    For the full spectrum (n >= 48) the orthogonal factor is kept in
    LAPACK's compact-WY form (``dgeqrt``) and applied to the next step
    Jacobian directly (``dgemqrt``), never formed; between QRs the frame is
    propagated by plain products, its columns rescaled (exactly, in the log
    domain) only when their norms leave [1e-30, 1e30].  With ``"auto"`` this
    is about 3.5 times faster than ``numpy.linalg.qr`` at every step at
    n = 256 (``benchmarks/bench_round2.py``).

    For an LSTM (:class:`~spectra.LSTMJacobians`, ``"auto"``) the same
    numbers as a QR at every step come from two n x n problems instead of
    the 2n x 2n frame: the graph of the span of the first n frame vectors
    and the quotient map (``spectra/analysis/_lyapunov_lstm.py``), about
    half the time of the 2n x 2n QRs at n = 256.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[0.9, 1.0], [0.0, 0.5]])     # a linear RNN: log|eigenvalues|
    >>> res = spectra.lyapunov_spectrum(np.broadcast_to(W, (2000, 2, 2)), warmup=100)
    >>> np.round(res.exponents, 3)
    array([-0.105, -0.693])
    """
    seq = as_jacobian_sequence(J)
    seq.require_square("lyapunov_spectrum")
    T = seq.steps
    n = seq.n if T else 0
    if T == 0:
        raise ValueError("`J` must contain at least one step for Lyapunov exponents")
    k = n if k is None else check_int(k, "k", minimum=1, maximum=n)
    auto = isinstance(reorth_every, str) and reorth_every == "auto"
    if not auto:
        if isinstance(reorth_every, str):
            raise ValueError(f"`reorth_every` must be a positive integer or 'auto'; got {reorth_every!r}")
        reorth_every = check_int(reorth_every, "reorth_every", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0, maximum=T - 1)
    batch = seq.batch_shape
    from .._core.threads import blas_threads

    check_progress(progress)
    out = None
    if k == n and auto and isinstance(seq, LSTMJacobians):
        # an LSTM: the same numbers as a QR at every step, from two n x n cocycles
        with blas_threads("factor", n), progress_bar(T, "lyapunov", progress) as bar:
            out = lstm_full_spectrum(seq, T, warmup, bar.advance)
    if out is not None:
        (sums, lengths, errs), counts = out, None
    else:
        with blas_threads("factor", n), np.errstate(divide="ignore", under="ignore", over="ignore"), \
                counted(seq, T, "lyapunov", progress) as seq:
            if k == n:
                sums, lengths, errs, counts = _full_spectrum(seq, T, n, batch, reorth_every, warmup)
            else:
                from ..cells.init import orthogonal

                Q = np.broadcast_to(orthogonal(n, k, rng=as_generator(rng)), batch + (n, k)).copy()
                sums, lengths, errs, counts = _partial_spectrum(seq, T, Q, reorth_every, warmup)
    roundoff = np.sum(np.stack(errs, axis=len(batch)), axis=-2) / max(int(np.sum(lengths)), 1)
    sums = np.stack(sums, axis=len(batch))           # (..., m, k)
    lengths = np.asarray(lengths)
    steps = int(lengths.sum())
    cum = np.cumsum(sums, axis=-2)
    cum_len = np.cumsum(lengths)
    running = cum / cum_len[:, None]
    exponents = running[..., -1, :]
    stderr = _block_stderr(sums, lengths, exponents)
    order = np.argsort(-exponents, axis=-1, kind="stable")
    exponents = np.take_along_axis(exponents, order, axis=-1)
    stderr = np.take_along_axis(stderr, order, axis=-1)
    roundoff = np.take_along_axis(roundoff, order, axis=-1)
    running = np.take_along_axis(running, order[..., None, :], axis=-1)
    return LyapunovSpectrum(exponents, stderr, running, cum_len, steps, warmup, reorth_every,
                          int(lengths.size) if counts is None else counts, roundoff)


# Re-orthonormalisation with reorth_every="auto".  A Householder QR of a frame Z
# whose columns have been propagated m steps without re-orthonormalisation gives
# log|r_jj| with an error of about 2 u cond(Z) (measured: 2e-10 at cond ~ 1e6,
# 1.6e-7 at cond ~ 1e9 for a tanh network with n = 256); the products that built Z
# lose information in the same proportion.  That error is spread over the m steps
# the QR closes, so what an exponent can be off by is at most 2 u cond(Z) / m per
# step.  The condition number is estimated at every QR as max_j ||z_j|| / |r_jj|.
# Prediction: its growth per step, smoothed over the QRs, chooses the next interval
# m as the longest with cond(Z) below 1e6 (an error of about 2e-10 per QR) or, for
# m >= _AUTO_SPREAD_FROM steps, with 2 u cond / m below _AUTO_STEP_ERR (2e-10 per
# step: 50 times below the 1e-8 promised, even if every QR erred the same way).
# Short intervals keep the per-QR cap because a step Jacobian that is itself only
# accurate to ~1e-14 relative (autodiff, a formed product) is amplified by cond(Z)
# too.  Verification: a prediction can be wrong (a stretch of strongly contracting
# steps arrives), so an interval whose frame ends with cond(Z) above 1e7 (or, from
# _AUTO_SPREAD_FROM steps, with 2 u cond / m above _AUTO_REJECT_ERR) is rejected: the
# frame is rewound to the last accepted QR and the stretch is redone with a QR at
# every step.
_AUTO_STEP_ERR = 2e-10
_AUTO_REJECT_ERR = 2e-9
_AUTO_MAX = 16
_LOG_2U = math.log(np.finfo(np.float64).eps)      # log(2u), u the unit roundoff
_AUTO_SPREAD_FROM = 4
_M = np.arange(1, _AUTO_MAX + 1)
# _AUTO_LOG_COND[m - 1]: the largest log cond(Z) an interval of m steps may reach
_AUTO_LOG_COND = np.where(_M < _AUTO_SPREAD_FROM, np.log(1e6),
                          np.log(_AUTO_STEP_ERR * _M) - _LOG_2U)
_AUTO_REJECT = np.where(_M < _AUTO_SPREAD_FROM, np.log(1e7),
                        np.log(_AUTO_REJECT_ERR * _M) - _LOG_2U)
# per-step growth rates of log cond that allow intervals of 1, 2, ... steps (decreasing)
_AUTO_RATE = tuple(float(c) / m for m, c in enumerate(_AUTO_LOG_COND, 1))
_LOG_NORM_LO, _LOG_NORM_HI = math.log(1e-30), math.log(1e30)   # frame column norms kept here
_BOUND_MAX_N = 1024     # up to here a per-step norm bound (one SVD of W) saves the checks
_WY_MIN_N = 48          # below this, numpy's batched qr beats per-call LAPACK wrappers


class _Schedule:
    """When to re-orthonormalise: every ``reorth_every`` steps, or adaptively ("auto")."""

    def __init__(self, reorth_every, warmup, T):
        self.auto = isinstance(reorth_every, str)
        self.every = 1 if self.auto else reorth_every
        self.warmup, self.T = warmup, T
        self.last = 0
        self.rate = None
        self.force_until = 0     # after a rejection: a QR at every step up to here
        self.rejected = 0

    def due(self, s):
        if s == self.T or s == self.warmup or s <= self.force_until:
            return True
        if self.auto:
            return s - self.last >= self.every
        if s > self.warmup:
            return (s - self.warmup) % self.every == 0
        return s % self.every == 0

    def accept(self, s, worst):
        """False when an adaptive interval of several steps ended too ill-conditioned.

        ``worst`` is the largest log ||z_j|| / |r_jj| of the QR (inf if not finite).
        The caller then rewinds to step ``self.last`` and redoes the stretch up to
        ``s`` with a QR at every step.
        """
        m = s - self.last
        if not self.auto or m == 1 or worst <= _AUTO_REJECT[min(m, _AUTO_MAX) - 1]:
            return True
        self.force_until = s
        self.rejected += 1
        self.rate = math.inf if not math.isfinite(worst) else max(self.rate or 0.0, worst / m)
        self.every = 1
        return False

    def done(self, s, worst):
        if self.auto:
            m = s - self.last
            if not math.isfinite(worst):
                self.rate, self.every = None, 1
            else:
                now = max(worst, 0.0) / m
                self.rate = now if self.rate is None else 0.75 * self.rate + 0.25 * now
                fit = sum(1 for r in _AUTO_RATE if self.rate <= r)
                self.every = max(1, min(fit, 2 * self.every))
        self.last = s


def _worst(lr):
    """The largest log ratio as a float; inf when any is not finite."""
    w = float(np.max(lr))
    return w if math.isfinite(w) else math.inf


def _record(sums, lengths, d, s, last, warmup):
    if s > warmup:
        sums.append(d)
        lengths.append(s - max(last, warmup))


def _normalise_columns(Z, col_log):
    norms = column_norms(Z)
    if np.all(norms > 0):               # the common case, without the masks
        Q = Z / norms[..., None, :]
        if np.min(np.abs(Q)) < _TINY:   # (exact zeros too; then flush what is subnormal)
            flush_subnormals(Q)
        return Q, col_log + np.log(norms)
    zero = norms == 0
    Q = flush_subnormals(Z / np.where(zero, 1.0, norms)[..., None, :])
    return Q, col_log + np.where(zero, -np.inf, np.log(np.where(zero, 1.0, norms)))


_TINY = np.finfo(np.float64).tiny


_EPS = np.finfo(np.float64).eps


def _log_ratios(norms, log_diag):
    """log ||z_j|| / |r_jj| per column: 0 for a zero column, and for an exact rank drop
    (r_jj = 0 exactly: the exponent is -inf, and exactly so)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(norms) - log_diag
    return np.where((norms > 0) & np.isfinite(log_diag), lr, 0.0)


def _roundoff(log_ratio):
    """eps * ||z_j|| / |r_jj|, capped: the first-order rounding error of log|r_jj|."""
    return _EPS * np.exp(np.minimum(log_ratio, 700.0))


def _partial_spectrum(seq, T, Q, reorth_every, warmup):
    """k < n exponents, matrix-free: O(T n^2 k).  A batch with "auto": a schedule per member."""
    batch = seq.batch_shape
    if batch and isinstance(reorth_every, str):
        from ._members import member_schedule_spectrum

        sync = max(_AUTO_MAX, (T - warmup) // _BLOCKS)      # rows of `running`: 20 or more
        return member_schedule_spectrum(seq, T, Q, warmup, _AUTO_RATE, _AUTO_REJECT, sync)
    k = Q.shape[-1]
    sums, lengths, errs = [], [], []
    col_log = np.zeros(batch + (k,))
    plan = _Schedule(reorth_every, warmup, T)
    saved = Q                       # the frame after the last accepted QR (never written to)
    s = 1
    while s <= T:
        Z = np.asarray(seq.matmat(s, Q), dtype=np.float64)
        if plan.due(s):
            norms = column_norms(Z)
            Qn, R = np.linalg.qr(Z)
            log_diag = np.log(np.abs(np.diagonal(R, axis1=-2, axis2=-1)))
            lr = _log_ratios(norms, log_diag)
            worst = _worst(lr)
            if not plan.accept(s, worst):       # rewind: redo the stretch step by step
                Q, col_log = saved, np.zeros(batch + (k,))
                s = plan.last + 1
                continue
            Q = flush_subnormals(Qn)
            d = log_diag + col_log
            col_log = np.zeros(batch + (k,))
            if s > warmup:
                errs.append(_roundoff(lr))
            _record(sums, lengths, d, s, plan.last, warmup)
            plan.done(s, worst)
            saved = Q
        else:
            Q, col_log = _normalise_columns(Z, col_log)
        s += 1
    return sums, lengths, errs, None


def _full_spectrum(seq, T, n, batch, reorth_every, warmup):
    """All n exponents.

    The orthogonal factor is never formed: it is kept as LAPACK's compact-WY
    Householder representation (``dgeqrt``, recursive panels) and applied to
    the next step Jacobian from the right (``dgemqrt``), which costs about a
    third of numpy's ``qr`` (``dgeqrf`` + ``dorgqr``) plus a GEMM, with the
    same backward stability.  Between QRs the frame is propagated by plain
    products, without normalising its columns: scaling a column commutes with
    the products and the QR, so the columns are rescaled (in the log domain)
    only when their norms leave [1e-30, 1e30]; a step that would overflow or
    underflow is redone from the rescaled frame.
    """
    if n < _WY_MIN_N:
        Q = np.broadcast_to(np.eye(n), batch + (n, n)).copy()
        return _partial_spectrum(seq, T, Q, reorth_every, warmup)
    from scipy.linalg import lapack

    from ..jacobians.structured import ScaledJacobians

    nb = 32 if n >= 128 else 16
    members = list(np.ndindex(*batch)) if batch else [()]
    # Everything is kept in Fortran order, as LAPACK wants it: no transposing copies.
    if isinstance(seq, ScaledJacobians) and seq.shift is None and seq.col is None \
            and seq.row is not None:
        # one W for every member, or (an ensemble) a stack of B matrices, W[b] for member b
        stacked = seq.W.ndim == 3
        WFs = [np.asfortranarray(w) for w in seq.W] if stacked else [np.asfortranarray(seq.W)]
        rows = seq.row

        def step(s, b):                # diag(f'(a_s)) W, Fortran-ordered, O(n^2)
            return rows[b + (s - 1,)][:, None] * WFs[b[0] if stacked else 0]

        def times(s, b, X):            # diag(f'(a_s)) (W X) as (X^T W^T)^T: Fortran, no J formed
            Z = np.matmul(X.T, WFs[b[0] if stacked else 0].T).T
            Z *= rows[b + (s - 1,)][:, None]
            return Z

        # Per-step bounds on how much a column's norm can change, between
        # min|row_s| sigma_min(W) and max|row_s| ||W||_2: while they keep every
        # column norm within [1e-30, 1e30] the step needs no check.
        if n <= _BOUND_MAX_N:
            sv = np.linalg.svd(seq.W, compute_uv=False)           # (n,) or (B, n)
            a = np.abs(rows)
            with np.errstate(divide="ignore"):
                log_up = np.log(np.max(a, axis=-1)) + np.log(sv[..., :1])
                log_lo = np.log(np.min(a, axis=-1)) + np.log(sv[..., -1:])
            if not (np.all(np.isfinite(log_up)) and np.all(log_lo < np.inf)):
                log_up = log_lo = None
        else:
            log_up = log_lo = None
    else:
        log_up = log_lo = None

        def step(s, b):                # a copy: dgemqrt overwrites it, and matrix(s) may be a view
            return np.array(seq.matrix(s)[b], dtype=np.float64, order="F", copy=True)

        def times(s, b, X):            # (X^T J^T)^T: a GEMM whose result is Fortran
            return np.matmul(X.T, np.asarray(seq.matrix(s)[b], dtype=np.float64).T).T

    def checked(Z):                    # squared column norms if all within [1e-30, 1e30]
        sq = np.einsum("ij,ij->j", Z, Z)
        lo, hi = sq.min(), sq.max()
        return sq if lo >= 1e-60 and hi <= 1e60 else None   # (NaN: None)

    def rescale(Z, b):                 # columns to unit norm, their logs into col_log[b]
        norms = column_norms(Z)
        if np.all(norms > 0):
            Z /= norms
            col_log[b] = col_log[b] + np.log(norms)
            return Z
        Z, col_log[b] = _normalise_columns(Z, col_log[b])
        return Z

    sums, lengths, errs = [], [], []
    col_log = np.zeros(batch + (n,))
    plan = _Schedule(reorth_every, warmup, T)
    wy = None            # per member (V, Tf): Q_{s-1} = H_1 ... H_n in compact WY form
    X = None             # or per member the frame J_{s-1} ... J_{q+1} Q_q, columns rescaled
    saved = None         # wy after the last accepted QR (its arrays are never written to)
    span = {b: (0.0, 0.0) for b in members}   # log min / max column norm of the frame, bounds
    s = 1
    while s <= T:
        Zs, sqs = {}, {}
        for b in members:
            if log_up is not None:     # the bounds predict this step's column norms
                lo, hi = span[b]
                lo, hi = lo + log_lo[b + (s - 1,)], hi + log_up[b + (s - 1,)]
                safe = lo >= _LOG_NORM_LO and hi <= _LOG_NORM_HI
            else:
                safe = False
            if wy is not None:         # J_s Q_{s-1}, in place in a Fortran-ordered J_s
                V, Tf = wy[b]
                Z = lapack.dgemqrt(V, Tf, step(s, b), side="R", trans="N", overwrite_c=1)[0]
            elif X is not None:
                Z = times(s, b, X[b])
            else:
                Z = step(s, b)
            if safe:
                Zs[b], sqs[b], span[b] = Z, None, (lo, hi)
                continue
            sq = checked(Z)
            if sq is None and X is not None:   # redo the step from the rescaled frame
                with np.errstate(invalid="ignore"):
                    Z = times(s, b, rescale(X[b], b))
                sq = checked(Z)
            if sq is None:
                Z = rescale(Z, b)
                span[b] = (0.0, 0.0)
            else:
                span[b] = (0.5 * math.log(sq.min()), 0.5 * math.log(sq.max()))
            Zs[b], sqs[b] = Z, sq
        if plan.due(s):
            new_wy = {}
            d = np.empty(batch + (n,))
            lr = np.empty(batch + (n,))
            for b in members:
                Zb, sq = Zs[b], sqs[b]
                if sq is None:     # unchecked (within the bounds) or rescaled: the plain sum is safe
                    sq = np.einsum("ij,ij->j", Zb, Zb)
                log_norms = 0.5 * np.log(sq)
                V, Tf, info = lapack.dgeqrt(nb, Zb, overwrite_a=1)
                if info != 0:  # pragma: no cover - only for invalid arguments
                    raise RuntimeError(f"LAPACK dgeqrt failed (info={info})")
                d[b] = db = np.log(np.abs(np.diagonal(V)))
                lr[b] = lrb = log_norms - db
                if not math.isfinite(lrb.sum()):    # a zero column or an exact rank drop
                    lr[b] = _log_ratios(np.exp(log_norms), db)
                flush_subnormals(V)          # dgemqrt reads only the reflectors below the diagonal
                new_wy[b] = (V, Tf)
            worst = _worst(lr)
            if not plan.accept(s, worst):   # rewind: redo the stretch step by step
                wy, X, col_log = saved, None, np.zeros(batch + (n,))
                span = {b: (0.0, 0.0) for b in members}
                s = plan.last + 1
                continue
            wy = saved = new_wy
            span = {b: (0.0, 0.0) for b in members}
            d += col_log
            col_log = np.zeros(batch + (n,))
            X = None
            if s > warmup:
                errs.append(_roundoff(lr))
            _record(sums, lengths, d, s, plan.last, warmup)
            plan.done(s, worst)
        else:
            X, wy = Zs, None
        s += 1
    return sums, lengths, errs, None


def _block_stderr(sums, lengths, exponents):
    m = lengths.size
    nb = min(_BLOCKS, m)
    if nb < 2:
        return np.where(exponents == -np.inf, 0.0, np.inf) * np.ones_like(exponents)
    edges = np.linspace(0, m, nb + 1).round().astype(int)
    means = []
    for a, b in zip(edges[:-1], edges[1:]):
        means.append(sums[..., a:b, :].sum(axis=-2) / lengths[a:b].sum())
    means = np.stack(means, axis=-2)                  # (..., nb, k)
    with np.errstate(invalid="ignore"):
        se = np.std(means, axis=-2, ddof=1) / math.sqrt(nb)
    return np.where(exponents == -np.inf, 0.0, se)


# 0.1 names
LyapunovResult = LyapunovSpectrum
