"""MinGRU and MinLSTM (Feng et al. 2024, "Were RNNs all we needed?").

Their gates and candidate states depend on the input only, so the state
Jacobian is diagonal: ``diag(1 - z_t)`` (MinGRU) and ``diag(f'_t)`` (MinLSTM),
kept as a :class:`~spectra.jacobians.DiagonalJacobians`.  The input
Jacobians reuse :class:`~spectra.cells.GatedInputJacobians` (one gate block
per linear map).  No standard PyTorch module holds these cells, so they have
no ``from_torch``: ``from_state_dict`` reads the layout of the paper's code
(``linear_z``, ``linear_h``, ...), and any other torch implementation works
through :class:`~spectra.TorchCell`.
"""

from __future__ import annotations

import numpy as np

from .activations import _logistic, _logistic_d
from .base import Cell, frozen as _frozen
from .inputs import GatedInputJacobians
from .registry import register_cell
from ..jacobians.diagonal import DiagonalJacobians
from .._core.validation import (as_generator, as_matrix, as_vector, check_choice, check_dtype,
                                check_int)

__all__ = ["MinGRU", "MinLSTM", "CANDIDATES"]

#: The candidate maps h~ = c(Linear_h(x)): "linear" (the sequential form) or "g" (the
#: log-space form's positive g(x) = x + 1/2 for x >= 0, sigmoid(x) below).
CANDIDATES = ("linear", "g")


def _candidate(a, kind):
    if kind == "linear":
        return a
    return np.where(a >= 0, a + 0.5, _logistic(a))


def _candidate_d(a, kind):
    if kind == "linear":
        return np.ones_like(a)
    return np.where(a >= 0, 1.0, _logistic_d(a))


def _log_sigmoid(a):
    return -np.logaddexp(0.0, -a)


class _MinimalCell(Cell):
    """Shared machinery: gates from the input alone, a diagonal state Jacobian."""

    _maps: tuple = ()       # names of the linear maps, e.g. ("z", "h")

    def __init__(self, weights, biases, candidate, dtype):
        dtype = check_dtype(dtype)
        check_choice(candidate, "candidate", CANDIDATES)
        first = f"W_{self._maps[0]}"
        W0 = as_matrix(weights[0], first, dtype=dtype)
        n, d = W0.shape
        if d < 1:
            raise ValueError(f"`{first}` must have at least one column (the input size); got shape "
                             f"{W0.shape}")
        Ws, bs = [W0], []
        for name, W in zip(self._maps[1:], weights[1:]):
            Ws.append(as_matrix(W, f"W_{name}", rows=n, cols=d, dtype=dtype))
        for name, b in zip(self._maps, biases):
            bs.append(np.zeros(n, dtype=dtype) if b is None
                      else as_vector(b, f"b_{name}", size=n, dtype=dtype))
        self.n = self.hidden_size = n
        self.input_size = d
        self.dtype = dtype
        self.candidate = candidate
        self._W = _frozen(np.concatenate(Ws, axis=0))      # (G n, d): the maps stacked
        self._b = _frozen(np.concatenate(bs))

    def __repr__(self):
        extra = "" if self.candidate == "linear" else f", candidate={self.candidate!r}"
        return f"{type(self).__name__}(n={self.n}, input_size={self.input_size}{extra})"

    def _block(self, M, g):
        return M[..., g * self.n:(g + 1) * self.n]

    def weight(self, name):
        """The weight matrix ``W_name`` of the linear map ``name`` (e.g. ``"z"``), (n, d)."""
        g = self._maps.index(name)
        return self._W[g * self.n:(g + 1) * self.n]

    def bias(self, name):
        """The bias ``b_name`` of the linear map ``name``, (n,)."""
        g = self._maps.index(name)
        return self._b[g * self.n:(g + 1) * self.n]

    def parameters(self) -> dict:
        """``{name: array}`` in the layout of the paper's code: ``linear_z.weight``, ``linear_z.bias``, ..."""
        out = {}
        for name in self._maps:
            out[f"linear_{name}.weight"] = self.weight(name)
            out[f"linear_{name}.bias"] = self.bias(name)
        return out

    def input_drive(self, X, steps, batch_shape):
        if X is None:
            A = np.broadcast_to(self._b, batch_shape + (steps, self._b.size))
        else:
            A = X @ self._W.T + self._b
        keep, add = self._mix(A)
        return np.concatenate([keep, add, A], axis=-1)

    def advance(self, h, u):
        n = self.n
        return u[..., :n] * h + u[..., n:2 * n], u[..., 2 * n:]

    def _preacts(self, states, A):
        if A is None:
            return np.empty(states.shape[:-2] + (0, self._b.size), dtype=self.dtype)
        return A

    def factored_jacobians(self, states, A):
        keep, _ = self._mix(self._preacts(states, A))
        return DiagonalJacobians(keep, dtype=self.dtype)

    def input_jacobians(self, states, A):
        """The input Jacobians ``dh_t/dx_t`` (n x d) of a run (see :class:`~spectra.Cell`)."""
        A = self._preacts(states, A)
        coefs = self._preact_coefs(states, A)
        return GatedInputJacobians(self._W, coefs[..., None, :], len(self._maps))

    def parameter_vjp(self, states, inputs, A, cotangents, *, per_step=False):
        """``{name: sum_t (dh_t/dtheta)^T u_t}`` for the cotangents ``u_t`` on h_1..h_T."""
        A = self._preacts(states, A)
        U = np.asarray(cotangents, dtype=np.float64)
        G = np.tile(U, len(self._maps)) * self._preact_coefs(states, A)    # dE/da per step
        X = (np.zeros(A.shape[:-1] + (self.input_size,)) if inputs is None
             else np.broadcast_to(inputs, A.shape[:-1] + (self.input_size,)))
        if per_step:
            gW = G[..., :, None] * X[..., None, :]
            gb = G
        else:
            Gf, Xf = G.reshape(-1, G.shape[-1]), X.reshape(-1, X.shape[-1])    # (batch x T) rows
            gW = Gf.T @ Xf
            gb = Gf.sum(axis=0)
        out = {}
        for g, name in enumerate(self._maps):
            out[f"linear_{name}.weight"] = np.array(gW[..., g * self.n:(g + 1) * self.n, :])
            out[f"linear_{name}.bias"] = np.array(self._block(gb, g))
        return out

    @classmethod
    def _random_weights(cls, n, input_size, rng, dtype):
        n = check_int(n, "n", minimum=1)
        d = n if input_size is None else check_int(input_size, "input_size", minimum=1)
        gen = as_generator(rng)
        bound = 1.0 / np.sqrt(d)      # torch.nn.Linear's default: U(-1/sqrt(d), 1/sqrt(d))
        Ws, bs = [], []
        for _ in cls._maps:
            Ws.append(gen.uniform(-bound, bound, (n, d)))
            bs.append(gen.uniform(-bound, bound, n))
        return Ws, bs

    @classmethod
    def from_state_dict(cls, source, *, prefix=None, candidate="linear", dtype=np.float64):
        """The cell from the layout of the paper's code (see the class docstring).

        Parameters
        ----------
        source : torch module, mapping, str or os.PathLike
            A torch module written after the paper (its ``state_dict()``),
            a state dict (nested or prefixed keys are found) or an
            ``.npz``/``.pt``/``.pth`` file.
        prefix : str, optional
            The layer's key prefix inside a larger state dict.
        candidate : {"linear", "g"}
        dtype : float32 or float64
        """
        from .state_dict import named_weights

        keys = [f"linear_{m}.weight" for m in cls._maps]
        opt = [f"linear_{m}.bias" for m in cls._maps]
        _, w = named_weights(source, {"paper": (keys, opt)}, prefix=prefix, what=cls.__name__)
        return cls(*[w[k] for k in keys], *[w.get(k) for k in opt], candidate=candidate,
                   dtype=dtype)


