"""The LRU cell against a plain complex torch implementation (autograd), written here.

The torch reference is the paper's recurrence in complex arithmetic:
lambda = exp(-exp(nu) + i exp(theta)), gamma = sqrt(1 - |lambda|^2) (or exp(gamma_log), or 1),
h_t = lambda * h_{t-1} + gamma * (B x_t); the real state is (Re h_j, Im h_j) interleaved.
"""

import json
import math

import numpy as np
import pytest

import spectra
from spectra.cells import LRUJacobians

torch = pytest.importorskip("torch")


def torch_run(params, X, h0, *, normalize=True, eps=None):
    """States h_0..h_T as (T+1, 2N) real, interleaved, from complex torch arithmetic.

    ``eps`` (..., T, 2N) is added to h_t as it is made, so dE/deps_t is the adjoint dE/dh_t.
    """
    nu, theta = params["nu_log"], params["theta_log"]
    lam = torch.exp(-torch.exp(nu) + 1j * torch.exp(theta))
    if "gamma_log" in params:
        gamma = torch.exp(params["gamma_log"])
    elif normalize:
        gamma = torch.sqrt(1 - torch.abs(lam) ** 2)
    else:
        gamma = torch.ones_like(nu)
    B = params["B_re"] + 1j * params["B_im"]
    h = h0[..., 0::2] + 1j * h0[..., 1::2]
    out = [torch.stack([h.real, h.imag], dim=-1).reshape(h.shape[:-1] + (-1,))]
    for t in range(X.shape[-2]):
        h = lam * h + gamma * (X[..., t, :].to(B.dtype) @ B.T)
        if eps is not None:
            h = h + eps[..., t, 0::2] + 1j * eps[..., t, 1::2]
        out.append(torch.stack([h.real, h.imag], dim=-1).reshape(h.shape[:-1] + (-1,)))
    return torch.stack(out, dim=-2)


def tensors(cell):
    return {k: torch.tensor(np.array(v), dtype=torch.float64, requires_grad=True)
            for k, v in cell.parameters().items() if k not in ("C_re", "C_im", "D")}


@pytest.fixture(params=["tied", "off", "learned"])
def setup(request):
    gen = np.random.default_rng(3)
    N, d, T = 5, 3, 40
    if request.param == "learned":
        base = spectra.LRU.random(N, input_size=d, r_min=0.5, r_max=0.99, rng=gen)
        p = base.parameters()
        cell = spectra.LRU(p["nu_log"], p["theta_log"], p["B_re"], p["B_im"], p["C_re"], p["C_im"],
                           p["D"], gamma_log=np.log(base.gamma) + 0.1 * gen.standard_normal(N))
    else:
        cell = spectra.LRU.random(N, input_size=d, r_min=0.5, r_max=0.99,
                                  normalize=request.param == "tied", rng=gen)
    X = gen.standard_normal((2, T, d))
    h0 = gen.standard_normal((2, 2 * N))
    return cell, X, h0, request.param != "off"


