"""Parameter sensitivity through time and the curse of memory.

Truth: finite differences and torch autograd for dh_t/dtheta; closed forms for the
lag decomposition of a scalar recurrence; for the curse of memory, Monte Carlo over
independent replicas (fixed seeds), within 5 standard errors taken from the replicas
themselves (each replica's time average is one sample, so the autocorrelation within a
run is accounted for).
"""

import math

import numpy as np
import pytest

import spectra
from spectra.analysis import curse_of_memory, parameter_sensitivity


class ScalarLinear(spectra.Cell):
    """h_t = lam * h_{t-1} + b * x_t, with the parameter_vjp hook (the test's own cell)."""

    input_size = 1

    def __init__(self, lam, b=1.0):
        self.lam, self.b, self.n = np.array([lam]), np.array([[b]]), 1

    def input_drive(self, X, steps, batch_shape):
        return X * self.b[0, 0]

    def advance(self, h, u):
        return self.lam * h + u, None

    def factored_jacobians(self, states, aux):
        T = states.shape[-2] - 1
        return spectra.DenseJacobians(np.broadcast_to(self.lam, states.shape[:-2] + (T, 1, 1)))

    def parameters(self):
        return {"lam": self.lam, "b": self.b}

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        g = {"lam": cotangents * states[..., :-1, :],
             "b": (cotangents * inputs)[..., None]}
        if per_step:
            return g
        return {"lam": g["lam"].reshape(-1, 1).sum(0), "b": g["b"].reshape(-1, 1, 1).sum(0)}


def replica_means(cell, parameter, *, r, burn, seed, R=64):
    """Per-replica time averages of |dh_t/dtheta|^2 and |h_t|^2 over t > burn."""
    T = burn + int(round(16 / (1 - r)))            # about 16 correlation times per replica
    X = np.random.default_rng(seed).standard_normal((R, T, 1))
    run = cell.run(X)
    sens = parameter_sensitivity(run, parameter, t=1)      # the lags are not needed here
    s2 = (sens.norms[:, burn + 1:] ** 2).mean(axis=1)
    h2 = (run.states[:, burn + 1:, :] ** 2).sum(-1).mean(axis=1)
    return s2, h2


def within(samples, truth, k=5.0):
    mean, se = samples.mean(), samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(mean - truth) < k * se, (mean, truth, se)
    return se


def burn_in(r):
    """Steps after which the finite-t sum misses < 2e-5 of the stationary one (checked)."""
    return int(math.ceil(9.0 / (1 - r)))


@pytest.mark.parametrize("lam", [0.9, 0.99, 0.999])
def test_curse_of_memory_closed_form_by_monte_carlo(lam):
    burn = burn_in(lam)
    s2, h2 = replica_means(ScalarLinear(lam), "lam", r=lam, burn=burn, seed=int(lam * 1e3))
    theory = curse_of_memory(lam)
    assert theory.sensitivity[0] == pytest.approx((1 + lam ** 2) / (1 - lam ** 2) ** 3, rel=1e-14)
    se = within(s2, theory.sensitivity[0])
    within(h2, theory.state_variance[0])
    # the start from h_0 = 0 biases the first retained step by far less than one SE
    k = np.arange(1, burn + 1)
    finite = np.sum(k ** 2 * lam ** (2 * k - 2.0))
    assert theory.sensitivity[0] - finite < 0.01 * se


@pytest.mark.parametrize("lam", [0.9, 0.99, 0.999])
@pytest.mark.parametrize("normalization", ["none", "tied", "fixed"])
def test_the_lru_normalisation_tames_the_curse(lam, normalization):
    # h_t = lam h_{t-1} + gamma x_t, differentiated along the LRU's nu = log(-log lam)
    if normalization == "fixed":
        base = spectra.LRU.from_eigenvalues([lam], B=[[1.0]])
        p = base.parameters()
        cell = spectra.LRU(p["nu_log"], p["theta_log"], p["B_re"], p["B_im"],
                           gamma_log=np.log(base.gamma))
    else:
        cell = spectra.LRU.from_eigenvalues([lam], B=[[1.0]], normalize=normalization == "tied")
    s2, h2 = replica_means(cell, "nu_log", r=lam, burn=burn_in(lam), seed=7)
    theory = curse_of_memory(lam, normalization=normalization, parameter="nu")
    within(s2, theory.sensitivity[0])
    within(h2, theory.state_variance[0])
    if normalization == "tied":          # bounded: -> 1/4 as lam -> 1
        assert 0.2 < theory.sensitivity[0] < 0.25


def test_complex_eigenvalues_follow_the_modulus():
    # lambda = r e^{i phi}: E|h|^2 and E|dh/dnu|^2 depend on r only
    r = 0.99
    cell = spectra.LRU.from_eigenvalues([r * np.exp(0.7j)], B=[[1.0]])
    s2, h2 = replica_means(cell, "nu_log", r=r, burn=burn_in(r), seed=3)
    theory = curse_of_memory(r * np.exp(0.7j), normalization="tied", parameter="nu")
    within(s2, theory.sensitivity[0])
    within(h2, 1.0)


