"""TorchCell, JaxCell and torch depth stacks against torch autograd (float64) and the built-in cells.

Independent truth: ``torch.autograd.functional.jacobian`` of the unrolled run (or of the
composed modules), dense SVDs of those Jacobians, and the analytic Jacobians of
spectra.ElmanRNN on the same weights.  The examples of docs/user/custom_cells.rst are
repeated here verbatim (test_docs_*).
"""

import numpy as np
import pytest

import spectra

torch = pytest.importorskip("torch")
nn = torch.nn

from spectra.cells.depth import depth_stack  # noqa: E402


def _rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(7)


# --- a piecewise-linear RNN written by the user -------------------------------------------
def _plrnn(n=6, m=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = 0.5 + 0.4 * torch.rand(n, generator=g, dtype=torch.float64)
    W = torch.randn(n, n, generator=g, dtype=torch.float64) / np.sqrt(n)
    U = torch.randn(n, m, generator=g, dtype=torch.float64)
    b = 0.1 * torch.randn(n, generator=g, dtype=torch.float64)

    def step(h, x):
        return A * h + W @ torch.relu(h) + U @ x + b

    return step


def _unrolled_jacobian(step, h0, X, k=0, t=None):
    """dh_t/dh_k by torch autograd through the unrolled run (h_k from the run itself)."""
    X = torch.tensor(np.array(X))
    t = X.shape[0] if t is None else t
    h = torch.tensor(np.array(h0))
    with torch.no_grad():
        for s in range(k):
            h = step(h, X[s])

    def run(hk):
        for s in range(k, t):
            hk = step(hk, X[s])
        return hk

    return torch.autograd.functional.jacobian(run, h).numpy()


def test_plrnn_products_against_autograd():
    step, n, m, T = _plrnn(), 6, 3, 30
    X = np.random.default_rng(1).standard_normal((T, m))
    h0 = np.random.default_rng(2).standard_normal(n)
    traj = spectra.TorchCell(step, n, input_size=m).run(X, h0=h0)
    # the forward pass is the user's
    h = torch.tensor(h0)
    for s in range(T):
        h = step(h, torch.tensor(X[s]))
    assert _rel(traj.states[-1], h.numpy()) < 1e-13
    for t, k in [(T, 0), (17, 4), (5, 4)]:
        assert _rel(traj.product(t, k), _unrolled_jacobian(step, h0, X, k, t)) < 1e-10
    P = _unrolled_jacobian(step, h0, X, 0, T)
    assert _rel(traj.operator(T, 0).matmat(np.eye(n)), P) < 1e-10
    assert _rel(traj.operator(T, 0).rmatmat(np.eye(n)), P.T) < 1e-10


def test_plrnn_gradient_norm_profile_matches_per_lag_svds():
    step, n, m, T = _plrnn(seed=3), 6, 3, 15
    X = np.random.default_rng(4).standard_normal((T, m))
    traj = spectra.TorchCell(step, n, input_size=m).run(X)
    prof = spectra.gradient_norm_profile(traj)
    want = [np.log(np.linalg.svd(_unrolled_jacobian(step, np.zeros(n), X, T - lag, T),
                                 compute_uv=False)[0]) for lag in range(1, T + 1)]
    np.testing.assert_array_equal(prof.lags, np.arange(1, T + 1))
    np.testing.assert_allclose(prof.log_norms, want, rtol=0, atol=1e-10)


# --- an Elman step against spectra.ElmanRNN ----------------------------------------------
def _elman(n=8, m=3, seed=0, gain=1.2):
    rng = np.random.default_rng(seed)
    W = gain * rng.standard_normal((n, n)) / np.sqrt(n)
    U = rng.standard_normal((n, m))
    b = 0.1 * rng.standard_normal(n)
    Wt, Ut, bt = (torch.as_tensor(a) for a in (W, U, b))

    def step(h, x):
        return torch.tanh(Wt @ h + Ut @ x + bt)

    return step, spectra.ElmanRNN(W, U, b)


def test_elman_step_agrees_with_elman_rnn():
    step, ref = _elman()
    X = np.random.default_rng(5).standard_normal((40, 3))
    a = spectra.TorchCell(step, 8, input_size=3).run(X)
    b = ref.run(X)
    assert np.abs(a.states - b.states).max() < 1e-14
    np.testing.assert_allclose(a.jacobians(), b.jacobians(), rtol=0, atol=1e-14)
    assert _rel(a.product(), b.product()) < 1e-12
    np.testing.assert_allclose(spectra.gradient_norm_profile(a).log_norms,
                               spectra.gradient_norm_profile(b).log_norms, rtol=0, atol=1e-10)
    # one-step helpers of the Cell base
    h = b.states[7]
    np.testing.assert_allclose(spectra.TorchCell(step, 8, input_size=3).jvp(h, np.ones(8), X[7]),
                               ref.jvp(h, np.ones(8), X[7]), atol=1e-14)


def test_analyses_run_on_a_torch_cell():
    step, ref = _elman(seed=1)
    X = np.random.default_rng(6).standard_normal((60, 3))
    a, b = spectra.TorchCell(step, 8, input_size=3).run(X), ref.run(X)
    la, lb = spectra.lyapunov_spectrum(a), spectra.lyapunov_spectrum(b)
    np.testing.assert_allclose(la.exponents, lb.exponents, rtol=0, atol=1e-10)
    ra, rb = spectra.bound_report(a), spectra.bound_report(b)
    np.testing.assert_allclose(ra.exact, rb.exact, rtol=1e-10)
    assert ra.classic is None    # a general step has no W to bound with
    top = spectra.top_singular_values(a.operator(20, 0), k=3)
    svd = np.linalg.svd(b.product(20, 0), compute_uv=False)[:3]
    np.testing.assert_allclose(top.values, svd, rtol=1e-8)


def test_module_step_runs_in_float64_and_is_left_alone():
    class Step(nn.Module):
        def __init__(self):
            super().__init__()
            self.rec = nn.Linear(5, 5)
            self.inp = nn.Linear(2, 5, bias=False)

        def forward(self, h, x):
            return torch.tanh(self.rec(h) + self.inp(x))

    module = Step()                      # float32, as a user has it
    cell = spectra.TorchCell(module, 5, input_size=2)
    assert module.rec.weight.dtype == torch.float32
    assert set(cell.parameters()) == {"rec.weight", "rec.bias", "inp.weight"}
    W = module.rec.weight.detach().double().numpy()
    ref = spectra.ElmanRNN(W, module.inp.weight.detach().double().numpy(),
                           module.rec.bias.detach().double().numpy())
    X = np.random.default_rng(0).standard_normal((12, 2))
    assert np.abs(cell.run(X).states - ref.run(X).states).max() < 1e-14


def test_batch_and_autonomous_runs():
    step, ref = _elman(n=4, m=2, seed=2)
    cell = spectra.TorchCell(step, 4, input_size=2)
    X = np.random.default_rng(0).standard_normal((3, 10, 2))
    tb, rb = cell.run(X), ref.run(X)
    assert tb.batch_shape == (3,)
    assert _rel(tb.product(), rb.product()) < 1e-12
    assert _rel(tb.select(1).product(), rb.select(1).product()) < 1e-12
    assert _rel(cell.run(steps=6).product(), ref.run(steps=6).product()) < 1e-12
    # no input at all: step gets x=None
    auto = spectra.TorchCell(lambda h, x: torch.tanh(1.5 * h), 3)
    np.testing.assert_allclose(auto.run(h0=[0.1, 0.2, 0.3], steps=1).jacobian(1),
                               np.diag(1.5 * (1 - np.tanh(1.5 * np.array([0.1, 0.2, 0.3])) ** 2)),
                               atol=1e-15)


# --- depth stacks ---------------------------------------------------------------------------
class _ResBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d)
        self.fc2 = nn.Linear(2 * d, d)

    def forward(self, h):
        return h + self.fc2(torch.tanh(self.fc1(self.norm(h))))


