#!/usr/bin/env python3
"""Regenerate the whole figure set into a folder, deterministically (same seed, same files).

    python scripts/make_figures.py                      # every figure, PDF and PNG, into figures/
    python scripts/make_figures.py --out paper/figs --seed 1
    python scripts/make_figures.py --out docs/gallery --formats png --dpi 110   # the README gallery

A thin wrapper over the figure registry: it is ``spectra figures`` with
``--out figures`` as the default, and takes the same options
(``--formats``, ``--only``, ``--seed``, ``--dpi``, ``--list``, ``--json``).
"""

import sys
from pathlib import Path

# run from a clone without installing: the package sits next to this folder
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spectra.cli import main  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    if not any(a == "--out" or a.startswith("--out=") for a in args):
        args = ["--out", "figures", *args]
    sys.exit(main(["figures", *args]))
