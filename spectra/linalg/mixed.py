"""Mixed-precision top-k singular triplets: single-precision passes, float64 anchors and certificate.

A pass of a block of vectors through a long Jacobian product streams the
weights once per step; with the weights in float32 it reads half the bytes.
:func:`mixed_golub_kahan_svd` runs block Golub-Kahan-Lanczos (the expansion
of :mod:`spectra.linalg.krylov`, by the residuals of the best Ritz triplets,
with full re-orthogonalisation) on single-precision products, and keeps the
answer as exact as the float64 kernel's by two kinds of float64 passes:

* **an anchor.** Products in float32 carry errors of about 1e-6 relative to
  ``||A||``, so Ritz values would stop improving there.  Once the estimated
  residuals are below ``ANCHOR_TOL`` (1e-4), the best k + 2 Ritz vectors
  ``V = Q y`` and ``U = P x`` (in the bases) are multiplied in float64 and the
  stored products are corrected on them: the columns ``(A Q) y`` become
  ``A V`` and the rows ``U^T (A Q)`` become ``(A^T U)^T Q`` (the same for
  ``A^T P``), and every later single-precision product gets the same exact
  rows.  The products are then exact on every entry of the projection that
  involves the answer, and in error only on the rest, whose weight in the
  answer is the size of the residual, so the error it leaves is second order.
  The Krylov space built so far is kept, so the iteration goes on converging
  (in float32) instead of starting again.  A stalled estimate gets another
  anchor.
* **the certificate.** When the estimated residuals are below ``tol``, the
  best k Ritz vectors are multiplied in float64: ``A V = U S Z^T`` (an SVD of
  an m x k matrix) gives triplets with ``A v = sigma u`` exactly, and a
  float64 product ``A^T U`` their residuals ``||A^T u - sigma v||``: the same
  a-posteriori guarantee as the float64 kernel (each sigma within its residual
  of a singular value).  A certificate that fails becomes another anchor.

If the basis fills up before a certificate passes (or the Krylov space is
exhausted), the float64 kernel :func:`~spectra.linalg.krylov.golub_kahan_svd`
finishes from the best Ritz vectors, so the answer never depends on float32.
"""

from __future__ import annotations

import numpy as np

from .._core.validation import as_generator, check_int
from .krylov import TopSingularValues, golub_kahan_svd, orthonormalise

__all__ = ["mixed_golub_kahan_svd", "ANCHOR_TOL"]

_TINY = np.finfo(np.float64).tiny
# Estimated relative residual at which the float32 products are first anchored (on the best
# k + 2 Ritz vectors); again whenever the estimate stops falling.  Their own accuracy is about
# 1e-6 of ||A|| for a hundred 4096 x 4096 steps.  Measured at n = 4096, T = 100, k = 6
# (passes float32 + float64, CPU time at load 7-8): 1e-5 20 + 4 (38.0 s; 39.6 s anchoring all
# 16 Ritz vectors), 1e-4 18 + 4 (34.1 s), 1e-3 22 + 6 (44.6 s: a second anchor was needed).
ANCHOR_TOL = 1e-4
# float64 rounds (anchors and failed certificates) before the float64 kernel takes over
_MAX_ROUNDS = 6


