"""Hot kernels of Jacobian products: chained GEMMs with exact power-of-two rescaling.

Everything here works on any :class:`~spectra.JacobianSequence` through its
``step_operator(side)`` (each sequence class supplies its own fast path), so
this module imports no sequence class.  The names are the documented internal
API of the products (used by :mod:`spectra.analysis` and :mod:`spectra.nonnormal`).
"""

from __future__ import annotations

import math

import numpy as np

from .._core.errors import NumericalError
from .single import block_products32

__all__ = ["normalise", "step_operator", "chain_product", "chain_product_batched",
           "prescale_members", "rescale",
           "make_operator", "log2_fro",
           "LO", "HI", "SAFE_EXP", "HUGE", "TINY", "CHUNK_BYTES", "check_dtype",
           "step_operator32", "chain_product32"]

# A dense product whose entries leave [TINY, HUGE] is no longer trustworthy in
# float64 (overflow, or subnormal numbers that lose precision and slow BLAS
# ~200x); the log-domain routines are the right tool then.
HUGE = 1e300
TINY = 1e-300


def normalise(P):
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
CHUNK_BYTES = 1 << 21
LO, HI = 2.0 ** -200, 2.0 ** 200   # bounds on the squared Frobenius norm
SAFE_EXP = 400   # |log2 ||P|| + log2 ||J||| beyond this: pre-scale P (no overflow, no subnormals)
CHECK_EVERY = 4  # steps between checks of the product's norm


def step_operator(seq, side="left"):
    """``(apply, log2_bound)`` for a single square sequence: ``seq.step_operator(side)``.

    ``apply(s, P)`` is ``J_s @ P`` (``side="left"``) or ``P @ J_s``
    (``"right"``); ``log2_bound[s - 1]`` is an upper bound on ``log2 ||J_s||_2``
    (``-inf`` for a zero step, 0 when unknown).  Structured sequences are never
    materialised, dense ones are read in place (each class supplies its own
    fast path), and anything else is used through its ``matmat``/``lmatmat``.
    """
    return seq.step_operator(side)


def log2_fro(W):
    """log2 ||W||_F without overflow in the squares."""
    m = float(np.max(np.abs(W))) if W.size else 0.0
    if m == 0.0:
        return -np.inf
    return float(np.log2(m) + 0.5 * np.log2(np.sum(np.square(W / m))))


def chain_product(seq, t, k):
    """``J_t ... J_{k+1} = P 2^e`` for a single square sequence: one GEMM per step.

    The squared Frobenius norm of the running product is checked every
    ``CHECK_EVERY`` steps, and at once when the step bounds say that the
    product could grow by more than 2^64 since the last check; steps whose
    norm bound lies beyond 2^+-64 are handled one by one (pre-scaling P so
    that J P is about one).
    """
    apply, bound = step_operator(seq, "left")
    bl = bound.tolist()
    dot, log2 = np.dot, math.log2
    P, e = normalise(np.array(seq.matrix(k + 1), dtype=seq.dtype))
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
            if not -SAFE_EXP < lp + lj < SAFE_EXP:
                shift = int(round(lp + lj))      # pre-scale P so that J P is about 1
                P = np.ldexp(P, -shift)
                e += shift
        P = apply(s, P)
        grown += lj if lj > 0 else 0.0
        since += 1
        if since < CHECK_EVERY and grown < 64.0:
            continue
        since, grown = 0, 0.0
        flat = P.reshape(-1)
        f2 = float(dot(flat, flat))
        if LO < f2 < HI:
            continue
        if f2 == 0.0 and not np.any(P):        # an exactly zero product stays zero
            return P, e
        P, de = normalise(P)   # also rejects non-finite entries
        e += int(de)
    return P, e


