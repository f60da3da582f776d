"""Gated recurrent cells in PyTorch's layout: LSTM and GRU, with factored step Jacobians.

The parameters are PyTorch's, unchanged: ``weight_ih`` (G n, d),
``weight_hh`` (G n, n), ``bias_ih`` and ``bias_hh`` (G n,), with the gate
blocks stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n), so the
weights of a trained ``torch.nn.LSTM``/``nn.GRU`` load without reshaping
(:meth:`LSTM.from_torch`).

Their factored step Jacobians (:class:`LSTMJacobians`, :class:`GRUJacobians`)
live in :mod:`.gated_jacobians`.
"""

from __future__ import annotations

import functools

import numpy as np

from .activations import _logistic, _logistic_d, _tanh_d
from .base import Cell, frozen as _frozen
from .registry import register_cell
from .inputs import gru_input_jacobians, lstm_input_jacobians
from .param_grads import gru_parameter_vjp, lstm_parameter_vjp
from .gated_jacobians import GRUJacobians, LSTMJacobians
from .._core.validation import (as_array, as_generator, as_matrix, as_vector, check_dtype, check_int,
                          check_real, describe)

__all__ = ["LSTM", "GRU", "LSTMJacobians", "GRUJacobians"]


class _GatedCell(Cell):
    """Shared parameter handling of the PyTorch-layout gated cells."""

    _gates = 0
    _gate_order = ""
    _torch_kind = ""
    _state_parts = 1

    def __init__(self, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, dtype=np.float64):
        dtype = check_dtype(dtype)
        G = self._gates
        W_hh = as_matrix(weight_hh, "weight_hh", dtype=dtype)
        n = W_hh.shape[1]
        if W_hh.shape[0] != G * n:
            raise ValueError(f"`weight_hh` must have shape ({G}n, n) = ({G * n}, {n}), the "
                             f"{self._gate_order} blocks stacked; got shape {W_hh.shape}")
        W_ih = None
        if weight_ih is not None:
            W_ih = as_matrix(weight_ih, "weight_ih", dtype=dtype)
            if W_ih.shape[0] != G * n:
                raise ValueError(f"`weight_ih` must have shape ({G}n, d) with n = {n} (the "
                                 f"hidden size of `weight_hh`), i.e. {G * n} rows; got shape "
                                 f"{W_ih.shape}")
        b_ih = None if bias_ih is None else as_vector(bias_ih, "bias_ih", size=G * n, dtype=dtype)
        b_hh = None if bias_hh is None else as_vector(bias_hh, "bias_hh", size=G * n, dtype=dtype)
        self.hidden_size = n
        self.n = self._state_parts * n
        self.input_size = 0 if W_ih is None else W_ih.shape[1]
        self.dtype = dtype
        self._W_ih = _frozen(W_ih)
        self._W_hh = _frozen(W_hh)
        self._b_ih = _frozen(b_ih)
        self._b_hh = _frozen(b_hh)

    @property
    def weight_ih(self):
        return self._W_ih

    @property
    def weight_hh(self):
        return self._W_hh

    @property
    def bias_ih(self):
        return self._b_ih

    @property
    def bias_hh(self):
        return self._b_hh

    def parameters(self) -> dict:
        """``{name: array}`` in PyTorch's names: weight_ih, weight_hh, bias_ih, bias_hh (those present)."""
        return {k: v for k, v in (("weight_ih", self._W_ih), ("weight_hh", self._W_hh),
                                  ("bias_ih", self._b_ih), ("bias_hh", self._b_hh)) if v is not None}

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """Parameter cotangents of a run (see :class:`~spectra.Cell`), one product per matrix."""
        return self._param_vjp(states, inputs, aux, cotangents, per_step)

    def _bias(self):
        b = np.zeros(self._gates * self.hidden_size, dtype=self.dtype)
        for v in (self._b_ih, self._b_hh):
            if v is not None:
                b = b + v
        return b

    def _drive(self, X, steps, bias):
        if X is None:
            return np.broadcast_to(bias, (steps, bias.shape[0]))
        return X @ self._W_ih.T + bias

    def __repr__(self) -> str:
        extra = f", input_size={self.input_size}" if self.input_size else ""
        return f"{type(self).__name__}(hidden_size={self.hidden_size}{extra})"

    @classmethod
    def from_torch(cls, module_or_state_dict, layer=0, *, reverse=False, prefix=None,
                   dtype=np.float64):
        """The cell of one layer of a PyTorch module (see the subclasses' docstrings)."""
        from .state_dict import recurrent_weights, torch_named

        w = recurrent_weights(module_or_state_dict, cls._torch_kind, layer=layer,
                              reverse=reverse, prefix=prefix)
        return torch_named(cls(w.weight_ih, w.weight_hh, w.bias_ih, w.bias_hh, dtype=dtype), w)

    @classmethod
    def random(cls, hidden_size, *, input_size=0, gain=1.0, bias=True, rng=None,
               dtype=np.float64):
        """A cell with PyTorch's default initialisation, every parameter U(-k, k).

        ``k = gain / sqrt(hidden_size)`` (``gain=1`` is PyTorch's default).

        Parameters
        ----------
        hidden_size : int
        input_size : int
            d (0: no input weights, an autonomous cell).
        gain : float
        bias : bool
            Whether to draw ``bias_ih`` and ``bias_hh`` (else None).
        rng : int, Generator or None
        dtype : float32 or float64
        """
        n = check_int(hidden_size, "hidden_size", minimum=1)
        d = check_int(input_size, "input_size", minimum=0)
        gain = check_real(gain, "gain", low=0.0)
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"`bias` must be True or False; got {describe(bias)}")
        gen = as_generator(rng)
        k = gain / np.sqrt(n)
        G = cls._gates

        def draw(*shape):
            return gen.uniform(-k, k, shape)

        W_ih = draw(G * n, d) if d else None
        W_hh = draw(G * n, n)
        b_ih, b_hh = (draw(G * n), draw(G * n)) if bias else (None, None)
        return cls(W_ih, W_hh, b_ih, b_hh, dtype=dtype)