def mixed_golub_kahan_svd(matmat, rmatmat, matmat32, rmatmat32, shape, k=1, *, tol=1e-10,
                          block_size=None, max_basis=None, maxiter=None, rng=None, strict=True,
                          name="mixed_golub_kahan_svd", maxiter_name="maxiter", advice=None):
    """The k largest singular triplets from single-precision passes, certified in float64.

    Parameters
    ----------
    matmat, rmatmat : callable
        ``A @ X`` and ``A^T @ Y`` in float64 (as for
        :func:`~spectra.linalg.krylov.golub_kahan_svd`): used for the anchors,
        the certificate and a fallback.
    matmat32, rmatmat32 : callable
        The same products computed in single precision (float64 arrays in and
        out), e.g. from :func:`spectra.jacobians.single.block_products32`.
    shape : (int, int)
    k : int
    tol : float
        Every certified residual ``||A^T u_i - sigma_i v_i||`` is below
        ``tol * sigma_1`` (as in the float64 kernel).
    block_size : int, optional
        Vectors per block (default ``max(k + 2, 16)``).
    max_basis : int, optional
        Vectors per basis before the float64 kernel takes over (default
        ``12 * block_size``).
    maxiter : int, optional
        Block steps allowed to the float64 kernel if it takes over.
    rng : int, Generator or None
    strict : bool
    name, maxiter_name, advice : str, optional
        For the error message of the float64 kernel.

    Returns
    -------
    TopSingularValues
        ``passes`` counts every product with A or A^T, ``single_passes`` those
        done in single precision.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag(np.linspace(1.0, 2.0, 200))
    >>> A32 = A.astype(np.float32)
    >>> f32 = lambda M: (lambda X: (M @ X.astype(np.float32)).astype(np.float64))
    >>> res = mixed_golub_kahan_svd(lambda X: A @ X, lambda Y: A.T @ Y, f32(A32), f32(A32.T),
    ...                             A.shape, 2, rng=0)
    >>> res.values, res.converged, res.single_passes > 0
    (array([2.        , 1.99497487]), True, True)
    """
    m, n = (int(s) for s in shape)
    small = min(m, n)
    k = check_int(k, "k", minimum=1, maximum=small)
    b = min(check_int(block_size, "block_size", minimum=1, allow_none=True) or max(k + 2, 16), small)
    cap = check_int(max_basis, "max_basis", minimum=1, allow_none=True) or 12 * b
    cap = max(cap, 2 * b)
    nr = max(b, k)          # Ritz triplets followed (and anchored)
    gen = as_generator(rng)
    count = {"all": 0, "single": 0}

    def product(fn, X, single):
        count["all"] += 1
        count["single"] += single
        return fn(X)

    Q, _ = np.linalg.qr(gen.standard_normal((n, b)))
    AQ = product(matmat32, Q, True)
    P, ATP = np.zeros((m, 0)), np.zeros((n, 0))
    anchor = None           # (V, A V, U, A^T U): the last anchor's vectors and float64 products
    rounds = 0              # anchors and certificates so far
    prev = np.inf

    def finish_in_float64(V):
        res = golub_kahan_svd(matmat, rmatmat, (m, n), k, tol=tol, block_size=b, maxiter=maxiter,
                              start=V, strict=strict, name=name, maxiter_name=maxiter_name,
                              advice=advice)
        return _with_counts(res, res.passes + count["all"], count["single"])

    while True:
        # left expansion: the part of A Q outside span(P) along the best Ritz vectors
        S = AQ if P.shape[1] == 0 else AQ @ _ritz(P, AQ, nr)[2]
        U, _, _ = orthonormalise(S, [P] if P.shape[1] else [], m - P.shape[1])
        if U.shape[1] == 0 or P.shape[1] + U.shape[1] > cap:
            return finish_in_float64(_best_right(Q, P, AQ, nr))
        P = np.hstack([P, U])
        ATP = np.hstack([ATP, _anchored(product(rmatmat32, U, True), U, anchor, True)])
        # Rayleigh-Ritz on the projection P^T (A Q), and the estimated residuals
        X, sv, Y = _ritz(P, AQ, nr)
        AV = AQ @ Y
        r = ATP @ X - Q @ (Y * sv)          # ~ A^T u - sigma v
        s = AV - P @ (X * sv)               # ~ A v - sigma u
        est = np.maximum(np.linalg.norm(r, axis=0), np.linalg.norm(s, axis=0))
        worst = float(np.max(est[:k])) / max(float(sv[0]), _TINY) if sv.size >= k else np.inf
        force = False
        if worst <= tol:
            cert = _certify(matmat, rmatmat, Q @ Y[:, :k], product)
            if cert is None:            # A is (numerically) rank deficient on them
                return finish_in_float64(Q @ Y)
            vals, left, right, resid = cert
            if np.all(resid <= tol * vals[0]):
                return TopSingularValues(vals, left, right, resid, True, count["all"],
                                         count["single"])
            rounds += 1
            force = True                # the estimate was too hopeful: anchor now
        if force or (anchor is None and worst <= ANCHOR_TOL) or 0.5 * prev < worst < 1e-3:
            # the first anchor, or the estimate stalled: make the stored products exact on the
            # best Ritz vectors (two float64 passes)
            if rounds >= _MAX_ROUNDS:
                return finish_in_float64(Q @ Y)
            Ya, Xa = Y[:, :k + 2], X[:, :k + 2]
            V, Uv = Q @ Ya, P @ Xa
            anchor = (V, product(matmat, V, False), Uv, product(rmatmat, Uv, False))
            AQ, ATP = _anchor(AQ, ATP, Q, P, Ya, Xa, anchor[1], anchor[3])
            rounds += 1
        prev = worst
        # right expansion: the part of A^T P outside span(Q) along the best Ritz vectors
        V, _, _ = orthonormalise(ATP @ X, [Q], n - Q.shape[1])
        if V.shape[1] == 0 or Q.shape[1] + V.shape[1] > cap:
            return finish_in_float64(Q @ Y)
        Q = np.hstack([Q, V])
        AQ = np.hstack([AQ, _anchored(product(matmat32, V, True), V, anchor, False)])