def _composed_jacobian(modules, x, k, t):
    mods = [m.double().eval() for m in modules]
    x = x.clone() if torch.is_tensor(x) else torch.tensor(np.array(x), dtype=torch.float64)
    with torch.no_grad():
        h = x
        for m in mods[:k]:
            h = m(h)
    shape = h.shape

    def f(v):
        g = v.reshape(shape)
        for m in mods[k:t]:
            g = m(g)
        return g.reshape(-1)

    return torch.autograd.functional.jacobian(f, h.reshape(-1)).numpy()


def test_residual_layernorm_stack_against_autograd():
    d = 6
    blocks = nn.Sequential(*[_ResBlock(d) for _ in range(4)])
    x = np.random.default_rng(0).standard_normal(d)
    traj = depth_stack(blocks).run(x)
    assert traj.steps == 4 and traj.widths == (d,) * 5
    for t, k in [(4, 0), (3, 1), (2, 1)]:
        assert _rel(traj.product(t, k), _composed_jacobian(list(blocks), x, k, t)) < 1e-10
    # per-layer gains, the end-to-end top singular values and the depth profile
    for l in range(1, 5):
        gain = spectra.top_singular_values(traj.operator(l, l - 1), k=1).values[0]
        want = np.linalg.svd(_composed_jacobian(list(blocks), x, l - 1, l), compute_uv=False)[0]
        assert abs(gain - want) <= 1e-9 * want
    top = spectra.top_singular_values(traj.operator(4, 0), k=3).values
    np.testing.assert_allclose(top, np.linalg.svd(_composed_jacobian(list(blocks), x, 0, 4),
                                                  compute_uv=False)[:3], rtol=1e-8)
    prof = spectra.depth_profile(traj)
    want = [np.log(np.linalg.svd(_composed_jacobian(list(blocks), x, 4 - lag, 4),
                                 compute_uv=False)[0]) for lag in range(1, 5)]
    np.testing.assert_allclose(prof.log_norms[0], want, rtol=0, atol=1e-10)