def test_states_agree_with_torch(setup):
    cell, X, h0, normalize = setup
    traj = cell.run(X, h0=h0)
    ref = torch_run(tensors(cell), torch.tensor(X), torch.tensor(h0), normalize=normalize)
    np.testing.assert_allclose(traj.states, ref.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_products_and_input_jacobians_agree_with_torch_autograd(setup):
    cell, X, h0, normalize = setup
    traj = cell.run(X[0], h0=h0[0])
    params = {k: v.detach() for k, v in tensors(cell).items()}
    Xt = torch.tensor(X[0])
    k, t = 7, 31
    hk = torch.tensor(traj.states[k])

    def span(h):  # h_k -> h_t
        return torch_run(params, Xt[k:t], h, normalize=normalize)[-1]

    Jref = torch.autograd.functional.jacobian(span, hk).numpy()
    np.testing.assert_allclose(traj.product(t, k), Jref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj.jacobian(5), torch.autograd.functional.jacobian(
        lambda h: torch_run(params, Xt[4:5], h, normalize=normalize)[-1],
        torch.tensor(traj.states[4])).numpy(), rtol=1e-12, atol=1e-14)
    # dh_t/dx_k through the recurrence
    h_k1 = torch.tensor(traj.states[k - 1])

    def from_input(x):
        Xs = torch.cat([Xt[k - 1:k - 1] , x[None], Xt[k:t]], dim=0)
        return torch_run(params, Xs, h_k1, normalize=normalize)[-1]

    Bref = torch.autograd.functional.jacobian(from_input, Xt[k - 1]).numpy()
    np.testing.assert_allclose(traj.input_jacobian(t, k), Bref, rtol=1e-10, atol=1e-12)


def torch_steps(params, X, prev, *, normalize=True):
    """One step from every given h_{t-1} (prev: (..., T, 2N)) at once: the step map F_t."""
    out = [torch_run(params, X[..., t:t + 1, :], prev[..., t, :], normalize=normalize)[..., -1, :]
           for t in range(X.shape[-2])]
    return torch.stack(out, dim=-2)


def test_parameter_vjp_is_the_step_maps_partial_derivative(setup):
    # the hook's contract: sum_t (dF_t/dtheta)^T u_t with h_{t-1} held fixed
    cell, X, h0, normalize = setup
    gen = np.random.default_rng(9)
    traj = cell.run(X, h0=h0)
    U = gen.standard_normal(traj.states[..., 1:, :].shape)
    params = tensors(cell)
    new = torch_steps(params, torch.tensor(X), torch.tensor(traj.states[..., :-1, :]),
                      normalize=normalize)
    (new * torch.tensor(U)).sum().backward()
    got = traj.parameter_vjp(U)
    assert set(got) == set(cell.parameters())
    for name, p in params.items():
        np.testing.assert_allclose(got[name], p.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    for name in ("C_re", "C_im", "D"):        # the readout does not move the states
        assert got[name].shape == cell.parameters()[name].shape and not got[name].any()
    # per step: the steps and the batch axis kept, summing to the total
    per = traj.parameter_vjp(U, per_step=True)
    for name, g in per.items():
        assert g.shape == (2, X.shape[1]) + cell.parameters()[name].shape
        np.testing.assert_allclose(g.sum(axis=(0, 1)), got[name], rtol=1e-12, atol=1e-13)


def test_parameter_vjp_of_the_adjoints_is_bptt(setup):
    # with u_t = dE/dh_t (torch's adjoints of E = sum_t <V_t, h_t>) the hook gives dE/dtheta
    cell, X, h0, normalize = setup
    V = np.random.default_rng(11).standard_normal((2, X.shape[1], cell.n))
    params = tensors(cell)
    eps = torch.zeros(V.shape, dtype=torch.float64, requires_grad=True)
    states = torch_run(params, torch.tensor(X), torch.tensor(h0), normalize=normalize, eps=eps)
    (states[..., 1:, :] * torch.tensor(V)).sum().backward()
    adjoints = eps.grad.numpy()
    got = cell.run(X, h0=h0).parameter_vjp(adjoints)
    for name, p in params.items():
        np.testing.assert_allclose(got[name], p.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_parameter_vjp_of_an_autonomous_run():
    cell = spectra.LRU.random(3, rng=0)
    traj = cell.run(h0=np.arange(1.0, 7.0), steps=6)
    U = np.ones((6, 6))
    params = tensors(cell) | {"B_re": torch.zeros(3, 1), "B_im": torch.zeros(3, 1)}
    new = torch_steps(params, torch.zeros(6, 1), torch.tensor(traj.states[:-1]))
    new.sum().backward()
    got = traj.parameter_vjp(U)
    assert set(got) == {"nu_log", "theta_log"}
    np.testing.assert_allclose(got["nu_log"], params["nu_log"].grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(got["theta_log"], params["theta_log"].grad.numpy(), rtol=1e-10)


def test_eigenvalues_singular_values_and_logabsdet_are_exact():
    cell = spectra.LRU.random(6, input_size=2, r_min=0.3, r_max=0.95, rng=4)
    traj = cell.run(np.zeros((3, 2)))
    J = traj.jacobian(2)
    ev = np.linalg.eigvals(J)
    np.testing.assert_allclose(np.sort_complex(ev), np.sort_complex(cell.eigenvalues), atol=1e-14)
    np.testing.assert_allclose(np.sort(np.linalg.svd(J, compute_uv=False)),
                               np.sort(np.repeat(np.abs(cell.lam), 2)), rtol=1e-13)
    assert traj.jacobian_sequence.logabsdet(1) == pytest.approx(np.linalg.slogdet(J)[1], rel=1e-13)
    up, lo = traj.jacobian_sequence.step_norm_bounds()
    np.testing.assert_allclose(up, np.log(np.abs(cell.lam).max()), rtol=1e-14)
    np.testing.assert_allclose(lo, np.log(np.abs(cell.lam).min()), rtol=1e-14)
    # Lyapunov exponents of a constant step: log|lambda_j|, each twice
    les = spectra.lyapunov_spectrum(cell.run(np.zeros((50, 2)))).exponents
    np.testing.assert_allclose(les, np.sort(np.repeat(np.log(np.abs(cell.lam)), 2))[::-1],
                               atol=1e-10)


def test_the_jacobian_sequence_is_a_block_rotation():
    lam = np.array([0.3 + 0.4j, -0.7 + 0.1j])
    seq = LRUJacobians(lam, steps=4, batch_shape=(2,))
    J = seq.matrix(1)
    assert J.shape == (2, 4, 4)
    X = np.random.default_rng(0).standard_normal((2, 4, 3))
    np.testing.assert_allclose(seq.matmat(1, X), J @ X, rtol=1e-14)
    np.testing.assert_allclose(seq.rmatmat(1, X), np.swapaxes(J, -1, -2) @ X, rtol=1e-14)
    np.testing.assert_allclose(seq.apply(4, 1, X), J @ J @ J @ X, rtol=1e-13)
    np.testing.assert_allclose(seq.rapply(4, 1, X), np.swapaxes(J @ J @ J, -1, -2) @ X, rtol=1e-13)
    assert seq.select(1).batch_shape == () and seq.matrices().shape == (2, 4, 4, 4)


def test_ring_initialisation():
    cell = spectra.LRU.random(4000, input_size=2, r_min=0.4, r_max=0.9, max_phase=math.pi / 4, rng=1)
    r, phase = np.abs(cell.lam), np.angle(cell.lam)
    assert r.min() >= 0.4 and r.max() <= 0.9 and phase.min() >= 0 and phase.max() <= math.pi / 4
    # |lambda|^2 uniform on [r_min^2, r_max^2]: mean and variance of a uniform law, 5 SE
    r2 = r ** 2
    a, b = 0.16, 0.81
    se = math.sqrt((b - a) ** 2 / 12 / r2.size)
    assert abs(r2.mean() - (a + b) / 2) < 5 * se
    np.testing.assert_allclose(cell.gamma, np.sqrt(1 - r ** 2), rtol=1e-13)
    np.testing.assert_allclose(cell.parameters()["nu_log"], np.log(-np.log(r)), rtol=1e-12)
    np.testing.assert_allclose(np.exp(cell.parameters()["theta_log"]), phase, rtol=1e-12)


def test_normalisation_keeps_the_state_variance_at_one():
    # E|h|^2 = gamma^2 |B|^2 / (1 - |lambda|^2) = |B|^2 for unit white noise; 20 replicas
    cell = spectra.LRU.from_eigenvalues([0.99 * np.exp(0.3j)], B=[[1.0]])
    X = np.random.default_rng(5).standard_normal((20, 4000, 1))
    h = cell.run(X).states[:, 1000:, :]
    per = (h ** 2).sum(-1).mean(-1)               # one mean per independent replica
    assert abs(per.mean() - 1.0) < 5 * per.std(ddof=1) / math.sqrt(per.size)


def test_output_readout():
    gen = np.random.default_rng(2)
    cell = spectra.LRU.random(4, input_size=3, output_size=2, rng=gen)
    X = gen.standard_normal((10, 3))
    traj = cell.run(X)
    h = traj.states[1:, 0::2] + 1j * traj.states[1:, 1::2]
    np.testing.assert_allclose(cell.output(traj), (h @ cell.C.T).real + X @ cell.D.T, rtol=1e-13)
    with pytest.raises(TypeError, match="run"):
        cell.output(traj.states)


def test_state_dict_round_trip(tmp_path):
    cell = spectra.LRU.random(3, input_size=2, rng=7)
    path = tmp_path / "lru.npz"
    np.savez(path, **{f"model.lru.{k}": v for k, v in cell.state_dict().items()},
             **{"model.lru.gamma_log": np.log(cell.gamma)})
    back = spectra.LRU.from_state_dict(str(path))
    assert "gamma_log" in back.parameters()              # learned, as in the reference code
    X = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_allclose(back.run(X).states, cell.run(X).states, rtol=1e-13)
    two = {"a.nu_log": cell.parameters()["nu_log"], "b.nu_log": cell.parameters()["nu_log"]}
    with pytest.raises(ValueError, match="prefix"):
        spectra.LRU.from_state_dict(two)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"eigenvalues": [0.5, 1.0]}, ValueError, "eigenvalues.*0 < \\|lambda\\| < 1"),
    ({"eigenvalues": [1.2j]}, ValueError, "eigenvalues"),
    ({"eigenvalues": [0.0]}, ValueError, "eigenvalues"),
    ({"eigenvalues": [0.5], "B": np.ones((2, 1))}, ValueError, "`B`"),
    ({"eigenvalues": ["a"]}, TypeError, "eigenvalues"),
])
def test_from_eigenvalues_refuses(kwargs, error, match):
    with pytest.raises(error, match=match):
        spectra.LRU.from_eigenvalues(**kwargs)


