"""Stack, input Jacobians and from_torch: against torch autograd, finite differences and identities."""

import copy

import numpy as np
import pytest

import spectra
from spectra.cells import Stack


def rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


# -- torch-free: the Stack against finite differences -----------------------------------
def mixed_stack():
    return Stack([spectra.LSTM.random(3, input_size=2, rng=0, gain=2.0),
                  spectra.ElmanRNN.random(4, input_size=3, rng=1, bias_scale=0.3),
                  spectra.GRU.random(2, input_size=4, rng=2, gain=2.0),
                  spectra.LeakyRNN.random(3, input_size=2, rng=3, alpha=0.3),
                  spectra.RecurrentFirstRNN.random(2, input_size=3, rng=4)])


def test_stack_step_and_input_jacobians_match_finite_differences():
    stack = mixed_stack()
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 2))
    h0 = 0.3 * rng.standard_normal(stack.n)
    traj = stack.run(X, h0=h0)
    eps = 1e-6

    def final(h, X):
        return stack.run(X, h0=h).states[-1]

    num = np.column_stack([(final(h0 + eps * e, X) - final(h0 - eps * e, X)) / (2 * eps)
                           for e in np.eye(stack.n)])
    assert rel(traj.product(3, 0), num) < 1e-8
    E = np.zeros_like(X)
    cols = []
    for j in range(2):
        E[:] = 0
        E[1, j] = eps
        cols.append((final(h0, X + E) - final(h0, X - E)) / (2 * eps))
    assert rel(traj.input_jacobian(3, 2), np.column_stack(cols)) < 1e-8
    # the first layer's state is unaffected by the others: block lower-triangular
    assert np.all(traj.jacobian(2)[:6, 6:] == 0)


def test_stack_matmat_rmatmat_logabsdet_against_dense():
    stack = mixed_stack()
    rng = np.random.default_rng(6)
    traj = stack.run(rng.standard_normal((2, 4, 2)))          # a batch of two runs
    seq = traj.jacobian_sequence
    J = seq.matrix(3)
    X = rng.standard_normal((2, stack.n, 5))
    assert rel(seq.matmat(3, X), J @ X) < 1e-13
    assert rel(seq.rmatmat(3, X), np.swapaxes(J, -1, -2) @ X) < 1e-13
    assert np.allclose(seq.logabsdet(3), np.linalg.slogdet(J)[1], rtol=1e-10, atol=1e-10)
    B = traj.input_jacobian_sequence
    Bm = B.matrix(2)
    Y = rng.standard_normal((2, stack.n, 3))
    assert rel(B.rmatmat(2, Y), np.swapaxes(Bm, -1, -2) @ Y) < 1e-13
    one = traj.select(1)
    assert rel(one.jacobian(3), J[1]) < 1e-15
    assert rel(one.input_jacobian(3, 1), traj.input_jacobian(3, 1)[1]) < 1e-15


def test_analyses_run_on_a_stack():
    stack = Stack([spectra.LSTM.random(4, input_size=2, rng=0), spectra.GRU.random(3, input_size=4, rng=1)])
    traj = stack.run(np.random.default_rng(2).standard_normal((40, 2)))
    prof = spectra.gradient_norm_profile(traj)
    svd = [np.log(np.linalg.norm(traj.product(40, 40 - lag), 2)) for lag in prof.lags]
    assert np.allclose(prof.log_norms, svd, rtol=1e-9, atol=1e-9)
    lya = spectra.lyapunov_spectrum(traj)
    mean_logdet = np.mean([traj.jacobian_sequence.logabsdet(t) for t in range(1, 41)])
    assert abs(np.sum(lya.exponents) - mean_logdet) < 1e-8
    top = spectra.top_singular_values(traj.operator(40, 30), k=2)
    assert np.allclose(top.values, np.linalg.svd(traj.product(40, 30), compute_uv=False)[:2], rtol=1e-8)
    rep = spectra.bound_report(traj)
    assert np.allclose(rep.exact, svd, rtol=1e-8)            # log norms
    assert np.all(rep.exact <= rep.trajectory + 1e-9)


