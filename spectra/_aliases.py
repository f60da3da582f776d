"""Names of spectra 0.1 that left the curated top level: where each lives now.

``spectra.X`` still resolves for every one of them (``spectra.__getattr__``
looks them up here, importing nothing until asked).  Renamed results keep
their 0.1 name as an alias of the new one.
"""

ALIASES_01 = {
    # cells and jacobians
    "GRUJacobians": ("spectra.cells.gated", "GRUJacobians"),
    "LSTMJacobians": ("spectra.cells.gated", "LSTMJacobians"),
    "LayerJacobians": ("spectra.cells.mlp", "LayerJacobians"),
    "NormLayerJacobians": ("spectra.cells.norm", "NormLayerJacobians"),
    "LayerTrajectory": ("spectra.jacobians.layer_trajectory", "LayerTrajectory"),
    # linalg
    "condition_number": ("spectra.linalg", "condition_number"),
    "step_condition_numbers": ("spectra.linalg", "step_condition_numbers"),
    # analysis
    "LyapunovResult": ("spectra.analysis.lyapunov", "LyapunovSpectrum"),
    "SlopeFit": ("spectra.analysis.deep", "SlopeFit"),
    "linear_gaussian_spread": ("spectra.analysis.meanfield", "linear_gaussian_spread"),
    # remedies
    "BPTTResult": ("spectra.remedies.bptt", "BPTTGradient"),
    "TruncationResult": ("spectra.remedies.bptt", "TruncationCurve"),
    "ClipResult": ("spectra.remedies.clipping", "ClippedGradient"),
    "clip_by_value": ("spectra.remedies.clipping", "clip_by_value"),
    "RegularizerResult": ("spectra.remedies.regularizer", "RegularizerValue"),
    "penalty_path": ("spectra.remedies.penalties", "penalty_path"),
    "PenaltyPath": ("spectra.remedies.penalties", "PenaltyPath"),
    "decay_steps_to_vanishing": ("spectra.remedies.penalties", "decay_steps_to_vanishing"),
    "spectral_control": ("spectra.remedies.penalties", "spectral_control"),
    "SpectralControl": ("spectra.remedies.penalties", "SpectralControl"),
    "soft_threshold": ("spectra.remedies.penalties", "soft_threshold"),
    "EchoStateCheck": ("spectra.remedies.echo_state", "EchoStateCheck"),
    "fit_readout": ("spectra.remedies.echo_state", "fit_readout"),
    "Readout": ("spectra.remedies.echo_state", "Readout"),
    "leaky_alpha": ("spectra.remedies.leaky", "leaky_alpha"),
    "LeakyComparison": ("spectra.remedies.leaky", "LeakyComparison"),
    "ClosedLoopRNN": ("spectra.remedies.closed_loop", "ClosedLoopRNN"),
    "FeedbackJacobians": ("spectra.remedies.closed_loop", "FeedbackJacobians"),
    "closed_loop_jacobian": ("spectra.remedies.closed_loop", "closed_loop_jacobian"),
    "TeacherForcingComparison": ("spectra.remedies.closed_loop", "TeacherForcingComparison"),
    # non-normality
    "NonNormality": ("spectra.nonnormal", "NonNormality"),
    "StepNonNormality": ("spectra.nonnormal", "StepNonNormality"),
    "FieldOfValues": ("spectra.nonnormal", "FieldOfValues"),
    "TransientGrowth": ("spectra.nonnormal", "TransientGrowth"),
    "ProductGrowth": ("spectra.nonnormal", "ProductGrowth"),
    "KreissConstant": ("spectra.nonnormal", "KreissConstant"),
    "Pseudospectra": ("spectra.nonnormal", "Pseudospectra"),
    "PseudospectralRadius": ("spectra.nonnormal", "PseudospectralRadius"),
    "henrici_departure": ("spectra.nonnormal", "henrici_departure"),
    "eigenvector_condition": ("spectra.nonnormal", "eigenvector_condition"),
    "numerical_abscissa": ("spectra.nonnormal", "numerical_abscissa"),
    "numerical_radius": ("spectra.nonnormal", "numerical_radius"),
    "step_nonnormality": ("spectra.nonnormal", "step_nonnormality"),
    "product_growth": ("spectra.nonnormal", "product_growth"),
    "pseudospectral_radius": ("spectra.nonnormal", "pseudospectral_radius"),
    "normal_counterpart": ("spectra.nonnormal", "normal_counterpart"),
    "random_nonnormal": ("spectra.nonnormal", "random_nonnormal"),
    # sweeps and threads
    "SweepRecord": ("spectra.sweeps", "SweepRecord"),
    "SweepResult": ("spectra.sweeps", "SweepResult"),
    "process_pool": ("spectra.sweeps", "process_pool"),
    "get_threads": ("spectra._core.threads", "get_threads"),
}