def chain_product_batched(seq, t, k, op=None):
    """``J_t ... J_{k+1} = P 2^e`` per member of a batch (``e`` of shape ``(B,)``).

    For a sequence whose ``step_operator`` gives per-member bounds (shape
    ``(B, T)``): one batched GEMM per step, the squared Frobenius norms of the
    running products checked every ``CHECK_EVERY`` steps (at once when a
    member's bounds allow a growth beyond 2^64 since the last check), and only
    the members outside [2^-200, 2^200] rescaled by exact powers of two; a step
    whose bound lies beyond 2^+-64 for some member is preceded by a check and a
    pre-scaling of that member, as in :func:`chain_product`.  ``op``: the
    ``step_operator("left")`` pair if already at hand.
    """
    apply, bound = seq.step_operator("left") if op is None else op
    P, e = normalise(np.array(seq.matrix(k + 1), dtype=seq.dtype))
    e = e.astype(np.int64)
    grown = np.zeros(P.shape[0])
    since = 0
    for s in range(k + 2, t + 1):
        lj = bound[:, s - 1]
        if not np.all((lj > -64.0) & (lj < 64.0)):
            if np.any(lj == -np.inf):          # an exactly zero step: that member's product is 0
                P[lj == -np.inf] = 0.0
            P = prescale_members(P, e, lj)
        P = apply(s, P)
        grown += np.maximum(np.where(np.isfinite(lj), lj, 0.0), 0.0)
        since += 1
        if since < CHECK_EVERY and grown.max() < 64.0:
            continue
        since = 0
        grown[:] = 0.0
        f2 = np.einsum("bij,bij->b", P, P)
        out = ~((f2 > LO) & (f2 < HI)) & (f2 != 0.0)
        if out.any():
            Pm, de = normalise(P[out])           # also rejects non-finite entries
            P[out] = Pm
            e[out] += de
    return P, e


def prescale_members(P, e, lj):
    """Before a step: the members of the stack ``P`` (B, n, n) whose step bound ``lj``
    (log2, shape (B,)) would take ``log2 ||P||`` beyond +-``SAFE_EXP`` are divided by
    2^round(log2 ||P|| + lj), so that J P is about 1; ``e`` (B,) int64 gains the shifts
    (in place).  Returns the new ``P``.

    >>> import numpy as np
    >>> P, e = np.stack([np.eye(2), np.eye(2)]), np.zeros(2, dtype=np.int64)
    >>> P = prescale_members(P, e, np.array([0.0, 500.0]))
    >>> e.tolist(), bool(P[1, 0, 0] == 2.0 ** -500)
    ([0, 500], True)
    """
    f2 = np.einsum("bij,bij->b", P, P)
    with np.errstate(divide="ignore"):
        lp = 0.5 * np.log2(np.maximum(f2, 1e-300))
    far = np.isfinite(lj) & ~((lp + lj > -SAFE_EXP) & (lp + lj < SAFE_EXP))
    if far.any():
        shift = np.where(far, np.round(np.where(far, lp + lj, 0.0)), 0.0).astype(np.int64)
        P = np.ldexp(P, -shift[:, None, None])
        e += shift
    return P


def rescale(Q, e, t, k):
    """``Q 2^e``, or a NumericalError naming the span when that leaves the trusted range."""
    m = np.max(np.abs(Q), axis=(-2, -1)) if Q.size else np.zeros(Q.shape[:-2])
    nonzero = m > 0
    log10_max = np.where(nonzero, (np.log2(np.where(nonzero, m, 1.0)) + e) * np.log10(2.0), -np.inf)
    if np.any(log10_max > np.log10(HUGE)):
        raise NumericalError(
            f"the product dh_{t}/dh_{k} overflows float64 (largest entry about "
            f"1e{float(np.max(log10_max)):.0f}); use spectra.product_log_singular_values or "
            "spectra.gradient_norm_profile, which work in the log domain")
    if np.any(nonzero & (log10_max < np.log10(TINY))):
        raise NumericalError(
            f"the product dh_{t}/dh_{k} underflows float64 (largest entry about "
            f"1e{float(np.min(log10_max[nonzero])):.0f}); use spectra.product_log_singular_values "
            "or spectra.gradient_norm_profile, which work in the log domain")
    return np.ldexp(Q, e[..., None, None])


