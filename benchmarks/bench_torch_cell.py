"""TorchCell (a user's Elman step, Jacobians by torch.func) against spectra.ElmanRNN and jacrev.

One network, n = 256, T = 1000, run both ways: the products dh_T/dh_0 and the
gradient-norm profile (every lag), as ratios TorchCell / ElmanRNN (target: within 3x),
and dh_T/dh_0 by ``torch.func.jacrev`` over the unrolled run (the fallback users had).
Memory: what the TorchCell trajectory keeps for its Jacobians (the points h_{t-1}, x_t:
O(T n)) against T dense n x n step Jacobians.

One pinned core, one BLAS thread, one torch thread, CPU-time clock:

    python benchmarks/bench_torch_cell.py [--n 256] [--steps 1000] [--repeats 3]
"""

import argparse

import numpy as np

from _harness import machine, median_time, single_core, write_json

import spectra


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
    # agreement: the log-norm profile (every lag) and the product over the last 50 steps
    # (the whole product underflows to 0 at this gain and T)
    err_prof = float(np.max(np.abs(spectra.gradient_norm_profile(a).log_norms
                                   - spectra.gradient_norm_profile(r).log_norms)))
    Pa, Pr = a.product(T, T - 50), r.product(T, T - 50)
    err = float(np.linalg.norm(Pa - Pr) / np.linalg.norm(Pr))

    rows = {}
    rows["run"] = (median_time(lambda: cell.run(X), args.repeats)[0],
                   median_time(lambda: ref.run(X), args.repeats)[0])
    rows["product dh_T/dh_0"] = (median_time(lambda: a.product(), args.repeats)[0],
                                 median_time(lambda: r.product(), args.repeats)[0])
    rows["gradient_norm_profile"] = (
        median_time(lambda: spectra.gradient_norm_profile(a), args.repeats)[0],
        median_time(lambda: spectra.gradient_norm_profile(r), args.repeats)[0])

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
    t_jacrev = median_time(jacrev, args.repeats)[0]

    seq = a.jacobian_sequence
    kept = seq.points.H.element_size() * seq.points.H.nelement() + \
        seq.points.X.element_size() * seq.points.X.nelement()
    dense = T * n * n * 8

    print(f"n = {n}, T = {T}, input size {m}; one core, one thread; CPU time, median of "
          f"{args.repeats}")
    print(f"{'task':24} {'TorchCell s':>12} {'ElmanRNN s':>11} {'ratio':>7}")
    for name, (ta, tr) in rows.items():
        print(f"{name:24} {ta:12.3f} {tr:11.3f} {ta / tr:7.2f}")
    t_prod = rows["product dh_T/dh_0"][0]
    print(f"torch.func.jacrev over the unrolled run: {t_jacrev:.3f} s = "
          f"{t_jacrev / t_prod:.2f}x the TorchCell product (max abs. difference {err_jacrev:.1e})")
    print(f"TorchCell vs ElmanRNN: product over the last 50 steps rel. difference {err:.1e}, "
          f"log-norm profile max difference {err_prof:.1e}")
    print(f"memory for the Jacobians: TorchCell {kept / 2**20:.2f} MiB (T (n + m) floats), "
          f"dense T n^2 {dense / 2**20:.0f} MiB")
    write_json("torch_cell", {"n": n, "T": T, "m": m, "machine": machine(),
                              "seconds": {k: list(v) for k, v in rows.items()},
                              "jacrev_seconds": t_jacrev, "kept_bytes": kept,
                              "dense_bytes": dense, "product_rel_diff": err,
                              "profile_max_diff": err_prof})


if __name__ == "__main__":
    main()
