"""spectra against the matrix-product bound and autodiff peers (torch, jax), in one run.

Usage:
    python benchmarks/bench_peers.py --n 32 64 --steps 100 1000 [--threads 1] [--repeats 3]
    python benchmarks/bench_peers.py --report        # merge benchmarks/results/peers_*.json

Workloads, on a tanh Elman network h_t = tanh(W h_{t-1}) with Gaussian W of gain
1.2 (autonomous, random h_0; chaotic, so the products stay within float64 over
1000 steps):

* ``product``: the full Jacobian dh_T/dh_0;
* ``profile``: the lag profile ||dh_T/dh_{T-lag}|| for lag = 1..T, with the
  Frobenius norm (``profile_fro``) and the spectral norm (``profile_2``);
* ``lyapunov``: the full Lyapunov spectrum.

Contenders, all on the same number of threads (BLAS pinned with threadpoolctl and
the OMP/MKL/OPENBLAS variables, ``torch.set_num_threads``, XLA's
``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``):

* ``bound``: T plain n x n matrix products written by hand (numpy);
* ``spectra``;
* ``torch.func.jacrev`` / ``jacfwd`` and ``torch.autograd.functional.jacobian``
  (vectorised) on the unrolled network; the lag profile as the Jacobians of
  h_T with respect to every h_k (perturbations added to each state, one
  reverse pass with n cotangents), then batched matrix norms; Lyapunov
  exponents from per-step Jacobians (``vmap(jacfwd(step))``) and a QR at every
  step;
* ``jax.jacfwd`` / ``jax.jacrev`` under ``jit`` over a ``lax.scan``, the same
  formulations; compile time is excluded from the median and reported apart;
* ``numpy QR every step``: Benettin's method written out with
  ``numpy.linalg.qr`` (the reference of the Lyapunov target).

Every contender's numbers are checked against spectra's before it is timed
(``check``: the largest deviation; products relative in Frobenius norm,
profiles and exponents absolute in log).  Peers are optional
(``pip install -e .[bench]``); missing ones are skipped.  A contender whose
first run exceeds ``--cap`` seconds is not repeated (its time is then one run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = ("product", "profile_fro", "profile_2", "lyapunov")


def _pin_environment(threads: int) -> None:
    """Pin the process to ``threads`` CPUs and set the thread variables, before numpy, torch
    or jax are imported.  The CPU affinity is what binds XLA: its CPU runtime keeps a thread
    pool of its own whatever the flags say (measured: CPU time ~1.9x wall time unpinned)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))[:threads]
        os.sched_setaffinity(0, cpus)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        pass
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "SPECTRA_NUM_THREADS"):
        os.environ[var] = str(threads)
    multi = "true" if threads > 1 else "false"
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (f"{flags} --xla_cpu_multi_thread_eigen={multi} "
                               f"intra_op_parallelism_threads={threads}").strip()


# ---------------------------------------------------------------------------------------
# timing


