"""Spectral-norm profiles a chunk of lags at a time (for :func:`gradient_norm_profile`)."""

from __future__ import annotations

import numpy as np

from ..jacobians.kernels import HI as _HI, LO as _LO, step_operator
from ..linalg.graded import flush_subnormals
from ..linalg.krylov import eigenvalue_certified

_LN2 = np.log(2.0)
_BLOCK = 8          # warm-started directions kept from lag to lag (per-lag iteration)
_MAX_ITER = 30      # power iterations per lag before falling back to a dense SVD
_REL_TOL = 1e-11    # a-posteriori bound on the relative error of sigma_max^2 (1e-10 promised)


def _normalise(x, axes):
    """x = y * 2^e with max|y| in [0.5, 1) over ``axes``; zero stays zero (e = 0).

    Entries of y below the smallest normal number are flushed to zero.
    """
    m = np.max(np.abs(x), axis=axes, keepdims=True)
    e = np.frexp(m)[1]
    y = flush_subnormals(np.ldexp(x, -e))
    return y, np.squeeze(e, axis=axes)


# -- spectral norms of a profile, a chunk of lags at a time ---------------------------------

_CHUNK = 64         # lags whose products are stacked and normed together
_CHUNK_BLOCK = 5    # warm-started directions carried between chunks (measured best at n = 32-64)
_FIRST_CHUNK = 4    # chunks double from 2 lags up to _CHUNK
_CHUNK_LOG2 = 900   # the step bounds may let a chunk's products grow by at most 2^900
_PER_LAG_N = 128    # from this size, one lag at a time (_TopSingularValue): P stays in cache
_CHUNK_ITER = 200   # iterations per chunk before the dense fallback for what is left


def _chunked_spectral_profile(seq, t, gen):
    """Spectral-norm profile of one square sequence, the norms a chunk of lags at a time.

    The sweep is :func:`_chain_profile`'s, but the products ``P_lag`` of up to
    ``_CHUNK`` consecutive lags are stacked and their top singular values found
    together by :func:`_batched_top` (stacked numpy calls instead of a Python
    iteration per lag).  Within a chunk the products are not rescaled: its
    length is cut where the step bounds would allow a growth beyond
    2^_CHUNK_LOG2, and before the first product whose squared norm leaves
    [2^-200, 2^200]; the last product of every chunk is renormalised by an exact
    power of two (subnormal entries flushed), so nothing overflows and no
    product that is used underflows.

    Used for 16 < n < 128, where numpy's per-call overhead dominates the
    per-lag iteration; from n = 128 the chunk's passes through memory cost more
    than that overhead and :class:`_TopSingularValue` runs lag by lag.
    """
    out = np.full(t, -np.inf)
    apply, bound = step_operator(seq, "right")
    bound = np.asarray(bound, dtype=np.float64)
    n = seq.state_size(t)
    P, e = np.eye(n), 0
    X = _start_block(None, gen, n)
    s = t
    size = _FIRST_CHUNK
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        while s >= 1:
            size = min(2 * size, _CHUNK)                     # short lags: warm starts sooner
            lj = bound[max(s - size, 0):s][::-1]           # bounds of steps s, s-1, ...
            cum = np.cumsum(lj)
            m = lj.size if np.all(cum < _CHUNK_LOG2) else int(np.argmax(~(cum < _CHUNK_LOG2)))
            if m == 0:                                       # one huge (or zero) step
                if lj[0] == -np.inf:
                    break                                    # a zero step: every longer lag is zero
                shift = int(np.round(lj[0]))
                P, e, m = np.ldexp(P, -shift), e + shift, 1
            mats = []
            Q = P
            for j in range(m):
                Q = apply(s - j, Q)
                mats.append(Q)
            S = np.stack(mats)
            f2 = np.einsum("ijk,ijk->i", S, S)
            bad = ~(f2 < _HI) | (f2 < _LO)                   # (NaN too) out of the safe range
            if bad.any():
                m = int(np.argmax(bad))                      # keep the products before it
                if m == 0:
                    if not np.isfinite(f2[0]):
                        from .._core.errors import NumericalError

                        raise NumericalError(f"the product dh_{t}/dh_{s - 1} has non-finite entries")
                    if f2[0] == 0.0:
                        break                                # exactly zero: so is every longer lag
                    m = 1                                    # one step out of range: renormalised
                S, f2 = S[:m], f2[:m]
            scale = np.sqrt(f2)
            S /= scale[:, None, None]
            sig, U = _batched_top(S, X, X.T @ S, gen)
            lag0 = t - s
            out[lag0:lag0 + m] = np.log(sig) + np.log(scale) + e * _LN2
            P, de = _normalise(S[m - 1] * scale[m - 1], (-2, -1))
            e += int(de)
            X = _start_block(U, gen, n)
            s -= m
    return out


def _start_block(U, gen, n):
    """The next chunk's start block: the carried Ritz vectors and a fresh random probe."""
    b = min(8, n - 1) + 1
    p = gen.standard_normal((n, b if U is None else 1))
    return np.linalg.qr(p if U is None else np.concatenate([U, p], axis=1))[0]


