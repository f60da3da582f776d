"""Non-normality: measures, field of values, transient growth, Kreiss constant, pseudospectra.

Independent truth: closed forms (Jordan blocks, normal matrices, the 2 x 2 example of the
issue), high-precision maximisation with mpmath, dense SVDs and dense eigenvalue scans,
explicit matrix powers, and the theorems that tie the quantities together (Kreiss matrix
theorem, Trefethen-Embree pseudospectral bound, power inequality, Gelfand's formula).
"""

import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import spectra
from spectra.linalg import fieldofvalues as fovmod
from spectra.linalg import pseudospectra as psmod
from spectra.linalg.resolvent import schur_complex

EPS = np.finfo(float).eps
A2 = np.array([[0.5, 10.0], [0.0, 0.5]])      # the example of the issue


# ---------------------------------------------------------------------------------------
# test matrices


def normal_matrix(rng, n, radius=None):
    """Q D Q^T with D block diagonal (real eigenvalues and normal 2 x 2 rotation-scalings)."""
    D = np.zeros((n, n))
    i = 0
    while i < n:
        if i + 1 < n and rng.random() < 0.6:
            a, b = rng.uniform(-1, 1, 2)
            D[i:i + 2, i:i + 2] = [[a, b], [-b, a]]
            i += 2
        else:
            D[i, i] = rng.uniform(-1, 1)
            i += 1
    if radius is not None:
        D *= radius / max(np.max(np.abs(np.linalg.eigvals(D))), 1e-300)
    Q = spectra.init.orthogonal(n, rng=rng)
    return Q @ D @ Q.T


def jordan(n, a, s=1.0):
    return a * np.eye(n) + s * np.eye(n, k=1)


def dense_powers_log_norms(W, steps):
    """Reference: explicit powers with an external scale (float64 products, normalised)."""
    out = [0.0]
    P = np.eye(W.shape[0])
    logscale = 0.0
    for _ in range(steps):
        P = W @ P
        m = np.max(np.abs(P))
        if m == 0:
            out.append(-np.inf)
            continue
        P /= m
        logscale += math.log(m)
        out.append(math.log(np.linalg.norm(P, 2)) + logscale)
    return np.array(out)


seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------
# measures


def test_two_by_two_example_measures():
    m = spectra.nonnormality(A2)
    assert m.spectral_radius == 0.5 and m.spectral_abscissa == 0.5
    assert m.spectral_norm == pytest.approx((10 + math.sqrt(101)) / 2, rel=1e-15)
    assert m.numerical_radius == pytest.approx(5.5, rel=1e-14)      # |a| + |b|/2
    assert m.numerical_abscissa == pytest.approx(5.5, rel=1e-14)
    assert m.henrici == pytest.approx(10.0, rel=1e-14)
    assert m.henrici_relative == pytest.approx(10 / math.sqrt(100.5), rel=1e-14)
    assert m.commutator == pytest.approx(100 * math.sqrt(2), rel=1e-14)
    assert m.eigenvector_condition > 1e10            # defective: V is (nearly) singular


@settings(max_examples=25)
@given(seed=seeds, n=st.integers(1, 8))
def test_henrici_is_the_strictly_upper_part_of_any_schur_form(seed, n):
    # W = Q T Q^T with T upper triangular, real diagonal: dep_F = ||triu(T, 1)||_F
    rng = np.random.default_rng(seed)
    T = np.triu(rng.standard_normal((n, n)) * rng.uniform(0, 3))
    Q = spectra.init.orthogonal(n, rng=rng)
    W = Q @ T @ Q.T
    expected = np.linalg.norm(np.triu(T, 1))
    assert spectra.henrici_departure(W) == pytest.approx(expected, rel=1e-10, abs=1e-13 * max(1, np.linalg.norm(T)))


@settings(max_examples=30)
@given(seed=seeds, n=st.integers(1, 7), scale=st.floats(0.01, 100))
def test_henrici_inequality(seed, n, scale):
    # Henrici (1962): dep_F(W)^2 <= sqrt((n^3 - n) / 12) ||W^T W - W W^T||_F
    rng = np.random.default_rng(seed)
    W = scale * rng.standard_normal((n, n)) * rng.uniform(0, 2, (n, n)) ** 3
    m = spectra.nonnormality(W)
    assert m.henrici ** 2 <= math.sqrt((n ** 3 - n) / 12) * m.commutator * (1 + 1e-9) + 1e-13 * scale ** 2
    assert 0.0 <= m.henrici_relative <= 1.0 + 1e-12


@settings(max_examples=30)
@given(seed=seeds, n=st.integers(1, 9))
def test_normal_matrices_are_normal_by_every_measure(seed, n):
    rng = np.random.default_rng(seed)
    W = normal_matrix(rng, n)
    m = spectra.nonnormality(W)
    tol = 1e-12 * max(1.0, m.spectral_norm)
    assert m.henrici <= tol * n and m.commutator <= tol * n
    assert m.numerical_radius == pytest.approx(m.spectral_radius, abs=tol)
    assert m.spectral_norm == pytest.approx(m.spectral_radius, abs=tol)
    # eigenvector condition: 1 up to the eigenvalues' separation (repeated eigenvalues
    # make V non-unique, so only check well separated spectra)
    ev = np.linalg.eigvals(W)
    gaps = np.abs(ev[:, None] - ev[None, :]) + np.eye(n)
    if np.min(gaps) > 1e-3:
        assert m.eigenvector_condition == pytest.approx(1.0, abs=1e-9 / np.min(gaps))


def test_eigenvector_condition_closed_form():
    # [[a, b], [0, c]]: unit eigenvectors (1, 0) and (b, c - a)/norm at angle phi:
    # kappa = sqrt((1 + |cos phi|) / (1 - |cos phi|))
    for a, b, c in [(0.5, 1.0, 0.4), (0.0, 3.0, 1.0), (-0.2, 0.01, 0.3)]:
        cos = abs(b) / math.hypot(b, c - a)
        expected = math.sqrt((1 + cos) / (1 - cos))
        assert spectra.eigenvector_condition([[a, b], [0, c]]) == pytest.approx(expected, rel=1e-9)


