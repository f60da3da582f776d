"""Both cores where it pays (issue 19 item 8): batched analyses and sweeps on 1 and 2 cores.

For every parallel path (the members of a batch split over worker threads:
``spectra._core.parallel``) and for ``spectra.sweep`` (a process pool), in one
run and interleaved, with one BLAS thread everywhere:

* ``1 core``: the process bound to one CPU (``sched_setaffinity``) and
  ``spectra.threads(1)``: the serial path;
* ``2 thr/1 core``: still one CPU, ``spectra.threads(2)``: the split's overhead;
* ``2 cores``: two CPUs and ``spectra.threads(2)``.

The split is timed whatever the size (``MIN_CHUNK_WORK`` = 0); the ``default``
column says whether ``spectra.threads(2)`` splits that workload by default.

Wall and CPU time (this process and its reaped children) are medians of
``--repeats``; speed-up = wall(1 core) / wall(2 cores), efficiency = speed-up / 2,
and ``cpu/wall`` of the 2-core run says how many cores the run really had (about 2
on an idle machine; near 1 when other processes held the second core, and then the
speed-up measures the machine's load, not the code).  Every parallel result is
compared with the serial one (``same``: bit for bit, else the largest difference).

The threshold scan times ensembles of B = 16 networks at n = 4 ... 64 (T = 200) with the
split forced on (``MIN_CHUNK_WORK`` = 0), so that the speed-up can be read against
a chunk's work per step (members per chunk times n^3): the policy's thresholds.

Run from the repository root (about 2-3 minutes on a quiet machine)::

    python benchmarks/bench_parallel.py
    python benchmarks/bench_parallel.py --repeats 5 --cores 0 1
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spectra  # noqa: E402
from spectra._core import parallel  # noqa: E402

from _harness import machine, pin_threads, write_json  # noqa: E402


def point(gain, replicate, n, steps, *, rng):
    """A sweep point: a random tanh network's Lyapunov spectrum and lag profile."""
    cell = spectra.ElmanRNN.random(n, gain=gain, rng=rng)
    traj = cell.run(steps=steps, h0=np.random.default_rng(rng).standard_normal(n))
    return {"lyap": spectra.lyapunov_spectrum(traj).exponents[:4].tolist(),
            "prof": float(spectra.gradient_norm_profile(traj, ord="fro").log_norms[-1])}


def _cpu():
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn, cpus, threads):
    os.sched_setaffinity(0, cpus)
    with spectra.threads(threads):
        c0, t0 = _cpu(), time.perf_counter()
        out = fn()
        wall = time.perf_counter() - t0
        cpu = _cpu() - c0
    return wall, cpu, out


