"""Normalisation layers as step maps with exact Jacobians: layer norm and batch norm.

Layer norm (Ba, Kiros & Hinton 2016) normalises each example over its n
features; batch norm (Ioffe & Szegedy 2015) in training mode normalises each
feature over the B examples of a batch, so it couples the examples: the
Jacobian of the batch output with respect to the batch input is a
(B n) x (B n) matrix with explicit cross-example blocks.  In evaluation mode
batch norm uses running statistics and is a per-feature affine map.

With x_hat = (x - mu) / sigma, sigma = sqrt(var + eps) (biased variance, as in
PyTorch) and y = gamma * x_hat + beta:

* layer norm, per example (mu, sigma over the n features)::

      dy/dx = diag(gamma / sigma) (I - 1 1^T / n - x_hat x_hat^T / n)

* batch norm, training mode (mu_i, sigma_i over the B examples), the state
  being the batch flattened row-major (index b n + i)::

      dy_bi / dx_cj = delta_ij gamma_i / sigma_i (delta_bc - 1/B - x_hat_bi x_hat_ci / B)

* batch norm, evaluation mode: dy/dx = diag(gamma / sqrt(running_var + eps)).

The projections annihilate the all-ones direction (over features for layer
norm, over the batch for batch norm), so these Jacobians are singular:
log|det| is exactly -inf.  They map x_hat to ``x_hat * eps / (var + eps)``,
which vanishes only for eps = 0.

Everything here is kept factored (x_hat, 1/sigma, gamma): a product with a
block of m vectors costs O(B n m); a dense matrix is formed only on request.
"""

from __future__ import annotations

import numpy as np

from ..jacobians.sequence import JacobianSequence, without_subnormals
from .._core.validation import as_array, as_vector, check_dtype, check_int, check_real, describe

__all__ = ["LayerNorm", "BatchNorm", "NormLayerJacobians"]


def _param(value, name, n, dtype, default):
    if value is None:
        return None if default is None else np.full(n, default, dtype=dtype)
    arr = as_vector(value, name, size=n, dtype=dtype)
    arr = arr.copy()
    arr.flags.writeable = False
    return arr


def _standardise(a, axis, eps, zero_variance_message):
    """``(x_hat, 1/sigma)`` along ``axis`` (biased variance; 1/sigma keeps the reduced axis)."""
    d = a - np.mean(a, axis=axis, keepdims=True)
    var = np.mean(d * d, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        inv = 1.0 / np.sqrt(var + eps)
    if not np.all(np.isfinite(inv)):
        raise ValueError(zero_variance_message)
    return d * inv, inv


class _Norm:
    """Shared parts of the two normalisation layers."""

    kind: str
    n: int
    eps: float
    gamma: np.ndarray
    beta: np.ndarray
    dtype: np.dtype

    def _init_common(self, n, gamma, beta, eps, dtype):
        self.dtype = check_dtype(dtype)
        self.n = check_int(n, "n", minimum=1)
        self.eps = check_real(eps, "eps", low=0.0)
        self.gamma = _param(gamma, "gamma", self.n, self.dtype, 1.0)
        self.beta = _param(beta, "beta", self.n, self.dtype, 0.0)

    @property
    def coupled(self) -> bool:
        """True when the output of one example depends on the other examples of the batch."""
        return False

    def _check_x(self, x, name="x", ndim=(1, 2, 3)):
        x = as_array(x, name, dtype=self.dtype, ndim=ndim)
        if x.shape[-1] != self.n:
            raise ValueError(f"`{name}` must have {self.n} features in its last axis; got shape {x.shape}")
        return x

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x) -> np.ndarray:
        """The normalised output y, same shape as ``x``."""
        x = self._check_x(x)
        return self._forward(x)[0]

    def factors(self, x) -> "_NormFactors":
        """The factored Jacobian at ``x`` (what :class:`NormLayerJacobians` stores)."""
        return self._forward(self._check_x(x))[1]

    def _forward(self, a):
        raise NotImplementedError

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def _key(self):
        arr = (lambda a: None if a is None else a.tobytes())
        return (self.kind, self.n, self.eps, arr(self.gamma), arr(self.beta))


