"""SelectiveSSM, MinGRU and MinLSTM against plain torch implementations written here (float64
autograd): states, products of step Jacobians, input Jacobians, parameter gradients through
``Trajectory.parameter_vjp``; the diagonal Jacobian sequence against dense algebra; bad input."""

import json
import math

import numpy as np
import pytest

import spectra
from spectra.jacobians import DiagonalJacobians

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10


def tt(a):
    """A float64 tensor holding a copy of ``a``."""
    return torch.tensor(np.array(a), dtype=torch.float64)


def close(a, b, tol=TOL):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    assert err <= tol * scale, f"max error {err:.3g} (scale {scale:.3g})"


# -- plain torch step functions, written from the papers' equations ------------------------

def ssm_step(p, h, x):
    d, N = p["A"].shape
    delta = torch.log1p(torch.exp(p["W_delta"] @ x + p["b_delta"]))
    Abar = torch.exp(delta[:, None] * p["A"])
    B = p["W_B"] @ x
    return (Abar * h.reshape(d, N) + (delta * x)[:, None] * B[None, :]).reshape(-1)


def _cand(a, candidate):
    return a if candidate == "linear" else torch.where(a >= 0, a + 0.5, torch.sigmoid(a))


def mingru_step(p, h, x, candidate="linear"):
    z = torch.sigmoid(p["linear_z.weight"] @ x + p["linear_z.bias"])
    ht = _cand(p["linear_h.weight"] @ x + p["linear_h.bias"], candidate)
    return (1 - z) * h + z * ht


def minlstm_step(p, h, x, candidate="linear"):
    f = torch.sigmoid(p["linear_f.weight"] @ x + p["linear_f.bias"])
    i = torch.sigmoid(p["linear_i.weight"] @ x + p["linear_i.bias"])
    ht = _cand(p["linear_h.weight"] @ x + p["linear_h.bias"], candidate)
    return f / (f + i) * h + i / (f + i) * ht


def make(kind, candidate="linear", seed=0):
    if kind == "ssm":
        cell = spectra.SelectiveSSM.random(3, state_size=4, dt_min=0.05, dt_max=0.5, rng=seed)
        return cell, ssm_step
    cls, fn = (spectra.MinGRU, mingru_step) if kind == "mingru" else (spectra.MinLSTM, minlstm_step)
    cell = cls.random(5, input_size=3, candidate=candidate, rng=seed)
    return cell, (lambda p, h, x: fn(p, h, x, candidate))


CASES = [("ssm", "linear"), ("mingru", "linear"), ("mingru", "g"), ("minlstm", "linear"),
         ("minlstm", "g")]


def torch_params(cell, grad=False):
    return {k: torch.tensor(np.array(v), dtype=torch.float64, requires_grad=grad)
            for k, v in cell.parameters().items()}


def run_torch(step, p, h0, X):
    h = tt(h0)
    out = [h]
    for x in tt(X):
        h = step(p, h, x)
        out.append(h)
    return torch.stack(out)


def data(cell, T=7, seed=1, batch=()):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(batch + (T, cell.input_size))
    h0 = rng.standard_normal(batch + (cell.n,))
    return X, h0


@pytest.mark.parametrize("kind,candidate", CASES)
def test_states_and_step_jacobian_products_match_torch(kind, candidate):
    cell, step = make(kind, candidate)
    X, h0 = data(cell)
    traj = cell.run(X, h0=h0)
    p = torch_params(cell)
    close(traj.states, run_torch(step, p, h0, X).numpy())
    assert isinstance(traj.jacobian_sequence, DiagonalJacobians)
    Xt = tt(X)
    for t, k in [(7, 0), (5, 2), (3, 2), (4, 4)]:
        def span(h):
            for s in range(k, t):
                h = step(p, h, Xt[s])
            return h
        J = torch.autograd.functional.jacobian(span, tt(traj.states[k])).numpy()
        close(traj.product(t, k), J)
        if t > k:
            close(cell.step_jacobian(traj.states[t - 1], X[t - 1]),
                  torch.autograd.functional.jacobian(
                      lambda h: step(p, h, Xt[t - 1]), tt(traj.states[t - 1])).numpy())