@settings(max_examples=40)
@given(a=st.floats(-3, 3), b=st.floats(-30, 30))
def test_numerical_radius_of_two_by_two_jordan(a, b):
    W = [[a, b], [0.0, a]]
    scale = abs(a) + abs(b) + 1e-300
    assert spectra.numerical_radius(W) == pytest.approx(abs(a) + abs(b) / 2, rel=1e-13, abs=1e-15 * scale)
    assert spectra.numerical_abscissa(W) == pytest.approx(a + abs(b) / 2, rel=1e-13, abs=1e-14 * scale)


def test_numerical_radius_of_shift_matrix():
    # r(S_n) = cos(pi / (n + 1)) for the n x n shift (Haagerup & de la Harpe 1992)
    for n in (2, 3, 5, 10, 25):
        assert spectra.numerical_radius(np.eye(n, k=1)) == pytest.approx(math.cos(math.pi / (n + 1)), rel=1e-13)


def _brute_numerical_radius(W, m=2048):
    """Dense scan of lambda_max of the rotated Hermitian part, with golden refinement."""
    from scipy.optimize import minimize_scalar

    S, K = (W + W.T) / 2, (W - W.T) / 2
    f = lambda t: np.linalg.eigvalsh(np.cos(t) * S + 1j * np.sin(t) * K)[-1]
    th = np.linspace(0, 2 * np.pi, m, endpoint=False)
    vals = np.array([f(t) for t in th])
    best = vals.max()
    h = th[1]
    for i in np.argsort(vals)[::-1][:5]:
        res = minimize_scalar(lambda t: -f(t), bounds=(th[i] - h, th[i] + h), method="bounded",
                              options={"xatol": 1e-13})
        best = max(best, -res.fun)
    return best


@settings(max_examples=15)
@given(seed=seeds, n=st.integers(2, 12), coupling=st.floats(0, 4))
def test_numerical_radius_matches_dense_scan(seed, n, coupling):
    W = spectra.random_nonnormal(n, spectral_radius=0.9, coupling=coupling, rng=seed)
    r = spectra.numerical_radius(W)
    assert r == pytest.approx(_brute_numerical_radius(W), rel=1e-11)


def test_level_set_climbs_from_a_local_to_the_global_maximum():
    # support function of this matrix: max(0.3 cos t + 1.5, 2 cos(t + 2.5)), i.e. a local
    # maximum 1.8 at t = 0 (the Jordan block) and the global maximum 2 at t = +-2.5 (the
    # eigenvalue of modulus 2); started at the local maximum, the level-set iteration must
    # find the global one
    lam = 2.0 * np.exp(2.5j)
    W = np.zeros((4, 4))
    W[:2, :2] = [[lam.real, lam.imag], [-lam.imag, lam.real]]
    W[2:, 2:] = [[0.3, 3.0], [0.0, 0.3]]
    S, K = (W + W.T) / 2, (W - W.T) / 2
    f0 = float(fovmod.support(S, K, [0.0])[0])
    assert f0 == pytest.approx(1.8, rel=1e-14)
    r, theta = fovmod.level_set_climb(W, S, K, 0.0, f0)
    assert r == pytest.approx(2.0, rel=1e-14)
    assert math.cos(theta + 2.5) == pytest.approx(1.0, abs=1e-10) or math.cos(theta - 2.5) == pytest.approx(1.0, abs=1e-10)
    # at the maximum the level set has no arc above it: a second call changes nothing
    assert fovmod.level_set_climb(W, S, K, theta, r)[0] == r
    assert spectra.numerical_radius(W) == pytest.approx(2.0, rel=1e-14)
    with pytest.raises(spectra.ConvergenceError, match="level-set"):
        fovmod.level_set_climb(W, S, K, 0.0, f0, max_iter=0)


@settings(max_examples=30)
@given(seed=seeds, n=st.integers(1, 8), coupling=st.floats(0, 3), radius=st.floats(0.05, 1.5))
def test_numerical_radius_inequalities_and_power_inequality(seed, n, coupling, radius):
    W = spectra.random_nonnormal(n, spectral_radius=radius, coupling=coupling, rng=seed)
    m = spectra.nonnormality(W)
    tol = 1e-12 * max(1.0, m.spectral_norm)
    # rho <= r <= ||W|| <= 2 r  and  omega <= r
    assert m.spectral_radius <= m.numerical_radius + tol
    assert m.numerical_radius <= m.spectral_norm + tol
    assert m.spectral_norm <= 2 * m.numerical_radius + tol
    assert m.numerical_abscissa <= m.numerical_radius + tol
    # power inequality r(W^t) <= r(W)^t, hence ||W^t|| <= 2 r(W)^t
    r = m.numerical_radius
    g = spectra.transient_growth(W, steps=6)
    for t in (2, 3, 5):
        rt = spectra.numerical_radius(np.linalg.matrix_power(W, t))
        assert rt <= r ** t * (1 + 1e-10) + tol
        assert g.norms[t] <= 2 * r ** t * (1 + 1e-10) + tol


def test_field_of_values_boundary_and_support():
    W = spectra.random_nonnormal(7, spectral_radius=0.8, coupling=2.0, rng=3)
    fov = spectra.field_of_values(W, points=400)
    # each boundary point lies on its supporting line Re(e^{i t} z) = support(t)
    rot = (np.exp(1j * fov.angles) * fov.boundary).real
    np.testing.assert_allclose(rot, fov.support, atol=1e-12)
    # eigenvalues lie inside every supporting half-plane
    lhs = (np.exp(1j * fov.angles)[:, None] * fov.eigenvalues[None, :]).real
    assert np.all(lhs <= fov.support[:, None] + 1e-12)
    assert np.max(np.abs(fov.boundary)) <= fov.numerical_radius + 1e-12
    assert np.max(np.abs(fov.boundary)) >= fov.numerical_radius * (1 - 1e-3)
    assert fov.numerical_abscissa == pytest.approx(fov.support[0], abs=1e-13)
    json.dumps(fov.to_dict())


