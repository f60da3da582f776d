"""A full-size phase diagram on every local core (or a Dask cluster), resumable.

The regime by the bound of Pascanu et al. (colour) against the measured largest
Lyapunov exponent (marker, mean over replicates) over gain x activation, for
Elman networks of 128 units driven for 2000 steps.  The points run through
``spectra.sweep``: all local cores by default, BLAS pinned to one thread per
worker; every finished point is appended to ``--out`` (JSON lines), so a
killed run resumes where it stopped when the same command is run again.

    python scripts/phase_diagram.py --out figures/                 # all local cores
    python scripts/phase_diagram.py --out figures/ --workers 1     # one core
    python scripts/phase_diagram.py --out figures/ --dask tcp://scheduler:8786

Writes ``phase_diagram_full.jsonl`` (the records) and ``phase_diagram_full.pdf``/``.png``.
"""

import argparse
from pathlib import Path

import numpy as np

import spectra


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="figures", help="output folder (default figures/)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all local cores)")
    p.add_argument("--dask", default=None, help="address of a Dask scheduler (needs spectra[dask])")
    p.add_argument("--n", type=int, default=128, help="units per network (default 128)")
    p.add_argument("--steps", type=int, default=2000, help="steps per run (default 2000)")
    p.add_argument("--replicates", type=int, default=5, help="networks per point (default 5)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    args = p.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    executor = args.workers
    client = None
    if args.dask:
        from dask.distributed import Client

        client = Client(args.dask)
        executor = client.get_executor()
    gains = np.round(np.geomspace(0.25, 6.0, 14), 4).tolist()
    activations = ["tanh", "sigmoid", "relu", "softplus", "hard_tanh", "elu"]
    table = spectra.plot.phase_table(
        gains, activations, n=args.n, steps=args.steps, warmup=args.steps // 10,
        seeds=args.replicates, rng=args.seed, executor=executor,
        out=out / "phase_diagram_full.jsonl")
    fig, ax = spectra.plot.figure_and_axes(width="double", aspect=0.45)
    spectra.plot.phase_diagram(table, ax=ax)
    ax.set_xlabel(r"gain of orthogonal $W$ ($= \gamma_W$)")
    ax.set_title(f"Elman networks, n = {args.n}, {args.steps} steps, {args.replicates} networks per cell")
    for path in spectra.plot.save(fig, out / "phase_diagram_full"):
        print(path)
    if client is not None:
        client.close()


if __name__ == "__main__":   # required: sweep's worker processes are spawned
    main()