@pytest.mark.parametrize("kind,candidate", CASES)
def test_input_jacobians_match_torch(kind, candidate):
    cell, step = make(kind, candidate)
    X, h0 = data(cell)
    traj = cell.run(X, h0=h0)
    p = torch_params(cell)
    B = cell.input_jacobians(traj.states, traj.preactivations)
    rng = np.random.default_rng(5)
    for t in (1, 4, 7):
        h_prev = tt(traj.states[t - 1])
        want = torch.autograd.functional.jacobian(lambda x: step(p, h_prev, x),
                                                  tt(X[t - 1])).numpy()
        close(B.matrix(t), want)
        V = rng.standard_normal((cell.input_size, 2))
        W = rng.standard_normal((cell.n, 2))
        close(B.matmat(t, V), want @ V)
        close(B.rmatmat(t, W), want.T @ W)
    # dh_T/dx_k through the trajectory
    k = 3
    Xt = tt(X)

    def from_x(x):
        h = tt(traj.states[k - 1])
        h = step(p, h, x)
        for s in range(k, 7):
            h = step(p, h, Xt[s])
        return h
    close(traj.input_jacobian(7, k), torch.autograd.functional.jacobian(from_x, Xt[k - 1]).numpy())


@pytest.mark.parametrize("kind,candidate", CASES)
def test_parameter_gradients_match_torch_backward(kind, candidate):
    cell, step = make(kind, candidate)
    X, h0 = data(cell, T=9)
    traj = cell.run(X, h0=h0)
    U = np.random.default_rng(2).standard_normal(traj.states[1:].shape)
    p = torch_params(cell, grad=True)
    h, hs = tt(h0), []
    for x in tt(X):
        h = step(p, h, x)
        h.retain_grad()
        hs.append(h)
    (torch.stack(hs) * tt(U)).sum().backward()
    adjoints = np.stack([h.grad.numpy() for h in hs])     # dE/dh_t, the total derivatives
    got = traj.parameter_vjp(adjoints)
    assert set(got) == set(cell.parameters())
    for name, value in p.items():
        want = np.zeros(value.shape) if value.grad is None else value.grad.numpy()
        close(got[name], want)
        assert got[name].shape == cell.parameters()[name].shape
    # per step: the step's own contribution at fixed h_{t-1}
    per = traj.parameter_vjp(adjoints, per_step=True)
    t = 4
    q = torch_params(cell, grad=True)
    out = step(q, tt(traj.states[t - 1]), tt(X[t - 1]))
    (out * tt(adjoints[t - 1])).sum().backward()
    for name, value in q.items():
        want = np.zeros(value.shape) if value.grad is None else value.grad.numpy()
        close(per[name][t - 1], want)
        close(per[name].sum(axis=0), got[name])


@pytest.mark.parametrize("kind", ["ssm", "mingru", "minlstm"])
def test_a_batch_sums_the_gradients_of_its_members(kind):
    cell, _ = make(kind)
    X, h0 = data(cell, T=5, batch=(3,))
    traj = cell.run(X, h0=h0)
    U = np.random.default_rng(4).standard_normal(traj.states[..., 1:, :].shape)
    total = traj.parameter_vjp(U)
    for name in total:
        parts = sum(cell.run(X[b], h0=h0[b]).parameter_vjp(U[b])[name] for b in range(3))
        close(total[name], parts, 1e-12)
    B = cell.input_jacobians(traj.states, traj.preactivations)
    close(B.select(1).matrix(2), cell.input_jacobians(*(lambda r: (r.states, r.preactivations))(
        cell.run(X[1], h0=h0[1]))).matrix(2), 1e-12)


