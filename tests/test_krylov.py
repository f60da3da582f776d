"""spectra.linalg.krylov: the Golub-Kahan-Lanczos kernel and its shared parts, against numpy.linalg.svd."""

import json

import numpy as np
import pytest

import spectra
from spectra.linalg.krylov import (TopSingularValues, bidiagonal_partner, bidiagonal_top_ritz, eigenvalue_certified,
                                   golub_kahan_svd, orthonormalise, reorthogonalise,
                                   residual_converged)


def products(A):
    return (lambda X: A @ X), (lambda Y: A.T @ Y)


def with_spectrum(rng, m, n, s):
    """An m x n matrix with the given singular values (random orthonormal vectors)."""
    U, _ = np.linalg.qr(rng.standard_normal((m, len(s))))
    V, _ = np.linalg.qr(rng.standard_normal((n, len(s))))
    return (U * s) @ V.T


def check_triplets(A, res, k, rtol):
    exact = np.linalg.svd(A, compute_uv=False)[:k]
    np.testing.assert_allclose(res.values, exact, rtol=rtol, atol=rtol * exact[0])
    # A v = s u exactly by construction; A^T u - s v is the reported residual
    np.testing.assert_allclose(A @ res.right, res.left * res.values, atol=1e-10 * exact[0])
    r = np.linalg.norm(A.T @ res.left - res.right * res.values, axis=0)
    np.testing.assert_allclose(res.residuals, r, atol=1e-12 * exact[0])


@pytest.mark.parametrize("shape,k,block", [((60, 60), 1, 1), ((60, 60), 4, None), ((80, 25), 3, 2),
                                           ((25, 80), 3, 5), ((50, 40), 6, 16), ((7, 7), 7, 3)])
def test_matches_numpy_svd(rng, shape, k, block):
    A = rng.standard_normal(shape)
    mat, rmat = products(A)
    res = golub_kahan_svd(mat, rmat, shape, k, tol=1e-11, block_size=block, rng=0)
    assert res.converged and res.values.shape == (k,)
    assert np.all(res.residuals <= 1e-11 * res.values[0])
    check_triplets(A, res, k, 1e-10)


def test_rank_deficient_operator_gets_exact_zeros(rng):
    A = with_spectrum(rng, 40, 30, [5.0, 2.0, 1.0])              # rank 3
    mat, rmat = products(A)
    res = golub_kahan_svd(mat, rmat, A.shape, 5, block_size=4, rng=0)
    assert res.converged
    np.testing.assert_allclose(res.values[:3], [5.0, 2.0, 1.0], rtol=1e-12)
    np.testing.assert_array_equal(res.values[3:], 0.0)
    np.testing.assert_array_equal(res.left[:, 3:], 0.0)
    np.testing.assert_allclose(res.values, np.linalg.svd(A, compute_uv=False)[:5], atol=1e-13)
    zero = golub_kahan_svd(*products(np.zeros((6, 4))), (6, 4), 2, rng=0)
    np.testing.assert_array_equal(zero.values, [0.0, 0.0])
    assert zero.converged


def test_clustered_spectrum(rng):
    # three singular values within 2e-8 of each other, then a gap
    s = np.concatenate([10.0 * (1 - np.array([0.0, 1e-8, 2e-8])), np.linspace(5.0, 0.1, 57)])
    A = with_spectrum(rng, 90, 60, s)
    res = golub_kahan_svd(*products(A), A.shape, 3, tol=1e-12, block_size=4, rng=1)
    assert res.converged
    exact = np.linalg.svd(A, compute_uv=False)[:3]
    # each Ritz value is within its residual of a singular value: far below the cluster width
    np.testing.assert_allclose(res.values, exact, rtol=0, atol=1e-11 * exact[0])
    check_triplets(A, res, 3, 1e-12)
    # the three vectors span the cluster's invariant subspace
    U = np.linalg.svd(A)[0][:, :3]
    np.testing.assert_allclose(np.linalg.svd(U.T @ res.left, compute_uv=False), 1.0, atol=1e-6)