def test_field_of_values_of_a_normal_matrix_is_the_hull_of_its_spectrum(rng):
    W = normal_matrix(rng, 6)
    fov = spectra.field_of_values(W, points=64)
    ev = np.linalg.eigvals(W)
    hull_support = np.max((np.exp(1j * fov.angles)[:, None] * ev[None, :]).real, axis=1)
    np.testing.assert_allclose(fov.support, hull_support, atol=1e-13)


def test_step_nonnormality_matches_per_step_measures():
    W = spectra.random_nonnormal(5, spectral_radius=0.9, coupling=1.5, rng=1)
    traj = spectra.ElmanRNN(W, activation="tanh").run(steps=4, h0=np.full(5, 0.5))
    sn = spectra.step_nonnormality(traj)
    assert sn.t.tolist() == [1, 2, 3, 4] and sn.n == 5
    for t in (1, 4):
        one = spectra.nonnormality(traj.jacobian(t))
        for key in ("spectral_radius", "numerical_radius", "henrici", "commutator", "eigenvector_condition"):
            assert getattr(sn, key)[t - 1] == pytest.approx(getattr(one, key), rel=1e-12)
    # the same from a (T, n, n) array and a list of matrices
    sn2 = spectra.step_nonnormality(traj.jacobians())
    np.testing.assert_allclose(sn2.henrici, sn.henrici, rtol=1e-12)
    sn3 = spectra.step_nonnormality(list(traj.jacobians()))
    np.testing.assert_allclose(sn3.numerical_radius, sn.numerical_radius, rtol=1e-12)
    json.dumps(sn.to_dict())


# ---------------------------------------------------------------------------------------
# transient growth


def test_two_by_two_example_power_norms():
    g = spectra.transient_growth(A2, steps=70)
    t = g.t
    p, q = 0.5 ** t, 10.0 * t * 0.5 ** np.maximum(t - 1, 0)
    exact = (q + np.sqrt(q ** 2 + 4 * p ** 2)) / 2              # ||[[p, q], [0, p]]||_2
    np.testing.assert_allclose(g.norms, exact, rtol=1e-13)
    assert g.norms[5] == pytest.approx(3.1253, abs=1e-4)
    assert int(np.argmax(g.norms < 1e-15)) == 61                  # "near t = 60"
    assert g.spectral_radius == 0.5
    np.testing.assert_allclose(g.rho_powers, 0.5 ** t, rtol=1e-13)
    np.testing.assert_allclose(g.norm_powers, g.spectral_norm ** t, rtol=1e-12)
    json.dumps(g.to_dict())


@pytest.mark.parametrize("n,a,s", [(3, 0.5, 1.0), (6, 0.9, 0.7), (10, -0.8, 2.0)])
def test_jordan_block_power_norms_against_binomial_closed_form(n, a, s):
    g = spectra.transient_growth(jordan(n, a, s), steps=120)
    for t in (0, 1, 7, 40, 120):
        P = np.zeros((n, n))
        for k in range(min(t, n - 1) + 1):
            P += math.comb(t, k) * s ** k * a ** (t - k) * np.eye(n, k=k)
        assert g.log_norms[t] == pytest.approx(math.log(np.linalg.norm(P, 2)), abs=1e-12)


@settings(max_examples=30)
@given(seed=seeds, n=st.integers(1, 8), radius=st.one_of(st.just(0.0), st.floats(1e-3, 1.0)))
def test_normal_matrices_have_no_transient_growth(seed, n, radius):
    rng = np.random.default_rng(seed)
    W = normal_matrix(rng, n, radius=radius)
    g = spectra.transient_growth(W, steps=30)
    rho = g.spectral_radius
    if rho > 0:
        assert np.all(np.abs(g.log_norms - g.t * math.log(rho)) <= 1e-11 * (1 + g.t))
    assert g.peak == pytest.approx(1.0, abs=1e-12)
    if rho < 1 - 1e-9:              # at rho = 1 rounding decides where the (flat) peak is
        assert g.peak_step == 0
    assert spectra.kreiss_constant(W).value == 1.0


@settings(max_examples=25)
@given(seed=seeds, n=st.integers(1, 7), coupling=st.floats(0, 4), radius=st.floats(0.05, 0.97))
def test_certified_peak_is_the_supremum(seed, n, coupling, radius):
    W = spectra.random_nonnormal(n, spectral_radius=radius, coupling=coupling, rng=seed)
    g = spectra.transient_growth(W)
    assert g.certified
    stop = len(g.t) - 1
    assert g.norms[stop] <= 1 + 1e-12 or stop == 0
    longer = dense_powers_log_norms(W, 3 * stop + 20)
    assert np.max(longer) <= g.log_peak + 1e-10
    np.testing.assert_allclose(g.log_norms, longer[:stop + 1], atol=1e-9)
    # rho^t <= ||W^t|| <= ||W||^t
    assert np.all(g.log_rho_powers <= g.log_norms + 1e-10)
    assert np.all(g.log_norms <= g.log_norm_powers + 1e-10)


def test_powers_never_overflow_or_underflow():
    Q = spectra.init.orthogonal(4, rng=0)
    big = spectra.transient_growth(1e100 * Q, steps=50)
    np.testing.assert_allclose(big.log_norms, big.t * math.log(1e100), rtol=1e-13)
    assert not big.certified
    with pytest.raises(spectra.NumericalError, match="overflows"):
        big.norms
    small = spectra.transient_growth(1e-100 * Q, steps=50)
    np.testing.assert_allclose(small.log_norms[1:], small.t[1:] * math.log(1e-100), rtol=1e-13)
    assert small.certified and small.peak == 1.0
    # entries near the ends of the float range: W is rescaled by a power of two first
    huge = spectra.transient_growth(1e307 * Q, steps=5)
    np.testing.assert_allclose(huge.log_norms, huge.t * math.log(1e307), rtol=1e-13)
    tiny = spectra.transient_growth(1e-310 * Q, steps=5)              # subnormal entries
    np.testing.assert_allclose(tiny.log_norms, tiny.t * math.log(1e-310), rtol=1e-9)
    pg = spectra.product_growth(np.stack([1e307 * Q] * 5))
    np.testing.assert_allclose(pg.log_norms, huge.log_norms, rtol=1e-13)
    # nilpotent: W^t = 0 exactly from t = n on
    nil = spectra.transient_growth(3.0 * np.eye(4, k=1), steps=6)
    assert np.all(np.isneginf(nil.log_norms[4:])) and nil.norms[3] == pytest.approx(27.0)
    assert nil.certified and nil.peak == pytest.approx(27.0)
    auto = spectra.transient_growth(3.0 * np.eye(4, k=1))
    assert auto.t[-1] == 4 and auto.peak_step == 3


