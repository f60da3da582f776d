"""The optional single-precision mode (issue 19 item 7): speed-up and accuracy.

Workload: tanh Elman network, Gaussian weights with gain 1.2, n units, T steps,
random inputs and h_0 (as ``bench_products.py``).  For each n it times, in one
run on the pinned core(s), the dense product dh_T/dh_0 and the Frobenius and
spectral lag profiles and the full Lyapunov spectrum (``"auto"`` and a QR at
every step) with ``dtype="float64"`` (the default) and ``dtype="float32"``, and
reports the ratio of medians and the error of the float32 result against float64:
relative Frobenius error of the product, largest absolute error of the log norms
of the profiles, largest absolute error of the exponents against float64 QR at
every step (also the top exponent's, the median and the sum's).

    taskset -c 0 python benchmarks/bench_float32.py --n 256 512 --steps 1000
    taskset -c 0 python benchmarks/bench_float32.py --workloads lyapunov
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
    ap.add_argument("--workloads", nargs="+", choices=("products", "lyapunov"),
                    default=["products", "lyapunov"])
    args = ap.parse_args(argv)
    pin_threads(args.threads)
    rows = []
    for n in args.n:
        rng = np.random.default_rng(0)
        cell = spectra.ElmanRNN.random(n, init="gaussian", gain=1.2, input_size=n, rng=rng)
        traj = cell.run(rng.standard_normal((args.steps, n)), h0=rng.standard_normal(n))
        cases = {}
        if "products" in args.workloads:
            cases.update({
                "product dh_T/dh_0": lambda dt: traj.product(dtype=dt),
                "gradient_norm_profile ord='fro'":
                    lambda dt: spectra.gradient_norm_profile(traj, ord="fro", dtype=dt).log_norms,
                "gradient_norm_profile ord=2":
                    lambda dt: spectra.gradient_norm_profile(traj, dtype=dt).log_norms,
            })
        lyap_ref = None
        if "lyapunov" in args.workloads:
            cases.update({
                "lyapunov_spectrum (auto)": lambda dt: spectra.lyapunov_spectrum(traj, dtype=dt),
                "lyapunov_spectrum reorth_every=1":
                    lambda dt: spectra.lyapunov_spectrum(traj, reorth_every=1, dtype=dt),
            })
            lyap_ref = spectra.lyapunov_spectrum(traj, reorth_every=1).exponents
        for name, fn in cases.items():
            ref, got = fn("float64"), fn("float32")
            extra = {}
            if name.startswith("product"):
                err = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
                what = "rel. Frobenius error"
            elif name.startswith("lyapunov"):
                # both against float64 QR at every step (the reference of "auto")
                d32 = np.abs(got.exponents - lyap_ref)
                err = float(np.max(d32))
                what = "max abs error of exponents"
                extra = {"float64_error": float(np.max(np.abs(ref.exponents - lyap_ref))),
                         "top_error": float(d32[0]), "median_error": float(np.median(d32)),
                         "sum_error": float(abs(got.exponents.sum() - lyap_ref.sum())),
                         "qr_count_float64": ref.qr_count, "qr_count_float32": got.qr_count}
            else:
                err = float(np.max(np.abs(got - ref)))
                what = "max abs error of log norms"
            t64, _ = median_time(lambda: fn("float64"), args.repeats)
            t32, _ = median_time(lambda: fn("float32"), args.repeats)
            rows.append({"n": n, "T": args.steps, "case": name, "float64_s": t64,
                         "float32_s": t32, "speedup": t64 / t32, "error": err, "error_kind": what,
                         **extra})
            print(f"n={n:4d} T={args.steps} {name:34s} float64 {t64:7.3f}s  float32 {t32:7.3f}s  "
                  f"speed-up {t64 / t32:4.2f}x  {what} {err:.1e}"
                  + (f" (top {extra['top_error']:.1e}, median {extra['median_error']:.1e}, sum "
                     f"{extra['sum_error']:.1e}; QRs {extra['qr_count_float64']} / "
                     f"{extra['qr_count_float32']}; float64 'auto' {extra['float64_error']:.1e})"
                     if extra else ""), flush=True)
    path = write_json("float32", {"machine": machine(), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
