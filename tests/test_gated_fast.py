"""Issue 19 item 5: the gated cells' fast paths against dense per-step products and QR.

- The GRU's step Jacobian formed in one pass (``step_operator``, ``matrix``) against central
  differences of the cell's step; its norm bound against the SVD; gradient-norm profiles
  against per-lag products of those finite-difference Jacobians.
- The LSTM's full Lyapunov spectrum through the graph of its slow subspace
  (``spectra.analysis._lyapunov_lstm``) against Benettin's method written out here: numpy QR
  at every step of the formed 2n x 2n step Jacobians, whose formation is checked against
  central differences; every fallback branch is forced.
"""

import numpy as np
import pytest

import spectra
from spectra.analysis import _lyapunov_lstm as graph
from spectra.analysis import lyapunov as lyap

from _helpers import central_difference_jacobian, relative_error


def fd_jacobians(traj, steps):
    cell = traj.cell
    out = []
    for t in steps:
        x = None if traj.inputs is None else traj.inputs[t - 1]
        out.append(central_difference_jacobian(lambda h: cell.step(h, x), traj.states[t - 1]))
    return out


def qr_every_step(Js, warmup=0):
    """Benettin (1980) from the identity frame: mean over steps > warmup of log|diag R|, sorted."""
    Q = np.eye(Js.shape[-1])
    total = np.zeros(Js.shape[-1])
    for t, J in enumerate(Js, 1):
        Q, R = np.linalg.qr(J @ Q)
        if t > warmup:
            total += np.log(np.abs(np.diag(R)))
    return np.sort(total / (len(Js) - warmup))[::-1]


# -- GRU: the formed step, its bound, profiles ------------------------------------------------

def gru_run(rng, n, T, gain=1.0):
    cell = spectra.GRU.random(n, input_size=3, gain=gain, rng=rng)
    return cell.run(rng.standard_normal((T, 3)), h0=0.5 * rng.standard_normal(n))


def test_gru_step_operator_matches_central_differences_and_bounds_the_norm(rng):
    traj = gru_run(rng, 9, 6, gain=2.0)
    seq = traj.jacobian_sequence
    left, bound = seq.step_operator("left")
    right, bound_r = seq.step_operator("right")
    np.testing.assert_array_equal(bound, bound_r)
    P = rng.standard_normal((9, 9))
    for t, J in zip(range(1, 7), fd_jacobians(traj, range(1, 7))):
        assert relative_error(seq.matrix(t), J) < 1e-8
        assert relative_error(left(t, P), J @ P) < 1e-8
        assert relative_error(right(t, P), P @ J) < 1e-8
        sigma = np.linalg.svd(J, compute_uv=False)[0]
        assert np.log2(sigma) <= bound[t - 1] + 1e-12
        # the buffer is reused: an earlier result is not overwritten by the next step
        a = right(t, P)
        right(max(1, t - 1), P)
        np.testing.assert_array_equal(a, right(t, P))