@pytest.mark.parametrize("args, kwargs, error, match", [
    (([0.1], [0.0], [[1j]], [[0.0]]), {}, TypeError, "B_re.*complex"),
    (([0.1 + 0j], [0.0]), {}, TypeError, "nu_log.*complex"),
    (([np.nan], [0.0]), {}, ValueError, "nu_log"),
    (([-800.0], [0.0]), {}, ValueError, "nu_log"),      # |lambda| rounds to 1
    (([0.1], [0.0, 1.0]), {}, ValueError, "theta_log"),
    (([0.1], [0.0], [[1.0]]), {}, ValueError, "B_im"),
    (([0.1], [0.0]), {"gamma_log": [0.0], "normalize": False}, ValueError, "gamma_log"),
    (([0.1], [0.0]), {"normalize": "yes"}, TypeError, "normalize"),
])
def test_constructor_refuses(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        spectra.LRU(*args, **kwargs)


def test_complex_inputs_are_refused_naming_the_argument():
    cell = spectra.LRU.random(2, input_size=1, rng=0)
    with pytest.raises(TypeError, match="`inputs` must be real"):
        cell.run(np.ones((3, 1), dtype=complex))
    with pytest.raises(TypeError, match="`h0` must be real"):
        cell.run(np.ones((3, 1)), h0=np.ones(4, dtype=complex))


def test_the_registry_and_the_cli_know_the_lru(capsys):
    from spectra.cells import cell_class
    from spectra.cli import main

    assert cell_class("lru") is spectra.LRU
    assert main(["lyapunov", "--cell", "lru", "--size", "4", "--steps", "50", "--json"]) in (0, None)
    data = json.loads(capsys.readouterr().out)
    exps = np.array(data["exponents"], dtype=float)
    assert exps.size == 8 and np.all(exps < 0)
    # the exponents are log|lambda| of the cell the CLI drew (each twice)
    assert np.allclose(exps[0::2], exps[1::2], atol=1e-9)


def test_bptt_gradient_of_an_lru_agrees_with_torch(setup):
    # squared loss on z_t = W_yh h_t + b_y (h_t the interleaved real state), every parameter
    cell, X, h0, normalize = setup
    gen = np.random.default_rng(12)
    Y = gen.standard_normal((2, X.shape[1], 3))
    W, b = gen.standard_normal((3, cell.n)), gen.standard_normal(3)
    res = spectra.bptt_gradient(cell, X, Y, W, b, loss="squared", h0=h0)
    params = tensors(cell)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    states = torch_run(params, torch.tensor(X), torch.tensor(h0), normalize=normalize)
    z = states[..., 1:, :] @ Wt.T + bt
    loss = ((z - torch.tensor(Y)) ** 2).sum() / 2
    loss.backward()
    assert res.loss == pytest.approx(loss.item(), rel=1e-12)
    for name, p in list(params.items()) + [("W_yh", Wt), ("b_y", bt)]:
        np.testing.assert_allclose(res.grads[name], p.grad.numpy(), rtol=1e-10, atol=1e-11,
                                   err_msg=name)