def test_thick_restarts_and_value_criterion(rng):
    A = rng.standard_normal((120, 100))
    exact = np.linalg.svd(A, compute_uv=False)[:2]
    full = golub_kahan_svd(*products(A), A.shape, 2, block_size=4, max_basis=10 ** 6, rng=0)
    tight = golub_kahan_svd(*products(A), A.shape, 2, block_size=4, max_basis=16, maxiter=200, rng=0)
    assert tight.passes > full.passes
    for res in (full, tight):
        assert res.converged
        np.testing.assert_allclose(res.values, exact, rtol=1e-10)
        np.testing.assert_allclose(res.right.T @ res.right, np.eye(2), atol=1e-10)
    val = golub_kahan_svd(*products(A), A.shape, 1, criterion="value", tol=1e-12, block_size=1,
                          keep=1, max_basis=2, maxiter=10 ** 4, rng=0)
    np.testing.assert_allclose(val.values, exact[:1], rtol=1e-9)


def test_start_block_is_used(rng):
    A = with_spectrum(rng, 30, 30, np.linspace(3.0, 1.0, 30))
    V = np.linalg.svd(A)[2][:2].T                                # the exact top right vectors
    res = golub_kahan_svd(*products(A), A.shape, 2, start=V)
    assert res.converged and res.passes == 2                    # one step: already invariant
    np.testing.assert_allclose(res.values, [3.0, 3.0 - 2.0 / 29], rtol=1e-13)


def test_non_convergence_names_maxiter_and_tol(rng):
    A = rng.standard_normal((200, 200))
    with pytest.raises(spectra.ConvergenceError, match=r"tol=1e-14 within maxiter=1 .*increase `maxiter`"):
        golub_kahan_svd(*products(A), A.shape, 3, tol=1e-14, maxiter=1, rng=0)
    res = golub_kahan_svd(*products(A), A.shape, 3, tol=1e-14, maxiter=1, rng=0, strict=False)
    assert not res.converged and res.values.shape == (3,) and res.passes == 2
    with pytest.raises(spectra.ConvergenceError, match="increase `max_blocks`"):
        golub_kahan_svd(*products(A), A.shape, 3, tol=1e-14, maxiter=1, rng=0, maxiter_name="max_blocks")


def test_result_is_a_result():
    res = golub_kahan_svd(*products(np.diag([3.0, 2.0, 1.0])), (3, 3), 2, rng=0)
    assert isinstance(res, TopSingularValues) and isinstance(res, spectra._core.results.Result)
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert set(d) == {"values", "residuals", "converged", "passes", "single_passes"}
    assert repr(res).startswith("TopSingularValues(values=")
    with pytest.raises(AttributeError):
        res.values = None


_A = np.eye(4)
_M, _R = products(_A)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"matmat": None}, TypeError, "`matmat` and `rmatmat` must be callables"),
    ({"shape": 4}, TypeError, "`shape` must be a pair"),
    ({"shape": (0, 4)}, ValueError, "`shape` must be positive"),
    ({"k": 0}, ValueError, "`k` must be >= 1"),
    ({"k": 5}, ValueError, "`k` must be <= 4"),
    ({"k": 1.5}, TypeError, "`k` must be an integer"),
    ({"tol": 0.0}, ValueError, "`tol` must be in"),
    ({"block_size": 0}, ValueError, "`block_size` must be >= 1"),
    ({"maxiter": 0}, ValueError, "`maxiter` must be >= 1"),
    ({"max_basis": 2.5}, TypeError, "`max_basis` must be an integer"),
    ({"keep": 1, "k": 2}, ValueError, "`keep` must be >= 2"),
    ({"criterion": "ritz"}, ValueError, "`criterion` must be one of"),
    ({"start": np.ones((3, 2))}, ValueError, r"`start` must have shape \(4, b\)"),
    ({"rng": "x"}, TypeError, "`rng` must be an int seed"),
])
def test_bad_arguments(kwargs, exc, match):
    args = {"matmat": _M, "rmatmat": _R, "shape": (4, 4), "k": 1}
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        golub_kahan_svd(args.pop("matmat"), args.pop("rmatmat"), args.pop("shape"), args.pop("k"), **args)


