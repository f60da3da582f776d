"""The ``spectra`` command line.

May import anything in :mod:`spectra`; nothing in the package imports it.
"""

from .commands import build_parser, main

__all__ = ["main", "build_parser"]
