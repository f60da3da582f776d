"""
Singular values of long products
================================

All singular values of ``dh_t/dh_{t-lag}`` for growing lags, computed in the log domain;
divided by the lag they approach the Lyapunov spectrum.
"""
import numpy as np
import spectra
from spectra import plot

cell = spectra.ElmanRNN.random(16, gain=1.5, rng=0)
traj = cell.run(steps=256, h0=np.random.default_rng(1).standard_normal(16))
fig = plot.singular_value_spectra(traj, [1, 16, 256], per_step=True)