def test_stack_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match=r"`cells` widths do not chain: cells\[1\] takes inputs of size 5"):
        Stack([spectra.LSTM.random(3, input_size=2, rng=0), spectra.GRU.random(2, input_size=5, rng=0)])
    with pytest.raises(TypeError, match=r"`cells\[1\]` must be a spectra.Cell"):
        Stack([spectra.GRU.random(2, rng=0), "gru"])
    with pytest.raises(ValueError, match="`cells` must hold at least one"):
        Stack([])
    with pytest.raises(ValueError, match="has no input"):
        spectra.GRU.random(2, rng=0).run(steps=2).input_jacobian(1)
    stack = Stack([spectra.GRU.random(2, rng=0), spectra.GRU.random(2, input_size=2, rng=0)])
    with pytest.raises(ValueError, match="`h0` must be the stacked state of length 4"):
        stack.run(steps=2, h0=np.zeros(3))


def test_from_torch_state_dict_kind_and_errors():
    rng = np.random.default_rng(0)
    sd = {"weight_ih_l0": rng.standard_normal((3, 2)), "weight_hh_l0": rng.standard_normal((3, 3)),
          "weight_ih_l1": rng.standard_normal((3, 3)), "weight_hh_l1": rng.standard_normal((3, 3))}
    inferred = spectra.from_torch(sd)            # square weight_hh: an RNN, tanh unless told
    assert isinstance(inferred, Stack) and inferred.cells[1].activation.name == "tanh"
    stack = spectra.from_torch(sd, kind="rnn_relu")
    assert isinstance(stack, Stack) and stack.cells[1].activation.name == "relu"
    assert np.array_equal(spectra.from_torch(sd, kind="rnn", layer=1).W_hh, sd["weight_hh_l1"])
    with pytest.raises(ValueError, match="not of nn.GRU"):
        spectra.from_torch(sd, kind="gru")
    with pytest.raises(ValueError, match="`direction` 'both' cannot be one system"):
        spectra.from_torch(sd, kind="rnn", direction="both")
    with pytest.raises(ValueError, match="`kind` must be one of"):
        spectra.from_torch(sd, kind="transformer")
    with pytest.raises(TypeError, match="`obj` must be"):
        spectra.from_torch(3.0)


# -- against torch autograd ------------------------------------------------------------
torch = None


@pytest.fixture(scope="module")
def th():
    return pytest.importorskip("torch")


def torch_final_state_fn(module, kind, X, layers, H):
    """z (our stacked state at t=0) -> stacked state at T, via the float64 torch module."""
    import torch
    m = copy.deepcopy(module).double()
    Xt = torch.as_tensor(X.copy())
    if getattr(m, "batch_first", False):
        Xt = Xt[None]

    def f(z):
        if kind == "LSTM":
            zz = z.reshape(layers, 2, H)
            out, (h, c) = m(Xt, (zz[:, 0].unsqueeze(1) if m.batch_first else zz[:, 0],
                                 zz[:, 1].unsqueeze(1) if m.batch_first else zz[:, 1]))
            h, c = h.reshape(layers, H), c.reshape(layers, H)
            return torch.stack([h, c], 1).reshape(-1)
        zz = z.reshape(layers, H)
        out, h = m(Xt, zz.unsqueeze(1) if m.batch_first else zz)
        return h.reshape(-1)
    return f, m, Xt


