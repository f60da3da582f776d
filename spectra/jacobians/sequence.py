"""Sequences of step Jacobians, kept factored.

A :class:`JacobianSequence` holds the step Jacobians J_1, ..., J_T of a step
map in numerator layout (row i = output unit i), optionally with one leading
batch axis of independent sequences.  Step indices are 1-based as in the
maths: ``J_t = dh_t/dh_{t-1}`` for ``t = 1..T``, and the Jacobian over a span
is ``dh_t/dh_k = J_t J_{t-1} ... J_{k+1}`` (the identity when ``k == t``).

Subclasses store what they need and never more:

* :class:`DenseJacobians` -- explicit matrices (what a user passes in).
* :class:`ScaledJacobians` -- ``J_t = diag(shift) + diag(row_t) W diag(col_t)``
  with one shared W: the Elman cell (row = f'(a_t)), the recurrent-first
  cell (col = f'(h_{t-1})), leaky units (shift = alpha), residual layers
  (shift = 1).  Memory O(T n + n^2).

Every analysis routine talks to a sequence only through ``matrix``,
``matrices``, ``matmat`` and ``rmatmat`` (plus ``logabsdet``, and ``lmatmat``
= ``P @ J_t``, which has a generic implementation through ``rmatmat``), so a
new structure (gated cells, normalisation layers) plugs in by implementing
those.  The hot loops (:func:`step_operator`) use the structure of
:class:`ScaledJacobians` directly and read :class:`DenseJacobians` in place.
"""

from __future__ import annotations

import math

import numpy as np

from .._core.errors import NumericalError
from .._core.interop import is_tensor
from .._core.validation import as_array, check_choice, check_int, describe

__all__ = [
    "JacobianSequence",
    "DenseJacobians",
    "ScaledJacobians",
    "as_jacobian_sequence",
    "LAYOUTS",
]

LAYOUTS = ("numerator", "backprop")

# A dense product whose entries leave [_TINY, _HUGE] is no longer trustworthy in
# float64 (overflow, or subnormal numbers that lose precision and slow BLAS
# ~200x); the log-domain routines are the right tool then.
_HUGE = 1e300
_TINY = 1e-300


