"""spectra.symbolic._interval against sympy.lambdify into mpmath's interval context ``mpmath.iv``.

Issue 18, item 10: could the hand-written sympy -> interval compiler be replaced by
``sympy.lambdify(x, expr, modules=mpmath.iv)``?  For the derivative f' of every
activation of :func:`spectra.symbolic.activation_expr`, on a set of intervals, this
script reports

* whether lambdify + ``mpmath.iv`` evaluates it at all (it has no interval ``tanh``,
  ``atan``, ``sinh``, ``cosh``, ``asinh``; its ``erf``/``erfc`` raise NoConvergence on
  intervals; Python's ``max``/``min`` on intervals are not interval maxima);
* where both evaluate: whether the two enclosures agree up to the last bits of
  rounding, and the largest ratio of widths (lambdify / compiler);
* the median over the intervals of the ratio of CPU times per evaluation (compiler /
  lambdify), both in one process pinned to one core.

Run: ``PYTHONPATH=. python benchmarks/bench_interval.py``.
"""

from __future__ import annotations

import os
import time

import mpmath
import sympy as sp

from spectra.symbolic import activation_expr, x
from spectra.symbolic._interval import IntervalContext

# the smooth activations (piecewise ones are split into smooth pieces before certification),
# and tanh' written in exp (the form the compiler rewrites tanh into), which mpmath.iv can take
NAMES = ["tanh", "sigmoid", "softplus", "silu", "gelu", "tanh (exp form)"]
BOXES = [(-3, -1), (-1, 0), (-0.5, 0.5), (0, 1), (1, 4), (-8, 8)]


def _time(fn, n=200):
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n


def main():
    if hasattr(os, "sched_setaffinity"):                  # one pinned core (mpmath is pure Python)
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    ctx = IntervalContext(200)
    iv = ctx.iv
    rows = []
    for name in NAMES:
        f = (1 - 2 / (sp.exp(2 * x) + 1)) if name == "tanh (exp form)" else activation_expr(name)
        d = sp.diff(f, x)
        ours = ctx.compile(d, x)
        try:
            theirs = sp.lambdify(x, d, modules=[iv, "mpmath"])
        except Exception as exc:                       # noqa: BLE001 - reported
            rows.append((name, f"lambdify failed: {type(exc).__name__}", "", ""))
            continue
        status, widths, speed = "ok", [], []
        for lo, hi in BOXES:
            X = iv.mpf([lo, hi])
            try:
                a = ours(X)
            except Exception as exc:                   # noqa: BLE001
                a = exc
            try:
                b = theirs(X)
                if not hasattr(b, "_mpi_"):
                    raise TypeError(f"returned {type(b).__name__}, not an interval")
            except Exception as exc:                   # noqa: BLE001
                status = f"iv fails: {type(exc).__name__} {str(exc)[:40]}"
                break
            if isinstance(a, Exception):
                continue
            tol = mpmath.mpf(2) ** -(ctx.prec - 10)
            ends = [(mpmath.mpf(p.a), mpmath.mpf(q.a)) for p, q in ((a.a, b.a), (a.b, b.b))]
            if any(abs(p - q) > tol * max(1, abs(p)) for p, q in ends):
                status = f"enclosures differ beyond rounding on {lo, hi}: {a} vs {b}"
                break
            wa, wb = mpmath.mpf((a.b - a.a).b), mpmath.mpf((b.b - b.a).b)
            widths.append(float(wb / wa) if wa > 0 else (1.0 if wb == 0 else float("inf")))
            speed.append(_time(lambda: ours(X)) / _time(lambda: theirs(X)))
        if status == "ok":
            rows.append((name, "ok", f"{max(widths):.3g}", f"{sorted(speed)[len(speed) // 2]:.2f}"))
        else:
            rows.append((name, status, "", ""))
    print(f"{'activation':12s} {'lambdify + mpmath.iv':52s} {'max width ratio':>15s} "
          f"{'time ours/iv':>12s}")
    for r in rows:
        print(f"{r[0]:12s} {r[1]:52s} {r[2]:>15s} {r[3]:>12s}")


if __name__ == "__main__":
    main()