class _NormFactors:
    """The factored Jacobian of one normalisation layer at one input.

    ``kind`` is ``"layer"`` (``xhat`` (..., n), ``inv_sigma`` (..., 1)),
    ``"batch"`` (``xhat`` (B, n), ``inv_sigma`` (n,)) or ``"affine"``
    (``inv_sigma`` (n,) only: evaluation-mode batch norm).  ``gamma`` is
    (n,) or None (unit scale).
    """

    __slots__ = ("kind", "xhat", "inv_sigma", "gamma", "scale")

    def __init__(self, kind, xhat, inv_sigma, gamma):
        self.kind = kind
        self.xhat = xhat
        self.inv_sigma = inv_sigma
        self.gamma = gamma
        s = inv_sigma if gamma is None else gamma * inv_sigma
        self.scale = without_subnormals(np.asarray(s))

    def select(self, b):
        if self.kind == "layer":
            return _NormFactors("layer", self.xhat[b], self.inv_sigma[b], self.gamma)
        return self

    def _project(self, Y):
        """The symmetric projection part, on Y of shape (..., n, m) (examples leading)."""
        if self.kind == "affine":
            return Y
        if self.kind == "layer":
            n = Y.shape[-2]
            xh = self.xhat[..., :, None]
            return Y - np.mean(Y, axis=-2, keepdims=True) - xh * (np.sum(xh * Y, axis=-2, keepdims=True) / n)
        B = Y.shape[0]  # batch: Y is (B, n, m), the projection acts over the examples
        xh = self.xhat[:, :, None]
        return Y - np.mean(Y, axis=0, keepdims=True) - xh * (np.sum(xh * Y, axis=0, keepdims=True) / B)

    def _scale(self, Y):
        s = self.scale
        return s[..., :, None] * Y

    def apply(self, Y):
        """dy/dx @ Y (Y of shape (..., n, m), or (B, n, m) for batch statistics)."""
        return self._scale(self._project(Y))

    def rapply(self, Y):
        """(dy/dx)^T @ Y."""
        return self._project(self._scale(Y))


class LayerNorm(_Norm):
    """Layer normalisation y = gamma * (x - mean(x)) / sqrt(var(x) + eps) + beta, per example.

    Parameters
    ----------
    n : int
        Number of features (statistics are taken over them).
    gamma, beta : (n,) array_like, optional
        Scale and shift (PyTorch's ``weight`` and ``bias``); ones and zeros
        by default.
    eps : float
        Added to the (biased) variance; PyTorch's default 1e-5.
    dtype : float32 or float64

    Notes
    -----
    With x_hat = (x - mu)/sigma and sigma = sqrt(var + eps), the Jacobian of
    one example is ``diag(gamma/sigma) (I - 1 1^T/n - x_hat x_hat^T/n)``
    (Ba, Kiros & Hinton 2016).  The bracket is symmetric and annihilates the
    all-ones vector; it maps x_hat to ``x_hat eps / (var + eps)``.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> ln = spectra.LayerNorm(3, eps=0.0)
    >>> ln([1.0, 2.0, 3.0]).round(6)
    array([-1.224745,  0.      ,  1.224745])
    >>> J = ln.jacobian([1.0, 2.0, 3.0])
    >>> bool(np.allclose(J @ np.ones(3), 0))
    True
    """

    kind = "layer"

    def __init__(self, n, *, gamma=None, beta=None, eps=1e-5, dtype=np.float64):
        self._init_common(n, gamma, beta, eps, dtype)

    def __repr__(self):
        return f"LayerNorm({self.n}, eps={self.eps:g})"

    def _forward(self, a):
        xhat, inv = _standardise(a, -1, self.eps, "layer norm with eps=0 met an example whose "
                                 "features are all equal (zero variance); use eps > 0")
        return xhat * self.gamma + self.beta, _NormFactors("layer", xhat, inv, self.gamma)

    def jacobian(self, x) -> np.ndarray:
        """dy/dx per example, shape ``(..., n, n)`` (symmetric up to the row scaling by gamma)."""
        f = self.factors(x)
        return f.apply(np.eye(self.n, dtype=self.dtype))

    def jvp(self, x, v) -> np.ndarray:
        """(dy/dx) v per example, without forming the Jacobian."""
        f = self.factors(x)
        v = self._check_x(v, "v")
        return f.apply(v[..., None])[..., 0]

    def vjp(self, x, u) -> np.ndarray:
        """(dy/dx)^T u per example (one backprop step)."""
        f = self.factors(x)
        u = self._check_x(u, "u")
        return f.rapply(u[..., None])[..., 0]

    @classmethod
    def from_torch(cls, module):
        """A LayerNorm from a ``torch.nn.LayerNorm`` over one feature axis (read by duck typing)."""
        shape = tuple(getattr(module, "normalized_shape", ()))
        if len(shape) != 1:
            raise ValueError(f"`module` must normalise over one feature axis; got normalized_shape={shape}")
        w, b = getattr(module, "weight", None), getattr(module, "bias", None)
        return cls(shape[0], gamma=None if w is None else as_array(w, "module.weight"),
                   beta=None if b is None else as_array(b, "module.bias"), eps=float(module.eps))


