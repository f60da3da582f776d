"""Parameter sensitivity through time, ``dh_t/dtheta``, and the curse of memory.

:func:`parameter_sensitivity` measures how much a run's states move with one named
parameter of its cell, ``||dh_t/dtheta||`` for every t, and splits ``dh_t/dtheta`` into
the contributions of the steps that used the parameter, by lag.  It needs the cell's
``parameter_vjp`` hook (the partial derivatives of one step) and its step Jacobians, so
it works for every cell that has the hook.

:func:`curse_of_memory` gives the closed forms for the scalar linear recurrence
``h_t = lambda h_{t-1} + gamma x_t`` driven by unit white noise (Zucchet & Orvieto 2024):
the sensitivity to lambda explodes as ``(1 - lambda^2)^-3`` while the state variance
grows only as ``(1 - lambda^2)^-1``; the LRU's input normalisation and its exponential
parametrisation tame it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core.errors import NumericalError
from .._core.results import Result
from .._core.validation import check_choice, check_int, describe

__all__ = ["ParameterSensitivity", "parameter_sensitivity", "CurseOfMemory", "curse_of_memory"]


@dataclass(frozen=True, repr=False)
class ParameterSensitivity(Result):
    """How a run's states move with one parameter (:func:`parameter_sensitivity`).

    Attributes
    ----------
    parameter : str
        The parameter's name (a key of ``cell.parameters()``).
    steps : (T+1,) int ndarray
        0, 1, ..., T.
    norms : (T+1,) or (B, T+1) ndarray
        ``||dh_t/dtheta||_F`` for t = 0..T (0 at t = 0: the initial state does not
        depend on the parameter); h is the hidden part of the state.
    t : int
        The step the lag decomposition is taken at.
    lags : (t,) int ndarray
        0, 1, ..., t-1.
    lag_norms : (t,) or (B, t) ndarray
        ``||(dh_t/dh_{t-lag}) dF_{t-lag}/dtheta||_F``: the part of ``dh_t/dtheta`` that
        came through the parameter's use ``lag`` steps before t.
    jacobian : ndarray
        ``dh_t/dtheta`` at step t, shape ``(..., n_h) + parameter shape``.
    """

    _frame = ("step", "steps", ("norms",))

    parameter: str
    steps: np.ndarray
    norms: np.ndarray
    t: int
    lags: np.ndarray
    lag_norms: np.ndarray
    jacobian: np.ndarray


_CHUNK_FLOATS = 8_000_000    # the partials G_t are made a block of steps at a time: ~64 MB


def _partials(run, parameter, a, b, p):
    """``G_t = dF_t/dtheta`` (n x p) for t = a+1..b, from the cell's per-step hook.

    The hook is called on the sub-run of steps a+1..b (its states h_a..h_b, inputs and
    auxiliaries) once per unit cotangent, which gives row i of every G_t at once.
    """
    cell, states = run.cell, run.states
    batch, n = states.shape[:-2], states.shape[-1]
    sub = states[..., a:b + 1, :]
    X = None if run.inputs is None else run.inputs[..., a:b, :]
    aux = None if run.preactivations is None else run.preactivations[..., a:b, :]
    G = np.empty(batch + (b - a, n, p))
    U = np.zeros(batch + (b - a, n))
    for i in range(n):
        U[..., i] = 1.0
        g = cell.parameter_vjp(sub, X, aux, U, per_step=True)[parameter]
        G[..., i, :] = np.asarray(g, dtype=np.float64).reshape(batch + (b - a, p))
        U[..., i] = 0.0
    return G


def _hidden_rows(cell, n, dtype):
    """The selection E (n_h x n) with E h = hidden_part(h)."""
    return np.ascontiguousarray(np.swapaxes(cell.hidden_part(np.eye(n, dtype=dtype)), -1, -2))


def parameter_sensitivity(run, parameter, *, t=None) -> ParameterSensitivity:
    """``||dh_t/dtheta||`` over t, and its contributions by lag, for a named parameter.

    Parameters
    ----------
    run : Trajectory
        A run of a cell with the ``parameter_vjp`` hook (``cell.run(inputs)``); a batch of
        runs gives one curve per run.
    parameter : str
        A name of ``run.cell.parameters()``.
    t : int, optional
        The step of the lag decomposition (default T).

    Returns
    -------
    ParameterSensitivity

    Raises
    ------
    ValueError
        For an unknown parameter name (the message lists the names).
    TypeError
        If ``run`` is not a trajectory or its cell lacks the ``parameter_vjp`` hook.
    NumericalError
        If the sensitivity leaves the float64 range.

    Notes
    -----
    With ``G_t = dF_t/dtheta`` (n x p, the step's partial derivative, read from the
    hook with the n unit cotangents) and the step Jacobians J_t,

    ``S_t = dh_t/dtheta = J_t S_{t-1} + G_t = sum_{k=1}^{t} (dh_t/dh_k) G_k``,   S_0 = 0,

    accumulated forwards for every t (O(T n^2 p) with dense steps, O(T n p) for
    diagonal ones such as the LRU's), and the terms of the sum at step t, one per lag
    ``t - k``, carried backwards (O(t n^2 p)).  The G_t are made a block of steps at a
    time (about 64 MB of them; a run longer than one block calls the hook twice per step),
    so memory stays O(n p) per step of a block plus the O(T) norms.

    **The curse of memory.**  For ``h_t = lambda h_{t-1} + x_t`` with unit white noise,
    ``h_t = sum_k lambda^k x_{t-k}`` and ``dh_t/dlambda = sum_k k lambda^(k-1) x_{t-k}``,
    so in the stationary state ``E[h_t^2] = sum_k lambda^(2k) = 1/(1 - lambda^2)`` and

    ``E[(dh_t/dlambda)^2] = sum_k k^2 lambda^(2k-2) = (1 + lambda^2)/(1 - lambda^2)^3``:

    the parameter sensitivity explodes two powers of ``1 - lambda^2`` faster than the
    state.  In the decomposition by lag, the use of lambda ``l`` steps back contributes
    ``lambda^l h_{t-l-1}``: each term is as large as the state, and about
    ``1/(1-lambda)`` of them, correlated over that time, add up.  See
    :func:`curse_of_memory` for the normalised forms.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.LRU.from_eigenvalues([0.9], B=[[1.0]], normalize=False)
    >>> s = spectra.analysis.parameter_sensitivity(cell.run(np.ones((3, 1))), "nu_log")
    >>> s.norms.round(4)      # d h_3/d nu = (1 + 2 lambda) lambda log(lambda)
    array([0.    , 0.    , 0.0948, 0.2655])
    >>> s.lag_norms.round(4)  # lag l: lambda^l (lambda log lambda) h_{2-l}, with h_0 = 0
    array([0.1802, 0.0853, 0.    ])
    """
    cell = getattr(run, "cell", None)
    if cell is None or not hasattr(run, "parameter_vjp") or not hasattr(run, "jacobian_sequence"):
        raise TypeError(f"`run` must be a Trajectory (cell.run(inputs)); got {describe(run)}")
    if not isinstance(parameter, str):
        raise TypeError(f"`parameter` must be a parameter name (str); got {describe(parameter)}")
    names = list(cell.parameters())
    if parameter not in names:
        raise ValueError(f"`parameter` must be one of the {type(cell).__name__}'s parameters "
                         f"{names}; got {parameter!r}")
    T = run.steps
    t = T if t is None else check_int(t, "t", minimum=1, maximum=max(T, 1))
    if T == 0:
        raise ValueError("`run` must have at least one step")
    states = run.states
    batch, n = states.shape[:-2], states.shape[-1]
    shape = np.shape(cell.parameters()[parameter])
    p = int(np.prod(shape, dtype=int))
    chunk = max(1, min(T, int(_CHUNK_FLOATS // max(1, int(np.prod(batch, dtype=int)) * n * p))))
    blocks = [(a, min(T, a + chunk)) for a in range(0, T, chunk)]
    cache = {}

    def G_of(a, b):
        """``G_t`` for t = a+1..b, shape ``batch + (b - a, n, p)`` (kept if it is the only block)."""
        if (a, b) in cache:
            return cache[(a, b)]
        G = _partials(run, parameter, a, b, p)
        if len(blocks) == 1:
            cache[(a, b)] = G
        return G

    seq = run.jacobian_sequence
    E = _hidden_rows(cell, n, np.float64)
    norms = np.zeros(batch + (T + 1,))
    S = np.zeros(batch + (n, p))
    S_t = None
    with np.errstate(over="ignore", invalid="ignore"):
        for a, b in blocks:
            G = G_of(a, b)
            for s in range(a + 1, b + 1):
                S = seq.matmat(s, S) + G[..., s - a - 1, :, :]
                H = E @ S
                norms[..., s] = np.sqrt(np.sum(H * H, axis=(-2, -1)))
                if s == t:
                    S_t = H
        lag_norms = np.empty(batch + (t,))
        P = np.broadcast_to(E, batch + E.shape).copy()
        for a, b in reversed([blk for blk in blocks if blk[0] < t]):
            G = G_of(a, b)
            for k in range(min(b, t), a, -1):
                C = P @ G[..., k - a - 1, :, :]
                lag_norms[..., t - k] = np.sqrt(np.sum(C * C, axis=(-2, -1)))
                if k > 1:
                    P = seq.lmatmat(k, P)
    if not (np.all(np.isfinite(norms)) and np.all(np.isfinite(lag_norms))):
        raise NumericalError(f"the sensitivity to `{parameter}` left the float64 range (the run "
                             "or its Jacobian products explode); shorten the run")
    return ParameterSensitivity(parameter, np.arange(T + 1), norms, t, np.arange(t), lag_norms,
                                S_t.reshape(S_t.shape[:-1] + shape))


@dataclass(frozen=True, repr=False)
class CurseOfMemory(Result):
    """Stationary closed forms of :func:`curse_of_memory`.

    Attributes
    ----------
    lam : ndarray
        The lambdas (their moduli r for ``parameter="nu"``).
    state_variance : ndarray
        ``E|h_t|^2``.
    sensitivity : ndarray
        ``E|dh_t/dtheta|^2`` for the chosen parameter.
    normalization : str
    parameter : str
    """

    _frame = ("point", None, ("lam", "state_variance", "sensitivity"))

    lam: np.ndarray
    state_variance: np.ndarray
    sensitivity: np.ndarray
    normalization: str
    parameter: str


NORMALIZATIONS = ("none", "tied", "fixed")


def curse_of_memory(lam, *, normalization="none", parameter="lambda") -> CurseOfMemory:
    """Stationary ``E|h|^2`` and ``E|dh/dtheta|^2`` of ``h_t = lambda h_{t-1} + gamma x_t``.

    The input ``x_t`` is unit white noise (real).

    Parameters
    ----------
    lam : float or array_like
        lambda, ``|lambda| < 1``: real for ``parameter="lambda"``; complex allowed for
        ``parameter="nu"`` (the formulas then hold with ``r = |lambda|``).
    normalization : {"none", "tied", "fixed"}
        ``"none"``: gamma = 1.  ``"tied"``: ``gamma = sqrt(1 - |lambda|^2)`` as a function
        of lambda (the LRU with ``normalize=True``).  ``"fixed"``: the same value held
        fixed when lambda moves (a separate parameter, as the reference code's
        ``gamma_log``).
    parameter : {"lambda", "nu"}
        Differentiate with respect to lambda itself, or to the LRU's
        ``nu = log(-log|lambda|)`` (``d|lambda|/dnu = r log r``).

    Returns
    -------
    CurseOfMemory

    Notes
    -----
    With ``l = lambda^2`` (``r^2``):

    ================  ================  ================================
    normalization     ``E|h|^2``        ``E|dh/dlambda|^2``
    ================  ================  ================================
    none              ``1/(1-l)``       ``(1+l)/(1-l)^3``
    fixed             1                 ``(1+l)/(1-l)^2``
    tied              1                 ``1/(1-l)^2``
    ================  ================  ================================

    The tied form: ``h_t = sum_k gamma lambda^k x_{t-k}`` with ``gamma' = -lambda/gamma``,
    so the coefficient of ``x_{t-k}`` in ``dh_t/dlambda`` is
    ``c_k = -lambda^(k+1)/gamma + gamma k lambda^(k-1)`` and, with
    ``sum_k lambda^(2k) = 1/(1-l)``, ``sum_k k lambda^(2k) = l/(1-l)^2`` and
    ``sum_k k^2 lambda^(2k-2) = (1+l)/(1-l)^3``,
    ``sum_k c_k^2 = [l - 2l + (1+l)]/(1-l)^2 = 1/(1-l)^2``.

    Normalisation alone removes one power of ``1 - l`` (it keeps the state at unit
    variance, but the sensitivity still explodes as ``(1-l)^-2``).  The LRU's
    exponential parametrisation removes the rest: ``parameter="nu"`` multiplies by
    ``(r log r)^2 ~ (1-r)^2``, so with the tied normalisation
    ``E|dh/dnu|^2 = (r log r)^2/(1-r^2)^2 -> 1/4`` as ``r -> 1`` (``-> 1/2`` with the
    fixed one), while without normalisation it still grows as ``1/(4(1-r))``.  For complex lambda (real input)
    ``|d lambda^k/d nu| = k r^(k-1) |r log r|`` as for real lambda, so the forms carry over
    with ``r = |lambda|``.

    References
    ----------
    N. Zucchet, A. Orvieto, "Recurrent neural networks: vanishing and exploding gradients
    are not the end of the story", NeurIPS 2024.

    Examples
    --------
    >>> import spectra
    >>> c = spectra.analysis.curse_of_memory([0.9, 0.99, 0.999])
    >>> c.state_variance.round(1)                        # 1/(1 - lambda^2)
    array([  5.3,  50.3, 500.3])
    >>> (c.sensitivity / c.state_variance ** 3).round(4)  # (1 + lambda^2): three powers
    array([1.81  , 1.9801, 1.998 ])
    >>> spectra.analysis.curse_of_memory(0.999999, normalization="tied",
    ...                                  parameter="nu").sensitivity.round(4)
    array([0.25])
    """
    check_choice(normalization, "normalization", NORMALIZATIONS)
    check_choice(parameter, "parameter", ("lambda", "nu"))
    arr = np.atleast_1d(np.asarray(lam))
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"`lam` must be numbers; got {describe(lam)}")
    if arr.dtype.kind == "c" and parameter == "lambda":
        raise TypeError("`lam` must be real for parameter='lambda' (the derivative along a real "
                        "lambda); for complex lambda use parameter='nu'")
    r = np.abs(arr.astype(np.complex128)) if arr.dtype.kind == "c" else arr.astype(np.float64)
    if not np.all(np.isfinite(r)) or np.any(np.abs(r) >= 1):
        raise ValueError(f"`lam` must satisfy |lambda| < 1; got values up to {np.max(np.abs(r))}")
    if parameter == "nu" and np.any(r == 0):
        raise ValueError("`lam` must be nonzero for parameter='nu' (nu = log(-log|lambda|))")
    l2 = r * r
    one = 1.0 - l2
    if normalization == "none":
        var, sens = 1.0 / one, (1.0 + l2) / one ** 3
    elif normalization == "fixed":
        var, sens = np.ones_like(r), (1.0 + l2) / one ** 2
    else:
        var, sens = np.ones_like(r), 1.0 / one ** 2
    if parameter == "nu":
        a = np.abs(r)
        sens = sens * (a * np.log(a)) ** 2
        r = a
    return CurseOfMemory(r, var, sens, normalization, parameter)
