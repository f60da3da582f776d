"""Cells and Jacobian sequences whose derivatives come from an autodiff framework.

The shared part of :class:`~spectra.TorchCell`, :class:`~spectra.JaxCell` and
the torch depth stacks (:func:`spectra.cells.depth.depth_stack`): a
:class:`AutodiffJacobians` sequence keeps only the points where each step is
linearised (O(T n) memory) and asks a *backend* for products with the step
Jacobians.  A backend is any object with three methods, all taking and
returning numpy arrays except the stored point ``p`` (whatever the backend
keeps, e.g. a tensor on its device):

``jvp(t, p, V)``
    ``J_t @ V`` for ``V`` of shape ``(n_in, m)``.
``vjp(t, p, U)``
    ``J_t^T @ U`` for ``U`` of shape ``(n_out, m)``.
``jacobian(t, p)``
    The dense ``J_t``, ``(n_out, n_in)``.

and may have

``chain(t, k, points)``
    ``(P, e)`` with ``dh_t/dh_k = P 2^e`` (``P`` a numpy array, ``e`` an
    integer): the whole dense product in the backend's own framework
    (:class:`~spectra.TorchCell` does it in one reverse pass); without it
    :meth:`AutodiffJacobians.product` chains ``vjp`` calls step by step.
``left_products(t, k, points, matrices)``
    A generator of ``(s0, P, f2, e)``, every left product ``dh_t/dh_s`` for
    s = t-1 down to k, a chunk of steps at a time: ``P[:, i, :] 2^e = dh_t/dh_{s0+i}``
    (numpy ``(n_t, m, n)``; None if ``matrices`` is False), ``f2[i]`` its
    squared Frobenius norm, within ``2^(+-1000)`` or exactly 0 (a zero
    product, the last item).  :meth:`AutodiffJacobians.left_products` offers
    it to :func:`spectra.gradient_norm_profile`.
``jacobians(t0, t1, points)``
    The dense ``J_s`` for s = t0+1..t1 as one ``(t1 - t0, n_out, n_in)`` array
    (one vectorised call); :meth:`AutodiffJacobians.matrix` then forms the
    step Jacobians a block of steps at a time (Lyapunov spectra, singular
    values of products).

Neither torch nor jax is imported here.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import numpy as np

from .._core.errors import NumericalError
from .._core.validation import check_choice, check_int, describe
from ..jacobians.kernels import normalise, rescale
from ..jacobians.sequence import LAYOUTS, JacobianSequence
from .base import Cell

__all__ = ["AutodiffJacobians", "FunctionCell", "check_finite"]


def check_finite(a, what):
    """Raise :class:`NumericalError` naming ``what`` when ``a`` has a NaN or inf."""
    if not np.all(np.isfinite(a)):
        bad = "NaN" if np.isnan(a).any() else "inf"
        raise NumericalError(f"{what} is not finite (it contains {bad})")
    return a


class AutodiffJacobians(JacobianSequence):
    """Step Jacobians kept matrix-free: products through a backend's jvp/vjp.

    Parameters
    ----------
    backend : object
        Has ``jvp(t, p, V)``, ``vjp(t, p, U)`` and ``jacobian(t, p)`` (see the
        module docstring).
    points : sequence
        ``points[t - 1]`` is what the backend needs to linearise step t
        (for a batch, ``points[b][t - 1]``).
    shapes : sequence of (n_out, n_in)
        The shape of every step Jacobian.
    batch : int or None
        The number of independent sequences, or None for one sequence.

    Notes
    -----
    ``matmat``/``rmatmat`` cost one vectorised jvp/vjp of the step function
    per call (m columns at once); ``matrix(t)`` costs one ``jacrev`` or
    ``jacfwd``.  Memory: the stored points only, O(T n).
    """

    def __init__(self, backend, points, shapes, batch=None, step_word="step"):
        self.backend = backend
        self.points = points
        self.shapes = tuple(tuple(int(d) for d in s) for s in shapes)
        self.steps = len(self.shapes)
        self.batch = batch
        self.batch_shape = () if batch is None else (int(batch),)
        self._step_word = step_word

    def step_shape(self, t):
        return self.shapes[t - 1]

    def _each(self, t, A, fn, rows):
        t = self._check_time(t, "t", minimum=1)
        A = np.asarray(A, dtype=np.float64)
        if A.shape[-2] != rows:
            raise ValueError(f"the operand must have {rows} rows for {self._step_word} {t}; "
                             f"got shape {A.shape}")
        if self.batch is None:
            if A.ndim != 2:
                raise ValueError(f"the operand must be 2-D (no batch axis); got shape {A.shape}")
            return fn(t, self.points[t - 1], A)
        A = np.broadcast_to(A, self.batch_shape + A.shape[-2:])
        return np.stack([fn(t, self.points[b][t - 1], A[b]) for b in range(self.batch)])

    def matmat(self, t, X):
        if getattr(self.backend, "jacobians", None) is not None:
            t = self._check_time(t, "t", minimum=1)
            X = np.asarray(X, dtype=np.float64)
            n_out, n_in = self.step_shape(t)
            if X.ndim == (2 if self.batch is None else 3) and X.shape[-2] == n_in \
                    and 4 * X.shape[-1] >= min(n_out, n_in):
                # a wide block (a QR frame): J_t from the sweep's block, then one GEMM
                return self.matrix(t) @ X
        return self._each(t, X, self.backend.jvp, self.step_shape(t)[1])

    def rmatmat(self, t, Y):
        return self._each(t, Y, self.backend.vjp, self.step_shape(t)[0])

    BLOCK_BYTES = 2 ** 23     # a block of step Jacobians formed at once: at most 8 MiB

    def matrix(self, t):
        t = self._check_time(t, "t", minimum=1)
        if getattr(self.backend, "jacobians", None) is not None:
            if self.batch is None:
                return self._from_block(t, None)
            return np.stack([self._from_block(t, b) for b in range(self.batch)])
        if self.batch is None:
            return self.backend.jacobian(t, self.points[t - 1])
        return np.stack([self.backend.jacobian(t, self.points[b][t - 1])
                         for b in range(self.batch)])

    def _from_block(self, t, b):
        """``J_t``; in a sweep, from the (read-only) block of steps holding t, formed by the
        backend's ``jacobians`` in one call and kept until a step of another block is asked for.

        A sweep is recognised when t is next to the step asked for last; blocks are
        aligned (steps c i + 1 .. c (i + 1)), so a sweep in either direction forms every
        step Jacobian once, and a lone ``matrix(t)`` forms only J_t."""
        n_out, n_in = self.step_shape(t)
        c = max(1, min(32, self.BLOCK_BYTES // (8 * max(1, n_out * n_in))))
        i = (t - 1) // c
        cache = self.__dict__.setdefault("_blocks", {})
        last, hit = cache.get(b, (None, None))
        cache[b] = (t, hit)
        points = self.points if b is None else self.points[b]
        if hit is None or hit[0] != i:
            t0, t1 = i * c, min(self.steps, (i + 1) * c)
            if last is None or abs(t - last) != 1 or \
                    any(self.shapes[s] != (n_out, n_in) for s in range(t0, t1)):
                return self.backend.jacobian(t, points[t - 1])
            block = self.backend.jacobians(t0, t1, points)
            block.flags.writeable = False
            cache[b] = (t, (i, block))
            return block[t - 1 - t0]
        return hit[1][t - 1 - i * c]

    def left_products(self, t=None, k=None, *, matrices=True):
        """The backend's chunked left products ``dh_t/dh_s`` (see the module docstring), or
        None when it has none or the sequence is batched."""
        hook = getattr(self.backend, "left_products", None)
        if hook is None or self.batch is not None:
            return None
        t, k = self.check_span(t, k)
        return hook(t, k, self.points, matrices)

    def product(self, t=None, k=None, *, layout="numerator"):
        """Dense ``dh_t/dh_k``, accumulated from the left end: ``P <- P J_s`` by vjp.

        A reverse-mode product ``P J_s`` costs one vectorised vjp (about one
        GEMM), while ``J_s P`` would need the dense ``J_s`` first (two), so
        the product starts from the dense ``J_t`` and moves towards k.  The
        running product is kept normalised by exact powers of two, as in
        :meth:`JacobianSequence.product`.  A backend with a ``chain`` method
        computes the whole product itself (see the module docstring).
        """
        check_choice(layout, "layout", LAYOUTS)
        t, k = self.check_span(t, k)
        chain = getattr(self.backend, "chain", None)
        if t - k < 2 or (self.batch is not None and chain is None):
            return super().product(t, k, layout=layout)
        if chain is not None:     # the backend's own reverse pass (TorchCell: one torch pass)
            if self.batch is None:
                P, e = chain(t, k, self.points)
            else:
                parts = [chain(t, k, self.points[b]) for b in range(self.batch)]
                P, e = np.stack([p[0] for p in parts]), [p[1] for p in parts]
            e = np.asarray(e)
        else:
            with np.errstate(over="ignore", under="ignore"):
                P, e = normalise(self.matrix(t))
                for s in range(t - 1, k, -1):
                    P, de = normalise(self.lmatmat(s, P))
                    e += de
        P = rescale(P, e, t, k)
        return np.swapaxes(P, -1, -2).copy() if layout == "backprop" else P

    def select(self, b):
        b = self._batch_index(b)
        return AutodiffJacobians(self.backend, self.points[b], self.shapes, None, self._step_word)


class FunctionCell(Cell):
    """Base of the cells made from a user's step function ``step(h, x) -> h_new``.

    A subclass builds a backend (see the module docstring) with two more
    methods: ``forward(h, x)`` (numpy in, numpy out: one step, ``x`` None
    for a cell without input) and ``points(H, X)`` (what the Jacobian
    sequence stores, from the states h_0..h_{T-1} ``(T, n)`` and the inputs
    ``(T, m)`` or None).
    """

    def _setup(self, step, state_size, input_size):
        if not callable(step):
            raise TypeError(f"`step` must be a function or module step(h, x) -> h_new; "
                            f"got {describe(step)}")
        self.n = check_int(state_size, "state_size", minimum=1)
        self.input_size = 0 if input_size is None else check_int(input_size, "input_size", minimum=0)
        self.step_function = step

    def _probe(self):
        """One step from zeros, so a step of the wrong shape fails at construction."""
        x = np.zeros(self.input_size) if self.input_size else None
        self._forward(np.zeros(self.n), x, probe=True)

    def _forward(self, h, x, probe=False):
        out = self.backend.forward(h, x)
        if out.shape != (self.n,):
            raise ValueError(f"`step` must return a 1-D state of shape ({self.n},) (state_size) "
                             f"from h of shape ({self.n},); got shape {out.shape}")
        if not np.all(np.isfinite(out)):
            where = "from the zero state at construction" if probe else \
                f"from a finite state of norm {np.linalg.norm(h):.3g}"
            bad = "NaN" if np.isnan(out).any() else "inf"
            raise NumericalError(f"`step` returned a non-finite state ({bad}) {where}: the step "
                                 "function produces NaN/inf there, or the run diverges")
        return out

    # -- the protocol ------------------------------------------------------------------
    def input_drive(self, X, steps, batch_shape):
        if X is None:
            return np.zeros(batch_shape + (steps, self.input_size))
        return X

    def advance(self, h, u):
        x = u if self.input_size else None
        if h.ndim == 1:
            out = self._forward(h, x)
        else:
            out = np.stack([self._forward(h[b], None if x is None else x[b])
                            for b in range(h.shape[0])])
        return out, (u if self.input_size else None)

    def _points(self, states, aux):
        """What the Jacobian sequence stores for one run ``states`` (T + 1, n)."""
        return self.backend.points(states[:-1], aux)

    def factored_jacobians(self, states, aux):
        T = states.shape[-2] - 1
        shapes = [(self.n, self.n)] * T
        if states.ndim == 2:
            return AutodiffJacobians(self.backend, self._points(states, aux), shapes)
        pts = [self._points(states[b], None if aux is None else aux[b])
               for b in range(states.shape[0])]
        return AutodiffJacobians(self.backend, pts, shapes, batch=states.shape[0])

    def __repr__(self) -> str:
        inp = f", input_size={self.input_size}" if self.input_size else ""
        return f"{type(self).__name__}(state_size={self.n}{inp})"
