"""Trajectories over depth: the forward pass of a feedforward stack."""

from __future__ import annotations

import numpy as np

from .trajectory import Trajectory, _readonly

__all__ = ["LayerTrajectory"]


class LayerTrajectory(Trajectory):
    """A forward pass through a feedforward stack; depth plays the role of time.

    Attributes
    ----------
    layers : tuple of (n_l,) or (B, n_l) ndarray
        ``layers[l]`` is h_l (``layers[0]`` the network input).
    layer_preactivations : tuple of ndarray
        a_1..a_L (``layer_preactivations[l-1]`` is a_l).
    widths : tuple of int
        (n_0, ..., n_L).
    layer_normalized : tuple of ndarray or None
        y_l = N_l(a_l), the normalised pre-activations, for a network with
        normalisation layers (None for layers without one); None otherwise.
    coupled : bool
        True when the examples of the batch are coupled (batch statistics):
        the state is then the flattened batch, ``layers[l].reshape(-1)``
        (row-major, index b n + i), ``batch_shape`` is ``()`` and
        ``jacobian(l)`` is (B n_l) x (B n_{l-1}).
    states : (L+1, n) or (B, L+1, n) ndarray
        The layers stacked, when every width is n (a ValueError names
        ``layers`` otherwise); ``preactivations`` likewise.  For a coupled
        batch, (L+1, B n): the flattened batch at each layer.
    jacobian_sequence : LayerJacobians
        ``jacobian(l) = dh_l/dh_{l-1}``; ``product(t, k)``, ``operator(t, k)``
        work for any widths, ``jacobians()`` when all layers have one shape.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> net = spectra.MLP.random([3, 5, 2], rng=0)
    >>> traj = net.run(np.ones(3))
    >>> traj.steps, traj.widths, traj.product(2, 0).shape
    (2, (3, 5, 2), (2, 3))
    """

    def __init__(self, cell, layers, layer_preactivations, jacobian_sequence, *, states=None,
                 preactivations=None, normalized=None, coupled=False):
        self.cell = cell
        self.layers = tuple(_readonly(h) for h in layers)
        self.layer_preactivations = tuple(_readonly(a) for a in layer_preactivations)
        self.layer_normalized = None if normalized is None else tuple(_readonly(y) for y in normalized)
        self.coupled = bool(coupled)
        self.inputs = None
        self.jacobian_sequence = jacobian_sequence
        if self.coupled:
            # the state is the flattened batch: (B, L+1, n) -> (L+1, B n)
            flat = (lambda a: None if a is None else
                    np.ascontiguousarray(np.swapaxes(a, 0, 1)).reshape(a.shape[1], -1))
            states, preactivations = flat(states), flat(preactivations)
        self._states = _readonly(states)
        self._preactivations = _readonly(preactivations)

    @property
    def widths(self) -> tuple:
        return tuple(h.shape[-1] for h in self.layers)

    def _uniform(self, what, value):
        if value is None:
            raise ValueError(f"`{what}` needs one width for every layer; this network's widths are "
                             f"{self.widths}: use `layers` (h_l) or `layer_preactivations` (a_l)")
        return value

    @property
    def states(self):
        """The layers h_0..h_L stacked, shape ``(L+1, n)`` (one width n only)."""
        return self._uniform("states", self._states)

    @property
    def preactivations(self):
        """a_1..a_L stacked, shape ``(L, n)`` (one width n only)."""
        return self._uniform("preactivations", self._preactivations)

    @property
    def steps(self) -> int:
        """The depth L."""
        return len(self.layers) - 1

    @property
    def n(self) -> int:
        if self.coupled:
            return self.jacobian_sequence.n
        widths = self.widths
        if len(set(widths)) != 1:
            raise ValueError(f"this network has layers of different widths {widths}; it has no "
                             "single state size n")
        return widths[0]

    @property
    def batch_shape(self) -> tuple:
        return () if self.coupled else self.layers[0].shape[:-1]

    def select(self, b: int) -> "LayerTrajectory":
        seq = self.jacobian_sequence.select(b)
        pick = (lambda a: None if a is None else a[b])
        return LayerTrajectory(self.cell, [h[b] for h in self.layers],
                               [a[b] for a in self.layer_preactivations], seq,
                               states=pick(self._states), preactivations=pick(self._preactivations),
                               normalized=(None if self.layer_normalized is None else
                                           [pick(y) for y in self.layer_normalized]))

    def __repr__(self) -> str:
        batch = f", batch_shape={self.batch_shape}" if self.batch_shape else ""
        if self.coupled:
            batch = f", coupled batch of {self.layers[0].shape[0]}"
        return f"LayerTrajectory(depth={self.steps}, widths={self.widths}{batch})"
