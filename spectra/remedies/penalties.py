"""L1/L2 penalties on W_hh and spectral control: their effect on gamma_W and the regime."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.results import Result
from ..analysis.bounds import cell_parts, recurrent_matrix, gamma_h, regime
from .._core.validation import as_matrix, check_choice, check_int, check_real, describe

__all__ = ["PenaltyPath", "SpectralControl", "penalty_path", "decay_steps_to_vanishing",
           "spectral_control", "soft_threshold"]


def _matrix_and_activation(W, activation, alpha=None):
    parts = cell_parts(W)
    if parts is not None:
        Wm, act, a = parts
        return (Wm, act if activation is None else activation, a if alpha is None else alpha)
    Wm = recurrent_matrix(W)
    return Wm, activation, alpha


def _radius(W) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(W)))) if W.size else 0.0


def _norm2(W) -> float:
    return float(np.linalg.svd(W, compute_uv=False)[0])


def _kappa(alpha) -> float:
    """The value gamma_W gamma_h must stay below for the leaky bound to be < 1."""
    if alpha is None:
        return 1.0
    a = np.asarray(alpha, dtype=float)
    return float((1.0 - a.max()) / (1.0 - a.min())) if a.min() < 1.0 else 0.0


def soft_threshold(W, tau):
    """The proximal step of ``tau ||W||_1``: ``sign(W) max(|W| - tau, 0)`` entrywise.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> spectra.soft_threshold(np.array([[0.5, -2.0], [0.1, 1.0]]), 0.25)
    array([[ 0.25, -1.75],
           [ 0.  ,  0.75]])
    """
    W = as_matrix(W, "W")
    tau = check_real(tau, "tau", low=0.0)
    return np.sign(W) * np.maximum(np.abs(W) - tau, 0.0)


@dataclass(frozen=True, repr=False)
class PenaltyPath(Result):
    """gamma_W, the spectral radius and the regime along steps of a penalty on W_hh.

    Attributes
    ----------
    steps : (S+1,) int ndarray
        0, 1, ..., S (step 0 is the original matrix).
    gamma_W : (S+1,) ndarray
        ``||W_m||_2`` after m steps.
    spectral_radius : (S+1,) ndarray
    regimes : tuple of str
        :func:`spectra.regime` of W_m (with the cell's alpha for leaky units).
    gamma_h : float
    first_vanishing : int or float
        The first step at which the regime is "vanishing guaranteed"
        (``inf`` if none within the path).
    l1, l2, lr : float
    W : (n, n) ndarray
        The matrix after the last step.
    """

    _frame = ("step", "steps", ("gamma_W", "spectral_radius", "regimes", "gamma_h"))

    steps: np.ndarray
    gamma_W: np.ndarray
    spectral_radius: np.ndarray
    regimes: tuple
    gamma_h: float
    first_vanishing: float
    l1: float
    l2: float
    lr: float
    W: np.ndarray


def penalty_path(W, activation=None, *, l1=0.0, l2=0.0, lr=1.0, steps=100, alpha=None) -> PenaltyPath:
    """What steps of an L1/L2 penalty alone do to gamma_W and the regime.

    One step is weight decay (the gradient step of ``l2 ||W||_F^2 / 2``)
    followed by the proximal step of ``l1 ||W||_1`` (soft thresholding):
    ``W <- soft_threshold((1 - lr l2) W, lr l1)``.  This isolates the
    penalty's effect, the part of training that the seed text credits with
    keeping the spectral radius of W_hh below 1.

    Parameters
    ----------
    W : (n, n) array_like or a simple cell
    activation : str or Activation (taken from the cell if W is one)
    l1, l2 : float
        Penalty strengths, >= 0, with ``lr l2 <= 1``.
    lr : float
        Learning rate, > 0.
    steps : int
        Number of steps S.
    alpha : float or (n,) array, optional
        Leak of leaky units (taken from a LeakyRNN).

    Returns
    -------
    PenaltyPath

    Notes
    -----
    Weight decay scales W, so ``gamma_W`` after m steps is exactly
    ``(1 - lr l2)^m gamma_W`` and the step at which the regime becomes
    "vanishing guaranteed" has the closed form of
    :func:`decay_steps_to_vanishing`.  Soft thresholding shrinks every entry
    towards zero but is not a scaling, so no closed form gives gamma_W
    afterwards, which is why the path is measured rather than predicted.
    (Shrinking entries in magnitude does not by itself lower the spectral
    norm: zeroing the -1 of ``[[1, 1], [-1, 1]]`` raises it from sqrt(2) to
    the golden ratio.  Soft thresholding, which lowers every non-zero entry
    by the same amount, lowered it in every case we tried.)

    Examples
    --------
    >>> import numpy as np, spectra
    >>> path = spectra.penalty_path(1.5 * np.eye(3), "tanh", l2=0.1, lr=1.0, steps=5)
    >>> np.round(path.gamma_W, 4)
    array([1.5   , 1.35  , 1.215 , 1.0935, 0.9842, 0.8857])
    >>> path.first_vanishing, spectra.decay_steps_to_vanishing(1.5 * np.eye(3), "tanh", decay=0.1)
    (4, 4)
    """
    Wm, act, alpha = _matrix_and_activation(W, activation, alpha)
    if act is None:
        raise TypeError("`activation` is required unless `W` is a cell")
    l1 = check_real(l1, "l1", low=0.0)
    l2 = check_real(l2, "l2", low=0.0)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    steps = check_int(steps, "steps", minimum=0)
    decay = lr * l2
    if decay > 1.0:
        raise ValueError(f"`lr` * `l2` must be <= 1 (weight decay multiplies W by 1 - lr l2); "
                         f"got {decay:g}")
    gh = gamma_h(act)
    cur = np.array(Wm, dtype=np.float64)
    gw = np.empty(steps + 1)
    rho = np.empty(steps + 1)
    regimes = []
    first = math.inf
    for m in range(steps + 1):
        if m:
            cur = (1.0 - decay) * cur
            if l1:
                cur = np.sign(cur) * np.maximum(np.abs(cur) - lr * l1, 0.0)
        r = regime(cur, act, alpha=alpha)
        gw[m] = r.gamma_W
        rho[m] = _radius(cur)
        regimes.append(r.regime)
        if first == math.inf and r.regime == "vanishing guaranteed":
            first = m
    return PenaltyPath(np.arange(steps + 1), gw, rho, tuple(regimes), gh, first, l1, l2, lr, cur)


def decay_steps_to_vanishing(W, activation=None, *, decay, alpha=None):
    """Steps of weight decay ``W <- (1 - decay) W`` until vanishing is guaranteed.

    The smallest m >= 0 with ``(1 - decay)^m gamma_W gamma_h < 1`` (for
    leaky units, the leaky bound ``max(alpha) + (1 - min(alpha)) x < 1``,
    i.e. ``x < (1 - max(alpha)) / (1 - min(alpha))``): closed form
    ``floor(log(gamma / kappa) / -log(1 - decay)) + 1``, checked against the
    power itself at the boundary.  ``inf`` when decay is 0 and the regime is
    not already "vanishing guaranteed".

    Parameters
    ----------
    W : (n, n) array_like or a simple cell
    activation : str or Activation
    decay : float in [0, 1]
        ``lr * l2``.
    alpha : float or (n,) array, optional

    Examples
    --------
    >>> import numpy as np, spectra
    >>> spectra.decay_steps_to_vanishing(2.0 * np.eye(2), "tanh", decay=0.5)   # 2 -> 1 -> 0.5
    2
    """
    Wm, act, alpha = _matrix_and_activation(W, activation, alpha)
    if act is None:
        raise TypeError("`activation` is required unless `W` is a cell")
    decay = check_real(decay, "decay", low=0.0, high=1.0)
    g = _norm2(Wm) * gamma_h(act)
    kappa = _kappa(alpha)
    if g < kappa:
        return 0
    if kappa == 0.0 or decay == 0.0:
        return math.inf
    if decay == 1.0:
        return 1
    q = 1.0 - decay
    m = max(int(math.floor(math.log(g / kappa) / -math.log(q))) + 1, 0)
    while m > 0 and q ** (m - 1) * g < kappa:
        m -= 1
    while not q ** m * g < kappa:
        m += 1
    return m


@dataclass(frozen=True, repr=False)
class SpectralControl(Result):
    """A recurrent matrix rescaled to a target spectral radius or spectral norm.

    Attributes
    ----------
    W : (n, n) ndarray
        The rescaled matrix.
    scale : float
        The factor applied.
    spectral_radius_before, spectral_radius_after : float
    gamma_W_before, gamma_W_after : float
    regime_before, regime_after : str or None
        :func:`spectra.regime` (None without an activation).
    measure : str
        "radius" or "norm".
    """

    W: np.ndarray
    scale: float
    spectral_radius_before: float
    spectral_radius_after: float
    gamma_W_before: float
    gamma_W_after: float
    regime_before: str | None
    regime_after: str | None
    measure: str


def spectral_control(W, target, *, measure="radius", only_above=False, activation=None,
                     alpha=None) -> SpectralControl:
    """Rescale W_hh to a target spectral radius (or spectral norm).

    Parameters
    ----------
    W : (n, n) array_like or a simple cell
    target : float
        The spectral radius (``measure="radius"``) or spectral norm
        gamma_W (``measure="norm"``) wanted, > 0.
    measure : {"radius", "norm"}
    only_above : bool
        Rescale only when the measure exceeds the target (a projection, as
        applied after each training step); otherwise always.
    activation : str or Activation, optional
        For the regimes (taken from a cell).
    alpha : float or (n,) array, optional

    Returns
    -------
    SpectralControl

    Notes
    -----
    The spectral radius of ``s W`` is ``s rho(W)``, so the target is met to
    rounding.  A spectral radius below 1 makes a *linear* recurrence
    contract asymptotically, but it does not bound ``gamma_W = ||W||_2``: a
    non-normal W with rho < 1 can have gamma_W > 1, and then the regime is
    still "exploding possible" (transient growth).  ``measure="norm"`` with
    ``target < 1 / gamma_h`` guarantees vanishing.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[0.5, 3.0], [0.0, 0.5]])             # rho = 0.5, gamma_W = 3.08
    >>> res = spectra.spectral_control(W, 0.9, activation="tanh")
    >>> round(res.spectral_radius_after, 12), res.regime_after
    (0.9, 'exploding possible')
    >>> spectra.spectral_control(W, 0.9, measure="norm", activation="tanh").regime_after
    'vanishing guaranteed'
    """
    Wm, act, alpha = _matrix_and_activation(W, activation, alpha)
    Wm = np.asarray(Wm, dtype=np.float64)
    target = check_real(target, "target", low=0.0, low_open=True)
    check_choice(measure, "measure", ("radius", "norm"))
    if not isinstance(only_above, (bool, np.bool_)):
        raise TypeError(f"`only_above` must be True or False; got {describe(only_above)}")
    rho, gw = _radius(Wm), _norm2(Wm)
    current = rho if measure == "radius" else gw
    scale_ref = float(np.max(np.abs(Wm)))
    if current <= 1e-12 * max(scale_ref, np.finfo(float).tiny) * Wm.shape[0]:
        what = "spectral radius" if measure == "radius" else "spectral norm"
        raise ValueError(f"`W` has {what} {current:.3g} (numerically "
                         f"{'nilpotent' if measure == 'radius' else 'zero'}); it cannot be "
                         f"rescaled to a positive {what}")
    scale = 1.0 if (only_above and current <= target) else target / current
    Wn = Wm * scale
    reg = (lambda M: None if act is None else regime(M, act, alpha=alpha).regime)
    return SpectralControl(Wn, scale, rho, _radius(Wn), gw, _norm2(Wn), reg(Wm), reg(Wn), measure)