@pytest.mark.parametrize("kind,layers,options", [
    ("LSTM", 2, dict(batch_first=True)),
    ("GRU", 3, dict(bias=False)),
    ("RNN", 2, dict(nonlinearity="relu")),
])
def test_from_torch_stack_matches_autograd(th, kind, layers, options):
    torch = th
    torch.manual_seed(0)
    H, d, T = 5, 3, 12
    module = getattr(torch.nn, kind)(d, H, num_layers=layers, **options)   # float32 weights
    stack = spectra.from_torch(module)
    assert isinstance(stack, Stack) and stack.layers == layers
    X = np.random.default_rng(1).standard_normal((T, d))
    f, m, Xt = torch_final_state_fn(module, kind, X, layers, H)
    z0 = torch.zeros(stack.n, dtype=torch.float64)
    ref = torch.autograd.functional.jacobian(f, z0).numpy()
    traj = stack.run(X)
    assert rel(traj.states[-1], f(z0).detach().numpy()) < 1e-12
    assert rel(traj.product(T, 0), ref) < 1e-10
    # the input Jacobian dh_T/dx_3 against autograd through the inputs
    Xd = torch.as_tensor(X.copy())

    def g(x):
        xx = x[None] if m.batch_first else x
        if kind == "LSTM":
            out, (h, c) = m(xx)
            return torch.stack([h.reshape(layers, H), c.reshape(layers, H)], 1).reshape(-1)
        return m(xx)[1].reshape(-1)
    refx = torch.autograd.functional.jacobian(g, Xd).numpy()[:, 2, :]
    assert rel(traj.input_jacobian(T, 3), refx) < 1e-10
    # jvp / vjp of one step against the dense step Jacobian
    seq = traj.jacobian_sequence
    v = np.random.default_rng(2).standard_normal(stack.n)
    assert rel(seq.matvec(T, v), traj.jacobian(T) @ v) < 1e-13
    assert rel(seq.rmatvec(T, v), traj.jacobian(T).T @ v) < 1e-13


def test_from_torch_modules_cells_and_float32_biases(th):
    torch = th
    torch.manual_seed(0)
    rnn = torch.nn.RNN(3, 4)
    cell = spectra.from_torch(rnn)
    assert isinstance(cell, spectra.ElmanRNN)
    b = rnn.bias_ih_l0.detach().numpy().astype(np.float64) + rnn.bias_hh_l0.detach().numpy().astype(np.float64)
    assert np.array_equal(cell.b, b)             # summed in float64, after conversion
    assert isinstance(spectra.from_torch(torch.nn.LSTMCell(3, 4)), spectra.LSTM)
    assert isinstance(spectra.from_torch(torch.nn.GRUCell(3, 4)), spectra.GRU)
    wrapped = torch.nn.Module()
    wrapped.encoder = torch.nn.GRU(3, 4, num_layers=2)
    assert isinstance(spectra.from_torch(wrapped), Stack)


def test_from_torch_bad_modules(th):
    torch = th
    bi = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    with pytest.raises(ValueError, match="`direction` 'both' cannot be one system"):
        spectra.from_torch(bi, direction="both")
    with pytest.raises(ValueError, match="bidirectional 2-layer network: each layer above the first"):
        spectra.from_torch(bi)
    fwd, rev = spectra.from_torch(bi, layer=1), spectra.from_torch(bi, layer=1, direction="reverse")
    assert fwd.input_size == 8                  # layer 1 reads both directions of layer 0
    assert np.array_equal(rev.weight_hh, bi.weight_hh_l1_reverse.detach().numpy().astype(float))
    one = torch.nn.GRU(3, 4, bidirectional=True)
    assert np.array_equal(spectra.from_torch(one, direction="reverse").weight_ih,
                          one.weight_ih_l0_reverse.detach().numpy().astype(float))
    with pytest.raises(ValueError, match="`direction` 'reverse' needs a bidirectional"):
        spectra.from_torch(torch.nn.GRU(3, 4), direction="reverse")
    meta = torch.nn.LSTM(3, 4, device="meta")
    with pytest.raises(ValueError, match="`obj` has parameter .* on the meta device"):
        spectra.from_torch(meta)
    with pytest.raises(ValueError, match="proj_size=2"):
        spectra.from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(TypeError, match="`obj` must be \\(or contain\\) a torch nn.RNN"):
        spectra.from_torch(torch.nn.Linear(3, 4))


