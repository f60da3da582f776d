"""LSTM and GRU: equations, analytic Jacobians against finite differences, the sequence interface.

Everything here runs without torch; tests/test_torch.py compares with torch itself when it
is installed.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import spectra

from _helpers import central_difference_jacobian, relative_error

finite = dict(allow_nan=False, allow_infinity=False)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_lstm(W_ih, W_hh, b_ih, b_hh, X, h, c):
    """The equations of torch.nn.LSTM's documentation, one gate matrix at a time."""
    n = W_hh.shape[1]
    Wi, Wf, Wg, Wo = (W_hh[k * n:(k + 1) * n] for k in range(4))
    Ui, Uf, Ug, Uo = (W_ih[k * n:(k + 1) * n] for k in range(4))
    b = b_ih + b_hh
    bi, bf, bg, bo = (b[k * n:(k + 1) * n] for k in range(4))
    out = [np.concatenate([h, c])]
    for x in X:
        i = sigmoid(Ui @ x + Wi @ h + bi)
        f = sigmoid(Uf @ x + Wf @ h + bf)
        g = np.tanh(Ug @ x + Wg @ h + bg)
        o = sigmoid(Uo @ x + Wo @ h + bo)
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(np.concatenate([h, c]))
    return np.array(out)


def reference_gru(W_ih, W_hh, b_ih, b_hh, X, h):
    """The equations of torch.nn.GRU's documentation (r multiplies W_hn h + b_hn)."""
    n = W_hh.shape[1]
    Wr, Wz, Wn = (W_hh[k * n:(k + 1) * n] for k in range(3))
    Ur, Uz, Un = (W_ih[k * n:(k + 1) * n] for k in range(3))
    br, bz, bn = (b_ih[k * n:(k + 1) * n] for k in range(3))
    cr, cz, cn = (b_hh[k * n:(k + 1) * n] for k in range(3))
    out = [h]
    for x in X:
        r = sigmoid(Ur @ x + br + Wr @ h + cr)
        z = sigmoid(Uz @ x + bz + Wz @ h + cz)
        m = np.tanh(Un @ x + bn + r * (Wn @ h + cn))
        h = (1 - z) * m + z * h
        out.append(h)
    return np.array(out)


def random_cell(cls, rng, n=4, d=3, gain=1.5, bias=True):
    G = 4 if cls is spectra.LSTM else 3
    W_ih = rng.standard_normal((G * n, d)) if d else None
    W_hh = gain * rng.standard_normal((G * n, n)) / np.sqrt(n)
    b_ih = rng.standard_normal(G * n) if bias else None
    b_hh = rng.standard_normal(G * n) if bias else None
    return cls(W_ih, W_hh, b_ih, b_hh)


def random_run(cls, rng, n=4, d=3, T=12, gain=1.5, B=None):
    cell = random_cell(cls, rng, n, d, gain)
    batch = () if B is None else (B,)
    X = rng.standard_normal(batch + (T, d))
    return cell.run(X, h0=rng.standard_normal(batch + (cell.n,)))


CELLS = [spectra.LSTM, spectra.GRU]


# -- equations ---------------------------------------------------------------------------

