"""
A Lyapunov spectrum and its convergence
=======================================

The QR method of Benettin et al. on a tanh Elman network with gain 2: the exponents with
2-standard-error bars, and the running estimates.
"""
import numpy as np
import spectra
from spectra import plot

cell = spectra.ElmanRNN.random(32, gain=2.0, rng=0)
traj = cell.run(steps=600, h0=np.random.default_rng(1).standard_normal(32))
lyap = spectra.lyapunov_spectrum(traj, warmup=50)
print(lyap)
fig, (left, right) = plot.figure_and_axes(width="double", ncols=2)
plot.lyapunov_exponents(lyap, ax=left)
plot.lyapunov_convergence(lyap, ax=right)
