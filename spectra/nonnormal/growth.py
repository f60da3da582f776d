"""Transient growth: ``||W^t||`` and its certified peak, products of step Jacobians, the Kreiss constant.

:func:`transient_growth` (powers of one matrix), :func:`product_growth` (the
same for the differing step Jacobians of a trajectory), :func:`kreiss_constant`
(with the Kreiss matrix theorem bounds ``K <= sup_t ||W^t|| <= e n K``).
Every product is renormalised by exact powers of two, so nothing overflows.
"""

from __future__ import annotations

import math

import numpy as np

from ..jacobians.kernels import normalise
from .._core.errors import ConvergenceError, NumericalError
from .._core.validation import check_int
from ..linalg.fieldofvalues import norm2
from ..linalg.pseudospectra import kreiss
from ..linalg.resolvent import schur_complex
from ._common import dense_spectral_radius, single_sequence, square_matrix
from .results import KreissConstant, ProductGrowth, TransientGrowth

__all__ = ["transient_growth", "product_growth", "kreiss_constant"]

_EPS = float(np.finfo(np.float64).eps)
_LOG2 = math.log(2.0)


def _power_log_norms(W, stop, *, certify, block=32):
    """``log ||W^t||_2`` for t = 0..stop (or until certified).

    The running power is renormalised by an exact power of two after every
    multiplication and the exponent carried as an integer, so neither
    overflow nor underflow can occur whatever ``rho(W)`` and t are.
    """
    n = W.shape[0]
    logs = [0.0]
    # W = 2^eW Wn exactly, so that neither huge nor subnormal entries spoil W @ P
    Wn, eW = normalise(W)
    W, eW = Wn, int(eW)
    P = np.eye(n)
    e = 0
    certified_at = None
    t = 0
    one = 1.0 + 8 * n * _EPS
    while t < stop:
        todo = min(block, stop - t)
        mats = np.empty((todo, n, n))
        exps = np.empty(todo, dtype=np.int64)
        for j in range(todo):
            P, de = normalise(W @ P)
            e += int(de) + eW
            mats[j] = P
            exps[j] = e
        s = np.linalg.svd(mats, compute_uv=False)[:, 0]
        with np.errstate(divide="ignore"):
            vals = np.log(s) + exps * _LOG2
        logs.extend(vals.tolist())
        t += todo
        if certified_at is None:
            hit = np.flatnonzero(vals <= math.log(one))
            if hit.size:
                certified_at = t - todo + 1 + int(hit[0])
                if certify:
                    logs = logs[:certified_at + 1]
                    break
    return np.array(logs), certified_at


