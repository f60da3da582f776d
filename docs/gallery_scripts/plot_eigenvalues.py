"""
Eigenvalues of W and of a step Jacobian
=======================================

Saturation pulls the spectrum of ``J_T = diag(f'(a_T)) W`` inside the unit circle.
"""
import numpy as np
import spectra
from spectra import init, plot

W = init.gaussian(100, gain=1.5, rng=0)
traj = spectra.ElmanRNN(W).run(steps=50, h0=np.random.default_rng(1).standard_normal(100))
fig = plot.eigenvalues({"W": W, "J_T": traj.jacobian(50)})