class BatchNorm(_Norm):
    """Batch normalisation over a batch of examples (training mode) or with running statistics.

    Parameters
    ----------
    n : int
        Number of features.
    gamma, beta : (n,) array_like, optional
        Scale and shift (PyTorch's ``weight`` and ``bias``).
    eps : float
        Added to the variance (PyTorch's default 1e-5).
    running_mean, running_var : (n,) array_like, optional
        The statistics used in evaluation mode (zeros and ones by default,
        as PyTorch initialises them).
    training : bool
        True (default): statistics over the batch, which couples the
        examples; False: running statistics, a per-example affine map.
    dtype : float32 or float64

    Notes
    -----
    Training mode (Ioffe & Szegedy 2015) on a batch X of shape (B, n), with
    per-feature mean mu_i, biased variance var_i, sigma_i = sqrt(var_i + eps)
    and x_hat = (X - mu) / sigma: the Jacobian of the flattened output with
    respect to the flattened input (row-major, index b n + i) is

        J_{(b,i),(c,j)} = delta_ij gamma_i / sigma_i (delta_bc - 1/B - x_hat_bi x_hat_ci / B),

    block-diagonal over features after a permutation, and its columns sum to
    zero over the batch.  ``jacobian`` forms it densely; ``jvp``/``vjp`` and
    :class:`NormLayerJacobians` use the factored form (O(B n) per vector).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> bn = spectra.BatchNorm(2, eps=0.0)
    >>> X = np.array([[1.0, 0.0], [3.0, 4.0]])
    >>> bn(X)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> bn.jacobian(X).shape                  # (B n) x (B n): examples coupled
    (4, 4)
    """

    kind = "batch"

    def __init__(self, n, *, gamma=None, beta=None, eps=1e-5, running_mean=None, running_var=None,
                 training=True, dtype=np.float64):
        self._init_common(n, gamma, beta, eps, dtype)
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"`training` must be True or False; got {describe(training)}")
        self.training = bool(training)
        self.running_mean = _param(running_mean, "running_mean", self.n, self.dtype, 0.0)
        self.running_var = _param(running_var, "running_var", self.n, self.dtype, 1.0)
        if np.any(self.running_var < 0):
            raise ValueError("`running_var` must be non-negative")
        if not self.training and np.any(self.running_var + self.eps <= 0):
            raise ValueError("evaluation-mode batch norm needs running_var + eps > 0 for every feature")

    @property
    def coupled(self) -> bool:
        return self.training

    def __repr__(self):
        mode = "" if self.training else ", training=False"
        return f"BatchNorm({self.n}, eps={self.eps:g}{mode})"

    def _key(self):
        arr = (lambda a: a.tobytes())
        return super()._key() + (self.training, arr(self.running_mean), arr(self.running_var))

    def eval(self) -> "BatchNorm":
        """The same layer in evaluation mode (running statistics)."""
        return BatchNorm(self.n, gamma=self.gamma, beta=self.beta, eps=self.eps,
                         running_mean=self.running_mean, running_var=self.running_var,
                         training=False, dtype=self.dtype)

    def _check_batch(self, x, name="x"):
        x = self._check_x(x, name, ndim=(2,) if self.training else (1, 2, 3))
        if self.training and x.shape[0] < 2:
            raise ValueError(f"batch norm in training mode needs a batch of at least 2 examples "
                             f"(shape (B, {self.n}), B >= 2); got shape {x.shape}")
        return x

    def forward(self, x) -> np.ndarray:
        """The normalised batch, same shape as ``x`` ((B, n) in training mode)."""
        return self._forward(self._check_batch(x))[0]

    def factors(self, x):
        return self._forward(self._check_batch(x))[1]

    def _forward(self, a):
        if not self.training:
            inv = 1.0 / np.sqrt(self.running_var + self.eps)
            y = (a - self.running_mean) * (inv * self.gamma) + self.beta
            return y, _NormFactors("affine", None, inv, self.gamma)
        xhat, inv = _standardise(a, 0, self.eps, "batch norm with eps=0 met a feature that is "
                                 "constant over the batch (zero variance); use eps > 0")
        return xhat * self.gamma + self.beta, _NormFactors("batch", xhat, inv[0], self.gamma)

    def jacobian(self, x) -> np.ndarray:
        """Dense dy/dx: ``(B n, B n)`` over the flattened batch in training mode, else ``(..., n, n)``."""
        x = self._check_batch(x)
        f = self._forward(x)[1]
        if not self.training:
            return f.apply(np.eye(self.n, dtype=self.dtype))
        B, n = x.shape
        eye = np.eye(B * n, dtype=self.dtype).reshape(B, n, B * n)
        return f.apply(eye).reshape(B * n, B * n)

    def jvp(self, x, v) -> np.ndarray:
        """(dy/dx) v with v shaped like the batch, without forming the Jacobian."""
        x = self._check_batch(x)
        v = self._check_x(v, "v")
        if v.shape != x.shape and self.training:
            raise ValueError(f"`v` must have the shape of `x` {x.shape}; got {v.shape}")
        return self._forward(x)[1].apply(v[..., None])[..., 0]

    def vjp(self, x, u) -> np.ndarray:
        """(dy/dx)^T u with u shaped like the batch (one backprop step)."""
        x = self._check_batch(x)
        u = self._check_x(u, "u")
        if u.shape != x.shape and self.training:
            raise ValueError(f"`u` must have the shape of `x` {x.shape}; got {u.shape}")
        return self._forward(x)[1].rapply(u[..., None])[..., 0]

    @classmethod
    def from_torch(cls, module, *, training=None):
        """A BatchNorm from a ``torch.nn.BatchNorm1d`` (read by duck typing).

        ``training`` defaults to the module's own mode (``module.training``).
        """
        w, b = getattr(module, "weight", None), getattr(module, "bias", None)
        rm, rv = getattr(module, "running_mean", None), getattr(module, "running_var", None)
        n = int(getattr(module, "num_features"))
        training = bool(getattr(module, "training", True)) if training is None else training
        return cls(n, gamma=None if w is None else as_array(w, "module.weight"),
                   beta=None if b is None else as_array(b, "module.bias"), eps=float(module.eps),
                   running_mean=None if rm is None else as_array(rm, "module.running_mean"),
                   running_var=None if rv is None else as_array(rv, "module.running_var"),
                   training=training)