def test_batched_gate_sums_equal_each_member(rng):
    cell = spectra.GRU.random(5, input_size=2, rng=rng)
    batch = cell.run(rng.standard_normal((3, 4, 2)), h0=rng.standard_normal((3, 5)))
    seq = batch.jacobian_sequence
    for t in (1, 4):
        M = seq.matrix(t)
        for b in range(3):
            one = batch.select(b)
            J = fd_jacobians(one, [t])[0]
            assert relative_error(M[b], J) < 1e-8
    lstm = spectra.LSTM.random(4, input_size=2, rng=rng)
    lb = lstm.run(rng.standard_normal((2, 3, 2)))
    for b in range(2):
        J = fd_jacobians(lb.select(b), [3])[0]
        assert relative_error(lb.jacobian_sequence.matrix(3)[b], J) < 1e-8
        np.testing.assert_allclose(lb.jacobian_sequence.select(b).c_block(3), J[4:, :4],
                                   rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("n", [20, 40, 130])    # the SVD chunks, the chunked and the per-lag sweeps
def test_gru_profiles_match_per_lag_products(rng, n):
    T = 12
    traj = gru_run(rng, n, T)
    Js = traj.jacobians()          # formed by the one-pass path; checked against differences:
    for t, J in zip((1, T), fd_jacobians(traj, (1, T))):
        assert relative_error(Js[t - 1], J) < 1e-8
    P = np.eye(n)
    expect2, expectF = [], []
    for s in range(T, 0, -1):
        P = P @ Js[s - 1]
        expect2.append(np.log(np.linalg.svd(P, compute_uv=False)[0]))
        expectF.append(np.log(np.linalg.norm(P)))
    np.testing.assert_allclose(spectra.gradient_norm_profile(traj).log_norms, expect2, atol=1e-10, rtol=0)
    np.testing.assert_allclose(spectra.gradient_norm_profile(traj, ord="fro").log_norms, expectF,
                               atol=1e-12, rtol=0)


def test_gru_lyapunov_matches_qr_every_step(rng):
    traj = gru_run(rng, 50, 150, gain=1.5)      # n >= 48: the compact-WY path through matrix(t)
    res = spectra.lyapunov_spectrum(traj)
    assert res.qr_count < 150
    np.testing.assert_allclose(res.exponents, qr_every_step(traj.jacobians()), atol=1e-10, rtol=0)


# -- LSTM: the graph of the slow subspace ------------------------------------------------------

def lstm_run(rng, n, T, gain=1.0, d=4):
    cell = spectra.LSTM.random(n, input_size=d, gain=gain, rng=rng)
    return cell.run(rng.standard_normal((T, d)))


@pytest.fixture
def spy(monkeypatch):
    """Records what the graph path returned (None: it declined, the dense path ran)."""
    calls = []
    real = graph.lstm_full_spectrum

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(lyap, "lstm_full_spectrum", wrapped)
    return calls


def test_lstm_formed_steps_match_central_differences(rng):
    traj = lstm_run(rng, 24, 5, gain=2.0)
    for t, J in zip((1, 3, 5), fd_jacobians(traj, (1, 3, 5))):
        assert relative_error(traj.jacobian_sequence.matrix(t), J) < 1e-8
        np.testing.assert_allclose(traj.jacobian_sequence.c_block(t), J[24:, :24], rtol=1e-7,
                                   atol=1e-9)


@pytest.mark.parametrize("gain, warmup, seed", [(1.0, 0, 0), (1.0, 25, 1), (1.5, 0, 2), (1.5, 40, 3)])
def test_lstm_graph_spectrum_equals_qr_at_every_step(spy, gain, warmup, seed):
    rng = np.random.default_rng(seed)
    traj = lstm_run(rng, 24, 200, gain=gain)
    Js = traj.jacobians()
    res = spectra.lyapunov_spectrum(traj, warmup=warmup)
    assert spy == [True]
    ref = qr_every_step(Js, warmup)
    np.testing.assert_allclose(res.exponents, ref, atol=1e-10, rtol=0)
    dense = spectra.lyapunov_spectrum(traj, warmup=warmup, reorth_every=1)   # the dense QR path
    np.testing.assert_allclose(res.exponents, dense.exponents, atol=1e-10, rtol=0)
    assert res.qr_count < 200 - warmup and res.steps == 200 - warmup
    # the sum of all exponents is the mean log|det J_t|, an identity of the full spectrum
    logdet = np.linalg.slogdet(Js)[1][warmup:].mean()
    assert abs(res.exponents.sum() - logdet) < 1e-10
    # the first and last rows carry the boundary terms: they are the running estimates of QR
    # at every step at those steps
    first = res.running_steps[0]
    np.testing.assert_allclose(np.sort(res.running[0]), np.sort(dense.running[first - 1]), atol=1e-9,
                               rtol=0)
    np.testing.assert_allclose(res.running[-1], res.exponents)
    assert np.all(res.roundoff < 1e-9) and np.all(np.isfinite(res.stderr))


def test_lstm_graph_spectrum_redoes_rejected_intervals(spy, monkeypatch, rng):
    """Every interval of several steps is rejected: the slow frame is redone step by step."""
    from spectra.analysis import _schedule as sch

    budget = sch.lyapunov_budget(sch.EPS64)
    never = sch._budget(budget.aim, np.full(sch.MAX_EVERY, -1.0))
    monkeypatch.setattr(lyap, "_schedule", lambda every, warmup, T, eps=sch.EPS64: sch.QRSchedule(
        never, every=every, warmup=warmup, T=T))
    traj = lstm_run(rng, 24, 80)
    res = spectra.lyapunov_spectrum(traj)
    assert spy == [True] and res.qr_count == 80          # one row per step after the redos
    np.testing.assert_allclose(res.exponents, qr_every_step(traj.jacobians()), atol=1e-10, rtol=0)


def lstm_sequence(seq, **factors):
    names = ("rc", "f", "q", "p")
    parts = [np.array(factors.get(k, v)) for k, v in zip(names, seq.factors)]
    return spectra.LSTMJacobians(seq.weight_hh, *parts)


@pytest.mark.parametrize("case", ["zero p", "singular C_1", "K ill-conditioned", "large H",
                                  "error budget", "small n", "integer schedule", "batch", "one step"])
def test_lstm_graph_spectrum_declines_and_the_dense_path_runs(spy, monkeypatch, rng, case):
    traj = lstm_run(rng, 8 if case == "small n" else 24, 60)
    seq = traj.jacobian_sequence
    kwargs = {}
    n = seq.hidden_size
    if case == "zero p":
        p = seq.factors[3].copy()
        p[10, 3] = 0.0
        seq = lstm_sequence(seq, p=p)
    elif case == "singular C_1":       # a unit whose i, f, g gates do not depend on h at step 1
        rc = seq.factors[0].copy()
        rc[0, [5, n + 5, 2 * n + 5]] = 0.0
        seq = lstm_sequence(seq, rc=rc)
    elif case == "K ill-conditioned":      # C_1 passes, K_5 fails
        real, count = graph._lu, []

        def lu(M):
            count.append(1)
            if len(count) == 5:
                monkeypatch.setattr(graph, "_RCOND_MIN", 1.0)
            return real(M)
        monkeypatch.setattr(graph, "_lu", lu)
    elif case == "large H":
        monkeypatch.setattr(graph, "_H_MAX", 1e-3)
    elif case == "error budget":
        monkeypatch.setattr(graph, "_ERR_PER_STEP", 1e-15)
    elif case == "integer schedule":
        kwargs = dict(reorth_every=2)
    elif case == "batch":
        seq = spectra.LSTM.random(24, input_size=2, rng=rng).run(
            rng.standard_normal((2, 60, 2))).jacobian_sequence
    elif case == "one step":
        seq = lstm_sequence(seq, **{k: v[:1] for k, v in zip(("rc", "f", "q", "p"), seq.factors)})
    res = spectra.lyapunov_spectrum(seq, **kwargs)
    assert spy == ([] if case in ("integer schedule",) else [False])
    ref = spectra.lyapunov_spectrum(seq, reorth_every=1)
    if case == "integer schedule":
        assert res.qr_count == 30
    else:      # (with a singular step, keep out the exponent that is -inf in exact arithmetic)
        np.testing.assert_array_equal(np.isfinite(res.exponents), np.isfinite(ref.exponents))
        fine = np.isfinite(ref.exponents) & (np.arange(seq.n) < seq.n - (case == "zero p"))
        np.testing.assert_allclose(res.exponents[fine], ref.exponents[fine], atol=1e-8, rtol=0)
    if case != "batch":
        Js = seq.matrices()
        with np.errstate(divide="ignore"):
            expect = qr_every_step(Js)
        fine = np.isfinite(expect) & (np.arange(seq.n) < seq.n - (case == "zero p"))
        np.testing.assert_allclose(ref.exponents[..., fine], expect[fine], atol=1e-9, rtol=0)