def test_ssm_readout_matches_torch():
    cell, step = make("ssm")
    X, h0 = data(cell)
    traj = cell.run(X, h0=h0)
    p = torch_params(cell)
    H = run_torch(step, p, h0, X)[1:].reshape(7, cell.channels, cell.state_size)
    Xt = tt(X)
    C = Xt @ p["W_C"].T
    y = torch.einsum("tcs,ts->tc", H, C) + p["D"] * Xt
    close(cell.output(traj), y.numpy())


def test_ssm_initialisation_is_mambas():
    cell = spectra.SelectiveSSM.random(64, state_size=8, rng=3)
    np.testing.assert_array_equal(cell.A, -np.tile(np.arange(1.0, 9.0), (64, 1)))
    dt = np.logaddexp(0.0, cell.b_delta)                  # inverse softplus recovered
    assert dt.min() >= 0.001 - 1e-15 and dt.max() <= 0.1 + 1e-15
    # log-uniform: the mean of log dt is the midpoint of [log 0.001, log 0.1] within 5 s.e.
    logs = np.log(dt)
    se = (math.log(0.1) - math.log(0.001)) / math.sqrt(12 * 64)
    assert abs(logs.mean() - 0.5 * (math.log(0.001) + math.log(0.1))) < 5 * se
    np.testing.assert_array_equal(cell.D, np.ones(64))
    assert np.linalg.matrix_rank(cell.W_delta) == math.ceil(64 / 16)   # dt_proj @ x_proj[:R]


def test_eigenvalues_are_exact_and_inside_the_unit_interval():
    cell, _ = make("ssm")
    X, h0 = data(cell)
    traj = cell.run(X, h0=h0)
    seq = traj.jacobian_sequence
    delta = np.logaddexp(0.0, X[2] @ cell.W_delta.T + cell.b_delta)
    np.testing.assert_array_equal(seq.eigenvalues(3), np.exp(delta[:, None] * cell.A).ravel())
    lyap = spectra.lyapunov_spectrum(traj)
    expected = np.sort(np.mean(np.log(seq.diagonals), axis=0))[::-1]
    close(lyap.exponents, expected, 1e-12)


# -- the diagonal sequence against dense algebra -----------------------------------------

def test_diagonal_sequence_agrees_with_dense():
    rng = np.random.default_rng(0)
    d = rng.uniform(-1.5, 1.5, (12, 5))
    D, M = DiagonalJacobians(d), spectra.DenseJacobians(d[:, :, None] * np.eye(5))
    close(D.product(9, 2), M.product(9, 2), 1e-14)
    close(D.product(9, 2, layout="backprop"), M.product(9, 2, layout="backprop"), 1e-14)
    for t in (1, 7):
        assert D.logabsdet(t) == pytest.approx(float(np.linalg.slogdet(M.matrix(t))[1]), rel=1e-13)
    up, lo = D.step_norm_bounds()
    sv = np.linalg.svd(M.matrices(), compute_uv=False)
    close(up, np.log(sv[:, 0]), 1e-13)
    close(lo, np.log(sv[:, -1]), 1e-13)
    close(spectra.gradient_norm_profile(D).log_norms, spectra.gradient_norm_profile(M).log_norms, 1e-12)
    close(spectra.gradient_norm_profile(D, t=9, ord="fro").log_norms,
          spectra.gradient_norm_profile(M, t=9, ord="fro").log_norms, 1e-12)
    batch = DiagonalJacobians(np.stack([d, d[::-1]]))
    close(spectra.gradient_norm_profile(batch).log_norms[1],
          spectra.gradient_norm_profile(M.matrices()[::-1]).log_norms, 1e-12)
    close(spectra.product_log_singular_values(batch, t=7, k=3)[0],
          spectra.product_log_singular_values(M, t=7, k=3), 1e-12)
    z = d.copy()
    z[3, 1] = 0.0                                        # an exactly singular step
    Z = spectra.DenseJacobians(z[:, :, None] * np.eye(5))
    close(spectra.gradient_norm_profile(DiagonalJacobians(z), ord="fro").log_norms,
          spectra.gradient_norm_profile(Z, ord="fro").log_norms, 1e-12)
    sv = spectra.product_log_singular_values(DiagonalJacobians(z))
    assert sv[-1] == -np.inf and np.allclose(sv[:-1], spectra.product_log_singular_values(Z)[:-1])
    v = rng.standard_normal((5, 3))
    close(D.operator(9, 2) @ v, M.product(9, 2) @ v, 1e-14)
    close(D.operator(9, 2).rmatmat(v), M.product(9, 2).T @ v, 1e-14)
    close(spectra.product_log_singular_values(D, t=12, k=0),
          np.sort(np.sum(np.log(np.abs(d)), axis=0))[::-1], 1e-12)


