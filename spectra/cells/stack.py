"""Stacked recurrent layers as one step map: :class:`Stack` and its step Jacobians.

Layer l reads layer l-1's hidden output at the same step,
``h^l_t = F_l(h^l_{t-1}, out(h^{l-1}_t))``; the state is the concatenation of
the layers' states, layer 0 first.  The step Jacobian is block
lower-triangular: diagonal blocks ``J^l_t`` (each layer's own factored
sequence) and cross-layer blocks ``B^l_t P_{l-1} (row l-1)`` built from the
layers' input Jacobians (the ``input_jacobians`` hook), all matrix-free.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import numpy as np

from .base import Cell
from ..jacobians.sequence import JacobianSequence
from .._core.validation import as_array, describe

__all__ = ["Stack", "StackJacobians", "StackInputJacobians"]


def _hidden_index(cell):
    """Indices of a cell's hidden part inside its state (its output to the next layer)."""
    idx = np.asarray(cell.hidden_part(np.arange(cell.n, dtype=np.float64)[None, :]))[0]
    return idx.astype(np.intp)


class Stack(Cell):
    """A multi-layer recurrent network as one cell (one step map).

    Parameters
    ----------
    cells : sequence of Cell
        The layers, bottom first.  Layer l > 0 reads layer l-1's hidden part
        (an LSTM's h, not its c) at the same step, so its ``input_size`` must
        equal that width, and it must implement the ``input_jacobians`` hook
        (every built-in recurrent cell does).

    Attributes
    ----------
    cells : tuple of Cell
    n : int
        Total state size; the state is ``[state of layer 0, state of layer 1, ...]``,
        each in its own order (LSTM: (h, c)).
    slices : tuple of slice
        Where each layer's state sits in the stack's state.

    Notes
    -----
    ``J_t = dH_t/dH_{t-1}`` is block lower-triangular: row l is
    ``B^l_t P_{l-1} (row l-1) + J^l_t e_l`` with ``B^l_t = dh^l_t/dx^l_t`` and
    ``P`` the selection of the hidden part.  ``log|det J_t|`` is the sum of
    the layers', and matmat/rmatmat cost one pass through the layers.
    ``Trajectory.hidden`` of a stack run is the top layer's hidden output.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> stack = spectra.Stack([spectra.LSTM.random(3, input_size=2, rng=0),
    ...                        spectra.GRU.random(4, input_size=3, rng=1)])
    >>> traj = stack.run(np.ones((5, 2)))
    >>> stack.n, traj.jacobian(5).shape, traj.hidden.shape
    (10, (10, 10), (6, 4))
    """

    def __init__(self, cells):
        if isinstance(cells, Cell) or not hasattr(cells, "__iter__"):
            raise TypeError(f"`cells` must be a sequence of cells (layer 0 first); got {describe(cells)}")
        cells = tuple(cells)
        if not cells:
            raise ValueError("`cells` must hold at least one cell; got an empty sequence")
        for l, c in enumerate(cells):
            if not isinstance(c, Cell):
                raise TypeError(f"`cells[{l}]` must be a spectra.Cell; got {describe(c)}")
        dtypes = {np.dtype(c.dtype) for c in cells}
        if len(dtypes) > 1:
            raise ValueError(f"`cells` must share one dtype; got {sorted(str(d) for d in dtypes)}")
        self._hidden_idx = tuple(_hidden_index(c) for c in cells)
        for l in range(1, len(cells)):
            width = self._hidden_idx[l - 1].size
            if cells[l].input_size != width:
                raise ValueError(f"`cells` widths do not chain: cells[{l}] takes inputs of size "
                                 f"{cells[l].input_size}, but cells[{l - 1}] outputs hidden states "
                                 f"of size {width}")
        self.cells = cells
        self.dtype = dtypes.pop()
        self.input_size = cells[0].input_size
        offsets = np.cumsum([0] + [c.n for c in cells])
        self.n = int(offsets[-1])
        self.slices = tuple(slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:]))
        self._aux_widths = tuple(self._probe_aux(c) for c in cells)
        off = np.cumsum([0] + list(self._aux_widths))
        self._aux_slices = tuple(slice(int(a), int(b)) for a, b in zip(off[:-1], off[1:]))

    @property
    def layers(self) -> int:
        """Number of layers."""
        return len(self.cells)

    def _probe_aux(self, cell):
        h = cell.initial_state(None, ())
        X = np.zeros((1, cell.input_size), dtype=self.dtype) if cell.input_size else None
        u = cell.input_drive(X, 1, ())[..., 0, :]
        _, a = cell.advance(h, u)
        return 0 if a is None else int(np.shape(a)[-1])

    def __repr__(self) -> str:
        inner = ", ".join(repr(c) for c in self.cells)
        return f"Stack([{inner}])"

    # -- the protocol ------------------------------------------------------------------
    def parameters(self) -> dict:
        """``{"layer{l}.{name}": array}`` over the layers."""
        return {f"layer{l}.{k}": v for l, c in enumerate(self.cells) for k, v in c.parameters().items()}

    @property
    def torch_names(self):
        """``{torch name: "layer{l}.{name}"}`` when every layer was loaded from torch, else None."""
        maps = [c.torch_names for c in self.cells]
        if any(m is None for m in maps):
            return None
        out = {}
        for l, m in enumerate(maps):
            for k, v in m.items():
                if k in out:
                    return None
                out[k] = f"layer{l}.{v}"
        return out

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """Parameter cotangents of a run (see :class:`~spectra.Cell`): ``layer{l}.{name}``.

        Layer l's parameters move h^l_t and, through the layers above at the
        same step, the states above it; so layer l gets the cotangent
        ``c^l_t = u^l_t + P_l^T (B^{l+1}_t)^T c^{l+1}_t`` (``B`` the input
        Jacobians of the layer above, ``P`` the selection of the hidden part),
        accumulated from the top, and its own ``parameter_vjp`` does the rest.
        """
        U = np.asarray(cotangents, dtype=np.float64)
        T = U.shape[-2]
        parts = list(self._split(states, aux))
        grads = [None] * self.layers
        c = U[..., self.slices[-1]]
        for l in range(self.layers - 1, -1, -1):
            cell, s, a = parts[l]
            x = inputs if l == 0 else self.cells[l - 1].hidden_part(parts[l - 1][1])[..., 1:, :]
            grads[l] = cell.parameter_vjp(s, x, a, c, per_step=per_step)
            if l:
                seq = cell.input_jacobians(s, a)
                up = np.zeros(c.shape[:-1] + (cell.input_size,))
                for t in range(1, T + 1):
                    up[..., t - 1, :] = seq.rmatmat(t, c[..., t - 1, :, None])[..., 0]
                c = np.array(U[..., self.slices[l - 1]])
                c[..., self._hidden_idx[l - 1]] += up
        return {f"layer{l}.{k}": v for l, g in enumerate(grads) for k, v in g.items()}

    def initial_state(self, h0, batch_shape, name="h0"):
        """Zeros, the full stacked state, or a list of per-layer states (LSTM: tuples allowed)."""
        if isinstance(h0, list):
            if len(h0) != self.layers:
                raise ValueError(f"`{name}` as a list must hold one state per layer ({self.layers}); "
                                 f"got {len(h0)}")
            parts = [c.initial_state(p, batch_shape, f"{name}[{l}]") for l, (c, p) in
                     enumerate(zip(self.cells, h0))]
            batch = np.broadcast_shapes(*(p.shape[:-1] for p in parts))
            return np.concatenate([np.broadcast_to(p, batch + p.shape[-1:]) for p in parts], axis=-1)
        if h0 is None:
            return np.concatenate([c.initial_state(None, batch_shape) for c in self.cells], axis=-1)
        h0 = as_array(h0, name, dtype=self.dtype, ndim=(1, 2))
        if h0.shape[-1] != self.n:
            raise ValueError(f"`{name}` must be the stacked state of length {self.n} (shape "
                             f"({self.n},) or (B, {self.n})), or a list of per-layer states; "
                             f"got shape {h0.shape}")
        return h0

    def input_drive(self, X, steps, batch_shape):
        return self.cells[0].input_drive(X, steps, batch_shape)

    def advance(self, h, u):
        new, auxes = [], []
        for l, (c, sl) in enumerate(zip(self.cells, self.slices)):
            if l:
                x = new[-1][..., self._hidden_idx[l - 1]]
                u = c.input_drive(x[..., None, :], 1, x.shape[:-1])[..., 0, :]
            hl, a = c.advance(h[..., sl], u)
            new.append(hl)
            if a is not None:
                auxes.append(a)
        return np.concatenate(new, axis=-1), (np.concatenate(auxes, axis=-1) if auxes else None)

    def _split(self, states, aux):
        for l, (c, sl, asl) in enumerate(zip(self.cells, self.slices, self._aux_slices)):
            a = None if aux is None or asl.stop == asl.start else aux[..., asl]
            yield c, states[..., sl], a

    def factored_jacobians(self, states, aux):
        diag, cross = [], []
        for l, (c, s, a) in enumerate(self._split(states, aux)):
            diag.append(c.factored_jacobians(s, a))
            if l:
                cross.append(c.input_jacobians(s, a))
        return StackJacobians(diag, cross, self._hidden_idx, states.shape[-2] - 1,
                              [c.n for c in self.cells])

    def input_jacobians(self, states, aux):
        """``dH_t/dx_t`` of a run: layer 0's input Jacobians carried up the stack."""
        seqs = [c.input_jacobians(s, a) for c, s, a in self._split(states, aux)]
        return StackInputJacobians(seqs, self._hidden_idx, states.shape[-2] - 1,
                                   [c.n for c in self.cells])

    def hidden_part(self, states):
        """The top layer's hidden output (what the stack emits)."""
        return self.cells[-1].hidden_part(states[..., self.slices[-1]])

    def layer_states(self, states, layer):
        """Layer ``layer``'s part of stacked states (its full state; LSTM: (h, c))."""
        return states[..., self.slices[layer]]