def _same(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape == b.shape and np.array_equal(a, b):
        return "bit for bit"
    return f"{float(np.max(np.abs(a - b))):.0e}"


def _workloads(args):
    rng = np.random.default_rng(0)
    B, n, T = args.ensemble
    ens = spectra.ensemble([spectra.ElmanRNN.random(n, gain=1.2, rng=i) for i in range(B)])
    ens_traj = ens.run(h0=rng.standard_normal(n), steps=T)
    Bb, nb, Tb = args.batch
    cell = spectra.ElmanRNN.random(nb, gain=1.2, input_size=8, rng=1)
    batch_traj = cell.run(rng.standard_normal((Bb, Tb, 8)), h0=rng.standard_normal(nb))
    tasks = []
    for label, traj, (b, m, t) in (("ensemble", ens_traj, args.ensemble),
                                   ("batched run", batch_traj, args.batch)):
        tasks += [
            (label, "product dh_T/dh_0", b, m, t, "gemm", lambda tr=traj: tr.product()),
            (label, "profile, Frobenius", b, m, t, "gemm",
             lambda tr=traj: spectra.gradient_norm_profile(tr, ord="fro").log_norms),
            (label, "profile, spectral", b, m, t, "gemm",
             lambda tr=traj: spectra.gradient_norm_profile(tr).log_norms),
            (label, "Lyapunov, all, auto", b, m, t, "wy" if m >= 48 else "lyapunov",
             lambda tr=traj: spectra.lyapunov_spectrum(tr).exponents),
        ]
        if label == "batched run":
            tasks.append((label, "profile of a vector", b, m, t, "matvec",
                          lambda tr=traj: spectra.gradient_norm_profile(
                              tr, vector=np.ones(tr.n)).log_norms))
        if label == "ensemble":
            tasks.append((label, "log singular values", b, m, t, "logsv",
                          lambda tr=traj: spectra.product_log_singular_values(tr)))
    return tasks


def _sweep_task(args):
    P, n, T = args.sweep
    grid = spectra.grid.product(gain=[0.8, 1.2, 1.6, 2.0], replicate=range(max(1, P // 4)),
                                n=n, steps=T)

    def run(workers):
        res = spectra.sweep(point, grid, executor=workers, progress=False)
        return [r.result["lyap"] if r.ok else np.nan for r in res]

    return run


def _row(label, what, size, n, T, runs, same, default="processes"):
    (w1, c1), (wo, co), (w2, c2) = runs
    speed = w1 / w2
    return {"batch": label, "workload": what, "B": size, "n": n, "T": T, "default": default,
            "wall_1core": w1, "cpu_1core": c1, "wall_2thr_1core": wo, "cpu_2thr_1core": co,
            "wall_2cores": w2, "cpu_2cores": c2, "speedup": speed, "efficiency": speed / 2,
            "cpu_per_wall_2cores": c2 / w2, "same": same}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cores", type=int, nargs=2, default=None, help="the two CPUs to use")
    ap.add_argument("--ensemble", type=int, nargs=3, default=(64, 32, 500), metavar=("B", "n", "T"))
    ap.add_argument("--batch", type=int, nargs=3, default=(4, 256, 100), metavar=("B", "n", "T"))
    ap.add_argument("--sweep", type=int, nargs=3, default=(16, 96, 300), metavar=("points", "n", "T"))
    ap.add_argument("--scan", type=int, nargs="*", default=(4, 8, 16, 24, 32, 64),
                    help="n of the threshold scan (B = 16, T = --scan-steps); none to skip")
    ap.add_argument("--scan-steps", type=int, default=200)
    ap.add_argument("--no-sweep", action="store_true")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    avail = sorted(os.sched_getaffinity(0))
    cores = args.cores or avail[:2]
    if len(set(cores)) < 2:
        sys.exit("bench_parallel needs two CPUs")
    one, two = {cores[0]}, set(cores)
    import scipy.linalg  # noqa: F401  (loaded before the limit, so that its BLAS is limited too)
    pin_threads(1)
    load = [os.getloadavg()[0]]
    configs = ((one, 1), (one, 2), (two, 2))
    rows = []

    def measure(label, what, size, n, T, kind, fn, repeats):
        with spectra.threads(2):
            default = "split" if parallel.member_workers(size, n, kind) > 1 else "serial"
        times = [[], [], []]
        outs = [None, None, None]
        saved = dict(parallel.MIN_CHUNK_WORK)
        parallel.MIN_CHUNK_WORK.update(gemm=0, lyapunov=0, matvec=0, logsv=0, wy=0)    # split, whatever the size
        try:
            _timed(fn, two, 2)               # warm-up (caches such as W's singular values)
            for _ in range(repeats):
                for j, (cpus, threads) in enumerate(configs):
                    w, c, outs[j] = _timed(fn, cpus, threads)
                    times[j].append((w, c))
        finally:
            parallel.MIN_CHUNK_WORK.update(saved)
        runs = [(statistics.median(w for w, _ in ts), statistics.median(c for _, c in ts))
                for ts in times]
        rows.append(_row(label, what, size, n, T, runs, _same(outs[0], outs[2]), default))
        r = rows[-1]
        print(f"  {label:12s} {what:22s} B={size:3d} n={n:4d} T={T:5d}  1 core {r['wall_1core']:6.2f} s"
              f"  2 thr/1 core {r['wall_2thr_1core']:6.2f} s  2 cores {r['wall_2cores']:6.2f} s"
              f"  speed-up {r['speedup']:4.2f}  cpu/wall {r['cpu_per_wall_2cores']:4.2f}  {r['same']}",
              flush=True)

    print(f"cores {cores}, load average {load[0]:.2f}", flush=True)
    for label, what, size, n, T, kind, fn in _workloads(args):
        measure(label, what, size, n, T, kind, fn, args.repeats)
    load.append(os.getloadavg()[0])
    if not args.no_sweep:
        run = _sweep_task(args)
        P, n, T = args.sweep
        # processes: 1 worker on 1 core against 2 workers on 2 cores (the middle column:
        # 2 workers on 1 core)
        configs_sweep = ((one, 1), (one, 2), (two, 2))
        times = [[], [], []]
        outs = [None] * 3
        for _ in range(args.repeats):
            for j, (cpus, workers) in enumerate(configs_sweep):
                os.sched_setaffinity(0, cpus)
                c0, t0 = _cpu(), time.perf_counter()
                outs[j] = run(workers)
                times[j].append((time.perf_counter() - t0, _cpu() - c0))
        runs = [(statistics.median(w for w, _ in ts), statistics.median(c for _, c in ts))
                for ts in times]
        rows.append(_row("spectra.sweep", f"{len(outs[0])} points (processes)", len(outs[0]),
                         n, T, runs, _same(outs[0], outs[2])))
        r = rows[-1]
        print(f"  sweep        {len(outs[0])} points n={n} T={T}  1 worker {r['wall_1core']:.2f} s  "
              f"2 workers/1 core {r['wall_2thr_1core']:.2f} s  2 workers/2 cores "
              f"{r['wall_2cores']:.2f} s  speed-up {r['speedup']:.2f}", flush=True)
    scan = []
    if args.scan:
        saved = dict(parallel.MIN_CHUNK_WORK)
        parallel.MIN_CHUNK_WORK.update(gemm=0, lyapunov=0, matvec=0, logsv=0, wy=0)
        try:
            for n in args.scan:
                ens = spectra.ensemble([spectra.ElmanRNN.random(n, gain=1.2, rng=i)
                                        for i in range(16)])
                traj = ens.run(h0=np.full(n, 0.5), steps=args.scan_steps)
                for what, fn in (("product", lambda: traj.product()),
                                 ("Lyapunov", lambda: spectra.lyapunov_spectrum(traj).exponents)):
                    fn()                     # warm-up
                    times = [[], [], []]
                    for _ in range(args.repeats):
                        for j, (cpus, threads) in enumerate(configs):
                            times[j].append(_timed(fn, cpus, threads)[0])
                    w1, wo, w2 = (statistics.median(ts) for ts in times)
                    scan.append({"n": n, "workload": what, "chunk_work": 8 * n ** 3,
                                 "wall_1core": w1, "wall_2thr_1core": wo, "wall_2cores": w2,
                                 "speedup": w1 / w2, "overhead_1core": wo / w1})
                    print(f"  scan n={n:3d} {what:9s} chunk work 8 n^3 = {8 * n ** 3:8d}: "
                          f"speed-up {w1 / w2:.2f}, split on one core {wo / w1:.2f}x the serial "
                          "time", flush=True)
        finally:
            parallel.MIN_CHUNK_WORK.update(saved)
    os.sched_setaffinity(0, set(avail))
    load.append(os.getloadavg()[0])
    elapsed = time.perf_counter() - start

    print(f"\nMeasured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, cores {cores}, "
          f"one BLAS thread, medians of {args.repeats}; load average "
          f"{min(load):.1f}-{max(load):.1f}; {elapsed:.0f} s in all\n")
    print("| workload | B | n | T | default | 1 core | 2 threads, 1 core | 2 cores | speed-up "
          "| efficiency | cpu/wall (2 cores) | result vs serial |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['batch']}: {r['workload']} | {r['B']} | {r['n']} | {r['T']} | {r['default']} | "
              f"{r['wall_1core']:.2f} s | {r['wall_2thr_1core']:.2f} s | {r['wall_2cores']:.2f} s | "
              f"{r['speedup']:.2f}x | {r['efficiency']:.0%} | {r['cpu_per_wall_2cores']:.2f} | "
              f"{r['same']} |")
    if scan:
        print(f"\nThreshold scan (ensembles of 16 networks, T = {args.scan_steps}, split forced into "
              "2 chunks of 8):\n")
        ns = list(dict.fromkeys(s["n"] for s in scan))
        print("| n | " + " | ".join(str(n) for n in ns) + " |")
        print("|---|" + "---:|" * len(ns))
        print("| chunk work 8 n^3 | " + " | ".join(f"{8 * n ** 3:.0e}" for n in ns) + " |")
        for what in ("product", "Lyapunov"):
            for key, name in (("speedup", "speed-up, 2 cores"),
                              ("overhead_1core", "split on 1 core / serial")):
                vals = {s["n"]: s[key] for s in scan if s["workload"] == what}
                print(f"| {what}: {name} | " + " | ".join(f"{vals[n]:.2f}" for n in ns) + " |")
    path = write_json("bench_parallel", {"machine": machine(), "cores": cores,
                                         "load_average": load, "repeats": args.repeats,
                                         "rows": rows, "scan": scan, "seconds": elapsed})
    print(f"\n(JSON: {path})")


if __name__ == "__main__":
    main()