def transient_growth(W, *, steps=None, max_steps=100_000) -> TransientGrowth:
    """``||W^t||_2`` for t = 0, 1, ..., its peak, and where the peak occurs.

    Parameters
    ----------
    W : (n, n) array_like
        The recurrent matrix of a linear network ``h_t = W h_{t-1}`` (or any
        square matrix, e.g. a step Jacobian ``traj.jacobian(t)``).
    steps : int, optional
        Horizon L: compute t = 0..L.  By default, iterate until the peak is
        certified to be the supremum over all t (the first ``t >= 1`` with
        ``||W^t|| <= 1``), which needs ``rho(W) <= 1``.
    max_steps : int
        Largest horizon tried when ``steps`` is None.

    Returns
    -------
    TransientGrowth
        With ``t``, ``log_norms`` (and ``norms``), ``peak``, ``peak_step``,
        ``certified``, and the reference curves ``rho_powers`` (``rho^t``, the
        eigenvalue prediction) and ``norm_powers`` (``||W||^t``, the norm bound).

    Raises
    ------
    ValueError
        If ``steps`` is None and ``rho(W) > 1`` (the supremum is infinite).
    ConvergenceError
        If ``steps`` is None and no ``t <= max_steps`` certifies the peak.

    Notes
    -----
    Always ``rho^t <= ||W^t|| <= ||W||^t``; for a normal W the left side is an
    equality, so there is no transient growth: ``sup_t ||W^t|| = 1`` when
    ``rho <= 1``.  For a non-normal W the peak can be arbitrarily large at
    fixed ``rho < 1`` (see :func:`kreiss_constant` for the bounds
    ``K <= sup_t ||W^t|| <= e n K``).  Certificate: if ``||W^s|| <= 1`` for some
    ``s >= 1``, every ``t = j s + q`` (``0 <= q < s``) has
    ``||W^t|| <= ||W^s||^j ||W^q|| <= max_{q<s} ||W^q||``, so the peak over
    ``t <= s`` is the supremum.

    Accuracy: each power is formed by repeated multiplication, renormalised
    by exact powers of two; the result is exact for an exactly triangular W
    (no cancellation) and otherwise carries absolute errors of about
    ``t eps ||W|| (sup_t ||W^t||)^2`` -- the same size as the change in
    ``W^t`` caused by perturbing W by ``eps ||W||``, so values far below that
    level describe ``W`` only up to its own rounding (they are then governed
    by the eps-pseudospectrum, not the spectrum).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> A = [[0.5, 10.0], [0.0, 0.5]]
    >>> g = spectra.transient_growth(A)
    >>> g.spectral_radius, g.peak_step, round(g.peak, 4), g.certified
    (0.5, 1, 10.0249, True)
    >>> g = spectra.transient_growth(A, steps=70)
    >>> round(float(g.norms[5]), 4), int(np.argmax(g.norms < 1e-15))
    (3.1253, 61)
    """
    W = square_matrix(W)
    n = W.shape[0]
    rho = dense_spectral_radius(W)
    norm = norm2(W)
    if steps is None:
        max_steps = check_int(max_steps, "max_steps", minimum=1)
        if rho > 1.0 + 8 * n * _EPS * max(norm, 1.0):
            raise ValueError(f"sup_t ||W^t|| is infinite: rho(W) = {rho:.6g} > 1; pass `steps` "
                             "for a finite horizon")
        logs, cert = _power_log_norms(W, max_steps, certify=True)
        if cert is None:
            raise ConvergenceError(
                f"the peak of ||W^t|| was not certified within max_steps={max_steps} steps "
                f"(rho(W) = {rho:.6g}; ||W^t|| = {math.exp(logs[-1]):.3g} at t = {max_steps} is still "
                "above 1); increase `max_steps` or pass a finite horizon `steps`")
    else:
        steps = check_int(steps, "steps", minimum=0)
        logs, cert = _power_log_norms(W, steps, certify=False)
    i = int(np.argmax(logs))
    return TransientGrowth(
        t=np.arange(logs.size), log_norms=logs, log_peak=float(logs[i]), peak_step=i,
        certified=cert is not None, spectral_radius=rho, spectral_norm=norm)


