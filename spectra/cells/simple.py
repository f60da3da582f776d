"""Step maps with analytic Jacobians: the Elman, recurrent-first and leaky cells.

Every cell is immutable (its weights are read-only copies) and gives

* ``run(inputs=None, *, h0=None, steps=None) -> Trajectory``;
* ``step(h_prev, x=None)``, ``step_jacobian(h_prev, x=None, *, layout=...)``;
* matrix-free ``jvp(h_prev, v, x=None)`` and ``vjp(h_prev, u, x=None)``.

A Jacobian is never built unless asked for: a run keeps the factors of each
step (for the Elman cell the vector f'(a_t)) in a
:class:`~spectra.JacobianSequence`, which refers to the weight matrix.
"""

from __future__ import annotations

import numpy as np

from .activations import Activation, activation as _activation
from .base import Cell, Recurrence, frozen as _frozen
from .init import INITIALIZERS
from .registry import register_cell
from .inputs import no_input_error
from .param_grads import simple_parameter_vjp
from ..jacobians.structured import ScaledJacobians
from .._core.validation import (as_array, as_generator, as_matrix, as_vector, check_choice,
                          check_dtype, check_int, check_real, describe)

__all__ = ["Cell", "ElmanRNN", "RecurrentFirstRNN", "LeakyRNN"]


class _SimpleRNN(Cell):
    """Shared machinery of the three single-matrix recurrent cells."""

    _form = "elman"

    _names = ("W_hh", "W_hx", "b")

    def __init__(self, W, W_in=None, b=None, *, activation="tanh", dtype=np.float64):
        w, w_in, b_name = self._names
        dtype = check_dtype(dtype)
        W = as_matrix(W, w, square=True, dtype=dtype)
        n = W.shape[0]
        if W_in is not None:
            W_in = as_matrix(W_in, w_in, rows=n, dtype=dtype)
        if b is not None:
            b = as_vector(b, b_name, size=n, dtype=dtype)
        if not isinstance(activation, (str, Activation)):
            raise TypeError(f"`activation` must be a name or an Activation; got {describe(activation)}")
        self.activation = _activation(activation)
        self.n = n
        self.input_size = 0 if W_in is None else W_in.shape[1]
        self.dtype = dtype
        self._W = _frozen(W)
        self._W_in = _frozen(W_in)
        self._b = _frozen(b)

    @property
    def hidden_size(self) -> int:
        return self.n

    @property
    def b(self):
        """The bias (None if the cell has none)."""
        return self._b

    def _preactivations_or_empty(self, states, A):
        """The pre-activations of a run, or an empty (..., 0, n) array for a run of 0 steps."""
        return np.empty(states.shape[:-2] + (0, self.n), dtype=self.dtype) if A is None else A

    def input_drive(self, X, steps, batch_shape):
        bias = np.zeros(self.n, dtype=self.dtype) if self._b is None else self._b
        if X is None:
            return np.broadcast_to(bias, (steps, self.n))
        return X @ self._W_in.T + bias

    def input_jacobians(self, states, aux):
        """The input Jacobians ``B_t = dh_t/dx_t`` of a run (see :class:`Cell`)."""
        if self._W_in is None:
            raise no_input_error(self)
        return ScaledJacobians(self._W_in, row=self._input_rows(states, aux))

    def __repr__(self) -> str:
        extra = f", input_size={self.input_size}" if self.input_size else ""
        return f"{type(self).__name__}(n={self.n}{extra}, activation={self.activation!r})"

    def parameters(self) -> dict:
        """``{name: array}`` of the recurrent matrix, the input matrix and the bias (those present)."""
        out = {}
        for name, value in zip(self._names, (self._W, self._W_in, self._b)):
            if value is not None:
                out[name] = value
        return out

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """Parameter cotangents of a run (see :class:`~spectra.Cell`), one product per matrix."""
        return simple_parameter_vjp(self, states, inputs, aux, cotangents, per_step)

    def recurrence(self):
        return Recurrence("recurrent_first" if self._form == "recurrent_first" else "elman",
                          self._W, self._W_in, self._b, self.activation, self._leak())

    def _leak(self):
        return None

    @classmethod
    def random(cls, n, *, input_size=0, init="gaussian", gain=1.0, bias_scale=0.0,
               activation="tanh", rng=None, dtype=np.float64, **options):
        """A cell with random weights from :mod:`spectra.init`.

        Parameters
        ----------
        n : int
            Number of units.
        input_size : int
            Input dimension d (0: no input matrix).
        init : str
            Name of the recurrent initialiser: ``gaussian``, ``orthogonal``,
            ``xavier_normal``, ``xavier_uniform``, ``he_normal``,
            ``he_uniform``, ``identity`` or ``echo_state`` (for which ``gain``
            is the spectral radius).
        gain : float
            Gain of the recurrent initialiser.
        bias_scale : float
            Standard deviation of a Gaussian bias (0: no bias).
        rng : int, Generator or None
            One generator drives all draws, so a seed fixes the whole cell.
        **options
            Passed to the cell (e.g. ``alpha`` for :class:`LeakyRNN`).

        Examples
        --------
        >>> import spectra
        >>> cell = spectra.ElmanRNN.random(8, init="orthogonal", gain=1.5, rng=0)
        >>> cell.n
        8
        """
        from . import init as _init

        n = check_int(n, "n", minimum=1)
        input_size = check_int(input_size, "input_size", minimum=0)
        check_choice(init, "init", _INITS)
        gain = check_real(gain, "gain")
        bias_scale = check_real(bias_scale, "bias_scale", low=0.0)
        gen = as_generator(rng)
        if init == "echo_state":
            W = _init.echo_state(n, spectral_radius=gain, rng=gen)
        else:
            W = getattr(_init, init)(n, gain=gain, rng=gen)
        W_in = _init.gaussian(n, input_size, rng=gen) if input_size else None
        b = bias_scale * gen.standard_normal(n) if bias_scale > 0 else None
        return cls(W, W_in, b, activation=activation, dtype=dtype, **options)


