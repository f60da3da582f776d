"""Step Jacobians kept factored: sequences, trajectories and their kernels.

Lives here: the :class:`JacobianSequence` abstract base and the dense and
scaled sequences (:mod:`.sequence`, :mod:`.structured`), diagonal ones
(:mod:`.diagonal`), trajectories of cells and of layered maps
(:mod:`.trajectory`, :mod:`.layer_trajectory`), the progress bar of long
passes (:mod:`.progress`), the product kernels (:mod:`.kernels`) and the
single-precision block products of a span (:mod:`.single`).

May import: numpy, :mod:`spectra._core`.  Nothing here knows a cell class.
"""

from .sequence import JacobianSequence

from .structured import DenseJacobians, ScaledJacobians, as_jacobian_sequence
from .diagonal import DiagonalJacobians
from .trajectory import Trajectory
from .layer_trajectory import LayerTrajectory

__all__ = ["JacobianSequence", "DenseJacobians", "ScaledJacobians", "as_jacobian_sequence",
           "DiagonalJacobians", "Trajectory", "LayerTrajectory"]
