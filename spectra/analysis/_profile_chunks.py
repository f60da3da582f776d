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

_CHUNK = 64         # at most this many lags' products are stacked and normed together,
_CHUNK_BYTES = 2 ** 20   # and at most this many bytes of them (1 MB: 32 lags at n = 64)
_CHUNK_BLOCK = 6    # warm-started directions carried from chunk to chunk
_FIRST_CHUNK = 4    # chunks double from 8 lags up to _CHUNK
_CHUNK_LOG2 = 900   # the step bounds may let a chunk's products grow by at most 2^900
_PER_LAG_N = 128    # from this size, one lag at a time (_TopSingularValue): P stays in cache
_SQUARINGS = 4      # Rayleigh-Ritz in the block: (X^T S S^T X)^16 picks each member's direction
_POWER_STEPS = 12   # Rayleigh-Ritz steps for a member the block did not certify, then LAPACK
_RETRY_SINGLE = 3   # chunks between trials of stage 1 while it fails (see _certified_top)
_DENSE_FEW = 8      # so many 32 x 32 dense eigenproblems cost about one Rayleigh-Ritz step
_GAP_MARGIN = 1e-12  # relative rounding allowance on the traces behind the gap bound


def _chunked_spectral_profile(seq, t, gen):
    """Spectral-norm profile of one square sequence, the norms a chunk of lags at a time.

    The products ``P_lag`` of up to ``_CHUNK`` consecutive lags are written in
    place into one preallocated stack (one ``matmul(..., out=)`` per lag, the
    chunk's step matrices made by one call, :func:`_step_stacks`), and their top
    singular values certified together by :func:`_certified_top` with a fixed
    handful of stacked calls.  Within a chunk the products are not rescaled:
    its length is cut where the step bounds would allow a growth beyond
    2^_CHUNK_LOG2, and before the first product whose squared norm leaves
    [2^-200, 2^200]; the last product of every chunk is renormalised by an
    exact power of two (subnormal entries flushed), so nothing overflows and no
    product that is used underflows.  The first chunk (8 lags) has no warm
    start and goes to LAPACK; chunks double up to ``_CHUNK`` lags.

    Used for 16 < n < 128, where numpy's per-call overhead dominates the
    per-lag iteration; from n = 128 the chunk's passes through memory cost more
    than that overhead and :class:`_TopSingularValue` runs lag by lag.
    """
    out = np.full(t, -np.inf)
    _, bound = step_operator(seq, "right")
    bound = np.asarray(bound, dtype=np.float64)
    n = seq.state_size(t)
    cap = int(min(_CHUNK, max(8, _CHUNK_BYTES // (8 * n * n))))
    stack = np.empty((cap, n, n))
    fill = _step_stacks(seq, n, cap)
    views = list(stack)
    P, e = np.eye(n), 0
    X = None                                            # no warm start yet: LAPACK
    state = {"single": False, "since": 0}
    s = t
    size = _FIRST_CHUNK
    matmul = np.matmul
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        while s >= 1:
            size = min(2 * size, cap)                     # short lags: warm starts sooner
            lj = bound[max(s - size, 0):s][::-1]           # bounds of steps s, s-1, ...
            cum = np.cumsum(lj)
            m = lj.size if np.all(cum < _CHUNK_LOG2) else int(np.argmax(~(cum < _CHUNK_LOG2)))
            if m == 0:                                       # one huge (or zero) step
                if lj[0] == -np.inf:
                    break                                    # a zero step: every longer lag is zero
                shift = int(np.round(lj[0]))
                P, e, m = np.ldexp(P, -shift), e + shift, 1
            steps = list(fill(s - m + 1, s)[::-1])
            Q = P
            for j in range(m):                               # P_lag = P_{lag-1} J_s, in place
                Q = matmul(Q, steps[j], out=views[j])
            S = stack[:m]
            f2 = np.einsum("ijk,ijk->i", S, S)
            bad = ~(f2 < _HI) | (f2 < _LO)                   # (NaN too) out of the safe range
            k = 0
            if bad.any():
                m = int(np.argmax(bad))                      # keep the products before it
                if m == 0:
                    big = float(np.max(np.abs(stack[0])))
                    if not np.isfinite(big):
                        from .._core.errors import NumericalError

                        raise NumericalError(f"the product dh_{t}/dh_{s - 1} has non-finite entries")
                    if big == 0.0:
                        break                                # exactly zero: so is every longer lag
                    m = 1                                    # one step out of range: rescaled
                    k = int(np.frexp(big)[1])
                    flush_subnormals(np.ldexp(stack[0], -k, out=stack[0]))
                    f2[0] = np.einsum("jk,jk->", stack[0], stack[0])
                S, f2 = stack[:m], f2[:m]
            sig, u = _certified_top(S, f2, X, state)
            lag0 = t - s
            out[lag0:lag0 + m] = np.log(sig) + (e + k) * _LN2
            P, de = _normalise(S[m - 1], (-2, -1))
            e += k + int(de)
            X = _BlockStart(u, P, gen, X)                  # P: a copy of the last product
            s -= m
    return out


def _step_stacks(seq, n, cap):
    """``fill(a, b)``: the step Jacobians J_a .. J_b as a dense (b - a + 1, n, n) stack.

    A scaled sequence ``diag(row) W`` or ``W diag(col)`` (Elman-type) writes into
    one preallocated buffer (a fresh 2 MB array per chunk costs more in page
    faults than the scaling itself); a dense one is read in place; anything else
    is copied into the buffer one ``seq.matrix(s)`` at a time.
    """
    from ..jacobians.structured import DenseJacobians, ScaledJacobians

    if (type(seq) is ScaledJacobians and seq.shift is None and seq.W.ndim == 2
            and not seq.batch_shape and (seq.row is None) != (seq.col is None)):
        buf = np.empty((cap, n, n))
        W = seq.W
        if seq.row is not None:
            row = seq.row

            def fill(a, b):
                return np.multiply(row[a - 1:b, :, None], W, out=buf[:b - a + 1])
        else:
            col = seq.col

            def fill(a, b):
                return np.multiply(W, col[a - 1:b, None, :], out=buf[:b - a + 1])
        return fill

    if type(seq) is DenseJacobians and seq.matrices(1, 1).dtype == np.float64:
        return seq.matrices                              # a view of the stored array

    buf = np.empty((cap, n, n))

    def fill(a, b):                                      # one matrix() per step (a progress
        for j, s in enumerate(range(a, b + 1)):          # bar or a counting wrapper sees each)
            buf[j] = seq.matrix(s)
        return buf[:b - a + 1]
    return fill


class _BlockStart:
    """The next chunk's warm start: the previous chunk's certified top direction ``u``, and on
    demand (``block()``, for the members ``u`` alone does not certify) an orthonormal n x b
    block: ``u``, one block power step ``last last^T V`` on the previous chunk's last
    product (the block follows the dominant left singular subspace, which converges as the
    lag grows, Oseledets 1968) from the previous chunk's block V if it was made (random
    columns otherwise), and a fresh random probe."""

    def __init__(self, u, last, gen, prev):
        self.u, self._last, self._gen, self._X = u, last, gen, None
        self._prev = prev._X if prev is not None else None

    def block(self):
        if self._X is None:
            n = self.u.size
            b = min(_CHUNK_BLOCK, n - 1)
            V = self._prev[:, :b - 2] if self._prev is not None else \
                self._gen.standard_normal((n, b - 2))
            cols = np.empty((n, b))
            cols[:, 0] = self.u
            cols[:, 1:b - 1] = self._last @ (self._last.T @ V)
            cols[:, b - 1] = self._gen.standard_normal(n)
            self._X = np.linalg.qr(cols)[0]
            self._last = self._prev = None
        return self._X


def _certified_top(S, f2, X, state):
    """sigma_max of each stacked matrix S (m, n, n), each certified to 1e-10; f2 = ||S_i||_F^2.

    For every member a unit vector x gives the Rayleigh quotient
    rho = ||S^T x||^2 <= lambda_1 = sigma_max^2 and the residual
    r = S S^T x - rho x.  The gap needs no second Ritz value: the eigenvalues
    of S S^T sum to f2, so lambda_2 <= f2 - lambda_1 - L <= f2 - rho - L for
    any lower bound L on lambda_3 + lambda_4 + ..., and Kato-Temple gives
    lambda_1 <= rho + ||r||^2 / (2 rho + L - f2) whenever that denominator is
    positive (rigorous up to rounding in the traces, which ``_GAP_MARGIN``
    covers).  A member is certified when that is within ``_REL_TOL`` of rho
    (:func:`spectra.linalg.krylov.eigenvalue_certified`).

    The vectors, in stages, each for the members the previous one left:

    1. the previous chunk's top direction ``X.u`` for every member (two
       stacked matrix-vector products; tried while it certified most
       members of the previous chunk: the direction has converged);
    2. Rayleigh-Ritz in the warm-start block ``X.block()`` (n, b), the previous chunk's
       dominant subspace: each member's top Ritz direction found by four
       squarings of its b x b matrix ``H = X^T S S^T X`` (stacked matmuls;
       numpy's batched ``eigh`` costs as much as the products at n = 32);
    3. L = theta_3 + ... + theta_b, the sum of all but the top two Ritz
       values of H (each at most the matching eigenvalue of S S^T, Cauchy
       interlacing), and up to ``_POWER_STEPS`` two-dimensional Rayleigh-Ritz
       steps (:func:`_ritz_step`);
    4. a dense ``eigh`` of S S^T (LAPACK, backward stable: relative error
       ~ n u) for what is left, and at once for a member without a gap even
       with L (a short lag: clustered singular values).

    ``state["single"]`` says whether to try stage 1: while it certifies at least half
    of a chunk, and once every ``_RETRY_SINGLE`` chunks otherwise.  Returns
    (sigma, the last member's top left singular vector).
    """
    m, n = S.shape[:2]
    sig = np.empty(m)
    last = [None]
    todo = np.arange(m)
    if X is None:                                        # no warm start (the first chunk)
        _dense_top(S, todo, sig, last, m)
        return sig, last[0]

    def settle(ok, idx, rho, x):
        sig[idx[ok]] = np.sqrt(rho[ok])
        if idx[-1] == m - 1 and ok[-1]:
            last[0] = x if x.ndim == 1 else x[-1]
        return ~ok

    state["since"] += 1
    if state["single"] or state["since"] > _RETRY_SINGLE:    # stage 1
        state["since"] = 0
        x0 = X.u
        ok, rho, _, _, _ = _kato_temple(S, f2, 0.0, x0, np.matmul(x0, S))
        left = settle(ok, todo, rho, x0)
        state["single"] = ok.mean() >= 0.5
        if not left.any():
            return sig, last[0]
        todo = todo[left]
    Sa, fa = (S, f2) if todo.size == m else (S[todo], f2[todo])
    XT = np.ascontiguousarray(X.block().T)               # stage 2
    Yt = np.matmul(XT, Sa)                               # (k, b, n): X^T S
    H = np.matmul(Yt, Yt.transpose(0, 2, 1))             # (k, b, b): X^T S S^T X
    tr = np.trace(H, axis1=1, axis2=2)
    G = H / np.where(tr > 0, tr, 1.0)[:, None, None]     # eigenvalues in [0, 1]: no overflow
    for _ in range(_SQUARINGS):
        G = np.matmul(G, G)
    j = np.argmax(np.diagonal(G, axis1=1, axis2=2), axis=1)   # the column nearest the top
    c = G[np.arange(j.size), :, j]
    c /= np.sqrt(np.einsum("ij,ij->i", c, c))[:, None]
    x = c @ XT                                           # (k, n): X c, unit
    y = np.matmul(c[:, None, :], Yt)[:, 0]               # (k, n): S^T x
    ok, rho, _, r, gap = _kato_temple(Sa, fa, 0.0, x, y)
    left = settle(ok, todo, rho, x)
    if not left.any():
        return sig, last[0]
    todo, Sa, fa, H = todo[left], Sa[left], fa[left], H[left]
    x, y, r, rho, gap = x[left], y[left], r[left], rho[left], gap[left]
    b = H.shape[-1]                                      # stage 3
    L = np.zeros(todo.size)
    short = gap <= 0                                     # sigma_max^2 < f2 / 2: needs L
    if short.any() and b > 2:
        L[short] = np.linalg.eigvalsh(H[short])[:, :b - 2].sum(axis=1)
        gap = gap + L
    for _ in range(_POWER_STEPS):
        if todo.size * (n / 32.0) ** 3 <= _DENSE_FEW:      # LAPACK is cheaper than a step
            break
        keep = gap > 0                                   # no gap: only LAPACK can help
        if not keep.all():
            _dense_top(S, todo[~keep], sig, last, m)
            todo, Sa, fa, L = todo[keep], Sa[keep], fa[keep], L[keep]
            x, y, r, rho = x[keep], y[keep], r[keep], rho[keep]
            if not todo.size:
                return sig, last[0]
        x, y = _ritz_step(Sa, x, y, r, rho)
        ok, rho, _, r, gap = _kato_temple(Sa, fa, L, x, y)
        left = settle(ok, todo, rho, x)
        if not left.any():
            return sig, last[0]
        todo, Sa, fa, L = todo[left], Sa[left], fa[left], L[left]
        x, y, r, rho, gap = x[left], y[left], r[left], rho[left], gap[left]
    _dense_top(S, todo, sig, last, m)                    # stage 4
    return sig, last[0]


def _dense_top(S, idx, sig, last, m):
    """sig[idx] = sigma_max(S[idx]) from LAPACK's eigenvalues of S S^T (and last[0], the top
    eigenvector, when idx holds the last member m - 1)."""
    Sa = S[idx]
    G = np.matmul(Sa, Sa.transpose(0, 2, 1))
    if idx[-1] == m - 1:
        w, V = np.linalg.eigh(G[-1])
        last[0] = V[:, -1]
        sig[m - 1] = np.sqrt(max(w[-1], 0.0))
        idx, G = idx[:-1], G[:-1]
        if not idx.size:
            return
    sig[idx] = np.sqrt(np.maximum(np.linalg.eigvalsh(G)[:, -1], 0.0))


def _ritz_step(S, x, y, r, rho):
    """The top Ritz pair of S S^T in span{x, r} (r = S S^T x - rho x, orthogonal to x).

    In the orthonormal basis {x, q = r / ||r||} the compression of S S^T is
    [[rho, ||r||], [||r||, gamma]] with gamma = ||S^T q||^2; its top eigenvector
    (cos, sin) gives x' = cos x + sin q and S^T x' = cos y + sin S^T q without
    another pass.  Returns (x', S^T x').
    """
    rn = np.sqrt(np.einsum("ij,ij->i", r, r))
    q = r / np.where(rn > 0, rn, 1.0)[:, None]
    q -= np.einsum("ij,ij->i", q, x)[:, None] * x      # keep {x, q} orthonormal to rounding
    qn = np.sqrt(np.einsum("ij,ij->i", q, q))
    q /= np.where(qn > 0, qn, 1.0)[:, None]             # r = 0: q = 0, the step keeps x
    w = np.matmul(q[:, None, :], S)[:, 0]               # S^T q
    gamma = np.einsum("ij,ij->i", w, w)
    beta = np.einsum("ij,ij->i", y, w)                  # q^T S S^T x (= ||r|| in exact arithmetic)
    half = 0.5 * (rho - gamma)
    theta = 0.5 * (rho + gamma) + np.sqrt(half * half + beta * beta)
    # eigenvector of [[rho, beta], [beta, gamma]] for theta, the stable one of two formulas
    a1, a2 = beta, theta - rho
    b1, b2 = theta - gamma, beta
    first = np.abs(a1) + np.abs(a2) >= np.abs(b1) + np.abs(b2)
    c = np.where(first, a1, b1)
    s = np.where(first, a2, b2)
    nrm = np.sqrt(c * c + s * s)
    nrm = np.where(nrm > 0, nrm, 1.0)
    c, s = (c / nrm)[:, None], (s / nrm)[:, None]
    return c * x + s * q, c * y + s * w


def _kato_temple(S, f2, L, x, y):
    """(certified, rho, S S^T x, residual, gap) for unit vectors x (m, n), y = S^T x (see
    _certified_top)."""
    rho = np.einsum("ij,ij->i", y, y)
    z = np.matmul(S, y[:, :, None])[:, :, 0]
    r = z - rho[:, None] * x
    rn = np.sqrt(np.einsum("ij,ij->i", r, r))
    gap = 2.0 * rho + L - (1.0 + _GAP_MARGIN) * f2       # rho - (upper bound on lambda_2)
    return (gap > 0) & eigenvalue_certified(rho, rn, gap, _REL_TOL), rho, z, r, gap


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
