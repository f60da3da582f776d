"""A TorchCell's gradient-norm profile from chunked torch passes, and its step Jacobians
formed a block of steps at a time (Lyapunov spectra).

Independent truth: the closed-form Jacobians diag(1 - h_s^2) W of a tanh step at the
stored states (their products and per-lag SVDs), ``torch.autograd.functional.jacobian``
of the unrolled run, and closed forms (a scaled orthogonal step h -> e^x Q h, whose
products are e^(sum x) Q^lag exactly).  Every new branch is forced by a test that
fails when it is disabled.
"""

import numpy as np
import pytest

import spectra

torch = pytest.importorskip("torch")

from spectra.cells.torch_cell import _TorchStepBackend  # noqa: E402
from _helpers import torch_tanh_step  # noqa: E402


def _tanh_cell(n, m, gain=1.2, seed=0):
    step, W = torch_tanh_step(n, m, gain=gain, seed=seed)
    return spectra.TorchCell(step, n, input_size=m), W


def _analytic_profile(W, states, t, ord):
    """log ||J_t ... J_{t-lag+1}|| for lag = 1..t, J_s = diag(1 - h_s^2) W, by SVD or sum."""
    P = np.eye(W.shape[0])
    out = []
    for s in range(t, 0, -1):
        P = P @ ((1 - states[s] ** 2)[:, None] * W)
        out.append(np.log(np.linalg.norm(P, 2 if ord == 2 else "fro")))
    return np.array(out)


def _no_step_by_step(monkeypatch):
    """Make the per-step vjp path fail, so a test passes only through the chunked hook."""
    def refuse(*a, **k):
        raise AssertionError("the profile went step by step")

    monkeypatch.setattr(_TorchStepBackend, "vjp", refuse)


@pytest.mark.parametrize("ord", [2, "fro"])
@pytest.mark.parametrize("chunk_bytes", [None, 3 * 8 * 64])
def test_profile_matches_the_analytic_products(ord, chunk_bytes, monkeypatch):
    # default chunks (the whole run at once here) and chunks of 3 steps (n = 8: 8 n^2 = 512
    # bytes per product), so the lags cross many chunk boundaries
    if chunk_bytes is not None:
        monkeypatch.setattr(_TorchStepBackend, "PROFILE_BYTES", chunk_bytes)
    _no_step_by_step(monkeypatch)
    n, m, T = 8, 3, 70
    cell, W = _tanh_cell(n, m)
    traj = cell.run(np.random.default_rng(1).standard_normal((T, m)), h0=0.2 * np.ones(n))
    for t in (T, 41):
        prof = spectra.gradient_norm_profile(traj, t=t, ord=ord)
        ref = _analytic_profile(W, traj.states, t, ord)
        assert prof.lags.tolist() == list(range(1, t + 1))
        assert np.max(np.abs(prof.log_norms - ref)) < 1e-10


def test_profile_matches_autograd_of_the_unrolled_run(monkeypatch):
    monkeypatch.setattr(_TorchStepBackend, "PROFILE_BYTES", 5 * 8 * 36)   # chunks of 5 steps
    _no_step_by_step(monkeypatch)
    n, m, T = 6, 2, 40
    rng = np.random.default_rng(2)
    W, U = torch.tensor(rng.standard_normal((n, n)) / 2), torch.tensor(rng.standard_normal((n, m)))

    def plrnn(h, x):                       # piecewise linear, no closed-form tanh
        return 0.9 * h + W @ torch.relu(h) + U @ x

    X = rng.standard_normal((T, m))
    traj = spectra.TorchCell(plrnn, n, input_size=m).run(X)
    p2 = spectra.gradient_norm_profile(traj).log_norms
    pf = spectra.gradient_norm_profile(traj, ord="fro").log_norms
    Xt = torch.tensor(X)
    for lag in (1, 4, 5, 6, 17, T):
        s = T - lag

        def unrolled(z):
            for i in range(s, T):
                z = plrnn(z, Xt[i])
            return z

        J = torch.autograd.functional.jacobian(unrolled, torch.tensor(traj.states[s])).numpy()
        assert abs(p2[lag - 1] - np.log(np.linalg.norm(J, 2))) < 1e-10
        assert abs(pf[lag - 1] - np.log(np.linalg.norm(J))) < 1e-10


