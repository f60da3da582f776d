"""The gradient monitor on multi-layer networks: a Stack of spectra cells and a from_torch'ed
2-layer nn.LSTM, read against independent computations.

Independent truth: torch autograd through the unrolled nn.LSTM (float64) for the Jacobian of
the whole (h, c) state of both layers, their dense SVDs, torch's own gradient norms, and for
the Stack of spectra cells the product of its layers' dense Jacobians assembled by hand.
"""

import numpy as np
import pytest

import spectra
from spectra.monitor import GradientMonitor

torch = pytest.importorskip("torch")


def _lstm_state_map(lstm, X, start):
    """The whole state (layer 0 (h, c), then layer 1 (h, c)) at T as a function of the state
    at ``start``: torch's own nn.LSTM, run in float64 from a zero state."""
    L, H = lstm.num_layers, lstm.hidden_size
    Xt = torch.tensor(X)
    with torch.no_grad():
        if start:
            _, (h, c) = lstm(Xt[:start])
        else:
            h = c = torch.zeros(L, H, dtype=torch.float64)
    s0 = torch.cat([torch.cat([h[i], c[i]]) for i in range(L)])

    def f(s):
        parts = s.reshape(L, 2, H)
        _, (hn, cn) = lstm(Xt[start:], (parts[:, 0].contiguous(), parts[:, 1].contiguous()))
        return torch.cat([torch.cat([hn[i], cn[i]]) for i in range(L)])

    return f, s0


def _autograd_jacobian(lstm, X, start):
    f, s0 = _lstm_state_map(lstm, X, start)
    return torch.autograd.functional.jacobian(f, s0).numpy()


@pytest.fixture
def lstm_and_data():
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(3, 5, num_layers=2).double()
    X = np.random.default_rng(0).standard_normal((12, 3))
    return lstm, X


def test_monitor_on_a_from_torch_lstm_reads_autograd_numbers(lstm_and_data):
    lstm, X = lstm_and_data
    T = X.shape[0]
    stack = spectra.from_torch(lstm)
    assert isinstance(stack, spectra.Stack) and stack.n == 20
    # a real training step: the gradient norms are torch's own
    out, _ = lstm(torch.tensor(X))
    (out ** 2).sum().backward()
    mon = GradientMonitor(top_k=3)
    rec = mon.record(0, lstm, weights=lstm, trajectory=stack, inputs=X)
    for name, p in lstm.named_parameters():
        assert rec.grad_norms[name] == pytest.approx(float(p.grad.norm()), rel=1e-12)
    total = float(torch.sqrt(sum((p.grad ** 2).sum() for p in lstm.parameters())))
    assert rec.grad_norms["total"] == pytest.approx(total, rel=1e-12)
    W = lstm.weight_hh_l1.detach().numpy()
    assert np.allclose(rec.weight_top["weight_hh_l1"], np.linalg.svd(W, compute_uv=False)[:3],
                       rtol=1e-7, atol=0)
    # per-lag norms log ||dh_T/dh_{T-lag}||_2 of the whole two-layer (h, c) state
    want = [np.log(np.linalg.norm(_autograd_jacobian(lstm, X, T - lag), 2))
            for lag in range(1, T + 1)]
    assert np.max(np.abs(rec.lag_log_norms - want)) < 1e-9
    # top singular values of dh_T/dh_0
    sv = np.linalg.svd(_autograd_jacobian(lstm, X, 0), compute_uv=False)
    assert np.allclose(rec.jacobian_top, sv[:3], rtol=1e-7, atol=0)
    assert rec.status == "ok"


def test_monitor_carries_a_vector_back_through_the_stack(lstm_and_data):
    lstm, X = lstm_and_data
    T = X.shape[0]
    traj = spectra.from_torch(lstm).run(X)
    v = np.random.default_rng(1).standard_normal(20)
    rec = GradientMonitor(top_k=0).record(0, trajectory=traj, vector=v)
    want = [np.log(np.linalg.norm(v @ _autograd_jacobian(lstm, X, T - lag)))
            for lag in range(1, T + 1)]
    assert np.max(np.abs(rec.lag_log_norms - want)) < 1e-9
    assert rec.jacobian_top is None


def test_monitor_on_a_stack_of_spectra_cells_matches_the_block_jacobians():
    # Elman over GRU: the stack's step Jacobian is block lower-triangular,
    # [[J0, 0], [dF1/dx * J0, J1]]; assembled here from each layer's own cell
    rng = np.random.default_rng(2)
    lower = spectra.ElmanRNN.random(4, input_size=2, rng=rng)
    upper = spectra.GRU.random(3, input_size=4, rng=rng)
    stack = spectra.Stack([lower, upper])
    X = rng.standard_normal((9, 2))
    traj = stack.run(X)
    low = lower.run(X)
    high = upper.run(low.states[1:])
    blocks = []
    for t in range(1, 10):
        J0, J1 = low.jacobian(t), high.jacobian(t)
        Jx = high.input_jacobian(t)
        blocks.append(np.block([[J0, np.zeros((4, 3))], [Jx @ J0, J1]]))
    mon = GradientMonitor(top_k=2, every=5)
    assert mon.record(3, trajectory=traj) is None                 # not due
    rec = mon.record(5, trajectory=traj)
    P, want = np.eye(7), []
    for t in range(9, 0, -1):
        P = P @ blocks[t - 1]
        want.append(np.log(np.linalg.norm(P, 2)))
    assert np.max(np.abs(rec.lag_log_norms - want)) < 1e-9
    assert np.allclose(rec.jacobian_top, np.linalg.svd(P, compute_uv=False)[:2], rtol=1e-7, atol=0)
    # the history has the per-lag series of the whole stacked state
    steps, vals = mon.series(None, "lag_log_norm")
    assert list(steps) == [5] and vals.shape == (1, 9)


def test_plots_of_a_monitor_of_stack_trajectories(lstm_and_data):
    pytest.importorskip("matplotlib")
    lstm, X = lstm_and_data
    stack = spectra.from_torch(lstm)
    mon = GradientMonitor(top_k=1)
    for step in range(3):
        mon.record(step, trajectory=stack, inputs=X[: 6 + 3 * step])
    fig = mon.plot()                       # trajectories only: the per-lag profiles, no warning
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3
    for line, rec in zip(lines, mon.history):
        assert np.allclose(line.get_ydata(), rec.lag_log_norms / np.log(10.0), rtol=1e-14, atol=0)
    with pytest.raises(ValueError, match="no gradient norms"):
        mon.plot("history")
    with pytest.raises(ValueError, match="no gradient norms"):
        mon.plot("layers")
