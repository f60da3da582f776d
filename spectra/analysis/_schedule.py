"""When to re-orthonormalise a propagated frame: one verified QR schedule.

Lyapunov spectra (:mod:`.lyapunov`) and the stable log singular values of long
products (:mod:`._stratified`) both propagate a frame ``Z = J_s ... J_{q+1} Q_q``
by plain products and fold it back with a QR only every few steps.  A Householder
QR of such a frame gives ``log|r_jj|`` with an error of about ``eps * cond(Z)``
(``eps`` the machine epsilon of the arithmetic the frame was propagated in), and
the products that built Z lose information in the same proportion; the condition
number is estimated at every QR as ``max_j ||z_j|| / |r_jj|``.

A :class:`Budget` says how ill-conditioned a frame may get: ``aim[m - 1]`` is the
largest ``log cond(Z)`` an interval of m steps is planned to reach, ``reject[m - 1]``
the largest it may end with (beyond, the interval is rewound and redone with a QR
at every step).  :class:`QRSchedule` predicts the next interval from the growth of
``log cond`` per step, smoothed over the QRs, and verifies it at the QR.

The budgets in use:

* ``PRODUCTS`` (log singular values): cond(Z) aimed below 1e6 (a rounding error
  of about 2e-10 per QR), rejected beyond 1e7, whatever the interval;
* ``lyapunov_budget(eps64)`` (Lyapunov spectra in float64): the same cap for
  intervals of fewer than 4 steps (a step Jacobian accurate only to ~1e-14, from
  autodiff or a formed product, is amplified by cond(Z) too); from 4 steps on, the
  error is spread over the m steps the QR closes, so ``eps cond(Z) / m`` is kept
  below 2e-10 per step (50 times below the 1e-8 promised, even if every QR erred
  the same way) and rejected beyond 2e-9;
* ``lyapunov_budget(eps32)`` (``dtype="float32"``): float64's 2e-10 per step lies
  far below float32's own floor (a QR at every step already errs by about
  ``eps32 cond(J_s)`` per step, 1e-7 to 1e-4 on tanh networks), so the budget is
  ``eps32 cond(Z) / m <= FLOAT32_STEP_ERR`` per step for every m (the float64
  cap's reason is moot: every step is rounded to float32 anyway), rejected at ten
  times that.  See ``lyapunov_spectrum``'s ``dtype`` for the measured accuracy.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

MAX_EVERY = 16            # the longest interval between QRs
EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
FLOAT32_STEP_ERR = 1e3 * EPS32   # per-step QR error budget of the float32 mode (1.2e-4)


@dataclass(frozen=True)
class Budget:
    """log cond(Z) limits of an interval of m = 1 .. MAX_EVERY steps (index m - 1).

    ``rates[m - 1] = aim[m - 1] / m``: the per-step growth of log cond that allows an
    interval of m steps (decreasing in m); ``ascending``: the same, sorted, for bisection.
    """

    aim: tuple
    reject: tuple
    rates: tuple
    ascending: tuple


def _budget(aim, reject):
    aim = tuple(float(a) for a in aim)
    rates = tuple(c / m for m, c in enumerate(aim, 1))
    return Budget(aim, tuple(float(r) for r in reject), rates, tuple(sorted(rates)))


_M = np.arange(1, MAX_EVERY + 1)

PRODUCTS = _budget(np.full(MAX_EVERY, math.log(1e6)), np.full(MAX_EVERY, math.log(1e7)))


def lyapunov_budget(eps):
    """The budget of a Lyapunov spectrum whose frame is propagated with machine epsilon ``eps``."""
    if eps == EPS64:
        step_err, reject_err, spread_from = 2e-10, 2e-9, 4
    else:
        step_err, reject_err, spread_from = FLOAT32_STEP_ERR, 10 * FLOAT32_STEP_ERR, 1
    log_eps = math.log(eps)
    aim = np.where(_M < spread_from, math.log(1e6), np.log(step_err * _M) - log_eps)
    reject = np.where(_M < spread_from, math.log(1e7), np.log(reject_err * _M) - log_eps)
    return _budget(aim, reject)


class QRSchedule:
    """When to re-orthonormalise: every ``every`` steps, or adaptively within a :class:`Budget`.

    Parameters
    ----------
    budget : Budget or None
        None for a fixed interval of ``every`` steps.
    every : int
        The fixed interval (ignored with a budget: adaptive intervals start at 1).
    warmup, T : int
        A QR is always done at step ``warmup`` (where averaging starts) and ``T``
        (the last); T may be None.
    start : int
        The step the frame starts from (orthonormal there).

    ``due(s)`` says whether step s ends an interval; the caller then does the QR,
    asks ``accept(s, worst)`` with the QR's largest ``log ||z_j|| / |r_jj|``, and
    either rewinds to ``last`` (and redoes the stretch up to s with a QR at every
    step) or calls ``done(s, worst)``.
    """

    def __init__(self, budget=None, *, every=1, warmup=0, T=None, start=0):
        self.budget = budget
        self.auto = budget is not None
        self.every = 1 if self.auto else every
        self.warmup, self.T = warmup, T
        self.last = start
        self.rate = None
        self.force_until = start     # after a rejection: a QR at every step up to here
        self.rejected = 0

    def due(self, s):
        if s == self.T or s == self.warmup or s <= self.force_until:
            return True
        if self.auto:
            return s - self.last >= self.every
        if s > self.warmup:
            return (s - self.warmup) % self.every == 0
        return s % self.every == 0

    def accept(self, s, worst):
        """False when an adaptive interval of several steps ended too ill-conditioned.

        ``worst`` is the largest log ||z_j|| / |r_jj| of the QR (inf if not finite).
        The caller then rewinds to step ``self.last`` and redoes the stretch up to
        ``s`` with a QR at every step.
        """
        m = s - self.last
        if not self.auto or m == 1 or worst <= self.budget.reject[min(m, MAX_EVERY) - 1]:
            return True
        self.force_until = s
        self.rejected += 1
        self.rate = math.inf if not math.isfinite(worst) else max(self.rate or 0.0, worst / m)
        self.every = 1
        return False

    def done(self, s, worst):
        """Record an accepted QR at step s and plan the next interval."""
        if self.auto:
            m = s - self.last
            if not math.isfinite(worst):
                self.rate, self.every = None, 1
            else:
                now = max(worst, 0.0) / m
                self.rate = now if self.rate is None else 0.75 * self.rate + 0.25 * now
                # the number of m with rate <= rates[m - 1] (rates decrease in m)
                fit = len(self.budget.ascending) - bisect_left(self.budget.ascending, self.rate)
                self.every = max(1, min(fit, 2 * self.every))
        self.last = s
