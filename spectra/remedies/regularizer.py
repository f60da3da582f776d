"""Pascanu, Mikolov & Bengio's (2013) vanishing-gradient regulariser, with its exact gradient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Problem, check_finite, outer_sum
from .._core.results import Result
from .._core.validation import check_choice

__all__ = ["RegularizerValue", "vanishing_regularizer"]

GRADIENTS = ("exact", "fixed_error", "immediate")


@dataclass(frozen=True, repr=False)
class RegularizerValue(Result):
    """The value of Omega, its gradient with respect to W_hh, and the per-step ratios.

    Attributes
    ----------
    value : float
        ``Omega = sum_k (||J_{k+1}^T g_{k+1}|| / ||g_{k+1}|| - 1)^2`` over the
        steps (and the batch) where ``g_{k+1} = dE/dh_{k+1}`` is not zero.
    grad_W_hh : (n, n) ndarray
        dOmega/dW_hh, as selected by ``gradient``.
    ratios : (T,) or (B, T) ndarray
        ``||J_{k+1}^T g_{k+1}|| / ||g_{k+1}||`` for k = 0..T-1: how much one
        backward step changes the norm of the gradient (1: preserved).  NaN
        where ``g_{k+1} = 0`` (see ``active``).
    terms : (T,) or (B, T) ndarray
        ``Omega_k = (ratio_k - 1)^2`` (0 where not active).
    active : (T,) or (B, T) bool ndarray
        Where ``g_{k+1} != 0`` (the terms that enter Omega).
    loss : float
        The loss E whose gradient defines Omega.
    gradient : str
        "exact", "fixed_error" or "immediate".
    """

    value: float
    grad_W_hh: np.ndarray
    ratios: np.ndarray
    terms: np.ndarray
    active: np.ndarray
    loss: float
    gradient: str


def _norms(X):
    """Euclidean norms along the last axis without underflow or overflow of the squares."""
    m = np.max(np.abs(X), axis=-1, keepdims=True)
    safe = np.where(m > 0, m, 1.0)
    return np.where(m[..., 0] > 0, m[..., 0] * np.linalg.norm(X / safe, axis=-1), 0.0)


def vanishing_regularizer(cell, inputs, targets, W_yh, b_y=None, *, loss="softmax", h0=None,
                          step_weights=None, gradient="exact") -> RegularizerValue:
    """Pascanu et al.'s (2013) regulariser Omega and dOmega/dW_hh.

    ``Omega = sum_k (||dE/dh_{k+1} dh_{k+1}/dh_k|| / ||dE/dh_{k+1}|| - 1)^2``
    (their eq. 10; seed text eq. 16): it asks every backward step to
    preserve the norm of the error gradient *in the direction that error
    actually has*, rather than for every direction.  With the row vector
    ``dE/dh_{k+1}`` this is ``||J_{k+1}^T g_{k+1}|| / ||g_{k+1}||``, with
    ``g = dE/dh`` and the true step Jacobian J.

    Parameters
    ----------
    cell, inputs, targets, W_yh, b_y, loss, h0, step_weights
        The network and its loss, as in :func:`spectra.bptt_gradient`.
    gradient : {"exact", "fixed_error", "immediate"}
        Which derivative of Omega with respect to W_hh:

        * ``"exact"``: the total derivative.  W_hh moves the step Jacobians,
          the states h_k (so f'(a_k), a second-derivative term), and the
          backpropagated errors dE/dh_{k+1} themselves (through later
          Jacobians and the loss's Hessian).
        * ``"fixed_error"``: dE/dh_{k+1} held constant, as the paper's text
          approximates it; the states still follow W_hh.
        * ``"immediate"``: dE/dh_{k+1} and the states held constant, only the
          W_hh written in J_{k+1}^T differentiated: the paper's
          ``d+ Omega / d W_rec`` (eq. 11) and the authors' released code.

    Returns
    -------
    RegularizerValue

    Raises
    ------
    ValueError
        For ``"exact"`` and ``"fixed_error"`` with an activation that has no
        second derivative (``d2f``).
    NumericalError
        If a backpropagated gradient overflows.

    Notes
    -----
    The forms of the step Jacobian ``J_{k+1}^T g``:

    * Elman: ``W_hh^T diag(f'(a_{k+1})) g``;
    * leaky: ``alpha g + W_hh^T diag((1 - alpha) f'(a_{k+1})) g``;
    * recurrent-first (Pascanu et al.'s form): ``diag(f'(h_k)) W^T g``.

    The seed text writes ``dE/dh_{k+1} W^T diag(f'(h_k))``; for the
    recurrent-first form the exact row-vector product is
    ``dE/dh_{k+1} W diag(f'(h_k))`` (see the README on the textbook
    expression).  Terms with ``g_{k+1} = 0`` (no loss at or after step k+1)
    are left out; the released code also leaves out near-zero ones, squares
    the norms and averages over the batch, which only rescales Omega.

    The exact gradient is reverse mode through the whole computation: the
    forward run, the BPTT sweep ``g_{k} = e_k + J_{k+1}^T g_{k+1}`` and Omega.
    Its adjoint runs forward in time through the BPTT sweep (the adjoint of
    a backward recursion), then backward through the forward run, with
    f'' where the Jacobians depend on the states and the Hessian of the loss
    in z where the errors ``e_k`` depend on them: three O(T n^2) sweeps.

    References
    ----------
    R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training
    recurrent neural networks", ICML 2013, section 3.3.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.ElmanRNN(spectra.init.orthogonal(4, rng=0), np.eye(4), activation="identity")
    >>> x = np.random.default_rng(1).standard_normal((5, 4))
    >>> W_yh = np.random.default_rng(2).standard_normal((3, 4))
    >>> res = spectra.vanishing_regularizer(cell, x, [0, 1, 2, 1, 0], W_yh)
    >>> bool(res.value < 1e-28), bool(np.allclose(res.ratios, 1.0))     # orthogonal, linear: norm kept
    (True, True)
    """
    check_choice(gradient, "gradient", GRADIENTS)
    pb = Problem(cell, inputs, targets, W_yh, b_y, loss=loss, h0=h0, step_weights=step_weights)
    net = pb.net
    if gradient != "immediate" and net.act.d2f is None:
        raise ValueError(f"`gradient`={gradient!r} needs the second derivative of the activation, "
                         f"and {net.act!r} has no d2f; use gradient='immediate'")
    T = pb.T
    G = pb.backward()
    Gs = G[:, 1:]                                   # g_s, s = 1..T
    with np.errstate(over="ignore", invalid="ignore"):
        U = pb.jt(0, T, Gs)                         # J_s^T g_s
    check_finite(U, "J^T dE/dh")
    q = _norms(Gs)
    r = _norms(U)
    active = q > 0
    qs = np.where(active, q, 1.0)
    rho = np.where(active, r / qs, np.nan)
    dev = np.where(active, rho - 1.0, 0.0)
    terms = dev * dev
    value = float(terms.sum())
    # adjoint seeds: dOmega/dU_s and the direct dOmega/dg_s (through ||g_s||)
    # divided one norm at a time: q r overflows when the gradients are large (their ratio is not)
    coef_u = np.where(active & (r > 0), (2.0 * dev / qs) / np.where(r > 0, r, 1.0), 0.0)
    U_bar = coef_u[..., None] * U
    if gradient == "exact":
        G_bar_direct = (np.where(active, (-2.0 * dev * np.where(active, rho, 0.0) / qs) / qs,
                                 0.0)[..., None] * Gs)
    with np.errstate(over="ignore", invalid="ignore"):
        if net.form == "elman":
            grad = _elman_adjoint(pb, Gs, U_bar, G_bar_direct if gradient == "exact" else None, gradient)
        else:
            grad = _rf_adjoint(pb, Gs, U_bar, G_bar_direct if gradient == "exact" else None, gradient)
    check_finite(grad, "dOmega/dW_hh")
    shape = (lambda a: a if pb.batched else a[0])
    return RegularizerValue(value, grad, shape(rho), shape(terms), shape(active), pb.value, gradient)


def _loss_hessian_pullback(pb, G_bar):
    """h-bar_t = W_yh^T H_t W_yh g-bar_t: how the errors e_t = W_yh^T dE_t/dz_t move with h_t."""
    return pb.hessian_z(G_bar @ pb.V.T) @ pb.V


def _elman_adjoint(pb, Gs, U_bar, G_bar_direct, mode):
    net = pb.net
    W, S, T = net.W, pb.S, pb.T
    Delta = S * Gs                                  # delta_s = D_s g_s
    if mode != "exact":
        M_bar = U_bar                               # the errors are constants
        G_bar = None
    else:
        # adjoint of the BPTT sweep, forward in time: m_s = J_s^T g_s feeds g_{s-1} = e_{s-1} + m_s
        M_bar = np.empty_like(U_bar)
        G_bar = np.empty_like(U_bar)
        prev = np.zeros_like(U_bar[:, 0])           # g-bar_0: g_0 enters no term
        for i in range(T):
            m_bar = U_bar[:, i] + prev
            M_bar[:, i] = m_bar
            g_bar = G_bar_direct[:, i] + S[:, i] * (m_bar @ W.T)
            if net.alpha is not None:
                g_bar = g_bar + net.alpha * m_bar
            G_bar[:, i] = g_bar
            prev = g_bar
    grad = outer_sum(Delta, M_bar)                 # W explicit in W^T delta
    if mode == "immediate":
        return grad
    # through the states: S_s = beta f'(a_s) depends on a_s
    d2 = net.act.d2f(pb.A)
    if net.alpha is not None:
        d2 = net.beta * d2
    A_bar = d2 * Gs * (M_bar @ W.T)
    H_bar = np.zeros_like(Gs) if G_bar is None else _loss_hessian_pullback(pb, G_bar)
    # backward through the forward run: a_t = W h_{t-1} + ..., h_t = alpha h_{t-1} + beta f(a_t)
    h_hat = np.zeros_like(Gs[:, 0])
    A_hat = np.empty_like(Gs)
    for i in range(T - 1, -1, -1):                  # step t = i + 1
        h_hat = h_hat + H_bar[:, i]
        a_hat = A_bar[:, i] + S[:, i] * h_hat
        A_hat[:, i] = a_hat
        nxt = a_hat @ W
        if net.alpha is not None:
            nxt = nxt + net.alpha * h_hat
        h_hat = nxt
    return grad + outer_sum(A_hat, pb.R)


def _rf_adjoint(pb, Gs, U_bar, G_bar_direct, mode):
    net = pb.net
    W, Fp, T = net.W, pb.FpH, pb.T                  # Fp[:, s-1] = f'(h_{s-1})
    if mode != "exact":
        M_bar = U_bar
        G_bar = None
    else:
        M_bar = np.empty_like(U_bar)
        G_bar = np.empty_like(U_bar)
        prev = np.zeros_like(U_bar[:, 0])
        for i in range(T):
            m_bar = U_bar[:, i] + prev
            M_bar[:, i] = m_bar
            g_bar = G_bar_direct[:, i] + (Fp[:, i] * m_bar) @ W.T
            G_bar[:, i] = g_bar
            prev = g_bar
    Q_bar = Fp * M_bar                              # adjoint of W^T g_s
    grad = outer_sum(Gs, Q_bar)
    if mode == "immediate":
        return grad
    # f'(h_{s-1}) depends on h_{s-1}: h-bar_{s-1} += f''(h_{s-1}) (W^T g_s) m-bar_s
    Hprev = pb.H[:, :-1]
    Hbar_prev = net.act.d2f(Hprev) * (Gs @ W) * M_bar      # rows for h_0..h_{T-1}
    H_bar = np.zeros_like(Gs)                              # rows for h_1..h_T
    H_bar[:, :-1] = Hbar_prev[:, 1:]
    if G_bar is not None:
        H_bar = H_bar + _loss_hessian_pullback(pb, G_bar)
    # backward through h_t = W f(h_{t-1}) + ...
    h_hat = np.zeros_like(Gs[:, 0])
    P_hat = np.empty_like(Gs)
    for i in range(T - 1, -1, -1):                  # step t = i + 1
        h_hat = h_hat + H_bar[:, i]
        P_hat[:, i] = h_hat
        h_hat = Fp[:, i] * (h_hat @ W)
    return grad + outer_sum(P_hat, pb.R)


# 0.1 names
RegularizerResult = RegularizerValue
