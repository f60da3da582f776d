"""Speed-up of spectra.sweep from one worker process to all local cores.

A 64-point grid (gain x activation x replicate) of a realistic workload: for
each point, build a random Elman network, run it, and compute the norms and
singular values of the Jacobian products dh_T/dh_{T-lag} at several lags.
The script times, in one run and interleaved so that machine noise hits all
of them alike:

* ``serial``: ``executor="serial"`` (in this process, one BLAS thread);
* ``1 worker``: a spawned pool with one worker process;
* ``all cores``: the default pool, one worker per core.

Each configuration runs ``--repeats`` times; medians are reported, and the
speed-up is median(1 worker) / median(all cores).  Pool start-up is included:
it is what a user waits for.  Results go to stdout and to a JSON file
(default ``benchmarks/results/bench_sweep.json``).

Run from the repository root::

    python benchmarks/bench_sweep.py            # 3 repeats
    python benchmarks/bench_sweep.py --repeats 5 --size 96
"""

import os

# One BLAS thread in this process too, before numpy loads: the serial baseline
# and the workers then do the same single-threaded arithmetic.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import spectra  # noqa: E402
from spectra import grid  # noqa: E402

LAGS = (10, 50, 100, 200)


def workload(gain, activation, replicate, n, steps, *, rng):
    """Norms and singular values of Jacobian products of one random network."""
    cell = spectra.ElmanRNN.random(n, gain=gain, activation=activation, rng=rng)
    h0 = np.random.default_rng(rng).standard_normal(n)
    traj = cell.run(steps=steps, h0=h0)
    out = {"log_norm": [], "top_svals": [], "cond": []}
    for lag in (lag for lag in LAGS if lag <= steps):
        P = traj.product(steps, steps - lag)
        s = np.linalg.svd(P, compute_uv=False)
        out["log_norm"].append(float(np.log(s[0])) if s[0] > 0 else -np.inf)
        out["top_svals"].append(s[:4].tolist())
        out["cond"].append(float(s[0] / s[-1]) if s[-1] > 0 else np.inf)
    return out


def waiting(i, delay):
    """A point that only waits (I/O-like): isolates the sweep machinery from CPU contention."""
    time.sleep(delay)
    return {"i": i}


def the_grid(n, steps):
    return grid.product(gain=[0.5, 1.0, 1.5, 2.0], activation=["tanh", "relu", "hard_tanh", "sigmoid"],
                        replicate=range(4), n=n, steps=steps)


