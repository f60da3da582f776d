"""Echo-state networks: the echo-state property measured, and the trained readout."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.results import Result
from ..analysis.bounds import cell_parts, leaky_bound
from ..cells.base import Cell
from .._core.validation import as_array, as_generator, check_int, check_real, describe

__all__ = ["EchoStateCheck", "Readout", "echo_state_check", "fit_readout"]


@dataclass(frozen=True, repr=False)
class EchoStateCheck(Result):
    """Distances between runs of one network from different initial states under one input.

    Attributes
    ----------
    times : (T+1,) int ndarray
        0..T.
    distances : (m-1, T+1) ndarray
        ``||h_t^(i) - h_t^(0)||_2`` for the runs i = 1..m-1 against run 0.
    max_distance : (T+1,) ndarray
        The largest of them at each time.
    contraction : float or None
        A Lipschitz constant of the step map in h: ``gamma_W gamma_h``
        (leaky units: the leaky bound); None for cells without one.
    bound : (T+1,) ndarray or None
        ``contraction^t max_i d_0^(i)``, an upper bound on ``max_distance``.
    guaranteed : bool
        ``contraction < 1``: the echo-state property holds for every input.
    rate : float
        Least-squares slope of ``log max_distance`` against t while it is
        above the rounding floor (per step; ``-inf`` if it collapsed at once).
    converged : bool
        ``max_distance[-1] <= tol * max_distance[0]``.
    steps_to_tol : int or float
        First t with ``max_distance[t] <= tol * max_distance[0]`` (``inf`` if none).
    tol : float
    spectral_radius, gamma_W : float or None
    """

    _frame = ("time", "times", ("distances",))

    times: np.ndarray
    distances: np.ndarray
    max_distance: np.ndarray
    contraction: float | None
    bound: np.ndarray | None
    guaranteed: bool
    rate: float
    converged: bool
    steps_to_tol: float
    tol: float
    spectral_radius: float | None
    gamma_W: float | None


def _contraction(cell):
    parts = cell_parts(cell)
    if parts is None:
        return None, None, None
    W, act, alpha = parts
    gw = float(np.linalg.svd(W, compute_uv=False)[0])
    rho = float(np.max(np.abs(np.linalg.eigvals(W))))
    L = gw * act.gamma if alpha is None else leaky_bound(W, act, alpha)
    return L, rho, gw


def echo_state_check(cell, inputs=None, *, steps=None, h0=None, n_initial=8, rng=None,
                     tol=1e-10) -> EchoStateCheck:
    """Check the echo-state property: do runs from different h0 forget where they began?

    A network has the echo-state property (Jaeger 2001) when its state is
    asymptotically a function of the input history alone: runs driven by the
    same input from different initial states converge.  The seed text's
    remedy (Lukosevicius & Jaeger 2009) fixes a random W_hh with spectral
    radius a little below 1 and trains only the readout.

    Parameters
    ----------
    cell : Cell
        Any cell (simple cells also get the contraction bound).
    inputs : (T, d) array_like, optional
        One input sequence, shared by every run (None: autonomous, ``steps``).
    steps : int, optional
        T for an autonomous run.
    h0 : (m, n) array_like, optional
        The initial states (m >= 2).  Default: ``n_initial`` states uniform
        in [-1, 1]^n (the range of tanh units), drawn with ``rng``.
    n_initial : int
        Number of initial states to draw when ``h0`` is None (>= 2).
    rng : int, Generator or None
    tol : float
        Relative tolerance for ``converged`` and ``steps_to_tol``.

    Returns
    -------
    EchoStateCheck

    Notes
    -----
    For an Elman cell ``||f(a) - f(a')||_2 <= gamma_h ||a - a'||_2`` (f acts
    entrywise with ``|f'| <= gamma_h``) and ``a - a' = W_hh (h - h')``, so
    two runs under the same input satisfy
    ``d_t <= (gamma_W gamma_h)^t d_0``: with gamma_W gamma_h < 1 the property
    holds for every input, deterministically.  The same holds with the leaky
    bound for leaky units and with gamma_W gamma_h for the recurrent-first
    form.  A spectral radius below 1 (the usual recipe) is not sufficient
    for this bound, since gamma_W >= rho; the property then holds often but
    must be measured, as here.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = spectra.init.orthogonal(20, gain=0.9, rng=0)               # gamma_W = 0.9
    >>> cell = spectra.ElmanRNN(W, spectra.init.gaussian(20, 1, rng=1))
    >>> x = np.random.default_rng(2).standard_normal((200, 1))
    >>> chk = spectra.echo_state_check(cell, x, rng=3)
    >>> chk.guaranteed, chk.converged, bool(np.all(chk.max_distance <= chk.bound * (1 + 1e-12)))
    (True, True, True)
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"`cell` must be a spectra cell; got {describe(cell)}")
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    n = cell.n
    if h0 is None:
        m = check_int(n_initial, "n_initial", minimum=2)
        H0 = as_generator(rng).uniform(-1.0, 1.0, size=(m, n))
    else:
        H0 = as_array(h0, "h0", ndim=2)
        if H0.shape[0] < 2 or H0.shape[1] != n:
            raise ValueError(f"`h0` must have shape (m, {n}) with m >= 2 initial states; "
                             f"got {H0.shape}")
    if inputs is not None:
        X = as_array(inputs, "inputs", ndim=2)
        traj = cell.run(X, h0=H0)
    else:
        traj = cell.run(None, h0=H0, steps=steps)
    S = np.asarray(traj.states, dtype=np.float64)          # (m, T+1, n)
    D = S[1:] - S[0]
    dist = np.sqrt(np.sum(D * D, axis=-1))
    dmax = dist.max(axis=0)
    T = S.shape[1] - 1
    L, rho, gw = _contraction(cell)
    bound = None if L is None else dmax[0] * L ** np.arange(T + 1, dtype=float)
    # rounding floor of the distances at each time, relative to that time's states (a single
    # floor from the largest state of the whole run hid every distance of a growing run)
    eps = 1e-13 * np.finfo(traj.states.dtype).eps / np.finfo(np.float64).eps
    floor = eps * np.maximum(1.0, np.max(np.abs(S), axis=(0, 2)))
    usable = np.nonzero(dmax > floor)[0]
    # the decay window: from 0 up to the first time below the floor
    if usable.size and usable[0] == 0:
        stop = int(np.argmax(dmax <= floor)) if np.any(dmax <= floor) else T + 1
        t = np.arange(stop)
        if t.size >= 2:
            rate = float(np.polyfit(t, np.log(dmax[:stop]), 1)[0])
        else:
            rate = -math.inf
    else:
        rate = -math.inf
    ok = dmax <= tol * dmax[0]
    steps_to_tol = int(np.argmax(ok)) if np.any(ok) else math.inf
    return EchoStateCheck(np.arange(T + 1), dist, dmax, L, bound, bool(L is not None and L < 1.0),
                          rate, bool(ok[-1]), steps_to_tol, tol, rho, gw)


@dataclass(frozen=True, repr=False)
class Readout(Result):
    """A linear readout ``y_t = W_yh h_t + b_y`` fitted by ridge regression.

    Attributes
    ----------
    W_yh : (c, n) ndarray
    b_y : (c,) ndarray
    rms_error : float
        Root-mean-square training residual over the fitted steps.
    ridge : float
    washout : int
    """

    W_yh: np.ndarray
    b_y: np.ndarray
    rms_error: float
    ridge: float
    washout: int

    def predict(self, states) -> np.ndarray:
        """``W_yh h + b_y`` for states of shape (..., n)."""
        return np.asarray(states) @ self.W_yh.T + self.b_y


def fit_readout(states, targets, *, ridge=0.0, washout=0, bias=True) -> Readout:
    """Fit the output weights of an echo-state network (the only trained part).

    Minimises ``sum_t ||W_yh h_t + b_y - y_t||^2 + ridge ||W_yh||_F^2`` over
    the steps after the washout (the bias is not penalised).

    Parameters
    ----------
    states : Trajectory, or (T, n) / (B, T, n) array_like
        A trajectory (its hidden states h_1..h_T are used, h_0 dropped) or
        the states themselves.
    targets : (T,), (T, c) or (B, T, c) array_like
        y_1..y_T.
    ridge : float
        Tikhonov regularisation, >= 0.
    washout : int
        Initial steps left out (the transient that still remembers h_0).
    bias : bool
        Fit b_y (otherwise b_y = 0).

    Returns
    -------
    Readout

    Notes
    -----
    Solved as the least-squares problem ``[H_c; sqrt(ridge) I] W^T = [Y_c; 0]``
    (H_c, Y_c centred when fitting a bias, then ``b_y = mean(y) - W_yh
    mean(h)``) with an orthogonal factorisation, never through the normal
    equations, whose condition number is the square of H's.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN(spectra.init.echo_state(50, spectral_radius=0.9, rng=0),
    ...                         spectra.init.gaussian(50, 1, gain=0.5, rng=1))
    >>> x = np.random.default_rng(2).uniform(-1, 1, (400, 1))
    >>> traj = cell.run(x)
    >>> out = spectra.fit_readout(traj, np.roll(x, 1, axis=0), ridge=1e-8, washout=50)  # y_t = x_{t-1}
    >>> bool(out.rms_error < 0.05)
    True
    """
    if hasattr(states, "hidden") and hasattr(states, "states"):
        H = np.asarray(states.hidden, dtype=np.float64)[..., 1:, :]
    else:
        H = as_array(states, "states", ndim=(2, 3))
    Y = as_array(targets, "targets", ndim=(1, 2, 3))
    if Y.ndim == 1:
        Y = Y[:, None]
    if H.ndim == 3 and Y.ndim == 2:
        Y = np.broadcast_to(Y, H.shape[:1] + Y.shape)
    if Y.shape[:-1] != H.shape[:-1]:
        raise ValueError(f"`targets` must have one row per state: states have shape {H.shape}, "
                         f"targets {Y.shape}")
    ridge = check_real(ridge, "ridge", low=0.0)
    washout = check_int(washout, "washout", minimum=0, maximum=H.shape[-2] - 1)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"`bias` must be True or False; got {describe(bias)}")
    n, c = H.shape[-1], Y.shape[-1]
    Hf = H[..., washout:, :].reshape(-1, n)
    Yf = Y[..., washout:, :].reshape(-1, c)
    hm = Hf.mean(axis=0) if bias else np.zeros(n)
    ym = Yf.mean(axis=0) if bias else np.zeros(c)
    Hc, Yc = Hf - hm, Yf - ym
    if ridge > 0:
        Hc = np.vstack([Hc, math.sqrt(ridge) * np.eye(n)])
        Yc = np.vstack([Yc, np.zeros((n, c))])
    Wt = np.linalg.lstsq(Hc, Yc, rcond=None)[0]
    W_yh = Wt.T
    b_y = ym - W_yh @ hm
    resid = Hf @ W_yh.T + b_y - Yf
    return Readout(W_yh, b_y, float(np.sqrt(np.mean(resid * resid))), ridge, washout)
