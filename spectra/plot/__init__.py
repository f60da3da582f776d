"""Publication figures (matplotlib; loaded on first use of ``spectra.plot``).

One function per figure kind.  Each takes results (or a trajectory) and an
optional ``ax``, returns the matplotlib Figure, and never calls ``show()`` or
``savefig()`` (nor anything in ``matplotlib.pyplot``); save with
:func:`spectra.plot.save`.  All share one paper style
(:mod:`spectra.plot._style`): one- and two-column sizes, the Okabe-Ito
colour-blind-safe palette, vector PDF and PNG output.

Lives here
----------
Style
    :data:`PALETTE`, :data:`WIDTHS`, :func:`color`, :func:`figure_and_axes`,
    :func:`paper_style`, :func:`log_axis`, :func:`decade_ticks` (every log axis:
    ticks at whole decades), :func:`save` (``_style``).
Products, spectra and bounds
    :func:`activation_derivatives`, :func:`eigenvalues`, :func:`gradient_norms`
    (``_figures``); :func:`singular_value_spectra`, :func:`lyapunov_exponents`,
    :func:`lyapunov_convergence` (``_lyapunov``); :func:`layer_gradient_norms`,
    :func:`state_label` (``_stack``: stacked networks, per-layer blocks); :func:`phase_diagram`,
    :data:`REGIMES` (``_phase``) and its data, :func:`phase_table` (``_gallery``).
Deep feedforward nets
    :func:`depth_profile`, :func:`depth_spectra` (``_deep``).
Gradient monitor
    :func:`plot_monitor`, :func:`monitor_history`, :func:`monitor_layers`,
    :func:`monitor_lags` (``_monitor``).
Remedies
    :func:`bptt_lag_figure`, :func:`clipping_figure`, :func:`regularizer_figure`,
    :func:`truncation_figure`, :func:`penalty_figure`,
    :func:`spectral_control_figure`, :func:`echo_state_figure`,
    :func:`leaky_figure`, :func:`teacher_forcing_figure`,
    :func:`remedies_figure_set` (``_remedies``); :func:`parameter_lag_figure`
    (``_params``: any cell's parameter gradients by lag, e.g. an LSTM's
    dE/dW_hh; the set's ``lstm_lags``).
Non-normality
    :func:`pseudospectra_contours`, :func:`transient_growth_curves` (``_nonnormal``).
Linear recurrent units
    :func:`curse_of_memory_figure`, :func:`measure_curse_of_memory`,
    :func:`lru_eigenvalues` (``_memory``).
Reports
    :func:`model_report`: one self-contained ``report.html`` (figures embedded)
    and ``report.json`` of a network (``_report``; ``spectra report``).
The figure set
    ``spectra figures --out DIR`` writes a registry of named builders
    (``_figureset``): :func:`register`, :func:`unregister`, :func:`figure_names`,
    :func:`figure_specs`, :func:`build_figure`, :func:`make_figure_set`,
    :class:`FigureSpec`.  Figures that share their data are declared as a
    ``FigureFamily`` of ``FigureRecipe`` entries (the remedies).  Seeds are
    passed as ``rng=`` (``seed=`` is the deprecated 0.1 alias).

May import
----------
matplotlib (never ``matplotlib.pyplot``) and every layer of spectra below it:
``_core``, ``cells``, ``jacobians``, ``linalg``, ``analysis``, ``nonnormal``,
``remedies``, ``sweeps``, ``monitor``; not ``spectra.cli``, which imports this.
Nothing else in spectra imports ``spectra.plot`` (not even inside a function),
so ``import spectra`` never loads matplotlib; the top-level namespace loads
this package on first access to ``spectra.plot`` (``GradientMonitor.plot``
draws through that attribute).
"""

from ._style import (PALETTE, WIDTHS, color, decade_ticks, figure_and_axes, log_axis, paper_style,
                     save)

# figure functions of products, spectra and bounds; the figure set and its registry
from ._figures import activation_derivatives, eigenvalues, gradient_norms
from ._lyapunov import lyapunov_convergence, lyapunov_exponents, singular_value_spectra
from ._phase import REGIMES, phase_diagram
from ._figureset import (FigureSpec, build_figure, figure_names, figure_specs, make_figure_set,
                         register, unregister)
# the modules below register their builders on import: this order is the order of the set
from ._gallery import phase_table
from ._deep import depth_profile, depth_spectra
from ._monitor import monitor_history, monitor_lags, monitor_layers, plot_monitor
from ._remedies import (bptt_lag_figure, clipping_figure, echo_state_figure, leaky_figure,
                        penalty_figure, regularizer_figure, spectral_control_figure,
                        teacher_forcing_figure, truncation_figure)
from ._remedies import figure_set as remedies_figure_set
from ._nonnormal import pseudospectra_contours, transient_growth_curves
from ._stack import layer_gradient_norms, state_label
from ._params import parameter_lag_figure
from ._memory import curse_of_memory_figure, lru_eigenvalues, measure_curse_of_memory
from ._report import model_report

__all__ = [
    # style
    "PALETTE", "WIDTHS", "color", "figure_and_axes", "paper_style", "save", "log_axis",
    "decade_ticks",
    # products, spectra and bounds
    "activation_derivatives", "eigenvalues", "gradient_norms", "singular_value_spectra",
    "lyapunov_exponents", "lyapunov_convergence", "layer_gradient_norms", "state_label", "phase_diagram", "phase_table", "REGIMES",
    # the figure set
    "register", "unregister", "figure_names", "figure_specs", "build_figure", "make_figure_set",
    "FigureSpec",
    # deep feedforward nets and the gradient monitor
    "depth_profile", "depth_spectra", "monitor_history", "monitor_layers", "monitor_lags",
    "plot_monitor",
    # remedies
    "bptt_lag_figure", "clipping_figure", "regularizer_figure", "truncation_figure",
    "penalty_figure", "spectral_control_figure", "echo_state_figure", "leaky_figure",
    "teacher_forcing_figure", "remedies_figure_set", "parameter_lag_figure",
    # non-normality
    "pseudospectra_contours", "transient_growth_curves",
    # linear recurrent units
    "curse_of_memory_figure", "lru_eigenvalues", "measure_curse_of_memory",
    # reports
    "model_report",
]
