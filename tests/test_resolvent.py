"""sigma_min(z I - T) from one Schur form: the Golub-Kahan-Lanczos kernel against dense SVDs."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from spectra.linalg.resolvent import circle_crossings, radial_crossings, schur_complex, smin


def _dense_smin(W, z):
    n = W.shape[0]
    return np.array([np.linalg.svd(zz * np.eye(n) - W, compute_uv=False)[-1] for zz in np.ravel(z)])


def _random_nonnormal(rng, n, strength):
    return rng.standard_normal((n, n)) / np.sqrt(n) + strength * np.triu(rng.standard_normal((n, n)), 1)


def test_schur_form_is_triangular_and_unitary(rng):
    W = _random_nonnormal(rng, 7, 1.0)
    T, Q = schur_complex(W)
    assert np.array_equal(T, np.triu(T))
    np.testing.assert_allclose(Q @ T @ Q.conj().T, W, atol=1e-13)
    np.testing.assert_allclose(Q.conj().T @ Q, np.eye(7), atol=1e-14)


@pytest.mark.parametrize("n", [1, 2, 3, 17, 45, 80])
@pytest.mark.parametrize("m", [1, 5, 300])
def test_matches_dense_svd(rng, n, m):
    # m = 1, 5 take the per-point LAPACK path with reorthogonalisation (for n >= 16 m),
    # m = 300 the vectorised sweep without it
    W = _random_nonnormal(rng, n, 0.7)
    T, _ = schur_complex(W)
    z = rng.uniform(-1.5, 1.5, m) + 1j * rng.uniform(-1.5, 1.5, m)
    res = smin(T, z, tol=1e-12)
    assert res.converged.all()
    np.testing.assert_allclose(res.sigma, _dense_smin(W, z), rtol=1e-9)


def test_singular_vectors_satisfy_the_svd_relations(rng):
    W = _random_nonnormal(rng, 30, 1.0)
    T, _ = schur_complex(W)
    z = rng.uniform(-1, 1, 6) + 1j * rng.uniform(-1, 1, 6)
    res = smin(T, z, tol=1e-12, vectors=True)
    for j, zz in enumerate(z):
        A = zz * np.eye(30) - T
        u, v, s = res.u[:, j], res.v[:, j], res.sigma[j]
        assert np.isclose(np.linalg.norm(u), 1.0) and np.isclose(np.linalg.norm(v), 1.0)
        assert np.linalg.norm(A @ v - s * u) <= 1e-10 * np.linalg.norm(A, 2)
        assert np.linalg.norm(A.conj().T @ u - s * v) <= 1e-8 * np.linalg.norm(A, 2)


def test_derivative_from_singular_vectors_matches_finite_differences(rng):
    # d sigma_min / dz along a direction dz is Re(dz u^H v)
    W = _random_nonnormal(rng, 12, 1.0)
    T, _ = schur_complex(W)
    z0 = 0.3 + 1.1j
    res = smin(T, [z0], tol=1e-13, vectors=True)
    g = complex(np.vdot(res.u[:, 0], res.v[:, 0]))
    h = 1e-6
    for dz in (1.0, 1j, (1 + 2j) / np.sqrt(5)):
        fd = (_dense_smin(W, z0 + h * dz)[0] - _dense_smin(W, z0 - h * dz)[0]) / (2 * h)
        assert abs((dz * g).real - fd) <= 1e-7


def test_normal_matrix_gives_distance_to_spectrum(rng):
    # clustered eigenvalues: points nearly equidistant from several eigenvalues have
    # clustered smallest singular values, the hard case for Lanczos
    lam = np.repeat([1.0, -1.0, 0.5j, -0.5j], 10) + 1e-3 * rng.standard_normal(40)
    Q = np.linalg.qr(rng.standard_normal((40, 40)) + 1j * rng.standard_normal((40, 40)))[0]
    T, _ = schur_complex(Q @ np.diag(lam) @ Q.conj().T)
    z = np.concatenate([[0.0, 0.25j, 0.5, 0.75 + 0.75j], rng.uniform(-1.5, 1.5, 200) + 1j * rng.uniform(-1.5, 1.5, 200)])
    res = smin(T, z, tol=1e-10)
    dist = np.min(np.abs(z[:, None] - lam[None, :]), axis=1)
    # residual test: within the tolerance of an eigenvalue of M^H M, i.e. at worst the
    # second of two singular values closer together than the tolerance resolves
    np.testing.assert_allclose(res.sigma, dist, rtol=1e-7)


def test_point_on_an_eigenvalue_gives_zero(rng):
    T = np.triu(rng.standard_normal((5, 5))).astype(complex)
    res = smin(T, [T[2, 2], 10.0], vectors=True)
    assert res.sigma[0] == 0.0 and res.sigma[1] > 0
    A = T[2, 2] * np.eye(5) - T
    assert np.linalg.norm(A @ res.v[:, 0]) <= 1e-12 and np.linalg.norm(A.conj().T @ res.u[:, 0]) <= 1e-12


def test_sigma_below_the_float_range_is_zero_not_nan():
    # z I - T for a 40 x 40 Jordan-like block: sigma_min ~ 1e-3 * 10^-40 / ... underflows
    n = 60
    T = (0.5 * np.eye(n) + 100.0 * np.eye(n, k=1)).astype(complex)
    res = smin(T, [0.5 + 1e-3, 0.5 + 1e-3j, 3.0], vectors=True)
    assert np.all(np.isfinite(res.sigma)) and res.converged.all()
    assert res.sigma[0] == 0.0 and res.sigma[1] == 0.0       # below ~1e-300 * c
    assert res.sigma[2] == pytest.approx(_dense_smin(T, [3.0])[0], rel=1e-8)
    assert np.all(np.isfinite(res.u)) and np.all(np.isfinite(res.v))


def test_unconverged_points_are_reported(rng):
    W = _random_nonnormal(rng, 60, 0.3)
    T, _ = schur_complex(W)
    z = rng.uniform(-1, 1, 40) + 1j * rng.uniform(-1, 1, 40)
    res = smin(T, z, tol=1e-14, kmax=2, restarts=0)
    assert not res.converged.all()
    # even unconverged, the value is an upper bound on sigma_min (Ritz values interlace)
    assert np.all(res.sigma >= _dense_smin(W, z) * (1 - 1e-12))


def test_empty_point_set():
    res = smin(np.eye(3, dtype=complex), [])
    assert res.sigma.shape == (0,) and res.converged.shape == (0,)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), strength=st.floats(0, 3))
def test_property_matches_dense(seed, n, strength):
    rng = np.random.default_rng(seed)
    W = _random_nonnormal(rng, n, strength)
    T, _ = schur_complex(W)
    z = rng.uniform(-2, 2, 40) + 1j * rng.uniform(-2, 2, 40)
    dense = _dense_smin(W, z)
    res = smin(T, z, tol=1e-12)
    # absolute floor: sigma_min is only determined to about eps ||W|| by W itself
    floor = 64 * n * np.finfo(float).eps * max(1.0, np.linalg.norm(W, 2))
    assert np.all(np.abs(res.sigma - dense) <= 1e-8 * dense + floor)


def test_radial_and_circle_crossings_hit_the_level_set(rng):
    W = _random_nonnormal(rng, 6, 1.0)
    T, _ = schur_complex(W)
    eps = 0.05
    for theta in (0.3, 2.0):
        for r in radial_crossings(T, eps, theta):
            s = np.linalg.svd(r * np.exp(1j * theta) * np.eye(6) - W, compute_uv=False)
            assert np.min(np.abs(s - eps)) <= 1e-8
    for r in (0.5, 1.0):
        for th in circle_crossings(T, eps, r):
            s = np.linalg.svd(r * np.exp(1j * th) * np.eye(6) - W, compute_uv=False)
            assert np.min(np.abs(s - eps)) <= 1e-7