class Timer:
    """Medians of wall time, or of this process's CPU time (``--clock cpu``: robust on a
    loaded shared machine, and equal to wall time for a single-threaded run that has a core
    to itself)."""

    def __init__(self, repeats, cap, clock="wall"):
        self.repeats, self.cap = repeats, cap
        self.clock = time.process_time if clock == "cpu" else time.perf_counter

    def __call__(self, fn):
        """(median seconds, all times, last result); one warm-up run (also the only timing
        when it is longer than the cap).  ``self.cpu_ratio`` is then the CPU time over the
        wall time of the timed runs: about 1 for a contender that kept to one thread."""
        t0, c0, w0 = self.clock(), time.process_time(), time.perf_counter()
        out = fn()
        first = self.clock() - t0
        if first > self.cap:
            self.cpu_ratio = (time.process_time() - c0) / max(time.perf_counter() - w0, 1e-12)
            return first, [first], out
        times = []
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(self.repeats):
            t0 = self.clock()
            out = fn()
            times.append(self.clock() - t0)
        self.cpu_ratio = (time.process_time() - c0) / max(time.perf_counter() - w0, 1e-12)
        times.sort()
        return times[len(times) // 2], times, out


# ---------------------------------------------------------------------------------------
# the network and spectra


def make_network(n, T, seed=0):
    import numpy as np
    import spectra

    rng = np.random.default_rng(seed)
    W = spectra.init.gaussian(n, gain=1.2, rng=rng)
    h0 = rng.standard_normal(n)
    traj = spectra.ElmanRNN(W, activation="tanh").run(steps=T, h0=h0)
    return W, h0, traj


def spectra_contenders(traj):
    import spectra

    return {
        "product": lambda: traj.product(),
        "profile_fro": lambda: spectra.gradient_norm_profile(traj, ord="fro").log_norms,
        "profile_2": lambda: spectra.gradient_norm_profile(traj).log_norms,
        "lyapunov": lambda: spectra.lyapunov_spectrum(traj).exponents,
    }


def numpy_qr_every_step(traj):
    """Benettin's method written out: numpy QR of J_t Q_{t-1} at every step."""
    import numpy as np

    Js = traj.jacobians()
    n = Js.shape[-1]
    Q = np.eye(n)
    acc = np.zeros(n)
    for J in Js:
        Q, R = np.linalg.qr(J @ Q)
        acc += np.log(np.abs(np.diagonal(R)))
    return np.sort(acc / len(Js))[::-1]


def matmul_bound_fn(n, T):
    import numpy as np

    from _harness import matmul_bound_workload

    return matmul_bound_workload(n, T, np.random.default_rng(1))


# ---------------------------------------------------------------------------------------
# torch


def torch_contenders(W_np, h0_np, T, threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    from torch.func import jacfwd, jacrev, vmap

    W = torch.tensor(W_np, dtype=torch.float64)
    h0 = torch.tensor(h0_np, dtype=torch.float64)
    n = W.shape[0]

    def run(h):
        for _ in range(T):
            h = torch.tanh(W @ h)
        return h

    def run_eps(h, eps):          # eps[t] is added to h_{t+1}, t = 0..T-2
        for t in range(T):
            h = torch.tanh(W @ h)
            if t < T - 1:
                h = h + eps[t]
        return h

    eps0 = torch.zeros(T - 1, n, dtype=torch.float64)

    def profile(ord):
        def go():
            J0, Je = jacrev(run_eps, argnums=(0, 1))(h0, eps0)        # (n, n), (n, T-1, n)
            stack = torch.cat([Je.permute(1, 0, 2).flip(0), J0[None]], dim=0)   # lag 1..T
            return torch.log(torch.linalg.matrix_norm(stack, ord=ord)).numpy()
        return go

    def step(h):
        return torch.tanh(W @ h)

    def lyapunov():
        with torch.no_grad():
            H = [h0]
            for _ in range(T):
                H.append(step(H[-1]))
            H = torch.stack(H[:-1])
        Js = vmap(jacfwd(step))(H)                                    # (T, n, n)
        Q = torch.eye(n, dtype=torch.float64)
        acc = torch.zeros(n, dtype=torch.float64)
        for J in Js:
            Q, R = torch.linalg.qr(J @ Q)
            acc += torch.log(torch.abs(torch.diagonal(R)))
        return torch.sort(acc / T, descending=True).values.numpy()

    return {
        "product": {
            "torch.func.jacrev": lambda: jacrev(run)(h0).numpy(),
            "torch.func.jacfwd": lambda: jacfwd(run)(h0).numpy(),
            "torch.autograd.functional.jacobian": lambda: torch.autograd.functional.jacobian(
                run, h0, vectorize=True).numpy(),
        },
        "profile_fro": {"torch.func.jacrev": profile("fro")},
        "profile_2": {"torch.func.jacrev": profile(2)},
        "lyapunov": {"torch.func.vmap(jacfwd) + qr": lyapunov},
    }


# ---------------------------------------------------------------------------------------
# jax


def jax_contenders(W_np, h0_np, T):
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    W = jnp.asarray(W_np)
    h0 = jnp.asarray(h0_np)
    n = W.shape[0]

    def step(h):
        return jnp.tanh(W @ h)

    def run(h):
        return lax.scan(lambda c, _: (step(c), None), h, None, length=T)[0]

    def run_eps(h, eps):          # eps (T, n); eps[t] is added to h_{t+1}; the last one is 0
        return lax.scan(lambda c, e: (step(c) + e, None), h, eps)[0]

    eps0 = jnp.zeros((T, n))

    def profile_fn(ord):
        def go(h, eps):
            J0, Je = jax.jacrev(run_eps, argnums=(0, 1))(h, eps)    # (n, n), (n, T, n)
            stack = jnp.concatenate([jnp.transpose(Je[:, :-1], (1, 0, 2))[::-1], J0[None]], axis=0)
            return jnp.log(jnp.linalg.norm(stack, ord=ord, axis=(1, 2)))
        return go

    def lyapunov(h):
        def fwd(c, _):
            nxt = step(c)
            return nxt, c
        _, H = lax.scan(fwd, h, None, length=T)
        Js = jax.vmap(jax.jacfwd(step))(H)

        def qr_step(carry, J):
            Q, acc = carry
            Q, R = jnp.linalg.qr(J @ Q)
            return (Q, acc + jnp.log(jnp.abs(jnp.diagonal(R)))), None

        (_, acc), _ = lax.scan(qr_step, (jnp.eye(n), jnp.zeros(n)), Js)
        return jnp.sort(acc / T)[::-1]

    def compiled(fn, *args):
        """(callable, compile seconds): ahead-of-time compilation, excluded from the timings."""
        t0 = time.perf_counter()
        exe = jax.jit(fn).lower(*args).compile()
        secs = time.perf_counter() - t0
        return (lambda: jax.block_until_ready(exe(*args)).__array__()), secs

    specs = {
        "product": {"jax.jacfwd (jit)": (jax.jacfwd(run), (h0,)),
                    "jax.jacrev (jit)": (jax.jacrev(run), (h0,))},
        "profile_fro": {"jax.jacrev (jit)": (profile_fn("fro"), (h0, eps0))},
        "profile_2": {"jax.jacrev (jit)": (profile_fn(2), (h0, eps0))},
        "lyapunov": {"jax vmap(jacfwd) + qr (jit)": (lyapunov, (h0,))},
    }
    return specs, compiled


# ---------------------------------------------------------------------------------------


def deviation(workload, got, ref):
    import numpy as np

    got = np.asarray(got, dtype=np.float64)
    if workload == "product":
        return float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
    finite = np.isfinite(ref)
    if not np.array_equal(finite, np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got[finite] - ref[finite]))) if finite.any() else 0.0


