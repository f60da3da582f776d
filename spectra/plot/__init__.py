"""Publication figures (matplotlib; loaded on first use of ``spectra.plot``).

One function per figure kind.  Each takes results (or a trajectory) and an
optional ``ax``, returns the matplotlib Figure, and never calls ``show()`` or
``savefig()`` (nor anything in ``matplotlib.pyplot``); save with
:func:`spectra.plot.save`.  All share one paper style
(:mod:`spectra.plot._style`): one- and two-column sizes, the Okabe-Ito
colour-blind-safe palette, vector PDF and PNG output.

The figure set (``spectra figures --out DIR``) is a registry of named
builders (:func:`register`, :func:`make_figure_set`).
"""

from ._style import PALETTE, WIDTHS, color, figure_and_axes, log_axis, paper_style, save

# figures, the figure set and its registry (issue 7)
from ._figures import activation_derivatives, eigenvalues, gradient_norms
from ._lyapunov import lyapunov_convergence, lyapunov_exponents, singular_value_spectra
from ._phase import REGIMES, phase_diagram
from ._figureset import (FigureSpec, build_figure, figure_names, figure_specs, make_figure_set,
                         register, unregister)
from ._gallery import phase_table

__all__ = [
    "PALETTE", "WIDTHS", "color", "figure_and_axes", "paper_style", "save", "log_axis",
    # figures, the figure set and its registry (issue 7)
    "activation_derivatives", "eigenvalues", "gradient_norms", "singular_value_spectra",
    "lyapunov_exponents", "lyapunov_convergence", "phase_diagram", "phase_table", "REGIMES",
    "register", "unregister", "figure_names", "figure_specs", "build_figure", "make_figure_set",
    "FigureSpec",
]

# issue 10: deep feedforward nets and the gradient monitor
from ._deep import depth_profile, depth_spectra
from ._monitor import monitor_history, monitor_lags, monitor_layers, plot_monitor

__all__ += ["depth_profile", "depth_spectra", "monitor_history", "monitor_layers", "monitor_lags",
            "plot_monitor"]

# issue 9: figures of the remedies for vanishing and exploding gradients
from ._remedies import (bptt_lag_figure, clipping_figure, echo_state_figure, leaky_figure,
                        penalty_figure, regularizer_figure, spectral_control_figure,
                        teacher_forcing_figure, truncation_figure)
from ._remedies import figure_set as remedies_figure_set

__all__ += ["bptt_lag_figure", "clipping_figure", "regularizer_figure", "truncation_figure",
            "penalty_figure", "spectral_control_figure", "echo_state_figure", "leaky_figure",
            "teacher_forcing_figure", "remedies_figure_set"]

# issue 12: non-normality
from ._nonnormal import pseudospectra_contours, transient_growth_curves

__all__ += ["pseudospectra_contours", "transient_growth_curves"]
