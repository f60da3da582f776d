"""The theory of exploding and vanishing gradients, property-checked.

Each test states a claim of the seed texts (Pascanu, Mikolov & Bengio 2013) and
checks it on hypothesis-generated networks; each can fail.
"""

import math

import numpy as np
from hypothesis import given, settings, strategies as st

import spectra
from spectra import init

finite = dict(allow_nan=False, allow_infinity=False)
TOL = 1e-9  # log-domain slack for rounding


@st.composite
def recurrent_runs(draw, activations=tuple(spectra.available_activations()), max_gain=3.0):
    n = draw(st.integers(1, 8))
    d = draw(st.integers(0, 3))
    T = draw(st.integers(1, 200))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    act = draw(st.sampled_from(activations))
    gain = draw(st.floats(0.05, max_gain))
    kind = draw(st.sampled_from(["elman", "recurrent_first", "leaky"]))
    rng = np.random.default_rng(seed)
    W = init.gaussian(n, gain=gain, rng=rng)
    W_in = init.gaussian(n, d, rng=rng) if d else None
    b = rng.standard_normal(n)
    if kind == "elman":
        cell = spectra.ElmanRNN(W, W_in, b, activation=act)
    elif kind == "recurrent_first":
        cell = spectra.RecurrentFirstRNN(W, W_in, b, activation=act)
    else:
        cell = spectra.LeakyRNN(W, W_in, b, activation=act, alpha=rng.uniform(0, 1, n))
    inputs = rng.standard_normal((T, d)) if d else None
    try:
        traj = cell.run(inputs, h0=rng.standard_normal(n), steps=T)
    except spectra.NumericalError:  # a divergent relu/elu run: the state overflowed
        traj = cell.run(inputs, h0=np.zeros(n), steps=min(T, 5))
    return traj


@given(recurrent_runs())
def test_the_bound_is_never_violated(traj):
    """||dh_t/dh_k|| <= prod max|f'| ||W|| <= (gamma_W gamma_h)^(t-k), at every lag."""
    rep = spectra.bound_report(traj)
    assert np.all(rep.exact <= rep.trajectory + TOL)
    assert np.all(rep.trajectory <= rep.classic + TOL)
    assert np.all(rep.lower <= rep.exact + TOL)


@given(st.integers(1, 40), st.integers(0, 2 ** 32 - 1))
def test_orthogonal_initialisation_has_unit_eigenvalues_and_singular_values(n, seed):
    Q = init.orthogonal(n, rng=seed)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(Q)), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(Q, compute_uv=False), 1.0, atol=1e-12)


@given(st.integers(1, 12), st.integers(1, 200), st.integers(0, 2 ** 32 - 1))
def test_linear_rnn_with_orthogonal_W_preserves_gradient_norm(n, T, seed):
    cell = spectra.ElmanRNN(init.orthogonal(n, rng=seed), activation="identity")
    prof = spectra.gradient_norm_profile(cell.run(steps=T))
    np.testing.assert_allclose(prof.log_norms, 0.0, atol=1e-11)
    assert spectra.regime(cell).regime == "undetermined"


@given(recurrent_runs(activations=("sigmoid",), max_gain=1.0), st.floats(0.05, 3.99))
def test_sigmoid_networks_with_gamma_W_below_4_vanish(traj, target):
    """gamma_W < 4 = 1/gamma_h: the products vanish at least like (gamma_W / 4)^lag.

    (For leaky units with a scalar alpha the per-step factor is alpha + (1 - alpha) gamma_W / 4
    < 1; with per-unit alpha the 2-norm bound max(alpha) + (1 - min(alpha)) gamma_W / 4 can
    exceed 1, and the claim is not made.)
    """
    cell = traj.cell
    W = cell._W * (target / spectra.gamma_W(cell))          # gamma_W = target < 4
    cls = type(cell)
    kwargs = {"alpha": float(np.mean(cell.alpha))} if isinstance(cell, spectra.LeakyRNN) else {}
    cell = cls(W, cell._W_in, cell._b, activation="sigmoid", **kwargs)
    traj = cell.run(traj.inputs, h0=traj.states[0], steps=traj.steps)
    rep = spectra.bound_report(traj, eps=1e-6)
    per_step = math.log(spectra.leaky_bound(cell) if kwargs else target / 4)
    assert per_step < 0
    assert np.all(rep.exact <= rep.lags * per_step + TOL)
    assert spectra.regime(cell).regime == "vanishing guaranteed"
    # past the closed-form horizon every product is below eps
    h = spectra.horizon(cell, eps=1e-6) if not kwargs else math.ceil(math.log(1e-6) / per_step)
    assert np.all(rep.exact[h - 1:] < math.log(1e-6))


@st.composite
def diagonalisable(draw):
    """W = S Lam S^-1 with a known spectrum, possibly led by a complex pair."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    n_real = draw(st.integers(0, 3))
    n_pairs = draw(st.integers(0, 2))
    if n_real + n_pairs == 0:
        n_real = 1
    blocks, moduli = [], []
    for _ in range(n_real):
        lam = draw(st.floats(0.1, 1.5)) * draw(st.sampled_from([-1.0, 1.0]))
        blocks.append(np.array([[lam]]))
        moduli.append(abs(lam))
    for _ in range(n_pairs):
        r, th = draw(st.floats(0.1, 1.5)), draw(st.floats(0.1, 3.0))
        blocks.append(r * np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]]))
        moduli += [r, r]
    n = sum(b.shape[0] for b in blocks)
    Lam = np.zeros((n, n))
    i = 0
    for b in blocks:
        Lam[i:i + len(b), i:i + len(b)] = b
        i += len(b)
    S = np.eye(n) + draw(st.floats(0.0, 0.5)) * rng.standard_normal((n, n))
    return S @ Lam @ np.linalg.inv(S), S, max(moduli)


@given(diagonalisable(), st.integers(1, 150))
@settings(max_examples=60)
def test_linear_rnn_products_scale_like_the_leading_eigenvalue(system, T):
    """The seed's eigenvalue argument: ||W^L|| ~ |lambda_1|^L, complex lambda_1 included.

    Exactly: |lambda_1|^L = rho(W^L) <= ||W^L|| <= cond(S) |lambda_1|^L for W = S Lam S^-1
    with Lam block-diagonal of scaled rotations (each block's norm is its modulus).
    """
    W, S, lam1 = system
    prof = spectra.gradient_norm_profile(spectra.ElmanRNN(W, activation="identity").run(steps=T))
    excess = prof.log_norms - prof.lags * math.log(lam1)
    assert np.all(excess >= -1e-8)
    assert np.all(excess <= math.log(np.linalg.cond(S)) + 1e-8)
    # hence the growth rate converges: |log||W^L|| / L - log|lambda_1|| <= log cond(S) / L
    rate = prof.log_norms / prof.lags
    assert np.all(np.abs(rate - math.log(lam1)) <= (math.log(np.linalg.cond(S)) + 1e-8) / prof.lags)