def _rotation_cell(n, seed=5):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    Qt = torch.tensor(Q)
    return spectra.TorchCell(lambda h, x: torch.exp(x[0]) * x[1] * (Qt @ h), n, input_size=2)


def _closed_form(X, t, n, ord):
    """log ||dh_t/dh_{t-lag}|| of h -> e^{x0} x1 Q h: sum of x0 + log|x1| over the lag,
    plus log ||Q^lag|| (0 spectral, log sqrt(n) Frobenius)."""
    with np.errstate(divide="ignore"):
        per = X[:t, 0] + np.log(np.abs(X[:t, 1]))
    out = np.cumsum(per[::-1])
    return out + (0.0 if ord == 2 else 0.5 * np.log(n))


@pytest.mark.parametrize("ord", [2, "fro"])
def test_chunks_shorten_where_the_products_leave_float64(ord, monkeypatch):
    # 60 steps of e^14, then 60 of e^-14: pulled back through 128 steps at once the
    # products fall to e^-840 ~ 2^-1212 (out of range), so the chunks must shorten; then
    # they grow again through the e^14 half
    _no_step_by_step(monkeypatch)
    n, T = 4, 120
    cell = _rotation_cell(n)
    X = np.stack([np.concatenate([np.full(60, 14.0), np.full(60, -14.0)]), np.ones(T)], 1)
    traj = cell.run(X, h0=np.full(n, 1e-300))
    prof = spectra.gradient_norm_profile(traj, ord=ord).log_norms
    ref = _closed_form(X, T, n, ord)
    assert np.max(np.abs(prof - ref) / np.maximum(1.0, np.abs(ref))) < 1e-12
    assert prof.min() < -800 * np.log(2)               # the span really left float64


@pytest.mark.parametrize("ord", [2, "fro"])
def test_a_single_step_out_of_range_is_rescaled_by_itself(ord, monkeypatch):
    # one step multiplies by e^700 ~ 2^1010: its product alone has a squared norm beyond
    # 2^1000, so even a one-step chunk is out of range and is rescaled by its own power of 2
    _no_step_by_step(monkeypatch)
    n = 4
    cell = _rotation_cell(n)
    x0 = np.concatenate([np.full(30, -14.0), [700.0], np.full(30, -14.0)])
    X = np.stack([x0, np.ones(61)], 1)
    traj = cell.run(X, h0=np.ones(n))
    prof = spectra.gradient_norm_profile(traj, ord=ord).log_norms
    ref = _closed_form(X, 61, n, ord)
    assert np.max(np.abs(prof - ref) / np.maximum(1.0, np.abs(ref))) < 1e-12
    assert np.max(np.abs(prof[30:] - ref[30:])) < 1e-10


@pytest.mark.parametrize("ord", [2, "fro"])
def test_an_exactly_zero_product_ends_the_profile(ord, monkeypatch):
    # step 25 multiplies by 0: every lag reaching back past it is exactly zero (-inf)
    _no_step_by_step(monkeypatch)
    n, T = 4, 50
    cell = _rotation_cell(n)
    x1 = np.full(T, 0.5)
    x1[24] = 0.0
    X = np.stack([np.zeros(T), x1], 1)
    traj = cell.run(X, h0=np.ones(n))
    prof = spectra.gradient_norm_profile(traj, ord=ord).log_norms
    ref = _closed_form(X, T, n, ord)
    assert np.all(np.isneginf(prof[T - 25:])) and np.all(np.isneginf(ref[T - 25:]))
    assert np.max(np.abs(prof[:T - 25] - ref[:T - 25])) < 1e-12


def test_a_non_finite_step_derivative_is_reported(monkeypatch):
    # sqrt(|h|) at h = 0: the value is 0, its derivative is not finite
    _no_step_by_step(monkeypatch)
    cell = spectra.TorchCell(lambda h, x: torch.sqrt(torch.abs(h)), 3)
    traj = cell.run(steps=5)
    with pytest.raises(spectra.NumericalError, match="not finite"):
        spectra.gradient_norm_profile(traj, ord="fro")