@register_cell("mingru", aliases=("min_gru",))
class MinGRU(_MinimalCell):
    """minGRU: ``h_t = (1 - z_t) h_{t-1} + z_t h~_t`` with gates from the input alone.

    ``z_t = sigmoid(W_z x_t + b_z)`` and ``h~_t = c(W_h x_t + b_h)``, where
    ``c`` is the identity (``candidate="linear"``, the sequential form) or
    the log-space form's ``g(a) = a + 1/2`` for ``a >= 0``, ``sigmoid(a)``
    below (``candidate="g"``) (Feng et al. 2024).

    Parameters
    ----------
    W_z, W_h : (n, d) array_like
        The gate's and the candidate's weights.
    b_z, b_h : (n,) array_like, optional
        Their biases (zeros when None).
    candidate : {"linear", "g"}
    dtype : float32 or float64

    Notes
    -----
    The step Jacobian is ``diag(1 - z_t)``: every eigenvalue lies in (0, 1),
    for any weights.  The input Jacobian is
    ``diag((h~_t - h_{t-1}) z_t (1 - z_t)) W_z + diag(z_t c'(a_h)) W_h``.

    State-dict layout (the paper's code): ``linear_z.weight`` (n, d),
    ``linear_z.bias`` (n,), ``linear_h.weight`` (n, d), ``linear_h.bias``
    (n,); :meth:`parameters` and :meth:`from_state_dict` use these names.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.MinGRU.random(4, input_size=2, rng=0)
    >>> traj = cell.run(np.ones((5, 2)))
    >>> z = 1 / (1 + np.exp(-(cell.weight("z") @ np.ones(2) + cell.bias("z"))))
    >>> bool(np.allclose(traj.jacobian(5), np.diag(1 - z)))
    True
    >>> sorted(cell.parameters())
    ['linear_h.bias', 'linear_h.weight', 'linear_z.bias', 'linear_z.weight']
    """

    _maps = ("z", "h")

    def __init__(self, W_z, W_h, b_z=None, b_h=None, *, candidate="linear", dtype=np.float64):
        super().__init__((W_z, W_h), (b_z, b_h), candidate, dtype)

    def _mix(self, A):
        a_z, a_h = self._block(A, 0), self._block(A, 1)
        z = _logistic(a_z)
        return _logistic(-a_z), z * _candidate(a_h, self.candidate)

    def _preact_coefs(self, states, A):
        a_z, a_h = self._block(A, 0), self._block(A, 1)
        h_prev = states[..., :-1, :]
        z = _logistic(a_z)
        return np.concatenate([(_candidate(a_h, self.candidate) - h_prev) * _logistic_d(a_z),
                               z * _candidate_d(a_h, self.candidate)], axis=-1)

    @classmethod
    def random(cls, n, *, input_size=None, candidate="linear", rng=None, dtype=np.float64):
        """A MinGRU with torch.nn.Linear's default initialisation (the paper's).

        Every weight and bias is drawn from U(-1/sqrt(d), 1/sqrt(d)).

        Parameters
        ----------
        n : int
            Hidden size.
        input_size : int, optional
            d (default: n).
        candidate : {"linear", "g"}
        rng : int, Generator or None

        Examples
        --------
        >>> import spectra
        >>> spectra.MinGRU.random(8, rng=0)
        MinGRU(n=8, input_size=8)
        """
        Ws, bs = cls._random_weights(n, input_size, rng, dtype)
        return cls(*Ws, *bs, candidate=candidate, dtype=dtype)