class JacobianSequence:
    """Abstract sequence of step Jacobians J_1..J_T (numerator layout).

    Subclasses implement ``steps``, ``batch_shape``, ``dtype``,
    ``step_shape(t)``, ``matrix(t)``, ``matmat(t, X)`` and ``rmatmat(t, Y)``;
    everything else has a generic implementation in terms of those.
    """

    # -- interface -----------------------------------------------------------------
    steps: int
    batch_shape: tuple = ()
    dtype = np.dtype(np.float64)
    _step_word = "step"   # what error messages call a step ("layer" for feedforward stacks)

    def step_shape(self, t: int) -> tuple:
        """``(n_out, n_in)`` of ``J_t``."""
        raise NotImplementedError

    def matrix(self, t: int) -> np.ndarray:
        """Dense ``J_t``, shape ``(*batch, n_out, n_in)``."""
        raise NotImplementedError

    def matmat(self, t: int, X: np.ndarray) -> np.ndarray:
        """``J_t @ X`` for ``X`` of shape ``(*batch, n_in, m)`` (or ``(n_in, m)``)."""
        raise NotImplementedError

    def rmatmat(self, t: int, Y: np.ndarray) -> np.ndarray:
        """``J_t^T @ Y`` for ``Y`` of shape ``(*batch, n_out, m)`` (or ``(n_out, m)``)."""
        raise NotImplementedError

    # -- generic -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self.steps

    @property
    def is_square(self) -> bool:
        """True when every step maps R^n to R^n with one n."""
        shapes = {self.step_shape(t) for t in range(1, self.steps + 1)}
        return len(shapes) <= 1 and all(a == b for a, b in shapes)

    @property
    def n(self) -> int:
        """State size n of a square sequence."""
        if self.steps == 0:
            raise ValueError("an empty Jacobian sequence has no state size")
        if not self.is_square:
            raise ValueError("this Jacobian sequence has rectangular or varying steps "
                             f"(J_1 has shape {self.step_shape(1)}); it has no single state size n")
        return self.step_shape(1)[0]

    def state_size(self, t: int) -> int:
        """Size of the state h_t, for ``t = 0..T``."""
        t = self._check_time(t, "t")
        return self.step_shape(t)[0] if t >= 1 else self.step_shape(1)[1]

    def _check_time(self, t, name="t", *, minimum=0):
        return check_int(t, name, minimum=minimum, maximum=self.steps)

    def check_span(self, t=None, k=None):
        """Validate and default a span: t defaults to T, k to 0; 0 <= k <= t <= T."""
        t = self.steps if t is None else self._check_time(t, "t")
        k = 0 if k is None else check_int(k, "k", minimum=0)
        if k > t:
            raise ValueError(f"`k` must satisfy 0 <= k <= t; got k={k}, t={t}")
        return t, k

    def require_square(self, what: str):
        """Raise a clear error when a square-steps-only routine meets rectangular steps."""
        if self.steps and not self.is_square:
            raise ValueError(f"{what} needs square step Jacobians (n x n, one n for all steps); "
                             f"got J_1 of shape {self.step_shape(1)}"
                             + ("" if self.steps < 2 else f" and J_2 of shape {self.step_shape(2)}"))

    def matrices(self, start: int = 1, stop: int | None = None) -> np.ndarray:
        """Dense stack of ``J_start .. J_stop`` (inclusive), shape ``(*batch, L, n_out, n_in)``.

        The steps must share one shape (a ValueError says so otherwise).
        """
        stop = self.steps if stop is None else stop
        shapes = sorted({tuple(self.step_shape(t)) for t in range(start, stop + 1)})
        if len(shapes) > 1:
            w = self._step_word
            raise ValueError(f"a dense stack of {w} Jacobians needs {w}s of one shape; these "
                             f"have shapes {shapes}: use jacobian(t) {w} by {w}, or product(t, k)")
        if not shapes:
            shape = tuple(self.step_shape(1)) if self.steps else (0, 0)
            return np.zeros(self.batch_shape + (0,) + shape, dtype=self.dtype)
        return np.stack([self.matrix(t) for t in range(start, stop + 1)], axis=len(self.batch_shape))

    def matvec(self, t: int, x: np.ndarray) -> np.ndarray:
        """``J_t @ x`` for ``x`` of shape ``(*batch, n_in)``."""
        return self.matmat(t, x[..., None])[..., 0]

    def rmatvec(self, t: int, y: np.ndarray) -> np.ndarray:
        """``J_t^T @ y`` for ``y`` of shape ``(*batch, n_out)``."""
        return self.rmatmat(t, y[..., None])[..., 0]

    def apply(self, t: int, k: int, X: np.ndarray) -> np.ndarray:
        """``(dh_t/dh_k) @ X`` without forming the product: O((t-k) n^2 m)."""
        for s in range(k + 1, t + 1):
            X = self.matmat(s, X)
        return X

    def rapply(self, t: int, k: int, Y: np.ndarray) -> np.ndarray:
        """``(dh_t/dh_k)^T @ Y`` without forming the product (a backward sweep)."""
        for s in range(t, k, -1):
            Y = self.rmatmat(s, Y)
        return Y

    def logabsdet(self, t: int) -> np.ndarray:
        """``log|det J_t|``, shape ``batch_shape`` (-inf for a singular step)."""
        self.require_square("logabsdet")
        with np.errstate(divide="ignore"):
            return np.linalg.slogdet(self.matrix(t))[1]

    def step_norm_bounds(self):
        """Per-step bounds ``log s_min(J_t) <= ... <= log ||J_t||_2``, for t = 1..T.

        Returns ``(log_upper, log_lower)``, each of shape ``(*batch, T)``.
        Products of these bound the norm of any span:
        ``sum log_lower <= log ||dh_t/dh_k|| <= sum log_upper`` (the lower
        one for square steps; for rectangular steps it is the trivial -inf).

        This generic version is exact (singular values of each step, in
        chunks of 64 steps); structured sequences override it with cheap
        bounds from their factors.
        """
        T = self.steps
        up = np.empty(self.batch_shape + (T,))
        lo = np.empty(self.batch_shape + (T,))
        square = self.is_square
        with np.errstate(divide="ignore"):
            for a in range(1, T + 1, 64):
                b = min(T, a + 63)
                if square:
                    sv = np.linalg.svd(self.matrices(a, b), compute_uv=False)
                    up[..., a - 1:b] = np.log(sv[..., 0])
                    lo[..., a - 1:b] = np.log(sv[..., -1])
                else:
                    for t in range(a, b + 1):
                        sv = np.linalg.svd(self.matrix(t), compute_uv=False)
                        up[..., t - 1] = np.log(sv[..., 0])
                        lo[..., t - 1] = -np.inf
        return up, lo

    def product(self, t: int | None = None, k: int | None = None, *,
                layout: str = "numerator") -> np.ndarray:
        """Dense ``dh_t/dh_k = J_t ... J_{k+1}`` (t defaults to T, k to 0).

        The running product is kept normalised by exact powers of two, so
        intermediate growth or decay beyond the float64 range is harmless;
        like any dense product it is accurate relative to the product of the
        step norms, not to each entry, so directions far weaker than the
        strongest are lost (their singular values need
        :func:`spectra.product_log_singular_values`).

        Raises :class:`NumericalError` when the entries leave the range where
        float64 is trustworthy (above 1e300 or below 1e-300 without being
        exactly zero); use the log-domain routines
        (:func:`spectra.product_log_singular_values`,
        :func:`spectra.gradient_norm_profile`) for such spans.
        """
        check_choice(layout, "layout", LAYOUTS)
        t, k = self.check_span(t, k)
        if t == k:
            n = self.state_size(t)
            P = np.broadcast_to(np.eye(n, dtype=self.dtype), self.batch_shape + (n, n)).copy()
        else:
            # Keep the running product normalised by exact powers of two; the
            # true scale is carried as an integer exponent and applied once at
            # the end, where it is checked against the float64 range.
            from .._core.threads import blas_threads

            n = self.state_size(t)
            with blas_threads("gemm", n), np.errstate(over="ignore", under="ignore"):
                if self.is_square and not self.batch_shape:
                    P, e = _chain_product(self, t, k)
                    e = np.asarray(e)
                else:
                    P, e = _normalise(self.matrix(k + 1))
                    for s in range(k + 2, t + 1):
                        P, de = _normalise(self.matmat(s, P))
                        e += de
            P = _rescale(P, e, t, k)
        return np.swapaxes(P, -1, -2).copy() if layout == "backprop" else P

    def lmatmat(self, t: int, P: np.ndarray) -> np.ndarray:
        """``P @ J_t`` for ``P`` of shape ``(*batch, m, n_out)`` (a row block times the step)."""
        return np.swapaxes(self.rmatmat(t, np.swapaxes(P, -1, -2)), -1, -2)

    def operator(self, t: int | None = None, k: int | None = None, *,
                 layout: str = "numerator"):
        """``dh_t/dh_k`` as a matrix-free :class:`scipy.sparse.linalg.LinearOperator`.

        Each matvec/rmatvec costs O((t-k) n^2) and never forms an n x n
        matrix.  ``layout="backprop"`` gives the transpose.
        """
        check_choice(layout, "layout", LAYOUTS)
        t, k = self.check_span(t, k)
        if self.batch_shape:
            raise ValueError(f"`operator` needs a single sequence; this one has batch shape "
                             f"{self.batch_shape}; use .select(b) first")
        return _make_operator(self, t, k, layout)

    def select(self, b: int) -> "JacobianSequence":
        """The ``b``-th sequence of a batch."""
        raise ValueError("this Jacobian sequence has no batch axis")

    def _batch_index(self, b):
        if not self.batch_shape:
            raise ValueError("this Jacobian sequence has no batch axis")
        return check_int(b, "b", minimum=-self.batch_shape[0], maximum=self.batch_shape[0] - 1)

    def __repr__(self) -> str:
        shape = self.step_shape(1) if self.steps else ()
        batch = f", batch_shape={self.batch_shape}" if self.batch_shape else ""
        return f"{type(self).__name__}(steps={self.steps}, step_shape={shape}{batch})"