def test_a_step_that_does_not_recompute_its_states_is_linearised_at_the_stored_ones(monkeypatch):
    # fresh noise of size 1e-6 on every call: the chunk's recomputed states differ from the
    # stored ones, so the pass linearises at the stored states (the analytic truth there)
    monkeypatch.setattr(_TorchStepBackend, "PROFILE_BYTES", 7 * 8 * 36)
    _no_step_by_step(monkeypatch)
    n, m, T = 6, 2, 45
    rng = np.random.default_rng(6)
    W = 1.1 * rng.standard_normal((n, n)) / np.sqrt(n)
    U = rng.standard_normal((n, m))
    Wt, Ut = torch.tensor(W), torch.tensor(U)
    g = torch.Generator().manual_seed(0)
    drawn = []

    def noisy(h, x):
        noise = 1e-6 * torch.randn(h.shape, generator=g, dtype=torch.float64)
        drawn.append(noise.clone())
        return torch.tanh(Wt @ h + Ut @ x) + noise

    cell = spectra.TorchCell(noisy, n, input_size=m)
    drawn.clear()
    traj = cell.run(rng.standard_normal((T, m)))
    pre = traj.states.copy()
    pre[1:] -= np.array([d.numpy() for d in drawn[:T]])     # tanh(W h + U x) at every step
    for ord in (2, "fro"):
        prof = spectra.gradient_norm_profile(traj, ord=ord).log_norms
        assert np.max(np.abs(prof - _analytic_profile(W, pre, T, ord))) < 1e-10


def test_batched_runs_and_vector_profiles_keep_the_step_by_step_path():
    n, m, T = 5, 2, 30
    cell, W = _tanh_cell(n, m, seed=7)
    traj = cell.run(np.random.default_rng(8).standard_normal((2, T, m)))
    assert traj.jacobian_sequence.left_products() is None          # batched: no hook
    prof = spectra.gradient_norm_profile(traj).log_norms
    for b in range(2):
        one = spectra.gradient_norm_profile(traj.select(b)).log_norms   # the hook
        assert np.max(np.abs(prof[b] - one)) < 1e-12
        assert np.max(np.abs(one - _analytic_profile(W, traj.states[b], T, 2))) < 1e-10


# -- step Jacobians a block of steps at a time ------------------------------------------

def _count_calls(monkeypatch):
    calls = {"jacobian": 0, "jacobians": 0}
    for name in calls:
        orig = getattr(_TorchStepBackend, name)

        def counted(self, *a, _orig=orig, _name=name):
            calls[_name] += 1
            return _orig(self, *a)

        monkeypatch.setattr(_TorchStepBackend, name, counted)
    return calls


def test_sweeps_form_the_step_jacobians_in_blocks(monkeypatch):
    calls = _count_calls(monkeypatch)
    n, m, T = 8, 2, 100
    cell, W = _tanh_cell(n, m, seed=9)
    traj = cell.run(np.random.default_rng(10).standard_normal((T, m)))
    seq = traj.jacobian_sequence
    for order in (range(1, T + 1), range(T, 0, -1)):        # forward and backward sweeps
        for t in order:
            J = seq.matrix(t)
            ref = (1 - traj.states[t] ** 2)[:, None] * W
            assert np.max(np.abs(J - ref)) < 1e-15
    # 32 steps per block at n = 8: 4 blocks forward (after one lone J_1), 3 more backward
    # (the last block is still held)
    assert calls["jacobians"] == 7 and calls["jacobian"] == 1
    lone = seq.matrix(50)                                   # not next to the last: no block
    assert calls["jacobian"] == 2 and lone.flags.writeable


