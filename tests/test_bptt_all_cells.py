"""bptt_gradient for every cell with the parameter_vjp hook, against torch autograd.

The truth is torch's ``loss.backward()`` on the float64 torch module (nn.RNN,
nn.LSTM, nn.GRU, a custom module unrolled by hand), with the squared loss on
``W_yh h_t + b_y``; the lag decomposition is checked against the pair terms
``dE_t/dtheta_k`` of an unrolled torch LSTM with one copy of the weights per step.
"""

import numpy as np
import pytest

import spectra

from _helpers import relative_error

torch = pytest.importorskip("torch")
nn = torch.nn

D, N, C, T = 3, 5, 2, 7
TOL = 1e-10


def _torch_problem(rng, batch):
    shape = (batch, T) if batch else (T,)
    x = rng.standard_normal(shape + (D,))
    y = rng.standard_normal(shape + (C,))
    V = rng.standard_normal((C, N))
    by = rng.standard_normal(C)
    return x, y, V, by


def _torch_grads(module, x, y, V, by, unroll=None):
    """{name: grad} of 0.5 sum ||V h_t + b_y - y_t||^2 by torch autograd (float64)."""
    module.zero_grad()
    Vt = torch.tensor(V, requires_grad=True)
    bt = torch.tensor(by, requires_grad=True)
    xt = torch.tensor(x)
    if unroll is None:
        out = module(xt if xt.ndim == 3 else xt[None])[0]      # batch_first=True
        out = out if xt.ndim == 3 else out[0]
    else:
        out = unroll(module, xt)
    loss = 0.5 * torch.sum((out @ Vt.T + bt - torch.tensor(y)) ** 2)
    loss.backward()
    grads = {k: p.grad.numpy().copy() for k, p in module.named_parameters()}
    grads.update(W_yh=Vt.grad.numpy(), b_y=bt.grad.numpy())
    return float(loss.detach()), grads


def _check_all(res, loss, grads):
    assert res.loss == pytest.approx(loss, rel=1e-12)
    assert set(res.grads) == set(grads)
    for k, g in grads.items():
        assert res.grads[k].shape == g.shape, k
        assert relative_error(res.grads[k], g) < TOL, k


NETWORKS = [
    ("rnn_tanh", 1), ("rnn_tanh", 2), ("rnn_relu", 1), ("rnn_relu", 2),
    ("lstm", 1), ("lstm", 2), ("gru", 1), ("gru", 2),
]


def _module(kind, layers, seed=0):
    torch.manual_seed(seed)
    if kind.startswith("rnn"):
        m = nn.RNN(D, N, num_layers=layers, nonlinearity=kind[4:], batch_first=True)
    else:
        m = (nn.LSTM if kind == "lstm" else nn.GRU)(D, N, num_layers=layers, batch_first=True)
    m = m.double()
    with torch.no_grad():                      # larger than the default U(-1/sqrt n, 1/sqrt n)
        for p in m.parameters():
            p.mul_(2.0)
    return m


@pytest.mark.parametrize("kind,layers", NETWORKS, ids=[f"{k}-{l}" for k, l in NETWORKS])
@pytest.mark.parametrize("batch", [0, 3], ids=["single", "batched"])
def test_from_torch_networks_match_torch_backward(kind, layers, batch, rng):
    module = _module(kind, layers)
    x, y, V, by = _torch_problem(rng, batch)
    loss, grads = _torch_grads(module, x, y, V, by)
    cell = spectra.from_torch(module)
    res = spectra.bptt_gradient(cell, x, y, V, by, loss="squared")
    _check_all(res, loss, grads)
    # every torch parameter is reported under its own name, e.g. weight_hh_l1
    assert {k for k, _ in module.named_parameters()} | {"W_yh", "b_y"} == set(res.grads)
    assert res.dW_hh is None if layers > 1 or kind in ("lstm", "gru") else res.dW_hh is not None


