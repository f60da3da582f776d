"""Sequences of step Jacobians, kept factored.

A :class:`JacobianSequence` holds the step Jacobians J_1, ..., J_T of a step
map in numerator layout (row i = output unit i), optionally with one leading
batch axis of independent sequences.  Step indices are 1-based as in the
maths: ``J_t = dh_t/dh_{t-1}`` for ``t = 1..T``, and the Jacobian over a span
is ``dh_t/dh_k = J_t J_{t-1} ... J_{k+1}`` (the identity when ``k == t``).

Subclasses store what they need and never more:

Concrete sequences live in :mod:`spectra.jacobians.structured`:

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

import abc

import numpy as np

from .._core.validation import check_choice, check_int
from .kernels import (chain_product, chain_product_batched, chain_product32, check_dtype,
                      make_operator, normalise, rescale)

__all__ = ["JacobianSequence", "LAYOUTS", "without_subnormals"]

LAYOUTS = ("numerator", "backprop")



class JacobianSequence(abc.ABC):
    """Abstract sequence of step Jacobians J_1..J_T (numerator layout).

    An abstract base class: subclasses set ``steps``, ``batch_shape`` and
    ``dtype`` and implement ``step_shape(t)``, ``matrix(t)``, ``matmat(t, X)``
    and ``rmatmat(t, Y)`` (a class missing one cannot be instantiated);
    everything else has a generic implementation in terms of those, which a
    structured sequence may override (``matrices``, ``lmatmat``,
    ``logabsdet``, ``step_norm_bounds``, ``step_operator``, ``select``).
    """

    # -- interface -----------------------------------------------------------------
    steps: int
    batch_shape: tuple = ()
    dtype = np.dtype(np.float64)
    _step_word = "step"   # what error messages call a step ("layer" for feedforward stacks)

    @abc.abstractmethod
    def step_shape(self, t: int) -> tuple:
        """``(n_out, n_in)`` of ``J_t``."""

    @abc.abstractmethod
    def matrix(self, t: int) -> np.ndarray:
        """Dense ``J_t``, shape ``(*batch, n_out, n_in)``."""

    @abc.abstractmethod
    def matmat(self, t: int, X: np.ndarray) -> np.ndarray:
        """``J_t @ X`` for ``X`` of shape ``(*batch, n_in, m)`` (or ``(n_in, m)``)."""

    @abc.abstractmethod
    def rmatmat(self, t: int, Y: np.ndarray) -> np.ndarray:
        """``J_t^T @ Y`` for ``Y`` of shape ``(*batch, n_out, m)`` (or ``(n_out, m)``)."""

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
                layout: str = "numerator", dtype="float64") -> np.ndarray:
        """Dense ``dh_t/dh_k = J_t ... J_{k+1}`` (t defaults to T, k to 0).

        ``dtype="float32"`` (single square sequences only; never the default)
        runs the matrix products in single precision, about twice as fast at
        n >= 256; the exponents stay exact powers of two and the result is
        returned in float64, accurate to about ``(t - k) * 6e-8`` relative to
        the product of the step norms (measured: 2.0e-5 relative Frobenius
        error at n = 256, T = 1000 on a gain-1.2 tanh network).

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
        single = check_dtype(dtype) == "float32"
        if single and (self.batch_shape or not self.is_square):
            raise ValueError("`dtype='float32'` needs a single square Jacobian sequence; this one "
                             f"has batch shape {self.batch_shape}; use dtype='float64'")
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
                if single:
                    P, e = chain_product32(self, t, k)
                    P, e = P.astype(np.float64), np.asarray(e)
                elif self.is_square and not self.batch_shape:
                    P, e = chain_product(self, t, k)
                    e = np.asarray(e)
                else:
                    op = self.step_operator("left") if self.is_square else None
                    if op is not None and np.ndim(op[1]) == 2:    # per-member bounds: a batch
                        P, e = chain_product_batched(self, t, k, op)
                    else:
                        P, e = normalise(self.matrix(k + 1))
                        for s in range(k + 2, t + 1):
                            P, de = normalise(self.matmat(s, P))
                            e += de
            P = rescale(P, e, t, k)
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
        return make_operator(self, t, k, layout)

    def step_operator(self, side: str = "left"):
        """``(apply, log2_bound)``: ``apply(s, P)`` is ``J_s @ P`` (``side="left"``) or
        ``P @ J_s``; ``log2_bound[s - 1]`` bounds ``log2 ||J_s||_2`` (0 when unknown).

        The hot loop of products and profiles; subclasses with structure override it.
        """
        return (self.matmat if side == "left" else self.lmatmat), np.zeros(self.steps)

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
