"""The selective diagonal state-space cell of Mamba (Gu & Dao 2023).

``d`` channels, each with ``N`` states; channel c is driven by its own input
x_t[c].  Per step, from the input alone,

    Delta_t = softplus(W_delta x_t + b_delta)        (d,)    step sizes
    Abar_t  = exp(Delta_t[c] A[c, s])                (d, N)  A < 0
    B_t     = W_B x_t,   C_t = W_C x_t               (N,)

and ``h_t[c, s] = Abar_t[c, s] h_{t-1}[c, s] + Delta_t[c] B_t[s] x_t[c]``,
read out as ``y_t[c] = sum_s C_t[s] h_t[c, s] + D[c] x_t[c]``.  The state is
flattened channel-major: ``h[c * N + s]`` (``A.ravel()``'s order).  The state
Jacobian is ``diag(Abar_t)``, a :class:`~spectra.jacobians.DiagonalJacobians`.
"""

from __future__ import annotations

import math

import numpy as np

from .activations import _logistic
from .base import Cell, frozen as _frozen
from .registry import register_cell
from ..jacobians.diagonal import DiagonalJacobians
from ..jacobians.sequence import JacobianSequence
from .._core.validation import (as_array, as_generator, as_matrix, as_vector, check_dtype,
                                check_int, check_real, describe)

__all__ = ["SelectiveSSM", "SelectiveInputJacobians"]


def _softplus(z):
    return np.logaddexp(0.0, z)


class SelectiveInputJacobians(JacobianSequence):
    """``dh_t/dx_t`` of a :class:`SelectiveSSM` run ((d N) x d), kept factored.

    ``dh[c,s]/dx[j] = g[c,s] W_delta[c,j] + e[c] W_B[s,j] + [c = j] Delta[c] B[s]``
    with ``g = sigmoid(z) (A Abar h_{t-1} + B x)`` (the path through the step
    size), ``e = Delta x`` (through B_t) and the direct drive last.
    ``matmat`` costs O(d^2 m + d N m).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.SelectiveSSM.random(3, state_size=2, rng=0)
    >>> traj = cell.run(np.ones((4, 3)))
    >>> B = cell.input_jacobians(traj.states, traj.preactivations)
    >>> B.step_shape(1), B.matrix(4).shape
    ((6, 3), (6, 3))
    """

    def __init__(self, cell, g, e, delta, B):
        self.cell = cell
        self.g, self.e, self.delta, self.B = g, e, delta, B     # (*b,T,d,N) (*b,T,d) (*b,T,d) (*b,T,N)
        self.steps = e.shape[-2]
        self.batch_shape = e.shape[:-2]
        self.dtype = cell.dtype

    def step_shape(self, t):
        return (self.cell.n, self.cell.input_size)

    def _at(self, t):
        i = t - 1
        return self.g[..., i, :, :], self.e[..., i, :], self.delta[..., i, :], self.B[..., i, :]

    def matrix(self, t):
        return self.matmat(t, np.eye(self.cell.input_size, dtype=self.dtype))

    def matmat(self, t, X):
        g, e, delta, B = self._at(t)
        c = self.cell
        d, N = c.channels, c.state_size
        X = np.asarray(X)
        M = (g[..., :, :, None] * (c.W_delta @ X)[..., :, None, :]
             + e[..., :, None, None] * (c.W_B @ X)[..., None, :, :]
             + (delta[..., :, None] * B[..., None, :])[..., None] * X[..., :, None, :])
        return M.reshape(M.shape[:-3] + (d * N, X.shape[-1]))

    def rmatmat(self, t, Y):
        g, e, delta, B = self._at(t)
        c = self.cell
        d, N = c.channels, c.state_size
        Y = np.asarray(Y)
        Yr = Y.reshape(Y.shape[:-2] + (d, N, Y.shape[-1]))
        out = c.W_delta.T @ np.einsum("...cs,...csm->...cm", g, Yr)
        out = out + c.W_B.T @ np.einsum("...c,...csm->...sm", e, Yr)
        return out + delta[..., :, None] * np.einsum("...s,...csm->...cm", B, Yr)

    def select(self, b):
        b = self._batch_index(b)
        return SelectiveInputJacobians(self.cell, self.g[b], self.e[b], self.delta[b], self.B[b])