_INITS = INITIALIZERS


class _HiddenInputNames:
    """The Elman naming of the weights: W_hh (recurrent) and W_hx (input)."""

    @property
    def W_hh(self):
        """The recurrent matrix."""
        return self._W

    @property
    def W_hx(self):
        """The input matrix (None if the cell has none)."""
        return self._W_in


@register_cell("elman")
class ElmanRNN(_HiddenInputNames, _SimpleRNN):
    """Elman network h_t = f(a_t), a_t = W_hx x_t + W_hh h_{t-1} + b.

    Parameters
    ----------
    W_hh : (n, n) array_like
        Recurrent weights.
    W_hx : (n, d) array_like, optional
        Input weights (None: no input, an autonomous network).
    b : (n,) array_like, optional
        Bias.
    activation : str or Activation
        The nonlinearity f (default tanh).
    dtype : float32 or float64

    Notes
    -----
    The step Jacobian is ``J_t = diag(f'(a_t)) W_hh`` (numerator layout),
    stored as the vector f'(a_t) and a reference to W_hh.  The bound of
    Pascanu et al. (2013) follows from it:
    ``||J_t||_2 <= gamma_h ||W_hh||_2`` with ``gamma_h = sup|f'|``.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[0.0, 1.0], [-1.0, 0.0]])
    >>> cell = spectra.ElmanRNN(W, activation="identity")
    >>> cell.step_jacobian(np.zeros(2))
    array([[ 0.,  1.],
           [-1.,  0.]])
    """

    _names = ("W_hh", "W_hx", "b")

    def __init__(self, W_hh, W_hx=None, b=None, *, activation="tanh", dtype=np.float64):
        super().__init__(W_hh, W_hx, b, activation=activation, dtype=dtype)


    def advance(self, h, u):
        a = h @ self._W.T + u
        return self.activation.f(a), a

    @classmethod
    def from_torch(cls, module_or_state_dict, layer=0, *, activation=None, reverse=False,
                   prefix=None, dtype=np.float64):
        """The Elman cell of one layer of a ``torch.nn.RNN`` (or ``nn.RNNCell``).

        ``W_hh = weight_hh_l{layer}``, ``W_hx = weight_ih_l{layer}`` and
        ``b = bias_ih_l{layer} + bias_hh_l{layer}`` (the two biases only
        ever appear summed).

        Parameters
        ----------
        module_or_state_dict : torch module, mapping, str or os.PathLike
            An ``nn.RNN``/``nn.RNNCell`` (or a model containing exactly one),
            its state dict (tensors or numpy arrays; prefixed or nested
            keys are found), or an ``.npz``/``.pt``/``.pth`` file of one.
        layer : int
            Which layer of a multi-layer module; layer k is driven by the
            hidden states of layer k-1.
        activation : str or Activation, optional
            The nonlinearity.  A module says which it uses
            (``nonlinearity``, "tanh" or "relu") and is read; a state dict
            does not, so it defaults to **tanh** (PyTorch's default): pass
            ``activation="relu"`` for a relu network.
        reverse : bool
            The reverse direction of a bidirectional module.
        prefix : str, optional
            Key prefix of the RNN inside a larger state dict.
        dtype : float32 or float64

        Examples
        --------
        >>> import numpy as np, spectra
        >>> state = {"weight_ih_l0": np.ones((2, 1)), "weight_hh_l0": np.eye(2),
        ...          "bias_ih_l0": np.ones(2), "bias_hh_l0": np.ones(2)}
        >>> cell = spectra.ElmanRNN.from_torch(state, activation="relu")
        >>> cell, cell.b
        (ElmanRNN(n=2, input_size=1, activation=Activation('relu')), array([2., 2.]))
        """
        from .state_dict import recurrent_weights, torch_named

        w = recurrent_weights(module_or_state_dict, "RNN", layer=layer, reverse=reverse,
                              prefix=prefix)
        if activation is not None and not isinstance(activation, (str, Activation)):
            raise TypeError(f"`activation` must be a name or an Activation; got {describe(activation)}")
        if w.nonlinearity is not None:
            if activation is not None and _activation(activation).name != w.nonlinearity:
                raise ValueError(f"`activation` {activation!r} contradicts the module's "
                                 f"nonlinearity {w.nonlinearity!r}")
            activation = w.nonlinearity
        b = None
        for v in (w.bias_ih, w.bias_hh):
            if v is not None:
                b = v if b is None else b + v
        cell = cls(w.weight_hh, w.weight_ih, b,
                   activation="tanh" if activation is None else activation, dtype=dtype)
        return torch_named(cell, w, {"weight_hh": "W_hh", "weight_ih": "W_hx", "bias_ih": "b",
                                     "bias_hh": "b"})

    def factored_jacobians(self, states, A):
        A = self._preactivations_or_empty(states, A)
        return ScaledJacobians(self._W, row=self.activation.df_checked(A))

    def _input_rows(self, states, A):
        return self.activation.df_checked(self._preactivations_or_empty(states, A))


