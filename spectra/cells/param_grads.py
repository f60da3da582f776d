"""Parameter cotangents of a run for the built-in cells: the ``parameter_vjp`` hook.

A cell's optional hook ``parameter_vjp(states, inputs, aux, cotangents, *,
per_step=False)`` returns ``{name: sum_t (dF_t/dtheta)^T u_t}`` over the names
of its ``parameters()`` (see :class:`~spectra.Cell`).  Every built-in cell
first maps the vectors u_t on the new states to cotangents on its
pre-activations (O(T n) elementwise work, from what the run stored), then
gets each weight matrix's gradient from **one** matrix product over all steps
and the batch, ``dW = sum_{b,t} d_t r_t^T``.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import numpy as np

from .activations import _logistic, _logistic_d, _tanh_d

__all__ = ["weight_cotangent", "bias_cotangent", "simple_parameter_vjp", "lstm_parameter_vjp",
           "gru_parameter_vjp"]


def weight_cotangent(D, R, per_step=False):
    """``sum_{batch, t} D_t R_t^T`` (one matrix product), or the per-step outer products.

    ``D`` ``(..., T, p)`` and ``R`` ``(..., T, q)``; ``R`` None (an autonomous run
    of a cell with input weights) gives zeros of the right shape.
    """
    D = np.asarray(D, dtype=np.float64)
    if per_step:
        if R is None:
            raise ValueError("weight_cotangent needs R with per_step")
        return D[..., :, None] * np.asarray(R, dtype=np.float64)[..., None, :]
    p, q = D.shape[-1], R.shape[-1]
    R = np.broadcast_to(np.asarray(R, dtype=np.float64), D.shape[:-1] + (q,))
    return D.reshape(-1, p).T @ R.reshape(-1, q)


def bias_cotangent(D, per_step=False):
    """``sum_{batch, t} D_t`` (or ``D`` itself, per step)."""
    D = np.asarray(D, dtype=np.float64)
    return D.copy() if per_step else D.reshape(-1, D.shape[-1]).sum(axis=0)


def _input_weight(D, inputs, shape, per_step):
    """The cotangent of an input matrix of ``shape``: zeros for an autonomous run."""
    if inputs is None:
        lead = D.shape[:-1] if per_step else ()
        return np.zeros(lead + tuple(shape))
    return weight_cotangent(D, inputs, per_step)


def _empty(cell, states, per_step):
    """Zero cotangents of a run of zero steps."""
    lead = states.shape[:-2] + (0,) if per_step else ()
    return {k: np.zeros(lead + v.shape) for k, v in cell.parameters().items()}


def simple_parameter_vjp(cell, states, inputs, A, U, per_step=False):
    """Elman, leaky and recurrent-first cells: ``{W, W_in, b}`` under the cell's names.

    With ``d_t`` the cotangent on what the weights multiply into
    (``u_t f'(a_t)``, ``u_t (1 - alpha) f'(a_t)``, or ``u_t`` for the
    recurrent-first form), ``dW = sum d_t r_{t-1}^T`` with ``r = h`` (or
    ``f(h)``), ``dW_in = sum d_t x_t^T`` and ``db = sum d_t``.
    """
    if U.shape[-2] == 0:
        return _empty(cell, states, per_step)
    rec = cell.recurrence()
    U = np.asarray(U, dtype=np.float64)
    H = np.asarray(states[..., :-1, :], dtype=np.float64)
    if rec.form == "recurrent_first":
        D, R = U, rec.activation.f(H)
    else:
        D = U * rec.activation.df(np.asarray(A, dtype=np.float64))
        if rec.alpha is not None:
            D = D * (1.0 - np.asarray(rec.alpha, dtype=np.float64))
        R = H
    names = list(cell.parameters())   # (W, W_in, b) in this order, those present
    out = {names[0]: weight_cotangent(D, R, per_step)}
    rest = names[1:]
    if rec.W_in is not None:
        out[rest.pop(0)] = _input_weight(D, inputs, rec.W_in.shape, per_step)
    if rec.b is not None:
        out[rest.pop(0)] = bias_cotangent(D, per_step)
    return out


def _gated_out(cell, dA_ih, dA_hh_rows, dA_bhh, H, inputs, per_step):
    """The four PyTorch parameters from cotangents on the gate pre-activations."""
    out = {}
    if cell.weight_ih is not None:
        out["weight_ih"] = _input_weight(dA_ih, inputs, cell.weight_ih.shape, per_step)
    out["weight_hh"] = weight_cotangent(dA_hh_rows, H, per_step)
    if cell.bias_ih is not None:
        out["bias_ih"] = bias_cotangent(dA_ih, per_step)
    if cell.bias_hh is not None:
        out["bias_hh"] = bias_cotangent(dA_bhh, per_step)
    return out


def lstm_parameter_vjp(cell, states, inputs, A, U, per_step=False):
    """LSTM (PyTorch layout): cotangents ``(u_h, u_c)`` on ``[h_t, c_t]`` to the gates.

    ``dc = u_c + u_h o tanh'(c_t)``; ``da_i = dc g sigma'(a_i)``,
    ``da_f = dc c_{t-1} sigma'(a_f)``, ``da_g = dc i tanh'(a_g)``,
    ``da_o = u_h tanh(c_t) sigma'(a_o)``; every parameter sees the same
    ``da = (da_i, da_f, da_g, da_o)``.
    """
    if U.shape[-2] == 0:
        return _empty(cell, states, per_step)
    n = cell.hidden_size
    A = np.asarray(A, dtype=np.float64)
    U = np.asarray(U, dtype=np.float64)
    S = np.asarray(states, dtype=np.float64)
    a_i, a_f, a_g, a_o = (A[..., k * n:(k + 1) * n] for k in range(4))
    c_prev, c = S[..., :-1, n:], S[..., 1:, n:]
    u_h, u_c = U[..., :n], U[..., n:]
    tc = np.tanh(c)
    dc = u_c + u_h * _logistic(a_o) * _tanh_d(c)
    dA = np.concatenate([dc * np.tanh(a_g) * _logistic_d(a_i), dc * c_prev * _logistic_d(a_f),
                         dc * _logistic(a_i) * _tanh_d(a_g), u_h * tc * _logistic_d(a_o)], axis=-1)
    return _gated_out(cell, dA, dA, dA, S[..., :-1, :n], inputs, per_step)


def gru_parameter_vjp(cell, states, inputs, A, U, per_step=False):
    """GRU (PyTorch layout), ``h_t = (1 - z) n + z h_{t-1}``, ``a_n = W_in x + b_in + r s``.

    ``da_n = u (1 - z) tanh'(a_n)``, ``da_z = u (h_{t-1} - n) sigma'(a_z)``,
    ``da_r = da_n s sigma'(a_r)`` and ``ds = da_n r`` with ``s = W_hn h + b_hn``:
    the input side sees ``(da_r, da_z, da_n)``, the recurrent side
    ``(da_r, da_z, ds)``.
    """
    if U.shape[-2] == 0:
        return _empty(cell, states, per_step)
    n = cell.hidden_size
    A = np.asarray(A, dtype=np.float64)
    U = np.asarray(U, dtype=np.float64)
    H = np.asarray(states[..., :-1, :], dtype=np.float64)
    a_r, a_z, a_n = (A[..., k * n:(k + 1) * n] for k in range(3))
    W_hn = np.asarray(cell.weight_hh[2 * n:], dtype=np.float64)
    b_hn = 0.0 if cell.bias_hh is None else np.asarray(cell.bias_hh[2 * n:], dtype=np.float64)
    s = H @ W_hn.T + b_hn
    new = np.tanh(a_n)
    da_n = U * _logistic(-a_z) * _tanh_d(a_n)
    da_z = U * (H - new) * _logistic_d(a_z)
    r = _logistic(a_r)
    da_r = da_n * s * _logistic_d(a_r)
    dA_ih = np.concatenate([da_r, da_z, da_n], axis=-1)
    dA_hh = np.concatenate([da_r, da_z, da_n * r], axis=-1)
    return _gated_out(cell, dA_ih, dA_hh, dA_hh, H, inputs, per_step)
