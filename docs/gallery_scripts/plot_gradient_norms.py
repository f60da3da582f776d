"""
Gradient norms against the bounds
=================================

Exact ``||dh_T/dh_{T-lag}||_2`` of tanh Elman networks with orthogonal weights, next to the
trajectory bound and the classic bound ``(gamma_W gamma_h)^lag``.
"""
import numpy as np
import spectra
from spectra import plot

reports = {}
for gain in (0.9, 1.1):
    cell = spectra.ElmanRNN.random(32, input_size=4, init="orthogonal", gain=gain, rng=0)
    traj = cell.run(np.random.default_rng(1).standard_normal((80, 4)))
    reports[f"gain {gain}"] = spectra.bound_report(traj)
    print(gain, spectra.regime(cell).regime)
fig = plot.gradient_norms(reports)