def test_a_step_that_vmap_cannot_batch_falls_back_to_one_jacobian_per_step():
    n, T = 5, 20
    rng = np.random.default_rng(11)
    W = rng.standard_normal((n, n)) / np.sqrt(n)
    Wt = torch.tensor(W)

    def step(h, x):
        if float(h.detach().sum()) > 1e9:  # data-dependent Python control flow
            return h
        return torch.tanh(Wt @ h)

    traj = spectra.TorchCell(step, n).run(steps=T, h0=rng.standard_normal(n))
    seq = traj.jacobian_sequence
    Js = np.stack([seq.matrix(t) for t in range(1, T + 1)])
    assert seq.backend._no_vmap
    ref = (1 - traj.states[1:] ** 2)[:, :, None] * W
    assert np.max(np.abs(Js - ref)) < 1e-15


@pytest.mark.parametrize("reorth", [1, 3])
def test_lyapunov_spectrum_matches_the_analytic_jacobians(reorth, monkeypatch):
    # n = 64: the compact-WY path, which reads every step Jacobian through matrix(s)
    calls = _count_calls(monkeypatch)
    n, m, T = 64, 3, 120
    rng = np.random.default_rng(12)
    W = 1.3 * rng.standard_normal((n, n)) / np.sqrt(n)
    U = rng.standard_normal((n, m)) / np.sqrt(m)
    Wt, Ut = torch.tensor(W), torch.tensor(U)
    X = rng.standard_normal((T, m))
    traj = spectra.TorchCell(lambda h, x: torch.tanh(Wt @ h + Ut @ x), n, input_size=m).run(X)
    ref = spectra.ElmanRNN(W, U).run(X)
    a = spectra.lyapunov_spectrum(traj, reorth_every=reorth)
    b = spectra.lyapunov_spectrum(ref, reorth_every=reorth)
    # the exponents' sum is the mean log|det J_s| of the analytic Jacobians (exact identity)
    logdet = np.mean([np.linalg.slogdet((1 - ref.states[s] ** 2)[:, None] * W)[1]
                      for s in range(1, T + 1)])
    # (within the rounding error the result reports: ~1e-12 with a QR every step, ~1e-6 for
    # the weakest exponent with a QR every 3 steps at this spread of ~5.5 per step)
    assert abs(a.exponents.sum() - logdet) <= 1e-10 + 50 * a.roundoff.sum()
    assert np.all(np.abs(a.exponents - b.exponents) <= 1e-12 + 50 * (a.roundoff + b.roundoff))
    if reorth == 1:
        assert np.max(np.abs(a.exponents - b.exponents)) < 1e-10
        assert abs(a.exponents.sum() - logdet) < 1e-10
    assert calls["jacobians"] == 4 and calls["jacobian"] == 1   # 32 steps per block at n = 64


def test_small_lyapunov_spectra_and_singular_values_use_the_blocks(monkeypatch):
    # n = 8 (below the compact-WY size): the frame is pushed by matmat, which takes J_s from
    # the sweep's block for a wide frame
    calls = _count_calls(monkeypatch)
    n, m, T = 8, 2, 64
    rng = np.random.default_rng(13)
    W = 1.5 * rng.standard_normal((n, n)) / np.sqrt(n)
    U = rng.standard_normal((n, m))
    Wt, Ut = torch.tensor(W), torch.tensor(U)
    X = rng.standard_normal((T, m))
    traj = spectra.TorchCell(lambda h, x: torch.tanh(Wt @ h + Ut @ x), n, input_size=m).run(X)
    ref = spectra.ElmanRNN(W, U).run(X)
    a = spectra.lyapunov_spectrum(traj, reorth_every=1)
    b = spectra.lyapunov_spectrum(ref, reorth_every=1)
    assert np.max(np.abs(a.exponents - b.exponents)) < 1e-10
    assert calls["jacobians"] == 2 and calls["jacobian"] == 1      # 32 steps per block
    sv = spectra.product_log_singular_values(traj, t=50, k=10)
    ref_sv = spectra.product_log_singular_values(ref, t=50, k=10)    # analytic Jacobians
    assert np.max(np.abs(sv - ref_sv) / np.maximum(1.0, np.abs(ref_sv))) < 1e-10
    top = np.log(np.linalg.svd(ref.product(50, 10), compute_uv=False))[:2]   # resolvable
    assert np.max(np.abs(sv[:2] - top)) < 1e-10
