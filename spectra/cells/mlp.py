"""Feedforward stacks as step maps whose "time" is depth: MLP and residual MLP.

Layer l maps h_{l-1} (width n_{l-1}) to h_l (width n_l):

* plain:    h_l = f_l(a_l),            J_l = diag(f_l'(a_l)) W_l          (n_l x n_{l-1});
* residual: h_l = h_{l-1} + f_l(a_l),  J_l = I + diag(f_l'(a_l)) W_l      (square layers);

with a_l = W_l h_{l-1} + b_l.  A normalisation layer N_l (layer norm, or batch
norm over a batch of examples; ``norm=``) sits between the affine map and the
nonlinearity: h_l = f_l(N_l(a_l)), J_l = diag(f_l'(y_l)) N_l'(a_l) W_l with
y_l = N_l(a_l); batch statistics couple the examples (see :mod:`spectra._norm`).
The input-output Jacobian of the network is the product
dh_L/dh_0 = J_L ... J_1, so the products, singular values and norm profiles
of recurrent networks apply unchanged; eigenvalues, determinants and
Lyapunov exponents need square layers of one width.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .activations import Activation, activation as _activation
from .base import Cell, frozen as _frozen
from .init import INITIALIZERS as _INITS
from .._core.errors import NumericalError
from .._core.interop import is_tensor
from ..jacobians.sequence import LAYOUTS, JacobianSequence, without_subnormals
from .norm import NormLayerJacobians, norm_list
from .._core.validation import (as_array, as_generator, as_matrix, as_vector, check_choice, check_dtype,
                          check_int, check_real, describe)

__all__ = ["MLP", "LayerJacobians"]

_MLP_INITS = tuple(i for i in _INITS if i != "echo_state")


class LayerJacobians(JacobianSequence):
    """Layer Jacobians ``J_l = diag(row_l) W_l`` (plus I for residual layers), one W per layer.

    Parameters
    ----------
    weights : tuple of (n_l, n_{l-1}) arrays
        The layers' weight matrices, kept by reference.
    rows : tuple of (*batch, n_l) arrays
        f_l'(a_l) for each layer (subnormal values are stored as zeros).
    residual : bool
        Add the identity (square layers only).

    Notes
    -----
    ``matmat`` costs one product with W_l plus O(n m); ``logabsdet`` of a
    plain square layer is ``log|det W_l| + sum log|f'(a_l)|`` (O(n) once
    ``log|det W_l|`` is cached).
    """

    _step_word = "layer"

    def __init__(self, weights, rows, residual=False):
        self.weights = tuple(weights)
        self.rows = tuple(without_subnormals(r) for r in rows)
        self.residual = bool(residual)
        if self.residual and any(W.shape[0] != W.shape[1] for W in self.weights):
            raise ValueError("residual layers must be square")
        self.steps = len(self.weights)
        self.batch_shape = self.rows[0].shape[:-1]
        self.dtype = self.weights[0].dtype
        self._logdetW = {}

    def step_shape(self, t):
        return self.weights[t - 1].shape

    def matrix(self, t):
        J = self.rows[t - 1][..., :, None] * self.weights[t - 1]
        if self.residual:
            J = J + np.eye(J.shape[-1], dtype=self.dtype)
        return J

    def matmat(self, t, X):
        Y = self.rows[t - 1][..., :, None] * (self.weights[t - 1] @ X)
        return Y + X if self.residual else Y

    def rmatmat(self, t, Y):
        Z = self.weights[t - 1].T @ (self.rows[t - 1][..., :, None] * Y)
        return Z + Y if self.residual else Z

    def logabsdet(self, t):
        t = self._check_time(t, "t", minimum=1)
        shape = self.step_shape(t)
        if shape[0] != shape[1]:
            raise ValueError(f"logabsdet needs a square step Jacobian; layer {t} has shape {shape}")
        if self.residual:
            with np.errstate(divide="ignore"):
                return np.linalg.slogdet(self.matrix(t))[1]
        if t not in self._logdetW:
            with np.errstate(divide="ignore"):
                self._logdetW[t] = float(np.linalg.slogdet(self.weights[t - 1])[1])
        with np.errstate(divide="ignore"):
            return self._logdetW[t] + np.sum(np.log(np.abs(self.rows[t - 1])), axis=-1)

    def select(self, b):
        b = self._batch_index(b)
        return LayerJacobians(self.weights, tuple(r[b] for r in self.rows), self.residual)


def _layer_list(value, name, L, what):
    """A list of L per-layer entries from a sequence (or a stacked array)."""
    if isinstance(value, np.ndarray) or is_tensor(value):
        value = list(as_array(value, name))
    elif isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise TypeError(f"`{name}` must be a sequence of {L} {what}; got {describe(value)}")
    items = list(value)
    if len(items) != L:
        raise ValueError(f"`{name}` must have one entry per layer ({L}); got {len(items)}")
    return items


class MLP:
    """A feedforward stack read as a step map over depth (plain or residual).

    An MLP offers the public interface of a :class:`~spectra.Cell` (``run``,
    ``step``, ``step_jacobian``, ``jvp``, ``vjp``) and is registered as one
    (``isinstance(mlp, spectra.Cell)``), but runs layer by layer: its steps
    change width, which the recurrent engine's hooks do not allow.

    Parameters
    ----------
    weights : sequence of (n_l, n_{l-1}) array_like, or (L, n, n) array_like
        W_1..W_L; consecutive shapes must chain (W_l has n_{l-1} columns).
    biases : sequence of (n_l,) array_like or None, optional
        b_1..b_L (an entry may be None; None for all: no biases).
    activation : str, Activation, or a sequence of L of them
        f_l, shared by all layers or one per layer (e.g. a linear last
        layer: ``["relu", "relu", "identity"]``).
    residual : bool
        h_l = h_{l-1} + f_l(a_l) instead of h_l = f_l(a_l); needs square
        layers.
    dtype : float32 or float64
    norm : None, "layer", "batch", LayerNorm, BatchNorm, or a sequence of L of them
        A normalisation layer after each affine map, before the
        nonlinearity: h_l = f_l(N_l(W_l h_{l-1} + b_l)) (plus h_{l-1} when
        residual).  ``"layer"``/``"batch"`` build default layers (gamma = 1,
        beta = 0, eps = 1e-5; batch norm in training mode); pass
        :class:`spectra.LayerNorm`/:class:`spectra.BatchNorm` objects for
        other parameters, or a list with one entry (or None) per layer.
        Batch statistics couple the examples of a batch: ``run`` then needs
        a batch ``(B, n_0)`` with B >= 2, and its trajectory has one state,
        the flattened batch (see Notes).

    Attributes
    ----------
    widths : tuple of int
        (n_0, ..., n_L).
    depth : int
        L, the number of layers (the "steps" of a run).
    norms : tuple
        The normalisation layer of each layer (None where there is none).
    coupled : bool
        True when some layer uses batch statistics.

    Notes
    -----
    Depth plays the role of time: ``run(x)`` returns a trajectory over layers
    with ``jacobian(l) = dh_l/dh_{l-1} = diag(f_l'(a_l)) W_l`` (plus the
    identity for residual layers, He et al. 2016), and ``product(L, 0)`` is
    the network's input-output Jacobian.  Layers may be rectangular:
    products, operators and singular values work for any widths; routines
    about eigenvalues, determinants or Lyapunov exponents need square layers
    of one width and raise a ValueError saying so otherwise.

    With batch statistics (``norm="batch"``, training mode) the output of
    each example depends on the whole batch, so a run over B examples is
    one step map on the flattened batch (row-major: index b n + i) and
    ``jacobian(l)`` is the (B n_l) x (B n_{l-1}) matrix
    d vec(H_l) / d vec(H_{l-1}) with its cross-example blocks; it is kept
    factored (:class:`spectra._norm.NormLayerJacobians`) and every analysis
    routine works on it unchanged.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> net = spectra.MLP([np.ones((3, 2)), np.ones((1, 3))], activation="identity")
    >>> traj = net.run([1.0, 2.0])
    >>> traj.widths, traj.layers[-1]
    ((2, 3, 1), array([9.]))
    >>> traj.product(2, 0)
    array([[3., 3.]])
    """

    def __init__(self, weights, biases=None, *, activation="tanh", residual=False,
                 dtype=np.float64, norm=None):
        dtype = check_dtype(dtype)
        if isinstance(weights, np.ndarray) or is_tensor(weights):
            arr = as_array(weights, "weights", dtype=dtype)
            if arr.ndim != 3:
                raise ValueError(f"`weights` must be a sequence of matrices or an array of shape "
                                 f"(L, n, n); got an array of shape {arr.shape}")
            items = list(arr)
        elif isinstance(weights, (str, bytes, Mapping)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"`weights` must be a sequence of weight matrices; got {describe(weights)}")
        else:
            items = list(weights)
        if not items:
            raise ValueError("`weights` must contain at least one layer; got an empty sequence")
        Ws = [as_matrix(W, f"weights[{l}]", dtype=dtype) for l, W in enumerate(items)]
        for l in range(1, len(Ws)):
            if Ws[l].shape[1] != Ws[l - 1].shape[0]:
                raise ValueError(f"`weights` must chain: weights[{l}] has shape {Ws[l].shape} but "
                                 f"weights[{l - 1}] has shape {Ws[l - 1].shape} (need "
                                 f"{Ws[l - 1].shape[0]} columns)")
        L = len(Ws)
        if biases is None:
            bs = [None] * L
        else:
            bs = [None if b is None else as_vector(b, f"biases[{l}]", size=Ws[l].shape[0], dtype=dtype)
                  for l, b in enumerate(_layer_list(biases, "biases", L, "bias vectors"))]
        if isinstance(activation, (str, Activation)):
            acts = [_activation(activation)] * L
        else:
            acts = _layer_list(activation, "activation", L, "activations")
            for l, a in enumerate(acts):
                if not isinstance(a, (str, Activation)):
                    raise TypeError(f"`activation[{l}]` must be a name or an Activation; got "
                                    f"{describe(a)}")
            acts = [_activation(a) for a in acts]
        if not isinstance(residual, (bool, np.bool_)):
            raise TypeError(f"`residual` must be True or False; got {describe(residual)}")
        if residual:
            for l, W in enumerate(Ws):
                if W.shape[0] != W.shape[1]:
                    raise ValueError(f"`residual=True` needs square layers (h_l = h_(l-1) + "
                                     f"f(W_l h_(l-1) + b_l)); weights[{l}] has shape {W.shape}")
        self.dtype = dtype
        self.residual = bool(residual)
        self.depth = L
        self.widths = (Ws[0].shape[1],) + tuple(W.shape[0] for W in Ws)
        self.norms = norm_list(norm, self.widths, dtype)
        self.activations = tuple(acts)
        self.input_size = 0
        self._weights = tuple(_frozen(W) for W in Ws)
        self._biases = tuple(_frozen(b) for b in bs)

    # -- attributes --------------------------------------------------------------------
    def parameters(self) -> dict:
        """``{"W_1": ..., "b_1": ..., ...}``: the weights and biases of every layer by name."""
        out = {}
        for l, (W, b) in enumerate(zip(self._weights, self._biases), start=1):
            out[f"W_{l}"] = W
            if b is not None:
                out[f"b_{l}"] = b
        return out

    def hidden_part(self, states):
        """The hidden part of the states: all of it."""
        return states

    @property
    def weights(self) -> tuple:
        return self._weights

    @property
    def biases(self) -> tuple:
        return self._biases

    @property
    def n(self) -> int:
        """The width of every layer, when all widths are equal."""
        if len(set(self.widths)) != 1:
            raise ValueError(f"this MLP has layers of different widths {self.widths}; it has no "
                             "single state size n")
        return self.widths[0]

    @property
    def activation(self) -> Activation:
        """The activation shared by all layers."""
        if len(set(self.activations)) != 1:
            raise ValueError(f"the layers use different activations {self.activations}; see "
                             "`activations`")
        return self.activations[0]

    @property
    def coupled(self) -> bool:
        """True when some layer normalises with batch statistics (examples are coupled)."""
        return any(nm is not None and nm.coupled for nm in self.norms)

    def __repr__(self) -> str:
        acts = self.activations
        act = acts[0] if len(set(acts)) == 1 else list(acts)
        res = ", residual=True" if self.residual else ""
        kinds = [None if nm is None else nm.kind for nm in self.norms]
        if all(k is None for k in kinds):
            nrm = ""
        elif len(set(kinds)) == 1:
            nrm = f", norm={kinds[0]!r}"
        else:
            nrm = f", norm={kinds!r}"
        return f"MLP(widths={self.widths}, activation={act!r}{res}{nrm})"

    # -- running -----------------------------------------------------------------------
    def _layer(self, l, h):
        """h_l, a_l, y_l = N_l(a_l) and the normalisation factors from h_{l-1} (l is 1-based)."""
        W, b = self._weights[l - 1], self._biases[l - 1]
        a = h @ W.T
        if b is not None:
            a = a + b
        nm = self.norms[l - 1]
        y, factors = (a, None) if nm is None else nm._forward(a)
        out = self.activations[l - 1].f(y)
        return (h + out if self.residual else out), a, y, factors

    def _check_batch(self, x, name):
        if self.coupled and (x.ndim != 2 or x.shape[0] < 2):
            raise ValueError(f"this MLP normalises with batch statistics, which couple the examples: "
                             f"`{name}` must be a batch of shape (B, {x.shape[-1]}) with B >= 2; "
                             f"got shape {x.shape}")
        return x

    def _sequence(self, weights, rows, factors, examples):
        if all(f is None for f in factors):
            return LayerJacobians(weights, rows, self.residual)
        coupled = any(f is not None and f.kind == "batch" for f in factors)
        return NormLayerJacobians(weights, rows, factors, self.residual, coupled=coupled,
                                  examples=examples)

    def _check_input(self, x, name, width):
        x = as_array(x, name, dtype=self.dtype, ndim=(1, 2))
        if x.shape[-1] != width:
            raise ValueError(f"`{name}` must have length {width} (shape ({width},) or (B, {width})); "
                             f"got shape {x.shape}")
        return x

    def run(self, x=None, *, h0=None, steps=None):
        """The forward pass, as a trajectory over layers.

        Parameters
        ----------
        x : (n_0,) or (B, n_0) array_like, optional
            The network input h_0 (a leading batch axis runs B inputs at
            once); ``h0`` is accepted as another name for it.  Zeros when
            neither is given.
        steps : int, optional
            Must equal the depth L if given.

        Returns
        -------
        LayerTrajectory
            ``layers[l]`` is h_l; ``states`` is the (L+1, n) array when
            every width is n; ``jacobian(l)``, ``product(t, k)`` and
            ``operator(t, k)`` work for any widths.
        """
        from ..jacobians.layer_trajectory import LayerTrajectory  # the trajectory layer sits above

        if x is not None and h0 is not None:
            raise ValueError("pass the network input once, as `x` or as `h0`, not both")
        name = "h0" if x is None and h0 is not None else "x"
        x = h0 if x is None else x
        if steps is not None:
            steps = check_int(steps, "steps", minimum=0)
            if steps != self.depth:
                raise ValueError(f"`steps` must equal the depth of the MLP ({self.depth}) when "
                                 f"given; got steps={steps}")
        if x is None:
            x = np.zeros(self.widths[0], dtype=self.dtype)
        x = self._check_batch(self._check_input(x, name, self.widths[0]), name)
        batch = x.shape[:-1]
        L = self.depth
        uniform = len(set(self.widths)) == 1
        states = np.empty(batch + (L + 1, self.widths[0]), dtype=self.dtype) if uniform else None
        pre = np.empty(batch + (L, self.widths[0]), dtype=self.dtype) if uniform else None
        layers, preacts, normed, factors = [x], [], [], []
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            for l in range(1, L + 1):
                h, a, y, fac = self._layer(l, layers[-1])
                layers.append(h)
                preacts.append(a)
                normed.append(y)
                factors.append(fac)
        for l, h in enumerate(layers):
            if not np.all(np.isfinite(h)):
                raise NumericalError(f"the forward pass of the MLP overflowed at layer {l} "
                                     f"(non-finite h_{l}); reduce the weights' gain or the depth")
        if uniform:
            for l, h in enumerate(layers):
                states[..., l, :] = h
            for l, a in enumerate(preacts):
                pre[..., l, :] = a
            layers = [states[..., l, :] for l in range(L + 1)]
            preacts = [pre[..., l, :] for l in range(L)]
        with np.errstate(under="ignore"):
            rows = [act.df_checked(y) for act, y in zip(self.activations, normed)]
        seq = self._sequence(self._weights, rows, factors, batch[0] if batch else None)
        normalized = None if all(f is None for f in factors) else \
            [y if f is not None else None for y, f in zip(normed, factors)]
        return LayerTrajectory(self, layers, preacts, seq, states=states, preactivations=pre,
                               normalized=normalized, coupled=self.coupled)

    # -- one layer ---------------------------------------------------------------------
    def _one_layer(self, h_prev, x, layer):
        if x is not None:
            raise TypeError(f"an MLP layer takes no input besides `h_prev`; got x={describe(x)}")
        layer = check_int(layer, "layer", minimum=1, maximum=self.depth)
        h = self._check_input(h_prev, "h_prev", self.widths[layer - 1])
        if self.norms[layer - 1] is not None and self.norms[layer - 1].coupled:
            self._check_batch(h, "h_prev")
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            out, a, y, fac = self._layer(layer, h)
        with np.errstate(under="ignore"):
            row = self.activations[layer - 1].df_checked(y)
        seq = self._sequence((self._weights[layer - 1],), (row,), (fac,),
                             h.shape[0] if h.ndim == 2 else None)
        return out, seq

    def step(self, h_prev, x=None, *, layer=1) -> np.ndarray:
        """h_l from h_{l-1} for ``layer`` l (1-based, default the first)."""
        return self._one_layer(h_prev, x, layer)[0]

    def step_jacobian(self, h_prev, x=None, *, layer=1, layout="numerator") -> np.ndarray:
        """``dh_l/dh_{l-1}`` of ``layer`` l at ``h_prev`` (dense n_l x n_{l-1}).

        With batch statistics, ``h_prev`` is a batch (B, n_{l-1}) and the
        Jacobian is (B n_l) x (B n_{l-1}) over the flattened batch.
        """
        check_choice(layout, "layout", LAYOUTS)
        J = self._one_layer(h_prev, x, layer)[1].matrix(1)
        return np.swapaxes(J, -1, -2).copy() if layout == "backprop" else J

    def jvp(self, h_prev, v, x=None, *, layer=1) -> np.ndarray:
        """``(dh_l/dh_{l-1}) v`` without forming the Jacobian."""
        seq = self._one_layer(h_prev, x, layer)[1]
        if getattr(seq, "coupled", False):
            v = self._check_input(v, "v", self.widths[layer - 1])
            if v.shape != np.shape(h_prev):
                raise ValueError(f"`v` must have the shape of the batch `h_prev` {np.shape(h_prev)}; "
                                 f"got {v.shape}")
            return seq.matvec(1, v.reshape(-1)).reshape(v.shape[0], -1)
        v = self._check_input(v, "v", seq.step_shape(1)[1])
        return seq.matvec(1, v)

    def vjp(self, h_prev, u, x=None, *, layer=1) -> np.ndarray:
        """``(dh_l/dh_{l-1})^T u`` without forming the Jacobian (one backprop step)."""
        seq = self._one_layer(h_prev, x, layer)[1]
        if getattr(seq, "coupled", False):
            u = self._check_input(u, "u", self.widths[layer])
            if u.shape[0] != np.shape(h_prev)[0] or u.ndim != 2:
                raise ValueError(f"`u` must be a batch of shape ({np.shape(h_prev)[0]}, "
                                 f"{self.widths[layer]}); got {u.shape}")
            return seq.rmatvec(1, u.reshape(-1)).reshape(u.shape[0], -1)
        u = self._check_input(u, "u", seq.step_shape(1)[0])
        return seq.rmatvec(1, u)

    @classmethod
    def random(cls, widths, *, init="gaussian", gain=1.0, bias_scale=0.0, activation="tanh",
               residual=False, rng=None, dtype=np.float64, norm=None):
        """An MLP with random weights from :mod:`spectra.init`.

        Parameters
        ----------
        widths : sequence of int
            (n_0, n_1, ..., n_L), at least two entries.
        init : str
            ``gaussian``, ``orthogonal``, ``xavier_normal``, ``xavier_uniform``,
            ``he_normal``, ``he_uniform`` or ``identity``; W_l is
            ``init(n_l, n_{l-1}, gain=gain)``.
        gain : float
        bias_scale : float
            Standard deviation of Gaussian biases (0: none).
        activation, residual, dtype, norm
            As for :class:`MLP`.
        rng : int, Generator or None
            One generator draws every layer in order.

        Examples
        --------
        >>> import spectra
        >>> spectra.MLP.random([4, 8, 8, 2], init="orthogonal", rng=0)
        MLP(widths=(4, 8, 8, 2), activation=Activation('tanh'))
        """
        from . import init as _init

        if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
            raise TypeError(f"`widths` must be a sequence of layer widths; got {describe(widths)}")
        widths = [check_int(w, f"widths[{i}]", minimum=1) for i, w in enumerate(widths)]
        if len(widths) < 2:
            raise ValueError(f"`widths` must have at least two entries (n_0, n_1); got {widths}")
        check_choice(init, "init", _MLP_INITS)
        gain = check_real(gain, "gain")
        bias_scale = check_real(bias_scale, "bias_scale", low=0.0)
        gen = as_generator(rng)
        make = getattr(_init, init)
        weights, biases = [], []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            weights.append(make(n_out, n_in, gain=gain, rng=gen))
            biases.append(bias_scale * gen.standard_normal(n_out) if bias_scale > 0 else None)
        return cls(weights, biases, activation=activation, residual=residual, dtype=dtype, norm=norm)


Cell.register(MLP)