def test_diagonal_products_beyond_the_float_range_raise_and_profiles_do_not():
    d = np.full((2000, 3), 0.5)
    d[:, 0] = 0.25
    D = DiagonalJacobians(d)
    with pytest.raises(spectra.NumericalError, match="underflows"):
        D.product()
    P = D.product(100, 0)
    np.testing.assert_allclose(np.diag(P), [0.25 ** 100, 0.5 ** 100, 0.5 ** 100], rtol=1e-13)
    with pytest.raises(spectra.NumericalError, match="overflows"):
        DiagonalJacobians(np.full((2000, 2), 2.0)).product()
    prof = spectra.gradient_norm_profile(D)
    close(prof.log_norms, prof.lags * math.log(0.5), 1e-12)
    with pytest.raises(ValueError, match="`diagonals` must be finite"):
        DiagonalJacobians([[1.0, np.nan]])


# -- state dicts ----------------------------------------------------------------------------

def test_state_dict_round_trips_and_mamba_layout():
    for cell in (spectra.SelectiveSSM.random(3, state_size=2, rng=0),
                 spectra.MinGRU.random(4, input_size=2, rng=0),
                 spectra.MinLSTM.random(4, input_size=2, rng=0)):
        state = {f"model.rnn.{k}": torch.tensor(np.array(v)) for k, v in cell.parameters().items()}
        again = type(cell).from_state_dict({"model": {k[6:]: v for k, v in state.items()}})
        for k, v in cell.parameters().items():
            np.testing.assert_array_equal(again.parameters()[k], v)
    # Mamba's mixer: A = -exp(A_log), W_delta = dt_proj.weight @ x_proj.weight[:R]
    rng = np.random.default_rng(1)
    d, N, R = 5, 3, 2
    mixer = {"A_log": rng.standard_normal((d, N)), "D": rng.standard_normal(d),
             "x_proj.weight": rng.standard_normal((R + 2 * N, d)),
             "dt_proj.weight": rng.standard_normal((d, R)), "dt_proj.bias": rng.standard_normal(d),
             "in_proj.weight": rng.standard_normal((2 * d, d))}
    cell = spectra.SelectiveSSM.from_state_dict({f"layers.0.mixer.{k}": v for k, v in mixer.items()})
    np.testing.assert_array_equal(cell.A, -np.exp(mixer["A_log"]))
    np.testing.assert_allclose(cell.W_delta, mixer["dt_proj.weight"] @ mixer["x_proj.weight"][:R])
    np.testing.assert_array_equal(cell.W_B, mixer["x_proj.weight"][R:R + N])
    np.testing.assert_array_equal(cell.W_C, mixer["x_proj.weight"][R + N:])