def test_transient_growth_refuses_infinite_supremum_and_reports_non_convergence():
    with pytest.raises(ValueError, match="infinite"):
        spectra.transient_growth([[1.1, 0.0], [0.0, 0.2]])
    with pytest.raises(spectra.ConvergenceError, match="max_steps=5"):
        spectra.transient_growth(jordan(3, 0.99, 1.0), max_steps=5)
    g = spectra.transient_growth([[1.1, 0.0], [0.0, 0.2]], steps=10)
    assert g.peak_step == 10 and g.peak == pytest.approx(1.1 ** 10)
    # an orthogonal matrix: ||W^t|| = 1 up to rounding, certified at t = 1
    o = spectra.transient_growth(spectra.init.orthogonal(6, rng=2))
    assert o.certified and o.peak == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("a", [0.3, 0.9, 0.99])
@pytest.mark.parametrize("factor", [10.0, 1e3, 1e8])
def test_fixed_spectral_radius_with_arbitrarily_large_transient_peak(a, factor):
    # W_s = a I + s S (n x n): rho(W_s) = a for every s, yet the corner entry of W_s^t,
    # binom(t, n-1) s^(n-1) a^(t-n+1), can be made as large as we like; choose s so that
    # at t = n - 1 it equals the factor: s = factor^(1/(n-1)) / a
    n = 5
    s = factor ** (1 / (n - 1)) / a
    W = jordan(n, a, s)
    assert max(abs(np.linalg.eigvals(W))) == pytest.approx(a, rel=1e-6)   # defective: eigvals ill-conditioned
    g = spectra.transient_growth(W)
    assert g.spectral_radius == pytest.approx(a, rel=1e-3)
    assert g.certified and g.peak >= factor
    # the eigenvalue story predicts a^t <= 1; the pseudospectra see the growth
    k = spectra.kreiss_constant(W)
    assert k.lower_bound <= g.peak * (1 + 1e-9) and g.peak <= k.upper_bound * (1 + 1e-9)
    assert k.value >= factor / (math.e * n) * (1 - 1e-9)


@settings(max_examples=8)
@given(seed=seeds, n=st.integers(2, 8), coupling=st.floats(0.2, 4), radius=st.floats(0.1, 0.95))
def test_kreiss_matrix_theorem_and_pseudospectral_bound(seed, n, coupling, radius):
    W = spectra.random_nonnormal(n, spectral_radius=radius, coupling=coupling, rng=seed)
    g = spectra.transient_growth(W)
    k = spectra.kreiss_constant(W)
    assert 1.0 <= k.value
    assert k.lower_bound <= g.peak * (1 + 1e-9)             # K <= sup ||W^t||
    assert g.peak <= k.upper_bound * (1 + 1e-9)             # sup ||W^t|| <= e n K
    for eps in (1e-3, 1e-2, 1e-1):
        p = spectra.pseudospectral_radius(W, eps)
        assert p.growth_lower_bound <= g.peak * (1 + 1e-9)  # Trefethen & Embree, Thm 16.4
        assert (p.radius - 1) / eps <= k.value * (1 + 1e-7)  # K = sup_eps (rho_eps - 1)/eps
        assert p.radius >= g.spectral_radius + eps * (1 - 1e-9)


# ---------------------------------------------------------------------------------------
# linear networks: Gelfand's formula, and products along trajectories


@settings(max_examples=15)
@given(seed=seeds, n=st.integers(2, 10), coupling=st.floats(0, 3), radius=st.floats(0.5, 1.2))
def test_linear_rnn_gradient_norms_obey_gelfand(seed, n, coupling, radius):
    # ||dh_t/dh_k|| = ||W^(t-k)|| for a linear network; for diagonalisable W = V L V^-1:
    # rho^lag <= ||W^lag|| <= kappa(V) rho^lag, so ||W^lag||^(1/lag) -> rho at rate
    # rho (kappa^(1/lag) - 1) ~ rho log(kappa) / lag
    W = spectra.random_nonnormal(n, spectral_radius=radius, coupling=coupling, rng=seed)
    rng = np.random.default_rng(seed)
    traj = spectra.ElmanRNN(W, activation="identity").run(steps=200, h0=rng.standard_normal(n))
    g = spectra.product_growth(traj, k=0)
    rho = max(abs(np.linalg.eigvals(W)))
    kappa = spectra.eigenvector_condition(W)
    lags = g.lags[1:]
    root = np.exp(g.log_norms[1:] / lags)
    assert np.all(root >= rho * (1 - 1e-9))
    assert np.all(root <= rho * kappa ** (1 / lags) * (1 + 1e-9))
    assert abs(root[-1] - rho) <= rho * (kappa ** (1 / 200) - 1) + 1e-9
    # the same numbers as the powers of W
    tg = spectra.transient_growth(W, steps=200)
    assert np.all(np.abs(g.log_norms - tg.log_norms) <= 1e-9 * (1 + np.abs(tg.log_norms)))