@register_cell("recurrent_first", aliases=("recurrentfirst", "recurrent_first_rnn"))
class RecurrentFirstRNN(_SimpleRNN):
    """The form of Pascanu, Mikolov & Bengio (2013): h_t = W f(h_{t-1}) + W_in x_t + b.

    Parameters
    ----------
    W : (n, n) array_like
        Recurrent weights.
    W_in : (n, d) array_like, optional
        Input weights.
    b : (n,) array_like, optional
        Bias.
    activation : str or Activation
    dtype : float32 or float64

    Notes
    -----
    The step Jacobian is ``J_t = W diag(f'(h_{t-1}))`` (numerator layout).
    The classic derivation (and the seed text's eq. 9) writes
    ``W^T diag(f'(h_{t-1}))`` instead (see :meth:`classic_jacobian`).  In
    general that is neither J_t nor J_t^T: it has the same eigenvalues as
    J_t (``W^T D`` is the transpose of ``D W``, and ``D W`` and ``W D`` share
    their eigenvalues) and obeys the same norm bound
    ``gamma_W gamma_h``, but its singular values differ, so the norms of
    products differ too.

    With ``h = f(x)`` the Elman state x and this state are related by
    ``D_t dx_t/dx_k = dh_t/dh_k D_k``, so both forms have the same Lyapunov
    exponents and the same one-step eigenvalues.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[0.2, 1.5], [0.0, 0.4]])
    >>> cell = spectra.RecurrentFirstRNN(W)
    >>> h = np.array([0.3, -1.2])
    >>> J, C = cell.step_jacobian(h), cell.classic_jacobian(h)
    >>> bool(np.allclose(np.sort_complex(np.linalg.eigvals(J)), np.sort_complex(np.linalg.eigvals(C))))
    True
    >>> bool(np.allclose(np.linalg.svd(J, compute_uv=False), np.linalg.svd(C, compute_uv=False)))
    False
    """

    _names = ("W", "W_in", "b")
    _form = "recurrent_first"

    def __init__(self, W, W_in=None, b=None, *, activation="tanh", dtype=np.float64):
        super().__init__(W, W_in, b, activation=activation, dtype=dtype)

    @property
    def W(self):
        """The recurrent matrix."""
        return self._W

    @property
    def W_in(self):
        """The input matrix (None if the cell has none)."""
        return self._W_in

    def advance(self, h, u):
        return self.activation.f(h) @ self._W.T + u, None

    def factored_jacobians(self, states, aux):
        return ScaledJacobians(self._W, col=self.activation.df_checked(states[..., :-1, :], "h"))

    def _input_rows(self, states, aux):
        return np.ones_like(states[..., 1:, :])

    def classic_jacobian(self, h_prev) -> np.ndarray:
        """The textbook expression ``W^T diag(f'(h_{t-1}))`` (seed text, eq. 9).

        Provided for comparison with the literature; it is *not* the Jacobian
        dh_t/dh_{t-1} (that is :meth:`step_jacobian`), but it has the same
        eigenvalues and satisfies the same norm bound.
        """
        h_prev = as_array(h_prev, "h_prev", dtype=self.dtype, ndim=(1, 2))
        if h_prev.shape[-1] != self.n:
            raise ValueError(f"`h_prev` must have length {self.n}; got shape {h_prev.shape}")
        return self._W.T * self.activation.df(h_prev)[..., None, :]