@register_cell("minlstm", aliases=("min_lstm",))
class MinLSTM(_MinimalCell):
    """minLSTM: ``h_t = f'_t h_{t-1} + i'_t h~_t`` with normalised gates from the input alone.

    ``f_t = sigmoid(W_f x_t + b_f)``, ``i_t = sigmoid(W_i x_t + b_i)``,
    ``f'_t = f_t / (f_t + i_t)``, ``i'_t = i_t / (f_t + i_t)`` and
    ``h~_t = c(W_h x_t + b_h)`` (``c`` as for :class:`MinGRU`) (Feng et al.
    2024).  ``f'`` is computed as ``sigmoid(log f - log i)``, which stays
    accurate when both gates are tiny.

    Parameters
    ----------
    W_f, W_i, W_h : (n, d) array_like
        The forget gate's, input gate's and candidate's weights.
    b_f, b_i, b_h : (n,) array_like, optional
        Their biases (zeros when None).
    candidate : {"linear", "g"}
    dtype : float32 or float64

    Notes
    -----
    The step Jacobian is ``diag(f'_t)``, in (0, 1) for any weights.  With
    ``df'/da_f = f' i' (1 - f)`` and ``df'/da_i = -f' i' (1 - i)`` the input
    Jacobian is ``diag((h_{t-1} - h~_t) f' i' (1 - f)) W_f
    - diag((h_{t-1} - h~_t) f' i' (1 - i)) W_i + diag(i' c'(a_h)) W_h``.

    State-dict layout (the paper's code): ``linear_f.weight``,
    ``linear_f.bias``, ``linear_i.weight``, ``linear_i.bias``,
    ``linear_h.weight``, ``linear_h.bias`` (weights (n, d), biases (n,)).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.MinLSTM.random(3, input_size=2, rng=0)
    >>> lam = cell.run(np.ones((4, 2))).jacobian_sequence.eigenvalues(4)
    >>> bool(np.all((0 < lam) & (lam < 1)))
    True
    """

    _maps = ("f", "i", "h")

    def __init__(self, W_f, W_i, W_h, b_f=None, b_i=None, b_h=None, *, candidate="linear",
                 dtype=np.float64):
        super().__init__((W_f, W_i, W_h), (b_f, b_i, b_h), candidate, dtype)

    def _gates(self, A):
        a_f, a_i = self._block(A, 0), self._block(A, 1)
        delta = _log_sigmoid(a_f) - _log_sigmoid(a_i)
        return _logistic(delta), _logistic(-delta)          # f', i'

    def _mix(self, A):
        fp, ip = self._gates(A)
        return fp, ip * _candidate(self._block(A, 2), self.candidate)

    def _preact_coefs(self, states, A):
        a_f, a_i, a_h = self._block(A, 0), self._block(A, 1), self._block(A, 2)
        fp, ip = self._gates(A)
        diff = (states[..., :-1, :] - _candidate(a_h, self.candidate)) * fp * ip
        return np.concatenate([diff * _logistic(-a_f), -diff * _logistic(-a_i),
                               ip * _candidate_d(a_h, self.candidate)], axis=-1)

    @classmethod
    def random(cls, n, *, input_size=None, candidate="linear", rng=None, dtype=np.float64):
        """A MinLSTM with torch.nn.Linear's default initialisation (the paper's).

        Every weight and bias is drawn from U(-1/sqrt(d), 1/sqrt(d)).

        Parameters
        ----------
        n : int
            Hidden size.
        input_size : int, optional
            d (default: n).
        candidate : {"linear", "g"}
        rng : int, Generator or None

        Examples
        --------
        >>> import spectra
        >>> spectra.MinLSTM.random(8, input_size=3, rng=0)
        MinLSTM(n=8, input_size=3)
        """
        Ws, bs = cls._random_weights(n, input_size, rng, dtype)
        return cls(*Ws, *bs, candidate=candidate, dtype=dtype)
