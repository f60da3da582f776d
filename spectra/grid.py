"""0.1 address of :mod:`spectra.sweeps.grid` (parameter grids): ``import spectra.grid`` gives that module."""

import sys

from .sweeps import grid as _grid

sys.modules[__name__] = _grid