def test_classic_cell_grads_agree_with_its_own_fields(rng):
    module = _module("rnn_tanh", 1)
    x, y, V, by = _torch_problem(rng, 0)
    res = spectra.bptt_gradient(spectra.from_torch(module), x, y, V, by, loss="squared",
                                decompose=True)
    assert relative_error(res.grads["weight_hh_l0"], res.dW_hh) < 1e-13
    assert relative_error(res.grads["weight_ih_l0"], res.dW_hx) < 1e-13
    assert relative_error(res.grads["bias_ih_l0"], res.db) < 1e-13
    assert np.array_equal(res.grads["bias_ih_l0"], res.grads["bias_hh_l0"])
    assert relative_error(res.lag_norms_by_param["weight_hh_l0"], res.lag_norms) < 1e-12
    # the generic path (a one-layer Stack has no classic form) gives the same decomposition
    plain = spectra.from_torch(module)
    plain = spectra.ElmanRNN(plain.W_hh, plain.W_hx, plain.b)          # no torch names
    via = spectra.bptt_gradient(spectra.Stack([plain]), x, y, V, by,
                                loss="squared", decompose=True)
    assert via.dW_hh is None and via.pair_norms is None
    for own, name in (("W_hh", "weight_hh_l0"), ("W_hx", "weight_ih_l0"), ("b", "bias_hh_l0")):
        assert relative_error(via.grads[f"layer0.{own}"], res.grads[name]) < 1e-13
        assert relative_error(via.lag_norms_by_param[f"layer0.{own}"],
                              res.lag_norms_by_param[name]) < 1e-12, own


class _Step(nn.Module):
    """A custom recurrent step with a gain vector and a leak: not a classic cell."""

    def __init__(self):
        super().__init__()
        self.rec = nn.Linear(N, N)
        self.inp = nn.Linear(D, N, bias=False)
        self.gain = nn.Parameter(torch.linspace(0.5, 1.5, N))
        self.register_buffer("leak", torch.full((N,), 0.2))

    def forward(self, h, x):
        return self.leak * h + self.gain * torch.tanh(self.rec(h) + self.inp(x))


def _unroll(module, xt):
    h = torch.zeros(xt.shape[:-2] + (N,), dtype=torch.float64)
    out = []
    for t in range(xt.shape[-2]):
        h = module(h, xt[..., t, :])
        out.append(h)
    return torch.stack(out, dim=-2)


@pytest.mark.parametrize("batch", [0, 2], ids=["single", "batched"])
def test_torch_cell_matches_autograd(batch, rng):
    torch.manual_seed(1)
    module = _Step().double()
    x, y, V, by = _torch_problem(rng, batch)
    loss, grads = _torch_grads(module, x, y, V, by, unroll=_unroll)
    cell = spectra.TorchCell(module, N, input_size=D)
    res = spectra.bptt_gradient(cell, x, y, V, by, loss="squared")
    _check_all(res, loss, grads)


def test_parameter_vjp_per_step_sums_to_the_total(rng):
    """per_step=True keeps (batch, step) axes whose sum is the summed cotangent."""
    cells = [spectra.LSTM.random(3, input_size=2, rng=0), spectra.GRU.random(3, input_size=2, rng=1),
             spectra.LeakyRNN.random(3, input_size=2, bias_scale=0.1, rng=2, alpha=0.3),
             spectra.RecurrentFirstRNN.random(3, input_size=2, bias_scale=0.1, rng=3),
             spectra.Stack([spectra.LSTM.random(3, input_size=2, rng=4),
                            spectra.GRU.random(2, input_size=3, rng=5)])]
    for cell in cells:
        traj = cell.run(rng.standard_normal((2, 4, 2)))
        U = rng.standard_normal(traj.states[..., 1:, :].shape)
        total = traj.parameter_vjp(U)
        each = traj.parameter_vjp(U, per_step=True)
        assert set(total) == set(cell.parameters())
        for k, v in cell.parameters().items():
            assert each[k].shape == (2, 4) + v.shape
            assert relative_error(each[k].sum(axis=(0, 1)), total[k]) < 1e-13