def test_transformer_encoder_stack_against_autograd():
    d, tokens = 4, 3
    layers = [nn.TransformerEncoderLayer(d, nhead=2, dim_feedforward=8, dropout=0.1)
              for _ in range(2)]
    x = torch.randn(tokens, d, dtype=torch.float64)
    traj = depth_stack(layers).run(x)
    assert traj.widths == (tokens * d,) * 3
    P = _composed_jacobian(layers, x, 0, 2)
    assert _rel(traj.product(2, 0), P) < 1e-10
    assert _rel(traj.jacobian(2) @ traj.jacobian(1), P) < 1e-10
    assert layers[0].training is False   # _composed_jacobian put them in eval, as depth_stack does
    top = spectra.top_singular_values(traj.operator(2, 0), k=2).values
    np.testing.assert_allclose(top, np.linalg.svd(P, compute_uv=False)[:2], rtol=1e-8)


def test_depth_stack_with_changing_widths():
    mods = [nn.Linear(4, 7), nn.Tanh(), nn.Linear(7, 3)]
    x = np.random.default_rng(1).standard_normal(4)
    traj = depth_stack(mods).run(x)
    assert traj.widths == (4, 7, 7, 3)
    assert _rel(traj.product(3, 0), _composed_jacobian(mods, x, 0, 3)) < 1e-12


# --- bad input ------------------------------------------------------------------------------
def test_bad_inputs():
    with pytest.raises(TypeError, match="`step`"):
        spectra.TorchCell("tanh", 3)
    with pytest.raises(ValueError, match="`state_size`"):
        spectra.TorchCell(lambda h, x: h, 0)
    with pytest.raises(ValueError, match=r"`step` must return .*shape \(3,\).*got shape \(2,\)"):
        spectra.TorchCell(lambda h, x: h[:2], 3)
    with pytest.raises(TypeError, match="`step` must return a torch tensor"):
        spectra.TorchCell(lambda h, x: 1.0, 3)
    with pytest.raises(spectra.NumericalError, match="`step` returned a non-finite state"):
        spectra.TorchCell(lambda h, x: h / h.sum(), 3)          # 0/0 at the zero state
    cell = spectra.TorchCell(lambda h, x: torch.sqrt(1.5 - h) + h, 2)   # NaN at step 2
    with pytest.raises(spectra.NumericalError, match="non-finite state \\(NaN\\)"):
        cell.run(steps=5)
    with pytest.raises(ValueError, match="`inputs` must have 2 features"):
        spectra.TorchCell(lambda h, x: h + x.sum(), 3, input_size=2).run(np.ones((4, 3)))
    with pytest.raises(ValueError, match="meta device"):
        spectra.TorchCell(nn.Linear(3, 3, device="meta"), 3)
    with pytest.raises(ValueError, match="meta device"):
        depth_stack([nn.Linear(3, 3, device="meta")])
    with pytest.raises(ValueError, match=r"don't chain: modules\[0\] \(Linear\) gives width 8.*"
                                         r"modules\[1\] \(Linear\) takes width 6"):
        depth_stack([nn.Linear(4, 8), nn.Linear(6, 4)])
    with pytest.raises(ValueError, match=r"don't chain: modules\[1\] \(_ResBlock\) cannot take"):
        depth_stack([nn.Linear(4, 5), _ResBlock(4)]).run(np.ones(4))
    with pytest.raises(TypeError, match=r"`modules\[1\]` must be a torch nn.Module"):
        depth_stack([nn.Tanh(), np.eye(3)])
    with pytest.raises(ValueError, match="at least one module"):
        depth_stack([])
    with pytest.raises(TypeError, match="`modules`"):
        depth_stack("relu")