_FROM_TORCH_DOC = """The cell of one layer of a PyTorch module, from the module, its state dict or a file.

        Parameters
        ----------
        module_or_state_dict : torch module, mapping, str or os.PathLike
            A ``torch.nn.{kind}`` or ``torch.nn.{kind}Cell`` (or a model that
            contains exactly one); its ``state_dict()``, with tensors or
            numpy arrays as values, possibly prefixed (``"encoder.rnn."``)
            or nested in a checkpoint (``{{"model": ..., "optimizer": ...}}``);
            or the path of an ``.npz`` file with the same key names
            (``weight_ih_l0``, ...) or of a torch ``.pt``/``.pth`` file
            (reading that one needs torch).
        layer : int
            Which layer of a multi-layer module (keys ``*_l{{layer}}``).  The
            layers of a stack are loaded one by one; layer k is driven by
            the hidden states of layer k-1 (``run(traj_prev.hidden)``).
        reverse : bool
            Load the reverse direction of a bidirectional module (keys
            ``*_l{{layer}}_reverse``); run it on the time-reversed inputs.
        prefix : str, optional
            The key prefix of the recurrent module inside a larger state
            dict; needed only when several recurrent modules are present.
        dtype : float32 or float64
            Weights are converted (float64 by default, whatever torch used).

        Returns
        -------
        {kind}

        Raises
        ------
        ValueError
            For a missing layer or direction, an LSTM with projections
            (``proj_size > 0``), or weights of another kind of cell.
        TypeError
            For a torch module of another kind.

        Examples
        --------
        A state dict with numpy arrays (a torch module, its ``state_dict()``
        or ``torch.load("model.pt")`` work the same way):

        >>> import numpy as np, spectra
        >>> G, n, d = {gates}, 2, 3
        >>> rng = np.random.default_rng(0)
        >>> state = {{"weight_ih_l0": rng.standard_normal((G * n, d)),
        ...          "weight_hh_l0": rng.standard_normal((G * n, n)),
        ...          "bias_ih_l0": np.zeros(G * n), "bias_hh_l0": np.zeros(G * n)}}
        >>> spectra.{kind}.from_torch(state)
        {kind}(hidden_size=2, input_size=3)
        """


def _from_torch_for(kind, gates):
    """``_GatedCell.from_torch`` with its docstring written for ``kind``."""
    fn = _GatedCell.from_torch.__func__

    @functools.wraps(fn)
    def from_torch(cls, module_or_state_dict, layer=0, *, reverse=False, prefix=None,
                   dtype=np.float64):
        return fn(cls, module_or_state_dict, layer, reverse=reverse, prefix=prefix, dtype=dtype)

    from_torch.__doc__ = _FROM_TORCH_DOC.format(kind=kind, gates=gates)
    return classmethod(from_torch)