# (workload, contender, n) -> (T, seconds) of the last measurement, for the predictive cap
_SEEN = {}


def _predicted(workload, name, n, T, args):
    """A time predicted from the same contender at a smaller T (linear in T, optimistic);
    None when there is nothing to predict from or the prediction is within the cap."""
    seen = _SEEN.get((workload, name, n))
    if seen is None or seen[0] >= T:
        return None
    guess = seen[1] * T / seen[0]
    return guess if guess > args.cap else None


def run_case(n, T, args):
    import numpy as np

    W, h0, traj = make_network(n, T)
    timer = Timer(args.repeats, args.cap, args.clock)
    rows = []

    def add(workload, contender, med, times, dev=None, compile_s=None, predicted=None):
        cpu_ratio = getattr(timer, "cpu_ratio", None) if times else None
        rows.append({"n": n, "T": T, "workload": workload, "contender": contender, "median_s": med,
                     "times_s": times, "check": dev, "compile_s": compile_s,
                     "capped": len(times) == 1 and args.repeats > 1, "cpu_over_wall": cpu_ratio,
                     "predicted_s": predicted})
        if med == med:
            _SEEN[(workload, contender, n)] = (T, med)
        if predicted is not None:
            print(f"  {workload:12s} {contender:40s} > cap ({predicted:.0f} s predicted): skipped",
                  flush=True)
            return
        extra = "" if compile_s is None else f"  (compile {compile_s:.2f} s)"
        if cpu_ratio is not None:
            extra += f"  cpu/wall {cpu_ratio:.2f}"
        chk = "" if dev is None else f"  check {dev:.1e}"
        print(f"  {workload:12s} {contender:40s} {med:10.4f} s{chk}{extra}", flush=True)

    def skipped(workload, name):
        """Record and skip a peer that would not fit in memory or is predicted beyond the cap."""
        if _too_big(workload, n, T, args):
            add(workload, name, float("nan"), [], None)
            return True
        guess = _predicted(workload, name, n, T, args)
        if guess is not None:
            add(workload, name, float("nan"), [], None, predicted=guess)
            return True
        return False

    bound, times, _ = timer(matmul_bound_fn(n, T))
    add("bound", "T plain n x n products (numpy)", bound, times)
    refs = {}
    for workload, fn in spectra_contenders(traj).items():
        if workload not in args.workloads:
            continue
        med, times, out = timer(fn)
        refs[workload] = np.asarray(out)
        add(workload, "spectra", med, times)
    if "lyapunov" in args.workloads:
        out = numpy_qr_every_step(traj)
        dev = deviation("lyapunov", refs["lyapunov"], out)
        med, times, _ = timer(lambda: numpy_qr_every_step(traj))
        add("lyapunov", "numpy QR every step", med, times, dev)

    if "torch" in args.peers:
        peers = torch_contenders(W, h0, T, args.threads)
        if peers is None:
            print("  (torch not installed: skipped)")
        else:
            for workload, fns in peers.items():
                if workload not in args.workloads:
                    continue
                for name, fn in fns.items():
                    if skipped(workload, name):
                        continue
                    dev = deviation(workload, fn(), refs[workload])
                    med, times, _ = timer(fn)
                    add(workload, name, med, times, dev)
    if "jax" in args.peers:
        got = jax_contenders(W, h0, T)
        if got is None:
            print("  (jax not installed: skipped)")
        else:
            specs, compiled = got
            for workload, fns in specs.items():
                if workload not in args.workloads:
                    continue
                for name, (fn, fargs) in fns.items():
                    if skipped(workload, name):
                        continue
                    call, secs = compiled(fn, *fargs)
                    dev = deviation(workload, call(), refs[workload])
                    med, times, _ = timer(call)
                    add(workload, name, med, times, dev, secs)
    return rows


