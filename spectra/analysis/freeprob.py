"""Free probability for deep-network Jacobians (Pennington, Schoenholz & Ganguli 2017, 2018).

For a depth-L network x_l = f(a_l), a_l = W_l x_{l-1} + b_l, at the mean-field
fixed point q* of the pre-activation variance, the input-output Jacobian is
J = D_L W_L ... D_1 W_1 with D_l = diag(f'(a_l)); in the wide limit the
factors are asymptotically free, so the S-transform of J J^T is the product

    S_{JJ^T}(z) = S_{D^2}(z)^L S_{W^T W}(z)^L,

with S_{W^T W} = 1/sigma_w^2 for scaled orthogonal weights and
1/(sigma_w^2 (1 + z)) for Gaussian ones.

* :func:`jacobian_spectrum` -> :class:`JacobianSpectrum`: the moments of the
  squared singular values of J from the S-transform (power series, any
  order), their first two in closed form, and the density;
* :func:`fuss_catalan_moments`: C((L+1)k, k)/(Lk+1), the linear Gaussian case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.errors import ConvergenceError, NumericalError
from .._core.results import Result
from .._core.validation import check_choice, check_int, check_real
from ..cells.activations import Activation
from .theory import _as_activation, _kinks, gaussian_expectation

__all__ = ["jacobian_spectrum", "JacobianSpectrum", "fuss_catalan_moments", "fuss_catalan_density"]


def fuss_catalan_moments(depth, order) -> np.ndarray:
    """The Fuss-Catalan numbers C((L+1)k, k) / (Lk + 1) for k = 1..order.

    They are the moments of the squared singular values of a product of L
    independent n x n Gaussian matrices with N(0, 1/n) entries as n -> infinity.

    Examples
    --------
    >>> from spectra.analysis import fuss_catalan_moments
    >>> fuss_catalan_moments(1, 4)        # Catalan numbers (Marchenko-Pastur)
    array([ 1.,  2.,  5., 14.])
    >>> fuss_catalan_moments(2, 4)
    array([  1.,   3.,  12.,  55.])
    """
    L = check_int(depth, "depth", minimum=0)
    K = check_int(order, "order", minimum=1)
    return np.array([math.comb((L + 1) * k, k) / (L * k + 1) for k in range(1, K + 1)], float)


def fuss_catalan_density(depth, x) -> np.ndarray:
    """Density of the Fuss-Catalan law of depth L >= 1 at x (0 outside its support).

    The support is (0, (L+1)^(L+1) / L^L]; with x(phi) =
    sin((L+1) phi)^(L+1) / (sin(phi) sin(L phi)^L) for phi in (0, pi/(L+1)),
    rho(x(phi)) = sin(phi)^2 sin(L phi)^(L-1) / (pi sin((L+1) phi)^L)
    (Haagerup & Moller 2012; Neuschel 2014).

    Examples
    --------
    >>> from spectra.analysis import fuss_catalan_density
    >>> float(fuss_catalan_density(1, 2.0).round(12))     # Marchenko-Pastur: sqrt(x(4-x))/(2 pi x)
    0.159154943092
    """
    from scipy.optimize import brentq

    L = check_int(depth, "depth", minimum=1)
    x = np.asarray(x, dtype=float)
    edge = (L + 1) ** (L + 1) / L ** L
    out = np.zeros(x.shape)

    def xphi(phi):
        return (math.sin((L + 1) * phi) ** (L + 1) / (math.sin(phi) * math.sin(L * phi) ** L))

    top = math.pi / (L + 1)
    for idx in np.ndindex(x.shape):
        xi = float(x[idx])
        if not (0.0 < xi < edge):
            continue
        # x(phi) decreases from the edge (phi -> 0) to 0 (phi -> pi/(L+1))
        lo, hi = 1e-9 * top, top * (1.0 - 1e-15)
        if xi >= xphi(lo):
            phi = lo
        elif xi <= xphi(hi):
            phi = hi
        else:
            phi = brentq(lambda p: xphi(p) - xi, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps)
        out[idx] = (math.sin(phi) ** 2 * math.sin(L * phi) ** (L - 1)
                    / (math.pi * math.sin((L + 1) * phi) ** L))
    return out


# --- power series on coefficient arrays c[0..K] (c[k] multiplies z^k) --------------------

def _mul(a, b):
    return np.convolve(a, b)[: a.size]


def _inv(a):
    """1/a as a series (a[0] != 0)."""
    out = np.zeros_like(a)
    out[0] = 1.0 / a[0]
    for k in range(1, a.size):
        out[k] = -np.dot(a[1:k + 1], out[k - 1::-1][:k]) / a[0]
    return out


def _pow(a, p):
    out = np.zeros_like(a)
    out[0] = 1.0
    for _ in range(p):
        out = _mul(out, a)
    return out


def _reverse(f):
    """The compositional inverse g of f (f[0] = 0, f[1] != 0): f(g(z)) = z, truncated."""
    K = f.size - 1
    # Lagrange inversion: [z^k] g = (1/k) [w^(k-1)] (w / f(w))^k
    h = _inv(f[1:].copy())          # w / f(w) = 1 / (f1 + f2 w + ...)
    h = np.concatenate([h, np.zeros(1)])[:K]
    g = np.zeros(K + 1)
    hk = np.zeros(K)
    hk[0] = 1.0
    for k in range(1, K + 1):
        hk = _mul(hk, h)
        g[k] = hk[k - 1] / k
    return g


@dataclass(frozen=True, repr=False)
class JacobianSpectrum(Result):
    """Free-probability prediction for the squared singular values of a deep Jacobian.

    Attributes
    ----------
    moments : (K,) ndarray
        m_k = E[s^(2k)], k = 1..K, of the squared singular values s^2 of J.
    mean, variance : float
        m_1 = chi^L and m_2 - m_1^2 in closed form.
    q : float
        The fixed point q* the network is evaluated at.
    chi : float
        sigma_w^2 E[f'(sqrt(q*) z)^2].
    depth : int
    weights : str
        "orthogonal" or "gaussian".
    activation : Activation
    weight_var : float
        sigma_w^2.
    """

    moments: np.ndarray
    mean: float
    variance: float
    q: float
    chi: float
    depth: int
    weights: str
    activation: Activation
    weight_var: float = 1.0

    def density(self, x, *, eta=1e-9) -> np.ndarray:
        """The density of the squared singular values at x, from the S-transform.

        With d = f'(sqrt(q*) z)^2 (discretised with 64 Gauss-Legendre nodes
        per piece of z split at the kinks) and m = E[d/(w - d)] = M_{D^2}(w),
        S_{JJ^T} = S_{D^2}^L S_{W^T W}^L says M_J(x) = m where
        sigma_w^(2L) w^L m^(L-1) (1+m)^(1-L+gL) = x (g = 1 for Gaussian
        weights, 0 for orthogonal).  That equation is solved for w at
        x + i eta x in logarithmic form (well conditioned at any depth) by
        Newton's method, continued from far beyond the support (M_J ~ m_1/x)
        down along x at eta = 1e-2, then at each x down to ``eta``, with
        steps that halve when Newton fails or w jumps; rho(x) = -Im(m)/(pi x).

        Parameters
        ----------
        x : array_like of float
            Points > 0 (0 is returned at x <= 0).
        eta : float
            Relative distance from the real axis.

        Returns
        -------
        ndarray, shaped like x

        Examples
        --------
        >>> import spectra
        >>> sp = spectra.jacobian_spectrum("identity", 1, weights="gaussian")
        >>> float(sp.density(2.0).round(6))           # Marchenko-Pastur: 1/(2 pi)
        0.159155
        """
        return _density(self, x, check_real(eta, "eta", low=0.0, low_open=True))


def _feedforward_fixed_point(act, sw, sb, kinks):
    from .theory import _stationary_q
    return _stationary_q(act, sw, sb, 1.0, kinks)


def jacobian_spectrum(activation, depth, *, weight_var=1.0, bias_var=0.0, weights="orthogonal",
                      order=4, q=None) -> JacobianSpectrum:
    """Moments of the squared singular values of a deep network's input-output Jacobian.

    Parameters
    ----------
    activation : str or Activation
    depth : int
        L >= 1.
    weight_var, bias_var : float
        sigma_w^2 (= fan_in Var(W_ij), or gain^2 for orthogonal) and sigma_b^2.
    weights : {"orthogonal", "gaussian"}
    order : int
        How many moments (K >= 2).
    q : float, optional
        The pre-activation variance at every layer; by default the stable
        fixed point q* of q = sigma_w^2 E[f(sqrt(q) z)^2] + sigma_b^2 (``inf``
        when the variance grows without bound: the moments are then their
        limits, exact for positively homogeneous f such as relu and identity).

    Returns
    -------
    JacobianSpectrum

    Raises
    ------
    NumericalError
        When a moment (or the variance) leaves the float64 range: the mean
        ``chi^L`` of a deep network far from criticality (``chi`` and the
        depth give it in logs, ``L log chi``).

    Notes
    -----
    With mu_k = E[f'(sqrt(q) z)^(2k)], the S-transform of D^2 follows from
    the moment series psi(z) = sum_k mu_k z^k by series reversion
    (S = chi^{-1}(z) (1 + z)/z, chi^{-1} the inverse of psi); the product
    above is reverted back to the moments of J J^T.  Writing an
    S-transform as 1/m_1 - (var/m_1^3) z + O(z^2) shows that means multiply
    and var/mean^2 adds over free factors, so

        m_1 = (sigma_w^2 mu_1)^L,
        m_2 - m_1^2 = m_1^2 L (mu_2/mu_1^2 - 1 + [1 for Gaussian weights])

    (Pennington et al. 2017, 2018).  For the identity with Gaussian weights
    and sigma_w^2 = 1 the moments are the Fuss-Catalan numbers.

    Examples
    --------
    >>> import spectra
    >>> sp = spectra.jacobian_spectrum("identity", 3, weights="gaussian")
    >>> sp.moments.round(10)
    array([  1.,   4.,  22., 140.])
    >>> sp = spectra.jacobian_spectrum("tanh", 10, weight_var=1.2, bias_var=0.05)
    >>> round(sp.mean, 6), round(sp.variance, 6)
    (0.185961, 0.051966)
    """
    act = _as_activation(activation)
    L = check_int(depth, "depth", minimum=1)
    sw = check_real(weight_var, "weight_var", low=0.0, low_open=True)
    sb = check_real(bias_var, "bias_var", low=0.0)
    weights = check_choice(weights, "weights", ("orthogonal", "gaussian"))
    K = check_int(order, "order", minimum=2)
    kinks = _kinks(act)
    if q is None:
        q = _feedforward_fixed_point(act, sw, sb, kinks)
    else:
        q = check_real(q, "q", low=0.0)
    if q == 0.0 or math.isinf(q):   # the limits q -> 0+ and q -> inf
        t = 1e-300 if q == 0.0 else 1e300
        with np.errstate(over="ignore", invalid="ignore"):
            lo, hi = float(act.df(np.float64(-t))) ** 2, float(act.df(np.float64(t))) ** 2
        mu = np.array([0.5 * (lo ** k + hi ** k) for k in range(1, K + 1)])
    else:
        mu = np.array([gaussian_expectation(lambda x, k=k: act.df(x) ** (2 * k), q,
                                            breakpoints=kinks) for k in range(1, K + 1)])
    if mu[0] <= 0.0:
        raise ValueError(f"E[f'^2] = 0 for {act!r} at q = {q}: the Jacobian vanishes")
    # the series of D^2 / E[f'^2] and W with sigma_w^2 = 1 (means 1); J J^T then scales by
    # chi^L, chi = sigma_w^2 E[f'^2], moment k by chi^(L k), applied in logs (chi^L alone leaves
    # float64 for deep or extreme networks)
    ks = np.arange(1, K + 1)
    psi = np.concatenate([[0.0], mu / mu[0] ** ks])
    chi_inv = _reverse(psi)                 # chi_inv[0] = 0
    one_plus = np.zeros(K + 1)
    one_plus[:2] = 1.0
    S_d = _mul(chi_inv[1:].copy(), one_plus[:K])            # chi^{-1}(z)/z * (1 + z), K terms
    S_j = _pow(S_d, L)
    if weights == "gaussian":
        S_j = _mul(S_j, _pow(_inv(one_plus[:K]), L))
    # chi_J^{-1}(z) = z S_J(z) / (1 + z); revert to the moment series
    T = _mul(S_j, _inv(one_plus[:K]))
    psi_j = _reverse(np.concatenate([[0.0], T]))
    unit = psi_j[1:]
    if not np.all(np.isfinite(unit)):
        raise ConvergenceError("the moment series overflowed; lower `order`")
    rel = mu[1] / mu[0] ** 2 - 1.0 + (1.0 if weights == "gaussian" else 0.0)
    log_chi = math.log(sw * mu[0])
    with np.errstate(divide="ignore"):
        log_moments = ks * (L * log_chi) + np.log(np.abs(unit))
    log_var = 2.0 * L * log_chi + math.log(L * rel) if rel > 0 else 0.0
    low, high = math.log(np.finfo(float).tiny), math.log(np.finfo(float).max)
    out = [(k, v) for k, v in zip(ks, log_moments) if v != -math.inf and not low <= v <= high]
    if out or not low <= log_var <= high:
        k, v = out[0] if out else (2, log_var)
        raise NumericalError(
            f"the moments of J J^T leave the float64 range (the mean is "
            f"10^{L * log_chi / math.log(10):.4g}, {'the variance' if not out else f'moment {k}'} "
            f"10^{v / math.log(10):.4g}): chi^L with chi = sigma_w^2 E[f'^2] = {sw * mu[0]:.6g} "
            f"and L = {L}; L log(chi) gives the mean in logs")
    moments = unit * np.exp(ks * (L * log_chi))
    m1 = math.exp(L * log_chi)
    var = math.exp(log_var) if rel > 0 else 0.0
    return JacobianSpectrum(moments, float(m1), float(var), float(q), float(sw * mu[0]), L,
                            weights, act, sw)


def _d_distribution(sp):
    """Atoms and weights discretising d = f'(sqrt(q) z)^2, z ~ N(0, 1)."""
    act, q = sp.activation, sp.q
    if q == 0.0 or math.isinf(q):
        t = 1e-300 if q == 0.0 else 1e300
        with np.errstate(over="ignore", invalid="ignore"):
            d = np.array([float(act.df(np.float64(-t))) ** 2, float(act.df(np.float64(t))) ** 2])
        return d, np.array([0.5, 0.5])
    s = math.sqrt(q)
    cuts = {-12.0, -6.0, -3.0, 0.0, 3.0, 6.0, 12.0}
    cuts |= {b / s for b in _kinks(act) if abs(b / s) < 12.0}
    cuts = sorted(cuts)
    x, w = np.polynomial.legendre.leggauss(64)
    zs, ws = [], []
    for a, b in zip(cuts[:-1], cuts[1:]):
        h = 0.5 * (b - a)
        zs.append(a + h * (x + 1.0))
        ws.append(h * w)
    z, w = np.concatenate(zs), np.concatenate(ws)
    p = w * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return act.df(s * z) ** 2, p / p.sum()


_ETA_PATH = 1e-2
_EPS = float(np.finfo(float).eps)


def _density(sp, x, eta):
    """rho at x > 0: one complex unknown w per point, tracked by Newton continuation.

    With m = M_{D^2}(w) = E[d/(w - d)], the S-transform product states
    G(w) = L log(sigma_w^2 w) + (L-1) log m + a log(1+m) - log z = 0
    (a = 1 - L + [L for Gaussian weights]); in this logarithmic form the
    residual grows like log w rather than w^L, so Newton's method stays
    well conditioned at any depth.  The root is continued from far beyond
    the support (w ~ mu_1/m + mu_2/mu_1, m ~ m_1/z) along z = x (1 + i eta_p)
    to each x (decreasing), then down to z = x (1 + i eta), with adaptive
    steps that halve on failure or on a jump of w (no branch switching).
    """
    x = np.asarray(x, dtype=float)
    flat = x.ravel()
    out = np.zeros(flat.size)
    d, p = _d_distribution(sp)
    L, log_sw = sp.depth, math.log(sp.weight_var)
    a = 1 - L + (L if sp.weights == "gaussian" else 0)
    mu1, mu2 = float(p @ d), float(p @ d ** 2)
    two_pi = 2.0 * math.pi

    def residual(w, log_z):
        r = w - d
        m = complex(p @ (d / r))
        dm = -complex(p @ (d / (r * r)))
        terms = [L * (log_sw + np.log(w)), -log_z]
        ds = L / w
        if L > 1:
            terms.append((L - 1) * np.log(m))
            ds += (L - 1) / m * dm
        if a != 0:      # 1 + m = w E[1/(w - d)], without the cancellation as m -> -1
            one_m = w * complex(p @ (1.0 / r))
            terms.append(a * np.log(one_m))
            ds += a / one_m * dm
        s = sum(terms)
        s = complex(s.real, s.imag - two_pi * round(s.imag / two_pi))   # log of the ratio F/z
        return s, ds, m, sum(abs(t) for t in terms)

    def newton(w, z):
        log_z = np.log(z)
        m = None
        for _ in range(60):
            s, ds, m, scale = residual(w, log_z)
            if abs(s) <= 16 * _EPS * scale:        # the residual is at its rounding level
                return w, m, True
            if ds == 0 or not np.isfinite(ds):
                return w, m, False
            step = s / ds
            if abs(step) > 0.25 * abs(w):
                step *= 0.25 * abs(w) / abs(step)
            w = w - step
            if abs(step) <= 1e-14 * abs(w):
                return w, residual(w, log_z)[2], True
        return w, m, False

    def track(w, path):
        """Follow the root from path(0) (where it is w) to path(1)."""
        t, h, m = 0.0, 1.0, None
        while t < 1.0:
            h = min(h, 1.0 - t)
            w_new, m_new, ok = newton(w, path(t + h))
            if ok and abs(w_new - w) <= 0.1 * abs(w):
                w, m, t, h = w_new, m_new, t + h, 2.0 * h
            else:
                h *= 0.5
                if h < 1e-12:
                    raise ConvergenceError("the S-transform equations did not converge at "
                                           f"x = {abs(path(t)):.6g}")
        return w, m

    pos = flat[flat > 0.0]
    if pos.size == 0:
        return out.reshape(x.shape)
    far = 10.0 * max(float(pos.max()), sp.moments[-1] / sp.moments[-2], 1.0)
    z0 = complex(far, _ETA_PATH * far)
    m0 = sp.mean / z0
    w, ok = newton(complex(mu1 / m0 + mu2 / mu1), z0)[::2]
    if not ok:
        raise ConvergenceError(f"the S-transform equations did not converge at x = {far:.6g}")
    current = far
    for i in np.argsort(-flat):
        xi = float(flat[i])
        if not xi > 0.0:
            continue
        if xi != current:     # along the ray z = x (1 + i eta_p), geometrically in x
            lo, hi = math.log(xi), math.log(current)
            w, _ = track(w, lambda t, lo=lo, hi=hi: complex(math.exp(hi + t * (lo - hi)), 0.0)
                         * complex(1.0, _ETA_PATH))
            current = xi
        # then down to eta at fixed x, geometrically in eta (a copy: the path goes on from here)
        le, lp = math.log(eta), math.log(_ETA_PATH)
        _, m = track(w, lambda t, xi=xi, le=le, lp=lp: complex(xi, xi * math.exp(lp + t * (le - lp))))
        out[i] = max(-m.imag / (math.pi * xi), 0.0)
    return out.reshape(x.shape)