def _normalise(P):
    """``P = Q 2^e`` with max|Q| in [0.5, 1) per batch member (Q = 0 stays 0)."""
    m = np.max(np.abs(P), axis=(-2, -1)) if P.size else np.zeros(P.shape[:-2])
    if not np.all(np.isfinite(m)):
        raise NumericalError("a step Jacobian product has non-finite entries")
    e = np.frexp(m)[1]
    return np.ldexp(P, -e[..., None, None]), e


# Steps are materialised in chunks of about this many bytes (vectorised), so the
# per-step work of a product is one GEMM and one dot product (no Python-level
# normalisation): the running product is rescaled by an exact power of two only
# when its norm leaves [2^-100, 2^100] or the next step could overflow it.
_CHUNK_BYTES = 1 << 21
_LO, _HI = 2.0 ** -200, 2.0 ** 200   # bounds on the squared Frobenius norm
_SAFE_EXP = 400   # |log2 ||P|| + log2 ||J||| beyond this: pre-scale P (no overflow, no subnormals)
_CHECK_EVERY = 4  # steps between checks of the product's norm


def step_operator(seq, side="left"):
    """``(apply, log2_bound)`` for a single square sequence.

    ``apply(s, P)`` is ``J_s @ P`` (``side="left"``) or ``P @ J_s``
    (``"right"``); ``log2_bound[s - 1]`` is an upper bound on ``log2 ||J_s||_2``
    (``-inf`` for a zero step, 0 when unknown).  Structured sequences are never
    materialised, dense ones are read in place, and anything else is used
    through its ``matmat``/``lmatmat``.
    """
    T = seq.steps
    if (isinstance(seq, ScaledJacobians) and seq.shift is None and not seq.batch_shape
            and (seq.row is None) != (seq.col is None)):
        W = seq.W
        by_row = seq.row is not None
        v = seq.row if by_row else seq.col
        if not np.all(np.isfinite(v)):
            raise NumericalError("a step Jacobian has non-finite entries")
        with np.errstate(divide="ignore"):
            bound = np.log2(np.max(np.abs(v), axis=-1)) + _log2_fro(W)   # ||diag(v) W||_F bound
        if by_row:      # J = diag(d) W:  J P = diag(d) (W P),  P J = (P diag(d)) W
            if side == "left":
                D = v[:, :, None]

                def apply(s, P):
                    return D[s - 1] * (W @ P)
            else:
                def apply(s, P):
                    return (P * v[s - 1]) @ W
        else:           # J = W diag(d):  J P = W (diag(d) P),  P J = (P W) diag(d)
            if side == "left":
                D = v[:, :, None]

                def apply(s, P):
                    return W @ (D[s - 1] * P)
            else:
                def apply(s, P):
                    return (P @ W) * v[s - 1]
        return apply, bound
    if isinstance(seq, DenseJacobians) and seq._array is not None and not seq.batch_shape:
        M = seq._array
        n = M.shape[-1]
        bound = np.empty(T)
        L = max(1, _CHUNK_BYTES // (8 * n * n))
        for a in range(0, T, L):
            big = np.max(np.abs(M[a:a + L]), axis=(-2, -1))
            if not np.all(np.isfinite(big)):
                raise NumericalError(f"a step Jacobian among J_{a + 1}..J_{min(T, a + L)} has "
                                     "non-finite entries")
            with np.errstate(divide="ignore"):
                bound[a:a + L] = np.log2(big) + np.log2(n)        # ||J||_2 <= n max|J_ij|
        if side == "left":
            def apply(s, P):
                return M[s - 1] @ P
        else:
            def apply(s, P):
                return P @ M[s - 1]
        return apply, bound
    # any other sequence: the carried product is kept near norm 1, the step sets the range
    return (seq.matmat if side == "left" else seq.lmatmat), np.zeros(T)


def _log2_fro(W):
    """log2 ||W||_F without overflow in the squares."""
    m = float(np.max(np.abs(W))) if W.size else 0.0
    if m == 0.0:
        return -np.inf
    return float(np.log2(m) + 0.5 * np.log2(np.sum(np.square(W / m))))


def _chain_product(seq, t, k):
    """``J_t ... J_{k+1} = P 2^e`` for a single square sequence: one GEMM per step.

    The squared Frobenius norm of the running product is checked every
    ``_CHECK_EVERY`` steps, and at once when the step bounds say that the
    product could grow by more than 2^64 since the last check; steps whose
    norm bound lies beyond 2^+-64 are handled one by one (pre-scaling P so
    that J P is about one).
    """
    apply, bound = step_operator(seq, "left")
    bl = bound.tolist()
    dot, log2 = np.dot, math.log2
    P, e = _normalise(np.array(seq.matrix(k + 1), dtype=seq.dtype))
    e = int(e)
    lp = 0.0       # log2 ||P||_F at the last check (about 0 after normalising)
    grown = 0.0    # sum of the step bounds since the last check
    since = 0
    for s in range(k + 2, t + 1):
        lj = bl[s - 1]
        if not -64.0 < lj < 64.0:
            if lj == -math.inf:        # an exactly zero step: the product is zero
                return np.zeros_like(P), 0
            flat = P.reshape(-1)
            lp = 0.5 * log2(max(float(dot(flat, flat)), 1e-300))
            if not -_SAFE_EXP < lp + lj < _SAFE_EXP:
                shift = int(round(lp + lj))      # pre-scale P so that J P is about 1
                P = np.ldexp(P, -shift)
                e += shift
        P = apply(s, P)
        grown += lj if lj > 0 else 0.0
        since += 1
        if since < _CHECK_EVERY and grown < 64.0:
            continue
        since, grown = 0, 0.0
        flat = P.reshape(-1)
        f2 = float(dot(flat, flat))
        if _LO < f2 < _HI:
            continue
        if f2 == 0.0 and not np.any(P):        # an exactly zero product stays zero
            return P, e
        P, de = _normalise(P)   # also rejects non-finite entries
        e += int(de)
    return P, e


def _rescale(Q, e, t, k):
    """``Q 2^e``, or a NumericalError naming the span when that leaves the trusted range."""
    m = np.max(np.abs(Q), axis=(-2, -1)) if Q.size else np.zeros(Q.shape[:-2])
    nonzero = m > 0
    log10_max = np.where(nonzero, (np.log2(np.where(nonzero, m, 1.0)) + e) * np.log10(2.0), -np.inf)
    if np.any(log10_max > np.log10(_HUGE)):
        raise NumericalError(
            f"the product dh_{t}/dh_{k} overflows float64 (largest entry about "
            f"1e{float(np.max(log10_max)):.0f}); use spectra.product_log_singular_values or "
            "spectra.gradient_norm_profile, which work in the log domain")
    if np.any(nonzero & (log10_max < np.log10(_TINY))):
        raise NumericalError(
            f"the product dh_{t}/dh_{k} underflows float64 (largest entry about "
            f"1e{float(np.min(log10_max[nonzero])):.0f}); use spectra.product_log_singular_values "
            "or spectra.gradient_norm_profile, which work in the log domain")
    return np.ldexp(Q, e[..., None, None])


def _make_operator(seq, t, k, layout):
    from scipy.sparse.linalg import LinearOperator  # lazily: slow to import

    n_out, n_in = seq.state_size(t), seq.state_size(k)

    def fwd(X):
        return seq.apply(t, k, np.asarray(X, dtype=seq.dtype))

    def bwd(Y):
        return seq.rapply(t, k, np.asarray(Y, dtype=seq.dtype))

    if layout == "backprop":
        fwd, bwd = bwd, fwd
        n_out, n_in = n_in, n_out

    class _ProductOperator(LinearOperator):
        def __init__(self):
            super().__init__(dtype=seq.dtype, shape=(n_out, n_in))

        def _matvec(self, x):
            return fwd(np.reshape(x, (n_in, 1)))[:, 0]

        def _rmatvec(self, y):
            return bwd(np.reshape(y, (n_out, 1)))[:, 0]

        def _matmat(self, X):
            return fwd(X)

        def _rmatmat(self, Y):
            return bwd(Y)

        def __repr__(self):
            name = "(dh_{t}/dh_{k})^T" if layout == "backprop" else "dh_{t}/dh_{k}"
            return f"<{n_out}x{n_in} matrix-free operator {name.format(t=t, k=k)}>"

    return _ProductOperator()


# ---------------------------------------------------------------------------------------


class DenseJacobians(JacobianSequence):
    """Explicit step Jacobians.

    Parameters
    ----------
    mats : (T, n, n) or (B, T, n, n) array_like, or a sequence of 2-D arrays
        ``mats[t-1]`` is ``J_t``.  A list of matrices of different shapes is
        accepted when consecutive shapes chain (``J_t`` has as many columns as
        ``J_{t-1}`` has rows), e.g. the layers of a rectangular MLP.
    name : str
        Argument name used in error messages.
    dtype : float32 or float64
    """

    def __init__(self, mats, *, name: str = "J", dtype=np.float64):
        if isinstance(mats, np.ndarray) or is_tensor(mats):
            arr = as_array(mats, name, dtype=dtype)
            self._init_array(arr, name)
            return
        try:
            items = list(mats)
        except TypeError:
            raise TypeError(f"`{name}` must be a Trajectory, an array of shape (T, n, n) or a "
                            f"sequence of matrices; got {describe(mats)}") from None
        mats_ = [as_array(m, f"{name}[{i}]", dtype=dtype, ndim=2) for i, m in enumerate(items)]
        if mats_ and len({m.shape for m in mats_}) == 1:
            self._init_array(np.stack(mats_), name)
            return
        if not mats_:
            raise ValueError(f"`{name}` must contain at least one matrix; got an empty sequence")
        for i in range(1, len(mats_)):
            if mats_[i].shape[1] != mats_[i - 1].shape[0]:
                raise ValueError(f"`{name}` steps must chain: {name}[{i}] has shape {mats_[i].shape} "
                                 f"but {name}[{i - 1}] has shape {mats_[i - 1].shape} "
                                 f"(need {mats_[i - 1].shape[0]} columns)")
        self._mats = tuple(mats_)
        self._array = None
        self.steps = len(mats_)
        self.batch_shape = ()
        self.dtype = mats_[0].dtype

    def _init_array(self, arr, name):
        if arr.ndim == 2:
            raise ValueError(f"`{name}` must be a sequence of matrices, shape (T, n, n); got one "
                             f"matrix of shape {arr.shape} (for a constant step use "
                             f"np.broadcast_to(W, (T, n, n)))")
        if arr.ndim not in (3, 4):
            raise ValueError(f"`{name}` must have shape (T, n, n) or (B, T, n, n); got shape {arr.shape}")
        if arr.shape[-1] != arr.shape[-2] and arr.shape[-3] > 1:
            raise ValueError(f"`{name}` steps must chain: every step has shape {arr.shape[-2:]}, "
                             f"so J_2 cannot follow J_1 (need square steps, or a list of "
                             "matrices whose shapes chain)")
        self._array = arr
        self._mats = None
        self.steps = arr.shape[-3]
        self.batch_shape = arr.shape[:-3]
        self.dtype = arr.dtype

    def step_shape(self, t):
        if self._array is not None:
            return self._array.shape[-2:]
        return self._mats[t - 1].shape

    @property
    def is_square(self):
        if self._array is not None:
            return self._array.shape[-1] == self._array.shape[-2]
        return super().is_square

    def matrix(self, t):
        return self._array[..., t - 1, :, :] if self._array is not None else self._mats[t - 1]

    def matrices(self, start=1, stop=None):
        stop = self.steps if stop is None else stop
        if self._array is not None:
            return self._array[..., start - 1:stop, :, :]
        return super().matrices(start, stop)

    def matmat(self, t, X):
        return self.matrix(t) @ X

    def rmatmat(self, t, Y):
        return np.swapaxes(self.matrix(t), -1, -2) @ Y

    def lmatmat(self, t, P):
        return P @ self.matrix(t)

    def select(self, b):
        b = self._batch_index(b)
        return DenseJacobians(self._array[b])


class ScaledJacobians(JacobianSequence):
    """``J_t = diag(shift) + diag(row_t) W diag(col_t)`` with one shared ``W``.

    Parameters
    ----------
    W : (n_out, n_in) array
        The shared weight matrix (kept by reference, never copied per step).
    steps : int
        T.  Needed when neither ``row`` nor ``col`` is given (J_t = W + shift).
    row : (*batch, T, n_out) array, optional
        Row scalings (the Elman cell's f'(a_t)).
    col : (*batch, T, n_in) array, optional
        Column scalings (the recurrent-first cell's f'(h_{t-1})).
    shift : float or (n,) array, optional
        A constant diagonal added to every step (leaky alpha; 1 for a residual
        layer); needs ``n_out == n_in``.

    Notes
    -----
    Scalings below the smallest normal number are stored as exact zeros.
    ``matmat`` costs one GEMM with W plus O(n m) scaling, ``matrix`` O(n^2),
    and ``logabsdet`` O(n) per step once ``log|det W|`` is known (when there
    is no shift).
    """

    def __init__(self, W, *, steps=None, row=None, col=None, shift=None):
        self.W = W
        self.row = without_subnormals(row)
        self.col = without_subnormals(col)
        self.shift = None if shift is None else np.asarray(shift, dtype=W.dtype)
        self.dtype = W.dtype
        ref = row if row is not None else col
        if ref is not None:
            self.steps = ref.shape[-2]
            self.batch_shape = ref.shape[:-2]
        else:
            self.steps = check_int(steps, "steps", minimum=0)
            self.batch_shape = ()
        if shift is not None and W.shape[0] != W.shape[1]:
            raise ValueError(f"`shift` needs a square `W`; got shape {W.shape}")
        self._logdetW = None
        self._svW = None

    def step_shape(self, t):
        return self.W.shape

    @property
    def is_square(self):
        return self.W.shape[0] == self.W.shape[1]

    def _row(self, t):
        return None if self.row is None else self.row[..., t - 1, :]

    def _col(self, t):
        return None if self.col is None else self.col[..., t - 1, :]

    def matrix(self, t):
        return self._compose(self._row(t), self._col(t))

    def _compose(self, row, col):
        J = self.W
        if row is not None:
            J = row[..., :, None] * J
        if col is not None:
            J = J * col[..., None, :]
        if self.shift is not None:
            n = self.W.shape[0]
            J = J + np.broadcast_to(self.shift, (n,))[:, None] * np.eye(n, dtype=self.dtype)
        if J is self.W:
            J = J.copy()
        return J

    def matrices(self, start=1, stop=None):
        stop = self.steps if stop is None else stop
        row = None if self.row is None else self.row[..., start - 1:stop, :]
        col = None if self.col is None else self.col[..., start - 1:stop, :]
        if row is None and col is None:
            J = self._compose(None, None)
            return np.broadcast_to(J, self.batch_shape + (stop - start + 1,) + J.shape).copy()
        return self._compose(row, col)

    def matmat(self, t, X):
        row, col = self._row(t), self._col(t)
        Y = X if col is None else col[..., :, None] * X
        Y = self.W @ Y
        if row is not None:
            Y = row[..., :, None] * Y
        if self.shift is not None:
            Y = Y + np.reshape(self.shift, (-1, 1)) * X
        return Y

    def rmatmat(self, t, Y):
        row, col = self._row(t), self._col(t)
        Z = Y if row is None else row[..., :, None] * Y
        Z = self.W.T @ Z
        if col is not None:
            Z = col[..., :, None] * Z
        if self.shift is not None:
            Z = Z + np.reshape(self.shift, (-1, 1)) * Y
        return Z

    def step_norm_bounds(self):
        """Cheap per-step bounds from the factors (O(T n) after one SVD of W).

        ``||J_t|| <= max|shift| + max|row_t| ||W|| max|col_t|``.  Without a
        shift, ``s_min(J_t) >= min|row_t| s_min(W) min|col_t|`` (square W);
        with one, Weyl's inequality ``s_min(A + B) >= s_min(A) - ||B||``
        gives ``min|shift| - max|row_t| ||W|| max|col_t|``, clamped at 0.
        For the Elman cell the upper bound is the "trajectory bound"
        ``max_i |f'(a_{t,i})| ||W_hh||``, never looser than gamma_h ||W_hh||.
        """
        if self._svW is None:
            self._svW = np.linalg.svd(self.W, compute_uv=False)
        smax, smin = float(self._svW[0]), float(self._svW[-1]) if self.is_square else 0.0
        shape = self.batch_shape + (self.steps,)
        rmax = np.ones(shape) if self.row is None else np.max(np.abs(self.row), axis=-1)
        rmin = np.ones(shape) if self.row is None else np.min(np.abs(self.row), axis=-1)
        cmax = np.ones(shape) if self.col is None else np.max(np.abs(self.col), axis=-1)
        cmin = np.ones(shape) if self.col is None else np.min(np.abs(self.col), axis=-1)
        scaled_up = rmax * smax * cmax
        scaled_lo = rmin * smin * cmin
        if self.shift is not None:
            a = np.abs(np.broadcast_to(self.shift, (self.W.shape[0],)))
            upper = a.max() + scaled_up
            # J = diag(shift) + S: s_min(J) >= s_min(diag(shift)) - ||S|| (Weyl)
            lower = np.maximum(a.min() - scaled_up, 0.0)
        else:
            upper, lower = scaled_up, scaled_lo
        with np.errstate(divide="ignore"):
            return np.log(upper), np.log(lower)
    def apply(self, t, k, X):
        # A block of vectors is carried as rows (X^T, contiguous): BLAS streams W once per
        # step with the block as the short side, about 1.3x (A) and 2x (A^T) faster than
        # W @ X and W^T @ X for a few dozen vectors at n = 4096 (measured, OpenBLAS).
        if self.batch_shape or X.ndim != 2 or X.shape[1] < 2:
            return super().apply(t, k, X)
        Z = np.ascontiguousarray(X.T)
        for s in range(k + 1, t + 1):
            Z = self._times_transpose(s, Z)
        return Z.T

    def rapply(self, t, k, Y):
        if self.batch_shape or Y.ndim != 2 or Y.shape[1] < 2:
            return super().rapply(t, k, Y)
        Z = np.ascontiguousarray(Y.T)
        for s in range(t, k, -1):
            Z = self.lmatmat(s, Z)
        return Z.T

    def _times_transpose(self, t, Z):
        """``Z @ J_t^T`` (rows of Z are vectors: the rows of (J_t Z^T)^T)."""
        row, col = self._row(t), self._col(t)
        Y = Z if col is None else Z * col
        Y = Y @ self.W.T
        if row is not None:
            Y = Y * row
        if self.shift is not None:
            Y = Y + Z * np.reshape(self.shift, (1, -1))
        return Y

    def lmatmat(self, t, P):
        row, col = self._row(t), self._col(t)
        Z = P if row is None else P * row[..., None, :]
        Z = Z @ self.W
        if col is not None:
            Z = Z * col[..., None, :]
        if self.shift is not None:
            Z = Z + P * np.reshape(self.shift, (1, -1))
        return Z

    def logabsdet(self, t):
        self.require_square("logabsdet")
        if self.shift is not None:
            return super().logabsdet(t)
        if self._logdetW is None:
            with np.errstate(divide="ignore"):
                self._logdetW = float(np.linalg.slogdet(self.W)[1])
        out = np.full(self.batch_shape, self._logdetW)
        with np.errstate(divide="ignore"):
            for v in (self._row(t), self._col(t)):
                if v is not None:
                    out = out + np.sum(np.log(np.abs(v)), axis=-1)
        return out

    def select(self, b):
        b = self._batch_index(b)
        return ScaledJacobians(self.W, steps=self.steps,
                               row=None if self.row is None else self.row[b],
                               col=None if self.col is None else self.col[b],
                               shift=self.shift)


def without_subnormals(v):
    """Factors below the normal range (tanh' beyond |x| ~ 354, a saturated gate) become 0.

    Returns ``v`` itself when nothing changes, else a copy: no BLAS call then
    sees a subnormal operand (they run ~200x slower), and such a factor is zero
    to working precision anyway.
    """
    if v is None:
        return None
    tiny = np.finfo(v.dtype).tiny
    small = (v != 0) & (np.abs(v) < tiny)
    if np.any(small):
        v = np.where(small, 0, v).astype(v.dtype)
    return v


def as_jacobian_sequence(J, *, name: str = "J") -> JacobianSequence:
    """Accept a Trajectory, a JacobianSequence, an array or a sequence of matrices."""
    if isinstance(J, JacobianSequence):
        return J
    seq = getattr(J, "jacobian_sequence", None)
    if isinstance(seq, JacobianSequence):
        return seq
    if J is None or isinstance(J, (str, bytes, dict)):
        raise TypeError(f"`{name}` must be a Trajectory, a JacobianSequence, an array of shape "
                        f"(T, n, n) or a sequence of matrices; got {describe(J)}")
    return DenseJacobians(J, name=name)