def product_growth(J, *, k=0) -> ProductGrowth:
    """Norms of products of step Jacobians ``||dh_{k+lag}/dh_k||_2`` for every lag.

    The analogue of :func:`transient_growth` for a trajectory, whose step
    Jacobians differ from step to step.

    Parameters
    ----------
    J : Trajectory, JacobianSequence, (T, n, n) array_like or sequence of matrices
        Square step Jacobians J_1..J_T (a single, unbatched sequence).
    k : int or None
        The start step: measure ``dh_{k+lag}/dh_k = J_{k+lag} ... J_{k+1}`` for
        lag = 0..T-k (default k = 0, from the initial state).  ``k=None``
        takes, for each lag, the worst start: ``max_k ||dh_{k+lag}/dh_k||``
        over ``0 <= k <= T - lag`` (cost O(T^2 n^3) instead of O(T n^3)).

    Returns
    -------
    ProductGrowth

    Notes
    -----
    For a linear network ``h_t = W h_{t-1}`` every step Jacobian is W and
    this is ``||W^lag||``.  ``log_norm_bounds`` holds the product of step
    norms over the same span (an upper bound) and ``log_radius_products``
    the product of the step spectral radii (the per-step eigenvalue story,
    which bounds nothing once the steps differ).  Products are renormalised
    by exact powers of two after every step, so no span overflows.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[0.5, 10.0], [0.0, 0.5]])
    >>> traj = spectra.ElmanRNN(W, activation="identity").run(steps=8, h0=[1.0, 1.0])
    >>> g = spectra.product_growth(traj)
    >>> np.round(g.norms, 3)
    array([ 1.   , 10.025, 10.006,  7.502,  5.001,  3.125,  1.875,  1.094,
            0.625])
    >>> g.peak_lag
    1
    """
    seq = single_sequence(J, "J")
    T, n = seq.steps, seq.n
    if k is not None:
        k = check_int(k, "k", minimum=0, maximum=T)
    step_logn = np.empty(T)
    step_logr = np.empty(T)
    step_exp = np.zeros(T + 1, dtype=np.int64)   # 2^step_exp[s] >= max|J_s| when that exceeds 1
    with np.errstate(divide="ignore"):
        for s in range(1, T + 1):
            M = np.asarray(seq.matrix(s), dtype=np.float64)
            step_exp[s] = max(0, int(np.frexp(np.max(np.abs(M)))[1])) if M.size else 0
            step_logn[s - 1] = math.log(norm2(M)) if np.any(M) else -math.inf
            r = dense_spectral_radius(M)
            step_logr[s - 1] = math.log(r) if r > 0 else -math.inf

    def apply(s, stack):
        """``J_s @ stack[i]`` for every i, scaled by ``2^-step_exp[s]`` (exactly) so that a
        step with huge entries cannot overflow; the caller adds ``step_exp[s]``."""
        m = stack.shape[0]
        X = np.transpose(stack, (1, 0, 2)).reshape(n, m * n)
        X = np.ldexp(X, -int(step_exp[s]))
        Y = np.asarray(seq.matmat(s, X), dtype=np.float64)
        return np.transpose(Y.reshape(n, m, n), (1, 0, 2))

    if k is not None:
        L = T - k
        logs = np.zeros(L + 1)
        P = np.eye(n)[None]
        e = np.zeros(1, dtype=np.int64)
        for lag in range(1, L + 1):
            P, de = normalise(apply(k + lag, P))
            e = e + de + step_exp[k + lag]
            with np.errstate(divide="ignore"):
                logs[lag] = math.log(np.linalg.svd(P[0], compute_uv=False)[0]) + e[0] * _LOG2
        starts = np.full(L + 1, k)
    else:
        L = T
        logs = np.full(L + 1, -np.inf)
        logs[0] = 0.0
        starts = np.zeros(L + 1, dtype=np.int64)
        P = np.zeros((0, n, n))
        e = np.zeros(0, dtype=np.int64)
        for s in range(1, T + 1):
            # P[k] holds dh_{s-1}/dh_k (normalised) for k = 0..s-2; append dh_{s-1}/dh_{s-1}
            P = np.concatenate([P, np.eye(n)[None]])
            e = np.concatenate([e, [0]])
            P, de = normalise(apply(s, P))
            e = e + de + step_exp[s]
            with np.errstate(divide="ignore"):
                vals = np.log(np.linalg.svd(P, compute_uv=False)[:, 0]) + e * _LOG2
            lags = s - np.arange(s)
            better = vals > logs[lags]
            logs[lags[better]] = vals[better]
            starts[lags[better]] = np.arange(s)[better]
    lagv = np.arange(L + 1)
    i = int(np.argmax(logs))
    return ProductGrowth(
        lags=lagv, starts=starts.astype(np.int64), log_norms=logs,
        log_norm_bounds=_span_sums(step_logn, starts, lagv),
        log_radius_products=_span_sums(step_logr, starts, lagv),
        log_peak=float(logs[i]), peak_lag=i, peak_start=int(starts[i]))


