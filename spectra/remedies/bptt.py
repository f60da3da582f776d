"""Backpropagation through time for every cell, split by lag.

The model is the seed text's (eqs. 2-6): a recurrent cell (Elman, leaky,
recurrent-first, or any cell with the ``parameter_vjp`` hook: LSTM, GRU,
stacks, torch modules), outputs ``z_t = W_yh h_t + b_y`` and a loss summed over
time, ``E = sum_t w_t E_t(z_t)`` with

* ``loss="softmax"``: ``E_t = -sum_i p_{t,i} log softmax(z_t)_i`` (cross-entropy
  with class labels, p one-hot, or with target distributions p);
* ``loss="squared"``: ``E_t = ||z_t - y_t||^2 / 2`` (a linear output).

Everything here is computed in float64, whatever the cell's dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core.results import Result
from .._core.validation import check_int, describe
from ..cells.base import Cell
from .adjoint import CellProblem, checked_vjp
from .engine import Problem, check_finite, outer_sum

__all__ = ["BPTTGradient", "TruncationCurve", "bptt_gradient", "truncated_bptt_error"]


# ---------------------------------------------------------------------------------------
# The problem: a cell run over inputs, the outputs and the loss, in float64.


def _lag_sweep(pb, seeds, max_lag, *, on_lag):
    """Carry ``seeds`` (list of (B, T, n) arrays of per-step dE_t/dh_t) back lag by lag.

    At lag l the rows k = 1..T-l hold ``(dh_{k+l}/dh_k)^T seed_{k+l}``.  For each lag
    the callback ``on_lag(l, rows)`` receives the list of (B, T-l, n) row arrays.
    """
    T = pb.T
    rows = [np.asarray(s, dtype=np.float64) for s in seeds]
    with np.errstate(over="ignore", invalid="ignore"):
        for lag in range(0, min(max_lag, T - 1) + 1):
            for r in rows:
                check_finite(r, f"the gradient carried back {lag} steps")
            on_lag(lag, rows)
            if lag == min(max_lag, T - 1):
                break
            m = T - lag
            # rows k = 1..m-1 at the next lag: J_{k+1}^T applied to rows k+1 = 2..m
            rows = [pb.jt(1, m, r[:, 1:]) for r in rows]


def _contribution(pb, D_rows, m):
    """``sum_k D_k v_k r_{k-1}^T`` over k = 1..m and the batch."""
    return outer_sum(D_rows, pb.R[:, :m])


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class BPTTGradient(Result):
    """The gradient of a recurrent network's loss by backpropagation through time.

    Attributes
    ----------
    loss : float
        E = sum over the batch and the steps of w_t E_t.
    dW_hh : (n, n) ndarray or None
        dE/dW_hh (dE/dW for a RecurrentFirstRNN); None for a cell without
        the classic form (see ``grads``).
    dW_hx : (n, d) ndarray or None
        dE/dW_hx (dE/dW_in); None when the cell has no input matrix (or no
        classic form).
    db : (n,) ndarray or None
        dE/db (also when the cell has no bias: the gradient at b = 0); None
        for a cell without the classic form.
    dW_yh : (c, p) ndarray
        p is the width of the network's output h_t (n, or an LSTM's or a
        stack's top-layer hidden size).
    db_y : (c,) ndarray
    grad_h : (T+1, n) or (B, T+1, n) ndarray
        dE/dh_t for t = 0..T on the cell's whole state (row 0 is dE/dh_0); for
        a truncated gradient, the truncated one.
    lags : (T,) int ndarray
        0, 1, ..., T-1.
    lag_norms : (T,) ndarray or None
        ``||C_lag||_F``, the Frobenius norm of the part of dW_hh that comes from
        lag ``t - k = lag`` (summed over t and the batch); None unless
        ``decompose``.  ``sum_lag C_lag = dW_hh``.  For a cell without the
        classic form: the norm of the part of all the decomposed parameters
        together.
    pair_norms : (T, T) or (B, T, T) ndarray or None
        ``[t-1, k-1]`` is ``||C_{t,k}||_F``, the norm of the term of loss E_t
        through h_k (seed eq. 6); 0 for k > t.  None unless ``decompose``
        (and for cells without the classic form).
    truncation : int or None
        The truncation n (lags 0..n kept), or None for the full gradient.
    grads : dict
        ``{name: dE/dtheta}`` for every parameter of the cell, under the
        names of ``cell.parameters()`` (``layer{l}.{name}`` for a
        :class:`~spectra.Stack`), or PyTorch's names (``weight_hh_l1``,
        ``bias_ih_l0``, ...) for a network loaded by :func:`~spectra.from_torch`,
        plus ``W_yh`` and ``b_y``.
    lag_norms_by_param : dict or None
        ``{name: (T,) ndarray}``: ``||C_lag||_F`` of each decomposed
        parameter's gradient (``sum_lag C_lag = grads[name]``); None unless
        ``decompose``.
    """

    loss: float
    dW_hh: np.ndarray | None
    dW_hx: np.ndarray | None
    db: np.ndarray | None
    dW_yh: np.ndarray
    db_y: np.ndarray
    grad_h: np.ndarray
    lags: np.ndarray
    lag_norms: np.ndarray | None
    pair_norms: np.ndarray | None
    truncation: int | None
    grads: dict | None = None
    lag_norms_by_param: dict | None = None

    @property
    def norm(self) -> float:
        """The Frobenius norm of the whole gradient (all parameters together)."""
        return float(math.sqrt(sum(float(np.sum(g * g)) for g in self.gradients().values())))

    def gradients(self) -> dict:
        """The parameter gradients by name: ``W_hh``, ``W_hx``, ``b``, ``W_yh``, ``b_y`` for the
        classic cells; ``grads`` for the others."""
        if self.dW_hh is None:
            return dict(self.grads)
        out = {"W_hh": self.dW_hh, "W_hx": self.dW_hx, "b": self.db, "W_yh": self.dW_yh,
               "b_y": self.db_y}
        return {k: v for k, v in out.items() if v is not None}


def _decompose_names(decompose):
    """(decompose at all, the parameter names asked for or None for all)."""
    if isinstance(decompose, (bool, np.bool_)):
        return bool(decompose), None
    if isinstance(decompose, (list, tuple)) and decompose and \
            all(isinstance(k, str) for k in decompose):
        return True, list(dict.fromkeys(decompose))
    raise TypeError(f"`decompose` must be True or False, or a list of parameter names; got "
                    f"{describe(decompose)}")


def _named(cell, raw):
    """The cell's gradients under the names the user knows (torch's, for a converted network)."""
    names = getattr(cell, "torch_names", None)
    if not names:
        return raw
    return {torch_name: raw[own] for torch_name, own in names.items()}


def bptt_gradient(cell, inputs, targets, W_yh, b_y=None, *, loss="softmax", h0=None,
                  step_weights=None, truncation=None, decompose=False) -> BPTTGradient:
    """Gradient of the loss of a recurrent network by backpropagation through time.

    Seed text eqs. (4)-(6): ``dE/dW = sum_t sum_{k<=t} (dE_t/dh_t) (dh_t/dh_k)
    (d+h_k/dW)``, with outputs ``z_t = W_yh h_t + b_y`` and
    ``E = sum_t w_t E_t`` (summed over a batch too).

    Parameters
    ----------
    cell : Cell
        Any cell with the ``parameter_vjp`` hook: the classic ElmanRNN,
        LeakyRNN and RecurrentFirstRNN (which also give ``dW_hh``, ``dW_hx``,
        ``db`` and ``pair_norms``), LSTM, GRU, a :class:`~spectra.Stack`
        (e.g. a multi-layer network from :func:`~spectra.from_torch`), a
        :class:`~spectra.TorchCell` of a module, ...  The outputs read the
        network's output h_t (``hidden_part``: an LSTM's h, a stack's top
        layer).
    inputs : (T, d) or (B, T, d) array_like, or None
        x_1..x_T (None: an autonomous run, T from ``targets``).
    targets : array_like
        ``loss="softmax"``: integer class labels, shape (T,) or (B, T), or
        target distributions, shape (T, c) or (B, T, c).
        ``loss="squared"``: real targets, shape (T, c) or (B, T, c).
        Targets without the batch axis are shared by the whole batch.
    W_yh : (c, p) array_like
        Output weights (p: the width of the network's output h_t).
    b_y : (c,) array_like, optional
        Output bias (zero by default).
    loss : {"softmax", "squared"}
        Cross-entropy of ``softmax(z_t)`` (seed eq. 3), or ``||z_t - y_t||^2 / 2``.
    h0 : (n,) or (B, n) array_like, optional
        Initial state (zeros by default); it is not a parameter.
    step_weights : (T,) or (B, T) array_like, optional
        Non-negative w_t (default 1): e.g. ``[0, ..., 0, 1]`` puts the whole
        loss on the last step.
    truncation : int, optional
        Truncated BPTT: the error of each E_t is carried back at most
        ``truncation`` steps (lags t - k = 0..truncation are kept).  None (or
        any value >= T - 1) gives the full gradient.
    decompose : bool or list of str
        Also compute the norms of the contribution of every lag, for every
        parameter of the cell (``lag_norms_by_param``; ``lag_norms`` and
        ``pair_norms`` for the classic cells), or for the parameters named
        (names as in ``grads``).  Costs O(T^2 n^2) (O(T min(truncation, T)
        n^2) when truncated) on top of the O(T n^2) of the gradient.

    Returns
    -------
    BPTTGradient

    Raises
    ------
    NumericalError
        If the backpropagated gradient overflows float64 (an exploding run).
    TypeError
        For a cell without the ``parameter_vjp`` hook.
    ValueError
        For names in ``decompose`` that are no parameter of the cell.

    Notes
    -----
    The full gradient takes one backward sweep,
    ``g_{t-1} = e_{t-1} + J_t^T g_t`` with ``e_t = W_yh^T dE_t/dz_t`` (by
    the cell's own ``rmatmat``), O(T n^2), and then the cell's
    ``parameter_vjp`` hook, ``dE/dtheta = sum_t (dF_t/dtheta)^T g_t``: one
    matrix product per weight matrix over all steps.
    For the Elman cell the contribution of the pair (t, k) is the
    rank-one matrix ``C_{t,k} = (D_k (dh_t/dh_k)^T e_t) h_{k-1}^T`` with
    ``D_k = diag(f'(a_k))`` (leaky units: ``diag((1 - alpha) f'(a_k))``;
    the recurrent-first cell: ``D_k = I`` and ``f(h_{k-1})`` in place of
    ``h_{k-1}``), so ``||C_{t,k}||_F`` is a product of two vector norms.
    The lag sweep carries all vectors ``(dh_{k+l}/dh_k)^T e_{k+l}``, k = 1..T-l,
    back one step per lag, and ``C_l = sum_k C_{k+l,k}`` is one more
    ``parameter_vjp`` (one matrix product per parameter): O((T - l) n^2) per lag.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN.random(4, input_size=2, gain=0.5, rng=0)
    >>> x = np.random.default_rng(1).standard_normal((6, 2))
    >>> W_yh = np.random.default_rng(2).standard_normal((3, 4))
    >>> res = spectra.bptt_gradient(cell, x, [0, 2, 1, 1, 0, 2], W_yh, decompose=True)
    >>> res.dW_hh.shape, res.lag_norms.shape
    ((4, 4), (6,))
    >>> bool(res.lag_norms[0] > res.lag_norms[5])     # gain 0.5: far lags contribute little
    True

    Any cell with the hook, e.g. an LSTM (``grads`` by parameter name):

    >>> lstm = spectra.LSTM.random(3, input_size=2, rng=0)
    >>> res = spectra.bptt_gradient(lstm, x, [0, 2, 1, 1, 0, 2], np.ones((3, 3)),
    ...                             decompose=["weight_hh"])
    >>> sorted(res.grads), res.grads["weight_hh"].shape
    (['W_yh', 'b_y', 'bias_hh', 'bias_ih', 'weight_hh', 'weight_ih'], (12, 3))
    >>> res.lag_norms_by_param["weight_hh"].shape
    (6,)
    """
    decompose, wanted = _decompose_names(decompose)
    classic = isinstance(cell, Cell) and cell.recurrence() is not None
    pb = (Problem if classic else CellProblem)(cell, inputs, targets, W_yh, b_y, loss=loss,
                                                h0=h0, step_weights=step_weights)
    T, n = pb.T, pb.H.shape[-1]
    if truncation is not None:
        truncation = check_int(truncation, "truncation", minimum=0)
    full = truncation is None or truncation >= T - 1
    to_user = (lambda raw: _named(cell, raw))
    if decompose:
        known = [k for k in to_user({k: None for k in pb.traj.cell.parameters()})]
        if wanted is None:
            wanted = known
        unknown = [k for k in wanted if k not in known]
        if unknown:
            raise ValueError(f"`decompose` names {unknown}, which are no parameters of this "
                             f"{type(cell).__name__}; its parameters are {known}")
        by_param = {k: np.zeros(T) for k in wanted}
    lag_norms = np.zeros(T) if decompose else None
    pair_norms = np.zeros((pb.B, T, T)) if decompose and classic else None
    if full:
        G = pb.backward()
    else:
        acc = np.zeros((pb.B, T, n))       # truncated dE/dh_k, k = 1..T
        acc0 = np.zeros((pb.B, n))         # for dE/dh_0: rows k = 1 of lags < n
    R_norm = np.linalg.norm(pb.R, axis=-1) if decompose and classic else None

    def on_lag(lag, rows):
        v = rows[0]
        m = T - lag
        if not full:
            acc[:, :m] += v
            if lag < truncation:
                acc0[:] += v[:, 0]
        if decompose:
            if classic:
                Dv = pb.scale_D(0, m, v)
                own = _classic_parts(pb, Dv, m)
                lag_norms[lag] = np.linalg.norm(next(iter(own.values())))   # the W part
                parts = to_user(own)
                k = np.arange(m)
                pair_norms[:, k + lag, k] = np.linalg.norm(Dv, axis=-1) * R_norm[:, :m]
            else:
                U = np.zeros((pb.B, T, n))
                U[:, :m] = v
                parts = to_user(_parameter_grads(pb, U))
                lag_norms[lag] = math.sqrt(sum(float(np.sum(parts[k] ** 2)) for k in wanted))
            for k in wanted:
                by_param[k][lag] = np.linalg.norm(parts[k])

    if decompose or not full:
        _lag_sweep(pb, [pb.E], T - 1 if full else truncation, on_lag=on_lag)
    if not full:
        G = np.empty((pb.B, T + 1, n))
        G[:, 1:] = acc
        G[:, 0] = pb.jt(0, 1, acc0[:, None])[:, 0] if truncation >= 1 else 0.0
    check_finite(G, "dE/dh")
    grads = to_user(_parameter_grads(pb, G[:, 1:]))
    dW_yh = outer_sum(pb.dZ, pb.Hout[:, 1:])
    db_y = pb.dZ.sum(axis=(0, 1))
    grads.update(W_yh=dW_yh, b_y=db_y)
    dW_hh = dW_hx = db = None
    if classic:
        Delta = pb.scale_D(0, T, G[:, 1:])
        check_finite(Delta, "dE/dW_hh")
        dW_hh = outer_sum(Delta, pb.R)
        dW_hx = None if pb.X is None else outer_sum(Delta, pb.X)
        db = Delta.sum(axis=(0, 1))
    shape = (lambda a: a if pb.batched else a[0])
    return BPTTGradient(pb.value, dW_hh, dW_hx, db, dW_yh, db_y, shape(G), np.arange(T), lag_norms,
                        None if pair_norms is None else shape(pair_norms),
                        None if full else truncation, grads,
                        by_param if decompose else None)


def _classic_parts(pb, Dv, m):
    """The lag's part of each parameter of a classic cell, from ``D_k v_k`` (k = 1..m)."""
    own = list(pb.traj.cell.parameters())          # (W, W_in, b), those present
    parts = {own.pop(0): _contribution(pb, Dv, m)}
    net = pb.net
    if net.W_in is not None:
        parts[own.pop(0)] = np.zeros(net.W_in.shape) if pb.X is None else outer_sum(Dv, pb.X[:, :m])
    if net.b is not None:
        parts[own.pop(0)] = Dv.sum(axis=(0, 1))
    return parts


def _parameter_grads(pb, U):
    """The cell's parameter cotangents of adjoints U (B, T, n) on h_1..h_T."""
    return checked_vjp(pb.traj, U if pb.batched else U[0])


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class TruncationCurve(Result):
    """How far truncated BPTT is from the full gradient, for every truncation n.

    Attributes
    ----------
    truncations : (T,) int ndarray
        n = 0, 1, ..., T-1 (lags 0..n kept; n = T-1 is the full gradient).
    errors : (T,) ndarray
        ``||dW_hh - dW_hh^(n)||_F``: exactly 0 at n = T-1.
    relative_errors : (T,) ndarray
        ``errors / ||dW_hh||_F`` (0 where the full gradient is 0).
    cosines : (T,) ndarray
        Cosine between the truncated and the full dW_hh (1 at n = T-1; 0 where
        either is 0).
    lag_norms : (T,) ndarray
        ``||C_lag||_F`` (as in :class:`BPTTGradient`).
    full_norm : float
        ``||dW_hh||_F``.
    gradient : (n, n) ndarray
        The full dW_hh.
    """

    _frame = ("truncation", "truncations", ("errors", "relative_errors", "cosines"))

    truncations: np.ndarray
    errors: np.ndarray
    relative_errors: np.ndarray
    cosines: np.ndarray
    lag_norms: np.ndarray
    full_norm: float
    gradient: np.ndarray


def truncated_bptt_error(cell, inputs, targets, W_yh, b_y=None, *, loss="softmax", h0=None,
                         step_weights=None) -> TruncationCurve:
    """The error of truncated BPTT in dW_hh for every truncation n = 0..T-1.

    Truncated BPTT carries the error of each E_t back at most n steps (the
    seed text's remedy for exploding gradients): it keeps the lags 0..n of
    seed eq. (6).  Parameters as in :func:`bptt_gradient`.

    Returns
    -------
    TruncationCurve

    Notes
    -----
    The error of truncation n is the sum of the lags beyond n, and
    ``sum_{l > n} C_l = sum_k D_k (dh_{k+n+1}/dh_k)^T g_{k+n+1} r_{k-1}^T``
    where ``g = dE/dh`` is the *full* backpropagated gradient.  So one lag
    sweep seeded with g (next to the one seeded with ``e_t = dE_t/dh_t``)
    gives every error directly, as a sum over the lags actually dropped: no
    cancellation between a truncated and a full gradient, and at n = T-1 the
    sum is empty, so the error is exactly 0.  Cost O(T^2 n^2) (n the state
    size).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN.random(5, input_size=2, gain=0.6, rng=0)
    >>> x = np.random.default_rng(1).standard_normal((8, 2))
    >>> res = spectra.truncated_bptt_error(cell, x, np.arange(8) % 3, np.ones((3, 5)))
    >>> np.round(res.relative_errors, 4)       # lags beyond n dropped; h_0 = 0, so lag 7 adds nothing
    array([0.3482, 0.1489, 0.1136, 0.0356, 0.0086, 0.0026, 0.    , 0.    ])
    >>> float(res.errors[-1])                   # an empty sum: exactly 0
    0.0
    """
    pb = Problem(cell, inputs, targets, W_yh, b_y, loss=loss, h0=h0, step_weights=step_weights)
    T = pb.T
    G = pb.backward()
    lag_norms = np.zeros(T)
    errors = np.zeros(T)
    cosines = np.zeros(T)
    state = {}

    def on_lag(lag, rows):
        m = T - lag
        lag_norms[lag] = np.linalg.norm(_contribution(pb, pb.scale_D(0, m, rows[0]), m))
        tail = _contribution(pb, pb.scale_D(0, m, rows[1]), m)   # sum of the lags >= lag
        if lag == 0:
            state["full"] = tail
            state["norm"] = float(np.linalg.norm(tail))
            return
        full, fn = state["full"], state["norm"]
        errors[lag - 1] = np.linalg.norm(tail)
        trunc = full - tail                                       # lags 0..lag-1 kept
        tn = np.linalg.norm(trunc)
        cosines[lag - 1] = (float(np.clip(np.sum(trunc * full) / (tn * fn), -1.0, 1.0))
                            if tn > 0 and fn > 0 else 0.0)

    _lag_sweep(pb, [pb.E, G[:, 1:]], T - 1, on_lag=on_lag)
    full, full_norm = state["full"], state["norm"]
    cosines[T - 1] = 1.0 if full_norm > 0 else 0.0               # the truncated gradient is the full one
    rel = errors / full_norm if full_norm > 0 else np.zeros(T)
    return TruncationCurve(np.arange(T), errors, rel, cosines, lag_norms, full_norm, full)


# 0.1 names
BPTTResult = BPTTGradient
TruncationResult = TruncationCurve
