"""Activation functions with first and second derivatives and gamma = sup|f'|.

Every function here is vectorised over numpy arrays and evaluated without
overflow for any finite input: no ``exp`` of a large positive argument is
ever formed (logistic and softplus use the ``exp(-|x|)`` forms, tanh' is
``4 e / (1 + e)^2`` with ``e = exp(-2|x|)``, which keeps full relative
accuracy deep in saturation, where ``1 - tanh(x)^2`` cancels to zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._core.validation import check_real, describe

__all__ = ["Activation", "activation", "available_activations", "activation_spec"]


@dataclass(frozen=True)
class Activation:
    """An elementwise activation function with its derivatives.

    Attributes
    ----------
    name : str
        Registry name (e.g. ``"tanh"``) or a user-chosen label.
    gamma : float
        ``sup_x |f'(x)|``, the constant gamma_h of the gradient bound.
    f, df, d2f : callable
        The function and its first and second derivatives, vectorised over
        arrays.  At points where f is not differentiable (relu at 0) ``df``
        follows PyTorch's convention (the derivative from the left for relu,
        0 at the corners of hard_tanh).
    params : tuple of (str, float)
        The parameters the activation was built with.
    underflow_beyond : float or None
        Where ``f'`` is never exactly zero in exact arithmetic: an exact 0
        from ``df`` at ``|x| >= underflow_beyond`` is an underflow (tanh'
        at ``|x| > 372``), which :meth:`df_checked` reports.  None (relu,
        hard_tanh, custom activations): exact zeros are genuine.

    Examples
    --------
    >>> import spectra
    >>> act = spectra.activation("sigmoid")
    >>> act.gamma
    0.25
    >>> float(act.df(0.0))
    0.25
    >>> spectra.activation("leaky_relu", slope=0.1)
    Activation('leaky_relu', slope=0.1)
    """

    name: str
    f: Callable = field(repr=False, compare=False)
    df: Callable = field(repr=False, compare=False)
    gamma: float
    d2f: Callable | None = field(default=None, repr=False, compare=False)
    params: tuple = ()
    underflow_beyond: float | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"`name` must be a non-empty string; got {describe(self.name)}")
        for attr in ("f", "df"):
            if not callable(getattr(self, attr)):
                raise TypeError(f"`{attr}` must be callable; got {describe(getattr(self, attr))}")
        if self.d2f is not None and not callable(self.d2f):
            raise TypeError(f"`d2f` must be callable or None; got {describe(self.d2f)}")
        gamma = check_real(self.gamma, "gamma", low=0.0)
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "params", tuple(self.params))

    def __call__(self, x):
        return self.f(x)

    @property
    def kwargs(self) -> dict:
        """The parameters as a dict, as accepted by :func:`activation`."""
        return dict(self.params)

    def df_checked(self, x, name="a"):
        """``df(x)``, raising where a derivative that cannot vanish underflowed to 0.

        A step Jacobian ``diag(f'(a)) W`` with an underflowed factor has an
        exactly zero row: its log-norms and Lyapunov exponents would be a
        silent -inf although the true values are finite (about -2|a|).

        Raises
        ------
        NumericalError
            Naming the activation, how many entries underflowed and the
            largest ``|x|`` among them.

        Examples
        --------
        >>> import spectra
        >>> act = spectra.activation("tanh")
        >>> float(act.df_checked(300.0)) > 0
        True
        >>> act.df_checked([1e200])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        spectra._core.errors.NumericalError: tanh'(a) underflowed to 0 at 1 of 1 entries of `a` (|a| up to 1e+200): ...
        """
        d = self.df(x)
        if self.underflow_beyond is not None:
            x = np.asarray(x)
            bad = (d == 0) & np.isfinite(x) & (np.abs(x) >= self.underflow_beyond)
            if np.any(bad):
                from .._core.errors import NumericalError

                raise NumericalError(
                    f"{self.name}'({name}) underflowed to 0 at {int(np.count_nonzero(bad))} of "
                    f"{np.size(d)} entries of `{name}` (|{name}| up to {float(np.max(np.abs(x[bad]))):.3g}): "
                    f"the step Jacobians leave the float64 range and their log-norms would be a "
                    f"silent -inf; scale the weights or inputs down")
        return d

    def json_value(self) -> str:
        """How results write this activation in JSON: its name."""
        return self.name

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.params)
        return f"Activation({self.name!r}{args})"


# ---------------------------------------------------------------------------
# Stable elementwise kernels


def _asfloat(x):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _logistic(x):
    x = _asfloat(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _logistic_d(x):
    e = np.exp(-np.abs(_asfloat(x)))
    return e / (1.0 + e) ** 2


def _logistic_d2(x):
    x = _asfloat(x)
    return -_logistic_d(x) * np.tanh(0.5 * x)


def _tanh_d(x):
    e = np.exp(-2.0 * np.abs(_asfloat(x)))
    return 4.0 * e / (1.0 + e) ** 2


def _tanh_d2(x):
    x = _asfloat(x)
    return -2.0 * np.tanh(x) * _tanh_d(x)


def _zeros_like(x):
    return np.zeros_like(_asfloat(x))


def _ones_like(x):
    return np.ones_like(_asfloat(x))


def _silu_gamma() -> float:
    # f'(x) = s(x) (1 + x (1 - s(x))) peaks where x tanh(x/2) = 2; Newton's method.
    x = 2.4
    for _ in range(50):
        th = math.tanh(0.5 * x)
        g = x * th - 2.0
        dg = th + 0.5 * x * (1.0 - th * th)
        step = g / dg
        x -= step
        if abs(step) < 1e-16:
            break
    s = 1.0 / (1.0 + math.exp(-x))
    # rounded up one ulp: gamma must be an upper bound, and the expression above is
    # within an ulp of the supremum 1.0998393201288669169... (certified by spectra.symbolic)
    return math.nextafter(s * (1.0 + x * (1.0 - s)), math.inf)


def _erfc(x):
    from scipy.special import erfc  # lazily: scipy.special is slow to import

    return erfc(x)


_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_cdf(x):
    return 0.5 * _erfc(-_asfloat(x) / _SQRT2)


def _gelu_pdf(x):
    x = _asfloat(x)
    with np.errstate(over="ignore"):        # x*x -> inf beyond |x| ~ 1e154: the density is 0
        return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


# ---------------------------------------------------------------------------
# Factories: name -> builder(**params) -> Activation


def _tanh():
    return Activation("tanh", np.tanh, _tanh_d, 1.0, _tanh_d2, underflow_beyond=0.0)


def _sigmoid():
    return Activation("sigmoid", _logistic, _logistic_d, 0.25, _logistic_d2, underflow_beyond=0.0)


def _relu():
    return Activation("relu", lambda x: np.maximum(_asfloat(x), 0.0),
                      lambda x: (_asfloat(x) > 0).astype(_asfloat(x).dtype), 1.0, _zeros_like)


def _leaky_relu(slope=0.01):
    slope = check_real(slope, "slope")

    def f(x):
        x = _asfloat(x)
        return np.where(x > 0, x, slope * x)

    def df(x):
        x = _asfloat(x)
        return np.where(x > 0, 1.0, slope).astype(x.dtype)

    return Activation("leaky_relu", f, df, max(1.0, abs(slope)), _zeros_like, (("slope", slope),))


def _identity():
    return Activation("identity", lambda x: _asfloat(x).copy(), _ones_like, 1.0, _zeros_like)


def _softplus(beta=1.0):
    beta = check_real(beta, "beta", low=0.0, low_open=True)

    def f(x):
        z = beta * _asfloat(x)
        return (np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))) / beta

    def df(x):
        return _logistic(beta * _asfloat(x))

    def d2f(x):
        return beta * _logistic_d(beta * _asfloat(x))

    params = () if beta == 1.0 else (("beta", beta),)
    return Activation("softplus", f, df, 1.0, d2f, params, underflow_beyond=0.0)


def _elu(alpha=1.0):
    alpha = check_real(alpha, "alpha", low=0.0)

    def f(x):
        x = _asfloat(x)
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))

    def df(x):
        x = _asfloat(x)
        return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))).astype(x.dtype)

    def d2f(x):
        x = _asfloat(x)
        return np.where(x > 0, 0.0, alpha * np.exp(np.minimum(x, 0.0))).astype(x.dtype)

    return Activation("elu", f, df, max(1.0, alpha), d2f, (("alpha", alpha),),
                      underflow_beyond=0.0 if alpha > 0 else None)


def _hard_tanh(min_val=-1.0, max_val=1.0):
    lo = check_real(min_val, "min_val")
    hi = check_real(max_val, "max_val")
    if not lo < hi:
        raise ValueError(f"`min_val` must be below `max_val`; got min_val={lo}, max_val={hi}")

    def f(x):
        return np.clip(_asfloat(x), lo, hi)

    def df(x):
        x = _asfloat(x)
        return ((x > lo) & (x < hi)).astype(x.dtype)

    params = () if (lo, hi) == (-1.0, 1.0) else (("min_val", lo), ("max_val", hi))
    return Activation("hard_tanh", f, df, 1.0, _zeros_like, params)


def _silu():
    def f(x):
        x = _asfloat(x)
        return x * _logistic(x)

    def df(x):
        x = _asfloat(x)
        s = _logistic(x)
        return s * (1.0 + x * (1.0 - s))

    def d2f(x):
        x = _asfloat(x)
        return _logistic_d(x) * (2.0 - x * np.tanh(0.5 * x))

    # f' vanishes only at x = -1.278...: an exact 0 beyond |x| = 10 is an underflow
    return Activation("silu", f, df, _silu_gamma(), d2f, underflow_beyond=10.0)


def _gelu():
    def f(x):
        x = _asfloat(x)
        return x * _gelu_cdf(x)

    def df(x):
        x = _asfloat(x)
        return _gelu_cdf(x) + x * _gelu_pdf(x)

    def d2f(x):
        x = _asfloat(x)
        return _gelu_pdf(x) * (2.0 - x * x)

    # f'' = phi(x) (2 - x^2) vanishes at x = sqrt(2), where f' is largest.
    gamma = 0.5 * (1.0 + math.erf(1.0)) + math.exp(-1.0) / math.sqrt(math.pi)
    return Activation("gelu", f, df, gamma, d2f, underflow_beyond=10.0)   # f'(-0.75...) = 0


_REGISTRY = {
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "identity": _identity,
    "softplus": _softplus,
    "elu": _elu,
    "hard_tanh": _hard_tanh,
    "silu": _silu,
    "gelu": _gelu,
}

_ALIASES = {
    "logistic": "sigmoid",
    "linear": "identity",
    "hardtanh": "hard_tanh",
    "leakyrelu": "leaky_relu",
    "swish": "silu",
}

_PARAM_ALIASES = {"leaky_relu": {"negative_slope": "slope"}}


def available_activations() -> tuple:
    """Names accepted by :func:`activation` (aliases not included)."""
    return tuple(_REGISTRY)


def _lookup(name, params):
    """(registry key, builder, parameters under their canonical names, accepted names) of a name."""
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise ValueError(f"`activation` must be one of {sorted(_REGISTRY)}; got {name!r}")
    aliases = _PARAM_ALIASES.get(key, {})
    params = {aliases.get(k, k): v for k, v in params.items()}
    builder = _REGISTRY[key]
    code = builder.__code__
    accepted = code.co_varnames[:code.co_argcount]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) if accepted else "no parameters"
        raise TypeError(f"activation {key!r} got unexpected parameter(s) {unknown}; it takes {takes}")
    return key, builder, params, accepted


def activation(name, **params) -> Activation:
    """Look up an activation function by name.

    Parameters
    ----------
    name : str or Activation
        One of ``tanh, sigmoid, relu, leaky_relu, identity, softplus, elu,
        hard_tanh, silu, gelu`` (case-insensitive; aliases ``logistic``,
        ``linear``, ``hardtanh``, ``swish``).  An :class:`Activation` is
        returned unchanged.
    **params
        ``leaky_relu(slope=0.01)`` (alias ``negative_slope``),
        ``softplus(beta=1)``, ``elu(alpha=1)``,
        ``hard_tanh(min_val=-1, max_val=1)``.

    Returns
    -------
    Activation

    Examples
    --------
    >>> import spectra
    >>> spectra.activation("tanh").gamma
    1.0
    >>> spectra.activation("elu", alpha=2.0).gamma
    2.0
    """
    if isinstance(name, Activation):
        if params:
            raise TypeError(f"parameters {sorted(params)} cannot be applied to an existing "
                            f"Activation {name!r}; pass its name instead")
        return name
    if not isinstance(name, str):
        raise TypeError(f"`activation` must be a name (str) or an Activation; got {describe(name)}")
    builder, params = _lookup(name, params)[1:3]
    return builder(**params)


def activation_spec(name: str, **params) -> tuple:
    """The canonical name and the full parameters of a registry activation, without building it.

    Resolves names and parameter names as :func:`activation` does (case,
    ``-``/``_`` and the aliases) and fills in the defaults.  The values are
    passed through unchecked, so they may be of any type (the symbolic layer
    passes sympy symbols); :func:`activation` validates numbers.

    Parameters
    ----------
    name : str
        An activation name or alias, as for :func:`activation`.
    **params
        Parameters of the activation, under their names or aliases.

    Returns
    -------
    name : str
        The canonical name (one of :func:`available_activations`).
    params : dict
        Every parameter of the activation, given or default, in the order of
        its signature (empty for activations without parameters).

    Raises
    ------
    TypeError
        If ``name`` is not a string, or a parameter is not one the activation takes.
    ValueError
        If ``name`` is not a registered activation.

    Examples
    --------
    >>> from spectra.cells.activations import activation_spec
    >>> activation_spec("LeakyReLU", negative_slope=0.2)
    ('leaky_relu', {'slope': 0.2})
    >>> activation_spec("hard-tanh")
    ('hard_tanh', {'min_val': -1.0, 'max_val': 1.0})
    >>> activation_spec("swish")
    ('silu', {})
    """
    if not isinstance(name, str):
        raise TypeError(f"`activation` must be a name (str); got {describe(name)}")
    key, builder, params, accepted = _lookup(name, params)
    defaults = dict(zip(accepted[len(accepted) - len(builder.__defaults__ or ()):],
                        builder.__defaults__ or ()))
    return key, {k: params[k] if k in params else defaults[k] for k in accepted}