def test_a_torch_module_written_after_the_paper_loads():
    class PaperMinGRU(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear_z = torch.nn.Linear(3, 4)
            self.linear_h = torch.nn.Linear(3, 4)

    torch.manual_seed(0)
    module = PaperMinGRU().double()
    cell = spectra.MinGRU.from_state_dict(module)
    np.testing.assert_array_equal(cell.weight("z"), module.linear_z.weight.detach().numpy())
    np.testing.assert_array_equal(cell.bias("h"), module.linear_h.bias.detach().numpy())


# -- the CLI and the registry ------------------------------------------------------------

@pytest.mark.parametrize("name", ["ssm", "mingru", "minlstm"])
def test_the_cli_runs_the_cells(name, capsys):
    from spectra.cli import main

    assert main(["lyapunov", "--cell", name, "--size", "4", "--steps", "60", "--json"]) in (0, None)
    data = json.loads(capsys.readouterr().out)
    ex = np.array(data["exponents"], dtype=float)
    assert np.all(ex < 0)            # diagonal steps in (0, 1): every exponent is negative
    assert data["network"]["cell"] == name


# -- bad input ---------------------------------------------------------------------------

def test_bad_input_is_named():
    cell = spectra.SelectiveSSM.random(2, state_size=3, rng=0)
    A, Wd, bd, WB = cell.A, cell.W_delta, cell.b_delta, cell.W_B
    with pytest.raises(ValueError, match="`A` must be negative"):
        spectra.SelectiveSSM(-A, Wd, bd, WB)
    with pytest.raises(ValueError, match="`A` must be negative"):
        spectra.SelectiveSSM(np.where(np.arange(6).reshape(2, 3) == 0, 0.0, A), Wd, bd, WB)
    with pytest.raises(TypeError, match="`A`.*real"):
        spectra.SelectiveSSM(A + 0j, Wd, bd, WB)
    with pytest.raises(ValueError, match="`W_B`"):
        spectra.SelectiveSSM(A, Wd, bd, WB.T)
    with pytest.raises(ValueError, match="`W_delta`"):
        spectra.SelectiveSSM(A, Wd[:1], bd, WB)
    with pytest.raises(ValueError, match="`input_size` must equal `channels`"):
        spectra.SelectiveSSM.random(4, input_size=3)
    for c in (cell, spectra.MinGRU.random(3, input_size=2, rng=0), spectra.MinLSTM.random(3, rng=0)):
        with pytest.raises(TypeError, match="`inputs` must be real"):
            c.run(np.ones((4, c.input_size)) * 1j)
        with pytest.raises(ValueError, match="`inputs` must have"):
            c.run(np.ones((4, c.input_size + 1)))
        with pytest.raises(ValueError, match="`cotangents` must have shape"):
            c.run(np.ones((4, c.input_size))).parameter_vjp(np.ones((3, c.n)))
    with pytest.raises(ValueError, match="`W_h`"):
        spectra.MinGRU(np.ones((3, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="`b_f`"):
        spectra.MinLSTM(np.ones((3, 2)), np.ones((3, 2)), np.ones((3, 2)), b_f=np.ones(2))
    with pytest.raises(ValueError, match="`candidate`"):
        spectra.MinGRU.random(3, candidate="tanh")
    with pytest.raises(ValueError, match="holds no MinLSTM weights"):
        spectra.MinLSTM.from_state_dict({"linear_z.weight": np.ones((2, 2))})
    with pytest.raises(ValueError, match="x_proj.weight"):
        spectra.SelectiveSSM.from_state_dict({"A_log": np.zeros((2, 3)), "x_proj.weight": np.ones((5, 2)),
                                              "dt_proj.weight": np.ones((2, 1)),
                                              "dt_proj.bias": np.ones(2)})
    with pytest.raises(ValueError, match="several prefixes"):
        spectra.MinGRU.from_state_dict({f"{p}.linear_{m}.weight": np.ones((2, 2))
                                        for p in "ab" for m in "zh"})
    with pytest.raises(TypeError, match="`source`"):
        spectra.MinGRU.from_state_dict(3)


def test_a_mamba_mixer_module_loads_and_its_scan_is_reproduced():
    """The selective-scan part of a module laid out as mamba_ssm's Mamba mixer (x_proj, dt_proj,
    A_log, D), run by the reference recurrence of the paper (Algorithm 2, delta_softplus with
    the dt_proj bias)."""
    d, N, R, T = 6, 4, 2, 9

    class Mixer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.x_proj = torch.nn.Linear(d, R + 2 * N, bias=False)
            self.dt_proj = torch.nn.Linear(R, d, bias=True)
            self.A_log = torch.nn.Parameter(torch.log(torch.arange(1.0, N + 1).repeat(d, 1)))
            self.D = torch.nn.Parameter(torch.linspace(0.5, 1.5, d))

        def scan(self, u):                       # u: (T, d)
            dt, B, C = torch.split(self.x_proj(u), [R, N, N], dim=-1)
            delta = F.softplus(dt @ self.dt_proj.weight.T + self.dt_proj.bias)
            A = -torch.exp(self.A_log)
            x, ys, hs = torch.zeros(d, N, dtype=u.dtype), [], []
            for t in range(u.shape[0]):
                x = torch.exp(delta[t][:, None] * A) * x + (delta[t] * u[t])[:, None] * B[t][None, :]
                hs.append(x.reshape(-1))
                ys.append(x @ C[t] + self.D * u[t])
            return torch.stack(hs), torch.stack(ys)

    torch.manual_seed(0)
    mixer = Mixer().double()
    cell = spectra.SelectiveSSM.from_state_dict(mixer)
    U = np.random.default_rng(0).standard_normal((T, d))
    with torch.no_grad():
        H, Y = mixer.scan(tt(U))
    traj = cell.run(U)
    close(traj.states[1:], H.numpy())
    close(cell.output(traj), Y.numpy())


@pytest.mark.parametrize("order", ["ssm_below", "ssm_above"])
def test_stacked_layers_match_torch(order):
    """Two layers as one system: the cross-layer block of the stack's step Jacobian is the
    upper layer's input Jacobian (MinLSTM's or SelectiveSSM's)."""
    ssm, ssm_fn = make("ssm")
    if order == "ssm_below":
        low, low_fn = ssm, ssm_fn
        up = spectra.MinLSTM.random(4, input_size=ssm.n, rng=3)
        up_fn = minlstm_step
    else:
        low = spectra.MinGRU.random(ssm.channels, input_size=2, rng=3)
        low_fn, up, up_fn = mingru_step, ssm, ssm_fn
    stack = spectra.Stack([low, up])
    X = np.random.default_rng(8).standard_normal((6, low.input_size))
    h0 = np.random.default_rng(9).standard_normal(stack.n)
    traj = stack.run(X, h0=h0)
    p, q = torch_params(low), torch_params(up)
    Xt = tt(X)

    def span(h, k, t):
        for s in range(k, t):
            a = low_fn(p, h[:low.n], Xt[s])
            h = torch.cat([a, up_fn(q, h[low.n:], a)])
        return h
    close(traj.states[-1], span(tt(h0), 0, 6).detach().numpy())
    J = torch.autograd.functional.jacobian(lambda h: span(h, 2, 6), tt(traj.states[2])).numpy()
    close(traj.product(6, 2), J)


@pytest.mark.parametrize("kind", ["ssm", "mingru", "minlstm"])
def test_autonomous_and_empty_runs(kind):
    """An autonomous run is the run with zero inputs; a run of 0 steps has zero gradients."""
    cell, _ = make(kind)
    h0 = np.random.default_rng(0).standard_normal(cell.n)
    U = np.random.default_rng(1).standard_normal((4, cell.n))
    auto, zero = cell.run(steps=4, h0=h0), cell.run(np.zeros((4, cell.input_size)), h0=h0)
    np.testing.assert_array_equal(auto.states, zero.states)
    for name, g in zero.parameter_vjp(U).items():
        np.testing.assert_array_equal(auto.parameter_vjp(U)[name], g)
    close(auto.input_jacobian(4, 2), zero.input_jacobian(4, 2), 0)
    empty = cell.run(np.zeros((0, cell.input_size)), h0=h0)
    grads = empty.parameter_vjp(np.zeros((0, cell.n)))
    for name, value in cell.parameters().items():
        np.testing.assert_array_equal(grads[name], np.zeros(value.shape))
        assert empty.parameter_vjp(np.zeros((0, cell.n)), per_step=True)[name].shape == (0,) + value.shape