def test_import_spectra_loads_no_torch_or_jax():
    import subprocess
    import sys

    code = "import sys, spectra; print('torch' in sys.modules, 'jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --- jax ------------------------------------------------------------------------------------
def test_jax_cell_agrees_with_elman_rnn():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    rng = np.random.default_rng(3)
    n, m = 6, 2
    W, U, b = rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal((n, m)), 0.1 * rng.standard_normal(n)
    cell = spectra.JaxCell(lambda h, x: jnp.tanh(W @ h + U @ x + b), n, input_size=m)
    X = rng.standard_normal((30, m))
    a, r = cell.run(X), spectra.ElmanRNN(W, U, b).run(X)
    assert np.abs(a.states - r.states).max() < 1e-14
    np.testing.assert_allclose(a.jacobians(), r.jacobians(), rtol=0, atol=1e-14)
    assert _rel(a.product(), r.product()) < 1e-12
    assert _rel(a.operator(30, 0).rmatmat(np.eye(n)), r.product().T) < 1e-12
    np.testing.assert_allclose(spectra.lyapunov_spectrum(a).exponents,
                               spectra.lyapunov_spectrum(r).exponents, rtol=0, atol=1e-10)
    assert jnp.ones(2).dtype == jnp.float32 or jax.config.jax_enable_x64   # x64 stayed local
    with pytest.raises(ValueError, match="`step` must return"):
        spectra.JaxCell(lambda h, x: h[:2], 3)


# --- the examples of docs/user/custom_cells.rst -----------------------------------------------
def test_docs_custom_cell_example():
    import torch
    import spectra

    n, m = 16, 4
    g = torch.Generator().manual_seed(0)
    A = 0.9 * torch.ones(n, dtype=torch.float64)
    W = torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
    U = torch.randn(n, m, generator=g, dtype=torch.float64)

    def plrnn(h, x):                       # piecewise-linear RNN
        return A * h + W @ torch.relu(h) + U @ x

    cell = spectra.TorchCell(plrnn, n, input_size=m)
    traj = cell.run(torch.randn(100, m, generator=g, dtype=torch.float64).numpy())
    profile = spectra.gradient_norm_profile(traj)        # log ||dh_T/dh_{T-lag}||
    lyap = spectra.lyapunov_spectrum(traj, k=4)
    top = spectra.top_singular_values(traj.operator(100, 50), k=3)

    assert profile.log_norms.shape == (100,) and lyap.exponents.shape == (4,)
    assert np.isclose(top.values[0], np.exp(profile.log_norms[49]), rtol=1e-8)


def test_docs_transformer_example():
    import torch
    from torch import nn
    from spectra.cells import depth_stack

    d, tokens = 8, 4
    blocks = nn.Sequential(*[nn.TransformerEncoderLayer(d, nhead=2, dim_feedforward=16)
                             for _ in range(3)])
    traj = depth_stack(blocks).run(torch.randn(tokens, d))    # state: tokens x d = 32
    end_to_end = spectra.top_singular_values(traj.operator(3, 0), k=4)
    gains = [spectra.top_singular_values(traj.operator(l, l - 1), k=1).values[0]
             for l in range(1, 4)]
    profile = spectra.depth_profile(traj)

    assert traj.widths == (32,) * 4 and len(gains) == 3
    assert end_to_end.values[0] <= np.prod(gains) * (1 + 1e-10)
    assert profile.log_norms.shape == (1, 3)


def test_from_torch_sequential_is_a_depth_stack():
    blocks = nn.Sequential(_ResBlock(4), _ResBlock(4))
    x = np.random.default_rng(2).standard_normal(4)
    traj = spectra.from_torch(blocks).run(x)
    assert traj.steps == 2
    assert _rel(traj.product(2, 0), _composed_jacobian(list(blocks), x, 0, 2)) < 1e-10
