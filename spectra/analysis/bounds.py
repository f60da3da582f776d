"""Gradient-norm bounds: gamma_W, gamma_h, the (gamma_W gamma_h)^lag bound and its audit.

References: Pascanu, Mikolov & Bengio (2013), "On the difficulty of training
recurrent neural networks" (seed text eqs. 10-12); Bengio, Simard & Frasconi
(1994).

Horizons, one convention for the whole library
(:func:`horizon`, :func:`bound_report`, :func:`spectra.symbolic.horizon`,
:func:`spectra.remedies.leaky_comparison`, ``spectra bound --eps``): the
horizon of a quantity N(lag) (a norm of dh_t/dh_{t-lag} or a bound on it) at
a tolerance eps > 0 is the smallest lag L >= 0 with N(L) < eps, where lag 0
is the identity, N(0) = 1 for every quantity.  So eps > 1 gives 0 (nothing
to wait for) and eps <= 1 a lag >= 1.  It is ``inf`` when no lag qualifies:
for the classic bound, a closed form at every lag, that means *never*
(gamma >= 1 and eps <= 1); for a quantity computed at lags 1..t (the exact
norms, the trajectory bound), *not within those t lags* (later lags were not
computed).  It is None when the quantity is not defined (no classic bound
for a gated cell).  :func:`format_horizon` says which in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.results import Result
from ..cells.activations import Activation, activation as _activation
from .._core.errors import NumericalError
from ..jacobians.structured import as_jacobian_sequence
from .products import gradient_norm_profile
from .._core.validation import as_array, as_matrix, check_real, describe

__all__ = ["gamma_W", "gamma_h", "pascanu_bound", "leaky_bound", "horizon", "regime",
           "bound_report", "BoundReport", "Regime", "cell_parts", "recurrent_matrix",
           "format_horizon", "format_log"]


def recurrent_matrix(W, name="W"):
    """The recurrent matrix of a cell with a :class:`~spectra.cells.Recurrence`, or ``W``
    itself validated as a square matrix."""
    parts = cell_parts(W)
    if parts is not None:
        return parts[0]
    if hasattr(W, "run") and hasattr(W, "n"):
        raise TypeError(f"`{name}`: a {type(W).__name__} has no single recurrent matrix; its "
                        "per-step bounds come from bound_report(trajectory)")
    return as_matrix(W, name, square=True)


def cell_parts(cell):
    """``(W, activation, alpha)`` of a cell of the classic form (its ``recurrence()``), or None.

    The documented way for analyses to read a cell's weights: any cell whose
    :meth:`~spectra.Cell.recurrence` returns a :class:`~spectra.cells.Recurrence`
    gets the classic bounds, whatever its class.
    """
    if isinstance(cell, type) or not callable(getattr(cell, "recurrence", None)):
        return None
    rec = cell.recurrence()
    if rec is None:
        return None
    return np.asarray(rec.W), rec.activation, rec.alpha


def gamma_W(W) -> float:
    """``gamma_W = ||W||_2``, the largest singular value of the recurrent matrix.

    Parameters
    ----------
    W : (n, n) array_like, or an ElmanRNN / RecurrentFirstRNN / LeakyRNN

    Examples
    --------
    >>> import numpy as np, spectra
    >>> spectra.gamma_W(np.array([[0.0, 2.0], [0.5, 0.0]]))
    2.0
    """
    W = recurrent_matrix(W)
    return float(np.linalg.svd(W, compute_uv=False)[0])


def gamma_h(activation) -> float:
    """``gamma_h = sup_x |f'(x)|`` (tanh 1, sigmoid 1/4, relu 1, ...).

    Parameters
    ----------
    activation : str, Activation, or a cell with an ``activation``

    Examples
    --------
    >>> import spectra
    >>> spectra.gamma_h("sigmoid")
    0.25
    """
    act = getattr(activation, "activation", activation)
    if not isinstance(act, (str, Activation)):
        raise TypeError(f"`activation` must be a name, an Activation or a cell; got {describe(activation)}")
    return _activation(act).gamma


def _gamma(W, activation):
    if activation is None:
        parts = cell_parts(W)
        if parts is None:
            recurrent_matrix(W)    # a cell not of the classic form: its own, precise error
            raise TypeError("`activation` is required unless `W` is a cell")
        return gamma_W(parts[0]) * parts[1].gamma
    return gamma_W(W) * gamma_h(activation)


def _check_lag(lag):
    if isinstance(lag, (bool, np.bool_)):
        raise TypeError(f"`lag` must be an integer or an array of integers; got {lag!r}")
    arr = np.asarray(lag)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"`lag` must be an integer or an array of integers; got {describe(lag)}")
    if np.any(arr < 0):
        raise ValueError(f"`lag` must be >= 0; got {arr.min()}")
    return arr


def pascanu_bound(W, activation=None, lag=1, *, log=False):
    """The classic bound ``||dh_t/dh_k||_2 <= (gamma_W gamma_h)^(t-k)``.

    Parameters
    ----------
    W : (n, n) array_like or a simple cell
    activation : str or Activation (taken from the cell if W is one)
    lag : int or array of int
        t - k >= 0.
    log : bool
        Return ``lag * log(gamma_W gamma_h)`` (never overflows).

    Raises
    ------
    NumericalError
        If the bound itself overflows float64 (use ``log=True``).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> spectra.pascanu_bound(2.0 * np.eye(3), "sigmoid", [0, 1, 2])
    array([1.  , 0.5 , 0.25])
    """
    g = _gamma(W, activation)
    lag = _check_lag(lag)
    with np.errstate(divide="ignore"):
        logg = math.log(g) if g > 0 else -math.inf
    logb = np.zeros(lag.shape)
    logb[lag > 0] = lag[lag > 0] * logg  # and 0^0 = 1
    if log:
        return float(logb) if logb.ndim == 0 else logb
    if np.any(logb > math.log(np.finfo(float).max)):
        raise NumericalError(f"(gamma_W gamma_h)^lag = ({g:.6g})^{int(np.max(lag))} overflows float64; "
                             "use log=True")
    out = np.exp(logb)
    return float(out) if out.ndim == 0 else out


def leaky_bound(W, activation=None, alpha=None) -> float:
    """Per-step norm bound of leaky units: ``max(alpha) + (1 - min(alpha)) gamma_W gamma_h``.

    For a scalar alpha this is the classic ``alpha + (1 - alpha) gamma_W gamma_h``.

    Notes
    -----
    ``J_t = diag(alpha) + diag(1 - alpha) diag(f'(a_t)) W``, so by the
    triangle inequality ``||J_t|| <= max(alpha) + max(1 - alpha) ||W|| gamma_h``.
    The tempting per-unit version ``max_i (alpha_i + (1 - alpha_i) gamma)``
    is *not* a bound: with alpha = (0, 1) and W = [[0, g], [0, 0]] (linear
    units) J = [[0, g], [0, 1]] has norm sqrt(g^2 + 1) > max(g, 1).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> spectra.leaky_bound(1.5 * np.eye(2), "tanh", 0.8)
    1.1
    """
    if alpha is None:
        parts = cell_parts(W)
        if parts is None or parts[2] is None:
            raise TypeError("`alpha` is required unless `W` is a LeakyRNN")
        alpha = parts[2]
    a = as_array(alpha, "alpha", ndim=(0, 1))
    if np.any(a < 0) or np.any(a > 1):
        raise ValueError(f"`alpha` must lie in [0, 1]; got values in [{a.min()}, {a.max()}]")
    return float(a.max() + (1.0 - a.min()) * _gamma(W, activation))


def horizon(W, activation=None, eps=1e-6) -> float:
    """Smallest lag at which the classic bound ``(gamma_W gamma_h)^lag`` is below ``eps``.

    The library's one horizon convention (module docstring): the smallest
    lag L >= 0 with ``gamma^L < eps``, lag 0 being the identity (bound 1).
    Closed form ``floor(log(eps) / log(gamma)) + 1`` for gamma = gamma_W
    gamma_h < 1 and eps <= 1 (checked against the power itself at the
    boundary); 1 for gamma = 0; ``inf`` (never) when gamma >= 1 and eps <= 1:
    the bound never guarantees vanishing; 0 when eps > 1.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> spectra.horizon(0.5 * np.eye(2), "tanh", 0.25)     # 0.5^2 = 0.25 is not below 0.25
    3
    >>> spectra.horizon(0.5 * np.eye(2), "tanh", 1.0), spectra.horizon(0.5 * np.eye(2), "tanh", 2.0)
    (1, 0)
    >>> spectra.horizon(2 * np.eye(2), "tanh", 0.5)         # the bound 2^lag never falls
    inf
    """
    return _horizon_of(_gamma(W, activation), check_real(eps, "eps", low=0.0, low_open=True))


def _horizon_of(g, eps):
    if eps > 1.0:
        return 0
    if g == 0.0:
        return 1
    if g >= 1.0:
        return math.inf
    L = max(int(math.floor(math.log(eps) / math.log(g))) + 1, 0)
    while L > 0 and g ** (L - 1) < eps:
        L -= 1
    while not g ** L < eps:
        L += 1
    return L


@dataclass(frozen=True, repr=False)
class Regime(Result):
    """Which of Pascanu et al.'s conditions holds, and the numbers that decided it.

    Attributes
    ----------
    regime : {"vanishing guaranteed", "exploding possible", "undetermined"}
    gamma_W, gamma_h : float
    gamma : float
        The per-step bound: gamma_W gamma_h, or the leaky bound.
    threshold : float
        1 / gamma_h: the value of gamma_W that separates the conditions.
    reason : str
        One sentence explaining the verdict.
    """

    regime: str
    gamma_W: float
    gamma_h: float
    gamma: float
    threshold: float
    reason: str


def regime(W, activation=None, *, alpha=None, rtol=1e-12) -> Regime:
    """Classify a recurrent matrix by the conditions of Pascanu et al. (2013).

    ``gamma_W < 1/gamma_h`` is *sufficient* for vanishing gradients
    ("vanishing guaranteed"); ``gamma_W > 1/gamma_h`` is *necessary* for
    exploding gradients ("exploding possible", not guaranteed); at equality
    (within ``rtol``, e.g. an orthogonal W with tanh) neither statement
    applies ("undetermined").  With ``alpha`` (or a LeakyRNN) the leaky
    per-step bound replaces gamma_W gamma_h.

    Parameters
    ----------
    W : (n, n) array_like, or a simple cell (then ``activation`` and ``alpha`` come from it)
    activation : str or Activation
    alpha : float or (n,) array, optional
    rtol : float
        Relative tolerance for the boundary case.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> spectra.regime(3.0 * np.eye(2), "sigmoid").regime
    'vanishing guaranteed'
    >>> spectra.regime(5.0 * np.eye(2), "sigmoid").regime
    'exploding possible'
    """
    rtol = check_real(rtol, "rtol", low=0.0)
    parts = cell_parts(W) if activation is None else None
    if activation is None and parts is None:
        recurrent_matrix(W)        # a cell not of the classic form: its own, precise error
        raise TypeError("`activation` is required unless `W` is a cell")
    if parts is not None:
        Wm, act, cell_alpha = parts
        alpha = cell_alpha if alpha is None else alpha
    else:
        Wm, act = W, activation
    gw, gh = gamma_W(Wm), gamma_h(act)
    gamma = gw * gh if alpha is None else leaky_bound(Wm, act, alpha)
    threshold = math.inf if gh == 0 else 1.0 / gh
    what = "gamma_W gamma_h" if alpha is None else "max(alpha) + (1 - min(alpha)) gamma_W gamma_h"
    if abs(gamma - 1.0) <= rtol:
        name = "undetermined"
        reason = (f"{what} = {gamma:.6g} equals 1 (within rtol={rtol:g}): vanishing is not "
                  "guaranteed and exploding is not possible by the bound; measure the trajectory")
    elif gamma < 1.0:
        name = "vanishing guaranteed"
        reason = (f"{what} = {gamma:.6g} < 1 (gamma_W = {gw:.6g} < 1/gamma_h = {threshold:.6g}): "
                  "every product of step Jacobians shrinks at least geometrically")
    else:
        name = "exploding possible"
        reason = (f"{what} = {gamma:.6g} > 1 (gamma_W = {gw:.6g} > 1/gamma_h = {threshold:.6g}): "
                  "the necessary condition for exploding gradients holds (not a guarantee)")
    return Regime(name, gw, gh, gamma, threshold, reason)


# ---------------------------------------------------------------------------------------


def format_log(x: float) -> str:
    """A natural-log value as a number in scientific notation, even beyond float64 (0 for -inf).

    >>> format_log(-4000.0)
    '6.639e-1738'
    """
    x = float(x)
    if x == -math.inf:
        return "0"
    if not math.isfinite(x):
        return "inf" if x > 0 else "nan"
    e10 = x / math.log(10.0)
    exp = math.floor(e10)
    mant = 10 ** (e10 - exp)
    if mant >= 9.9995:
        mant, exp = 1.0, exp + 1
    return f"{mant:.3f}e{exp:+03d}"


@dataclass(frozen=True, repr=False)
class BoundReport(Result):
    """The audit of the gradient-norm bounds along a trajectory, per lag.

    All norms are natural logs (they routinely leave the float64 range).

    Attributes
    ----------
    lags : (t,) int ndarray
        1..t.
    exact : ndarray
        ``log ||dh_t/dh_{t-lag}||_2``.
    classic : ndarray or None
        ``lag * log(gamma_W gamma_h)`` (the leaky bound for leaky units);
        None when no single recurrent matrix defines it (gated cells, plain
        matrix sequences without ``W``).
    trajectory : ndarray
        Sum over the span of the per-step bounds: ``max_i |f'(a_{s,i})| ||W||``
        for simple cells (never looser than classic), the exact step norms
        for gated cells and dense sequences.
    lower : ndarray
        Sum over the span of per-step lower bounds (smallest singular values);
        ``-inf`` where none is available.
    classic_tightness, trajectory_tightness : ndarray or None
        ``exact - bound`` (log of the ratio; 0 means tight).
    eps : float
    horizon_exact, horizon_classic, horizon_trajectory : float or None
        The first lag at which each falls below eps, under the library's one
        convention (module docstring): lag 0 is the identity, so eps > 1
        gives 0.  ``inf`` for the exact norms and the trajectory bound means
        *not within the t lags computed*; for the classic bound (a closed
        form, not limited to t) it means *never*; ``horizon_classic`` is None
        when there is no classic bound.  :meth:`horizon_text` says which.
    gamma_W, gamma_h : float or None
    t : int
    """

    _frame = ("lag", "lags", ("exact", "classic", "trajectory", "lower", "classic_tightness",
                                       "trajectory_tightness"))

    lags: np.ndarray
    exact: np.ndarray
    classic: np.ndarray | None
    trajectory: np.ndarray
    lower: np.ndarray
    classic_tightness: np.ndarray | None
    trajectory_tightness: np.ndarray
    eps: float
    horizon_exact: float
    horizon_classic: float | None
    horizon_trajectory: float
    gamma_W: float | None
    gamma_h: float | None
    t: int

    def table(self, lags=None) -> str:
        """A plain-text table: lag, exact norm, classic bound, trajectory bound, lower bound."""
        if self.exact.ndim != 1:
            raise ValueError("table() needs a single (unbatched) report")
        idx = range(len(self.lags)) if lags is None else [int(lag) - 1 for lag in lags]
        head = f"{'lag':>5} {'exact':>11} {'classic':>11} {'trajectory':>11} {'lower':>11}"
        rows = [head]
        for i in idx:
            c = "-" if self.classic is None else format_log(self.classic[i])
            rows.append(f"{self.lags[i]:5d} {format_log(self.exact[i]):>11} {c:>11} "
                        f"{format_log(self.trajectory[i]):>11} {format_log(self.lower[i]):>11}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.table()

    def horizon_text(self, which: str) -> str:
        """A horizon in words: ``which`` is ``"exact"``, ``"trajectory"`` or ``"classic"``.

        Examples
        --------
        >>> import numpy as np, spectra
        >>> rep = spectra.bound_report(spectra.ElmanRNN(1.1 * np.eye(2)).run(steps=5, h0=np.ones(2)))
        >>> rep.horizon_text("exact"), rep.horizon_text("classic")
        ('not within the 5 lags computed', 'never (per-step bound 1.1 >= 1)')
        """
        names = ("exact", "trajectory", "classic")
        if which not in names:
            raise ValueError(f"`which` must be one of {names}; got {which!r}")
        value = getattr(self, f"horizon_{which}")
        if which != "classic":
            return format_horizon(value, steps=self.t)
        g = None if self.classic is None else math.exp(float(np.ravel(self.classic)[0]))
        return format_horizon(value, gamma=g)


def _tightness(exact, bound):
    """exact - bound in logs; 0 where both are -inf (a zero product with a zero bound is tight)."""
    both = (exact == -np.inf) & (bound == -np.inf)
    with np.errstate(invalid="ignore"):
        return np.where(both, 0.0, exact - bound)


def _first_below(logs, eps):
    """The horizon of log values at lags 1..t (the convention: 0 when eps > 1, lag 0 being 1)."""
    if eps > 1.0:
        return np.zeros(logs.shape[:-1])
    below = logs < math.log(eps)
    hit = np.argmax(below, axis=-1)
    return np.where(below.any(axis=-1), hit + 1, np.inf)


def format_horizon(value, *, steps=None, gamma=None) -> str:
    """A horizon in words, under the library's one convention (module docstring).

    Parameters
    ----------
    value : int, float, ndarray or None
        The horizon: a lag, ``inf`` or None (an array: one per run, joined by "; ").
    steps : int, optional
        For a horizon measured at lags 1..steps: ``inf`` reads "not within
        the ``steps`` lags computed".
    gamma : float, optional
        For the classic bound's closed form: ``inf`` reads "never" (with the
        per-step bound gamma >= 1, gamma_W gamma_h or the leaky bound).

    Examples
    --------
    >>> format_horizon(12), format_horizon(math.inf, steps=40), format_horizon(None)
    ('12', 'not within the 40 lags computed', 'none (no classic bound)')
    >>> format_horizon(math.inf, gamma=1.5)
    'never (per-step bound 1.5 >= 1)'
    """
    if value is None:
        return "none (no classic bound)"
    if np.ndim(value):          # a batched report: one horizon per run
        return "; ".join(format_horizon(v, steps=steps, gamma=gamma) for v in np.ravel(value))
    value = float(value)
    if math.isfinite(value):
        return str(int(value))
    if steps is not None:
        return f"not within the {int(steps)} lags computed"
    if gamma is not None:
        return f"never (per-step bound {gamma:.6g} >= 1)"
    return "never"


def bound_report(J, *, W=None, activation=None, alpha=None, t=None, eps=1e-6) -> BoundReport:
    """Audit ``||dh_t/dh_{t-lag}|| <= (gamma_W gamma_h)^lag`` at every lag.

    Parameters
    ----------
    J : Trajectory, JacobianSequence, (T, n, n) array_like or sequence of matrices
        A trajectory of a simple cell supplies W, the activation and alpha.
    W, activation, alpha : optional
        The recurrent matrix, activation and leak defining the classic bound
        for other inputs (or to override the cell's).
    t : int, optional
        The time the gradient starts from (default T).
    eps : float
        Tolerance for the horizons (> 0; the convention of the module
        docstring: eps > 1 gives 0).

    Returns
    -------
    BoundReport

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN(spectra.init.orthogonal(8, gain=1.5, rng=0), activation="sigmoid")
    >>> rep = spectra.bound_report(cell.run(steps=30, h0=np.zeros(8)))
    >>> bool(np.all(rep.exact <= rep.trajectory + 1e-9) and np.all(rep.trajectory <= rep.classic + 1e-9))
    True
    >>> rep.horizon_classic            # (1.5 / 4)^15 = 4.0e-7 < 1e-6 < (1.5 / 4)^14
    15
    """
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    seq = as_jacobian_sequence(J)
    t, _ = seq.check_span(t, 0)
    if t == 0:
        raise ValueError("`t` must be >= 1 for a bound report (it audits lags 1..t); got t=0")
    cell = getattr(J, "cell", None)
    parts = cell_parts(cell) if cell is not None else None
    if parts is not None:
        W = parts[0] if W is None else W
        activation = parts[1] if activation is None else activation
        alpha = parts[2] if alpha is None else alpha
    exact = gradient_norm_profile(seq, t=t).log_norms
    lags = np.arange(1, t + 1)
    up, lo = seq.step_norm_bounds()
    # spans (t - lag, t]: cumulative sums of the per-step bounds backwards from t
    trajectory = np.cumsum(up[..., :t][..., ::-1], axis=-1)
    lower = np.cumsum(lo[..., :t][..., ::-1], axis=-1)
    if W is not None:
        if activation is None:
            raise TypeError("`activation` is required with `W`")
        gw, gh = gamma_W(W), gamma_h(activation)
        g = gw * gh if alpha is None else leaky_bound(W, activation, alpha)
        with np.errstate(divide="ignore"):
            classic = lags * (math.log(g) if g > 0 else -math.inf)
        classic = np.broadcast_to(classic, exact.shape).copy()
        h_classic = _horizon_of(g, eps)
        tight_c = _tightness(exact, classic)
    else:
        gw = gh = None
        classic = tight_c = h_classic = None
    return BoundReport(lags, exact, classic, trajectory, lower, tight_c, _tightness(exact, trajectory), eps,
                       _scalar(_first_below(exact, eps)), h_classic,
                       _scalar(_first_below(trajectory, eps)), gw, gh, t)


def _scalar(x):
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        v = float(x)
        return int(v) if math.isfinite(v) else v
    return x