@pytest.mark.parametrize("m,a", [(2, 0.9), (4, 0.7), (6, 1.05)])
def test_gelfand_rate_for_a_jordan_block(m, a):
    # J = a I + S (m x m): binom(t, m-1) a^(t-m+1) <= ||J^t|| <= sum_k binom(t, k) a^(t-k),
    # so ||J^t||^(1/t) -> a with error ~ a (m - 1) log(t) / t: the Jordan structure slows
    # Gelfand's formula from O(1/t) to O(log t / t)
    g = spectra.transient_growth(jordan(m, a), steps=400)
    for t in (10, 50, 400):
        lo = (math.comb(t, m - 1) * a ** (t - m + 1)) ** (1 / t)
        hi = sum(math.comb(t, k) * a ** (t - k) for k in range(m)) ** (1 / t)
        root = math.exp(g.log_norms[t] / t)
        assert lo * (1 - 1e-12) <= root <= hi * (1 + 1e-12)
    err = [math.exp(g.log_norms[t] / t) / a - 1 for t in (100, 400)]
    rate = [(m - 1) * math.log(t) / t for t in (100, 400)]
    assert all(0.2 * r <= e <= 2 * r for e, r in zip(err, rate))


def test_product_growth_matches_explicit_products(rng):
    W = spectra.random_nonnormal(6, spectral_radius=0.9, coupling=2.0, rng=4)
    traj = spectra.ElmanRNN(W, rng.standard_normal((6, 2)), activation="tanh").run(rng.standard_normal((25, 2)),
                                                                                    h0=rng.standard_normal(6))
    for k in (0, 7):
        g = spectra.product_growth(traj, k=k)
        assert g.lags.tolist() == list(range(26 - k)) and np.all(g.starts == k)
        for lag in (0, 1, 9, 25 - k):
            P = traj.product(k + lag, k)
            assert g.log_norms[lag] == pytest.approx(math.log(np.linalg.norm(P, 2)), abs=1e-11)
            bound = sum(math.log(np.linalg.norm(traj.jacobian(s), 2)) for s in range(k + 1, k + lag + 1))
            assert g.log_norm_bounds[lag] == pytest.approx(bound, abs=1e-11)
            assert g.log_norms[lag] <= g.log_norm_bounds[lag] + 1e-12
    # worst start: for every lag the maximum over all spans of that length
    env = spectra.product_growth(traj, k=None)
    for lag in (1, 3, 12, 25):
        norms = [np.linalg.norm(traj.product(k0 + lag, k0), 2) for k0 in range(26 - lag)]
        assert env.log_norms[lag] == pytest.approx(math.log(max(norms)), abs=1e-11)
        assert env.starts[lag] == int(np.argmax(norms))
    assert env.peak >= spectra.product_growth(traj).peak * (1 - 1e-12)
    json.dumps(env.to_dict())


def test_products_of_matrices_with_zero_spectral_radius_can_grow():
    # each step is nilpotent (rho = 0), the product alternates and grows like 2^lag:
    # the per-step eigenvalue story ("every |lambda| < 1") says nothing about products
    J = [np.array([[0.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [2.0, 0.0]])] * 10
    g = spectra.product_growth(J)
    assert np.all(np.isneginf(g.log_radius_products[1:]))
    np.testing.assert_allclose(g.log_norms, g.lags * math.log(2.0), atol=1e-12)
    assert g.peak_lag == 20


def test_product_growth_accepts_sequences_and_sequence_objects():
    W = spectra.random_nonnormal(3, spectral_radius=0.8, coupling=1.0, rng=0)
    traj = spectra.ElmanRNN(W, activation="identity").run(steps=5, h0=np.ones(3))
    ref = spectra.product_growth(traj).log_norms
    for J in (traj.jacobians(), list(traj.jacobians()), traj.jacobian_sequence,
              spectra.as_jacobian_sequence(traj.jacobians())):
        np.testing.assert_allclose(spectra.product_growth(J).log_norms, ref, atol=1e-13)


# ---------------------------------------------------------------------------------------
# Kreiss constant


def _kreiss_jordan2_mp(a, b):
    """K([[a, b], [0, a]]) for a >= 0 by maximising over real z > 1 in 40-digit arithmetic.

    ||(z - A)^{-1}|| depends on d = |z - a| only, as (|b|/d^2 + sqrt(b^2/d^4 + 4/d^2))/2,
    and for fixed |z| the distance d is smallest at z = |z| > 0.
    """
    mpmath.mp.dps = 40
    a, b = mpmath.mpf(a), mpmath.mpf(abs(b))

    def g(x):
        d = x - a
        return (x - 1) * (b / d ** 2 + mpmath.sqrt(b ** 2 / d ** 4 + 4 / d ** 2)) / 2

    xs = [1 + mpmath.mpf(10) ** (mpmath.mpf(k) / 20) for k in range(-160, 80)]
    i = max(range(1, len(xs) - 1), key=lambda j: g(xs[j]))
    lo, hi = xs[i - 1], xs[i + 1]                   # golden-section search on the bracket
    phi = (mpmath.sqrt(5) - 1) / 2
    for _ in range(200):
        c, d = hi - phi * (hi - lo), lo + phi * (hi - lo)
        if g(c) > g(d):
            hi = d
        else:
            lo = c
    return float(max(g((lo + hi) / 2), 1))


@pytest.mark.parametrize("a,b", [(0.5, 10.0), (0.0, 3.0), (0.9, 0.5), (0.2, 100.0), (0.99, 2.0)])
def test_kreiss_constant_of_two_by_two_jordan_against_mpmath(a, b):
    k = spectra.kreiss_constant([[a, b], [0.0, a]])
    assert k.value == pytest.approx(_kreiss_jordan2_mp(a, b), rel=1e-10)
    if k.value > 1:
        # for a > 0 the resolvent is largest on the positive real axis; for a = 0 its norm
        # depends on |z| only, and any angle attains the supremum
        assert abs(k.z) > 1 and (a == 0 or abs(k.z.imag) <= 1e-6 * abs(k.z))
        s = np.linalg.svd(k.z * np.eye(2) - np.array([[a, b], [0.0, a]]), compute_uv=False)[-1]
        assert (abs(k.z) - 1) / s == pytest.approx(k.value, rel=1e-10)


def test_kreiss_constant_of_the_issue_example():
    k = spectra.kreiss_constant(A2)
    assert k.value == pytest.approx(5.05, rel=1e-12)
    assert k.upper_bound == pytest.approx(2 * math.e * 5.05, rel=1e-12)


def _brute_kreiss(W):
    """Dense SVD scan over (theta, log s), then Nelder-Mead on the best point."""
    from scipy.optimize import minimize

    n = W.shape[0]
    best, arg = 1.0, None
    for t in np.linspace(0, np.pi, 91):
        for s in np.exp(np.linspace(np.log(1e-4), np.log(100), 90)):
            g = s / np.linalg.svd((1 + s) * np.exp(1j * t) * np.eye(n) - W, compute_uv=False)[-1]
            if g > best:
                best, arg = g, (t, math.log(s))
    if arg is not None:
        f = lambda x: -math.exp(x[1]) / np.linalg.svd((1 + math.exp(x[1])) * np.exp(1j * x[0]) * np.eye(n) - W,
                                                     compute_uv=False)[-1]
        res = minimize(f, arg, method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 3000})
        best = max(best, -res.fun)
    return best


