"""Gradient-norm profiles of a batch (an ensemble of networks) a chunk of lags at a time.

The single-network sweep of :func:`spectra.gradient_norm_profile` keeps
``P_lag = J_t ... J_{t-lag+1}`` and multiplies one step in on the right per
lag; for a batch of B members whose sequence gives per-member step bounds
(``step_operator`` with bounds of shape ``(B, T)``: the stacked Elman steps of
:func:`spectra.ensemble`), this module does the same for all members with one
3-D batched product per lag, and finds the norms of a chunk of lags of every
member together: the Frobenius norms by one ``einsum``, the spectral norms by
a block Rayleigh-Ritz iteration on ``P P^T`` over all the chunk's products at
once (B x chunk stacked matrices), warm-started from each member's previous
chunk and certified like the single-network path (the a-posteriori bound
``||r||^2 / gap`` of the top Ritz value below 1e-11 of it; a dense SVD for any
product left uncertified).
"""

from __future__ import annotations

import numpy as np

from ..jacobians.kernels import HI as _HI, LO as _LO, normalise, prescale_members
from ..linalg.krylov import eigenvalue_certified

__all__ = ["batched_profile"]

_LN2 = np.log(2.0)
_REL_TOL = 1e-11     # the single-network certificate (1e-10 promised on sigma_max)
_BLOCK = 3           # warm-started directions per member (plus one random probe): 3 measured best
_CHUNK_BYTES = 1 << 23   # the chunk's stacked products (B x lags x n x n floats) stay below this
_MAX_CHUNK = 8       # lags per chunk (8 measured best for 64 members at n = 32, against 4 and 16)
_CHUNK_LOG2 = 900    # the step bounds may let a chunk's products grow by at most 2^900
_ITER = 200          # iterations per chunk before the dense fallback