def make_operator(seq, t, k, layout):
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

        def float32_products(self):
            """``(matmat, rmatmat)`` with float32 GEMMs (float64 in and out), or None: the
            single-precision passes of ``top_singular_values(..., precision="mixed")``
            (:func:`spectra.jacobians.single.block_products32`)."""
            return block_products32(seq, t, k, layout)

        def __repr__(self):
            name = "(dh_{t}/dh_{k})^T" if layout == "backprop" else "dh_{t}/dh_{k}"
            return f"<{n_out}x{n_in} matrix-free operator {name.format(t=t, k=k)}>"

    return _ProductOperator()


# -- the optional single-precision mode (issue 19 item 7) ----------------------------------
# The GEMMs run in float32; norms, logs and the power-of-two exponent stay in float64.
# float32 spans 2^-126..2^128, so the running product is checked at every step (one dot
# product, O(n^2) against the GEMM's O(n^3)) and kept with its squared Frobenius norm in
# [2^-60, 2^60]; a step whose bound would take it beyond 2^+-90 is pre-scaled first.
LO32, HI32 = 2.0 ** -60, 2.0 ** 60
SAFE_EXP32 = 90
DTYPES = ("float64", "float32")


def check_dtype(dtype):
    """``"float64"`` or ``"float32"`` from a name or numpy dtype; ValueError naming ``dtype``."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"`dtype` must be 'float64' (default) or 'float32'; got {dtype!r}")
    return name


def step_operator32(seq, side="left"):
    """``(apply, log2_bound)`` like :func:`step_operator`, with float32 GEMMs.

    A scaled step ``diag(d) W`` or ``W diag(d)`` uses W cast to float32 once; any other
    step matrix ``J_s`` is formed (O(n^2)) and cast to float32.  ``P`` must be float32.
    """
    _, bound = step_operator(seq, side)
    f32 = np.float32
    W, row, col = (getattr(seq, a, None) for a in ("W", "row", "col"))
    if (isinstance(W, np.ndarray) and W.ndim == 2 and getattr(seq, "shift", 0) is None
            and not seq.batch_shape and (row is None) != (col is None)):
        # a scaled step J = diag(d) W or W diag(d) (Elman-type): W cast once, never formed
        W32 = W.astype(f32)
        v32 = (row if row is not None else col).astype(f32)
        if row is not None:
            if side == "left":
                return (lambda s, P: v32[s - 1][:, None] * (W32 @ P)), bound
            return (lambda s, P: (P * v32[s - 1]) @ W32), bound
        if side == "left":
            return (lambda s, P: W32 @ (v32[s - 1][:, None] * P)), bound
        return (lambda s, P: (P @ W32) * v32[s - 1]), bound
    if side == "left":
        def apply(s, P):
            return seq.matrix(s).astype(f32) @ P
    else:
        def apply(s, P):
            return P @ seq.matrix(s).astype(f32)
    return apply, bound


def chain_product32(seq, t, k):
    """``J_t ... J_{k+1} = P 2^e`` with float32 GEMMs (P float32, e an int)."""
    apply, bound = step_operator32(seq, "left")
    bl = bound.tolist()
    P, e = normalise(np.array(seq.matrix(k + 1), dtype=np.float64))
    P, e = P.astype(np.float32), int(e)
    lp = 0.0
    for s in range(k + 2, t + 1):
        lj = bl[s - 1]
        if lj == -math.inf:
            return np.zeros_like(P), 0
        if not -SAFE_EXP32 < lp + lj < SAFE_EXP32:
            shift = int(round(lp + lj))
            P = np.ldexp(P, -shift).astype(np.float32)
            e += shift
        P = apply(s, P)
        flat = P.reshape(-1).astype(np.float64)
        f2 = float(np.dot(flat, flat))
        if not LO32 < f2 < HI32:
            if f2 == 0.0 and not np.any(P):
                return P, e
            P, de = normalise(P)
            P = P.astype(np.float32)
            e += int(de)
            flat = P.reshape(-1).astype(np.float64)
            f2 = float(np.dot(flat, flat))
        lp = 0.5 * math.log2(f2) if f2 > 0 else 0.0
    return P, e
