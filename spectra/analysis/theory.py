"""Theory of random recurrent networks: mean field, the edge of chaos, Gaussian products.

* :func:`recurrent_mean_field` -> :class:`RecurrentMeanField`: the stationary
  pre-activation variance q and the largest Lyapunov exponent of
  h_t = f(W h_{t-1} + b) with W_ij ~ N(0, g^2/N) (Molgedey, Schuchhardt &
  Schuster 1992);
* :func:`edge_of_chaos`: the critical gain g_c where that exponent is 0;
* :func:`gaussian_product_lyapunov`: Newman's (1986) closed form of the Lyapunov
  spectrum of a product of i.i.d. Gaussian matrices;
* :func:`gaussian_expectation`: E[h(sqrt(q) z)], z ~ N(0, 1), by adaptive
  Gauss-Legendre quadrature split at the kinks (the helper behind the others).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._core.errors import ConvergenceError, NumericalError
from .._core.results import Result
from .._core.validation import check_int, check_real
from ..cells.activations import Activation, activation as _activation, activation_spec

__all__ = ["recurrent_mean_field", "RecurrentMeanField", "edge_of_chaos",
           "gaussian_product_lyapunov", "gaussian_expectation"]

_Z_MAX = 40.0                      # phi(40) ~ 1e-348: the Gaussian weight underflows beyond
_Z_SPLITS = (-12.0, -6.0, -3.0, 0.0, 3.0, 6.0, 12.0)
_EPSREL = 1e-14
_GL = np.polynomial.legendre.leggauss(24)


def _as_activation(act) -> Activation:
    if isinstance(act, Activation):
        return act
    if isinstance(act, str):
        return _activation(act)
    raise TypeError(f"`activation` must be a name or an Activation; got {type(act).__name__}")


def _kinks(act: Activation) -> tuple:
    """Where f or f' may fail to be smooth: 0, +-1 and the activation's numeric parameters."""
    pts = {0.0, -1.0, 1.0}
    params = dict(act.params)
    try:
        params.update(activation_spec(act.name, **params)[1])   # defaults of a registered one
    except (TypeError, ValueError):
        pass
    for v in params.values():
        if isinstance(v, numbers.Real) and math.isfinite(float(v)):
            pts.add(float(v))
    return tuple(sorted(pts))


def gaussian_expectation(func, q, *, breakpoints=()) -> float:
    """E[func(sqrt(q) z)] for z ~ N(0, 1), by adaptive quadrature to ~1e-14 relative.

    Parameters
    ----------
    func : callable
        Vectorised over float arrays.
    q : float
        The variance, >= 0 (q = 0 gives ``func(0)``).
    breakpoints : sequence of float
        Points x where ``func`` is not smooth (kinks, jumps); the integral is
        split there.

    Returns
    -------
    float

    Raises
    ------
    ConvergenceError
        If the quadrature does not reach its tolerance.

    Notes
    -----
    The integral over z in [-40, 40] (beyond, the weight underflows) is split
    at 0, +-3, +-6, +-12 and at the breakpoints divided by sqrt(q); each piece
    is bisected until a 24-point Gauss-Legendre rule agrees with its two
    halves to 1e-14 relative to the running total.

    Examples
    --------
    >>> from spectra.analysis.theory import gaussian_expectation
    >>> round(gaussian_expectation(lambda x: x ** 4, 2.0), 12)     # 3 q^2
    12.0
    >>> round(gaussian_expectation(lambda x: np.maximum(x, 0) ** 2, 1.0, breakpoints=[0]), 14)
    0.5
    """
    q = check_real(q, "q", low=0.0)
    if q == 0.0:
        return float(func(np.float64(0.0)))
    s = math.sqrt(q)
    cuts = set(_Z_SPLITS)
    for b in breakpoints:
        zb = float(b) / s
        if -_Z_MAX < zb < _Z_MAX:
            cuts.add(zb)
    cuts = sorted(cuts | {-_Z_MAX, _Z_MAX})
    c = 1.0 / math.sqrt(2.0 * math.pi)

    def integrand(z):
        return func(s * z) * (c * np.exp(-0.5 * z * z))

    with np.errstate(over="ignore", under="ignore"):
        total = math.fsum(_adaptive_gl(integrand, a, b, q) for a, b in zip(cuts[:-1], cuts[1:]))
    if not math.isfinite(total):
        raise NumericalError(f"the Gaussian expectation at q = {q} is not finite")
    return total


def _gl_rule(integrand, a, b):
    x, w = _GL
    h = 0.5 * (b - a)
    vals = integrand(a + h * (x + 1.0))
    return h * float(w @ vals)


def _adaptive_gl(integrand, a, b, q):
    """Adaptive bisection with a 24-point Gauss-Legendre rule, relative tolerance _EPSREL."""
    whole = _gl_rule(integrand, a, b)
    stack = [(a, b, whole, 0)]
    parts = []
    scale = abs(whole)
    while stack:
        lo, hi, val, depth = stack.pop()
        mid = 0.5 * (lo + hi)
        left, right = _gl_rule(integrand, lo, mid), _gl_rule(integrand, mid, hi)
        scale = max(scale, abs(left) + abs(right))
        if abs(left + right - val) <= _EPSREL * scale or abs(left + right - val) < 1e-300:
            parts.append(left + right)
        elif depth >= 60:
            raise ConvergenceError(f"Gaussian quadrature at q = {q} did not converge on "
                                   f"z in [{lo:.6g}, {hi:.6g}]")
        else:
            stack.append((lo, mid, left, depth + 1))
            stack.append((mid, hi, right, depth + 1))
    return math.fsum(parts)


@dataclass(frozen=True, repr=False)
class RecurrentMeanField(Result):
    """The mean-field stationary state of a random recurrent network.

    Attributes
    ----------
    q : float
        The stationary pre-activation variance (``inf`` when it diverges).
    lyapunov_max : float
        lambda_max = (1/2) log chi, per step, natural log.
    chi : float
        g^2 E[f'(sqrt(q) z)^2], the mean-square per-step gradient gain.
    gain, bias_std, input_std : float
    activation : Activation
    """

    q: float
    lyapunov_max: float
    chi: float
    gain: float
    bias_std: float
    input_std: float
    activation: Activation

    @property
    def chaotic(self) -> bool:
        """lambda_max > 0."""
        return self.lyapunov_max > 0.0


def _chi_at(act, q, kinks):
    if q == 0.0:   # the limit q -> 0+: the mean of the one-sided derivatives squared
        t = 1e-300
        return 0.5 * (float(act.df(np.float64(-t))) ** 2 + float(act.df(np.float64(t))) ** 2)
    if math.isinf(q):   # the limit q -> inf: the mean of the derivatives at -inf and +inf
        t = 1e300
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            lo, hi = float(act.df(np.float64(-t))), float(act.df(np.float64(t)))
        return 0.5 * (lo * lo + hi * hi)
    return gaussian_expectation(lambda x: act.df(x) ** 2, q, breakpoints=kinks)


def _stationary_q(act, g2, c, q0, kinks):
    """The fixed point of M(q) = g^2 E[f(sqrt q z)^2] + c reached by iterating M from q0."""
    from scipy.optimize import brentq

    def F(q):
        return g2 * gaussian_expectation(lambda x: act.f(x) ** 2, q, breakpoints=kinks) + c - q

    f0 = F(q0)
    if f0 == 0.0:
        return q0
    if f0 > 0.0:        # the iteration increases: the first root above q0, or divergence
        lo, hi = q0, max(2.0 * q0, 1.0)
        while F(hi) > 0.0:
            lo, hi = hi, 4.0 * hi
            if hi > 1e80 * (1.0 + c):
                return math.inf
        return brentq(F, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=400)
    # the iteration decreases: the largest root below q0
    Fz = F(0.0)
    if Fz > 0.0:
        return brentq(F, 0.0, q0, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=400)
    # q = 0 is a root (c = 0, f(0) = 0): a positive root below q0 exists if 0 repels
    if g2 * _chi_at(act, 0.0, kinks) <= 1.0:
        return 0.0
    lo = q0
    while F(lo) <= 0.0:
        lo *= 0.25
        if lo < 1e-280:
            return 0.0
    return brentq(F, lo, q0 if lo < q0 else 4 * lo, xtol=1e-300,
                  rtol=4 * np.finfo(float).eps, maxiter=400)


def recurrent_mean_field(gain, activation, bias_std=0.0, *, input_std=0.0,
                         q0=1.0) -> RecurrentMeanField:
    """Mean-field variance and largest Lyapunov exponent of a random recurrent network.

    For h_t = f(W h_{t-1} + W_hx x_t + b) with W_ij ~ N(0, g^2/N),
    b_i ~ N(0, s_b^2) and an input drive (W_hx x_t)_i of variance s_x^2
    (independent of W and b), in the limit N -> infinity.

    Parameters
    ----------
    gain : float
        g >= 0.
    activation : str or Activation
    bias_std : float
        s_b >= 0.
    input_std : float
        s_x >= 0, the standard deviation of each unit's input drive.
    q0 : float
        The variance the mean-field iteration starts from (the answer
        depends on it only where the map has two stable fixed points).

    Returns
    -------
    RecurrentMeanField
        ``.q``, ``.lyapunov_max`` (per step, natural log) and ``.chi``.

    Notes
    -----
    The pre-activation a_t = W h_{t-1} + W_hx x_t + b is Gaussian with
    variance q_t = g^2 E[f(sqrt(q_{t-1}) z)^2] + s_b^2 + s_x^2, z ~ N(0, 1):
    the input enters exactly as a second, independent bias (constant inputs
    or inputs redrawn each step alike).  ``.q`` is the fixed point

        q = g^2 E[f(sqrt(q) z)^2] + s_b^2 + s_x^2

    that the iteration reaches from ``q0`` (``inf`` when q_t grows without
    bound, as for relu with g^2 >= 2).  A tangent vector obeys
    v_t = diag(f'(a_t)) W v_{t-1}; with W independent of the diagonal in
    the wide limit, ||v_t||^2 grows by chi = g^2 E[f'(sqrt(q) z)^2] per
    step, so

        lambda_max = (1/2) log(g^2 E[f'(sqrt(q) z)^2])

    (Molgedey, Schuchhardt & Schuster 1992: input noise raises q and so
    suppresses chaos).  At q = 0 and q = inf the expectation is its limit:
    the mean of f'^2 at 0- and 0+, or at -inf and +inf.  Expectations use
    adaptive Gauss-Legendre quadrature split at the kinks of f (relative error
    ~1e-14) and the fixed point Brent's method to machine precision.

    Examples
    --------
    >>> import spectra
    >>> mf = spectra.recurrent_mean_field(2.0, "tanh")
    >>> round(mf.q, 10), round(mf.lyapunov_max, 10)
    (2.1214735682, 0.1547242298)
    >>> spectra.recurrent_mean_field(0.5, "tanh").q      # the quiescent state
    0.0
    >>> round(spectra.recurrent_mean_field(1.0, "relu", 0.5).q, 12)   # s_b^2 / (1 - g^2/2)
    0.5
    """
    act = _as_activation(activation)
    g = check_real(gain, "gain", low=0.0)
    sb = check_real(bias_std, "bias_std", low=0.0)
    sx = check_real(input_std, "input_std", low=0.0)
    q0 = check_real(q0, "q0", low=0.0, low_open=True)
    kinks = _kinks(act)
    g2 = g * g
    q = _stationary_q(act, g2, sb * sb + sx * sx, q0, kinks)
    chi = g2 * _chi_at(act, q, kinks)
    with np.errstate(divide="ignore"):
        lam = 0.5 * math.log(chi) if chi > 0.0 else -math.inf
    return RecurrentMeanField(float(q), float(lam), float(chi), g, sb, sx, act)


def edge_of_chaos(activation, bias_std=0.0, *, input_std=0.0, xtol=1e-13) -> float:
    """The critical gain g_c where the mean-field lambda_max crosses 0.

    Parameters
    ----------
    activation : str or Activation
    bias_std, input_std : float
        As for :func:`recurrent_mean_field`.
    xtol : float
        Absolute tolerance on g_c.

    Returns
    -------
    float
        g_c: lambda_max < 0 just below, > 0 just above.

    Raises
    ------
    ValueError
        If lambda_max does not change sign for g in [1e-6, 1e6] (e.g. an
        activation with f' = 0 almost everywhere).

    Examples
    --------
    >>> import spectra
    >>> spectra.edge_of_chaos("tanh")
    1.0
    >>> round(spectra.edge_of_chaos("relu"), 12)      # g^2 / 2 = 1
    1.414213562373
    """
    from scipy.optimize import brentq

    act = _as_activation(activation)
    sb = check_real(bias_std, "bias_std", low=0.0)
    sx = check_real(input_std, "input_std", low=0.0)
    xtol = check_real(xtol, "xtol", low=0.0, low_open=True)

    def lam(g):
        return recurrent_mean_field(g, act, sb, input_std=sx).lyapunov_max

    lo, hi = 1.0, 1.0
    while lam(lo) >= 0.0:
        lo *= 0.5
        if lo < 1e-6:
            raise ValueError(f"lambda_max of {act!r} does not become negative for gain >= 1e-6")
    if lo < 1.0:
        hi = 2.0 * lo
    else:
        while lam(hi) <= 0.0:
            if lam(hi) == 0.0:
                return hi
            hi *= 2.0
            if hi > 1e6:
                raise ValueError(f"lambda_max of {act!r} does not become positive for gain <= 1e6")
    return float(brentq(lam, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=200))


def gaussian_product_lyapunov(n, variance=None) -> np.ndarray:
    """Lyapunov spectrum of a product of i.i.d. real Gaussian n x n matrices (Newman 1986).

    Parameters
    ----------
    n : int
        The size, >= 1.
    variance : float, optional
        The variance sigma^2 of each entry; 1/n by default.

    Returns
    -------
    (n,) ndarray
        lambda_i = (1/2) [log(2 sigma^2) + psi((n - i + 1)/2)], i = 1..n,
        in decreasing order (psi the digamma function); with sigma^2 = 1/n,
        lambda_i = (1/2) [log(2/n) + psi((n - i + 1)/2)].

    Notes
    -----
    Gaussian matrices are invariant under rotations, so the QR iteration
    W_t Q_{t-1} = Q_t R_t sees a fresh Gaussian matrix each step, and by
    Bartlett's decomposition R_ii^2 / sigma^2 ~ chi^2 with n - i + 1 degrees
    of freedom; E log chi^2_k = log 2 + psi(k/2), and lambda_i = (1/2) E log R_ii^2.
    The per-step variance of ``log |R_ii|`` is ``psi'((n - i + 1)/2) / 4``.

    Examples
    --------
    >>> import spectra
    >>> spectra.gaussian_product_lyapunov(2, 1.0).round(12)   # (log 2 + psi(1), log 2 + psi(1/2)) / 2
    array([ 0.05796576, -0.63518142])
    """
    from scipy.special import digamma

    n = check_int(n, "n", minimum=1)
    var = 1.0 / n if variance is None else check_real(variance, "variance", low=0.0, low_open=True)
    k = np.arange(n, 0, -1, dtype=float)
    return 0.5 * (math.log(2.0 * var) + digamma(0.5 * k))
