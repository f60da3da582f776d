"""The optional single-precision mode (issue 19 item 7): speed-up and accuracy.

Workload: tanh Elman network, Gaussian weights with gain 1.2, n units, T steps,
random inputs and h_0 (as ``bench_products.py``).  For each n it times, in one
run on the pinned core(s), the dense product dh_T/dh_0 and the Frobenius and
spectral lag profiles with ``dtype="float64"`` (the default) and
``dtype="float32"``, and reports the ratio of medians and the error of the
float32 result against float64: relative Frobenius error of the product,
largest absolute error of the log norms of the profiles.

    taskset -c 0 python benchmarks/bench_float32.py --n 256 512 --steps 1000
"""

from __future__ import annotations

import argparse

import numpy as np

import spectra
from _harness import machine, median_time, pin_threads, write_json


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    pin_threads(args.threads)
    rows = []
    for n in args.n:
        rng = np.random.default_rng(0)
        cell = spectra.ElmanRNN.random(n, init="gaussian", gain=1.2, input_size=n, rng=rng)
        traj = cell.run(rng.standard_normal((args.steps, n)), h0=rng.standard_normal(n))
        cases = {
            "product dh_T/dh_0": lambda dt: traj.product(dtype=dt),
            "gradient_norm_profile ord='fro'":
                lambda dt: spectra.gradient_norm_profile(traj, ord="fro", dtype=dt).log_norms,
            "gradient_norm_profile ord=2":
                lambda dt: spectra.gradient_norm_profile(traj, dtype=dt).log_norms,
        }
        for name, fn in cases.items():
            ref, got = fn("float64"), fn("float32")
            if name.startswith("product"):
                err = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
                what = "rel. Frobenius error"
            else:
                err = float(np.max(np.abs(got - ref)))
                what = "max abs error of log norms"
            t64, _ = median_time(lambda: fn("float64"), args.repeats)
            t32, _ = median_time(lambda: fn("float32"), args.repeats)
            rows.append({"n": n, "T": args.steps, "case": name, "float64_s": t64,
                         "float32_s": t32, "speedup": t64 / t32, "error": err, "error_kind": what})
            print(f"n={n:4d} T={args.steps} {name:34s} float64 {t64:7.3f}s  float32 {t32:7.3f}s  "
                  f"speed-up {t64 / t32:4.2f}x  {what} {err:.1e}", flush=True)
    path = write_json("float32", {"machine": machine(), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