def test_lstm_run_matches_the_equations(rng):
    n, d, T = 5, 3, 15
    W_ih, W_hh = rng.standard_normal((4 * n, d)), rng.standard_normal((4 * n, n))
    b_ih, b_hh = rng.standard_normal(4 * n), rng.standard_normal(4 * n)
    X, h, c = rng.standard_normal((T, d)), rng.standard_normal(n), rng.standard_normal(n)
    traj = spectra.LSTM(W_ih, W_hh, b_ih, b_hh).run(X, h0=(h, c))
    ref = reference_lstm(W_ih, W_hh, b_ih, b_hh, X, h, c)
    np.testing.assert_allclose(traj.states, ref, rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(traj.hidden, traj.states[:, :n])
    assert traj.states.shape == (T + 1, 2 * n) and traj.hidden.shape == (T + 1, n)
    assert traj.preactivations.shape == (T, 4 * n)
    # the biases only enter summed; a tuple (h, c) and the vector [h, c] are the same start
    other = spectra.LSTM(W_ih, W_hh, b_ih + b_hh).run(X, h0=np.concatenate([h, c]))
    np.testing.assert_allclose(other.states, traj.states, rtol=1e-14, atol=1e-15)


def test_gru_run_matches_the_equations(rng):
    n, d, T = 5, 3, 15
    W_ih, W_hh = rng.standard_normal((3 * n, d)), rng.standard_normal((3 * n, n))
    b_ih, b_hh = rng.standard_normal(3 * n), rng.standard_normal(3 * n)
    X, h = rng.standard_normal((T, d)), rng.standard_normal(n)
    traj = spectra.GRU(W_ih, W_hh, b_ih, b_hh).run(X, h0=h)
    np.testing.assert_allclose(traj.states, reference_gru(W_ih, W_hh, b_ih, b_hh, X, h),
                               rtol=1e-13, atol=1e-14)
    # b_hn is not interchangeable with b_in: it is multiplied by the reset gate
    moved = b_ih.copy()
    moved[2 * n:] += b_hh[2 * n:]
    kept = b_hh.copy()
    kept[2 * n:] = 0
    wrong = spectra.GRU(W_ih, W_hh, moved, kept).run(X, h0=h)
    assert np.max(np.abs(wrong.states - traj.states)) > 1e-3


def test_autonomous_gated_cells_and_no_biases(rng):
    for cls, G in [(spectra.LSTM, 4), (spectra.GRU, 3)]:
        W_hh = rng.standard_normal((G * 3, 3))
        cell = cls(None, W_hh)
        assert cell.input_size == 0 and cell.hidden_size == 3
        traj = cell.run(steps=6, h0=0.5 * np.ones(cell.n))
        if cls is spectra.LSTM:
            ref = reference_lstm(np.zeros((12, 1)), W_hh, np.zeros(12), np.zeros(12),
                                 np.zeros((6, 1)), 0.5 * np.ones(3), 0.5 * np.ones(3))
        else:
            ref = reference_gru(np.zeros((9, 1)), W_hh, np.zeros(9), np.zeros(9), np.zeros((6, 1)),
                                0.5 * np.ones(3))
        np.testing.assert_allclose(traj.states, ref, rtol=1e-14, atol=1e-15)
        with pytest.raises(ValueError, match="no input matrix"):
            cell.run(np.ones((2, 1)))


# -- Jacobians against finite differences ------------------------------------------------

@st.composite
def gated_cells(draw):
    cls = draw(st.sampled_from(CELLS))
    G = 4 if cls is spectra.LSTM else 3
    n = draw(st.integers(1, 5))
    d = draw(st.integers(0, 3))
    el = st.floats(-2, 2, **finite)
    W_hh = draw(hnp.arrays(np.float64, (G * n, n), elements=el))
    W_ih = draw(hnp.arrays(np.float64, (G * n, d), elements=el)) if d else None
    with_bias = draw(st.booleans())
    b_ih = draw(hnp.arrays(np.float64, (G * n,), elements=el)) if with_bias else None
    b_hh = draw(hnp.arrays(np.float64, (G * n,), elements=el)) if with_bias else None
    cell = cls(W_ih, W_hh, b_ih, b_hh)
    h = draw(hnp.arrays(np.float64, (cell.n,), elements=st.floats(-3, 3, **finite)))
    x = draw(hnp.arrays(np.float64, (d,), elements=el)) if d else None
    return cell, h, x


@given(gated_cells())
def test_step_jacobian_matches_central_differences(case):
    cell, h, x = case
    J = cell.step_jacobian(h, x)
    assert J.shape == (cell.n, cell.n)
    J_fd = central_difference_jacobian(lambda v: cell.step(v, x), h)
    # central differences: error O(h^2 |f'''|) + O(eps/h) with h = 1e-6, entries O(1-10)
    assert np.max(np.abs(J - J_fd)) < 1e-7 * max(1.0, np.max(np.abs(J)))
    np.testing.assert_array_equal(cell.step_jacobian(h, x, layout="backprop"), J.T)
    v = np.linspace(-1, 1, cell.n)
    np.testing.assert_allclose(cell.jvp(h, v, x), J @ v, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(cell.vjp(h, v, x), J.T @ v, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("cls", CELLS)
def test_product_is_the_derivative_of_the_flow(rng, cls):
    traj = random_run(cls, rng, n=3, d=2, T=9)
    t, k = 8, 3
    X = traj.inputs

    def flow(s):
        return traj.cell.run(X[k:t], h0=s).states[-1]

    assert relative_error(traj.product(t, k), central_difference_jacobian(flow, traj.states[k])) < 1e-7


def test_lstm_jacobian_blocks(rng):
    """The four blocks of d[h, c]/d[h, c] separately, and the forget gate on the c diagonal."""
    cell = random_cell(spectra.LSTM, rng, n=3, d=2)
    h, c, x = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(2)
    J = cell.step_jacobian((h, c), x)
    a = cell.weight_ih @ x + cell.bias_ih + cell.bias_hh + cell.weight_hh @ h
    f = sigmoid(a[3:6])
    np.testing.assert_allclose(J[3:, 3:], np.diag(f), rtol=1e-15, atol=0)
    for rows, cols, name in [(slice(0, 3), slice(0, 3), "dh/dh"), (slice(0, 3), slice(3, 6), "dh/dc"),
                             (slice(3, 6), slice(0, 3), "dc/dh")]:
        def part(v, cols=cols):
            s = np.concatenate([h, c])
            s[cols] = v
            return cell.step(s, x)[rows]
        fd = central_difference_jacobian(part, np.concatenate([h, c])[cols])
        np.testing.assert_allclose(J[rows, cols], fd, atol=1e-8, err_msg=name)


# -- the JacobianSequence interface --------------------------------------------------------

@pytest.mark.parametrize("cls", CELLS)
def test_sequence_interface_is_consistent(rng, cls):
    traj = random_run(cls, rng, n=4, d=3, T=10)
    seq = traj.jacobian_sequence
    N = traj.n
    assert seq.steps == 10 and seq.batch_shape == () and seq.is_square and seq.n == N
    assert seq.step_shape(3) == (N, N) and seq.dtype == np.float64
    Js = seq.matrices()
    assert Js.shape == (10, N, N)
    np.testing.assert_allclose(seq.matrices(3, 7), Js[2:7], rtol=1e-15, atol=0)
    X, Y = rng.standard_normal((N, 3)), rng.standard_normal((N, 2))
    for t in range(1, 11):
        M = seq.matrix(t)
        np.testing.assert_allclose(Js[t - 1], M, rtol=1e-15, atol=1e-16)
        np.testing.assert_allclose(seq.matmat(t, np.eye(N)), M, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(seq.rmatmat(t, np.eye(N)), M.T, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(seq.matmat(t, X), M @ X, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(seq.rmatmat(t, Y), M.T @ Y, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(seq.matvec(t, X[:, 0]), M @ X[:, 0], rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(seq.logabsdet(t), np.linalg.slogdet(M)[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", CELLS)
def test_products_and_operators_match_explicit_multiplication(rng, cls):
    traj = random_run(cls, rng, n=3, d=2, T=12)
    Js, N = traj.jacobians(), traj.n
    for t, k in [(12, 0), (9, 4), (5, 5), (0, 0)]:
        P = np.eye(N)
        for s in range(k + 1, t + 1):
            P = Js[s - 1] @ P
        np.testing.assert_allclose(traj.product(t, k), P, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(traj.product(t, k, layout="backprop"), P.T, rtol=1e-12, atol=1e-14)
        A = traj.operator(t, k)
        M = rng.standard_normal((N, 2))
        np.testing.assert_allclose(A.matmat(M), P @ M, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(A.rmatmat(M), P.T @ M, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(traj.operator(t, k, layout="backprop").matvec(M[:, 0]), P.T @ M[:, 0],
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", CELLS)
def test_batched_runs_equal_single_runs(rng, cls):
    B, T = 4, 7
    cell = random_cell(cls, rng, n=3, d=2)
    X, H0 = rng.standard_normal((B, T, 2)), rng.standard_normal((B, cell.n))
    batch = cell.run(X, h0=H0)
    seq = batch.jacobian_sequence
    assert batch.states.shape == (B, T + 1, cell.n) and seq.batch_shape == (B,)
    assert batch.jacobians().shape == (B, T, cell.n, cell.n)
    Xm = rng.standard_normal((cell.n, 2))
    for b in range(B):
        one = cell.run(X[b], h0=H0[b])
        np.testing.assert_allclose(batch.states[b], one.states, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(batch.hidden[b], one.hidden, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(batch.product(6, 1)[b], one.product(6, 1), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(batch.select(b).jacobians(), one.jacobians(), rtol=1e-14, atol=1e-15)
        s1 = one.jacobian_sequence
        np.testing.assert_allclose(seq.logabsdet(3)[b], s1.logabsdet(3), rtol=1e-13)
        # an unbatched right-hand side broadcasts against the batch
        np.testing.assert_allclose(seq.matmat(5, Xm)[b], s1.matmat(5, Xm), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(seq.rmatmat(5, Xm)[b], s1.rmatmat(5, Xm), rtol=1e-14, atol=1e-15)
    # batched right-hand sides
    Xb = rng.standard_normal((B, cell.n, 3))
    np.testing.assert_allclose(seq.matmat(2, Xb), batch.jacobian(2) @ Xb, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(seq.rmatmat(2, Xb), np.swapaxes(batch.jacobian(2), 1, 2) @ Xb,
                               rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="select"):
        batch.operator()


@pytest.mark.parametrize("cls", CELLS)
def test_qr_exponent_sum_equals_mean_log_determinant(rng, cls):
    """Benettin's QR iteration through matmat only: sum log|R_ii| = sum log|det J_t| exactly.

    For the LSTM this checks the closed form det J_t = det(W_ho) prod(tanh(c_t) sigma'(a_o)) prod(f)
    against a computation that never forms J_t.
    """
    traj = random_run(cls, rng, n=3, d=2, T=60, gain=1.0)
    seq = traj.jacobian_sequence
    Q = np.eye(traj.n)
    total = 0.0
    for t in range(1, seq.steps + 1):
        Q, R = np.linalg.qr(seq.matmat(t, Q))
        total += np.sum(np.log(np.abs(np.diag(R))))
    logdet = sum(float(seq.logabsdet(t)) for t in range(1, seq.steps + 1))
    assert total == pytest.approx(logdet, rel=1e-11, abs=1e-9)


def test_lstm_trajectory_memory_is_linear_in_T(rng):
    n, T = 100, 50
    traj = random_run(spectra.LSTM, rng, n=n, d=2, T=T, gain=1.0)
    seq = traj.jacobian_sequence
    assert isinstance(seq, spectra.LSTMJacobians) and seq.weight_hh is traj.cell.weight_hh
    stored = sum(v.nbytes for v in seq.factors)
    assert stored <= 6 * T * n * 8  # 6n numbers per step, against (2n)^2 for a dense step
    seq_g = random_run(spectra.GRU, rng, n=n, d=2, T=T).jacobian_sequence
    assert sum(v.nbytes for v in seq_g.factors) <= 4 * T * n * 8


@pytest.mark.parametrize("cls", CELLS)
def test_zero_steps_and_float32(rng, cls):
    cell = random_cell(cls, rng, n=3, d=2)
    empty = cell.run(np.zeros((0, 2)), h0=np.ones(cell.n))
    assert empty.steps == 0
    np.testing.assert_array_equal(empty.product(), np.eye(cell.n))
    assert empty.jacobians().shape == (0, cell.n, cell.n)
    c32 = cls(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, dtype=np.float32)
    X = rng.standard_normal((8, 2))
    t32, t64 = c32.run(X), cell.run(X)
    assert t32.states.dtype == np.float32 and t32.jacobian(2).dtype == np.float32
    assert t32.jacobian_sequence.matmat(3, np.eye(cell.n, dtype=np.float32)).dtype == np.float32
    np.testing.assert_allclose(t32.product(), t64.product(), rtol=1e-4, atol=1e-5)


def test_saturated_gates_keep_relative_accuracy():
    """Deep in saturation the factors underflow gracefully instead of cancelling to zero."""
    W_hh = np.zeros((4, 1))
    b = np.array([0.0, -40.0, 0.0, 0.0])  # forget gate f = sigma(-40) ~ 4.2e-18
    cell = spectra.LSTM(None, W_hh, b)
    seq = cell.run(steps=1, h0=np.array([0.0, 1.0])).jacobian_sequence
    np.testing.assert_allclose(seq.matrix(1)[1, 1], np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-14)
    gru = spectra.GRU(None, np.zeros((3, 1)), np.array([0.0, 40.0, 0.0]))
    J = gru.step_jacobian(np.array([0.5]))
    # dh'/dh = z + (h - n) sigma'(a_z) ... with 1 - z = sigma(-40) computed without cancellation
    z = 1 / (1 + np.exp(-40.0))
    np.testing.assert_allclose(J[0, 0], z, rtol=1e-15)


def test_random_is_pytorch_default_initialisation():
    cell = spectra.LSTM.random(16, input_size=5, rng=0)
    k = 1 / np.sqrt(16)
    for W in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh):
        assert np.max(np.abs(W)) <= k
    assert cell.weight_ih.shape == (64, 5) and cell.weight_hh.shape == (64, 16)
    again = spectra.LSTM.random(16, input_size=5, rng=0)
    np.testing.assert_array_equal(cell.weight_hh, again.weight_hh)
    gru = spectra.GRU.random(4, bias=False, gain=2.0, rng=1)
    assert gru.bias_ih is None and gru.input_size == 0
    assert np.max(np.abs(gru.weight_hh)) <= 1.0 and np.max(np.abs(gru.weight_hh)) > 0.5


def test_cells_copy_and_freeze_their_weights(rng):
    W_hh = rng.standard_normal((12, 3))
    cell = spectra.LSTM(None, W_hh)
    W_hh[0, 0] = 100.0
    assert cell.weight_hh[0, 0] != 100.0
    with pytest.raises(ValueError):
        cell.weight_hh[0, 0] = 1.0
    assert repr(cell) == "LSTM(hidden_size=3)"
    assert repr(random_cell(spectra.GRU, rng, n=2, d=5)) == "GRU(hidden_size=2, input_size=5)"


# -- loading state dicts without torch ----------------------------------------------------

def _state(rng, G, n, d, layers=1, bidirectional=False, prefix=""):
    state = {}
    for k in range(layers):
        for suffix in ([""] + (["_reverse"] if bidirectional else [])):
            din = d if k == 0 else n * (2 if bidirectional else 1)
            state[f"{prefix}weight_ih_l{k}{suffix}"] = rng.standard_normal((G * n, din))
            state[f"{prefix}weight_hh_l{k}{suffix}"] = rng.standard_normal((G * n, n))
            state[f"{prefix}bias_ih_l{k}{suffix}"] = rng.standard_normal(G * n)
            state[f"{prefix}bias_hh_l{k}{suffix}"] = rng.standard_normal(G * n)
    return state


@pytest.mark.parametrize("cls,G", [(spectra.LSTM, 4), (spectra.GRU, 3), (spectra.ElmanRNN, 1)])
def test_from_state_dict_picks_layer_direction_and_prefix(rng, cls, G):
    state = _state(rng, G, 3, 2, layers=2, bidirectional=True)
    names = ("W_hh", "W_hx") if cls is spectra.ElmanRNN else ("weight_hh", "weight_ih")
    for layer in (0, 1):
        for reverse in (False, True):
            cell = cls.from_torch(state, layer, reverse=reverse)
            suffix = f"_l{layer}" + ("_reverse" if reverse else "")
            np.testing.assert_array_equal(getattr(cell, names[0]), state["weight_hh" + suffix])
            np.testing.assert_array_equal(getattr(cell, names[1]), state["weight_ih" + suffix])
    if cls is spectra.ElmanRNN:
        cell = cls.from_torch(state)
        np.testing.assert_array_equal(cell.b, state["bias_ih_l0"] + state["bias_hh_l0"])
        assert cell.activation.name == "tanh"
        assert cls.from_torch(state, activation="relu").activation.name == "relu"
    else:
        cell = cls.from_torch(state)
        np.testing.assert_array_equal(cell.bias_hh, state["bias_hh_l0"])
    # a model's state dict nested in a checkpoint, with a prefix
    nested = {"model": {f"encoder.rnn.{k}": v for k, v in state.items()}, "epoch": 3,
              "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}}
    again = cls.from_torch(nested, 1)
    np.testing.assert_array_equal(getattr(again, names[0]), state["weight_hh_l1"])
    # two recurrent modules: the prefix chooses
    both = {**{f"enc.{k}": v for k, v in state.items()},
            **{f"dec.{k}": v + 1 for k, v in state.items()}}
    with pytest.raises(ValueError, match=r"several prefixes \['dec.', 'enc.'\]; pass prefix="):
        cls.from_torch(both)
    dec = cls.from_torch(both, prefix="dec")
    np.testing.assert_array_equal(getattr(dec, names[0]), state["weight_hh_l0"] + 1)


def test_from_state_dict_of_a_cell_module_and_without_biases(rng):
    state = {"weight_ih": rng.standard_normal((8, 3)), "weight_hh": rng.standard_normal((8, 2))}
    cell = spectra.LSTM.from_torch(state)
    assert cell.bias_ih is None and cell.bias_hh is None and cell.hidden_size == 2
    with pytest.raises(ValueError, match="`layer` must be 0 for a single-step cell"):
        spectra.LSTM.from_torch(state, layer=1)
    with pytest.raises(ValueError, match="needs a bidirectional module"):
        spectra.LSTM.from_torch(state, reverse=True)


def test_from_npz_file(rng, tmp_path):
    state = _state(rng, 4, 3, 2, layers=2)
    path = tmp_path / "lstm.npz"
    np.savez(path, **state)
    for source in (path, str(path), spectra.io.load_state_dict(path), np.load(path)):
        cell = spectra.LSTM.from_torch(source, 1)
        np.testing.assert_array_equal(cell.weight_hh, state["weight_hh_l1"])


def _lstm_state(rng, n=2, d=3):
    return {"weight_ih_l0": rng.standard_normal((4 * n, d)), "weight_hh_l0": rng.standard_normal((4 * n, n))}


BAD = [
    ("LSTM weight_hh rows", lambda: spectra.LSTM(None, np.ones((6, 2))), ValueError,
     r"`weight_hh` must have shape \(4n, n\) = \(8, 2\), the i, f, g, o blocks stacked; got shape \(6, 2\)"),
    ("GRU weight_hh rows", lambda: spectra.GRU(None, np.ones((8, 2))), ValueError,
     r"`weight_hh` must have shape \(3n, n\) = \(6, 2\), the r, z, n blocks"),
    ("LSTM weight_hh 1-D", lambda: spectra.LSTM(None, np.ones(8)), ValueError, "`weight_hh` must be a 2-D matrix"),
    ("LSTM weight_hh NaN", lambda: spectra.LSTM(None, np.full((4, 1), np.nan)), ValueError, "`weight_hh` must be finite"),
    ("LSTM weight_hh None", lambda: spectra.LSTM(None, None), TypeError, "`weight_hh`"),
    ("LSTM weight_ih rows", lambda: spectra.LSTM(np.ones((4, 3)), np.ones((8, 2))), ValueError,
     r"`weight_ih` must have shape \(4n, d\) with n = 2 .* 8 rows; got shape \(4, 3\)"),
    ("LSTM weight_ih complex", lambda: spectra.LSTM(np.ones((8, 3)) * 1j, np.ones((8, 2))), TypeError, "`weight_ih` must be real"),
    ("LSTM bias_ih length", lambda: spectra.LSTM(None, np.ones((8, 2)), np.ones(6)), ValueError, "`bias_ih` must have length 8"),
    ("GRU bias_hh length", lambda: spectra.GRU(None, np.ones((6, 2)), None, np.ones(8)), ValueError, "`bias_hh` must have length 6"),
    ("LSTM dtype", lambda: spectra.LSTM(None, np.ones((8, 2)), dtype=np.int32), ValueError, "`dtype` must be float32 or float64"),
    ("LSTM h0 length", lambda: spectra.LSTM(None, np.ones((8, 2))).run(steps=2, h0=np.ones(2)), ValueError,
     r"`h0` must be the state \[h, c\] of length 2n = 4"),
    ("LSTM h0 tuple length", lambda: spectra.LSTM(None, np.ones((8, 2))).run(steps=2, h0=(np.ones(2),)), ValueError,
     r"`h0` as a tuple must be \(h, c\)"),
    ("LSTM h0 c length", lambda: spectra.LSTM(None, np.ones((8, 2))).run(steps=2, h0=(np.ones(2), np.ones(3))), ValueError,
     r"`h0\[1\]` \(c\) must have length 2"),
    ("LSTM h0 parts shapes", lambda: spectra.LSTM(None, np.ones((8, 2))).run(steps=2, h0=(np.ones(2), np.ones((3, 2)))), ValueError,
     "`h0` parts h and c must have the same shape"),
    ("LSTM h0 NaN", lambda: spectra.LSTM(None, np.ones((8, 2))).run(steps=2, h0=(np.ones(2), [np.nan, 0])), ValueError,
     r"`h0\[1\]` must be finite"),
    ("GRU h0 length", lambda: spectra.GRU(None, np.ones((6, 2))).run(steps=2, h0=np.ones(4)), ValueError, "`h0` must have length 2"),
    ("LSTM inputs width", lambda: spectra.LSTM(np.ones((8, 3)), np.ones((8, 2))).run(np.ones((4, 2))), ValueError,
     "`inputs` must have 3 features"),
    ("LSTM jvp length", lambda: spectra.LSTM(None, np.ones((8, 2))).jvp(np.ones(4), np.ones(2)), ValueError, "`v` must have length 4"),
    ("GRU vjp length", lambda: spectra.GRU(None, np.ones((6, 2))).vjp(np.ones(2), np.ones(3)), ValueError, "`u` must have length 2"),
    ("random hidden_size", lambda: spectra.LSTM.random(0), ValueError, "`hidden_size` must be >= 1"),
    ("random gain", lambda: spectra.GRU.random(3, gain=-1.0), ValueError, "`gain` must be in"),
    ("random bias", lambda: spectra.GRU.random(3, bias=1), TypeError, "`bias` must be True or False"),
    ("jacobian t", lambda: spectra.LSTM.random(2, rng=0).run(steps=3).jacobian(4), ValueError, "`t` must be <= 3"),
    # from_torch
    ("from_torch type", lambda: spectra.LSTM.from_torch(42), TypeError,
     "`module_or_state_dict` must be a torch LSTM or LSTMCell module, a state dict"),
    ("from_torch list", lambda: spectra.GRU.from_torch([np.ones(3)]), TypeError, "`module_or_state_dict`"),
    ("from_torch empty", lambda: spectra.LSTM.from_torch({"fc.weight": np.ones((2, 2))}), ValueError,
     r"holds no recurrent-layer weights .* its keys are \['fc.weight'\]"),
    ("from_torch layer", lambda: spectra.LSTM.from_torch(_lstm_state(np.random.default_rng(0)), 1), ValueError,
     r"`layer` must be one of \[0\] \(the module has 1 layer\); got 1"),
    ("from_torch layer negative", lambda: spectra.LSTM.from_torch({}, -1), ValueError, "`layer` must be >= 0"),
    ("from_torch layer float", lambda: spectra.LSTM.from_torch({}, 0.0), TypeError, "`layer` must be an integer"),
    ("from_torch reverse", lambda: spectra.LSTM.from_torch(_lstm_state(np.random.default_rng(0)), reverse=True), ValueError,
     "`reverse=True` needs a bidirectional module; there is no key 'weight_hh_l0_reverse'"),
    ("from_torch reverse type", lambda: spectra.LSTM.from_torch({}, reverse="yes"), TypeError, "`reverse` must be True or False"),
    ("from_torch prefix", lambda: spectra.LSTM.from_torch(_lstm_state(np.random.default_rng(0)), prefix="rnn."), ValueError,
     r"`prefix` 'rnn.' names no recurrent weights; weights were found under the prefixes \[''\]"),
    ("from_torch prefix type", lambda: spectra.LSTM.from_torch({}, prefix=3), TypeError, "`prefix` must be a string"),
    ("from_torch GRU as LSTM", lambda: spectra.LSTM.from_torch({"weight_ih_l0": np.ones((6, 1)), "weight_hh_l0": np.ones((6, 2))}),
     ValueError, r"'weight_hh_l0' has shape \(6, 2\), the layout of nn.GRU \(3n x n\), not of nn.LSTM \(4n x n\)"),
    ("from_torch LSTM as RNN", lambda: spectra.ElmanRNN.from_torch(_lstm_state(np.random.default_rng(0))),
     ValueError, r"the layout of nn.LSTM \(4n x n\), not of nn.RNN \(n x n\)"),
    ("from_torch projections", lambda: spectra.LSTM.from_torch({**_lstm_state(np.random.default_rng(0)), "weight_hr_l0": np.ones((1, 2))}),
     ValueError, r"projections \(proj_size > 0, key 'weight_hr_l0'\) are not supported"),
    ("from_torch missing ih", lambda: spectra.GRU.from_torch({"weight_hh_l0": np.ones((6, 2))}), ValueError,
     "has weight_hh_l0 but no 'weight_ih_l0'"),
    ("from_torch bad array", lambda: spectra.GRU.from_torch({"weight_hh_l0": np.ones((6, 2)), "weight_ih_l0": np.full((6, 1), np.inf)}),
     ValueError, "`weight_ih` must be finite"),
    ("from_torch rnn activation", lambda: spectra.ElmanRNN.from_torch({"weight_hh_l0": np.eye(2), "weight_ih_l0": np.ones((2, 1))}, activation=np.tanh),
     TypeError, "`activation` must be a name or an Activation"),
    ("from_torch missing file", lambda: spectra.LSTM.from_torch("/nonexistent/lstm.npz"), FileNotFoundError, "lstm.npz"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_subnormal_factors_are_stored_as_zeros():
    # sigma(-720) ~ 1e-313 is subnormal: BLAS would crawl over it, and it is 0 to working precision
    cell = spectra.LSTM(None, np.zeros((4, 1)), np.array([0.0, -720.0, 0.0, 0.0]))
    seq = cell.run(steps=2, h0=np.array([0.0, 1.0])).jacobian_sequence
    tiny = np.finfo(np.float64).tiny
    for v in seq.factors:
        assert not np.any((v != 0) & (np.abs(v) < tiny))
    assert seq.matrix(1)[1, 1] == 0.0
    assert seq.logabsdet(1) == -np.inf


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("form_from", [1, 10**9])
def test_factored_and_formed_products_agree(rng, cls, form_from, monkeypatch):
    """matmat/rmatmat switch to formed blocks for many right-hand sides; both paths are exact."""
    from spectra.cells import gated_jacobians as _gated

    monkeypatch.setattr(_gated, "_FORM_FROM", form_from)
    batch = random_run(cls, rng, n=3, d=2, T=5, B=3)
    seq, J = batch.jacobian_sequence, batch.jacobians()
    N = batch.n
    for m in (1, 4):
        X, Xb = rng.standard_normal((N, m)), rng.standard_normal((3, N, m))
        for t in (1, 5):
            np.testing.assert_allclose(seq.matmat(t, X), J[:, t - 1] @ X, rtol=1e-13, atol=1e-14)
            np.testing.assert_allclose(seq.matmat(t, Xb), J[:, t - 1] @ Xb, rtol=1e-13, atol=1e-14)
            Jt = np.swapaxes(J[:, t - 1], 1, 2)
            np.testing.assert_allclose(seq.rmatmat(t, X), Jt @ X, rtol=1e-13, atol=1e-14)
            np.testing.assert_allclose(seq.rmatmat(t, Xb), Jt @ Xb, rtol=1e-13, atol=1e-14)
            one = seq.select(1)
            np.testing.assert_allclose(one.matmat(t, X), J[1, t - 1] @ X, rtol=1e-13, atol=1e-14)
            np.testing.assert_allclose(one.rmatmat(t, X), J[1, t - 1].T @ X, rtol=1e-13, atol=1e-14)


def test_gru_left_products_of_wide_blocks_match_the_factored_path(rng):
    """P J_t for a block of 40 rows (the formed step, one GEMM) against the same rows in
    blocks of 5 (J_t^T through the factored gate product) and a central difference."""
    n = 12
    cell = spectra.GRU.random(n, input_size=3, rng=rng)
    traj = cell.run(rng.standard_normal((6, 3)), h0=0.3 * rng.standard_normal(n))
    seq = traj.jacobian_sequence
    P = rng.standard_normal((40, n))
    for t in (1, 4, 6):
        wide = seq.lmatmat(t, P)
        narrow = np.vstack([seq.lmatmat(t, P[i:i + 5]) for i in range(0, 40, 5)])
        assert relative_error(wide, narrow) < 1e-13
        x = traj.inputs[t - 1]
        J = central_difference_jacobian(lambda h: cell.step(h, x), traj.states[t - 1])
        assert relative_error(wide, P @ J) < 1e-8
