"""The full Lyapunov spectrum of an LSTM through the graph of its slow subspace.

Used by :func:`spectra.lyapunov_spectrum` (``reorth_every="auto"``, one
unbatched float64 :class:`~spectra.LSTMJacobians`).  It returns the numbers
of Benettin's method with a QR at every step from the identity frame (the
mean of ``log|diag R|`` of the QR of ``P_T = J_T ... J_1``; the same in exact
arithmetic, within 1e-9 in the tests and benchmarks) in about half its time
at n = 256, because that QR separates into two n x n problems:

With ``J_t = [[diag(q) C_t + diag(p) W_o, diag(q f)], [C_t, diag(f)]]`` on
``(h, c)`` (see :class:`~spectra.LSTMJacobians`), the first n columns of the
frame span ``V_t = J_t ... J_1 span(e_h)``.  From t = 1 on, ``V_t`` is the
graph ``{(H_t c, c)}`` of an n x n matrix, and ``V_t = J_t V_{t-1}`` reads

    K_t = C_t H_{t-1} + diag(f_t)              (J_t on V, in c-coordinates)
    Y_t = W_o H_{t-1} K_t^{-1}
    H_t = diag(q_t) + diag(p_t) Y_t            (H_1 = diag(q_1) + diag(p_1) W_o C_1^{-1})

and J_t induces on the quotient ``R^2n / V``, represented by the h-axis
``{(x, 0)}``, the n x n map

    A_t = diag(p_t) (W_o - Y_t C_t)            (A_1 = -diag(p_1) W_o C_1^{-1} diag(f_1)).

The R factor of ``P_T`` is block triangular: its leading block is the R factor
of ``[H_T; I] K_T ... K_2 C_1`` and its trailing block that of
``S_T A_T ... A_1`` with ``S_T = L^{-1}``, ``L L^T = I + H_T H_T^T`` (the
quotient's coordinates in an orthonormal basis of ``V_T``'s complement; at
t = 0 that basis is the c-axis itself).  So the exponents are Benettin's
method on two n x n cocycles, ``K`` (the slow exponents: a QR every few steps,
on the schedule of ``"auto"``) and ``A`` (the fast ones, contracted by
``diag(p)``: a QR at every step, as in the reference), plus one n x n QR of
each boundary term, ``R_G Q`` (``R_G^T R_G = I + H^T H``) and ``L^{-1} Q``,
at the warm-up step and at T.  The diag(p) scaling of the fast rows is exact
(never a difference of O(1) terms), so the fast exponents are as accurate as
with the reference.  Per step: three n x n GEMMs, an LU of K and a solve,
the frame product with K and a compact-WY QR step of A, against a QR of a
2n x 2n frame (``dgeqrt``, about 1.5 products of the bound) and its
application to the next step.

The graph needs ``C_1`` and every ``K_t`` invertible and well conditioned
and ``H_t`` of moderate size.  Each step's rounding can move an exponent's
sum by about ``2u / rcond(K_t)`` times the conditioning of the fast step
(``max ||z_j|| / |r_jj|`` of A's QR); when that estimate, summed, exceeds the
budget of ``"auto"`` (2e-10 per step), or another check fails (``|H|`` above
``_H_MAX``, a zero gate factor, a singular LU), this returns None and the
caller uses the dense QR path.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["lstm_full_spectrum"]

_RCOND_MIN = 1e-12     # smallest reciprocal 1-norm condition number of C_1 and K_t accepted
_H_MAX = 1e6           # largest |entry| of H_t accepted (V_t far from the h-axis)
MIN_HIDDEN = 24        # below this the dense path is as fast
_TINY = np.finfo(np.float64).tiny
_2U = np.finfo(np.float64).eps
_ERR_PER_STEP = 2e-10  # the error budget of "auto": on average per step, for every exponent


def _log_abs_diag(V):
    with np.errstate(divide="ignore"):
        return np.log(np.abs(np.diagonal(V)))


class _Abort(Exception):
    """The graph representation is not safe here: use the dense path."""


def _lu(M):
    """LU of ``M^T`` (``M`` C-ordered: its transpose is Fortran-ordered, no copy), checked."""
    from scipy.linalg import lapack

    MT = M.T
    lu, piv, info = lapack.dgetrf(MT)
    if info != 0:
        raise _Abort
    anorm = float(np.max(np.sum(np.abs(MT), axis=0)))
    rcond, info = lapack.dgecon(lu, anorm, norm="1")
    if info != 0 or not rcond >= _RCOND_MIN:
        raise _Abort
    return lu, piv, rcond


def _step_error(rcond, lr):
    """What a step can add to an exponent's sum: 2u cond(K_t) max ||z_j|| / |r_jj| of A's QR."""
    worst = float(np.max(lr))
    return _2U / rcond * math.exp(min(worst, 700.0)) if math.isfinite(worst) else math.inf


def _check_graph(H):
    if not float(np.max(np.abs(H))) <= _H_MAX:      # (NaN fails too)
        raise _Abort


def lstm_full_spectrum(seq, T, warmup, tick=None):
    """``(sums, lengths, errs)`` for the 2n exponents of ``seq`` (see the module notes), or None.

    The rows are the re-orthonormalisations of the slow frame (as with
    ``reorth_every="auto"``).  The boundary terms are added at the first row
    after the warm-up and at the last, so the running estimates there (and the
    exponents) are those of a QR at every step; rows in between are
    in the graph coordinates (they differ by the change of the boundary terms,
    O(1) in total, not per step).  ``tick()`` is called once per step.
    """
    if seq.batch_shape or seq.dtype != np.float64 or T < 2 or seq.hidden_size < MIN_HIDDEN:
        return None
    rc, f, q, p = seq.factors
    if not (np.all(np.isfinite(rc)) and np.all(f > 0) and np.all(np.isfinite(f))
            and np.all(np.isfinite(q)) and np.all(np.isfinite(p)) and np.all(p != 0)):
        return None
    try:
        with np.errstate(divide="ignore", under="ignore", over="ignore", invalid="ignore"):
            return _run(seq, T, warmup, tick)
    except _Abort:
        return None


def _run(seq, T, warmup, tick):
    from scipy.linalg import lapack, solve_triangular

    from ..linalg.graded import column_norms, flush_subnormals
    from .lyapunov import _log_ratios, _record, _roundoff, _schedule

    n = seq.hidden_size
    rc, f, q, p = seq.factors
    Wo = np.ascontiguousarray(seq.weight_hh[3 * n:])
    WoF = np.asfortranarray(Wo)
    nb = 32 if n >= 128 else 16
    diag = np.arange(n) * (n + 1)
    CW = np.empty((2 * n, n))           # [C_t; W_o]: C_t H and W_o H as one GEMM
    CW[n:] = Wo

    def qr_step(Z):
        """Compact-WY QR of the Fortran-ordered Z in place: (V, Tf), log|r_jj|, log ratios."""
        sq = np.einsum("ij,ij->j", Z, Z)
        V, Tf, info = lapack.dgeqrt(nb, Z, overwrite_a=1)
        if info != 0:  # pragma: no cover - only for invalid arguments
            raise RuntimeError(f"LAPACK dgeqrt failed (info={info})")
        d = _log_abs_diag(V)
        lr = 0.5 * np.log(sq) - d
        if not math.isfinite(float(lr.sum())):
            lr = _log_ratios(np.sqrt(sq), d)
        if np.min(np.abs(V)) < _TINY:    # (dgemqrt reads the reflectors below the diagonal)
            flush_subnormals(V)
        return (V, Tf), d, lr

    def times_wy(wy, M, copy=True):
        """``M Q`` for Q in compact-WY form (M Fortran-ordered, overwritten unless ``copy``)."""
        C = np.array(M, order="F") if copy else M
        return lapack.dgemqrt(wy[0], wy[1], C, side="R", trans="N", overwrite_c=1)[0]

    def boundary(H, wy_top, wy_bot):
        """log|diag R| of the boundary terms R_G Q_top and L^{-1} Q_bot at a QR step."""
        eye = np.eye(n)
        RG = np.linalg.cholesky(eye + H.T @ H).T
        L = np.linalg.cholesky(eye + H @ H.T)
        Linv = solve_triangular(L, eye, lower=True)
        _, dt, _ = qr_step(times_wy(wy_top, RG, copy=True))
        _, db, _ = qr_step(times_wy(wy_bot, Linv, copy=True))
        return np.concatenate([dt, db])

    # -- step 1: V_1 = span(J_1 e_h) = graph of H_1; the top frame is C_1 in c-coordinates
    C1 = seq.c_block(1)
    lu, piv, rcond = _lu(C1)
    WoCi = lapack.dgetrs(lu, piv, np.array(Wo.T, order="F"))[0].T     # W_o C_1^{-1}
    H = p[0][:, None] * WoCi
    H.reshape(-1)[diag] += q[0]
    _check_graph(H)
    wy_bot, d_bot, lr_bot = qr_step(np.asfortranarray(-(p[0][:, None] * WoCi) * f[0]))
    err = _step_error(rcond, lr_bot)
    bottom = [(1, d_bot, lr_bot)]        # per step since the last row: (s, log|r|, log ratios)
    pending = [C1]                       # the top's step matrices since its last QR
    plan = _schedule("auto", warmup, T)
    wy_top = None                        # the top frame after its last QR (None: identity)
    X = None                             # or the frame propagated since (columns rescaled)
    col_log = np.zeros(n)
    sums, lengths, errs = [], [], []
    corr_w = np.zeros(2 * n)          # the boundary terms at the last step they were added
    exact = False                     # whether the first row after the warm-up has them
    if tick is not None:
        tick()

    def propagate(M, X, wy, col_log):
        if X is None:
            Z = np.array(M, order="F") if wy is None else times_wy(wy, M)
        else:
            Z = np.matmul(X.T, M.T).T        # M X, Fortran-ordered
        sq = np.einsum("ij,ij->j", Z, Z)
        if not (sq.min() >= 1e-60 and sq.max() <= 1e60):
            norms = column_norms(Z)
            if not np.all(norms > 0) or not np.all(np.isfinite(norms)):
                raise _Abort
            Z /= norms
            col_log = col_log + np.log(norms)
        return Z, col_log

    def row(s, d_top, lr_top, last):
        """Record the row of the QR of the top frame at step s (bottom steps up to s)."""
        nonlocal bottom
        mine = [b for b in bottom if b[0] <= s]
        bottom = [b for b in bottom if b[0] > s]
        if s > warmup:
            d_b = np.sum([b[1] for b in mine], axis=0)
            e_b = np.sum([_roundoff(b[2]) for b in mine], axis=0)
            errs.append(np.concatenate([_roundoff(lr_top), e_b]))
            _record(sums, lengths, np.concatenate([d_top, d_b]), s, last, warmup)

    s = 1
    while True:
        if plan.due(s):
            saved_wy, saved_last = wy_top, plan.last
            Z, cl = None, col_log
            for M in pending:
                Z, cl = propagate(M, Z, wy_top if Z is None else None, cl)
            wy_new, d, lr = qr_step(Z)
            worst = float(np.max(lr)) if np.all(np.isfinite(lr)) else math.inf
            if plan.accept(s, worst):
                wy_top = wy_new
                row(s, d + cl, lr, saved_last)
                plan.done(s, worst)
            else:                        # redo the interval with a QR after every step
                wy_top = saved_wy
                for i, M in enumerate(pending):
                    si = saved_last + 1 + i
                    wy_top, d, lr = qr_step(propagate(M, None, wy_top, np.zeros(n))[0])
                    worst = float(np.max(lr)) if np.all(np.isfinite(lr)) else math.inf
                    plan.accept(si, worst)
                    last = plan.last
                    row(si, d, lr, last)
                    plan.done(si, worst)
            pending, X, col_log = [], None, np.zeros(n)
            if s == T or s == warmup or (s > warmup and not exact):
                # the boundary terms: at the warm-up step, the first row after it and T
                corr = boundary(H, wy_top, wy_bot)
                if s > warmup:
                    sums[-1] = sums[-1] + (corr - corr_w)
                    exact = True
                corr_w = corr
        if s == T:
            break
        s += 1
        # -- step s: the graph H_s, the slow step K_s and the fast step A_s
        fs, qs, ps = f[s - 1], q[s - 1], p[s - 1]
        seq.c_block(s, out=CW[:n])
        G = CW @ H                               # [C_s H; W_o H]
        K = G[:n]
        K.reshape(-1)[diag] += fs
        lu, piv, rcond = _lu(K)
        Yt = lapack.dgetrs(lu, piv, G[n:].T, overwrite_b=1)[0]      # Y^T (K^T Y^T = (W_o H)^T)
        YC = np.matmul(CW[:n].T, Yt).T                              # Y C_s, Fortran-ordered
        A = WoF - YC
        A *= ps[:, None]
        wy_bot, d_bot, lr_bot = qr_step(times_wy(wy_bot, A, copy=False))
        bottom.append((s, d_bot, lr_bot))
        err += _step_error(rcond, lr_bot)
        if err > _ERR_PER_STEP * T:
            raise _Abort
        H = Yt.T * ps[:, None]
        H.reshape(-1)[diag] += qs
        _check_graph(H)
        pending.append(K)
        if tick is not None:
            tick()
    return sums, lengths, errs