@register_cell("leaky")
class LeakyRNN(_HiddenInputNames, _SimpleRNN):
    """Leaky-integrator units: h_t = alpha h_{t-1} + (1 - alpha) f(a_t).

    a_t = W_hx x_t + W_hh h_{t-1} + b, as in the Elman cell (seed text eq. 14;
    Jaeger et al. 2007).  ``alpha`` is a scalar or one value per unit, in
    [0, 1]; alpha = 0 is the Elman cell.

    Notes
    -----
    ``J_t = diag(alpha) + diag(1 - alpha) diag(f'(a_t)) W_hh``, so
    ``||J_t|| <= max(alpha) + (1 - min(alpha)) gamma_h ||W_hh||`` and, for
    a scalar alpha, the classic leaky bound alpha + (1 - alpha) gamma_W gamma_h.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.LeakyRNN(np.zeros((3, 3)), alpha=[0.1, 0.5, 0.9])
    >>> np.diag(cell.step_jacobian(np.ones(3)))
    array([0.1, 0.5, 0.9])
    """

    _names = ("W_hh", "W_hx", "b")

    def __init__(self, W_hh, W_hx=None, b=None, *, activation="tanh", alpha=0.5,
                 dtype=np.float64):
        super().__init__(W_hh, W_hx, b, activation=activation, dtype=dtype)
        if isinstance(alpha, (bool, np.bool_)):
            raise TypeError(f"`alpha` must be a number or a vector of length {self.n}; got {alpha!r}")
        a = as_array(alpha, "alpha", dtype=self.dtype, ndim=(0, 1))
        if a.ndim == 1 and a.shape[0] != self.n:
            raise ValueError(f"`alpha` must be a scalar or have length {self.n}; got length {a.shape[0]}")
        if np.any(a < 0) or np.any(a > 1):
            raise ValueError(f"`alpha` must lie in [0, 1]; got values in [{a.min()}, {a.max()}]")
        self._alpha = _frozen(a)

    @property
    def alpha(self):
        return self._alpha

    def _leak(self):
        return self._alpha


    def advance(self, h, u):
        a = h @ self._W.T + u
        return self._alpha * h + (1.0 - self._alpha) * self.activation.f(a), a

    def factored_jacobians(self, states, A):
        A = self._preactivations_or_empty(states, A)
        return ScaledJacobians(self._W, row=(1.0 - self._alpha) * self.activation.df(A),
                               shift=self._alpha)

    def _input_rows(self, states, A):
        return (1.0 - self._alpha) * self.activation.df(self._preactivations_or_empty(states, A))