# -- the shared parts ------------------------------------------------------------------------


def test_reorthogonalise_block_and_columnwise(rng):
    B1, _ = np.linalg.qr(rng.standard_normal((20, 5)))
    B = [B1[:, :2], B1[:, 2:]]
    X = rng.standard_normal((20, 3))
    Y, C = reorthogonalise(X, B)
    np.testing.assert_allclose(B1.T @ Y, 0.0, atol=1e-14)
    np.testing.assert_allclose(Y + B[0] @ C[0] + B[1] @ C[1], X, atol=1e-14)
    # columnwise, complex: column j of X against column j of each basis array
    Q = np.linalg.qr(rng.standard_normal((3, 20, 20)) + 1j * rng.standard_normal((3, 20, 20)))[0]
    basis = [Q[:, :, i].T for i in range(2)]           # basis[i][:, j] = column i of Q[j]
    Z = rng.standard_normal((20, 3)) + 1j * rng.standard_normal((20, 3))
    W, H = reorthogonalise(Z, basis, columnwise=True)
    np.testing.assert_array_equal(reorthogonalise(Z, basis, columnwise=True, coefficients=False)[0], W)
    for j in range(3):
        np.testing.assert_allclose(Q[j][:, :2].conj().T @ W[:, j], 0.0, atol=1e-14)
        np.testing.assert_allclose(W[:, j] + Q[j][:, :2] @ H[:, j], Z[:, j], atol=1e-14)


def test_orthonormalise_drops_dependent_directions(rng):
    B, _ = np.linalg.qr(rng.standard_normal((10, 2)))
    X = np.column_stack([B[:, 0] * 3.0, rng.standard_normal(10), B @ [1.0, 2.0]])
    Q, C, R = orthonormalise(X, [B], room=10)
    assert Q.shape == (10, 1)
    np.testing.assert_allclose(B @ C[0] + Q @ R, X, atol=1e-13)
    Q1, _, R1 = orthonormalise(rng.standard_normal((10, 1)), [B], room=0)
    assert Q1.shape == (10, 0) and R1.shape == (0, 1)


def test_bidiagonal_top_ritz_against_svd(rng):
    m, k = 4, 6
    alpha, beta = rng.random((m, k)) + 0.1, rng.random((m, k))
    theta, x, res = bidiagonal_top_ritz(alpha, beta)
    y = bidiagonal_partner(alpha, beta, x)
    for i in range(m):
        Bk = np.diag(alpha[i]) + np.diag(beta[i, :-1], 1)
        u, s, vh = np.linalg.svd(Bk)
        assert theta[i] == pytest.approx(s[0], rel=1e-14)
        np.testing.assert_allclose(np.abs(x[i]), np.abs(u[:, 0]), atol=1e-12)
        np.testing.assert_allclose(y[i], Bk.T @ x[i], atol=1e-14)
        assert res[i] == pytest.approx(beta[i, -1] * abs(u[-1, 0]), rel=1e-10)


def test_convergence_tests():
    np.testing.assert_array_equal(residual_converged(np.array([0.5, 2.0]), 10.0, 0.1), [True, False])
    th, rn, gap = np.array([4.0, 4.0, 0.0]), np.array([1e-7, 1e-3, 0.0]), np.array([3.0, 3.0, 1.0])
    arr = eigenvalue_certified(th, rn, gap, 1e-11)
    np.testing.assert_array_equal(arr, [True, False, False])
    assert [bool(eigenvalue_certified(float(a), float(b), float(c), 1e-11))
            for a, b, c in zip(th, rn, gap)] == arr.tolist()