def test_sensitivity_agrees_with_finite_differences_and_autograd():
    torch = pytest.importorskip("torch")
    gen = np.random.default_rng(0)
    cell = spectra.LRU.random(3, input_size=2, r_min=0.5, r_max=0.95, rng=gen)
    X, h0 = gen.standard_normal((25, 2)), gen.standard_normal(6)
    params = cell.parameters()

    def states(**changed):
        p = dict(params, **changed)
        return spectra.LRU(**p).run(X, h0=h0).states

    run = cell.run(X, h0=h0)
    for name in ("nu_log", "theta_log", "B_re", "B_im"):
        sens = parameter_sensitivity(run, name, t=17)
        # central differences of every h_t, entry by entry
        base = params[name]
        fd = np.empty((26, 6) + base.shape)
        for idx in np.ndindex(base.shape):
            e = np.zeros_like(base)
            e[idx] = 1e-6
            fd[(slice(None), slice(None)) + idx] = (states(**{name: base + e})
                                                   - states(**{name: base - e})) / 2e-6
        norms = np.sqrt((fd.reshape(26, -1) ** 2).sum(-1))
        np.testing.assert_allclose(sens.norms, norms, rtol=1e-7, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(sens.jacobian, fd[17], rtol=1e-6, atol=1e-8, err_msg=name)

    # torch autograd of h_17 with respect to nu_log, through the whole run (tied gamma)
    nu = torch.tensor(np.array(params["nu_log"]), requires_grad=True)

    def h17(nu):
        lam = torch.exp(-torch.exp(nu) + 1j * torch.exp(torch.tensor(np.array(params["theta_log"]))))
        gamma = torch.sqrt(1 - torch.abs(lam) ** 2)
        B = torch.tensor(cell.B)
        h = torch.tensor(h0[0::2] + 1j * h0[1::2])
        for t in range(17):
            h = lam * h + gamma * (B @ torch.tensor(X[t]).to(B.dtype))
        return torch.stack([h.real, h.imag], dim=-1).reshape(-1)

    ref = torch.autograd.functional.jacobian(h17, nu).numpy()
    np.testing.assert_allclose(parameter_sensitivity(run, "nu_log", t=17).jacobian, ref,
                               rtol=1e-10, atol=1e-12)


def test_lag_decomposition_of_the_scalar_recurrence():
    # the use of lam `l` steps before t contributes lam^l h_{t-l-1}; they sum to dh_t/dlam
    gen = np.random.default_rng(1)
    lam, t = 0.8, 30
    run = ScalarLinear(lam).run(gen.standard_normal((40, 1)), h0=[0.5])
    sens = parameter_sensitivity(run, "lam", t=t)
    h = run.states[:, 0]
    lags = np.arange(t)
    terms = lam ** lags * h[t - lags - 1]
    np.testing.assert_allclose(sens.lag_norms, np.abs(terms), rtol=1e-12)
    np.testing.assert_allclose(sens.jacobian, [[terms.sum()]], rtol=1e-12)
    np.testing.assert_allclose(sens.norms[t], abs(terms.sum()), rtol=1e-12)
    assert sens.to_frame().shape == (41, 2) if _has_pandas() else True


def _has_pandas():
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def test_a_batch_gives_one_curve_per_run():
    gen = np.random.default_rng(2)
    cell = spectra.LRU.random(2, input_size=1, rng=gen)
    X = gen.standard_normal((3, 12, 1))
    both = parameter_sensitivity(cell.run(X), "B_re", t=9)
    assert both.norms.shape == (3, 13) and both.lag_norms.shape == (3, 9)
    assert both.jacobian.shape == (3, 4, 2, 1)
    for b in range(3):
        one = parameter_sensitivity(cell.run(X[b]), "B_re", t=9)
        np.testing.assert_allclose(both.norms[b], one.norms, rtol=1e-13)
        np.testing.assert_allclose(both.lag_norms[b], one.lag_norms, rtol=1e-13)


def test_bad_arguments():
    cell = spectra.LRU.random(2, input_size=1, rng=0)
    run = cell.run(np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"`parameter` must be one of .*'nu_log', 'theta_log'.*got 'nu'"):
        parameter_sensitivity(run, "nu")
    with pytest.raises(TypeError, match="`parameter`"):
        parameter_sensitivity(run, 3)
    with pytest.raises(TypeError, match="`run` must be a Trajectory"):
        parameter_sensitivity(np.ones((4, 2, 2)), "nu_log")
    with pytest.raises(ValueError, match="`t`"):
        parameter_sensitivity(run, "nu_log", t=5)
    no_hook = spectra.ElmanRNN(np.eye(2) * 0.5, np.ones((2, 1)))
    if type(no_hook).parameter_vjp is spectra.Cell.parameter_vjp:
        with pytest.raises(TypeError, match="parameter_vjp"):
            parameter_sensitivity(no_hook.run(np.ones((4, 1))), "W_hh")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lam": 1.0}, ValueError, "`lam`"),
    ({"lam": 0.5j}, TypeError, "parameter='nu'"),
    ({"lam": 0.0, "parameter": "nu"}, ValueError, "nonzero"),
    ({"lam": 0.5, "normalization": "gamma"}, ValueError, "normalization"),
    ({"lam": "x"}, TypeError, "`lam`"),
])
def test_curse_of_memory_refuses(kwargs, error, match):
    with pytest.raises(error, match=match):
        curse_of_memory(**kwargs)


def test_blocks_of_steps_give_the_same_answer(monkeypatch):
    # a long run's partials are made a block of steps at a time: the same numbers
    import spectra.analysis.sensitivity as mod

    gen = np.random.default_rng(4)
    cell = spectra.LRU.random(3, input_size=2, r_min=0.6, r_max=0.95, rng=gen)
    run = cell.run(gen.standard_normal((2, 23, 2)))
    whole = parameter_sensitivity(run, "B_im", t=17)
    monkeypatch.setattr(mod, "_CHUNK_FLOATS", 2 * 6 * 6 * 5)      # blocks of 5 steps
    parts = parameter_sensitivity(run, "B_im", t=17)
    np.testing.assert_allclose(parts.norms, whole.norms, rtol=1e-13)
    np.testing.assert_allclose(parts.lag_norms, whole.lag_norms, rtol=1e-13)
    np.testing.assert_allclose(parts.jacobian, whole.jacobian, rtol=1e-13)
