"""Ensembles of small networks (issue 19 item 3): one batched run against a loop over networks.

A sweep of B tanh Elman networks (different Gaussian W of gain 1.2, autonomous, random h_0),
n = 32, T = 1000 by default.  Every workload is timed end to end (the run and the analysis),
per network, in one process pinned to one CPU with one BLAS thread (CPU clock):

* ``loop``: ``for net in nets: analysis(net.run(h0, steps=T))``;
* ``ensemble``: ``analysis(spectra.ensemble(nets).run(h0, steps=T))`` (3-D batched products);
* ``jax``: ``jit(vmap(f))`` over the networks, ``f`` one ``lax.scan`` that advances the state
  and carries the frame through the analytic step Jacobian ``diag(1 - h_t^2) W`` with a QR at
  every step, compiled ahead of time (compile time excluded).

Workloads: ``lyapunov`` (full spectrum, default ``reorth_every="auto"``), ``lyapunov_qr1``
(QR at every step, like for like with jax), ``profile_2`` / ``profile_fro`` (gradient-norm
profiles over all lags) and ``product`` (dh_T/dh_0).  Every ensemble result is checked
against the loop's before it is timed (largest absolute difference), jax's exponents against
spectra's with a QR at every step.

    python benchmarks/bench_ensemble.py --networks 64 --n 32 --steps 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _pin(threads=1):
    try:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        pass
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "SPECTRA_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                               " intra_op_parallelism_threads=1").strip()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--networks", type=int, default=64)
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-jax", action="store_true")
    p.add_argument("--qr-kernels", action="store_true",
                   help="also time batched QR kernels on the B frames of one step")
    args = p.parse_args(argv)
    _pin(1)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import numpy as np

    import spectra
    from _harness import machine, median_time, pin_threads, use_cpu_clock, write_json

    pin_threads(1)
    use_cpu_clock(True)
    B, n, T = args.networks, args.n, args.steps
    rng = np.random.default_rng(0)
    nets = [spectra.ElmanRNN(1.2 * rng.standard_normal((n, n)) / np.sqrt(n)) for _ in range(B)]
    h0 = rng.standard_normal(n)
    ens = spectra.ensemble(nets)

    workloads = {
        "lyapunov": lambda tr: spectra.lyapunov_spectrum(tr).exponents,
        "lyapunov_qr1": lambda tr: spectra.lyapunov_spectrum(tr, reorth_every=1).exponents,
        "profile_2": lambda tr: spectra.gradient_norm_profile(tr).log_norms,
        "profile_fro": lambda tr: spectra.gradient_norm_profile(tr, ord="fro").log_norms,
        "product": lambda tr: tr.product(),
    }
    rows, out = [], {"B": B, "n": n, "T": T, "machine": machine(),
                     "load": os.getloadavg(), "results": {}}

    def loop(fn):
        return lambda: np.stack([fn(net.run(h0=h0, steps=T)) for net in nets])

    def batched(fn):
        return lambda: fn(ens.run(h0=h0, steps=T))

    ref_qr1 = None
    for name, fn in workloads.items():
        a, b = loop(fn)(), batched(fn)()
        if name == "product":
            dev = float(np.max(np.abs(a - b) / np.max(np.abs(a), axis=(-2, -1), keepdims=True)))
        else:
            dev = float(np.max(np.abs(a - b)))
        if name == "lyapunov_qr1":
            ref_qr1 = a
        t_loop, _ = median_time(loop(fn), args.repeats)
        t_ens, _ = median_time(batched(fn), args.repeats)
        rows.append((name, t_loop / B, t_ens / B, t_loop / t_ens, dev))
        out["results"][name] = {"loop_per_network": t_loop / B, "ensemble_per_network": t_ens / B,
                                "speedup": t_loop / t_ens, "check": dev}

    res_auto = spectra.lyapunov_spectrum(ens.run(h0=h0, steps=T))
    loop_counts = [spectra.lyapunov_spectrum(net.run(h0=h0, steps=T)).qr_count for net in nets]
    out["qr_counts"] = {"ensemble": np.asarray(res_auto.qr_count).tolist(), "loop": loop_counts}
    kernel_rows = _qr_kernels(ens, h0, T, args.repeats) if args.qr_kernels else []
    out["qr_kernels_us"] = dict(kernel_rows)

    jax_rows = []
    if not args.no_jax:
        try:
            import jax
        except ImportError:
            print("(jax not installed: skipped)")
        else:
            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp
            from jax import lax

            Ws = jnp.asarray(np.stack([net.W_hh for net in nets]))

            def lyap(W, every):
                def inner(c, _):            # `every` steps of h and of the frame
                    h, Z = c
                    h = jnp.tanh(W @ h)
                    return (h, (1.0 - h * h)[:, None] * (W @ Z)), None

                def outer(c, _):
                    h, Q, acc = c
                    (h, Z), _ = lax.scan(inner, (h, Q), None, length=every)
                    Q, R = jnp.linalg.qr(Z)
                    return (h, Q, acc + jnp.log(jnp.abs(jnp.diagonal(R)))), None

                (_, _, acc), _ = lax.scan(outer, (jnp.asarray(h0), jnp.eye(n), jnp.zeros(n)),
                                          None, length=T // every)
                return jnp.sort(acc / T)[::-1]

            for every in (1,):
                f = jax.vmap(lambda W, e=every: lyap(W, e))
                t0 = time.perf_counter()
                exe = jax.jit(f).lower(Ws).compile()
                comp = time.perf_counter() - t0
                run = lambda: np.asarray(jax.block_until_ready(exe(Ws)))   # noqa: E731
                got = run()
                dev = float(np.max(np.abs(got - ref_qr1)))
                t_jax, _ = median_time(run, args.repeats)
                key = f"jax vmap(lax.scan), QR every {every}"
                jax_rows.append((key, t_jax / B, dev, comp))
                out["results"][key] = {"per_network": t_jax / B, "check_vs_qr1": dev,
                                       "compile_s": comp}

    print(f"B = {B} networks, n = {n}, T = {T}; one core, one BLAS thread, CPU time, "
          f"medians of {args.repeats}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'workload':<14}{'loop/net (s)':>14}{'ensemble/net (s)':>18}{'speedup':>9}{'check':>10}")
    for name, tl, te, sp, dev in rows:
        print(f"{name:<14}{tl:>14.5f}{te:>18.5f}{sp:>8.2f}x{dev:>10.1e}")
    for key, tj, dev, comp in jax_rows:
        ens_auto = out["results"]["lyapunov"]["ensemble_per_network"]
        ens_qr1 = out["results"]["lyapunov_qr1"]["ensemble_per_network"]
        print(f"{key}: {tj:.5f} s/net (compile {comp:.1f} s, exponents within {dev:.1e} of "
              f"spectra's QR-every-step); time of spectra's ensemble / jax's: 'auto' "
              f"{ens_auto / tj:.2f}, QR every step {ens_qr1 / tj:.2f}")
    print(f"QRs per network with 'auto': ensemble median {np.median(out['qr_counts']['ensemble']):.0f}"
          f" (range {min(out['qr_counts']['ensemble'])}-{max(out['qr_counts']['ensemble'])}), loop "
          f"median {np.median(loop_counts):.0f}")
    for name, us in kernel_rows:
        print(f"QR kernel on the {B} frames of one step: {name:<44}{us:9.0f} us")
    print("wrote", write_json(f"ensemble_B{B}_n{n}_T{T}", out))


def _qr_kernels(ens, h0, T, repeats):
    """Time candidate QR kernels on the B frames Z = J_s Q_{s-1} of one step (s = T/2, frames
    propagated with a QR at every step), in microseconds for all B frames."""
    import numpy as np
    from scipy.linalg import lapack

    from _harness import median_time

    seq = ens.run(h0=h0, steps=T).jacobian_sequence
    B, n = seq.batch_shape[0], seq.n
    Q = np.broadcast_to(np.eye(n), (B, n, n)).copy()
    for s in range(1, T // 2):
        Q = np.linalg.qr(seq.matmat(s, Q))[0]
    Z = np.ascontiguousarray(seq.matmat(T // 2, Q))
    sw = lambda a: np.swapaxes(a, -1, -2)                           # noqa: E731

    def lapack_loop():
        for b in range(B):
            qr, tau, _, _ = lapack.dgeqrf(Z[b])
            lapack.dorgqr(qr, tau, overwrite_a=1)

    def cholqr(A):
        L = np.linalg.cholesky(sw(A) @ A)
        return A @ sw(np.linalg.inv(L)), L

    def cholqr_trtri(A):
        L = np.linalg.cholesky(sw(A) @ A)
        Li = np.stack([lapack.dtrtri(L[b], lower=1)[0] for b in range(B)])
        return A @ sw(Li), L

    def cgs2(A):
        Qc = np.empty_like(A)
        for j in range(n):
            z = A[:, :, j].copy()
            for _ in range(2 if j else 0):
                r = np.einsum("bij,bi->bj", Qc[:, :, :j], z)
                z -= np.einsum("bij,bj->bi", Qc[:, :, :j], r)
            Qc[:, :, j] = z / np.sqrt(np.einsum("bi,bi->b", z, z))[:, None]
        return Qc

    kernels = {
        "numpy qr (stacked, Q and R)": lambda: np.linalg.qr(Z),
        "numpy qr mode='r' (R only)": lambda: np.linalg.qr(Z, mode="r"),
        "numpy qr mode='raw' (reflectors)": lambda: np.linalg.qr(Z, mode="raw"),
        "scipy LAPACK per frame: dgeqrf + dorgqr": lapack_loop,
        "CholeskyQR (stacked; inv of L)": lambda: cholqr(Z),
        "CholeskyQR2 (stacked; inv of L)": lambda: cholqr(cholqr(Z)[0]),
        "CholeskyQR2 (stacked; dtrtri per frame)": lambda: cholqr_trtri(cholqr_trtri(Z)[0]),
        "classical Gram-Schmidt x2 (vectorised over B)": lambda: cgs2(Z),
        "for scale: the step's batched GEMM": lambda: seq.matmat(T // 2, Q),
    }
    return [(name, 1e6 * median_time(f, max(repeats, 20))[0]) for name, f in kernels.items()]


if __name__ == "__main__":
    main()