@register_cell("lstm")
class LSTM(_GatedCell):
    """Long short-term memory cell with PyTorch's parameters and equations.

    Parameters
    ----------
    weight_ih : (4n, d) array_like or None
        Input weights, gate blocks stacked in the order i, f, g, o (PyTorch's
        ``weight_ih_l0``).  None: no input (an autonomous cell).
    weight_hh : (4n, n) array_like
        Recurrent weights, same block order (``weight_hh_l0``).
    bias_ih, bias_hh : (4n,) array_like, optional
        The two biases; only their sum matters.
    dtype : float32 or float64

    Attributes
    ----------
    hidden_size : int
        n.
    n : int
        Size of the state [h, c]: 2n.

    Notes
    -----
    As in ``torch.nn.LSTM``, with a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    split into (a_i, a_f, a_g, a_o)::

        i = sigma(a_i), f = sigma(a_f), g = tanh(a_g), o = sigma(a_o)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    The state is the 2n vector ``[h, c]`` (``h0`` may also be the tuple
    ``(h, c)``), ``Trajectory.hidden`` is its h part, and the step Jacobian
    ``d[h_t, c_t]/d[h_{t-1}, c_{t-1}]`` is 2n x 2n, blocks ordered (h, c)::

        dc_t/dh_{t-1} = C = diag(g sigma'(a_i)) W_hi + diag(c_{t-1} sigma'(a_f)) W_hf
                            + diag(i tanh'(a_g)) W_hg
        dc_t/dc_{t-1} = diag(f)
        dh_t/dh_{t-1} = diag(o tanh'(c_t)) C + diag(tanh(c_t) sigma'(a_o)) W_ho
        dh_t/dc_{t-1} = diag(o tanh'(c_t) f)

    (Hochreiter & Schmidhuber 1997; Gers et al. 2000 for the forget gate.)
    The Jacobian is stored as five vectors per step (:class:`LSTMJacobians`),
    and its determinant is ``det(W_ho) prod(tanh(c_t) sigma'(a_o)) prod(f)``.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.LSTM.random(3, input_size=2, rng=0)
    >>> traj = cell.run(np.ones((5, 2)), h0=(np.zeros(3), np.ones(3)))
    >>> traj.states.shape, traj.hidden.shape, traj.jacobian(1).shape
    ((6, 6), (6, 3), (6, 6))
    """

    _gates = 4
    _gate_order = "i, f, g, o"
    _torch_kind = "LSTM"
    _state_parts = 2  # [h, c]
    from_torch = _from_torch_for("LSTM", 4)
    _param_vjp = lstm_parameter_vjp

    def hidden_part(self, states):
        return states[..., :self.hidden_size]

    def initial_state(self, h0, batch_shape, name="h0"):
        n = self.hidden_size
        if isinstance(h0, tuple):
            if len(h0) != 2:
                raise ValueError(f"`{name}` as a tuple must be (h, c); got a tuple of length {len(h0)}")
            parts = []
            for i, part in enumerate(h0):
                a = as_array(part, f"{name}[{i}]", dtype=self.dtype, ndim=(1, 2))
                if a.shape[-1] != n:
                    raise ValueError(f"`{name}[{i}]` ({'hc'[i]}) must have length {n} (shape ({n},) "
                                     f"or (B, {n})); got shape {a.shape}")
                parts.append(a)
            if parts[0].shape != parts[1].shape:
                raise ValueError(f"`{name}` parts h and c must have the same shape; got "
                                 f"{parts[0].shape} and {parts[1].shape}")
            return np.concatenate(parts, axis=-1)
        if h0 is None:
            return np.zeros(batch_shape + (2 * n,), dtype=self.dtype)
        h0 = as_array(h0, name, dtype=self.dtype, ndim=(1, 2))
        if h0.shape[-1] != 2 * n:
            raise ValueError(f"`{name}` must be the state [h, c] of length 2n = {2 * n} (shape "
                             f"({2 * n},) or (B, {2 * n})), or a tuple (h, c); got shape {h0.shape}")
        return h0

    def input_drive(self, X, steps, batch_shape):
        return self._drive(X, steps, self._bias())

    def advance(self, hc, u):
        n = self.hidden_size
        a = hc[..., :n] @ self._W_hh.T + u
        i = _logistic(a[..., :n])
        f = _logistic(a[..., n:2 * n])
        g = np.tanh(a[..., 2 * n:3 * n])
        o = _logistic(a[..., 3 * n:])
        c = f * hc[..., n:] + i * g
        return np.concatenate([o * np.tanh(c), c], axis=-1), a

    def input_jacobians(self, states, A):
        return lstm_input_jacobians(self, states, A)

    def factored_jacobians(self, states, A):
        n = self.hidden_size
        if A is None:  # zero steps
            A = np.empty(states.shape[:-2] + (0, 4 * n), dtype=self.dtype)
        a_i, a_f, a_g, a_o = (A[..., k * n:(k + 1) * n] for k in range(4))
        c_prev, c = states[..., :-1, n:], states[..., 1:, n:]
        rc = np.concatenate([np.tanh(a_g) * _logistic_d(a_i), c_prev * _logistic_d(a_f),
                             _logistic(a_i) * _tanh_d(a_g)], axis=-1)
        return LSTMJacobians(self._W_hh, rc, _logistic(a_f), _logistic(a_o) * _tanh_d(c),
                             np.tanh(c) * _logistic_d(a_o))


