"""The seed literature's remedies for vanishing and exploding gradients, made measurable.

Each remedy comes with the numbers that show what it does to the Jacobian
spectrum or to the gradient (Pascanu, Mikolov & Bengio 2013; seed text,
"Proposed solutions"):

* backpropagation through time split by lag, and truncated BPTT:
  :func:`bptt_gradient`, :func:`truncated_bptt_error`;
* gradient clipping: :func:`clip_by_norm` (seed eq. 13), :func:`clip_by_value`;
* the vanishing-gradient regulariser Omega and its gradient:
  :func:`vanishing_regularizer`;
* L1/L2 penalties on W_hh and spectral control: :func:`penalty_path`,
  :func:`decay_steps_to_vanishing`, :func:`spectral_control`, :func:`soft_threshold`;
* echo-state networks: :func:`echo_state_check`, :func:`fit_readout`;
* leaky integration: :func:`leaky_alpha`, :func:`leaky_comparison`;
* teacher forcing against free running: :class:`ClosedLoopRNN`,
  :func:`closed_loop_jacobian`, :func:`teacher_forcing_comparison`.

Everything is numpy.  May import: :mod:`spectra._core`, :mod:`spectra.cells`,
:mod:`spectra.jacobians`, :mod:`spectra.linalg`, :mod:`spectra.analysis`.
The shared engine of the exact gradients (a cell's :class:`~spectra.cells.Recurrence`
in float64, the forward pass and its adjoint) is :mod:`.engine`.
"""

from .bptt import BPTTGradient, TruncationCurve, bptt_gradient, truncated_bptt_error
from .clipping import ClippedGradient, clip_by_norm, clip_by_value
from .closed_loop import (ClosedLoopRNN, FeedbackJacobians, TeacherForcingComparison,
                           closed_loop_jacobian, teacher_forcing_comparison)
from .echo_state import EchoStateCheck, Readout, echo_state_check, fit_readout
from .leaky import LeakyComparison, leaky_alpha, leaky_comparison
from .penalties import (PenaltyPath, SpectralControl, decay_steps_to_vanishing, penalty_path,
                         soft_threshold, spectral_control)
from .regularizer import RegularizerValue, vanishing_regularizer

# 0.1 names of the results
BPTTResult, TruncationResult, ClipResult, RegularizerResult = (BPTTGradient, TruncationCurve,
                                                               ClippedGradient, RegularizerValue)

__all__ = [
    "bptt_gradient",
    "BPTTGradient",
    "truncated_bptt_error",
    "TruncationCurve",
    "clip_by_norm",
    "clip_by_value",
    "ClippedGradient",
    "vanishing_regularizer",
    "RegularizerValue",
    "penalty_path",
    "PenaltyPath",
    "decay_steps_to_vanishing",
    "spectral_control",
    "SpectralControl",
    "soft_threshold",
    "echo_state_check",
    "EchoStateCheck",
    "fit_readout",
    "Readout",
    "leaky_alpha",
    "leaky_comparison",
    "LeakyComparison",
    "ClosedLoopRNN",
    "FeedbackJacobians",
    "closed_loop_jacobian",
    "teacher_forcing_comparison",
    "TeacherForcingComparison",
]
