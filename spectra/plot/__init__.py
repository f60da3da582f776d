"""Publication figures (matplotlib; loaded on first use of ``spectra.plot``).

One function per figure kind.  Each takes results (or a trajectory) and an
optional ``ax``, returns the matplotlib Figure, and never calls ``show()`` or
``savefig()``; save with :func:`spectra.plot.save`.  All share one paper style
(:mod:`spectra.plot._style`): one- and two-column sizes, the Okabe-Ito
colour-blind-safe palette, vector PDF and PNG output.
"""

from ._style import PALETTE, WIDTHS, color, figure_and_axes, paper_style, save
# issue 10: deep feedforward nets and the gradient monitor
from ._deep import depth_profile, depth_spectra
from ._monitor import monitor_history, monitor_lags, monitor_layers

__all__ = ["PALETTE", "WIDTHS", "color", "figure_and_axes", "paper_style", "save",
           # issue 10: deep feedforward nets and the gradient monitor
           "depth_profile", "depth_spectra", "monitor_history", "monitor_layers", "monitor_lags"]