def _span_sums(step_logs, starts, lags):
    """``sum(step_logs[k:k+lag])`` per (k, lag); exact with ``-inf`` entries."""
    if np.all(np.isfinite(step_logs)) and np.all(starts == starts[0]):
        c = np.concatenate([[0.0], np.cumsum(step_logs)])
        return c[starts + lags] - c[starts]
    return np.array([float(np.sum(step_logs[k0:k0 + lag])) for k0, lag in zip(starts, lags)])


def kreiss_constant(W) -> KreissConstant:
    """Kreiss constant ``K(W) = sup_{|z| > 1} (|z| - 1) ||(z I - W)^{-1}||_2``.

    Parameters
    ----------
    W : (n, n) array_like

    Returns
    -------
    KreissConstant
        ``value`` with the Kreiss matrix theorem bounds on transient growth,
        ``lower_bound = K <= sup_t ||W^t|| <= upper_bound = e n K``.

    Raises
    ------
    NumericalError
        When ``rho(W) = 1`` to working precision and W is not normal: K is
        then finite or infinite according as the eigenvalues on the unit
        circle are semisimple or not, which floating point cannot decide.

    Notes
    -----
    ``K >= 1`` always (the limit ``|z| -> inf``); ``K = inf`` iff
    ``rho(W) > 1`` (or an eigenvalue on the unit circle is defective);
    ``K = 1`` when ``||W|| <= 1`` (then ``1 <= K <= sup_t ||W^t|| <= 1``),
    in particular for every normal W with ``rho <= 1``.  The upper bound
    ``sup_t ||W^t|| <= e n K`` is Spijker's (1991) sharpening of Kreiss's
    theorem (LeVeque & Trefethen 1984 conjectured it).  Equivalently
    ``K = sup_eps (rho_eps(W) - 1)/eps`` over the pseudospectral radii.

    Algorithm: W is reduced once to Schur form, so each resolvent norm is
    ``1/sigma_min(z I - T)``, computed with triangular solves (see
    :func:`pseudospectra`).  With ``z = (1 + s) e^{i theta}`` the function
    ``g = s / sigma_min`` is evaluated on a grid in theta (``[0, pi]``; real W
    gives conjugate symmetry) and log s (only ``s >= sigma_min(e^{i theta}
    I - W) / 2`` can give ``g > 1``, since sigma_min is 1-Lipschitz in z), and
    the best local maxima are refined by a quasi-Newton method with the
    exact gradient ``d sigma_min = Re(dz u^H v)`` from the singular vectors.

    Examples
    --------
    >>> import spectra
    >>> k = spectra.kreiss_constant([[0.5, 10.0], [0.0, 0.5]])
    >>> round(k.value, 12), k.lower_bound <= 10.0249 <= k.upper_bound
    (5.05, True)
    >>> spectra.kreiss_constant([[0.9, 0.0], [0.0, -0.3]]).value    # normal, rho < 1
    1.0
    """
    W = square_matrix(W)
    n = W.shape[0]
    T, _ = schur_complex(W)
    ev = np.diag(T)
    rho = float(np.max(np.abs(ev)))
    norm = norm2(W)
    tol_rho = 64 * n * _EPS * max(norm, 1.0)
    if rho > 1.0 + tol_rho:
        lam = complex(ev[np.argmax(np.abs(ev))])
        return KreissConstant(math.inf, lam, math.inf, math.inf, rho, n)
    if norm <= 1.0 + 8 * n * _EPS:
        return KreissConstant(1.0, complex(math.inf, 0.0), 1.0, math.e * n, rho, n)
    if rho >= 1.0 - tol_rho:
        raise NumericalError(
            f"rho(W) = {rho!r} equals 1 to working precision and W is not normal "
            f"(||W|| = {norm:.6g}): the Kreiss constant is then finite or infinite according as "
            "the eigenvalues on the unit circle are semisimple or defective, which floating "
            "point cannot decide")
    value, z = kreiss(T, norm)
    return KreissConstant(value, z, value, math.e * n * value, rho, n)
