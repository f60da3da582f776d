"""Issue 19 targets: spectral profiles, Lyapunov spectra and stable log singular values as
ratios to hand-written numpy loops over the same trajectory, in one run.

Usage:  taskset -c 1 python benchmarks/bench_round2.py [--cases 32:1000 64:1000 256:1000 256:200]
        [--repeats 5] [--clock cpu]

Workload: a tanh Elman network h_t = tanh(W h_{t-1}), W Gaussian with gain 1.2 (as in
``bench_peers.py``).  Reference loops, written out with numpy:

* ``product loop``: P <- d_t * (W @ P), t = 1..T (the hand-written product, the bound);
* ``QR every 10`` / ``QR every step``: Benettin's method with ``numpy.linalg.qr`` every 10
  steps / every step (columns renormalised in between), the Lyapunov references;

Before timing, each spectra result is checked against its float64 reference: the spectral
profile against a per-lag SVD (largest relative error of sigma), the Lyapunov exponents
against QR at every step, the log singular values against the graded QR at every step
(largest absolute differences).
"""

import argparse
import sys

import numpy as np

import spectra
from spectra.jacobians.structured import as_jacobian_sequence
from _harness import machine, median_time, pin_threads, use_cpu_clock, write_json


def make(n, T, seed=0):
    rng = np.random.default_rng(seed)
    cell = spectra.ElmanRNN.random(n, init="gaussian", gain=1.2, rng=rng)
    traj = cell.run(None, h0=rng.standard_normal(n), steps=T)
    seq = as_jacobian_sequence(traj)
    return traj, np.ascontiguousarray(seq.W), np.ascontiguousarray(seq.row)


def product_loop(W, D):
    def run():
        P = np.eye(W.shape[0])
        for t, d in enumerate(D):
            P = d[:, None] * (W @ P)
            if t % 16 == 15:
                P /= np.max(np.abs(P))
        return P
    return run


def qr_every(W, D, m):
    def run():
        n = W.shape[0]
        Q = np.eye(n)
        acc = np.zeros(n)
        T = len(D)
        for t, d in enumerate(D, 1):
            Z = d[:, None] * (W @ Q)
            if t % m == 0 or t == T:
                Q, R = np.linalg.qr(Z)
                acc += np.log(np.abs(np.diagonal(R)))
            else:
                nrm = np.linalg.norm(Z, axis=0)
                Q = Z / nrm
                acc += np.log(nrm)
        return np.sort(acc / T)[::-1]
    return run


def svd_profile(W, D):
    """log sigma_max(dh_T/dh_{T-lag}) by a per-lag SVD (the float64 reference)."""
    T, n = D.shape
    P = np.eye(n)
    e = 0.0
    out = np.empty(T)
    for lag in range(1, T + 1):
        s = T - lag
        P = (P * D[s][None, :]) @ W
        m = np.max(np.abs(P))
        P /= m
        e += np.log(m)
        out[lag - 1] = np.log(np.linalg.svd(P, compute_uv=False)[0]) + e
    return out


def run_case(n, T, args, rows):
    traj, W, D = make(n, T)
    bound, times = median_time(product_loop(W, D), args.repeats)
    rows.append(dict(n=n, T=T, workload="product loop (bound)", median_s=bound, ratio=1.0))
    print(f"# n={n} T={T}: product loop {bound:.4f} s")
    ref_prof = svd_profile(W, D)
    ref_lyap = qr_every(W, D, 1)()

    def check_prof(p):
        return float(np.max(np.abs(np.expm1(p.log_norms - ref_prof))))

    def check_lyap(r):
        return float(np.max(np.abs(r.exponents - ref_lyap)))

    def check_lsv(v):
        # the graded QR at every step (the general path: a batch of one takes it)
        dense = np.stack([traj.jacobians()])
        return float(np.max(np.abs(v - spectra.product_log_singular_values(dense)[0])))

    cases = [
        ("gradient_norm_profile ord=2", lambda: spectra.gradient_norm_profile(traj), check_prof),
        ("gradient_norm_profile ord='fro'", lambda: spectra.gradient_norm_profile(traj, ord="fro"), None),
        ("product_log_singular_values", lambda: spectra.product_log_singular_values(traj),
         check_lsv),
        ("lyapunov_spectrum (auto)", lambda: spectra.lyapunov_spectrum(traj), check_lyap),
        ("numpy QR every 10 steps", qr_every(W, D, 10), lambda v: float(np.max(np.abs(v - ref_lyap)))),
        ("numpy QR every step", qr_every(W, D, 1), None),
    ]
    for name, fn, check in cases:
        if name in args.skip:
            continue
        dev = check(fn()) if check else None
        med, times = median_time(fn, args.repeats)
        rows.append(dict(n=n, T=T, workload=name, median_s=med, times_s=times, ratio=med / bound,
                         check=dev))
        print(f"{name:40s} {med:9.4f} s {med / bound:7.2f}x bound"
              + (f"   check {dev:.1e}" if dev is not None else ""))
        sys.stdout.flush()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=["32:1000", "64:1000", "256:1000", "256:200"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--clock", choices=("wall", "cpu"), default="cpu")
    p.add_argument("--skip", nargs="*", default=[])
    args = p.parse_args(argv)
    use_cpu_clock(args.clock == "cpu")
    pin_threads(1)
    rows = []
    for c in args.cases:
        n, T = map(int, c.split(":"))
        run_case(n, T, args, rows)
    path = write_json("round2", {"rows": rows, "machine": machine(), "clock": args.clock})
    print(f"# wrote {path}")


if __name__ == "__main__":
    main()
