"""Linear-algebra helpers: spectral norm and radius, per-step spectra, matrix-free top-k SVD.

Everything accepts dense arrays (with optional leading batch axes) and, where
it makes sense, a :class:`scipy.sparse.linalg.LinearOperator` such as
``Trajectory.operator(t, k)``, so a product of a thousand 4096 x 4096
Jacobians never has to be formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import ConvergenceError, NumericalError
from ._jacobians import as_jacobian_sequence
from ._validation import as_array, as_generator, check_choice, check_int, check_real

__all__ = [
    "spectral_norm",
    "spectral_radius",
    "condition_number",
    "step_eigenvalues",
    "step_singular_values",
    "step_condition_numbers",
    "top_singular_values",
    "TopSingularValues",
]

_CHUNK = 64  # steps materialised at once by the per-step routines


def _is_operator(A) -> bool:
    return hasattr(A, "matvec") and hasattr(A, "rmatvec") and hasattr(A, "shape") \
        and not isinstance(A, np.ndarray)


def _dense(A, name, *, square=False):
    arr = as_array(A, name)
    if arr.ndim < 2:
        raise ValueError(f"`{name}` must be a matrix (or a stack of matrices); got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {arr.shape}")
    if square and arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"`{name}` must be square; got shape {arr.shape}")
    return arr


def spectral_norm(W, *, method="exact", tol=1e-12, maxiter=None, rng=None):
    """Largest singular value ``||W||_2``.

    Parameters
    ----------
    W : (..., m, n) array_like or LinearOperator
        A matrix, a stack of matrices, or a matrix-free operator.
    method : {"exact", "power", "lanczos"}
        ``exact``: dense SVD (LAPACK).  ``power``: power iteration on
        W^T W.  ``lanczos``: block Golub-Kahan-Lanczos
        (:func:`top_singular_values` with k = 1).  The iterative methods need
        only products with W and W^T, so they work on operators.
    tol : float
        Relative accuracy of the iterative methods.
    maxiter : int, optional
        Iteration cap of the iterative methods (default 10 n).
    rng : int, Generator or None
        Start vector of the iterative methods.

    Returns
    -------
    float or ndarray (one value per matrix of a stack)

    Raises
    ------
    ConvergenceError
        If an iterative method does not reach ``tol`` within ``maxiter``
        (increase ``maxiter`` or use ``method="exact"``).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[3.0, 0.0], [4.0, 5.0]])
    >>> round(spectra.spectral_norm(W), 12)
    6.708203932499
    >>> round(spectra.spectral_norm(W, method="power"), 9)
    6.708203932
    """
    check_choice(method, "method", ("exact", "power", "lanczos"))
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    maxiter = check_int(maxiter, "maxiter", minimum=1, allow_none=True)
    if method == "exact":
        if _is_operator(W):
            raise TypeError("`W` is a LinearOperator; method='exact' needs a dense matrix "
                            "(use method='lanczos' or 'power')")
        A = _dense(W, "W")
        s = np.linalg.svd(A, compute_uv=False)[..., 0]
        return float(s) if s.ndim == 0 else s
    op = _as_operator(W, "W")
    if method == "lanczos":
        return float(top_singular_values(op, 1, tol=tol, rng=rng).values[0])
    return _power_norm(op, tol, maxiter, as_generator(rng))


def _as_operator(W, name):
    from scipy.sparse.linalg import aslinearoperator

    if _is_operator(W):
        return W
    A = _dense(W, name)
    if A.ndim != 2:
        raise ValueError(f"`{name}` must be a single matrix for an iterative method; got shape {A.shape}")
    return aslinearoperator(A)


def _power_norm(op, tol, maxiter, gen):
    m, n = op.shape
    maxiter = maxiter or max(100, 10 * n)
    v = gen.standard_normal(n)
    v /= np.linalg.norm(v)
    prev = 0.0
    for _ in range(maxiter):
        u = op.matvec(v)
        s = np.linalg.norm(u)
        if s == 0:
            return 0.0
        w = op.rmatvec(u / s)
        t = np.linalg.norm(w)
        # residual of the singular pair (s, u/s, v): ||W^T u/s - s v||
        res = np.linalg.norm(w - s * v)
        v = w / t
        if abs(t - prev) <= tol * t and res <= np.sqrt(tol) * t:
            return float(t)
        prev = t
    raise ConvergenceError(f"power iteration for the spectral norm did not reach tol={tol} in "
                           f"{maxiter} iterations (the top singular values may be close); "
                           "increase `maxiter` or use method='lanczos' or 'exact'")


def spectral_radius(W, *, tol=1e-12, rng=None):
    """Largest eigenvalue modulus ``max |lambda_i(W)|``.

    Parameters
    ----------
    W : (..., n, n) array_like or LinearOperator
        Square matrix (or stack), or a square operator (then ARPACK's
        ``eigs`` finds the eigenvalue of largest modulus).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> round(spectra.spectral_radius(np.array([[0.0, 2.0], [-2.0, 0.0]])), 12)   # a rotation by 90 deg, scaled
    2.0
    """
    if _is_operator(W):
        from scipy.sparse.linalg import ArpackNoConvergence, eigs

        n = W.shape[0]
        if W.shape[0] != W.shape[1]:
            raise ValueError(f"`W` must be square; got shape {W.shape}")
        if n <= 2:
            dense = W @ np.eye(n)
            return float(np.max(np.abs(np.linalg.eigvals(dense))))
        v0 = as_generator(rng).standard_normal(n)
        try:
            vals = eigs(W, k=1, which="LM", tol=tol, v0=v0, return_eigenvectors=False)
        except ArpackNoConvergence as exc:
            raise ConvergenceError(f"ARPACK did not converge for the spectral radius: {exc}") from None
        return float(np.abs(vals[0]))
    A = _dense(W, "W", square=True)
    r = np.max(np.abs(np.linalg.eigvals(A)), axis=-1)
    return float(r) if r.ndim == 0 else r


def condition_number(W):
    """2-norm condition number sigma_max / sigma_min (inf for a singular matrix).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> spectra.condition_number(np.diag([4.0, 0.5]))
    8.0
    """
    A = _dense(W, "W")
    s = np.linalg.svd(A, compute_uv=False)
    with np.errstate(divide="ignore"):
        c = np.where(s[..., -1] > 0, s[..., 0] / np.where(s[..., -1] > 0, s[..., -1], 1.0), np.inf)
    return float(c) if c.ndim == 0 else c


def _per_step(J, fn, what, square=True):
    seq = as_jacobian_sequence(J)
    if square:
        seq.require_square(what)
    out = []
    for a in range(1, seq.steps + 1, _CHUNK):
        b = min(seq.steps, a + _CHUNK - 1)
        out.append(fn(seq.matrices(a, b)))
    return np.concatenate(out, axis=len(seq.batch_shape))


def step_eigenvalues(J) -> np.ndarray:
    """Eigenvalues of every step Jacobian, shape ``(T, n)`` (complex), by decreasing modulus.

    Parameters
    ----------
    J : Trajectory, JacobianSequence, (T, n, n) array_like or sequence of matrices
    """
    def eig(M):
        lam = np.linalg.eigvals(M)
        order = np.argsort(-np.abs(lam), axis=-1, kind="stable")
        return np.take_along_axis(lam, order, axis=-1).astype(complex)

    return _per_step(J, eig, "step_eigenvalues")


def step_singular_values(J) -> np.ndarray:
    """Singular values of every step Jacobian, shape ``(T, min(n_out, n_in))``, descending."""
    seq = as_jacobian_sequence(J)
    if seq.is_square:
        return _per_step(seq, lambda M: np.linalg.svd(M, compute_uv=False), "", square=False)
    return np.array([np.linalg.svd(seq.matrix(t), compute_uv=False)
                     for t in range(1, seq.steps + 1)], dtype=object)


def step_condition_numbers(J) -> np.ndarray:
    """2-norm condition number of every step Jacobian, shape ``(T,)`` (inf when singular)."""
    return _per_step(J, condition_number, "", square=False)


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopSingularValues:
    """Result of :func:`top_singular_values`.

    Attributes
    ----------
    values : (k,) ndarray
        The largest singular values, descending.
    left, right : (m, k), (n, k) ndarray
        The corresponding singular vectors (zero columns for exactly zero
        singular values beyond the rank of A).
    residuals : (k,) ndarray
        ``||A^T u_i - sigma_i v_i||`` (the other residual is zero by
        construction); each sigma_i is within this of a true singular value.
    converged : bool
        Whether every residual is below ``tol * sigma_1``.
    passes : int
        Products with A plus products with A^T, each on a block of vectors.
    """

    values: np.ndarray
    left: np.ndarray
    right: np.ndarray
    residuals: np.ndarray
    converged: bool
    passes: int

    def to_dict(self) -> dict:
        return {"values": self.values.tolist(), "residuals": self.residuals.tolist(),
                "converged": self.converged, "passes": self.passes}


def _padded(res, k, passes):
    """Complete an exact (invariant-subspace) result with zero singular values up to k."""
    m, n = res.left.shape[0], res.right.shape[0]
    extra = k - res.values.size
    pad = (lambda a, rows: np.concatenate([a, np.zeros((rows, extra))], axis=1))
    return TopSingularValues(np.concatenate([res.values, np.zeros(extra)]), pad(res.left, m),
                             pad(res.right, n), np.concatenate([res.residuals, np.zeros(extra)]),
                             True, passes)


def _orth_against(X, bases, room):
    """Orthonormalise the block X against the orthonormal blocks in ``bases`` (CGS2) and
    itself, dropping directions already (numerically) in their span; at most ``room`` columns."""
    scale = max(float(np.max(np.linalg.norm(X, axis=0))), np.finfo(float).tiny) if X.size else 0.0
    for _ in range(2):
        for B in bases:
            X = X - B @ (B.T @ X)
    Q, R = np.linalg.qr(X)
    keep = np.abs(np.diagonal(R)) > 1e-12 * scale
    return Q[:, keep][:, :max(room, 0)]


def top_singular_values(A, k=6, *, tol=1e-10, block_size=None, max_blocks=None, rng=None,
                        strict=True) -> TopSingularValues:
    """The k largest singular values of a matrix or matrix-free operator.

    Parameters
    ----------
    A : (m, n) array_like or LinearOperator
        E.g. ``traj.operator(T, 0)``: each product with it is a pass through
        the whole trajectory, done on a block of vectors at once.
    k : int
        How many singular values.
    tol : float
        Stop when every residual ``||A^T u_i - sigma_i v_i||`` is below
        ``tol * sigma_1``.
    block_size : int, optional
        Vectors per block (default ``k + 2``); larger blocks do more
        matrix-matrix work per pass and need fewer passes.
    max_blocks : int, optional
        Cap on the number of blocks in the Krylov space (default: enough to
        span the whole space).
    rng : int, Generator or None
        The random start block.
    strict : bool
        Raise :class:`ConvergenceError` when not converged (default); with
        False, return the best estimates with ``converged=False``.

    Returns
    -------
    TopSingularValues

    Raises
    ------
    ConvergenceError
        When ``strict`` and the residuals do not reach ``tol``.
    NumericalError
        When a product with A or A^T is not finite (an overflowing operator).

    Notes
    -----
    Block Golub-Kahan-Lanczos bidiagonalisation with full
    re-orthogonalisation (Golub, Luk & Overton 1981), followed by the
    Rayleigh-Ritz projection onto the Krylov bases.  Memory
    O((m + n) k_blocks * block_size), never an m x n matrix.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> A = np.diag(np.arange(1.0, 21.0))
    >>> spectra.top_singular_values(A, 3, rng=0).values
    array([20., 19., 18.])
    """
    if not _is_operator(A):
        A = _dense(A, "A")
        if A.ndim != 2:
            raise ValueError(f"`A` must be a single matrix; got shape {A.shape}")
    m, n = A.shape
    small = min(m, n)
    k = check_int(k, "k", minimum=1, maximum=small)
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    b = check_int(block_size, "block_size", minimum=1, allow_none=True) or min(k + 2, small)
    b = min(b, small)
    # ceil(small / b) blocks span the smaller side; one more lets the other side's block
    # catch up (a wide matrix: the first left block already spans the whole range)
    cap = -(-small // b) + 1
    max_blocks = check_int(max_blocks, "max_blocks", minimum=1, allow_none=True) or cap
    gen = as_generator(rng)

    def finite(Y, what):
        if not np.all(np.isfinite(Y)):
            raise NumericalError(f"top_singular_values: a product with {what} is not finite (the "
                                 "operator overflows float64, e.g. a long exploding Jacobian "
                                 "product); use spectra.product_log_singular_values, which works in "
                                 "the log domain")
        return Y

    def mat(X):
        with np.errstate(over="ignore", invalid="ignore"):
            Y = np.asarray(A @ X, dtype=np.float64).reshape(m, -1)
        return finite(Y, "A")

    def rmat(Y):
        with np.errstate(over="ignore", invalid="ignore"):
            Z = np.asarray((A.T @ Y) if isinstance(A, np.ndarray) else A.rmatmat(Y),
                           dtype=np.float64).reshape(n, -1)
        return finite(Z, "A^T")

    V, _ = np.linalg.qr(gen.standard_normal((n, b)))
    Us, Vs, AVs, ATUs = [], [V], [], []
    passes = 0
    result = None
    for j in range(max_blocks):
        AV = mat(Vs[-1])
        passes += 1
        AVs.append(AV)
        U = _orth_against(AV, Us, m - sum(u.shape[1] for u in Us))
        if U.shape[1]:
            Us.append(U)
            ATU = rmat(U)
            passes += 1
            ATUs.append(ATU)
        if not Us:  # A V = 0 for the whole start block: A is zero on it
            break
        # Rayleigh-Ritz: B = U_all^T A V_all, from the stored products A V_j
        Uall = np.concatenate(Us, axis=1)
        Vall = np.concatenate(Vs, axis=1)
        B = Uall.T @ np.concatenate(AVs, axis=1)
        X, s, Yt = np.linalg.svd(B)
        kk = min(k, s.size)
        left = Uall @ X[:, :kk]
        right = Vall @ Yt[:kk].T
        ATleft = np.concatenate(ATUs, axis=1) @ X[:, :kk]
        residuals = np.linalg.norm(ATleft - right * s[:kk], axis=0)
        converged = kk == k and bool(np.all(residuals <= tol * max(s[0], np.finfo(float).tiny)))
        result = TopSingularValues(s[:kk], left, right, residuals, converged, passes)
        if converged:
            return result
        Vn = _orth_against(ATUs[-1], Vs, n - Vall.shape[1]) if U.shape[1] else np.zeros((n, 0))
        if Vn.shape[1] == 0:
            # the Krylov space is exhausted or invariant: the Ritz values are exact and
            # any singular values beyond them are zero
            return _padded(result, k, passes)
        Vs.append(Vn)
    if result is None:  # A is zero on the start block
        return _padded(TopSingularValues(np.zeros(0), np.zeros((m, 0)), np.zeros((n, 0)),
                                         np.zeros(0), True, passes), k, passes)
    if result.converged or not strict:
        return result
    raise ConvergenceError(f"top_singular_values did not converge to tol={tol} within {len(Us)} "
                           f"blocks of {b} vectors (largest residual {np.max(result.residuals):.2e} "
                           f"relative to sigma_1 = {result.values[0]:.3e}); increase `max_blocks` or "
                           "`block_size`, or loosen `tol`")
