"""Trajectories: a cell run over inputs, with its step Jacobians kept factored."""

from __future__ import annotations

import inspect

import numpy as np

from .kernels import check_dtype

from .sequence import LAYOUTS, JacobianSequence
from .._core.validation import check_choice, check_int

__all__ = ["Trajectory"]


def _readonly(a):
    if a is not None:
        a.flags.writeable = False
    return a


class Trajectory:
    """A run of a step map: states h_0..h_T and the step Jacobians J_1..J_T.

    Attributes
    ----------
    states : (T+1, n) or (B, T+1, n) ndarray
        Row t is h_t; row 0 is the initial state.  For an LSTM the state is
        the 2n vector [h, c].
    hidden : ndarray
        The hidden part of the state (``states`` itself except for the LSTM,
        where it is h).
    inputs : (T, d) or (B, T, d) ndarray or None
        The inputs x_1..x_T, or None for an autonomous run.
    preactivations : ndarray or None
        What the cell computed before its nonlinearity at each step
        (a_1..a_T for the Elman and leaky cells; the stacked gate
        pre-activations for gated cells), or None.
    jacobian_sequence : JacobianSequence
        The step Jacobians in factored form (O(T n) memory beyond the weights).
    cell : Cell
        The cell that produced the run.

    Notes
    -----
    Steps are 1-based: ``jacobian(t)`` is ``J_t = dh_t/dh_{t-1}`` for
    ``t = 1..T`` and ``product(t, k)`` is
    ``dh_t/dh_k = J_t J_{t-1} ... J_{k+1}`` (the identity when ``k == t``).
    ``layout="backprop"`` gives transposes, which carry dE/dh backwards:
    ``dE/dh_k = product(t, k, layout="backprop") @ dE/dh_t``.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[0.5, 0.2], [-0.3, 0.8]])
    >>> traj = spectra.ElmanRNN(W).run(h0=[0.1, -0.2], steps=5)
    >>> traj.states.shape
    (6, 2)
    >>> bool(np.allclose(traj.product(3, 1), traj.jacobian(3) @ traj.jacobian(2)))
    True
    """

    def __init__(self, cell, states, inputs, jacobian_sequence: JacobianSequence,
                 preactivations=None):
        self.cell = cell
        self.states = _readonly(states)
        self.inputs = _readonly(inputs)
        self.preactivations = _readonly(preactivations)
        self.jacobian_sequence = jacobian_sequence

    # -- shape -------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Number of steps T."""
        return self.states.shape[-2] - 1

    def __len__(self) -> int:
        return self.steps

    @property
    def n(self) -> int:
        """Size of the state (the Jacobians are n x n)."""
        return self.states.shape[-1]

    @property
    def batch_shape(self) -> tuple:
        """``()`` for a single run, ``(B,)`` for a batch of independent runs."""
        return self.states.shape[:-2]

    @property
    def hidden(self) -> np.ndarray:
        """The hidden part of the state (h for an LSTM's [h, c])."""
        return self.cell.hidden_part(self.states)

    # -- Jacobians ---------------------------------------------------------------------
    def jacobian(self, t: int, *, layout: str = "numerator") -> np.ndarray:
        """Step Jacobian ``J_t = dh_t/dh_{t-1}`` for ``t = 1..T`` (dense, n x n)."""
        check_choice(layout, "layout", LAYOUTS)
        t = check_int(t, "t", minimum=1, maximum=self.steps)
        J = self.jacobian_sequence.matrix(t)
        return np.swapaxes(J, -1, -2).copy() if layout == "backprop" else J

    def jacobians(self, *, layout: str = "numerator") -> np.ndarray:
        """All step Jacobians, shape ``(T, n, n)``; ``[t-1]`` is ``jacobian(t)``."""
        check_choice(layout, "layout", LAYOUTS)
        J = self.jacobian_sequence.matrices()
        return np.swapaxes(J, -1, -2).copy() if layout == "backprop" else J

    def input_jacobian(self, t: int, k: int | None = None) -> np.ndarray:
        """``dh_t/dx_k = (dh_t/dh_k) dh_k/dx_k`` (dense n x d; ``k`` defaults to ``t``).

        How much the input x_k still moves the state h_t, for ``1 <= k <= t <= T``.
        Needs the cell's optional ``input_jacobians`` hook (every built-in
        recurrent cell and :class:`~spectra.Stack` have it).

        Examples
        --------
        >>> import numpy as np, spectra
        >>> cell = spectra.ElmanRNN(np.zeros((2, 2)), np.eye(2), activation="identity")
        >>> cell.run(np.ones((3, 2))).input_jacobian(3)
        array([[1., 0.],
               [0., 1.]])
        """
        t = check_int(t, "t", minimum=1, maximum=self.steps)
        k = t if k is None else check_int(k, "k", minimum=1, maximum=t)
        seq = self.input_jacobian_sequence
        B = seq.matrix(k)
        return self.jacobian_sequence.apply(t, k, B) if t > k else B

    @property
    def input_jacobian_sequence(self):
        """The input Jacobians ``dh_t/dx_t`` of the run, factored (computed on first use)."""
        if getattr(self, "_input_seq", None) is None:
            self._input_seq = self.cell.input_jacobians(self.states, self.preactivations)
        return self._input_seq

    def parameter_vjp(self, cotangents, *, per_step: bool = False) -> dict:
        """``{name: sum_t (dF_t/dtheta)^T u_t}`` for vectors ``u_t`` on the states h_1..h_T.

        ``cotangents`` has the shape of ``states[..., 1:, :]``.  With the
        adjoints ``u_t = dE/dh_t`` of a loss E this is dE/dtheta for every
        parameter of the cell (BPTT).  ``per_step=True`` keeps the step (and
        batch) axes.  Needs the cell's optional ``parameter_vjp`` hook.
        """
        U = np.asarray(cotangents)
        want = self.states.shape[:-2] + (self.steps, self.states.shape[-1])
        if U.shape != want:
            raise ValueError(f"`cotangents` must have shape {want} (one vector per new state "
                             f"h_1..h_T); got {U.shape}")
        return self.cell.parameter_vjp(self.states, self.inputs, self.preactivations,
                                       U, per_step=bool(per_step))

    def product(self, t: int | None = None, k: int | None = None, *,
                layout: str = "numerator", dtype="float64") -> np.ndarray:
        """``dh_t/dh_k = J_t ... J_{k+1}`` for ``0 <= k <= t <= T`` (defaults T, 0).

        Raises :class:`spectra.NumericalError` if the product leaves the
        float64 range; the log-domain routines handle such spans.
        ``dtype="float32"`` runs the matrix products in single precision
        (see :meth:`spectra.JacobianSequence.product`).
        """
        seq = self.jacobian_sequence
        if check_dtype(dtype) == "float64":
            return seq.product(t, k, layout=layout)
        if "dtype" not in inspect.signature(seq.product).parameters:
            raise ValueError(f"`dtype='float32'` is not available for a {type(seq).__name__}; "
                             "use dtype='float64'")
        return seq.product(t, k, layout=layout, dtype=dtype)

    def operator(self, t: int | None = None, k: int | None = None, *,
                 layout: str = "numerator"):
        """``dh_t/dh_k`` as a matrix-free ``scipy.sparse.linalg.LinearOperator``.

        matvec and rmatvec cost O((t-k) n^2) and never form an n x n matrix.
        """
        return self.jacobian_sequence.operator(t, k, layout=layout)

    def select(self, b: int) -> "Trajectory":
        """The ``b``-th run of a batched trajectory."""
        seq = self.jacobian_sequence.select(b)
        pick = (lambda a: None if a is None else a[b])
        return Trajectory(self.cell, pick(self.states), pick(self.inputs), seq,
                          pick(self.preactivations))

    def __repr__(self) -> str:
        batch = f", batch_shape={self.batch_shape}" if self.batch_shape else ""
        return f"Trajectory(cell={type(self.cell).__name__}, steps={self.steps}, n={self.n}{batch})"


def _batch_of(arr, core_ndim):
    return arr.shape[:arr.ndim - core_ndim]