class _StackBase(JacobianSequence):
    def __init__(self, seqs, hidden_idx, steps):
        self.seqs = list(seqs)
        self.hidden_idx = hidden_idx
        self.steps = steps
        self.batch_shape = tuple(self.seqs[0].batch_shape)
        self.dtype = self.seqs[0].dtype
        self.sizes = [len(i) for i in hidden_idx]

    def matrix(self, t):
        n_in = self.step_shape(t)[1]
        E = np.broadcast_to(np.eye(n_in, dtype=self.dtype), self.batch_shape + (n_in, n_in))
        return self.matmat(t, np.ascontiguousarray(E))


class StackJacobians(_StackBase):
    """Step Jacobians of a :class:`Stack`: block lower-triangular, matrix-free.

    ``diag[l]`` are the layers' step Jacobians, ``cross[l-1]`` the input
    Jacobians of layer l (l >= 1); row l of ``J_t`` is
    ``cross[l-1]_t P_{l-1} (row l-1) + diag[l]_t e_l``.
    """

    def __init__(self, diag, cross, hidden_idx, steps, widths):
        super().__init__(diag, hidden_idx, steps)
        self.diag, self.cross = list(diag), list(cross)
        self.widths = list(widths)
        off = np.cumsum([0] + self.widths)
        self.slices = [slice(int(a), int(b)) for a, b in zip(off[:-1], off[1:])]
        self._n = int(off[-1])

    def step_shape(self, t):
        return (self._n, self._n)

    @property
    def is_square(self):
        return True

    def matmat(self, t, X):
        out, prev = [], None
        for l, (d, sl) in enumerate(zip(self.diag, self.slices)):
            Y = d.matmat(t, X[..., sl, :])
            if l:
                Y = Y + self.cross[l - 1].matmat(t, prev[..., self.hidden_idx[l - 1], :])
            out.append(Y)
            prev = Y
        return np.concatenate(out, axis=-2)

    def rmatmat(self, t, Y):
        L = len(self.diag)
        out = [None] * L
        c = Y[..., self.slices[-1], :]
        for l in range(L - 1, -1, -1):
            out[l] = self.diag[l].rmatmat(t, c)
            if l:
                up = self.cross[l - 1].rmatmat(t, c)
                c = np.array(np.broadcast_to(Y[..., self.slices[l - 1], :], up.shape[:-2] + (
                    self.widths[l - 1], up.shape[-1])))
                c[..., self.hidden_idx[l - 1], :] += up
        return np.concatenate(out, axis=-2)

    def logabsdet(self, t):
        return sum(d.logabsdet(t) for d in self.diag)

    def select(self, b):
        return StackJacobians([d.select(b) for d in self.diag], [c.select(b) for c in self.cross],
                              self.hidden_idx, self.steps, self.widths)