def _too_big(workload, n, T, args):
    """Peers' lag profiles hold all T Jacobians (T n^2 doubles): skip beyond --max-gb."""
    if workload.startswith("profile") or workload == "lyapunov":
        return 8.0 * T * n * n / 1e9 > args.max_gb
    return False


def report(paths, args_max_gb=2.5):
    """Markdown table of medians and ratios from result files."""
    rows = []
    for p in paths:
        rows.extend(json.loads(Path(p).read_text())["rows"])
    cases = sorted({(r["n"], r["T"]) for r in rows})
    lines = ["| n | T | workload | contender | median s | / bound | / spectra | check | cpu/wall |",
             "|---:|---:|---|---|---:|---:|---:|---:|---:|"]
    for n, T in cases:
        case = [r for r in rows if r["n"] == n and r["T"] == T]
        bound = next(r["median_s"] for r in case if r["workload"] == "bound")
        for wl in ("bound",) + WORKLOADS:
            mine = next((r["median_s"] for r in case if r["workload"] == wl and r["contender"] == "spectra"), None)
            for r in (x for x in case if x["workload"] == wl):
                med = r["median_s"]
                if med != med and r.get("predicted_s"):
                    cell, rb, rs = f"> cap (~{r['predicted_s']:.0f} s predicted)", "", ""
                elif med != med:  # nan: skipped
                    cell, rb, rs = f"skipped (> {args_max_gb} GB)", "", ""
                else:
                    cell = f"{med:.4g}" + (" (1 run)" if r.get("capped") else "")
                    rb = f"{med / bound:.2f}"
                    rs = "" if mine is None else f"{med / mine:.2f}"
                chk = "" if r["check"] is None else f"{r['check']:.0e}"
                comp = "" if r.get("compile_s") is None else f" (+{r['compile_s']:.1f} s compile)"
                cw = "" if r.get("cpu_over_wall") is None else f"{r['cpu_over_wall']:.2f}"
                lines.append(f"| {n} | {T} | {wl} | {r['contender']}{comp} | {cell} | {rb} | {rs} | {chk} | {cw} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[32, 64, 256, 512])
    p.add_argument("--steps", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cap", type=float, default=60.0, help="seconds; longer first runs are not repeated")
    p.add_argument("--max-gb", type=float, default=2.5, help="skip peers' profiles/Lyapunov above this")
    p.add_argument("--peers", nargs="*", default=["torch", "jax"])
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall time, or this process's CPU time (for loaded shared machines)")
    p.add_argument("--report", action="store_true", help="print the merged table of results/peers_*.json")
    args = p.parse_args(argv)
    if args.report:
        print(report(sorted((HERE / "results").glob("peers_n*_T*.json")), args.max_gb))
        return
    _pin_environment(args.threads)
    sys.path.insert(0, str(HERE))
    from _harness import machine, pin_threads, write_json

    pin_threads(args.threads)
    for n in args.n:
        for T in args.steps:
            print(f"# n={n} T={T} threads={args.threads} ({time.strftime('%Y-%m-%d %H:%M')}, "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)
            rows = run_case(n, T, args)
            path = write_json(f"peers_n{n}_T{T}", {
                "n": n, "T": T, "threads": args.threads, "repeats": args.repeats, "clock": args.clock,
                "when": time.strftime("%Y-%m-%d %H:%M:%S"), "load_before": os.getloadavg(),
                "rows": rows, "machine": machine()})
            print(report([path], args.max_gb))
            print(f"# wrote {path}")


if __name__ == "__main__":
    main()