@register_cell("ssm", aliases=("selective_ssm", "mamba", "s6"))
class SelectiveSSM(Cell):
    """Mamba's selective diagonal state-space recurrence (the S6 scan), one layer.

    See the module docstring for the equations.  The state has
    ``n = d N`` entries, channel-major (``h[c * N + s]``).

    Parameters
    ----------
    A : (d, N) array_like
        The continuous-time diagonal, **negative** (so ``0 < Abar_t < 1``
        for every step size).
    W_delta : (d, d) array_like
        Step-size weights (Mamba's low-rank ``dt_proj.weight @
        x_proj.weight[:R]``, here as one matrix).
    b_delta : (d,) array_like
        Step-size bias (``dt_proj.bias``).
    W_B : (N, d) array_like
        Input matrix weights: ``B_t = W_B x_t``.
    W_C : (N, d) array_like, optional
        Output matrix weights (``C_t = W_C x_t``), for :meth:`output` only.
    D : (d,) array_like, optional
        Skip connection of :meth:`output` (zeros when None).
    dtype : float32 or float64

    Notes
    -----
    The state Jacobian is ``diag(Abar_t)``: its eigenvalues are exactly
    ``exp(Delta_t A)`` in (0, 1).  The input Jacobian (see
    :class:`SelectiveInputJacobians`) includes the dependence of Delta_t,
    Abar_t and B_t on x_t.  The readout y_t does not enter the state, so
    ``W_C`` and ``D`` get zero gradient from cotangents on the states.

    State-dict layout: the names of :meth:`parameters`, ``A`` (d, N),
    ``W_delta`` (d, d), ``b_delta`` (d,), ``W_B`` (N, d), ``W_C`` (N, d),
    ``D`` (d,); or the selective-scan part of a Mamba block (``A_log``,
    ``D``, ``x_proj.weight``, ``dt_proj.weight``, ``dt_proj.bias``; see
    :meth:`from_state_dict`).  No standard PyTorch module holds this cell,
    so it has no ``from_torch``; a user's own torch module can be analysed
    through :class:`~spectra.TorchCell`.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.SelectiveSSM.random(3, state_size=4, rng=0)
    >>> cell.n, cell.input_size, cell.A[0]
    (12, 3, array([-1., -2., -3., -4.]))
    >>> traj = cell.run(np.ones((6, 3)))
    >>> lam = traj.jacobian_sequence.eigenvalues(6)         # Abar_6, exact
    >>> bool(np.all((0 < lam) & (lam < 1)))
    True
    """

    def __init__(self, A, W_delta, b_delta, W_B, W_C=None, D=None, *, dtype=np.float64):
        dtype = check_dtype(dtype)
        A = as_matrix(A, "A", dtype=dtype)
        d, N = A.shape
        if d < 1 or N < 1:
            raise ValueError(f"`A` must be a non-empty (d, N) matrix (d channels, N states); got "
                             f"shape {A.shape}")
        if not np.all(np.isfinite(A)) or np.any(A >= 0):
            bad = A[~(A < 0)]
            raise ValueError("`A` must be negative and finite (A < 0, so that "
                             f"|Abar_t| = exp(Delta_t A) < 1); got {bad.size} entries that are not, "
                             f"e.g. {float(bad.flat[0])!r}")
        self._A = _frozen(A)
        self._W_delta = _frozen(as_matrix(W_delta, "W_delta", rows=d, cols=d, dtype=dtype))
        self._b_delta = _frozen(as_vector(b_delta, "b_delta", size=d, dtype=dtype))
        self._W_B = _frozen(as_matrix(W_B, "W_B", rows=N, cols=d, dtype=dtype))
        self._W_C = None if W_C is None else _frozen(as_matrix(W_C, "W_C", rows=N, cols=d,
                                                               dtype=dtype))
        self._D = None if D is None else _frozen(as_vector(D, "D", size=d, dtype=dtype))
        self.channels, self.state_size = d, N
        self.n = d * N
        self.input_size = d
        self.dtype = dtype

    # -- properties ----------------------------------------------------------------------
    @property
    def A(self):
        """The (d, N) negative diagonal of the continuous-time system."""
        return self._A

    @property
    def W_delta(self):
        return self._W_delta

    @property
    def b_delta(self):
        return self._b_delta

    @property
    def W_B(self):
        return self._W_B

    @property
    def W_C(self):
        return self._W_C

    @property
    def D(self):
        return self._D

    def __repr__(self):
        return f"SelectiveSSM(channels={self.channels}, state_size={self.state_size})"

    def parameters(self) -> dict:
        """``{name: array}``: ``A``, ``W_delta``, ``b_delta``, ``W_B`` and ``W_C``, ``D`` if present."""
        out = {"A": self._A, "W_delta": self._W_delta, "b_delta": self._b_delta, "W_B": self._W_B}
        if self._W_C is not None:
            out["W_C"] = self._W_C
        if self._D is not None:
            out["D"] = self._D
        return out

    # -- the protocol --------------------------------------------------------------------
    # drive u_t = [Abar_t (n), Delta_t B_t x_t (n), z_t (d), x_t (d), B_t (N)]; aux = u_t[2n:]
    def input_drive(self, X, steps, batch_shape):
        d = self.channels
        if X is None:
            X = np.zeros(batch_shape + (steps, d), dtype=self.dtype)
        z = X @ self._W_delta.T + self._b_delta
        delta = _softplus(z)
        B = X @ self._W_B.T
        Abar = np.exp(delta[..., :, None] * self._A)
        drive = (delta * X)[..., :, None] * B[..., None, :]
        flat = Abar.shape[:-2] + (self.n,)
        return np.concatenate([Abar.reshape(flat), drive.reshape(flat), z, X, B], axis=-1)

    def advance(self, h, u):
        n = self.n
        return u[..., :n] * h + u[..., n:2 * n], u[..., 2 * n:]

    def _split(self, states, aux):
        d, N = self.channels, self.state_size
        if aux is None:
            aux = np.empty(states.shape[:-2] + (0, 2 * d + N), dtype=self.dtype)
        z, x, B = aux[..., :d], aux[..., d:2 * d], aux[..., 2 * d:]
        delta = _softplus(z)
        Abar = np.exp(delta[..., :, None] * self._A)          # (*b, T, d, N)
        return z, x, B, delta, Abar

    def factored_jacobians(self, states, aux):
        _, _, _, _, Abar = self._split(states, aux)
        return DiagonalJacobians(Abar.reshape(Abar.shape[:-2] + (self.n,)), dtype=self.dtype)

    def _step_size_path(self, states, z, x, B, Abar):
        """``dh[c,s]/dz[c]`` per step, (*b, T, d, N)."""
        h_prev = states[..., :-1, :].reshape(Abar.shape)
        return _logistic(z)[..., :, None] * (self._A * Abar * h_prev + x[..., :, None] * B[..., None, :])

    def input_jacobians(self, states, aux):
        """The input Jacobians ``dh_t/dx_t`` of a run, a :class:`SelectiveInputJacobians`."""
        z, x, B, delta, Abar = self._split(states, aux)
        g = self._step_size_path(states, z, x, B, Abar)
        return SelectiveInputJacobians(self, g, delta * x, delta, B)

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """``{name: sum_t (dh_t/dtheta)^T u_t}`` for the cotangents ``u_t`` on h_1..h_T.

        ``W_C`` and ``D`` only shape the readout, so their entries are zero.
        """
        z, x, B, delta, Abar = self._split(states, aux)
        d, N = self.channels, self.state_size
        U = np.asarray(cotangents, dtype=np.float64).reshape(Abar.shape)
        h_prev = states[..., :-1, :].reshape(Abar.shape)
        gA = U * delta[..., :, None] * Abar * h_prev                       # (*b,T,d,N)
        gz = np.sum(U * self._step_size_path(states, z, x, B, Abar), axis=-1)   # (*b,T,d)
        gB = np.einsum("...cs,...c->...s", U, delta * x)                    # (*b,T,N)
        gWd = gz[..., :, None] * x[..., None, :]
        gWB = gB[..., :, None] * x[..., None, :]
        out = {"A": gA, "W_delta": gWd, "b_delta": gz, "W_B": gWB}
        if not per_step:
            T = Abar.shape[-3]
            lead = Abar.ndim - 3          # batch axes, then the step axis
            out = {k: np.sum(v, axis=tuple(range(lead + 1))) if T else
                   np.zeros(v.shape[lead + 1:]) for k, v in out.items()}
        zeros = (lambda shape: np.zeros(Abar.shape[:-2] + shape if per_step else shape))
        if self._W_C is not None:
            out["W_C"] = zeros((N, d))
        if self._D is not None:
            out["D"] = zeros((d,))
        return out

    # -- the readout ---------------------------------------------------------------------
    def output(self, trajectory):
        """The outputs ``y_t = C_t . h_t + D x_t`` of a run, ``(..., T, d)``.

        Parameters
        ----------
        trajectory : Trajectory
            A run of this cell.

        Examples
        --------
        >>> import numpy as np, spectra
        >>> cell = spectra.SelectiveSSM.random(2, state_size=3, rng=1)
        >>> cell.output(cell.run(np.ones((5, 2)))).shape
        (5, 2)
        """
        if getattr(trajectory, "cell", None) is not self:
            raise TypeError(f"`trajectory` must be a run of this SelectiveSSM; got "
                            f"{describe(trajectory)}")
        if self._W_C is None:
            raise ValueError("this SelectiveSSM has no output weights W_C; build it with W_C")
        d, N = self.channels, self.state_size
        X = trajectory.inputs
        if X is None:
            X = np.zeros(trajectory.states.shape[:-2] + (trajectory.steps, d))
        H = trajectory.states[..., 1:, :].reshape(X.shape[:-1] + (d, N))
        y = np.einsum("...cs,...s->...c", H, X @ self._W_C.T)
        return y if self._D is None else y + self._D * X

    # -- construction --------------------------------------------------------------------
    @classmethod
    def random(cls, channels, *, input_size=None, state_size=16, dt_min=0.001, dt_max=0.1,
               dt_init_floor=1e-4, dt_rank=None, dt_scale=1.0, rng=None, dtype=np.float64):
        """A cell with Mamba's initialisation.

        ``A = -(1, 2, ..., N)`` in every channel (S4D-real); ``x_proj`` (the
        rows giving the step-size rank R, B and C) from torch.nn.Linear's
        default U(-1/sqrt(d), 1/sqrt(d)); ``dt_proj.weight`` from
        U(-dt_scale/sqrt(R), dt_scale/sqrt(R)); the step sizes
        ``dt = softplus(b_delta)`` log-uniform in [dt_min, dt_max] (at least
        dt_init_floor), so ``b_delta = dt + log(1 - exp(-dt))`` (the inverse
        softplus); ``D = 1``.  ``W_delta = dt_proj.weight @ x_proj.weight[:R]``.

        Parameters
        ----------
        channels : int
            d (the CLI's ``--size``).
        input_size : int, optional
            Must equal ``channels`` (each channel reads its own input).
        state_size : int
            N, states per channel (Mamba: 16).
        dt_min, dt_max, dt_init_floor, dt_scale : float
        dt_rank : int, optional
            R (Mamba: ceil(d / 16)).
        rng : int, Generator or None

        Examples
        --------
        >>> import numpy as np, spectra
        >>> cell = spectra.SelectiveSSM.random(32, rng=0)
        >>> dt = np.logaddexp(0, cell.b_delta)
        >>> cell.n, bool(dt.min() >= 0.001 and dt.max() <= 0.1)
        (512, True)
        """
        d = check_int(channels, "channels", minimum=1)
        if input_size is not None and input_size != d:
            raise ValueError(f"`input_size` must equal `channels` ({d}) for a SelectiveSSM (channel "
                             f"c is driven by input c); got {input_size!r}")
        N = check_int(state_size, "state_size", minimum=1)
        dt_min = check_real(dt_min, "dt_min", low=0.0, low_open=True)
        dt_max = check_real(dt_max, "dt_max", low=dt_min)
        dt_init_floor = check_real(dt_init_floor, "dt_init_floor", low=0.0)
        dt_scale = check_real(dt_scale, "dt_scale", low=0.0)
        R = math.ceil(d / 16) if dt_rank is None else check_int(dt_rank, "dt_rank", minimum=1)
        gen = as_generator(rng)
        bound = 1.0 / math.sqrt(d)
        x_proj = gen.uniform(-bound, bound, (R + 2 * N, d))
        std = dt_scale / math.sqrt(R)
        dt_proj = gen.uniform(-std, std, (d, R))
        dt = np.exp(gen.uniform(math.log(dt_min), math.log(dt_max), d))
        dt = np.maximum(dt, dt_init_floor)
        b_delta = dt + np.log(-np.expm1(-dt))
        A = -np.broadcast_to(np.arange(1, N + 1, dtype=float), (d, N))
        return cls(A, dt_proj @ x_proj[:R], b_delta, x_proj[R:R + N], x_proj[R + N:],
                   np.ones(d), dtype=dtype)

    @classmethod
    def from_state_dict(cls, source, *, prefix=None, dtype=np.float64):
        """A cell from a state dict in spectra's layout or from a Mamba block's.

        spectra's layout is the names of :meth:`parameters` (``A``,
        ``W_delta``, ``b_delta``, ``W_B``, optional ``W_C``, ``D``).  Mamba's
        (``mamba_ssm.Mamba``, the selective-scan part of its ``mixer``):
        ``A_log`` (d, N) with ``A = -exp(A_log)``, ``D`` (d,),
        ``x_proj.weight`` (R + 2N, d) whose rows are the step-size
        projection, then W_B, then W_C, ``dt_proj.weight`` (d, R) and
        ``dt_proj.bias`` (d,), so ``W_delta = dt_proj.weight @
        x_proj.weight[:R]``.  The block's ``in_proj``, ``conv1d`` and
        ``out_proj`` (around the scan) are not part of the cell.

        Parameters
        ----------
        source : torch module, mapping, str or os.PathLike
            A module (its ``state_dict()``), a state dict (nested or
            prefixed keys are found, e.g. ``"layers.0.mixer."``) or an
            ``.npz``/``.pt``/``.pth`` file.
        prefix : str, optional
            The layer's key prefix inside a larger state dict.
        dtype : float32 or float64

        Examples
        --------
        >>> import numpy as np, spectra
        >>> d, N, R = 4, 3, 1
        >>> state = {"mixer.A_log": np.log(np.tile(np.arange(1.0, N + 1), (d, 1))),
        ...          "mixer.D": np.ones(d), "mixer.x_proj.weight": np.ones((R + 2 * N, d)),
        ...          "mixer.dt_proj.weight": np.ones((d, R)), "mixer.dt_proj.bias": np.zeros(d)}
        >>> cell = spectra.SelectiveSSM.from_state_dict(state)
        >>> cell, cell.A[0]
        (SelectiveSSM(channels=4, state_size=3), array([-1., -2., -3.]))
        """
        from .state_dict import named_weights

        layouts = {"spectra": (("W_delta", "A", "b_delta", "W_B"), ("W_C", "D")),
                   "mamba": (("A_log", "x_proj.weight", "dt_proj.weight", "dt_proj.bias"), ("D",))}
        layout, w = named_weights(source, layouts, prefix=prefix, what="SelectiveSSM")
        if layout == "spectra":
            return cls(w["A"], w["W_delta"], w["b_delta"], w["W_B"], w.get("W_C"), w.get("D"),
                       dtype=dtype)
        A = -np.exp(as_array(w["A_log"], "A_log", ndim=2))
        d, N = A.shape
        xp = as_matrix(w["x_proj.weight"], "x_proj.weight", cols=d)
        dp = as_matrix(w["dt_proj.weight"], "dt_proj.weight", rows=d)
        R = dp.shape[1]
        if xp.shape[0] != R + 2 * N:
            raise ValueError(f"`x_proj.weight` must have R + 2N = {R + 2 * N} rows (dt_rank R = {R} "
                             f"from dt_proj.weight, N = {N} from A_log); got shape {xp.shape}")
        return cls(A, dp @ xp[:R], w["dt_proj.bias"], xp[R:R + N], xp[R + N:], w.get("D"),
                   dtype=dtype)

