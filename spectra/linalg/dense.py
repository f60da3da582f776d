"""Linear-algebra helpers: spectral norm and radius, per-step spectra, matrix-free top-k SVD.

Everything accepts dense arrays (with optional leading batch axes) and, where
it makes sense, a :class:`scipy.sparse.linalg.LinearOperator` such as
``Trajectory.operator(t, k)``, so a product of a thousand 4096 x 4096
Jacobians never has to be formed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .._core.errors import ConvergenceError, NumericalError
from .._core.progress import progress_bar
from .._core.threads import blas_threads
from ..jacobians.structured import as_jacobian_sequence
from .._core.validation import as_array, as_generator, check_choice, check_int, check_real, describe
from .krylov import TopSingularValues, golub_kahan_svd, residual_converged
from .mixed import mixed_golub_kahan_svd

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
        W^T W; stops when the value changes by at most ``tol`` relative and
        the residual is below ``sqrt(tol)`` relative.  ``lanczos``: the block
        Golub-Kahan-Lanczos kernel :func:`spectra.linalg.krylov.golub_kahan_svd`
        (:func:`top_singular_values` with k = 1); stops when the residual is
        below ``tol`` relative.  The iterative methods need only products
        with W and W^T, so they work on operators.
    tol : float
        Relative accuracy of the iterative methods.
    maxiter : int, optional
        Iteration cap of the iterative methods: steps, each one product with
        W and one with W^T, on a block for ``lanczos`` (default: 10 n for
        ``power``; that of :func:`top_singular_values` for ``lanczos``).
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
        return float(top_singular_values(op, 1, tol=tol, max_blocks=maxiter, rng=rng).values[0])
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
    """Power iteration on W^T W, with the kernel's residual test (:mod:`.krylov`).

    A loop of its own: the Krylov kernel restricted to the power method's two
    vectors costs about 6 times as much per step (a Rayleigh-Ritz SVD and
    block bookkeeping against two products), and with a larger basis it is a
    different method (exact after min(m, n) steps, where ``maxiter`` is meant
    to bound a power iteration).
    """
    m, n = op.shape
    maxiter = maxiter or max(100, 10 * n)
    rtol = np.sqrt(tol)
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
        if abs(t - prev) <= tol * t and residual_converged(res, t, rtol):
            return float(t)
        prev = t
    raise ConvergenceError(f"power iteration for the spectral norm did not reach tol={tol} in "
                           f"maxiter={maxiter} iterations (the top singular values may be close); "
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
    with blas_threads("factor", seq.n if seq.steps and seq.is_square else 1):
        for a in range(1, seq.steps + 1, _CHUNK):
            b = min(seq.steps, a + _CHUNK - 1)
            out.append(fn(seq.matrices(a, b)))
    return np.concatenate(out, axis=len(seq.batch_shape))


def step_eigenvalues(J) -> np.ndarray:
    """Eigenvalues of every step Jacobian, by decreasing modulus: a complex array of shape (T, n).

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
    """Singular values of every step Jacobian, descending: shape (T, min(n_out, n_in))."""
    seq = as_jacobian_sequence(J)
    if seq.is_square:
        return _per_step(seq, lambda M: np.linalg.svd(M, compute_uv=False), "", square=False)
    return np.array([np.linalg.svd(seq.matrix(t), compute_uv=False)
                     for t in range(1, seq.steps + 1)], dtype=object)


def step_condition_numbers(J) -> np.ndarray:
    """2-norm condition number of every step Jacobian, shape ``(T,)`` (inf when singular)."""
    return _per_step(J, condition_number, "", square=False)


# ---------------------------------------------------------------------------------------


