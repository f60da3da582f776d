"""Leaky integration (seed text eq. 14): how it changes the lag profile of the gradient."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.results import Result
from ..analysis.bounds import leaky_bound
from ..cells.simple import ElmanRNN, LeakyRNN
from ..analysis.products import gradient_norm_profile
from .._core.validation import as_generator, check_int, check_real, describe

__all__ = ["LeakyComparison", "leaky_alpha", "leaky_comparison"]


def leaky_alpha(n, *, low=0.02, high=0.2, rng=None) -> np.ndarray:
    """Per-unit alpha_i ~ U(low, high), the seed text's (0.02, 0.2) by default.

    In the seed's eq. (14) alpha is the fraction of the old state kept; for
    the other reading of the recipe (alpha the leak *rate*, slow units) use
    ``1 - leaky_alpha(n)`` (see :func:`leaky_comparison`).

    Examples
    --------
    >>> import spectra
    >>> a = spectra.leaky_alpha(1000, rng=0)
    >>> bool(a.min() > 0.02 and a.max() < 0.2)
    True
    """
    n = check_int(n, "n", minimum=1)
    low = check_real(low, "low", low=0.0, high=1.0)
    high = check_real(high, "high", low=0.0, high=1.0)
    if not low < high:
        raise ValueError(f"`low` must be below `high`; got low={low}, high={high}")
    return as_generator(rng).uniform(low, high, size=n)


@dataclass(frozen=True, repr=False)
class LeakyComparison(Result):
    """Lag profiles of one network with and without leaky integration.

    Attributes
    ----------
    lags : (T,) int ndarray
    log_norms_standard, log_norms_leaky : (T,) ndarray
        ``log ||dh_T/dh_{T-lag}||_2`` of the Elman network and of the same
        weights with leaky units.
    slope_standard, slope_leaky : float
        Least-squares slopes of the log norms against the lag (per step):
        the rate at which the gradient fades.
    horizon_standard, horizon_leaky : float
        First lag at which the norm falls below ``eps``, under the library's
        one horizon convention (:mod:`spectra.analysis.bounds`): lag 0 is the
        identity, so eps > 1 gives 0; ``inf`` means not within the T lags
        computed.
    bound_standard, bound_leaky : float
        The per-step bounds ``gamma_W gamma_h`` and
        ``max(alpha) + (1 - min(alpha)) gamma_W gamma_h``.
    alpha : (n,) ndarray
    eps : float
    """

    _frame = ("lag", "lags", ("log_norms_standard", "log_norms_leaky"))

    lags: np.ndarray
    log_norms_standard: np.ndarray
    log_norms_leaky: np.ndarray
    slope_standard: float
    slope_leaky: float
    horizon_standard: float
    horizon_leaky: float
    bound_standard: float
    bound_leaky: float
    alpha: np.ndarray
    eps: float


def _slope(lags, logs):
    ok = np.isfinite(logs)
    if np.count_nonzero(ok) < 2:
        return -math.inf
    return float(np.polyfit(lags[ok], logs[ok], 1)[0])


def _horizon(lags, logs, eps):
    if eps > 1.0:       # lag 0, the identity (norm 1), is already below eps
        return 0
    below = logs < math.log(eps)
    return int(lags[np.argmax(below)]) if below.any() else math.inf


def leaky_comparison(cell, inputs=None, *, alpha=None, rng=None, h0=None, steps=None,
                     eps=1e-6) -> LeakyComparison:
    """The lag profile of an Elman network against the same weights with leaky units.

    Parameters
    ----------
    cell : ElmanRNN
        The standard network (alpha = 0).
    inputs : (T, d) array_like, optional
        The input sequence (None: autonomous, ``steps``).
    alpha : float or (n,) array_like, optional
        The leak; default per unit from U(0.02, 0.2) (:func:`leaky_alpha`).
    rng : int, Generator or None
        For the default alpha.
    h0 : (n,) array_like, optional
    steps : int, optional
    eps : float
        Threshold for the horizons (> 0; eps > 1 gives 0).

    Returns
    -------
    LeakyComparison

    Notes
    -----
    ``J_t = diag(alpha) + diag(1 - alpha) diag(f'(a_t)) W_hh``.  With a
    scalar alpha and linear units each eigenvalue lambda of W_hh becomes
    ``alpha + (1 - alpha) lambda``: moved towards +1.  A positive eigenvalue
    grows (slower decay); one near -1 shrinks in modulus (faster decay).

    The seed text can be read two ways.  Its eq. (14) keeps alpha of the old
    state, and with alpha_i ~ U(0.02, 0.2) a unit keeps at most a fifth of
    it: the shift is small, and whether the gradient fades more slowly
    depends on the spectrum of W_hh.  It does when the eigenvalues of
    largest modulus lie near +1, and it fades *faster* when they are
    negative or have negative real parts; on random tanh networks both
    happen, and the spectral radius of ``diag(alpha) + diag(1 - alpha) W_hh``
    against that of W_hh predicts which whenever the two clearly differ
    (measured in the tests).  The text's description, units "forced to
    change slowly" that propagate gradients further, fits alpha as the leak
    *rate*: keeping 1 - alpha_i in (0.8, 0.98) of the state
    (``alpha=1 - leaky_alpha(n)``) puts every eigenvalue near 0.8-0.98, and
    the gradient then fades over tens of steps rather than a few.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN(spectra.init.orthogonal(16, gain=0.8, rng=0))
    >>> cmp = spectra.leaky_comparison(cell, steps=60, h0=np.full(16, 0.1), rng=1, eps=1e-4)
    >>> round(cmp.slope_standard, 3), round(cmp.slope_leaky, 3)      # log 0.8 = -0.223 per step
    (-0.223, -0.203)
    >>> cmp.horizon_standard, cmp.horizon_leaky
    (42, 46)
    >>> slow = spectra.leaky_comparison(cell, steps=60, h0=np.full(16, 0.1),
    ...                                 alpha=1 - spectra.leaky_alpha(16, rng=1), eps=1e-4)
    >>> bool(slow.slope_leaky > -0.05), slow.horizon_leaky          # the leak-rate reading
    (True, inf)
    """
    if not isinstance(cell, ElmanRNN):
        raise TypeError(f"`cell` must be an ElmanRNN (the network without leak); got "
                        f"{type(cell).__name__ if hasattr(cell, 'run') else describe(cell)}")
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    if alpha is None:
        alpha = leaky_alpha(cell.n, rng=rng)
    leaky = LeakyRNN(cell.W_hh, cell.W_hx, cell.b, activation=cell.activation, alpha=alpha,
                     dtype=cell.dtype)
    a = np.broadcast_to(np.asarray(leaky.alpha, dtype=float), (cell.n,)).copy()
    ts = cell.run(inputs, h0=h0, steps=steps)
    tl = leaky.run(inputs, h0=h0, steps=steps)
    if ts.batch_shape:
        raise ValueError("`leaky_comparison` compares single runs; got a batch of "
                         f"{ts.batch_shape[0]} (pass one input sequence and one h0)")
    ps = gradient_norm_profile(ts).log_norms
    pl = gradient_norm_profile(tl).log_norms
    lags = np.arange(1, ps.shape[-1] + 1)
    W = np.asarray(cell.W_hh, dtype=float)
    g = float(np.linalg.svd(W, compute_uv=False)[0]) * cell.activation.gamma
    return LeakyComparison(lags, ps, pl, _slope(lags, ps), _slope(lags, pl),
                           _horizon(lags, ps, eps), _horizon(lags, pl, eps), g,
                           leaky_bound(W, cell.activation, a), a, eps)