@pytest.mark.parametrize("seed,n,coupling", [(0, 4, 3.0), (1, 6, 1.5), (2, 3, 0.8)])
def test_kreiss_constant_against_dense_brute_force(seed, n, coupling):
    W = spectra.random_nonnormal(n, spectral_radius=0.85, coupling=coupling, rng=seed)
    assert spectra.kreiss_constant(W).value == pytest.approx(_brute_kreiss(W), rel=1e-9)


def test_kreiss_constant_special_cases():
    # rho > 1: infinite, located at the eigenvalue outside the unit disc
    k = spectra.kreiss_constant([[1.5, 1.0], [0.0, 0.2]])
    assert k.value == math.inf and k.z == 1.5 and k.upper_bound == math.inf
    # ||W|| <= 1: K = 1 (orthogonal, contractions, the shift)
    for W in (spectra.init.orthogonal(5, rng=1), 0.5 * np.eye(3), np.eye(4, k=1)):
        k = spectra.kreiss_constant(W)
        assert k.value == 1.0 and k.z == complex(math.inf, 0)
    # rho = 1, non-normal: undecidable in floating point
    with pytest.raises(spectra.NumericalError, match="semisimple"):
        spectra.kreiss_constant([[1.0, 1.0], [0.0, 0.5]])
    # the nilpotent 2 x 2 with norm 2: sup_t ||W^t|| = 2, yet K = 1 (approached as |z| -> inf)
    k = spectra.kreiss_constant([[0.0, 2.0], [0.0, 0.0]])
    assert k.value == 1.0 and 1.0 <= 2.0 <= k.upper_bound
    json.dumps(k.to_dict())


# ---------------------------------------------------------------------------------------
# pseudospectra


def test_pseudospectra_of_a_normal_matrix_are_discs(rng):
    W = normal_matrix(rng, 7)
    ps = spectra.pseudospectra(W, resolution=(37, 29), tol=1e-10)
    Z = ps.x[None, :] + 1j * ps.y[:, None]
    dist = np.min(np.abs(Z[..., None] - np.linalg.eigvals(W)), axis=-1)
    np.testing.assert_allclose(ps.sigma_min, dist, rtol=1e-7, atol=1e-13)
    assert ps.unconverged == 0


def test_pseudospectra_match_dense_svd_on_a_small_grid():
    W = spectra.random_nonnormal(12, spectral_radius=0.9, coupling=2.5, rng=7)
    ps = spectra.pseudospectra(W, bounds=(-1.3, 1.1, -0.4, 1.2), resolution=(9, 7), tol=1e-12)
    for i, y in enumerate(ps.y):
        for j, x in enumerate(ps.x):
            s = np.linalg.svd((x + 1j * y) * np.eye(12) - W, compute_uv=False)[-1]
            assert ps.sigma_min[i, j] == pytest.approx(s, rel=1e-9, abs=1e-14)


def test_pseudospectra_of_the_issue_example_closed_form():
    # sigma_min([[d e^{i phi}, -10], [0, d e^{i phi}]]) with d = |z - 0.5|:
    # sigma_min^2 = d^2 + 50 - sqrt((d^2 + 50)^2 - d^4)
    ps = spectra.pseudospectra(A2, resolution=61, tol=1e-12)
    d2 = np.abs(ps.x[None, :] + 1j * ps.y[:, None] - 0.5) ** 2
    exact = np.sqrt(d2 ** 2 / ((d2 + 50) + np.sqrt((d2 + 50) ** 2 - d2 ** 2)))   # cancellation-free
    np.testing.assert_allclose(ps.sigma_min, exact, rtol=1e-9)
    assert ps.spectral_radius == 0.5 and np.allclose(ps.eigenvalues, [0.5, 0.5])
    assert np.all(np.diff(ps.levels) > 0) and 1 <= ps.levels.size <= 8
    assert np.all((ps.levels > ps.sigma_min.min()) & (ps.levels < ps.sigma_min.max()))
    json.dumps(ps.to_dict())


def test_pseudospectra_symmetric_and_asymmetric_grids_agree():
    W = spectra.random_nonnormal(8, spectral_radius=0.7, coupling=1.0, rng=2)
    sym = spectra.pseudospectra(W, bounds=(-1, 1, -1, 1), resolution=(11, 11))
    asym = spectra.pseudospectra(W, bounds=(-1, 1, -1, 1.2), resolution=(11, 12))
    np.testing.assert_allclose(sym.sigma_min[5:], sym.sigma_min[5::-1], rtol=0)   # mirrored exactly
    row = np.flatnonzero(np.isclose(asym.y, 0.2))[0]
    col = np.flatnonzero(np.isclose(sym.y, 0.2))[0]
    np.testing.assert_allclose(asym.sigma_min[row], sym.sigma_min[col], rtol=1e-5)