class StackInputJacobians(_StackBase):
    """Input Jacobians ``dH_t/dx_t`` of a :class:`Stack` (layer 0's input carried up), matrix-free."""

    def __init__(self, seqs, hidden_idx, steps, widths):
        super().__init__(seqs, hidden_idx, steps)
        self.widths = list(widths)  # per-layer state sizes

    def step_shape(self, t):
        return (sum(self.widths), self.seqs[0].step_shape(t)[1])

    @property
    def is_square(self):
        return False

    def matmat(self, t, X):
        out = [self.seqs[0].matmat(t, X)]
        for l in range(1, len(self.seqs)):
            out.append(self.seqs[l].matmat(t, out[-1][..., self.hidden_idx[l - 1], :]))
        return np.concatenate(out, axis=-2)

    def rmatmat(self, t, Y):
        off = np.cumsum([0] + self.widths)
        c = Y[..., off[-2]:off[-1], :]
        for l in range(len(self.seqs) - 1, 0, -1):
            up = self.seqs[l].rmatmat(t, c)
            c = np.array(np.broadcast_to(Y[..., off[l - 1]:off[l], :], up.shape[:-2] + (
                self.widths[l - 1], up.shape[-1])))
            c[..., self.hidden_idx[l - 1], :] += up
        return self.seqs[0].rmatmat(t, c)

    def select(self, b):
        return StackInputJacobians([s.select(b) for s in self.seqs], self.hidden_idx, self.steps,
                                   self.widths)