def _batched_top(S, X, Yt, gen):
    """sigma_max of each of the stacked matrices S (m, n, n), each certified to 1e-10.

    A block Rayleigh-Ritz iteration on ``S S^T`` for all of them at once, from
    the orthonormal block X (the previous chunk's dominant left singular
    vectors, which converge as the lag grows, Oseledets 1968, and a random
    probe), ``Yt = X^T S`` given; a member stops when its Ritz value's
    a-posteriori bound ``||r||^2 / gap`` is below ``_REL_TOL`` of it
    (:func:`spectra.linalg.krylov.eigenvalue_certified`), the others go on from
    their own Ritz vectors; a dense SVD is used for any member left after
    ``_CHUNK_ITER`` iterations.  Returns (sigma, the last member's Ritz vectors
    but the weakest).
    """
    m = S.shape[0]
    sig = np.zeros(m)
    todo = np.arange(m)
    last = None
    for _ in range(_CHUNK_ITER):
        Sa = S if todo.size == m else S[todo]
        w, V = np.linalg.eigh(Yt @ np.swapaxes(Yt, -1, -2))  # Ritz values of S S^T, ascending
        V = V[..., ::-1]
        th1 = w[:, -1]
        Zf = Sa @ (np.swapaxes(Yt, -1, -2) @ V)              # S S^T X V, strongest first
        XV = X @ V
        r = Zf[:, :, 0] - th1[:, None] * XV[:, :, 0]
        rn = np.sqrt(np.einsum("ij,ij->i", r, r))
        ok = eigenvalue_certified(th1, rn, th1 - w[:, -2], _REL_TOL) | (th1 == 0)
        sig[todo[ok]] = np.sqrt(np.maximum(th1[ok], 0.0))
        if todo[-1] == m - 1 and ok[-1]:
            last = XV[-1]
        todo = todo[~ok]
        if not todo.size:
            break
        X = np.linalg.qr(Zf[~ok])[0]
        Yt = np.swapaxes(X, -1, -2) @ (S[todo] if todo.size < m else S)
    for i in todo:                                           # not certified: dense SVD
        u, sv, _ = np.linalg.svd(S[i])
        sig[i] = sv[0]
        if i == m - 1:
            last = u[:, :X.shape[-1]]
    return sig, last[:, :-1]


# -- profiles from a sequence's own chunks of left products (a TorchCell's torch pass) -------

def chunk_profile(chunks, t, top, advance=None):
    """Log norms of every lag from ``chunks``, a generator of ``(s0, P, f2, e)`` (the
    ``left_products`` hook of :mod:`spectra.cells.autodiff`): ``P[:, i, :] 2^e =
    dh_t/dh_{s0+i}``, ``f2[i]`` its squared Frobenius norm.

    ``top`` is None (Frobenius norms: ``f2`` alone, P not needed) or a callable
    giving sigma_max of a matrix (certified as in :func:`_chain_profile`), called
    lag after lag (its warm starts follow the lags).  Lags after an exactly zero
    product stay ``-inf``; ``advance(m)`` ticks a bar.
    """
    out = np.full(t, -np.inf)
    with np.errstate(divide="ignore"):
        for s0, P, f2, e in chunks:
            m = f2.shape[0]
            if top is None:
                vals = 0.5 * np.log(f2) + e * _LN2
            else:
                vals = np.zeros(m)
                for i in range(m - 1, -1, -1):          # increasing lags
                    vals[i] = top(P[:, i, :]) if f2[i] > 0 else 0.0
                vals = np.log(vals) + e * _LN2
            # step s0 + i is lag t - s0 - i: index t - s0 - i - 1
            out[t - s0 - m:t - s0] = vals[::-1]
            if advance is not None:
                advance(m)
    return out


# -- the optional single-precision sweep (issue 19 item 7) ----------------------------------

def chain_profile32(seq, t, top):
    """:func:`_chain_profile` with float32 GEMMs; norms and logs in float64.

    ``top`` is None (Frobenius norms) or a callable giving sigma_max of a float64
    matrix.  ``P_lag`` is carried as ``P 2^e`` (P float32) with its squared
    Frobenius norm kept in [2^-60, 2^60] at every lag, and pre-scaled before a
    step whose bound would take it beyond 2^+-90, so float32 never overflows.
    """
    from ..jacobians.kernels import HI32, LO32, SAFE_EXP32, step_operator32

    out = np.full(t, -np.inf)
    apply, bound = step_operator32(seq, "right")
    P, e, lp = None, 0, 0.0
    with np.errstate(under="ignore", divide="ignore"):
        for s in range(t, 0, -1):
            if P is None:
                P = np.array(seq.matrix(s), dtype=np.float64)
                if not np.all(np.isfinite(P)):
                    from .._core.errors import NumericalError

                    raise NumericalError(f"the step Jacobian J_{s} has non-finite entries")
                P, e = _normalise(P, (-2, -1))
                P, e = P.astype(np.float32), int(e)
            else:
                lj = bound[s - 1]
                if lj == -np.inf:
                    break                      # a zero step: every longer lag is zero
                if not -SAFE_EXP32 < lp + lj < SAFE_EXP32:
                    shift = int(np.round(lp + lj))
                    P = np.ldexp(P, -shift).astype(np.float32)
                    e += shift
                P = apply(s, P)
            P64 = P.astype(np.float64)
            flat = P64.reshape(-1)
            f2 = float(np.dot(flat, flat))
            if not LO32 < f2 < HI32:
                if not np.all(np.isfinite(P64)):
                    from .._core.errors import NumericalError

                    raise NumericalError(f"the product dh_{t}/dh_{s - 1} has non-finite entries")
                if f2 == 0.0:
                    break                      # an exactly zero product stays zero
                P64, de = _normalise(P64, (-2, -1))
                P, e = P64.astype(np.float32), e + int(de)
                flat = P64.reshape(-1)
                f2 = float(np.dot(flat, flat))
            lp = 0.5 * np.log2(f2)
            if top is None:
                out[t - s] = 0.5 * np.log(f2) + e * _LN2
            else:
                sigma = top(P64)
                out[t - s] = np.log(sigma) + e * _LN2 if sigma > 0 else -np.inf
    return out