def test_pseudospectra_grid_through_an_eigenvalue_and_extreme_nonnormality():
    ps = spectra.pseudospectra(np.diag([0.5, -0.25]), bounds=(-1, 1, -1, 1), resolution=(9, 9))
    assert ps.sigma_min[4, 6] == 0.0                      # z = 0.5 is an eigenvalue
    J = jordan(40, 0.5, 1e9)            # sigma_min(z I - J) ~ 0.5^40 / 1e351 at z = 0: below 1e-300
    ps = spectra.pseudospectra(J, resolution=21)
    assert np.all(np.isfinite(ps.sigma_min)) and np.all(ps.sigma_min >= 0)
    assert ps.sigma_min[10, 10] == 0.0 and ps.unconverged == 0


def test_pseudospectral_radius_closed_forms(rng):
    # the issue's example: rho_eps = 0.5 + sqrt(eps (eps + 10))
    for eps in (1e-8, 1e-4, 0.1, 2.0):
        p = spectra.pseudospectral_radius(A2, eps)
        assert p.radius == pytest.approx(0.5 + math.sqrt(eps * (eps + 10)), rel=1e-12)
        assert abs(p.z) == pytest.approx(p.radius, rel=1e-14)
    # normal matrices: rho_eps = rho + eps
    W = normal_matrix(rng, 6)
    rho = max(abs(np.linalg.eigvals(W)))
    for eps in (1e-6, 0.05, 0.7):
        assert spectra.pseudospectral_radius(W, eps).radius == pytest.approx(rho + eps, rel=1e-12)


@settings(max_examples=10)
@given(seed=seeds, n=st.integers(2, 8), coupling=st.floats(0.3, 4), log_eps=st.floats(-5, -0.5))
def test_pseudospectral_radius_is_on_the_boundary_and_outermost(seed, n, coupling, log_eps):
    W = spectra.random_nonnormal(n, spectral_radius=0.8, coupling=coupling, rng=seed)
    eps = 10.0 ** log_eps
    p = spectra.pseudospectral_radius(W, eps)
    # z is on the boundary: sigma_min(z I - W) = eps (dense SVD)
    s = np.linalg.svd(p.z * np.eye(n) - W, compute_uv=False)[-1]
    assert s == pytest.approx(eps, rel=1e-8)
    # nothing of the set lies further out: a fine circle just outside stays outside
    th = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    ring = (p.radius * (1 + 1e-6) + 1e-12) * np.exp(1j * th)
    smins = np.array([np.linalg.svd(z * np.eye(n) - W, compute_uv=False)[-1] for z in ring])
    assert np.all(smins > eps)
    assert p.radius >= max(abs(np.linalg.eigvals(W))) + eps * (1 - 1e-9)


def test_pseudospectral_bound_certifies_growth_of_the_issue_example():
    g = spectra.transient_growth(A2)
    bounds = [spectra.pseudospectral_radius(A2, e).growth_lower_bound for e in (1e-3, 1e-2, 0.1, 1.0)]
    assert all(b <= g.peak for b in bounds) and max(bounds) > 5.0
    assert max(bounds) <= spectra.kreiss_constant(A2).value * (1 + 1e-9)


# ---------------------------------------------------------------------------------------
# example matrices


@settings(max_examples=25)
@given(seed=seeds, n=st.integers(1, 9), radius=st.floats(0, 2), coupling=st.floats(0, 5))
def test_random_nonnormal_spectrum_and_coupling(seed, n, radius, coupling):
    W = spectra.random_nonnormal(n, spectral_radius=radius, coupling=coupling, rng=seed)
    W0 = spectra.random_nonnormal(n, spectral_radius=radius, coupling=0.0, rng=seed)
    ev, ev0 = np.linalg.eigvals(W), np.linalg.eigvals(W0)
    assert max(abs(ev0)) == pytest.approx(radius, abs=1e-12)
    assert spectra.henrici_departure(W0) <= 1e-12 * max(1, radius) * n
    # same eigenvalues for every coupling (up to their conditioning)
    cond = spectra.eigenvector_condition(W) if n > 1 else 1.0
    dist = np.max(np.min(np.abs(ev[:, None] - ev0[None, :]), axis=1))
    assert dist <= 1e-13 * cond * max(1.0, np.linalg.norm(W, 2)) * n + 1e-300


def test_normal_counterpart_keeps_spectrum_and_removes_growth():
    W = spectra.random_nonnormal(9, spectral_radius=0.9, coupling=2.0, rng=3)
    WN = spectra.normal_counterpart(W)
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(WN)), np.sort_complex(np.linalg.eigvals(W)),
                               atol=1e-10)
    assert spectra.henrici_departure(WN) <= 1e-13 * 9
    g, gN = spectra.transient_growth(W, steps=40), spectra.transient_growth(WN, steps=40)
    assert g.peak > 2 and gN.peak == pytest.approx(1.0)
    np.testing.assert_allclose(gN.log_norms, gN.log_rho_powers, atol=1e-10 * 40)
    np.testing.assert_allclose(spectra.normal_counterpart(np.diag([0.3, -0.2])), np.diag([0.3, -0.2]), atol=1e-16)


# ---------------------------------------------------------------------------------------
# bad arguments


def _traj():
    return spectra.ElmanRNN(np.eye(3) * 0.5).run(steps=4, h0=np.ones(3))


