"""Backpropagation through time for the simple recurrent cells, split by lag.

The model is the seed text's (eqs. 2-6): a recurrent cell (Elman, leaky or
recurrent-first), outputs ``z_t = W_yh h_t + b_y`` and a loss summed over
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

from ..cells.simple import Cell, ElmanRNN, LeakyRNN, RecurrentFirstRNN
from .._core.errors import NumericalError
from .._core.interop import to_numpy
from .._core.validation import as_array, as_matrix, as_vector, check_choice, check_int, describe

__all__ = ["BPTTResult", "TruncationResult", "bptt_gradient", "truncated_bptt_error"]

LOSSES = ("softmax", "squared")


# ---------------------------------------------------------------------------------------
# The problem: a cell run over inputs, the outputs and the loss, in float64.


class _Net:
    """The parameters of a simple cell in one of two forms.

    ``elman``: a_t = W h_{t-1} + W_in x_t + b, h_t = alpha h_{t-1} + (1 - alpha) f(a_t)
    (alpha None for the plain Elman cell).  ``rf``: h_t = W f(h_{t-1}) + W_in x_t + b.
    """

    def __init__(self, cell, name="cell"):
        if not isinstance(cell, (ElmanRNN, LeakyRNN, RecurrentFirstRNN)):
            kind = type(cell).__name__ if isinstance(cell, Cell) else describe(cell)
            raise TypeError(f"`{name}` must be an ElmanRNN, LeakyRNN or RecurrentFirstRNN; got {kind}")
        f64 = np.float64
        self.form = "rf" if isinstance(cell, RecurrentFirstRNN) else "elman"
        self.W = np.asarray(cell._W, dtype=f64)
        self.W_in = None if cell._W_in is None else np.asarray(cell._W_in, dtype=f64)
        self.b = None if cell._b is None else np.asarray(cell._b, dtype=f64)
        self.act = cell.activation
        self.alpha = None
        if isinstance(cell, LeakyRNN):
            self.alpha = np.broadcast_to(np.asarray(cell.alpha, dtype=f64), (cell.n,)).copy()
        self.n = cell.n
        self.input_size = cell.input_size
        if cell.dtype == np.float64:
            self.cell = cell
        else:  # a float64 twin, so that gradients are checked in float64
            opts = {} if self.alpha is None else {"alpha": self.alpha}
            self.cell = type(cell)(self.W, self.W_in, self.b, activation=cell.activation, **opts)

    @property
    def beta(self):
        return None if self.alpha is None else 1.0 - self.alpha


class _Problem:
    """A validated BPTT problem with its forward pass (batch axis always present)."""

    def __init__(self, cell, inputs, targets, W_yh, b_y, *, loss, h0, step_weights):
        self.net = net = _Net(cell)
        check_choice(loss, "loss", LOSSES)
        self.loss = loss
        n = net.n
        self.V = as_matrix(W_yh, "W_yh", cols=n)
        c = self.V.shape[0]
        self.b_y = np.zeros(c) if b_y is None else as_vector(b_y, "b_y", size=c)
        Tgt, self.labels = _targets(targets, loss, c)
        lead = Tgt.shape if self.labels else Tgt.shape[:-1]
        if len(lead) == 0:
            raise ValueError("`targets` must have one entry per step, shape (T,) or (T, c); "
                             f"got shape {Tgt.shape}")
        T = lead[-1]
        if T == 0:
            raise ValueError("`targets` must cover at least one step; got T = 0")
        if inputs is None:
            traj = net.cell.run(None, h0=h0, steps=T)
        else:
            X = as_array(inputs, "inputs", ndim=(2, 3))
            if X.shape[-2] != T:
                raise ValueError(f"`targets` must have one entry per step ({X.shape[-2]} steps "
                                 f"in `inputs`); got {T}")
            traj = net.cell.run(X, h0=h0)
        self.traj = traj
        self.batched = bool(traj.batch_shape)
        B = traj.batch_shape[0] if self.batched else 1
        tb = lead[:-1]
        if tb and (not self.batched or tb != traj.batch_shape):
            raise ValueError(f"`targets` batch shape {tb} does not match the run's batch shape "
                             f"{traj.batch_shape}")
        self.T, self.B, self.c = T, B, c
        self.H = np.asarray(traj.states, dtype=np.float64).reshape(B, T + 1, n)
        self.X = None if traj.inputs is None else np.asarray(traj.inputs).reshape(B, T, -1)
        A = traj.preactivations
        self.A = None if A is None else np.asarray(A, dtype=np.float64).reshape(B, T, n)
        self.P = np.broadcast_to(Tgt, (B, T) if self.labels else (B, T, c))
        if step_weights is None:
            self.w = np.ones((B, T))
        else:
            w = as_array(step_weights, "step_weights", ndim=(1, 2))
            if w.shape[-1] != T or (w.ndim == 2 and w.shape[0] != B):
                raise ValueError(f"`step_weights` must have shape ({T},)" +
                                 (f" or ({B}, {T})" if self.batched else "") + f"; got {w.shape}")
            if np.any(w < 0):
                raise ValueError("`step_weights` must be non-negative; got a minimum of "
                                 f"{float(w.min())}")
            self.w = np.broadcast_to(w, (B, T))
        self._factors()
        self._outputs()

    # -- forward quantities ----------------------------------------------------------
    def _factors(self):
        net, H = self.net, self.H
        act = net.act
        if net.form == "elman":
            self.Fp = act.df(self.A)                         # f'(a_t), t = 1..T
            self.S = self.Fp if net.alpha is None else net.beta * self.Fp  # dh_t/da_t
            self.R = H[:, :-1]                               # r_{t-1} = h_{t-1}
        else:
            self.FpH = act.df(H[:, :-1])                     # f'(h_{t-1}), t = 1..T
            self.S = None                                    # dh_t/dp_t = I
            self.R = act.f(H[:, :-1])                        # r_{t-1} = f(h_{t-1})

    def _outputs(self):
        V, P, w = self.V, self.P, self.w
        Z = self.H[:, 1:] @ V.T + self.b_y                   # z_1..z_T
        self.Z = Z
        if self.loss == "squared":
            diff = Z - P
            self.value = float(0.5 * np.sum(w * np.sum(diff * diff, axis=-1)))
            self.dZ = w[..., None] * diff
            self.Y = None
            self.mass = None
        else:
            m = Z.max(axis=-1, keepdims=True)
            lse = m + np.log(np.sum(np.exp(Z - m), axis=-1, keepdims=True))
            Y = np.exp(Z - lse)
            if self.labels:
                picked = np.take_along_axis(Z, P[..., None], axis=-1)[..., 0]
                per_step = lse[..., 0] - picked
                onehot = np.zeros_like(Z)
                np.put_along_axis(onehot, P[..., None], 1.0, axis=-1)
                mass = np.ones(P.shape)
                grad = Y - onehot
            else:
                mass = P.sum(axis=-1)
                per_step = mass * lse[..., 0] - np.sum(P * Z, axis=-1)
                grad = mass[..., None] * Y - P
            self.value = float(np.sum(w * per_step))
            self.dZ = w[..., None] * grad
            self.Y = Y
            self.mass = mass
        self.E = self.dZ @ V                                 # e_t = W_yh^T dE/dz_t

    def hessian_z(self, v):
        """d^2 E_t / dz_t^2 applied to v (B, T, c), per step."""
        if self.loss == "squared":
            return self.w[..., None] * v
        Y = self.Y
        return (self.w * self.mass)[..., None] * (Y * v - Y * np.sum(Y * v, axis=-1, keepdims=True))

    # -- step Jacobians, transposed, applied to rows ---------------------------------
    def jt(self, s0, s1, U):
        """Rows ``J_s^T u_s`` for steps s = s0+1..s1 (0-based slice s0:s1), U (B, m, n)."""
        net = self.net
        if net.form == "elman":
            out = (self.S[:, s0:s1] * U) @ net.W
            if net.alpha is not None:
                out = out + net.alpha * U
            return out
        return self.FpH[:, s0:s1] * (U @ net.W)

    def scale_D(self, s0, s1, U):
        """Rows ``D_s u_s`` = dE/dp_s from dE/dh_s, s = s0+1..s1 (p_s: what W multiplies into)."""
        return U if self.S is None else self.S[:, s0:s1] * U

    # -- the full backward sweep: O(T n^2) ---------------------------------------------
    def backward(self):
        """dE/dh_t for t = 0..T, shape (B, T+1, n), in one sweep."""
        T, E = self.T, self.E
        G = np.empty((self.B, T + 1, self.net.n))
        with np.errstate(over="ignore", invalid="ignore"):
            g = E[:, T - 1]
            G[:, T] = g
            for t in range(T, 0, -1):
                g = self.jt(t - 1, t, g[:, None])[:, 0]
                if t >= 2:
                    g = g + E[:, t - 2]
                G[:, t - 1] = g
        _check_finite(G, "dE/dh")
        return G


def _check_finite(arr, what):
    if not np.all(np.isfinite(arr)):
        raise NumericalError(f"{what} overflowed float64: the gradient explodes along this run; "
                             "shorten the sequence, lower the recurrent gain, or use "
                             "spectra.gradient_norm_profile (log domain) to measure it")


def _targets(targets, loss, c):
    """(targets as an array, True for integer class labels)."""
    if targets is None:
        raise TypeError("`targets` must be an array; got None")
    raw = to_numpy(targets)
    if raw.dtype.kind == "b":
        raise TypeError("`targets` must be class labels (integers) or real values; got booleans")
    if loss == "softmax" and raw.dtype.kind in "iu":
        if raw.ndim not in (1, 2):
            raise ValueError(f"`targets` (class labels) must have shape (T,) or (B, T); got {raw.shape}")
        if raw.size and (raw.min() < 0 or raw.max() >= c):
            raise ValueError(f"`targets` class labels must lie in [0, {c - 1}] (W_yh has {c} rows); "
                             f"got values in [{raw.min()}, {raw.max()}]")
        return raw.astype(np.int64), True
    what = "(T, c) target distributions or (T,) integer class labels" if loss == "softmax" \
        else "(T, c) real targets"
    P = as_array(targets, "targets", ndim=(2, 3))
    if P.shape[-1] != c:
        raise ValueError(f"`targets` must be {what} with c = {c} (the rows of W_yh); got shape {P.shape}")
    if loss == "softmax" and np.any(P < 0):
        raise ValueError("`targets` distributions must be non-negative; got a minimum of "
                         f"{float(P.min())}")
    return P, False


# ---------------------------------------------------------------------------------------
# The lag sweep: contributions of each lag, O(T^2 n^2) in all.


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
                _check_finite(r, f"the gradient carried back {lag} steps")
            on_lag(lag, rows)
            if lag == min(max_lag, T - 1):
                break
            m = T - lag
            # rows k = 1..m-1 at the next lag: J_{k+1}^T applied to rows k+1 = 2..m
            rows = [pb.jt(1, m, r[:, 1:]) for r in rows]


def _outer_sum(A, B):
    """``sum_{b,k} A[b, k] B[b, k]^T`` for A (B, m, p), B (B, m, q): one matrix product."""
    return A.reshape(-1, A.shape[-1]).T @ B.reshape(-1, B.shape[-1])


def _contribution(pb, D_rows, m):
    """``sum_k D_k v_k r_{k-1}^T`` over k = 1..m and the batch."""
    return _outer_sum(D_rows, pb.R[:, :m])


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BPTTResult:
    """The gradient of a recurrent network's loss by backpropagation through time.

    Attributes
    ----------
    loss : float
        E = sum over the batch and the steps of w_t E_t.
    dW_hh : (n, n) ndarray
        dE/dW_hh (dE/dW for a RecurrentFirstRNN).
    dW_hx : (n, d) ndarray or None
        dE/dW_hx (dE/dW_in); None when the cell has no input matrix.
    db : (n,) ndarray
        dE/db (also when the cell has no bias: the gradient at b = 0).
    dW_yh : (c, n) ndarray
    db_y : (c,) ndarray
    grad_h : (T+1, n) or (B, T+1, n) ndarray
        dE/dh_t for t = 0..T (row 0 is dE/dh_0); for a truncated gradient, the
        truncated one.
    lags : (T,) int ndarray
        0, 1, ..., T-1.
    lag_norms : (T,) ndarray or None
        ``||C_lag||_F``, the Frobenius norm of the part of dW_hh that comes from
        lag ``t - k = lag`` (summed over t and the batch); None unless
        ``decompose=True``.  ``sum_lag C_lag = dW_hh``.
    pair_norms : (T, T) or (B, T, T) ndarray or None
        ``[t-1, k-1]`` is ``||C_{t,k}||_F``, the norm of the term of loss E_t
        through h_k (seed eq. 6); 0 for k > t.  None unless ``decompose=True``.
    truncation : int or None
        The truncation n (lags 0..n kept), or None for the full gradient.
    """

    loss: float
    dW_hh: np.ndarray
    dW_hx: np.ndarray | None
    db: np.ndarray
    dW_yh: np.ndarray
    db_y: np.ndarray
    grad_h: np.ndarray
    lags: np.ndarray
    lag_norms: np.ndarray | None
    pair_norms: np.ndarray | None
    truncation: int | None

    @property
    def norm(self) -> float:
        """The Frobenius norm of the whole gradient (all parameters together)."""
        return float(math.sqrt(sum(float(np.sum(g * g)) for g in self.gradients().values())))

    def gradients(self) -> dict:
        """The parameter gradients by name (``W_hh``, ``W_hx``, ``b``, ``W_yh``, ``b_y``)."""
        out = {"W_hh": self.dW_hh, "W_hx": self.dW_hx, "b": self.db, "W_yh": self.dW_yh,
               "b_y": self.db_y}
        return {k: v for k, v in out.items() if v is not None}

    def to_dict(self) -> dict:
        tl = (lambda a: None if a is None else np.asarray(a).tolist())
        return {"loss": self.loss, "dW_hh": tl(self.dW_hh), "dW_hx": tl(self.dW_hx),
                "db": tl(self.db), "dW_yh": tl(self.dW_yh), "db_y": tl(self.db_y),
                "grad_h": tl(self.grad_h), "lags": tl(self.lags), "lag_norms": tl(self.lag_norms),
                "pair_norms": tl(self.pair_norms), "truncation": self.truncation}


def bptt_gradient(cell, inputs, targets, W_yh, b_y=None, *, loss="softmax", h0=None,
                  step_weights=None, truncation=None, decompose=False) -> BPTTResult:
    """Gradient of the loss of a recurrent network by backpropagation through time.

    Seed text eqs. (4)-(6): ``dE/dW = sum_t sum_{k<=t} (dE_t/dh_t) (dh_t/dh_k)
    (d+h_k/dW)``, with outputs ``z_t = W_yh h_t + b_y`` and
    ``E = sum_t w_t E_t`` (summed over a batch too).

    Parameters
    ----------
    cell : ElmanRNN, LeakyRNN or RecurrentFirstRNN
    inputs : (T, d) or (B, T, d) array_like, or None
        x_1..x_T (None: an autonomous run, T from ``targets``).
    targets : array_like
        ``loss="softmax"``: integer class labels, shape (T,) or (B, T), or
        target distributions, shape (T, c) or (B, T, c).
        ``loss="squared"``: real targets, shape (T, c) or (B, T, c).
        Targets without the batch axis are shared by the whole batch.
    W_yh : (c, n) array_like
        Output weights.
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
    decompose : bool
        Also compute the norms of the contribution of every lag and of every
        (t, k) pair (``lag_norms``, ``pair_norms``).  Costs O(T^2 n^2)
        (O(T min(truncation, T) n^2) when truncated) on top of the O(T n^2)
        of the gradient.

    Returns
    -------
    BPTTResult

    Raises
    ------
    NumericalError
        If the backpropagated gradient overflows float64 (an exploding run).

    Notes
    -----
    The full gradient takes one backward sweep,
    ``g_{t-1} = e_{t-1} + J_t^T g_t`` with ``e_t = W_yh^T dE_t/dz_t``,
    O(T n^2).  For the Elman cell the contribution of the pair (t, k) is the
    rank-one matrix ``C_{t,k} = (D_k (dh_t/dh_k)^T e_t) h_{k-1}^T`` with
    ``D_k = diag(f'(a_k))`` (leaky units: ``diag((1 - alpha) f'(a_k))``;
    the recurrent-first cell: ``D_k = I`` and ``f(h_{k-1})`` in place of
    ``h_{k-1}``), so ``||C_{t,k}||_F`` is a product of two vector norms.
    The lag sweep carries all vectors ``(dh_{k+l}/dh_k)^T e_{k+l}``, k = 1..T-l,
    back one step per lag in one matrix product, and
    ``C_l = sum_k C_{k+l,k}`` is one more: O((T - l) n^2) per lag.

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
    """
    pb = _Problem(cell, inputs, targets, W_yh, b_y, loss=loss, h0=h0, step_weights=step_weights)
    if not isinstance(decompose, (bool, np.bool_)):
        raise TypeError(f"`decompose` must be True or False; got {describe(decompose)}")
    T = pb.T
    if truncation is not None:
        truncation = check_int(truncation, "truncation", minimum=0)
    full = truncation is None or truncation >= T - 1
    lag_norms = np.zeros(T) if decompose else None
    pair_norms = np.zeros((pb.B, T, T)) if decompose else None
    if full:
        G = pb.backward()
        Delta = pb.scale_D(0, T, G[:, 1:])
    else:
        acc = np.zeros((pb.B, T, pb.net.n))       # truncated dE/dh_k, k = 1..T
        acc0 = np.zeros((pb.B, pb.net.n))         # for dE/dh_0: rows k = 1 of lags < n
    R_norm = np.linalg.norm(pb.R, axis=-1) if decompose else None

    def on_lag(lag, rows):
        v = rows[0]
        m = T - lag
        if not full:
            acc[:, :m] += v
            if lag < truncation:
                acc0[:] += v[:, 0]
        if decompose:
            Dv = pb.scale_D(0, m, v)
            lag_norms[lag] = np.linalg.norm(_contribution(pb, Dv, m))
            k = np.arange(m)
            pair_norms[:, k + lag, k] = np.linalg.norm(Dv, axis=-1) * R_norm[:, :m]

    if decompose or not full:
        _lag_sweep(pb, [pb.E], T - 1 if full else truncation, on_lag=on_lag)
    if not full:
        G = np.empty((pb.B, T + 1, pb.net.n))
        G[:, 1:] = acc
        G[:, 0] = pb.jt(0, 1, acc0[:, None])[:, 0] if truncation >= 1 else 0.0
        Delta = pb.scale_D(0, T, acc)
    _check_finite(Delta, "dE/dW_hh")
    dW_hh = _outer_sum(Delta, pb.R)
    dW_hx = None if pb.X is None else _outer_sum(Delta, pb.X)
    db = Delta.sum(axis=(0, 1))
    dW_yh = _outer_sum(pb.dZ, pb.H[:, 1:])
    db_y = pb.dZ.sum(axis=(0, 1))
    shape = (lambda a: a if pb.batched else a[0])
    return BPTTResult(pb.value, dW_hh, dW_hx, db, dW_yh, db_y, shape(G), np.arange(T), lag_norms,
                      None if pair_norms is None else shape(pair_norms),
                      None if full else truncation)


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TruncationResult:
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
        ``||C_lag||_F`` (as in :class:`BPTTResult`).
    full_norm : float
        ``||dW_hh||_F``.
    gradient : (n, n) ndarray
        The full dW_hh.
    """

    truncations: np.ndarray
    errors: np.ndarray
    relative_errors: np.ndarray
    cosines: np.ndarray
    lag_norms: np.ndarray
    full_norm: float
    gradient: np.ndarray

    def to_dict(self) -> dict:
        return {"truncations": self.truncations.tolist(), "errors": self.errors.tolist(),
                "relative_errors": self.relative_errors.tolist(), "cosines": self.cosines.tolist(),
                "lag_norms": self.lag_norms.tolist(), "full_norm": self.full_norm,
                "gradient": self.gradient.tolist()}


def truncated_bptt_error(cell, inputs, targets, W_yh, b_y=None, *, loss="softmax", h0=None,
                         step_weights=None) -> TruncationResult:
    """The error of truncated BPTT in dW_hh for every truncation n = 0..T-1.

    Truncated BPTT carries the error of each E_t back at most n steps (the
    seed text's remedy for exploding gradients): it keeps the lags 0..n of
    seed eq. (6).  Parameters as in :func:`bptt_gradient`.

    Returns
    -------
    TruncationResult

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
    pb = _Problem(cell, inputs, targets, W_yh, b_y, loss=loss, h0=h0, step_weights=step_weights)
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
    return TruncationResult(np.arange(T), errors, rel, cosines, lag_norms, full_norm, full)
