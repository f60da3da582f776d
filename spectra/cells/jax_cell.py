"""Any jax step function as a cell: :class:`JaxCell`.

``step(h, x) -> h_new`` on 1-D jax arrays becomes a :class:`~spectra.Cell`
whose step Jacobians stay matrix-free: products with a block of vectors are
one ``jax.jvp``/``jax.vjp`` vectorised by ``jax.vmap`` and compiled by
``jax.jit``; a dense step Jacobian is one ``jax.jacfwd``.  Everything runs
with float64 enabled locally (``jax.enable_x64``), so the rest of the
user's program keeps its own jax settings.

jax is imported inside functions only: importing this module does not load
it.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .autodiff import FunctionCell

__all__ = ["JaxCell"]


def _x64():
    """float64 on, for the duration of a block only."""
    import jax

    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    try:   # older jax
        from jax.experimental import enable_x64
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return enable_x64()


class _JaxStepBackend:
    def __init__(self, step):
        import jax

        self.step = step

        def f(h, x):
            return step(h, x)

        def jvp_cols(h, x, V):
            return jax.vmap(lambda v: jax.jvp(lambda g: f(g, x), (h,), (v,))[1],
                            in_axes=1, out_axes=1)(V)

        def vjp_cols(h, x, U):
            _, pull = jax.vjp(lambda g: f(g, x), h)
            return jax.vmap(lambda u: pull(u)[0], in_axes=1, out_axes=1)(U)

        def jac(h, x):
            return jax.jacfwd(lambda g: f(g, x))(h)

        self._f = jax.jit(f)
        self._jvp = jax.jit(jvp_cols)
        self._vjp = jax.jit(vjp_cols)
        self._jac = jax.jit(jac)

    @staticmethod
    def _array(a):
        import jax.numpy as jnp

        return None if a is None else jnp.asarray(np.asarray(a, dtype=np.float64))

    def forward(self, h, x):
        with _x64():
            out = self._f(self._array(h), self._array(x))
            return np.asarray(out, dtype=np.float64)

    def points(self, H, X):
        return [(np.array(H[t], dtype=np.float64), None if X is None else np.array(X[t]))
                for t in range(H.shape[0])]

    def _call(self, fn, p, A):
        with _x64():
            return np.asarray(fn(self._array(p[0]), self._array(p[1]), *A), dtype=np.float64)

    def jvp(self, t, p, V):
        return self._call(self._jvp, p, (self._array_x64(V),))

    def vjp(self, t, p, U):
        return self._call(self._vjp, p, (self._array_x64(U),))

    def jacobian(self, t, p):
        return self._call(self._jac, p, ())

    def _array_x64(self, a):
        with _x64():
            return self._array(a)


class JaxCell(FunctionCell):
    """A jax step function ``step(h, x) -> h_new`` as a cell, with Jacobians by jax.

    Parameters
    ----------
    step : callable
        Maps the state ``h`` (a 1-D float64 jax array of length
        ``state_size``) and the input ``x`` (1-D, length ``input_size``;
        None for a cell without input) to the new state, with jax
        operations (it is traced by ``jax.jit``: no Python control flow on
        values).
    state_size : int
        n, the length of h.
    input_size : int, optional
        The length of x (None or 0: no input; ``step`` gets ``x=None``).

    Notes
    -----
    The step Jacobians are kept matrix-free (the trajectory stores h_{t-1}
    and x_t, O(T n)); ``J_t @ V`` is one jitted ``jax.vmap`` of
    ``jax.jvp`` over the columns of V, ``J_t^T @ U`` one of ``jax.vjp``,
    and ``jacobian(t)`` one ``jax.jacfwd``.  float64 is enabled inside these
    calls only (``jax.enable_x64``).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> jnp = __import__("pytest").importorskip("jax.numpy")
    >>> W = np.random.default_rng(0).standard_normal((3, 3)) / 2
    >>> cell = spectra.JaxCell(lambda h, x: jnp.tanh(jnp.asarray(W) @ h), 3)
    >>> traj = cell.run(h0=np.ones(3), steps=5)
    >>> traj.product(5, 0).shape
    (3, 3)
    """

    def __init__(self, step, state_size, *, input_size=None):
        self._setup(step, state_size, input_size)
        import jax  # noqa: F401  (fails early and clearly when jax is missing)

        self.backend = _JaxStepBackend(step)
        self._probe()

    def parameters(self) -> dict:
        return {}

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """No parameters: a jax step closes over its weights, so ``{}``."""
        return {}
