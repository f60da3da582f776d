"""The dense product of a TorchCell by one chunked reverse pass in torch (``chain``).

Independent truth: closed forms (a scaled rotation, whose product is exact), the
analytic Jacobians diag(1 - h^2) W of a tanh step at the stored states, and
``torch.autograd.functional.jacobian`` of the unrolled run; the generic step-by-step
product of :class:`~spectra.JacobianSequence` (vjp per step through numpy) as a second
path.
"""

import numpy as np
import pytest

import spectra
from spectra.jacobians import JacobianSequence

torch = pytest.importorskip("torch")

from spectra.cells.torch_cell import _TorchStepBackend  # noqa: E402
from _helpers import torch_tanh_step  # noqa: E402

def _rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


def _tanh_step(n, m, gain=1.2, seed=0):
    return torch_tanh_step(n, m, gain=gain, seed=seed)


def _analytic_product(W, states, t, k):
    """J_t ... J_{k+1} with J_s = diag(1 - h_s^2) W, from the stored states."""
    P = np.eye(W.shape[0])
    for s in range(k + 1, t + 1):
        P = ((1 - states[s] ** 2)[:, None] * W) @ P
    return P


@pytest.mark.parametrize("chunk", [32, None])
@pytest.mark.parametrize("t,k", [(150, 0), (150, 37), (129, 64), (64, 32), (3, 1)])
def test_chunked_product_matches_the_analytic_jacobians(t, k, chunk, monkeypatch):
    # spans across several chunks of 32 steps, exactly one chunk, and a short span; and
    # the default chunk length
    if chunk is not None:
        monkeypatch.setattr(_TorchStepBackend, "CHUNK", chunk)
    n, m, T = 7, 2, 150
    step, W = _tanh_step(n, m)
    X = np.random.default_rng(1).standard_normal((T, m))
    traj = spectra.TorchCell(step, n, input_size=m).run(X, h0=0.3 * np.ones(n))
    P = traj.product(t, k)
    assert _rel(P, _analytic_product(W, traj.states, t, k)) < 1e-12
    assert np.allclose(traj.product(t, k, layout="backprop"), P.T, rtol=0, atol=0)


def test_chunked_product_equals_the_step_by_step_product_and_autograd():
    n, m, T = 5, 3, 140
    step, _ = _tanh_step(n, m, gain=0.9, seed=3)
    X = np.random.default_rng(4).standard_normal((T, m))
    traj = spectra.TorchCell(step, n, input_size=m).run(X)
    seq = traj.jacobian_sequence
    generic = JacobianSequence.product(seq, T, 10)       # vjp/jvp per step, through numpy
    assert _rel(traj.product(T, 10), generic) < 1e-13
    Xt = torch.tensor(X)
    with torch.no_grad():
        h = torch.zeros(n, dtype=torch.float64)
        for s in range(10):
            h = step(h, Xt[s])

    def unrolled(z):
        for s in range(10, T):
            z = step(z, Xt[s])
        return z

    ref = torch.autograd.functional.jacobian(unrolled, h).numpy()
    assert _rel(traj.product(T, 10), ref) < 1e-10


def test_chunks_shorten_where_the_product_leaves_float64():
    # h -> exp(x) Q h with Q orthogonal: dh_t/dh_0 = exp(sum x) Q^t exactly.  60 steps of
    # e^14 then 60 of e^-14: pulled back through the 60 shrinking steps at once the row
    # vectors fall to e^-840 ~ 2^-1212, below float64's range (they underflow to zero), so
    # the pass must shorten its chunks; the whole product is Q^120.
    n, T = 4, 120
    Q, _ = np.linalg.qr(np.random.default_rng(5).standard_normal((n, n)))
    Qt = torch.tensor(Q)

    def step(h, x):
        return torch.exp(x[0]) * (Qt @ h)

    X = np.concatenate([np.full(60, 14.0), np.full(60, -14.0)])[:, None]
    traj = spectra.TorchCell(step, n, input_size=1).run(X, h0=np.full(n, 1e-300))  # state in range
    assert _rel(traj.product(), np.linalg.matrix_power(Q, T)) < 1e-12
    assert _rel(np.exp(14.0 * 40) * traj.product(T, 40), np.linalg.matrix_power(Q, 80)) < 1e-12
    # a span that ends in the growing half: exp(14 * 40) Q^40, about 1e243 (in range)
    assert _rel(np.exp(-14.0 * 40) * traj.product(40, 0), np.linalg.matrix_power(Q, 40)) < 1e-12
    # the whole first half overflows float64 (1e365): the usual error, no inf
    with pytest.raises(spectra.NumericalError, match="overflows"):
        traj.product(60, 0)
    # a product that is exactly zero stays zero (a step that kills the state)
    dead = spectra.TorchCell(lambda h, x: 0.0 * h, n, input_size=1).run(X)
    assert np.array_equal(dead.product(), np.zeros((n, n)))


def test_a_step_that_does_not_recompute_its_states_is_linearised_at_the_stored_ones():
    # the step adds fresh noise of size 1e-6 on every call: recomputing a chunk's states
    # from the stored h_{s0} does not give the stored states, so the pass falls back to
    # linearising at the stored states; the analytic product there is the truth (the
    # Jacobian at recomputed states would differ by about 1e-6)
    n, m, T = 6, 2, 130
    step, W = _tanh_step(n, m, gain=1.1, seed=6)
    g = torch.Generator().manual_seed(0)

    # the noise does not depend on h, so J_s = diag(1 - (h_s - noise_s)^2) W: keep the
    # pre-noise states by recording the noise the run itself drew
    drawn = []

    def recorded(h, x):
        noise = 1e-6 * torch.randn(h.shape, generator=g, dtype=torch.float64)
        drawn.append(noise.clone())
        return step(h, x) + noise

    cell = spectra.TorchCell(recorded, n, input_size=m)
    drawn.clear()
    X = np.random.default_rng(7).standard_normal((T, m))
    traj = cell.run(X)
    noise = np.array([d.numpy() for d in drawn[:T]])
    pre = traj.states.copy()
    pre[1:] -= noise                                    # tanh(W h + U x) at every step
    P = traj.product()
    assert _rel(P, _analytic_product(W, pre, T, 0)) < 1e-12


def test_autonomous_and_batched_runs():
    n, T = 6, 90
    rng = np.random.default_rng(8)
    W = 1.3 * rng.standard_normal((n, n)) / np.sqrt(n)
    Wt = torch.tensor(W)

    def step(h, x):
        assert x is None
        return torch.tanh(Wt @ h)

    cell = spectra.TorchCell(step, n)
    traj = cell.run(steps=T, h0=rng.standard_normal((2, n)))
    P = traj.product(T, 5)
    for b in range(2):
        assert _rel(P[b], _analytic_product(W, traj.states[b], T, 5)) < 1e-12
        assert _rel(traj.select(b).product(T, 5), P[b]) < 1e-14
