"""Predictions for deep stacks at initialisation: mean-field theory and Gaussian products.

* :func:`mean_field` -> :class:`MeanField`: the mean-field recursions of
  Poole et al. (2016) and Schoenholz et al. (2017) for the pre-activation
  variance and the per-layer gradient gain chi;
* :func:`linear_gaussian_spread`: the exact variance of the squared singular
  values of a product of Gaussian matrices, at finite width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core.results import Result
from .._core.validation import check_int, check_real
from ..cells.activations import Activation, activation as _activation

__all__ = ["mean_field", "MeanField", "linear_gaussian_spread"]


# ---------------------------------------------------------------------------------------
# theory


def linear_gaussian_spread(depth, n=None) -> float:
    """Expected variance of the squared singular values of a product of Gaussian matrices.

    For J = W_L ... W_1 with n x n matrices of i.i.d. N(0, 1/n) entries,
    the expectation over J of (1/n) sum_i s_i^4 - ((1/n) sum_i s_i^2)^2,
    exactly at width n, or its wide-network limit L when ``n`` is None.

    Parameters
    ----------
    depth : int
        L >= 0.
    n : int, optional
        The width; None for the limit n -> infinity.

    Returns
    -------
    float

    Notes
    -----
    The squared singular values of such a product follow the Fuss-Catalan
    law in the wide limit, with mean 1 and variance L (Pennington,
    Schoenholz & Ganguli 2017, for linear networks).  At finite n, with
    A_L = J J^T, b_L = E (tr A_L)^2 and c_L = E tr A_L^2, Wick's theorem
    for one more Gaussian factor gives the exact recursion

        b_L = b_{L-1} + (2/n) c_{L-1},    c_L = (1/n) b_{L-1} + (1 + 1/n) c_{L-1},

    from b_0 = n^2, c_0 = n; the expected spread is c_L/n - b_L/n^2
    (L + O(L^2/n)).

    Examples
    --------
    >>> import spectra
    >>> spectra.linear_gaussian_spread(1, 4)       # Wishart: (2 + 1/n) - (1 + 2/n^2)
    1.125
    >>> spectra.linear_gaussian_spread(10)
    10.0
    """
    depth = check_int(depth, "depth", minimum=0)
    if n is None:
        return float(depth)
    n = check_int(n, "n", minimum=1)
    b, c = float(n) ** 2, float(n)
    for _ in range(depth):
        b, c = b + 2.0 * c / n, b / n + (1.0 + 1.0 / n) * c
    return c / n - b / (float(n) ** 2)


@dataclass(frozen=True, repr=False)
class MeanField(Result):
    """The mean-field signal and gradient recursions of a deep network.

    Attributes
    ----------
    q : (L,) ndarray
        Pre-activation variance q_l at layers 1..L.
    chi : (L,) ndarray
        Per-layer mean-square gradient gain chi_l = sigma_w^2 E[f'(sqrt(q_l) z)^2].
    weight_var, bias_var : float
        sigma_w^2 (= fan_in * Var(W_ij)) and sigma_b^2.
    activation : Activation
    """

    q: np.ndarray
    chi: np.ndarray
    weight_var: float
    bias_var: float
    activation: Activation

    @property
    def depth(self) -> int:
        return self.q.size

    def log_mean_square(self) -> np.ndarray:
        """Predicted log E||g_{L-lag}||^2 / ||g_L||^2 for lag = 1..L (g_l = dE/dh_l)."""
        return np.cumsum(np.log(self.chi[::-1]))


# E[g(sqrt(q) z)] is integrated adaptively in x = sqrt(q) z: the features of f and f'
# (width ~1 around 0, kinks) and of the Gaussian (width sqrt(q)) are all panel edges, and
# panels are halved until a 24-point Gauss-Legendre rule agrees with itself on the halves,
# so neither a narrow f'^2 at large q nor a wide one at small q is missed (a fixed
# Gauss-Hermite rule in z loses 14% of chi for tanh at sigma_w^2 = 25).
_TAIL = 40.0          # the Gaussian beyond 40 standard deviations is below e^-800
_PANEL_TOL = 1e-15    # accepted change per panel, relative to the whole integral
_FEATURES = (0.0, 0.25, 1.0, 3.0, 10.0, 30.0, 100.0)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


def _gauss_means(act, q, kinks):
    """(E[f'(sqrt(q) z)^2], E[f(sqrt(q) z)^2]) for z ~ N(0, 1), to about 1e-14 relative."""
    if q == 0.0:
        x = np.zeros(1)
        return float(act.df(x)[0]) ** 2, float(act.f(x)[0]) ** 2
    import math

    s = math.sqrt(q)
    R = _TAIL * s
    pts = {-R, R}
    for c in (*_FEATURES, s, 3.0 * s, 10.0 * s, *kinks):
        for x in (-c, c):
            if -R < x < R:
                pts.add(float(x))
    pts = np.array(sorted(pts))
    inv = 0.5 / q

    def rule(a, b):                                  # (2, P): both integrals on each panel
        half = 0.5 * (b - a)
        x = (0.5 * (a + b))[:, None] + half[:, None] * _GL_X
        y = np.stack([act.df(x) ** 2, act.f(x) ** 2]) * np.exp(-x * x * inv)
        return (y @ _GL_W) * half

    a, b = pts[:-1], pts[1:]
    with np.errstate(over="ignore", under="ignore"):
        coarse = rule(a, b)
        scale = np.sum(np.abs(coarse), axis=1, keepdims=True)
        scale = np.where(scale > 0, scale, np.inf)
        total = np.zeros(2)
        for _ in range(60):
            m = 0.5 * (a + b)
            left, right = rule(a, m), rule(m, b)
            fine = left + right
            ok = np.all(np.abs(fine - coarse) <= _PANEL_TOL * scale, axis=0) | (b - a <= 1e-13 * R)
            total += fine[:, ok].sum(axis=1)
            if np.all(ok):
                break
            a, b = np.concatenate([a[~ok], m[~ok]]), np.concatenate([m[~ok], b[~ok]])
            coarse = np.concatenate([left[:, ~ok], right[:, ~ok]], axis=1)
        else:  # pragma: no cover - a finite smooth integrand converges long before
            from .._core.errors import ConvergenceError

            raise ConvergenceError(f"mean-field quadrature did not converge at q = {q:.6g}")
    total /= s * math.sqrt(2.0 * math.pi)
    return float(total[0]), float(total[1])


def mean_field(activation, depth, *, weight_var=1.0, bias_var=0.0, q0=1.0) -> MeanField:
    """Mean-field pre-activation variances and gradient gains of a deep plain MLP.

    Parameters
    ----------
    activation : str or Activation
    depth : int
        L.
    weight_var : float
        sigma_w^2 = fan_in * Var(W_ij): 1 for Xavier on square layers, 2 for
        He, gain^2 for orthogonal or :func:`spectra.init.gaussian`.
    bias_var : float
        sigma_b^2 = Var(b_i).
    q0 : float
        Mean square per unit of the input, (1/n_0) ||x||^2.

    Returns
    -------
    MeanField

    Notes
    -----
    In the wide limit a pre-activation a_l = W_l h_{l-1} + b_l is Gaussian
    with variance q_l = sigma_w^2 E[f(sqrt(q_{l-1}) z)^2] + sigma_b^2
    (q_1 = sigma_w^2 q0 + sigma_b^2), and, treating the backward weights as
    independent of the forward pass, a gradient g_l = dE/dh_l obeys
    E||g_{l-1}||^2 = chi_l E||g_l||^2 with chi_l = sigma_w^2 E[f'(sqrt(q_l) z)^2]
    (Poole et al. 2016; Schoenholz et al. 2017).  Expectations over
    z ~ N(0, 1) are integrated adaptively in x = sqrt(q) z (Gauss-Legendre
    panels, halved until converged, with edges at the kinks of f, the features
    of f' and multiples of sqrt(q)): relative error about 1e-14 for any variance,
    checked against mpmath up to sigma_w^2 = 100.  For ReLU with He initialisation chi = 1 at every layer; for
    sigmoid with Xavier initialisation chi ~ 0.056 (log chi ~ -2.89).

    Examples
    --------
    >>> import spectra
    >>> mf = spectra.mean_field("relu", 5, weight_var=2.0)
    >>> mf.chi.round(12)
    array([1., 1., 1., 1., 1.])
    """
    act = activation if isinstance(activation, Activation) else _activation(activation)
    depth = check_int(depth, "depth", minimum=1)
    sw = check_real(weight_var, "weight_var", low=0.0)
    sb = check_real(bias_var, "bias_var", low=0.0)
    q0 = check_real(q0, "q0", low=0.0)
    kinks = tuple(abs(v) for _, v in act.params if isinstance(v, float))
    q = np.empty(depth)
    chi = np.empty(depth)
    ql = sw * q0 + sb
    with np.errstate(over="ignore", under="ignore"):
        for l in range(depth):
            q[l] = ql
            if not np.isfinite(ql):
                break
            edf2, ef2 = _gauss_means(act, ql, kinks)
            chi[l] = sw * edf2
            ql = sw * ef2 + sb
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(chi))):
        raise ValueError("the mean-field recursion overflowed; the network's signal diverges with "
                         "these weight_var/bias_var")
    return MeanField(q, chi, sw, sb, act)
