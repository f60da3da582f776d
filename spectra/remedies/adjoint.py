"""BPTT for any cell: the adjoint sweep through a cell's step Jacobians, in float64.

:class:`CellProblem` is :class:`~spectra.remedies.engine.Problem` for a cell
without the classic form (LSTM, GRU, :class:`~spectra.Stack`,
:class:`~spectra.TorchCell`, the modern diagonal recurrences, ...): outputs
``z_t = W_yh h_t + b_y`` read the network's output ``h_t`` (the cell's
``hidden_part``: the top layer's hidden state of a stack), the adjoints
``g_t = dE/dh_t`` come from one backward sweep of the cell's own
``JacobianSequence.rmatmat``, and the parameter gradients from the cell's
``parameter_vjp`` hook applied to them.

May import: everything above :mod:`spectra._core` except the leaves.
"""

from __future__ import annotations

import numpy as np

from .._core.validation import describe
from ..cells.base import Cell
from ..cells.gated import GRU, LSTM
from ..cells.stack import Stack
from .engine import Net, Problem, check_finite, run_for

__all__ = ["CellProblem", "has_parameter_vjp", "float64_cell", "hidden_index"]


def has_parameter_vjp(cell) -> bool:
    """Whether ``cell`` implements the optional ``parameter_vjp`` hook."""
    return isinstance(cell, Cell) and type(cell).parameter_vjp is not Cell.parameter_vjp


def float64_cell(cell):
    """A float64 twin of a float32 classic cell, LSTM, GRU or Stack of them (others as they are)."""
    if np.dtype(cell.dtype) == np.float64:
        return cell
    if isinstance(cell, Stack):
        return Stack([float64_cell(c) for c in cell.cells])
    if cell.recurrence() is not None:
        twin = Net(cell).cell
    elif isinstance(cell, (LSTM, GRU)):
        p = cell.parameters()
        twin = type(cell)(p.get("weight_ih"), p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"),
                          dtype=np.float64)
    else:
        return cell
    twin.torch_names = cell.torch_names
    return twin


def hidden_index(cell):
    """How the cell's output (``hidden_part``) reads its state: integer indices, or a matrix.

    ``idx`` with ``hidden_part(states) = states[..., idx]`` (every built-in
    cell), else the ``(n, p)`` matrix P with ``hidden_part(states) = states @ P``
    for a linear read-out.  A TypeError for one that is neither.
    """
    n = cell.n
    probe = np.random.default_rng(0).standard_normal((2, n))
    out = np.asarray(cell.hidden_part(np.arange(1.0, n + 1.0)[None, :]), dtype=np.float64)
    if out.ndim == 2 and out.shape[0] == 1 and np.all(out == np.round(out)) and \
            np.all((out >= 1) & (out <= n)):
        idx = out[0].astype(np.intp) - 1                 # a selection (every built-in cell)
        if np.array_equal(np.asarray(cell.hidden_part(probe)), probe[..., idx]):
            return idx
    P = np.asarray(cell.hidden_part(np.eye(n)), dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != n or not np.allclose(
            np.asarray(cell.hidden_part(probe), dtype=np.float64), probe @ P, rtol=1e-12, atol=1e-12):
        raise TypeError(f"`cell` ({type(cell).__name__}) must output a linear function of its "
                        "state (hidden_part(states) = states @ P, e.g. a selection) for BPTT")
    return P


class CellProblem(Problem):
    """A BPTT problem for any cell with the ``parameter_vjp`` hook (batch axis always present).

    Attributes beyond :class:`Problem`'s: ``cell`` (the float64 cell that
    ran), ``idx`` (where its output sits in the state, or the read-out
    matrix: :func:`hidden_index`), ``E`` the per-step
    seeds ``dE_t/dh_t`` on the whole state ``(B, T, n)``.
    """

    def __init__(self, cell, inputs, targets, W_yh, b_y, *, loss, h0, step_weights):
        if not has_parameter_vjp(cell):
            got = type(cell).__name__ if isinstance(cell, Cell) else describe(cell)
            raise TypeError(f"`cell` must be a spectra cell with the parameter_vjp hook (ElmanRNN, "
                            f"LeakyRNN, RecurrentFirstRNN, LSTM, GRU, Stack, TorchCell, ...); got "
                            f"{got}, which does not implement parameter_vjp")
        self.net = None
        self.cell = cell = float64_cell(cell)
        self.idx = hidden_index(cell)
        width = self.idx.shape[-1]
        T, lead = self._readout(loss, W_yh, b_y, targets, width)
        traj = run_for(cell, inputs, h0, T)
        self._bind(traj, lead, step_weights)
        n = cell.n
        self.n = n
        self.H = np.asarray(traj.states, dtype=np.float64).reshape(self.B, T + 1, n)
        select = self.idx.ndim == 1
        self.Hout = self.H[..., self.idx] if select else self.H @ self.idx
        self._outputs()
        e = self.E                                           # W_yh^T dE_t/dz_t, (B, T, p)
        if select:
            self.E = np.zeros((self.B, T, n))
            self.E[..., self.idx] = e
        else:
            self.E = e @ self.idx.T
        self.seq = traj.jacobian_sequence

    def _rmat(self, t, Y):
        """``J_t^T`` on rows ``Y`` (B, n) (t = 1..T)."""
        if self.batched:
            return self.seq.rmatmat(t, Y[..., None])[..., 0]
        return self.seq.rmatmat(t, Y[0][:, None])[None, :, 0]

    def jt(self, s0, s1, U):
        """Rows ``J_s^T u_s`` for steps s = s0+1..s1, U (B, s1 - s0, n)."""
        out = np.empty(U.shape)
        for j, s in enumerate(range(s0 + 1, s1 + 1)):
            out[:, j] = self._rmat(s, U[:, j])
        return out

    def backward(self):
        """dE/dh_t for t = 0..T, shape (B, T+1, n), in one sweep of the cell's rmatmat."""
        T, E = self.T, self.E
        G = np.empty((self.B, T + 1, self.n))
        with np.errstate(over="ignore", invalid="ignore"):
            g = E[:, T - 1]
            G[:, T] = g
            for t in range(T, 0, -1):
                g = self._rmat(t, g)
                if t >= 2:
                    g = g + E[:, t - 2]
                G[:, t - 1] = g
        check_finite(G, "dE/dh")
        return G

    def parameter_grads(self, U, per_step=False):
        """``traj.parameter_vjp`` of cotangents U (B, T, n) on h_1..h_T, names checked."""
        U = U if self.batched else U[0]
        return checked_vjp(self.traj, U, per_step)


def checked_vjp(traj, U, per_step=False):
    """``traj.parameter_vjp(U)``, checking the hook returned one array per parameter."""
    out = traj.parameter_vjp(U, per_step=per_step)
    params = traj.cell.parameters()
    if set(out) != set(params):
        raise TypeError(f"{type(traj.cell).__name__}.parameter_vjp must return one gradient per "
                        f"parameter {sorted(params)}; got {sorted(out)}")
    lead = U.shape[:-1] if per_step else ()
    for k, v in out.items():
        if np.shape(v) != lead + np.shape(params[k]):
            raise TypeError(f"{type(traj.cell).__name__}.parameter_vjp returned shape "
                            f"{np.shape(v)} for {k!r}; expected {lead + np.shape(params[k])}")
    return {k: np.asarray(out[k], dtype=np.float64) for k in params}