def batched_profile(seq, t, ord, gen, op):
    """``log ||dh_t/dh_{t-lag}||`` for lag 1..t of every member: an array ``(B, t)``.

    ``op`` is ``seq.step_operator("right")`` (bounds of shape ``(B, T)``); ``ord``
    is 2 or ``"fro"``.
    """
    apply, bound = op
    B = bound.shape[0]
    n = seq.state_size(t)
    out = np.full((B, t), -np.inf)
    if ord == "fro":
        return _fro_profile(apply, bound, n, t, out)
    P = np.broadcast_to(np.eye(n), (B, n, n)).copy()
    e = np.zeros(B, dtype=np.int64)
    b = min(_BLOCK, n - 1)
    X = None if ord == "fro" else _start(None, gen, B, n, b)
    cap = max(1, min(_MAX_CHUNK, _CHUNK_BYTES // (8 * B * n * n)))
    s, size = t, 1
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        while s >= 1:
            size = min(2 * size, cap)                          # short lags: warm starts sooner
            lj = bound[:, max(s - size, 0):s][:, ::-1]          # (B, m): steps s, s-1, ...
            cum = np.cumsum(np.where(np.isfinite(lj), lj, 0.0), axis=1).max(axis=0)
            m = lj.shape[1] if np.all(cum < _CHUNK_LOG2) else int(np.argmax(~(cum < _CHUNK_LOG2)))
            if m == 0:                                          # one huge step: pre-scale
                shift = np.round(np.clip(np.where(np.isfinite(lj[:, 0]), lj[:, 0], 0.0),
                                         -2000, 2000)).astype(np.int64)
                P, e, m = np.ldexp(P, -shift[:, None, None]), e + shift, 1
            S = np.empty((B, m) + P.shape[-2:])
            Q = P
            for j in range(m):
                Q = apply(s - j, Q)
                S[:, j] = Q
            f2 = np.einsum("bmij,bmij->bm", S, S)
            bad = ~(f2 < _HI) | ((f2 < _LO) & (f2 != 0.0))       # (NaN too) out of the safe range
            if bad.any():
                first = int(np.argmax(bad.any(axis=0)))          # keep the lags before it
                if first == 0:
                    if not np.all(np.isfinite(f2[:, 0])):
                        from .._core.errors import NumericalError

                        raise NumericalError(f"the product dh_{t}/dh_{s - 1} has non-finite "
                                             "entries")
                    first = 1                                    # one lag, renormalised below
                m = first
                S, f2 = S[:, :m], f2[:, :m]
            scale = np.sqrt(f2)
            live = scale > 0
            S /= np.where(live, scale, 1.0)[:, :, None, None]
            lag0 = t - s
            if ord == "fro":
                sig = live.astype(np.float64)
            else:
                sig, U = _top(S, X, gen)
                X = _start(U, gen, B, n, b)
            with np.errstate(divide="ignore"):
                out[:, lag0:lag0 + m] = np.where(live & (sig > 0), np.log(sig) + np.log(
                    np.where(live, scale, 1.0)) + e[:, None] * _LN2, -np.inf)
            P, de = normalise(S[:, m - 1] * scale[:, m - 1, None, None])
            e += de
            s -= m
    return out


def _fro_profile(apply, bound, n, t, out):
    """Frobenius norms lag by lag: one batched GEMM and one ``einsum`` per lag, the members
    rescaled by exact powers of two only when out of [2^-200, 2^200] (or pre-scaled before a
    step whose bound exceeds 2^+-64)."""
    B = bound.shape[0]
    P = np.broadcast_to(np.eye(n), (B, n, n)).copy()
    e = np.zeros(B, dtype=np.int64)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        for s in range(t, 0, -1):
            lj = bound[:, s - 1]
            if not np.all((lj > -64.0) & (lj < 64.0)):
                P = prescale_members(P, e, lj)
            P = apply(s, P)
            f2 = np.einsum("bij,bij->b", P, P)
            far = ~((f2 > _LO) & (f2 < _HI)) & (f2 != 0.0)
            if far.any():
                Pm, de = normalise(P[far])            # also rejects non-finite entries
                P[far] = Pm
                e[far] += de
                f2[far] = np.einsum("bij,bij->b", Pm, Pm)
            live = f2 > 0
            out[:, t - s] = np.where(live, 0.5 * np.log(np.where(live, f2, 1.0)) + e * _LN2,
                                     -np.inf)
    return out


def _start(U, gen, B, n, b):
    """Each member's next start block: its carried Ritz vectors and a fresh random probe."""
    if U is None:
        return np.linalg.qr(gen.standard_normal((B, n, b + 1)))[0]
    return np.linalg.qr(np.concatenate([U, gen.standard_normal((B, n, 1))], axis=-1))[0]


def _top(S, X, gen):
    """sigma_max of every stacked product ``S (B, m, n, n)``, each certified to 1e-10.

    A block Rayleigh-Ritz iteration with a Ritz-gap Kato-Temple certificate (the
    single-network chunks' first design; they now certify in stages with a
    trace-bounded gap, :mod:`spectra.analysis._profile_chunks`) over all B x m products at once,
    started from each member's block X (B, n, b + 1).  Returns the (B, m)
    values and the (B, n, b) dominant Ritz vectors of each member's last lag.
    """
    B, m, n, _ = S.shape
    M = B * m
    F = S.reshape(M, n, n)
    Xs = np.broadcast_to(X[:, None], (B, m) + X.shape[1:]).reshape(M, n, -1)
    Yt = np.swapaxes(Xs, -1, -2) @ F                       # X^T S
    sig = np.zeros(M)
    todo = np.arange(M)
    U = np.empty((B, n, X.shape[-1]))
    for _ in range(_ITER):
        Fa = F if todo.size == M else F[todo]
        w, V = np.linalg.eigh(Yt @ np.swapaxes(Yt, -1, -2))  # Ritz values of S S^T, ascending
        V = V[..., ::-1]
        th1 = w[:, -1]
        Zf = Fa @ (np.swapaxes(Yt, -1, -2) @ V)             # S S^T X V, strongest first
        XV = Xs @ V
        r = Zf[:, :, 0] - th1[:, None] * XV[:, :, 0]
        rn = np.sqrt(np.einsum("ij,ij->i", r, r))
        ok = eigenvalue_certified(th1, rn, th1 - w[:, -2], _REL_TOL) | (th1 == 0)
        sig[todo[ok]] = np.sqrt(np.maximum(th1[ok], 0.0))
        hit = ok & (todo % m == m - 1)        # a member's last lag: its Ritz vectors go on
        if hit.any():
            U[todo[hit] // m] = XV[hit]
        todo = todo[~ok]
        if not todo.size:
            break
        Xs = np.linalg.qr(Zf[~ok])[0]
        Yt = np.swapaxes(Xs, -1, -2) @ F[todo]
    for i in todo:                                         # not certified: dense SVD
        u, sv, _ = np.linalg.svd(F[i])
        sig[i] = sv[0]
        if i % m == m - 1:
            U[i // m] = u[:, :X.shape[-1]]
    return sig.reshape(B, m), U[..., :-1]
