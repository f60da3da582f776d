"""Input checks and small dense helpers shared by the modules of :mod:`spectra.nonnormal`."""

from __future__ import annotations

import numpy as np

from .._core.validation import as_matrix
from ..jacobians import as_jacobian_sequence

__all__ = ["square_matrix", "dense_spectral_radius", "single_sequence"]


def square_matrix(W, name="W"):
    """``W`` as a finite, non-empty, square float64 matrix (ValueError/TypeError naming ``name``)."""
    return as_matrix(W, name, square=True)


def dense_spectral_radius(W):
    """``max |lambda_i(W)|`` from a dense eigenvalue solve (0.0 for an empty W)."""
    return float(np.max(np.abs(np.linalg.eigvals(W)))) if W.size else 0.0


def single_sequence(J, name):
    """``J`` as a square, unbatched, non-empty :class:`~spectra.jacobians.JacobianSequence`."""
    seq = as_jacobian_sequence(J, name=name)
    seq.require_square(name)
    if seq.batch_shape:
        raise ValueError(f"`{name}` must be a single sequence; got batch shape {seq.batch_shape} "
                         "(use .select(b) first)")
    if seq.steps == 0:
        raise ValueError(f"`{name}` must contain at least one step; got an empty sequence")
    return seq
