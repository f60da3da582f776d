"""bptt_gradient of an LSTM against torch's forward + backward (issue 17: within 2x).

One ``torch.nn.LSTM`` (float64), loaded by ``spectra.from_torch``; the squared loss on
``W_yh h_t + b_y`` over T steps.  Contenders, both from the inputs to every parameter
gradient: ``spectra.bptt_gradient`` (the forward run, one backward sweep of the LSTM's
factored ``rmatmat`` and one matrix product per parameter over all steps) and torch's
``loss.backward()`` after the forward pass.  The gradients are checked against each other
before timing.  Also shown: the lag decomposition of ``weight_hh_l0`` at a shorter T.

One pinned core, one BLAS thread, one torch thread, CPU-time clock:

    python benchmarks/bench_bptt.py [--n 256] [--steps 1000] [--input 32] [--repeats 3]
"""

import argparse

import numpy as np

from _harness import machine, median_time, single_core, write_json

import spectra


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--input", type=int, default=32)
    ap.add_argument("--outputs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--decompose-steps", type=int, default=100)
    args = ap.parse_args()
    single_core()
    import torch

    torch.set_num_threads(1)
    n, T, d, c = args.n, args.steps, args.input, args.outputs
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    module = torch.nn.LSTM(d, n, batch_first=True).double()
    X = rng.standard_normal((T, d))
    Y = rng.standard_normal((T, c))
    V = rng.standard_normal((c, n)) / np.sqrt(n)
    b = 0.1 * rng.standard_normal(c)
    cell = spectra.from_torch(module)
    Xt, Yt = torch.tensor(X)[None], torch.tensor(Y)[None]

    def spectra_grad():
        return spectra.bptt_gradient(cell, X, Y, V, b, loss="squared")

    def torch_grad():
        module.zero_grad()
        Vt = torch.tensor(V, requires_grad=True)
        bt = torch.tensor(b, requires_grad=True)
        out = module(Xt)[0]
        loss = 0.5 * torch.sum((out @ Vt.T + bt - Yt) ** 2)
        loss.backward()
        g = {k: p.grad for k, p in module.named_parameters()}
        g.update(W_yh=Vt.grad, b_y=bt.grad)
        return g

    res, ref = spectra_grad(), torch_grad()
    err = max(float(np.linalg.norm(res.grads[k] - ref[k].numpy()) / np.linalg.norm(ref[k].numpy()))
              for k in ref)
    t_s = median_time(spectra_grad, args.repeats)[0]
    t_t = median_time(torch_grad, args.repeats)[0]
    t_run = median_time(lambda: cell.run(X), args.repeats)[0]
    Td = args.decompose_steps
    t_dec = median_time(lambda: spectra.bptt_gradient(cell, X[:Td], Y[:Td], V, b, loss="squared",
                                                      decompose=["weight_hh_l0"]), 1)[0]
    print(f"LSTM n={n}, d={d}, T={T}; max relative error of the gradients vs torch: {err:.1e}")
    print(f"{'task':42} {'seconds':>8}")
    print(f"{'spectra.bptt_gradient (forward + backward)':42} {t_s:8.3f}")
    print(f"{'  of which the forward run':42} {t_run:8.3f}")
    print(f"{'torch forward + loss.backward()':42} {t_t:8.3f}")
    print(f"{'ratio spectra / torch (target <= 2)':42} {t_s / t_t:8.2f}")
    print(f"{'decompose weight_hh_l0, T=' + str(Td):42} {t_dec:8.3f}")
    write_json(f"bptt_lstm_n{n}_T{T}", {"machine": machine(), "n": n, "T": T, "d": d,
                                        "spectra_s": t_s, "forward_s": t_run, "torch_s": t_t,
                                        "ratio": t_s / t_t, "max_rel_error": err,
                                        "decompose_T": Td, "decompose_s": t_dec})


if __name__ == "__main__":
    main()
