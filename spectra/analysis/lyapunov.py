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
from ..jacobians.kernels import check_dtype
from ..jacobians.progress import counted
from ._schedule import EPS64, MAX_EVERY, QRSchedule, lyapunov_budget

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
        only known to about this size, whatever the method.  With
        ``dtype="float32"`` eps is float32's (1.2e-7).
    dtype : str
        The precision the frame was propagated in: ``"float64"`` or ``"float32"``.
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
    dtype: str = "float64"

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
                      progress=None, dtype="float64") -> LyapunovSpectrum:
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
    dtype : {"float64", "float32"}
        ``"float32"`` (never the default; a single sequence) propagates the
        frame by float32 GEMMs with float32 step matrices and does its QRs in
        float32 (``sgeqrt``/``sgemqrt``: a float64 QR of the same float32 frame
        measured no more accurate), while the logs of ``|r_jj|`` are taken and
        summed in float64.  Float32 rounding (eps32 = 1.2e-7) of every step is
        amplified by the frame's condition number, so ``"auto"`` budgets for
        it: ``eps32 cond(Z) / m`` below 1.2e-4 per step (float64: 2e-10), which
        on networks whose exponents spread over more than about 4 per step
        means a QR at every step.  Measured against float64 QR at every step
        on a tanh network (gain 1.2, n inputs, T = 1000): n = 256, top
        exponent within 6e-8, median 6e-7, sum 1.2e-5, largest 1.8e-3 (two
        exponents closer than their standard errors, whose finite-time split
        a 1e-7 relative perturbation of the steps moves by 1.5e-4 even in
        float64); n = 512: 5e-8, 9e-7, 8e-5 and 1.7e-3.  ``roundoff``
        reports eps32-based estimates.  Speed (``benchmarks/bench_float32.py``,
        a heavily loaded machine): n = 256, 1.3x the float64 ``"auto"`` (which
        needs 602 QRs to float32's 1000) and 1.6x at the same schedule
        (``reorth_every=1``); n = 512, where float64's ``"auto"`` also does a
        QR at almost every step, 1.9x in alternating runs (one benchmark run
        measured 0.8x).  Steps are scaled by exact powers of two before the
        cast, so float32's range never clips them.

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
    half the time of the 2n x 2n QRs at n = 256.  The exponents and the first
    and last rows of ``running`` are those of a QR at every step; rows in
    between are in the graph's coordinates and differ from them by O(1)/t
    (boundary terms), and ``stderr`` comes from fewer rows.  An integer
    ``reorth_every`` keeps the 2n x 2n frame.

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
    single = check_dtype(dtype) == "float32"
    if single and batch:
        raise ValueError("`dtype='float32'` needs a single square Jacobian sequence (got batch "
                         f"shape {batch}); use dtype='float64' or one member at a time")
    from .._core.parallel import batch_workers, map_members
    from .._core.threads import blas_threads

    check_progress(progress)
    out = None
    if k == n and auto and not single and isinstance(seq, LSTMJacobians):
        # an LSTM: the same numbers as a QR at every step, from two n x n cocycles
        with blas_threads("factor", n), progress_bar(T, "lyapunov", progress) as bar:
            out = lstm_full_spectrum(seq, T, warmup, bar.advance)
    if out is not None:
        (sums, lengths, errs), counts = out, None
    else:
        if k < n:
            from ..cells.init import orthogonal

            frame = orthogonal(n, k, rng=as_generator(rng))
        # the full spectrum at n >= 48 runs scipy's dgeqrt/dgemqrt, which hold the GIL
        workers = batch_workers(seq, n, "wy" if k == n and n >= _WY_MIN_N else "lyapunov")

        def chunk(i, a, b, share):          # members a..b-1 (all of them when serial)
            sub = seq.members(a, b) if workers > 1 else seq
            with blas_threads("factor", n), \
                    np.errstate(divide="ignore", under="ignore", over="ignore"), \
                    counted(sub, T, "lyapunov", progress if i == 0 else False) as sub:
                if k == n:
                    return _full_spectrum(sub, T, n, sub.batch_shape, reorth_every, warmup, single,
                                          share)
                Q = np.broadcast_to(frame, sub.batch_shape + (n, k)).copy()
                f32 = None
                if single:
                    from ._lyapunov32 import Frames32

                    f32, Q = Frames32(sub), Q.astype(np.float32)
                return _partial_spectrum(sub, T, Q, reorth_every, warmup, f32, share)

        # in parallel the chunks follow one re-orthonormalisation schedule (share: the largest
        # "worst" of all members, as the serial path sees it), so the results are the same
        parts = map_members(chunk, batch[0] if workers > 1 else 1, workers)
        sums, lengths, errs, counts = parts[0]
        if len(parts) > 1:
            sums = [np.concatenate(d) for d in zip(*(p[0] for p in parts))]
            errs = [np.concatenate(d) for d in zip(*(p[2] for p in parts))]
            counts = None if counts is None else np.concatenate([p[3] for p in parts])
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
                          int(lengths.size) if counts is None else counts, roundoff,
                          "float32" if single else "float64")


