"""
Activation derivatives and gamma_h
==================================

The bound of Pascanu et al. multiplies ``gamma_W = ||W_hh||_2`` by ``gamma_h = sup |f'|``:
1 for tanh, 1/4 for the logistic sigmoid.
"""
import spectra
from spectra import plot

acts = [spectra.activation(name) for name in ("tanh", "sigmoid", "relu")]
print({a.name: a.gamma for a in acts})
fig = plot.activation_derivatives(acts)