def test_parameter_vjp_of_a_stack_against_central_differences(rng):
    """The stack's hook is the derivative of sum_t u_t . F(h_{t-1}, x_t) in each weight."""
    make = (lambda W: spectra.Stack([spectra.GRU(W[0], W[1], W[2], W[3]),
                                     spectra.LSTM.from_torch(state)]))
    g = spectra.GRU.random(3, input_size=2, rng=0)
    state = {k + "_l0": v for k, v in spectra.LSTM.random(2, input_size=3, rng=1).parameters().items()}
    W = [g.weight_ih, g.weight_hh, g.bias_ih, g.bias_hh]
    stack = make(W)
    traj = stack.run(rng.standard_normal((4, 2)), h0=0.3 * rng.standard_normal(stack.n))
    U = rng.standard_normal(traj.states[1:].shape)
    got = traj.parameter_vjp(U)

    def objective(Wk, k):
        ws = list(W)
        ws[k] = Wk
        cell = make(ws)
        # F at the fixed points (h_{t-1}, x_t) of the run: one step from each stored state
        new = np.stack([cell.step(traj.states[t], traj.inputs[t]) for t in range(4)])
        return float(np.sum(U * new))

    for k, name in enumerate(["weight_ih", "weight_hh", "bias_ih", "bias_hh"]):
        fd = np.zeros(W[k].shape)
        for idx in np.ndindex(W[k].shape):
            E = np.zeros(W[k].shape)
            E[idx] = 1e-6
            fd[idx] = (objective(W[k] + E, k) - objective(W[k] - E, k)) / 2e-6
        assert relative_error(got[f"layer0.{name}"], fd) < 1e-7, name


def _lstm_pairs(module, x, y, V, by):
    """C_lag[name] = sum_k dE_{k+lag}/dtheta_k from an unrolled LSTM with one weight copy per step."""
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    base = dict(module.named_parameters())
    copies = [{k: base[k].detach().clone().requires_grad_(True) for k in names} for _ in range(T)]
    xt, yt = torch.tensor(x), torch.tensor(y)
    Vt, bt = torch.tensor(V), torch.tensor(by)
    h = torch.zeros(N, dtype=torch.float64)
    c = torch.zeros(N, dtype=torch.float64)
    losses = []
    for t in range(T):
        p = copies[t]
        a = p["weight_ih_l0"] @ xt[t] + p["bias_ih_l0"] + p["weight_hh_l0"] @ h + p["bias_hh_l0"]
        i, f, g, o = a.chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        losses.append(0.5 * torch.sum((Vt @ h + bt - yt[t]) ** 2))
    C = {k: np.zeros((T,) + tuple(base[k].shape)) for k in names}
    for t in range(T):
        flat = [copies[k][nm] for k in range(t + 1) for nm in names]
        grads = torch.autograd.grad(losses[t], flat, retain_graph=True)
        for j, g in enumerate(grads):
            k, nm = divmod(j, len(names))
            C[names[nm]][t - k] += g.numpy()
    return C


def test_lag_decomposition_of_an_lstm_matches_torch_pair_terms(rng):
    module = _module("lstm", 1)
    x, y, V, by = _torch_problem(rng, 0)
    res = spectra.bptt_gradient(spectra.from_torch(module), x, y, V, by, loss="squared",
                                decompose=True)
    C = _lstm_pairs(module, x, y, V, by)
    total = 0.0
    for name, parts in C.items():
        # the pair terms sum back to the gradient, lag by lag ...
        assert relative_error(parts.sum(axis=0), res.grads[name]) < TOL
        # ... and the reported norms are those of the lag terms
        norms = np.linalg.norm(parts.reshape(T, -1), axis=1)
        assert relative_error(res.lag_norms_by_param[name], norms) < 1e-9
        total = total + norms ** 2
    assert relative_error(res.lag_norms, np.sqrt(total)) < 1e-9
    assert res.pair_norms is None