def _anchor(AQ, ATP, Q, P, Y, X, E, F):
    """Make the stored products exact on V = Q Y and U = P X, given E = A V and F = A^T U in
    float64: the columns ``(A Q) Y`` become E and the rows ``U^T (A Q)`` become ``F^T Q`` (the
    same for ``A^T P``), so every entry of the projection that involves V or U is exact."""
    Uv, V = P @ X, Q @ Y
    AQ = AQ + (E - AQ @ Y) @ Y.T
    AQ = AQ + Uv @ (F.T @ Q - Uv.T @ AQ)
    ATP = ATP + (F - ATP @ X) @ X.T
    ATP = ATP + V @ (E.T @ P - V.T @ ATP)
    return AQ, ATP


def _anchored(Z, X, anchor, transposed):
    """A single-precision product ``Z ~ A X`` (or ``A^T X``) of a new block X (orthogonal to
    the anchor's vectors) with its components along the anchor's other side made exact:
    ``U^T (A X) = (A^T U)^T X``, so the projection's entries next to the answer stay exact."""
    if anchor is None:
        return Z
    V, AV, U, ATU = anchor
    if transposed:
        U, ATU = V, AV
    return Z + U @ (ATU.T @ X - U.T @ Z)


def _ritz(P, AQ, r):
    """The top r Ritz coefficients ``(X, sigma, Y)`` of the projection ``P^T (A Q)``."""
    Xf, sv, Yt = np.linalg.svd(P.T @ AQ, full_matrices=False)
    r = min(r, sv.size)
    return Xf[:, :r], sv[:r], Yt[:r].T


def _best_right(Q, P, AQ, r):
    if P.shape[1] == 0:
        return Q[:, :r]
    return Q @ _ritz(P, AQ, r)[2]


def _certify(matmat, rmatmat, V, product):
    """Float64 triplets on span(V): ``A V = U S Z^T``, then ``A^T U``; None if A V is rank
    deficient.  Returns ``(values, left, right, residuals)``."""
    AV = product(matmat, V, False)
    U, sv, Zt = np.linalg.svd(AV, full_matrices=False)
    if sv[-1] <= 1e-14 * max(sv[0], _TINY):
        return None
    right = V @ Zt.T
    resid = np.linalg.norm(product(rmatmat, U, False) - right * sv, axis=0)
    return sv, U, right, resid


def _with_counts(res, passes, single):
    return TopSingularValues(res.values, res.left, res.right, res.residuals, res.converged,
                             passes, single)