BAD = [
    ("henrici non-square", lambda: spectra.henrici_departure(np.ones((2, 3))), ValueError, r"`W` must be a square matrix; got shape \(2, 3\)"),
    ("henrici NaN", lambda: spectra.henrici_departure([[np.nan]]), ValueError, "`W` must be finite"),
    ("henrici complex", lambda: spectra.henrici_departure(np.eye(2) * 1j), TypeError, "`W` must be real"),
    ("henrici None", lambda: spectra.henrici_departure(None), TypeError, "`W`"),
    ("radius 3-D", lambda: spectra.numerical_radius(np.ones((2, 2, 2))), ValueError, "`W` must be a 2-D matrix"),
    ("abscissa empty", lambda: spectra.numerical_abscissa(np.zeros((0, 0))), ValueError, "`W` must not be empty"),
    ("eigvec strings", lambda: spectra.eigenvector_condition([["a"]]), TypeError, "`W` must be an array of real numbers"),
    ("fov points", lambda: spectra.field_of_values(np.eye(2), points=2), ValueError, "`points` must be >= 3"),
    ("fov points float", lambda: spectra.field_of_values(np.eye(2), points=10.0), TypeError, "`points` must be an integer"),
    ("nonnormality non-square", lambda: spectra.nonnormality(np.ones((3, 1))), ValueError, "`W` must be a square"),
    ("step_nonnormality None", lambda: spectra.step_nonnormality(None), TypeError, "`J`"),
    ("step_nonnormality rect", lambda: spectra.step_nonnormality([np.ones((2, 3)), np.ones((4, 2))]), ValueError, "square"),
    ("step_nonnormality batch", lambda: spectra.step_nonnormality(np.ones((2, 3, 2, 2))), ValueError, "batch"),
    ("transient steps", lambda: spectra.transient_growth(A2, steps=-1), ValueError, "`steps` must be >= 0"),
    ("transient steps float", lambda: spectra.transient_growth(A2, steps=3.0), TypeError, "`steps` must be an integer"),
    ("transient max_steps", lambda: spectra.transient_growth(A2, max_steps=0), ValueError, "`max_steps` must be >= 1"),
    ("transient non-square", lambda: spectra.transient_growth(np.ones((2, 3))), ValueError, "`W` must be a square"),
    ("product k range", lambda: spectra.product_growth(_traj(), k=5), ValueError, "`k` must be <= 4"),
    ("product k float", lambda: spectra.product_growth(_traj(), k=1.0), TypeError, "`k` must be an integer"),
    ("product string", lambda: spectra.product_growth("traj"), TypeError, "`J`"),
    ("product empty", lambda: spectra.product_growth(np.zeros((0, 2, 2))), ValueError, "at least one step"),
    ("kreiss inf entry", lambda: spectra.kreiss_constant([[np.inf]]), ValueError, "`W` must be finite"),
    ("pseudo tol", lambda: spectra.pseudospectra(A2, tol=0.5), ValueError, "`tol` must be in"),
    ("pseudo resolution", lambda: spectra.pseudospectra(A2, resolution=1), ValueError, "`resolution` must be >= 2"),
    ("pseudo resolution pair", lambda: spectra.pseudospectra(A2, resolution=(10, 1)), ValueError, r"`resolution\[1\]` must be >= 2"),
    ("pseudo resolution triple", lambda: spectra.pseudospectra(A2, resolution=(3, 3, 3)), ValueError, "`resolution` must be an int or a pair"),
    ("pseudo bounds order", lambda: spectra.pseudospectra(A2, bounds=(1, -1, -1, 1)), ValueError, "`bounds` must satisfy xmin < xmax"),
    ("pseudo bounds type", lambda: spectra.pseudospectra(A2, bounds="box"), TypeError, "`bounds` must be"),
    ("pseudo bounds nan", lambda: spectra.pseudospectra(A2, bounds=(0, 1, np.nan, 1)), ValueError, r"`bounds\[2\]` must be finite"),
    ("pseudo levels", lambda: spectra.pseudospectra(A2, levels=[0.1, -1.0]), ValueError, "`levels` must be positive"),
    ("pseudo levels nan", lambda: spectra.pseudospectra(A2, levels=[np.nan]), ValueError, "`levels` must be finite"),
    ("psr eps zero", lambda: spectra.pseudospectral_radius(A2, 0.0), ValueError, r"`eps` must be in \(0"),
    ("psr eps string", lambda: spectra.pseudospectral_radius(A2, "0.1"), TypeError, "`eps` must be a real number"),
    ("random n", lambda: spectra.random_nonnormal(0), ValueError, "`n` must be >= 1"),
    ("random radius", lambda: spectra.random_nonnormal(3, spectral_radius=-1.0), ValueError, "`spectral_radius` must be in"),
    ("random coupling", lambda: spectra.random_nonnormal(3, coupling=np.inf), ValueError, "`coupling` must be finite"),
    ("random rng", lambda: spectra.random_nonnormal(3, rng="seed"), TypeError, "`rng`"),
    ("counterpart rect", lambda: spectra.normal_counterpart(np.ones((1, 2))), ValueError, "`W` must be a square"),
]


@pytest.mark.parametrize("name,call,exc,match", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_results_are_frozen_and_serialisable():
    g = spectra.transient_growth(A2)
    with pytest.raises(AttributeError):
        g.peak_step = 3
    for res in (spectra.nonnormality(A2), g, spectra.kreiss_constant(A2),
                spectra.pseudospectral_radius(A2, 0.1), spectra.product_growth([A2, A2])):
        d = json.loads(json.dumps(res.to_dict()))
        assert set(d) == {f for f in res.__dataclass_fields__}


def test_radial_march_fallback_agrees_with_the_eigenvalue_search():
    W = spectra.random_nonnormal(5, spectral_radius=0.8, coupling=2.0, rng=11)
    T, _ = schur_complex(W)
    scale = np.linalg.norm(W, 2) + 0.05
    for theta in (0.0, 1.0, 2.5):
        w = complex(math.cos(theta), math.sin(theta))
        fast = psmod._radial(T, 0.05, theta, scale)
        slow = psmod._radial_march(T, 0.05, w, scale)
        assert slow == pytest.approx(fast, abs=1e-9)
    with pytest.raises(spectra.ConvergenceError, match="did not converge"):
        psmod._radial_march(T, 0.05, 1.0, scale, max_evals=2)


def test_default_levels():
    S = np.array([[3e-12, 0.5], [2.0, 40.0]])
    np.testing.assert_allclose(psmod.default_levels(S), 10.0 ** np.arange(-6, 2))   # largest 8 of 1e-11..1e1
    np.testing.assert_allclose(psmod.default_levels(np.array([0.2, 0.5])), [math.sqrt(0.1)])
    np.testing.assert_allclose(psmod.default_levels(np.array([0.0, 1e-3, 1.0])), [1e-2, 1e-1])