_NORM_NAMES = {"layer": LayerNorm, "batch": BatchNorm}


def norm_list(norm, widths, dtype):
    """One normalisation layer (or None) per layer of an MLP with ``widths`` (n_0..n_L)."""
    L = len(widths) - 1
    if norm is None:
        return (None,) * L
    if isinstance(norm, (str, _Norm)):
        items = [norm] * L
    elif isinstance(norm, (bytes, dict)) or not hasattr(norm, "__iter__"):
        raise TypeError(f"`norm` must be None, 'layer', 'batch', a LayerNorm/BatchNorm or a "
                        f"sequence of them (one per layer); got {describe(norm)}")
    else:
        items = list(norm)
        if len(items) != L:
            raise ValueError(f"`norm` must have one entry per layer ({L}); got {len(items)}")
    out = []
    for l, item in enumerate(items, start=1):
        n = widths[l]
        if item is None:
            out.append(None)
        elif isinstance(item, str):
            if item not in _NORM_NAMES:
                raise ValueError(f"`norm` must be None, 'layer' or 'batch' (or a LayerNorm/BatchNorm); "
                                 f"got {item!r}")
            out.append(_NORM_NAMES[item](n, dtype=dtype))
        elif isinstance(item, _Norm):
            if item.n != n:
                raise ValueError(f"`norm` of layer {l} normalises {item.n} features but the layer has "
                                 f"width {n}")
            out.append(item)
        else:
            raise TypeError(f"`norm[{l - 1}]` must be None, 'layer', 'batch', a LayerNorm or a "
                            f"BatchNorm; got {describe(item)}")
    return tuple(out)