def _cpu_seconds():
    """CPU time of this process and of its reaped children (the pool's workers, once shut down)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return float("nan")
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(executor, g, fn=workload):
    """Wall time, CPU time (all processes) and the result of one sweep."""
    cpu, start = _cpu_seconds(), time.perf_counter()
    res = spectra.sweep(fn, g, executor=executor, progress=False)
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    if res.failed:
        raise RuntimeError(f"{len(res.failed)} points failed; first: {res.failed[0].error['message']}")
    return wall, cpu, res


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=128, help="units per network (default 128)")
    parser.add_argument("--steps", type=int, default=250, help="steps per run (default 250)")
    parser.add_argument("--workers", type=int, default=None, help="'all cores' pool size (default: all)")
    parser.add_argument("--json", default="benchmarks/results/bench_sweep.json")
    args = parser.parse_args(argv)

    from spectra.sweeps.execution import _cpu_count

    cores = args.workers or _cpu_count()
    g = the_grid(args.size, args.steps)
    configs = {"serial": "serial", "1 worker": 1, f"{cores} workers": cores}
    walls = {name: [] for name in configs}
    cpus = {name: [] for name in configs}
    reference = None
    work = []
    loads = []  # 1-minute load average before each repeat: how busy the (shared) machine was
    for rep in range(args.repeats):
        loads.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
        for name, executor in configs.items():
            wall, cpu, res = timed(executor, g)
            walls[name].append(wall)
            cpus[name].append(cpu)
            results = [r.result for r in res]
            if reference is None:
                reference = results
            elif results != reference:  # same seeds, one BLAS thread: bit-identical
                raise RuntimeError(f"{name} gave different results from the first run")
            if name == "serial":
                work.append(sum(r.elapsed for r in res))
            print(f"repeat {rep + 1}/{args.repeats}  {name:>10}: {wall:7.2f} s wall, "
                  f"{cpu:6.2f} s CPU = {cpu / wall:4.2f} cores busy", flush=True)

    # The same 64 points as pure waits (50 ms each): wall time then measures how well the
    # sweep machinery overlaps points (start-up, dispatch, collection), whatever else
    # runs on the machine.  Ideal: 3.2 s on 1 worker, 3.2 / N s on N.
    waits = {name: [] for name in configs if name != "serial"}
    startups = {name: [] for name in waits}
    wait_grid = grid.product(i=range(64), delay=0.05)
    for rep in range(args.repeats):
        for name in waits:
            waits[name].append(timed(configs[name], wait_grid, waiting)[0])
            # start-up alone: one no-op point per worker
            startups[name].append(timed(configs[name], grid.product(i=range(configs[name]), delay=0.0),
                                        waiting)[0])
    wait_med = {name: statistics.median(v) for name, v in waits.items()}
    startup_med = {name: statistics.median(v) for name, v in startups.items()}

    med = {name: statistics.median(v) for name, v in walls.items()}
    # CPU seconds per wall second: how many cores the sweep actually got.  On an
    # idle machine "N workers" approaches N; less means other processes had them.
    busy = {name: statistics.median(c / w for c, w in zip(cpus[name], walls[name])) for name in configs}
    one, all_ = med["1 worker"], med[f"{cores} workers"]
    speedup = one / all_
    paired = statistics.median(a / b for a, b in zip(walls["1 worker"], walls[f"{cores} workers"]))
    report = {
        "benchmark": "sweep speed-up, 64-point grid",
        "grid": {"points": len(g), "axes": {k: len(g.values(k)) for k in g.names}},
        "workload": {"n": args.size, "steps": args.steps, "lags": list(LAGS)},
        "cores": cores, "repeats": args.repeats,
        "wall_seconds": walls, "median_seconds": med, "cpu_seconds": cpus, "cores_busy_median": busy,
        "work_seconds_serial_median": statistics.median(work),
        "speedup_1_to_all": speedup, "speedup_paired_median": paired,
        "efficiency": speedup / cores, "load_average_before_repeats": loads,
        "waiting_points": {"delay": 0.05, "wall_seconds": waits, "median_seconds": wait_med,
                           "pool_startup_median_seconds": startup_med,
                           "speedup_1_to_all": wait_med["1 worker"] / wait_med[f"{cores} workers"]},
        "python": sys.version.split()[0], "numpy": np.__version__, "machine": platform.machine(),
    }
    print(f"\n64 points, n={args.size}, T={args.steps}; medians of {args.repeats}:")
    for name, v in med.items():
        print(f"  {name:>10}: {v:7.2f} s  ({busy[name]:.2f} cores busy)")
    if loads and loads[0] is not None:
        print(f"1-minute load average before the repeats: {', '.join(f'{x:.1f}' for x in loads)} "
              f"on {os.cpu_count()} cores (other processes compete for them)")
    print(f"speed-up 1 -> {cores} workers: {speedup:.2f}x (paired median {paired:.2f}x, "
          f"efficiency {speedup / cores:.0%})")
    w1, wn = wait_med["1 worker"], wait_med[f"{cores} workers"]
    print(f"64 waiting points (50 ms each, ideal {3.2:.1f} s / {3.2 / cores:.1f} s): "
          f"1 worker {w1:.2f} s, {cores} workers {wn:.2f} s, speed-up {w1 / wn:.2f}x; pool start-up "
          + ", ".join(f"{name} {v:.2f} s" for name, v in startup_med.items()))
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
