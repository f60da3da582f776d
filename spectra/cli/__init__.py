"""The ``spectra`` command line (console script ``spectra``, and ``python -m spectra``).

Lives here:

* :mod:`.args` -- the parser (:func:`build_parser`) and its argument types, all
  made by one factory; ``--cell`` accepts any cell of the registry
  (:mod:`spectra.cells.registry`), checked when the command line is parsed;
* :mod:`.network` -- the network of the analysis commands, built from the
  options by the registered cell class's ``random`` (or ``from_torch`` with
  ``--weights``);
* :mod:`.output` -- tables, CSV and strict JSON (the package's one JSON policy,
  :func:`spectra._core.results.to_jsonable`);
* :mod:`.commands` -- the commands ``bound``, ``profile``, ``spectrum``,
  ``lyapunov`` and ``figures``, and :func:`main`;
* :mod:`.report` -- the command ``report`` (the page itself is built by
  :func:`spectra.plot.model_report`).

May import anything in :mod:`spectra` (it is a leaf); nothing in the package
imports it (``spectra.cli`` is loaded lazily, on first access).
"""

from .args import build_parser
from .commands import main

__all__ = ["main", "build_parser"]