class NormLayerJacobians(JacobianSequence):
    """Layer Jacobians of an MLP with normalisation layers, kept factored.

    Layer l computes a_l = W_l h_{l-1} + b_l, y_l = N_l(a_l), h_l = f_l(y_l)
    (plus h_{l-1} for residual layers), so

        J_l = diag(f_l'(y_l)) N_l'(a_l) W_l   (+ I),

    with N_l' the exact Jacobian of the normalisation (the identity where a
    layer has none).

    Two representations:

    * ``coupled=False`` (no batch statistics): one step Jacobian per example;
      a leading batch axis holds independent examples, as for a plain MLP.
    * ``coupled=True`` (some layer uses batch statistics): the B examples
      form one state, the flattened batch (row-major, index b n + i), and
      each step Jacobian is (B n_l) x (B n_{l-1}) with the cross-example
      blocks explicit.  ``batch_shape`` is then ``()``.

    A product with m vectors costs one product with W_l plus O(B n m); dense
    matrices are formed only by ``matrix``/``matrices``/``product``.
    """

    _step_word = "layer"

    def __init__(self, weights, rows, norms, residual=False, *, coupled=False, examples=None):
        self.weights = tuple(weights)
        self.rows = tuple(without_subnormals(r) for r in rows)
        self.norms = tuple(norms)
        self.residual = bool(residual)
        self.coupled = bool(coupled)
        self.steps = len(self.weights)
        self.dtype = self.weights[0].dtype
        if self.coupled:
            self.examples = int(examples if examples is not None else self.rows[0].shape[0])
            self.batch_shape = ()
        else:
            self.examples = None
            self.batch_shape = self.rows[0].shape[:-1]

    def step_shape(self, t):
        m, k = self.weights[t - 1].shape
        if self.coupled:
            return (self.examples * m, self.examples * k)
        return (m, k)

    def _map(self, t, X, transpose):
        W = self.weights[t - 1]
        row = self.rows[t - 1][..., :, None]
        nf = self.norms[t - 1]
        if self.coupled:
            B = self.examples
            n_in = W.shape[0] if transpose else W.shape[1]
            X3 = X.reshape(B, n_in, X.shape[-1])
        else:
            X3 = X
        if not transpose:
            Y = W @ X3
            if nf is not None:
                Y = nf.apply(Y)
            Y = row * Y
        else:
            Y = row * X3
            if nf is not None:
                Y = nf.rapply(Y)
            Y = W.T @ Y
        if self.residual:
            Y = Y + X3
        if self.coupled:
            Y = Y.reshape(B * Y.shape[-2], X.shape[-1])
        return Y

    def matmat(self, t, X):
        return self._map(t, X, False)

    def rmatmat(self, t, Y):
        return self._map(t, Y, True)

    def matrix(self, t):
        n_in = self.step_shape(t)[1]
        return self.matmat(t, np.eye(n_in, dtype=self.dtype))

    def logabsdet(self, t):
        t = self._check_time(t, "t", minimum=1)
        shape = self.step_shape(t)
        if shape[0] != shape[1]:
            raise ValueError(f"logabsdet needs a square step Jacobian; layer {t} has shape {shape}")
        nf = self.norms[t - 1]
        if nf is not None and nf.kind in ("layer", "batch") and not self.residual:
            # the normalisation's projection annihilates the all-ones direction: singular
            return np.full(self.batch_shape, -np.inf)
        with np.errstate(divide="ignore"):
            return np.linalg.slogdet(self.matrix(t))[1]

    def select(self, b):
        if self.coupled:
            raise ValueError("the examples of a batch-normalised network are coupled into one state "
                             "(the flattened batch); there is no batch axis to select from")
        b = self._batch_index(b)
        norms = tuple(None if f is None else f.select(b) for f in self.norms)
        return NormLayerJacobians(self.weights, tuple(r[b] for r in self.rows), norms, self.residual)
