"""TorchCell (a user's Elman step, Jacobians by torch.func) against spectra.ElmanRNN and jacrev.

One network, n = 256, T = 1000, run both ways: the product dh_T/dh_0, the gradient-norm
profile (every lag; spectral and Frobenius) and the Lyapunov spectrum ("auto"), as ratios
TorchCell / ElmanRNN (target: within 3x); for the profiles and the spectrum also the
TorchCell's step-by-step path (its backend's ``left_products`` / ``jacobians`` hooks
switched off: what it did before they existed).  dh_T/dh_0 by ``torch.func.jacrev`` over
the unrolled run (the fallback users had), and one experiment: the same reverse pass with
its matrix products sent to numpy's BLAS (a ``TorchDispatchMode`` around the pass).
Memory: what the TorchCell trajectory keeps for its Jacobians (the points h_{t-1}, x_t:
O(T n)) against T dense n x n step Jacobians.

One pinned core, one BLAS thread, one torch thread, CPU-time clock:

    python benchmarks/bench_torch_cell.py [--n 256] [--steps 1000] [--repeats 3]
"""

import argparse
import os

import numpy as np

from _harness import machine, median_time, single_core, write_json

import spectra


def numpy_gemm_pass(step, H, X, T, n, chunk=128):
    """dh_T/dh_0 (rescaled) by the TorchCell's chunked reverse pass, its ``aten.mm`` calls
    done by numpy (OpenBLAS) instead of torch; returns the product and the exponent."""
    import torch
    from torch.func import vjp, vmap
    from torch.utils._python_dispatch import TorchDispatchMode

    mm = torch.ops.aten.mm.default

    class NumpyGemm(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is mm and args[0].dtype == torch.float64 and args[0].device.type == "cpu":
                return torch.from_numpy(np.matmul(args[0].numpy(), args[1].numpy()))
            return func(*args, **(kwargs or {}))

    L, e = torch.eye(n, dtype=torch.float64), 0
    for s1 in range(T, 0, -chunk):
        s0 = max(0, s1 - chunk)

        def run(z, s0=s0, s1=s1):
            for s in range(s0, s1):
                z = step(z, X[s])
            return z

        _, pull = vjp(run, H[s0])
        with NumpyGemm():
            L = vmap(lambda u: pull(u)[0])(L)
        ex = int(np.frexp(float(L.abs().max()))[1])
        L, e = torch.ldexp(L, torch.tensor(-ex, dtype=torch.float64)), e + ex
    return L.numpy(), e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    single_core()
    import torch

    torch.set_num_threads(1)
    n, T, m = args.n, args.steps, 8
    rng = np.random.default_rng(0)
    W = 1.2 * rng.standard_normal((n, n)) / np.sqrt(n)   # gain 1.2 as in bench_peers: in range
    U = rng.standard_normal((n, m)) / np.sqrt(m)
    b = 0.1 * rng.standard_normal(n)
    X = rng.standard_normal((T, m))
    Wt, Ut, bt = (torch.tensor(a) for a in (W, U, b))

    def step(h, x):
        return torch.tanh(Wt @ h + Ut @ x + bt)

    ref = spectra.ElmanRNN(W, U, b)
    cell = spectra.TorchCell(step, n, input_size=m)
    a, r = cell.run(X), ref.run(X)
    assert np.abs(a.states - r.states).max() < 1e-12
    old = cell.run(X)                 # the same run, its chunked hooks switched off
    old.jacobian_sequence.backend = type("StepByStep", (), {})()
    for name in ("forward", "points", "jvp", "vjp", "jacobian", "chain"):
        setattr(old.jacobian_sequence.backend, name, getattr(a.jacobian_sequence.backend, name))

    # agreement: log-norm profiles (every lag), Lyapunov exponents, and the product over the
    # last 50 steps (the whole product underflows to 0 at this gain and T)
    def prof(traj, ord):
        return spectra.gradient_norm_profile(traj, ord=ord).log_norms

    err_prof = {o: float(np.max(np.abs(prof(a, o) - prof(r, o)))) for o in (2, "fro")}
    err_lyap = float(np.max(np.abs(spectra.lyapunov_spectrum(a).exponents
                                   - spectra.lyapunov_spectrum(r).exponents)))
    Pa, Pr = a.product(T, T - 50), r.product(T, T - 50)
    err = float(np.linalg.norm(Pa - Pr) / np.linalg.norm(Pr))

    def timed(fn):
        return median_time(fn, args.repeats)[0]

    rows = {}   # task: (TorchCell, ElmanRNN, TorchCell step by step or None)
    rows["run"] = (timed(lambda: cell.run(X)), timed(lambda: ref.run(X)), None)
    rows["product dh_T/dh_0"] = (timed(lambda: a.product()), timed(lambda: r.product()), None)
    for label, o in (("profile, spectral", 2), ("profile, Frobenius", "fro")):
        rows[label] = (timed(lambda: spectra.gradient_norm_profile(a, ord=o)),
                       timed(lambda: spectra.gradient_norm_profile(r, ord=o)),
                       timed(lambda: spectra.gradient_norm_profile(old, ord=o)))
    rows["lyapunov_spectrum"] = (timed(lambda: spectra.lyapunov_spectrum(a)),
                                 timed(lambda: spectra.lyapunov_spectrum(r)),
                                 timed(lambda: spectra.lyapunov_spectrum(old)))

    Xt = torch.tensor(X)

    def unrolled(h):
        for t in range(T):
            h = step(h, Xt[t])
        return h

    def jacrev():
        return torch.func.jacrev(unrolled)(torch.zeros(n, dtype=torch.float64))

    Pj = jacrev().numpy()
    Pfull = r.product()
    err_jacrev = float(np.max(np.abs(Pj - Pfull)))
    t_jacrev = timed(jacrev)
    H = a.jacobian_sequence.points.H
    Pn, en = numpy_gemm_pass(step, H, Xt, T, n)
    Pc, ec = a.jacobian_sequence.backend.chain(T, 0, a.jacobian_sequence.points)
    err_np = float(np.max(np.abs(np.ldexp(Pn, en - ec) - Pc)) / np.max(np.abs(Pc)))
    t_np = timed(lambda: numpy_gemm_pass(step, H, Xt, T, n))
    A = torch.randn(n, n, dtype=torch.float64)
    An = A.numpy()
    t_mm_torch = timed(lambda: [A @ A for _ in range(T)])
    t_mm_numpy = timed(lambda: [An @ An for _ in range(T)])

    seq = a.jacobian_sequence
    kept = seq.points.H.element_size() * seq.points.H.nelement() + \
        seq.points.X.element_size() * seq.points.X.nelement()
    dense = T * n * n * 8

    load = os.getloadavg()
    print(f"n = {n}, T = {T}, input size {m}; one core, one thread; CPU time, median of "
          f"{args.repeats}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'task':22} {'TorchCell s':>12} {'ElmanRNN s':>11} {'ratio':>6} "
          f"{'step by step s':>15} {'ratio':>6}")
    for name, (ta, tr, to) in rows.items():
        extra = "" if to is None else f" {to:15.3f} {to / tr:6.2f}"
        print(f"{name:22} {ta:12.3f} {tr:11.3f} {ta / tr:6.2f}{extra}")
    t_prod = rows["product dh_T/dh_0"][0]
    print(f"torch.func.jacrev over the unrolled run: {t_jacrev:.3f} s = "
          f"{t_jacrev / t_prod:.2f}x the TorchCell product (max abs. difference {err_jacrev:.1e})")
    print(f"the TorchCell's pass with its GEMMs in numpy (dispatch mode): {t_np:.3f} s = "
          f"{t_np / t_prod:.2f}x the TorchCell product (rel. difference {err_np:.1e})")
    print(f"{T} GEMMs {n} x {n}: torch {t_mm_torch:.3f} s, numpy {t_mm_numpy:.3f} s")
    print(f"TorchCell vs ElmanRNN: product over the last 50 steps rel. difference {err:.1e}, "
          f"log-norm profiles max difference {err_prof[2]:.1e} (spectral), "
          f"{err_prof['fro']:.1e} (Frobenius), Lyapunov exponents {err_lyap:.1e}")
    print(f"memory for the Jacobians: TorchCell {kept / 2**20:.2f} MiB (T (n + m) floats), "
          f"dense T n^2 {dense / 2**20:.0f} MiB")
    write_json("torch_cell", {"n": n, "T": T, "m": m, "machine": machine(), "load": load,
                              "seconds": {k: list(v) for k, v in rows.items()},
                              "jacrev_seconds": t_jacrev, "numpy_gemm_pass_seconds": t_np,
                              "gemm_seconds": {"torch": t_mm_torch, "numpy": t_mm_numpy},
                              "kept_bytes": kept, "dense_bytes": dense,
                              "product_rel_diff": err, "profile_max_diff": err_prof,
                              "lyapunov_max_diff": err_lyap})


if __name__ == "__main__":
    main()