# Re-orthonormalisation with reorth_every="auto": the verified schedule of
# ._schedule (QRSchedule with lyapunov_budget(eps): the QR's rounding error,
# about eps cond(Z) per QR, is kept near 2e-10 per step in float64; an interval
# that ends too ill-conditioned is rewound and redone with a QR at every step).
_LOG_NORM_LO, _LOG_NORM_HI = math.log(1e-30), math.log(1e30)   # frame column norms kept here
_BOUND_MAX_N = 1024     # up to here a per-step norm bound (one SVD of W) saves the checks
_WY_MIN_N = 48          # below this, numpy's batched qr beats per-call LAPACK wrappers


def _schedule(reorth_every, warmup, T, eps=EPS64):
    budget = lyapunov_budget(eps) if isinstance(reorth_every, str) else None
    return QRSchedule(budget, every=reorth_every, warmup=warmup, T=T)


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


def _roundoff(log_ratio, eps=_EPS):
    """eps * ||z_j|| / |r_jj|, capped: the first-order rounding error of log|r_jj|."""
    return eps * np.exp(np.minimum(log_ratio, 700.0))


def _log_abs(x):
    """log|x| in float64 (x may be float32)."""
    return np.log(np.abs(x).astype(np.float64, copy=False))


def _partial_spectrum(seq, T, Q, reorth_every, warmup, f32=None, share=None):
    """k < n exponents, matrix-free: O(T n^2 k).  A batch with "auto": a schedule per member.
    ``f32``: the float32 arithmetic (:class:`._lyapunov32.Frames32`, a single sequence) or None;
    ``share``: the barrier through which split chunks agree on one schedule, or None."""
    batch = seq.batch_shape
    if batch and isinstance(reorth_every, str):
        from ._members import member_schedule_spectrum

        budget = lyapunov_budget(_EPS)                        # the float64 budget, per member
        sync = max(MAX_EVERY, (T - warmup) // _BLOCKS)      # rows of `running`: 20 or more
        return member_schedule_spectrum(seq, T, Q, warmup, budget.rates, budget.reject, sync)
    k = Q.shape[-1]
    eps = _EPS if f32 is None else f32.eps
    sums, lengths, errs = [], [], []
    col_log = np.zeros(batch + (k,))
    plan = _schedule(reorth_every, warmup, T, eps)
    saved = Q                       # the frame after the last accepted QR (never written to)
    s = 1
    while s <= T:
        if f32 is None:
            Z = np.asarray(seq.matmat(s, Q), dtype=np.float64)
        else:
            Z = f32.times(s, (), Q)
            col_log = col_log + f32.shift(s)
        if plan.due(s):
            norms = column_norms(Z)
            Qn, R = np.linalg.qr(Z)
            log_diag = _log_abs(np.diagonal(R, axis1=-2, axis2=-1))
            lr = _log_ratios(norms, log_diag)
            worst = _worst(lr) if share is None or not plan.auto else share(_worst(lr))
            if not plan.accept(s, worst):       # rewind: redo the stretch step by step
                Q, col_log = saved, np.zeros(batch + (k,))
                s = plan.last + 1
                continue
            Q = flush_subnormals(Qn) if f32 is None else f32.flush(Qn)
            d = log_diag + col_log
            col_log = np.zeros(batch + (k,))
            if s > warmup:
                errs.append(_roundoff(lr, eps))
            _record(sums, lengths, d, s, plan.last, warmup)
            plan.done(s, worst)
            saved = Q
        elif f32 is None:
            Q, col_log = _normalise_columns(Z, col_log)
        else:
            Q, col_log = f32.normalise(Z, col_log)
        s += 1
    return sums, lengths, errs, None


def _full_spectrum(seq, T, n, batch, reorth_every, warmup, single=False, share=None):
    """All n exponents (``single``: in float32, a single sequence).

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
    f32 = None
    if single:
        from ._lyapunov32 import Frames32

        f32 = Frames32(seq)
    if n < _WY_MIN_N:
        Q = np.broadcast_to(np.eye(n, dtype=np.float32 if single else np.float64),
                            batch + (n, n)).copy()
        return _partial_spectrum(seq, T, Q, reorth_every, warmup, f32, share)
    from scipy.linalg import lapack

    from ..jacobians.structured import ScaledJacobians

    nb = 32 if n >= 128 else 16
    members = list(np.ndindex(*batch)) if batch else [()]
    geqrt, gemqrt, eps = lapack.dgeqrt, lapack.dgemqrt, _EPS
    sq_lo, sq_hi, log_norm_lo, log_norm_hi = 1e-60, 1e60, _LOG_NORM_LO, _LOG_NORM_HI
    # Everything is kept in Fortran order, as LAPACK wants it: no transposing copies.
    if f32 is not None:                # float32 steps and frame, float64 logs (see _lyapunov32)
        step, times, log_up, log_lo = f32.step, f32.times, f32.log_up, f32.log_lo
        geqrt, gemqrt, eps = lapack.sgeqrt, lapack.sgemqrt, f32.eps
        nb = f32.block(n)
        (sq_lo, sq_hi), (log_norm_lo, log_norm_hi) = f32.sq_range, f32.log_norm_range
    elif isinstance(seq, ScaledJacobians) and seq.shift is None and seq.col is None \
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
        return sq if lo >= sq_lo and hi <= sq_hi else None   # (NaN: None)

    def rescale(Z, b):                 # columns to unit norm, their logs into col_log[b]
        if f32 is not None:            # (float32: by powers of two, exactly)
            Z, logs = f32.rescale(Z)
            col_log[b] = col_log[b] + logs
            return Z
        norms = column_norms(Z)
        if np.all(norms > 0):
            Z /= norms
            col_log[b] = col_log[b] + np.log(norms)
            return Z
        Z, col_log[b] = _normalise_columns(Z, col_log[b])
        return Z

    sums, lengths, errs = [], [], []
    col_log = np.zeros(batch + (n,))
    plan = _schedule(reorth_every, warmup, T, eps)
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
                safe = lo >= log_norm_lo and hi <= log_norm_hi
            else:
                safe = False
            if wy is not None:         # J_s Q_{s-1}, in place in a Fortran-ordered J_s
                V, Tf = wy[b]
                Z = gemqrt(V, Tf, step(s, b), side="R", trans="N", overwrite_c=1)[0]
            elif X is not None:
                Z = times(s, b, X[b])
            else:
                Z = step(s, b)
            if f32 is not None:        # the power of two taken out of J_s
                col_log[b] = col_log[b] + f32.shift(s)
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
                log_norms = 0.5 * np.log(sq.astype(np.float64, copy=False))
                V, Tf, info = geqrt(nb, Zb, overwrite_a=1)
                if info != 0:  # pragma: no cover - only for invalid arguments
                    raise RuntimeError(f"LAPACK dgeqrt failed (info={info})")
                d[b] = db = _log_abs(np.diagonal(V))
                with np.errstate(invalid="ignore"):     # (-inf - -inf: a zero column)
                    lr[b] = lrb = log_norms - db
                if not math.isfinite(lrb.sum()):    # a zero column or an exact rank drop
                    lr[b] = _log_ratios(np.exp(log_norms), db)
                # dgemqrt reads only the reflectors below the diagonal
                flush_subnormals(V) if f32 is None else f32.flush(V)
                new_wy[b] = (V, Tf)
            worst = _worst(lr) if share is None or not plan.auto else share(_worst(lr))
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
                errs.append(_roundoff(lr, eps))
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