@register_cell("gru")
class GRU(_GatedCell):
    """Gated recurrent unit with PyTorch's parameters and equations.

    Parameters
    ----------
    weight_ih : (3n, d) array_like or None
        Input weights, gate blocks stacked in the order r, z, n (PyTorch's
        ``weight_ih_l0``).  None: no input (an autonomous cell).
    weight_hh : (3n, n) array_like
        Recurrent weights, same block order (``weight_hh_l0``).
    bias_ih, bias_hh : (3n,) array_like, optional
        The two biases.  Unlike the LSTM's they are not interchangeable:
        the n block of ``bias_hh`` sits inside the reset gate's product.
    dtype : float32 or float64

    Notes
    -----
    As in ``torch.nn.GRU`` (Cho et al. 2014, with the reset gate applied
    after the matrix product)::

        r = sigma(W_ir x + b_ir + W_hr h + b_hr)
        z = sigma(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    The step Jacobian (:class:`GRUJacobians`) is
    ``diag(z) + diag(alpha_r) W_hr + diag(alpha_z) W_hz + diag(alpha_n) W_hn``
    with ``alpha_r = (1-z) tanh'(a_n) (W_hn h + b_hn) sigma'(a_r)``,
    ``alpha_z = (h_{t-1} - n) sigma'(a_z)`` and ``alpha_n = (1-z) tanh'(a_n) r``.
    ``Trajectory.preactivations`` holds ``(a_r, a_z, a_n)`` per step.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.GRU.random(4, rng=0)
    >>> traj = cell.run(steps=10, h0=np.full(4, 0.5))
    >>> traj.jacobians().shape
    (10, 4, 4)
    """

    _gates = 3
    _gate_order = "r, z, n"
    _torch_kind = "GRU"
    from_torch = _from_torch_for("GRU", 3)
    _param_vjp = gru_parameter_vjp

    def __init__(self, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *, dtype=np.float64):
        super().__init__(weight_ih, weight_hh, bias_ih, bias_hh, dtype=dtype)
        n = self.hidden_size
        self._b_hn = np.zeros(n, dtype=self.dtype) if self._b_hh is None else self._b_hh[2 * n:]

    def input_drive(self, X, steps, batch_shape):
        n = self.hidden_size
        bias = np.zeros(3 * n, dtype=self.dtype)
        if self._b_ih is not None:
            bias += self._b_ih
        if self._b_hh is not None:  # b_hn acts inside r * (W_hn h + b_hn), not here
            bias[:2 * n] += self._b_hh[:2 * n]
        return self._drive(X, steps, bias)

    def advance(self, h, u):
        n = self.hidden_size
        gh = h @ self._W_hh.T
        a_r = u[..., :n] + gh[..., :n]
        a_z = u[..., n:2 * n] + gh[..., n:2 * n]
        a_n = u[..., 2 * n:] + _logistic(a_r) * (gh[..., 2 * n:] + self._b_hn)
        new = np.tanh(a_n)
        return new + _logistic(a_z) * (h - new), np.concatenate([a_r, a_z, a_n], axis=-1)

    def input_jacobians(self, states, A):
        return gru_input_jacobians(self, states, A)

    def factored_jacobians(self, states, A):
        n = self.hidden_size
        if A is None:
            A = np.empty(states.shape[:-2] + (0, 3 * n), dtype=self.dtype)
        a_r, a_z, a_n = (A[..., k * n:(k + 1) * n] for k in range(3))
        h_prev = states[..., :-1, :]
        s = h_prev @ self._W_hh[2 * n:].T + self._b_hn  # W_hn h + b_hn, one product for all steps
        one_minus_z = _logistic(-a_z)  # 1 - sigma(a) without cancellation
        dn = one_minus_z * _tanh_d(a_n)
        alpha = np.concatenate([dn * s * _logistic_d(a_r), (h_prev - np.tanh(a_n)) * _logistic_d(a_z),
                                dn * _logistic(a_r)], axis=-1)
        return GRUJacobians(self._W_hh, alpha, _logistic(a_z))
