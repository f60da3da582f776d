"""Time of ``import spectra`` (fresh interpreters), optionally against another checkout.

    python benchmarks/bench_import.py --repeats 30
    git worktree add /tmp/spectra-0.1 v0.1.0   # or any commit
    python benchmarks/bench_import.py --against /tmp/spectra-0.1 --repeats 30

Each repeat starts a new interpreter pinned to one core with one BLAS thread,
imports numpy first (so the package's own cost is isolated from numpy's) and
reports the best and median of the repeats; with ``--against`` the two
checkouts alternate, so machine noise hits both alike, and the ratio of the
medians is printed.  Also lists heavy modules loaded by the import (there
must be none: sympy, matplotlib, scipy, torch).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

from _harness import write_json

HERE = pathlib.Path(__file__).resolve().parent.parent
CODE = ("import os, sys, time, numpy; t = time.perf_counter(); import spectra; "
        "dt = time.perf_counter() - t; heavy = [m for m in ('sympy', 'matplotlib', 'scipy', 'torch') "
        "if m in sys.modules]; print(dt, ','.join(heavy), spectra.__file__)")


def once(root):
    env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="")
    cmd = [sys.executable, "-c", CODE]
    if sys.platform.startswith("linux"):
        cmd = ["taskset", "-c", "0"] + cmd
    out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, check=True).stdout
    dt, heavy, path = out.split(" ", 2)
    if not path.strip().startswith(str(root)):
        raise RuntimeError(f"imported spectra from {path.strip()}, not from {root}")
    return float(dt), heavy


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--against", type=pathlib.Path, default=None,
                    help="root of another checkout (e.g. a worktree of 0.1.0)")
    args = ap.parse_args()
    roots = {"this": HERE} if args.against is None else {"this": HERE, "other": args.against.resolve()}
    for root in roots.values():   # compile the bytecode once
        once(root)
    times = {k: [] for k in roots}
    heavy = {}
    for _ in range(args.repeats):
        for k, root in roots.items():
            dt, h = once(root)
            times[k].append(dt)
            heavy[k] = h
    result = {}
    for k in roots:
        med, best = statistics.median(times[k]), min(times[k])
        result[k] = {"root": str(roots[k]), "median_s": med, "best_s": best, "heavy": heavy[k]}
        print(f"{k:6s} median {1e3 * med:7.1f} ms   best {1e3 * best:7.1f} ms   "
              f"heavy modules: {heavy[k] or 'none'}   ({roots[k]})")
    if "other" in result:
        ratio = result["this"]["median_s"] / result["other"]["median_s"]
        result["ratio"] = ratio
        print(f"ratio this/other (medians): {ratio:.3f}")
    write_json("import", result)


if __name__ == "__main__":
    main()
