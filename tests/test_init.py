"""Initialisers: exact properties, distributions with standard-error tolerances."""

import math

import numpy as np
import pytest

from spectra import init

Z = 5.0  # tolerance in standard errors for the statistical tests below (fixed seeds)


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (64, 64), (7, 3), (3, 7)])
def test_orthogonal_is_orthonormal(shape):
    Q = init.orthogonal(*shape, rng=1)
    assert Q.shape == shape
    small = min(shape)
    G = Q.T @ Q if shape[0] >= shape[1] else Q @ Q.T
    assert np.max(np.abs(G - np.eye(small))) < 1e-12
    Q2 = init.orthogonal(*shape, gain=2.5, rng=1)
    np.testing.assert_allclose(Q2, 2.5 * Q, rtol=0, atol=1e-15)


def _trace_moments(sampler, n, N, rng):
    """Sample means of tr Q and (tr Q)^2, with their standard errors."""
    tr = np.array([np.trace(sampler(n, rng)) for _ in range(N)])
    return (tr.mean(), tr.std(ddof=1) / math.sqrt(N),
            (tr ** 2).mean(), (tr ** 2).std(ddof=1) / math.sqrt(N))


def _unsigned_qr(n, rng):
    return np.linalg.qr(rng.standard_normal((n, n)))[0]


@pytest.mark.parametrize("n", [3, 5, 8])
def test_orthogonal_is_haar(n):
    """Haar O(n) (n >= 2): E tr Q = 0 and E (tr Q)^2 = 1 (Diaconis & Shahshahani 1994).

    The same test rejects the Q factor of a plain QR (no sign correction),
    so it can fail.
    """
    N = 3000
    rng = np.random.default_rng(7)
    mean, se_mean, second, se_second = _trace_moments(
        lambda n, g: init.orthogonal(n, rng=g), n, N, rng)
    assert abs(mean) < Z * se_mean
    assert abs(second - 1.0) < Z * se_second
    umean, use_mean, usecond, use_second = _trace_moments(_unsigned_qr, n, N, np.random.default_rng(7))
    assert abs(umean) > Z * use_mean or abs(usecond - 1.0) > Z * use_second


def test_orthogonal_haar_eigenvalue_angles_are_uniform_enough():
    # For Haar O(n) the eigenvalue angles repel but are rotation-invariant in
    # distribution up to reflection: E cos(theta) over all eigenvalues = E tr Q / n = 0.
    rng = np.random.default_rng(3)
    n, N = 6, 2000
    c = np.array([np.mean(np.cos(np.angle(np.linalg.eigvals(init.orthogonal(n, rng=rng)))))
                  for _ in range(N)])
    assert abs(c.mean()) < Z * c.std(ddof=1) / math.sqrt(N)


def _var_check(sample, want_var):
    x = sample.ravel()
    N = x.size
    var = np.mean(x ** 2)  # mean is 0 by construction
    # Var(x^2) = E x^4 - var^2; estimated from the sample
    se = math.sqrt(np.var(x ** 2) / N)
    assert abs(var - want_var) < Z * se, (var, want_var, se)
    assert abs(x.mean()) < Z * math.sqrt(want_var / N)


@pytest.mark.parametrize("name,n,m,want", [
    ("gaussian", 200, 100, lambda n, m: 1.5 ** 2 / m),
    ("xavier_normal", 200, 100, lambda n, m: 1.5 ** 2 * 2 / (n + m)),
    ("xavier_uniform", 200, 100, lambda n, m: 1.5 ** 2 * 2 / (n + m)),
    ("he_normal", 200, 100, lambda n, m: 1.5 ** 2 * 2 / m),
    ("he_uniform", 200, 100, lambda n, m: 1.5 ** 2 * 2 / m),
])
def test_variances(name, n, m, want):
    W = getattr(init, name)(n, m, gain=1.5, rng=11)
    assert W.shape == (n, m)
    _var_check(W, want(n, m))


def test_uniform_bounds_and_he_options():
    a = 2.0 * math.sqrt(6.0 / 50)
    W = init.xavier_uniform(30, 20, gain=2.0, rng=0)
    assert np.max(np.abs(W)) <= a
    W = init.he_normal(300, 100, negative_slope=1.0, mode="fan_out", rng=0)
    _var_check(W, 2.0 / (2.0 * 300))


def test_identity():
    assert np.array_equal(init.identity(3, gain=0.5), 0.5 * np.eye(3))
    assert np.array_equal(init.identity(2, 4), np.eye(2, 4))


@pytest.mark.parametrize("density", [1.0, 0.3])
def test_echo_state_spectral_radius_and_density(density):
    W = init.echo_state(80, spectral_radius=0.9, density=density, rng=2)
    assert np.max(np.abs(np.linalg.eigvals(W))) == pytest.approx(0.9, rel=1e-10)
    frac = np.count_nonzero(W) / W.size
    assert abs(frac - density) < Z * math.sqrt(density * (1 - density) / W.size) + 1e-12


def test_echo_state_nilpotent_pattern_is_refused():
    with pytest.raises(ValueError, match="increase `density`"):
        init.echo_state(2, density=1e-9, rng=0)


def test_scale_to_spectral_radius():
    W = init.gaussian(10, rng=0)
    W2 = init.scale_to_spectral_radius(W, 1.3)
    assert np.max(np.abs(np.linalg.eigvals(W2))) == pytest.approx(1.3, rel=1e-12)
    with pytest.raises(ValueError, match="nilpotent"):
        init.scale_to_spectral_radius(np.triu(np.ones((3, 3)), 1), 1.0)


@pytest.mark.parametrize("name", ["orthogonal", "gaussian", "xavier_normal", "xavier_uniform",
                                  "he_normal", "he_uniform"])
def test_seeds_reproduce_and_generators_advance(name):
    f = getattr(init, name)
    assert np.array_equal(f(6, rng=42), f(6, rng=42))
    assert not np.array_equal(f(6, rng=42), f(6, rng=43))
    g = np.random.default_rng(5)
    assert not np.array_equal(f(6, rng=g), f(6, rng=g))
    assert f(6, rng=0, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("call,exc,match", [
    (lambda: init.orthogonal(0), ValueError, "`n` must be >= 1"),
    (lambda: init.orthogonal(2.5), TypeError, "`n` must be an integer"),
    (lambda: init.gaussian(3, gain=float("inf")), ValueError, "`gain` must be finite"),
    (lambda: init.gaussian(3, rng="seed"), TypeError, "`rng` must be an int seed"),
    (lambda: init.gaussian(3, rng=-1), ValueError, "`rng` seed must be non-negative"),
    (lambda: init.gaussian(3, rng=True), TypeError, "`rng`"),
    (lambda: init.he_normal(3, mode="fan_both"), ValueError, "`mode`"),
    (lambda: init.echo_state(5, density=0.0), ValueError, "`density`"),
    (lambda: init.echo_state(5, distribution="cauchy"), ValueError, "`distribution`"),
    (lambda: init.orthogonal(3, dtype=np.int32), ValueError, "`dtype`"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
