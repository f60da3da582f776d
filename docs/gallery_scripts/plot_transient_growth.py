"""
Transient growth of a non-normal matrix
=======================================

A weight matrix with spectral radius 0.9 whose powers first grow 29-fold: eigenvalues
predict the end, not the way there.
"""
import numpy as np
import spectra
from matplotlib.figure import Figure

W = spectra.nonnormal.random_nonnormal(64, spectral_radius=0.9, coupling=2.0, rng=0)
g = spectra.transient_growth(W, steps=80)
normal = spectra.transient_growth(spectra.nonnormal.normal_counterpart(W), steps=80)
print(round(g.peak, 1), g.peak_step)

fig = Figure(figsize=(5, 3.2), layout="constrained")
ax = fig.add_subplot()
t = np.arange(len(g.norms))
ax.semilogy(t, g.norms, label=r"$\|W^t\|_2$")
ax.semilogy(t, normal.norms, label="normal, same eigenvalues")
ax.semilogy(t, 0.9 ** t, "k--", label=r"$\rho^t$")
ax.set_xlabel("t")
ax.legend()