def top_singular_values(A, k=6, *, tol=1e-10, block_size=None, max_blocks=None, rng=None,
                        strict=True, max_basis=None, progress=None,
                        precision="float64") -> TopSingularValues:
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
        Vectors per block (default ``max(k + 2, 16)``, at most ``min(m, n)``):
        a pass of a block through a long trajectory is memory-bound, so a
        block of 16 costs little more than one vector and the Krylov space
        grows much faster per pass.
    max_blocks : int, optional
        Cap on the number of blocks (block steps) in the Krylov space
        (default: enough to span the whole space, or ten restart cycles if
        that is more, when ``max_basis`` forces restarts).
    rng : int, Generator or None
        The random start block.
    strict : bool
        Raise :class:`ConvergenceError` when not converged (default); with
        False, return the best estimates with ``converged=False``.
    max_basis : int, optional
        Vectors kept per Krylov basis before a thick restart (default
        ``max(8 * block_size, 3 * k)``): the bases are then replaced by the
        best ``k + block_size`` Ritz vectors and the Lanczos coupling to the
        next block, which bounds the memory.
    progress : bool or None
        A progress bar counting the products with ``A`` and ``A^T`` (tqdm; a
        terminal or a notebook, never a pipe or a log): True shows it, False
        never, None (default) shows it once the call has run for a second.
    precision : {"float64", "mixed"}
        ``"mixed"``: most passes in single precision (W and the block in
        float32: half the bytes streamed), then float64 passes that anchor
        and certify the answer (:func:`spectra.linalg.mixed.mixed_golub_kahan_svd`),
        so the values, vectors and residuals are the float64 ones, with the
        same guarantee (every residual below ``tol * sigma_1``).  Needs a
        dense matrix or an operator with a single-precision form
        (``traj.operator()`` of the Elman-type cells: one shared W);
        keeps a float32 copy of the matrix or of W (half its float64 size)
        and four bases of at most ``12 * block_size`` vectors.  At n = 4096,
        T = 100, k = 6: 18 single-precision and 4 float64 passes, 0.66x the
        CPU time of ``"float64"`` (33 s; 97 MB of working memory against
        12 MB; benchmarks/README.md).  Never the default.

    Returns
    -------
    TopSingularValues

    Notes
    -----
    The kernel :func:`spectra.linalg.krylov.golub_kahan_svd`: block
    Golub-Kahan-Lanczos bidiagonalisation with full re-orthogonalisation
    (Golub, Luk & Overton 1981) and thick restarts, followed by the
    Rayleigh-Ritz projection onto the Krylov bases.  Only the two bases are
    stored: the projected matrix and the residuals come from the
    Gram-Schmidt coefficients (``A V_j`` is expanded on U_1..U_j and
    ``A^T U_j`` on V_1..V_{j+1}), so memory is O((m + n) max_basis), never
    an m x n matrix (for n = 4096, T = 100, k = 6: under 10% of one dense
    n x n matrix).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> A = np.diag(np.arange(1.0, 21.0))
    >>> spectra.top_singular_values(A, 3, rng=0).values
    array([20., 19., 18.])

    Single-precision passes, float64 answer and certificate:

    >>> net = spectra.ElmanRNN.random(200, rng=0)
    >>> op = net.run(steps=30, h0=np.ones(200)).operator()
    >>> res = spectra.top_singular_values(op, 3, rng=0, precision="mixed")
    >>> ref = spectra.top_singular_values(op, 3, rng=0)
    >>> bool(np.all(np.abs(res.values - ref.values) <= 1e-10 * ref.values[0]))
    True
    >>> res.single_passes > 0, bool(np.all(res.residuals <= 1e-10 * res.values[0]))
    (True, True)
    """
    scale = 1.0
    if not _is_operator(A):
        A = _dense(A, "A")
        if A.ndim != 2:
            raise ValueError(f"`A` must be a single matrix; got shape {A.shape}")
        top = float(np.max(np.abs(A))) if A.size else 0.0
        if top and not 1e-100 <= top <= 1e100:    # products of blocks would over/underflow
            scale = 2.0 ** round(math.log2(top))  # exact: the values are scaled back
            A = A / scale
    m, n = A.shape
    k = check_int(k, "k", minimum=1, maximum=min(m, n))
    b = check_int(block_size, "block_size", minimum=1, allow_none=True)
    max_blocks = check_int(max_blocks, "max_blocks", minimum=1, allow_none=True)
    max_basis = check_int(max_basis, "max_basis", minimum=1, allow_none=True)
    precision = check_choice(precision, "precision", ("float64", "mixed"))
    mat, rmat = _finite_products(A, "top_singular_values")
    single = _single_products(A, "top_singular_values") if precision == "mixed" else None
    with blas_threads("gemm", max(m, n)), progress_bar(None, "singular values", progress,
                                                       unit="product") as bar:
        if bar.enabled:
            mat, rmat = _counted(mat, bar), _counted(rmat, bar)
            if single is not None:
                single = (_counted(single[0], bar), _counted(single[1], bar))
        if single is not None:
            res = mixed_golub_kahan_svd(mat, rmat, *single, (m, n), k, tol=tol, block_size=b,
                                        maxiter=max_blocks, max_basis=max_basis, rng=rng,
                                        strict=strict, name="top_singular_values",
                                        maxiter_name="max_blocks")
        else:
            res = golub_kahan_svd(mat, rmat, (m, n), k, tol=tol, block_size=b,
                                  maxiter=max_blocks, max_basis=max_basis, rng=rng,
                                  strict=strict, name="top_singular_values",
                                  maxiter_name="max_blocks")
    if scale != 1.0:
        res = dataclasses.replace(res, values=res.values * scale, residuals=res.residuals * scale)
    return res


def _counted(fn, bar):
    def call(X):
        bar.advance()
        return fn(X)
    return call


def _single_products(A, who):
    """``(A @ X, A^T @ Y)`` computed in single precision (float64 in and out, refusing a
    non-finite product), for ``precision="mixed"``; a ValueError when A has no such form."""
    m, n = A.shape
    if isinstance(A, np.ndarray):
        top = float(np.max(np.abs(A))) if A.size else 0.0
        e = math.frexp(top)[1] if top > 0 else 0        # A32 = A 2^-e: largest entry in [0.5, 1)
        A32 = np.ldexp(A, -e).astype(np.float32)
        pair = (lambda X: np.ldexp((A32 @ X.astype(np.float32)).astype(np.float64), e),
                lambda Y: np.ldexp((A32.T @ Y.astype(np.float32)).astype(np.float64), e))
    else:
        hook = getattr(A, "float32_products", None)
        pair = hook() if callable(hook) else None
        if pair is None:
            raise ValueError("`precision='mixed'` needs a dense matrix or an operator with a "
                             "single-precision form (Trajectory.operator() of a cell with one "
                             f"shared W, e.g. ElmanRNN); got {describe(A)}; use "
                             "precision='float64'")

    def finite(Z, what):
        if not np.all(np.isfinite(Z)):
            raise NumericalError(f"{who}: a single-precision product with {what} is not finite "
                                 "(the operator overflows float64); use "
                                 "spectra.product_log_singular_values")
        return Z

    return (lambda X: finite(np.reshape(pair[0](X), (m, -1)), "A"),
            lambda Y: finite(np.reshape(pair[1](Y), (n, -1)), "A^T"))


def _finite_products(A, who):
    """``(A @ X, A^T @ Y)`` as float64 callables that refuse a non-finite product."""
    m, n = A.shape

    def finite(Y, what):
        if not np.all(np.isfinite(Y)):
            raise NumericalError(f"{who}: a product with {what} is not finite (the "
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

    return mat, rmat
