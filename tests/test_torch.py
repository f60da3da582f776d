"""Against PyTorch itself, in float64: forward passes and torch.func.jacrev Jacobians.

Skipped when torch is not installed (CI has no torch; tests/test_gated.py checks the same
equations and Jacobians against reference code and finite differences).
"""

import numpy as np
import pytest

import spectra

torch = pytest.importorskip("torch")
nn = torch.nn

TOL = dict(rtol=1e-12, atol=1e-13)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(1234)


def _np(t):
    return t.detach().numpy()


def _module(kind, d, n, **kwargs):
    if kind == "rnn_relu":
        return nn.RNN(d, n, nonlinearity="relu", **kwargs).double()
    return {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN}[kind](d, n, **kwargs).double()


def _cell_class(kind):
    return {"lstm": spectra.LSTM, "gru": spectra.GRU}.get(kind, spectra.ElmanRNN)


def _h0(kind, cell_h, cell_c=None):
    if kind == "lstm":
        return (cell_h, cell_c)
    return cell_h


KINDS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]


@pytest.mark.parametrize("kind", KINDS)
def test_multilayer_bidirectional_forward_pass_layer_by_layer(kind, rng):
    d, n, L, T, B = 3, 4, 2, 6, 3
    module = _module(kind, d, n, num_layers=L, bidirectional=True, batch_first=True)
    X = rng.standard_normal((B, T, d))
    h0 = rng.standard_normal((2 * L, B, n))
    c0 = rng.standard_normal((2 * L, B, n))
    with torch.no_grad():
        if kind == "lstm":
            out, (hn, cn) = module(torch.tensor(X), (torch.tensor(h0), torch.tensor(c0)))
        else:
            out, hn = module(torch.tensor(X), torch.tensor(h0))
    layer_input = X
    for layer in range(L):
        outs = []
        for direction, reverse in enumerate((False, True)):
            cell = _cell_class(kind).from_torch(module, layer, reverse=reverse)
            j = 2 * layer + direction
            start = (h0[j], c0[j]) if kind == "lstm" else h0[j]
            inputs = layer_input[:, ::-1] if reverse else layer_input
            traj = cell.run(inputs, h0=start)
            hidden = traj.hidden[:, 1:]
            outs.append(hidden[:, ::-1] if reverse else hidden)
            np.testing.assert_allclose(traj.hidden[:, -1], _np(hn[j]), **TOL)
            if kind == "lstm":
                np.testing.assert_allclose(traj.states[:, -1, n:], _np(cn[j]), **TOL)
        layer_input = np.concatenate(outs, axis=-1)
    np.testing.assert_allclose(layer_input, _np(out), **TOL)


def _torch_step(kind, module, x):
    """The one-step state map of a single-layer torch module, [h, c] -> [h', c'] for the LSTM."""
    n = module.hidden_size
    xt = torch.tensor(x)[None, None]

    def step(s):
        if kind == "lstm":
            _, (h, c) = module(xt, (s[None, None, :n], s[None, None, n:]))
            return torch.cat([h.reshape(-1), c.reshape(-1)])
        _, h = module(xt, s[None, None])
        return h.reshape(-1)
    return step