# -- the command line: a multi-layer file is one system; --layer L is driven by the real outputs --
def test_cli_multilayer_weights(tmp_path, capsys):
    import json
    from spectra.cli import main
    rng = np.random.default_rng(0)
    n, d = 3, 2
    sd = {"weight_ih_l0": rng.standard_normal((4 * n, d)), "weight_hh_l0": rng.standard_normal((4 * n, n)),
          "weight_ih_l1": rng.standard_normal((4 * n, n)), "weight_hh_l1": rng.standard_normal((4 * n, n))}
    path = tmp_path / "lstm2.npz"
    np.savez(path, **sd)
    stack = spectra.from_torch(sd)

    def run(*extra):
        assert main(["bound", "--weights", str(path), "--steps", "15", "--seed", "3", *extra]) in (0, None)
        return capsys.readouterr().out

    data = json.loads(run("--json"))
    gen = np.random.default_rng(3)
    x = gen.standard_normal((15, d))
    traj = stack.run(x, h0=0.1 * gen.standard_normal(stack.n))
    np.testing.assert_allclose(data["exact"], spectra.bound_report(traj).exact, rtol=1e-12)
    assert data["network"]["layers"] == 2
    assert "2 layers as one system" in run()
    data1 = json.loads(run("--json", "--layer", "1"))
    layer1 = stack.cells[1].run(traj.states[1:, :n], h0=traj.states[0, 2 * n:])
    np.testing.assert_allclose(layer1.states, traj.states[:, 2 * n:], rtol=1e-13)
    np.testing.assert_allclose(data1["exact"], spectra.bound_report(layer1).exact, rtol=1e-12)
    assert "driven by the real outputs of layer 0" in run("--layer", "1")


def test_layer_gradient_norms_figure_draws_the_blocks():
    pytest.importorskip("matplotlib")
    stack = Stack([spectra.LSTM.random(3, input_size=2, rng=0), spectra.ElmanRNN.random(4, input_size=3, rng=1)])
    traj = stack.run(np.random.default_rng(0).standard_normal((12, 2)))
    fig = spectra.plot.layer_gradient_norms(traj)
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.lines] == ["layer 0: LSTM (h, c)", "layer 1: ElmanRNN h"]
    assert "(h, c)" not in ax.get_ylabel() and "h" in ax.get_ylabel()
    for l, sl in enumerate(stack.slices):
        want = [np.linalg.norm(traj.product(12, 12 - lag)[stack.slices[-1], sl], 2) for lag in range(1, 13)]
        np.testing.assert_allclose(ax.lines[l].get_ydata(), want, rtol=1e-10)


def test_a_list_of_layer_runs_points_to_stack():
    cell = spectra.LSTM.random(3, input_size=2, rng=0)
    traj = cell.run(np.ones((5, 2)))
    with pytest.raises(TypeError, match=r"`J` must be one Trajectory; got a list of 2 runs.*spectra.Stack"):
        spectra.gradient_norm_profile([traj, traj])


def test_docs_page_examples():
    import doctest
    import pathlib
    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "user" / "your_network.rst"
    res = doctest.testfile(str(page), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 5 and res.failed == 0


def test_docs_page_torch_code_block(th):
    torch = th
    lstm = torch.nn.LSTM(input_size=4, hidden_size=16, num_layers=2, batch_first=True)
    stack = spectra.from_torch(lstm)
    assert repr(stack) == "Stack([LSTM(hidden_size=16, input_size=4), LSTM(hidden_size=16, input_size=16)])"
    T = 30
    x = np.random.default_rng(0).standard_normal((T, 4))
    traj = stack.run(x)
    dh = traj.product()
    prof = spectra.gradient_norm_profile(traj)
    assert np.isclose(np.exp(prof.log_norms[-1]), np.linalg.norm(dh, 2), rtol=1e-9)
    assert spectra.lyapunov_spectrum(traj).exponents.shape == (64,)
    assert traj.input_jacobian(T, 1).shape == (64, 4)