def test_truncated_bptt_of_an_lstm_keeps_the_first_lags(rng):
    module = _module("lstm", 1)
    x, y, V, by = _torch_problem(rng, 0)
    C = _lstm_pairs(module, x, y, V, by)
    cell = spectra.from_torch(module)
    for n in (0, 2, 5):
        res = spectra.bptt_gradient(cell, x, y, V, by, loss="squared", truncation=n)
        assert res.truncation == n
        for name, parts in C.items():
            assert relative_error(res.grads[name], parts[:n + 1].sum(axis=0)) < TOL


def test_decompose_selected_names_and_batched_stack(rng):
    module = _module("gru", 2)
    x, y, V, by = _torch_problem(rng, 2)
    cell = spectra.from_torch(module)
    res = spectra.bptt_gradient(cell, x, y, V, by, loss="squared", decompose=["weight_hh_l1"])
    assert list(res.lag_norms_by_param) == ["weight_hh_l1"]
    assert res.lag_norms_by_param["weight_hh_l1"].shape == (T,)
    full = spectra.bptt_gradient(cell, x, y, V, by, loss="squared", decompose=True)
    assert np.allclose(full.lag_norms_by_param["weight_hh_l1"], res.lag_norms_by_param["weight_hh_l1"],
                       rtol=1e-12, atol=0)
    assert len(full.lag_norms_by_param) == 8
    with pytest.raises(ValueError, match=r"`decompose` names \['weight_hh_l2'\].*weight_hh_l1"):
        spectra.bptt_gradient(cell, x, y, V, by, loss="squared", decompose=["weight_hh_l2"])


@pytest.mark.parametrize("kind", ["lstm", "rnn_tanh"])
def test_float32_cells_are_differentiated_in_float64(kind, rng):
    """A float32 network's gradient is that of its (rounded) weights, computed in float64."""
    module = _module(kind, 2)
    x, y, V, by = _torch_problem(rng, 0)
    cls = spectra.LSTM if kind == "lstm" else spectra.ElmanRNN
    cell32 = spectra.Stack([cls.from_torch(module, l, dtype=np.float32) for l in (0, 1)])
    rounded = spectra.Stack([type(c)(*(np.float64(a) for a in c.parameters().values()))
                             for c in cell32.cells])
    r32 = spectra.bptt_gradient(cell32, x, y, V, by, loss="squared")
    r64 = spectra.bptt_gradient(rounded, x, y, V, by, loss="squared")
    assert set(r32.grads) == {k for k, _ in module.named_parameters()} | {"W_yh", "b_y"}
    for k, g in r32.grads.items():
        assert g.dtype == np.float64
        own = cell32.torch_names.get(k, k)
        assert relative_error(g, r64.grads[own]) < 1e-12, k