@pytest.mark.parametrize("kind", KINDS)
def test_step_jacobian_equals_jacrev(kind, rng):
    d, n = 3, 5
    module = _module(kind, d, n)
    cell = _cell_class(kind).from_torch(module)
    for _ in range(3):
        s, x = rng.standard_normal(cell.n), rng.standard_normal(d)
        J_torch = _np(torch.func.jacrev(_torch_step(kind, module, x))(torch.tensor(s)))
        np.testing.assert_allclose(cell.step_jacobian(s, x), J_torch, **TOL)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_product_over_a_sequence_equals_jacrev(kind, rng):
    d, n, T = 2, 4, 12
    module = _module(kind, d, n)
    cell = _cell_class(kind).from_torch(module)
    X, s0 = rng.standard_normal((T, d)), rng.standard_normal(cell.n)
    Xt = torch.tensor(X)[:, None]

    def flow(s):
        if kind == "lstm":
            _, (h, c) = module(Xt, (s[None, None, :n], s[None, None, n:]))
            return torch.cat([h.reshape(-1), c.reshape(-1)])
        _, h = module(Xt, s[None, None])
        return h.reshape(-1)

    P_torch = _np(torch.func.jacrev(flow)(torch.tensor(s0)))
    traj = cell.run(X, h0=s0)
    np.testing.assert_allclose(traj.product(T, 0), P_torch, rtol=1e-11, atol=1e-13)
    # and backwards: one vector-Jacobian product through torch's autograd
    u = rng.standard_normal(cell.n)
    s = torch.tensor(s0, requires_grad=True)
    (flow(s) @ torch.tensor(u)).backward()
    np.testing.assert_allclose(traj.operator(T, 0).rmatvec(u), _np(s.grad), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("kind,module_cls", [("lstm", nn.LSTMCell), ("gru", nn.GRUCell), ("rnn", nn.RNNCell)])
def test_single_step_cell_modules(kind, module_cls, rng):
    d, n = 3, 4
    module = module_cls(d, n).double()
    cell = _cell_class(kind).from_torch(module)
    x, h, c = rng.standard_normal(d), rng.standard_normal(n), rng.standard_normal(n)
    with torch.no_grad():
        if kind == "lstm":
            h1, c1 = module(torch.tensor(x)[None], (torch.tensor(h)[None], torch.tensor(c)[None]))
            np.testing.assert_allclose(cell.step((h, c), x), np.concatenate([_np(h1[0]), _np(c1[0])]), **TOL)
        else:
            h1 = module(torch.tensor(x)[None], torch.tensor(h)[None])
            np.testing.assert_allclose(cell.step(h, x), _np(h1[0]), **TOL)


def test_rnn_nonlinearity_is_read_from_the_module():
    relu = nn.RNN(2, 3, nonlinearity="relu")
    assert spectra.ElmanRNN.from_torch(relu).activation.name == "relu"
    assert spectra.ElmanRNN.from_torch(relu, activation="relu").activation.name == "relu"
    with pytest.raises(ValueError, match="`activation` 'tanh' contradicts the module's nonlinearity 'relu'"):
        spectra.ElmanRNN.from_torch(relu, activation="tanh")
    # a state dict does not say: tanh unless told
    assert spectra.ElmanRNN.from_torch(relu.state_dict()).activation.name == "tanh"
    assert spectra.ElmanRNN.from_torch(relu.state_dict(), activation="relu").activation.name == "relu"


def test_module_inside_a_model_and_dtypes():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.GRU(3, 4, num_layers=2)
            self.head = nn.Linear(4, 1)

    model = Model()  # float32 parameters
    cell = spectra.GRU.from_torch(model, 1)
    assert cell.dtype == np.float64 and cell.input_size == 4
    np.testing.assert_array_equal(cell.weight_hh, model.encoder.weight_hh_l1.detach().numpy().astype(np.float64))
    assert spectra.GRU.from_torch(model, dtype=np.float32).weight_hh.dtype == np.float32
    with pytest.raises(TypeError, match="expected a torch nn.LSTM or nn.LSTMCell; got GRU"):
        spectra.LSTM.from_torch(model)
    half = nn.LSTM(2, 3).to(torch.bfloat16)
    loaded = spectra.LSTM.from_torch(half)
    np.testing.assert_array_equal(loaded.weight_hh, half.weight_hh_l0.double().detach().numpy())
    grad = nn.LSTM(2, 3)  # parameters that require grad convert without complaint
    spectra.LSTM.from_torch({k: v for k, v in grad.named_parameters()})


def test_projections_are_refused():
    with pytest.raises(ValueError, match=r"projections \(proj_size=2\) are not supported"):
        spectra.LSTM.from_torch(nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(ValueError, match="projections .* 'weight_hr_l0'"):
        spectra.LSTM.from_torch(nn.LSTM(3, 4, proj_size=2).state_dict())


def test_torch_files(tmp_path, rng):
    module = nn.LSTM(3, 4, num_layers=2).double()
    path = tmp_path / "lstm.pt"
    torch.save(module.state_dict(), path)
    for source in (path, str(path), spectra.io.load_state_dict(path), torch.load(path)):
        cell = spectra.LSTM.from_torch(source, 1)
        np.testing.assert_array_equal(cell.weight_ih, _np(module.weight_ih_l1))
    # a checkpoint with several entries
    ckpt = tmp_path / "ckpt.pth"
    torch.save({"model": {"rnn." + k: v for k, v in module.state_dict().items()}, "epoch": 7}, ckpt)
    state = spectra.io.load_state_dict(ckpt, key="model")
    assert sorted(state)[0] == "rnn.bias_hh_l0"
    np.testing.assert_array_equal(spectra.LSTM.from_torch(ckpt).weight_hh, _np(module.weight_hh_l0))
    with pytest.raises(ValueError, match=r"`key` 'optimizer' names no arrays .* top-level entries are \['epoch', 'model'\]"):
        spectra.io.load_state_dict(ckpt, key="optimizer")
    # a pickled module is not read (weights_only)
    whole = tmp_path / "whole.pt"
    torch.save(module, whole)
    with pytest.raises(ValueError, match=r"^this file holds a whole pickled module "
                       r"\(torch\.nn\.modules\.rnn\.LSTM\); save `model\.state_dict\(\)` instead") as err:
        spectra.io.load_state_dict(whole)
    assert "\x1b" not in str(err.value) and "\n" not in str(err.value) and len(str(err.value)) < 300
    # save as .npz from the module, read back with numpy alone
    npz = tmp_path / "lstm.npz"
    spectra.io.save_state_dict(npz, module)
    with np.load(npz) as data:
        np.testing.assert_array_equal(data["weight_hh_l1"], _np(module.weight_hh_l1))
    X = rng.standard_normal((5, 3))
    np.testing.assert_allclose(spectra.LSTM.from_torch(npz).run(X).states,
                               spectra.LSTM.from_torch(module).run(X).states, rtol=0, atol=0)


def test_mlp_equals_a_torch_sequential(rng):
    net = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    linears = [m for m in net if isinstance(m, nn.Linear)]
    mlp = spectra.MLP([_np(m.weight) for m in linears], [_np(m.bias) for m in linears],
                      activation=["tanh", "tanh", "identity"])
    x = rng.standard_normal((6, 3))
    traj = mlp.run(x)
    np.testing.assert_allclose(traj.layers[-1], _np(net(torch.tensor(x))), **TOL)
    J = _np(torch.func.jacrev(net)(torch.tensor(x[0])))
    np.testing.assert_allclose(traj.select(0).product(3, 0), J, **TOL)
    np.testing.assert_allclose(traj.product(3, 0)[2], _np(torch.func.jacrev(net)(torch.tensor(x[2]))), **TOL)