def test_single_step_torch_cells_are_named_without_suffix(rng):
    torch.manual_seed(0)
    cell = spectra.from_torch(nn.LSTMCell(D, N).double())
    assert cell.torch_names == {k: k for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    elman = spectra.ElmanRNN.from_torch(nn.RNN(D, N, num_layers=2).double(), layer=1)
    assert elman.torch_names == {"weight_hh_l1": "W_hh", "weight_ih_l1": "W_hx",
                                 "bias_ih_l1": "b", "bias_hh_l1": "b"}


class _DiagReadOut(spectra.Cell):
    """A third-party cell: h_t = a * h_{t-1} + U x_t with a linear read-out h M (not a selection)."""

    M = np.array([[1.0, 0.5], [0.0, -1.0], [2.0, 0.0], [0.3, 0.3], [0.0, 1.0]])

    def __init__(self, a, U):
        self.a, self.U, self.n, self.input_size = np.asarray(a), np.asarray(U), N, D

    def input_drive(self, X, steps, batch_shape):
        return X @ self.U.T

    def advance(self, h, u):
        return self.a * h + u, None

    def factored_jacobians(self, states, aux):
        return spectra.DenseJacobians(np.broadcast_to(np.diag(self.a), (states.shape[-2] - 1, N, N)))

    def parameters(self):
        return {"a": self.a, "U": self.U}

    def hidden_part(self, states):
        return states @ self.M

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        return {"a": np.sum(cotangents * states[..., :-1, :], axis=-2),
                "U": cotangents.T @ inputs}


def test_a_third_party_cell_with_a_linear_read_out(rng):
    a, U = rng.uniform(-0.9, 0.9, N), rng.standard_normal((N, D))
    x, y = rng.standard_normal((T, D)), rng.standard_normal((T, C))
    V, by = rng.standard_normal((C, 2)), rng.standard_normal(C)
    res = spectra.bptt_gradient(_DiagReadOut(a, U), x, y, V, by, loss="squared")
    at, Ut = torch.tensor(a, requires_grad=True), torch.tensor(U, requires_grad=True)
    Vt, bt = torch.tensor(V, requires_grad=True), torch.tensor(by, requires_grad=True)
    h, loss = torch.zeros(N, dtype=torch.float64), 0.0
    for t in range(T):
        h = at * h + Ut @ torch.tensor(x[t])
        loss = loss + 0.5 * torch.sum((Vt @ (torch.tensor(_DiagReadOut.M).T @ h) + bt
                                       - torch.tensor(y[t])) ** 2)
    loss.backward()
    assert res.loss == pytest.approx(float(loss.detach()), rel=1e-13)
    for k, g in {"a": at.grad, "U": Ut.grad, "W_yh": Vt.grad, "b_y": bt.grad}.items():
        assert relative_error(res.grads[k], g.numpy()) < TOL, k


class _Autonomous(nn.Module):
    def __init__(self):
        super().__init__()
        self.rec = nn.Linear(N, N)

    def forward(self, h, x):
        assert x is None
        return torch.tanh(self.rec(h))


def test_torch_cell_per_step_and_autonomous(rng):
    torch.manual_seed(2)
    module = _Step().double()
    cell = spectra.TorchCell(module, N, input_size=D)
    traj = cell.run(rng.standard_normal((2, 4, D)))
    U = rng.standard_normal((2, 4, N))
    total, each = traj.parameter_vjp(U), traj.parameter_vjp(U, per_step=True)
    # truth for one (batch, step) entry: torch autograd of u . F(h_{t-1}, x_t)
    h = torch.tensor(traj.states[1, 2])
    x = torch.tensor(traj.inputs[1, 2])
    copy = cell.module
    copy.zero_grad()
    torch.sum(torch.tensor(U[1, 2]) * copy(h, x)).backward()
    for k, p in copy.named_parameters():
        assert each[k].shape == (2, 4) + tuple(p.shape)
        assert relative_error(each[k][1, 2], p.grad.numpy()) < 1e-12, k
        assert relative_error(each[k].sum(axis=(0, 1)), total[k]) < 1e-12, k

    torch.manual_seed(3)
    auto = _Autonomous().double()
    y = rng.standard_normal((T, C))
    V = rng.standard_normal((C, N))
    h0 = rng.standard_normal(N)
    res = spectra.bptt_gradient(spectra.TorchCell(auto, N), None, y, V, loss="squared", h0=h0)
    auto.zero_grad()
    Vt = torch.tensor(V, requires_grad=True)
    h, loss = torch.tensor(h0), 0.0
    for t in range(T):
        h = auto(h, None)
        loss = loss + 0.5 * torch.sum((Vt @ h - torch.tensor(y[t])) ** 2)
    loss.backward()
    for k, p in auto.named_parameters():
        assert relative_error(res.grads[k], p.grad.numpy()) < TOL, k
    assert relative_error(res.grads["W_yh"], Vt.grad.numpy()) < TOL
