"""Mixed-precision top-k (issue 19 item 6): single-precision passes, float64 anchors and certificate.

Truth: the dense SVD of the product (formed in float64), residuals recomputed from the dense
product, and the float64 operator for the single-precision block products.
"""

import numpy as np
import pytest
from scipy.sparse.linalg import aslinearoperator

import spectra
from spectra.jacobians.single import block_products32
from spectra.linalg.mixed import mixed_golub_kahan_svd


def _check_certified(A, res, k, tol=1e-10, computed=True):
    """Values against the dense SVD, and the residuals recomputed from A.

    ``computed``: the residuals come from a float64 product ``A^T U`` (the mixed certificate),
    so they equal the recomputed ones to rounding; else (the float64 kernel finished) they come
    from its Gram-Schmidt coefficients, and the recomputed ones must still meet ``tol``.
    """
    exact = np.linalg.svd(A, compute_uv=False)[:k]
    s1 = exact[0]
    assert res.converged and res.values.shape == (k,)
    assert np.all(res.residuals <= tol * res.values[0])
    # A v = sigma u holds exactly (by construction), A^T u - sigma v is the reported residual
    np.testing.assert_allclose(A @ res.right, res.left * res.values, rtol=0, atol=1e-12 * s1)
    r = np.linalg.norm(A.T @ res.left - res.right * res.values, axis=0)
    if computed:
        np.testing.assert_allclose(res.residuals, r, rtol=0, atol=1e-12 * s1)
    assert np.all(r <= tol * s1)
    # each value within its (true) residual of a singular value: here, of the i-th one
    assert np.all(np.abs(res.values - exact) <= r + 1e-13 * s1)
    np.testing.assert_allclose(res.right.T @ res.right, np.eye(k), atol=1e-10)


@pytest.mark.parametrize("n, steps, k", [(128, 40, 6), (256, 30, 3), (200, 60, 1)])
def test_mixed_top_singular_values_of_a_trajectory_against_the_dense_svd(n, steps, k):
    traj = spectra.ElmanRNN.random(n, gain=1.2, rng=n).run(
        steps=steps, h0=np.random.default_rng(1).standard_normal(n))
    res = spectra.top_singular_values(traj.operator(), k, rng=0, precision="mixed")
    _check_certified(traj.product(), res, k)
    # the mixed path was taken and did the bulk of the work in single precision
    assert res.single_passes > 0
    assert res.single_passes >= res.passes - res.single_passes


def test_mixed_backprop_layout_and_a_span():
    n = 150
    traj = spectra.ElmanRNN.random(n, gain=1.3, rng=3).run(steps=40, h0=np.ones(n))
    op = traj.operator(35, 5, layout="backprop")
    res = spectra.top_singular_values(op, 4, rng=1, precision="mixed")
    _check_certified(traj.product(35, 5).T, res, 4)
    assert res.single_passes > 0


def test_mixed_top_singular_values_of_dense_rectangular_matrices(rng):
    for shape in ((300, 200), (180, 260)):
        A = rng.standard_normal(shape) * 1e120            # far outside float32's range
        res = spectra.top_singular_values(A, 5, rng=0, precision="mixed")
        _check_certified(A, res, 5)
        assert res.single_passes > 0


def test_the_certificate_never_depends_on_the_single_precision_products(rng):
    A = rng.standard_normal((240, 240)) / 16
    exact = (lambda X: A @ X), (lambda Y: A.T @ Y)
    # products in error by 1e-4 of ||A||: anchors and the float64 certificate absorb it
    noise = np.random.default_rng(7)

    def noisy(M):
        return lambda X: M @ X + 1e-4 * np.linalg.norm(A, 2) * noise.standard_normal((M.shape[0], X.shape[1]))

    res = mixed_golub_kahan_svd(*exact, noisy(A), noisy(A.T), A.shape, 4, rng=0)
    _check_certified(A, res, 4)
    # single-precision "products" that are plain wrong: the float64 kernel takes over
    wrong = (lambda X: np.zeros((240, X.shape[1]))), (lambda Y: rng.standard_normal((240, Y.shape[1])))
    res = mixed_golub_kahan_svd(*exact, *wrong, A.shape, 4, rng=0)
    _check_certified(A, res, 4)


def test_mixed_reports_rank_and_zero_singular_values_like_float64(rng):
    U, _ = np.linalg.qr(rng.standard_normal((120, 3)))
    V, _ = np.linalg.qr(rng.standard_normal((100, 3)))
    A = (U * [3.0, 2.0, 1.0]) @ V.T                       # rank 3
    res = spectra.top_singular_values(A, 5, rng=0, precision="mixed")
    np.testing.assert_allclose(res.values, [3.0, 2.0, 1.0, 0.0, 0.0], atol=1e-10)
    assert res.converged


@pytest.mark.parametrize("layout", ["numerator", "backprop"])
@pytest.mark.parametrize("fields", ["row", "col", "row+shift", "col+shift"])
def test_block_products32_against_the_float64_product(rng, fields, layout):
    n, T = 90, 25
    W = rng.standard_normal((n, n)) * 1.3 / np.sqrt(n)
    kw = {}
    if "row" in fields:
        kw["row"] = rng.uniform(0.1, 1.0, (T, n))
    if "col" in fields:
        kw["col"] = rng.uniform(0.1, 1.0, (T, n))
    if "shift" in fields:
        kw["shift"] = 0.7
    seq = spectra.ScaledJacobians(W, **kw)
    t, k = 22, 3
    dense = np.eye(n)
    for s in range(k + 1, t + 1):
        dense = seq.matrix(s) @ dense
    if layout == "backprop":
        dense = dense.T
    mat, rmat = block_products32(seq, t, k, layout)
    X = rng.standard_normal((n, 7))
    for got, want in ((mat(X), dense @ X), (rmat(X), dense.T @ X)):
        assert got.dtype == np.float64
        err = np.linalg.norm(got - want, axis=0) / np.linalg.norm(want, axis=0)
        assert np.all(err < 1e-5)                          # float32: ~1e-7 per step


def test_block_products32_stays_in_float32_range_column_by_column(rng):
    # a product that grows by 2^3 per step: 2^300 after 100 steps (float32 ends at 2^128)
    n, T = 60, 100
    Qm, _ = np.linalg.qr(rng.standard_normal((n, n)))
    seq = spectra.ScaledJacobians(8.0 * Qm, row=rng.uniform(0.9, 1.0, (T, n)))
    mat, rmat = block_products32(seq, T, 0)
    X = rng.standard_normal((n, 4)) * np.array([1e-200, 1e-30, 1.0, 1e100])   # columns far apart
    for f, g in ((mat, lambda Z: seq.apply(T, 0, Z)), (rmat, lambda Z: seq.rapply(T, 0, Z))):
        got, want = f(X), g(X)
        assert np.all(np.isfinite(got))
        m = np.max(np.abs(want), axis=0)                   # column scales (no overflow in norms)
        err = np.linalg.norm((got - want) / m, axis=0) / np.linalg.norm(want / m, axis=0)
        assert np.all(err < 1e-5)


def test_block_products32_only_for_one_shared_w(rng):
    dense = spectra.DenseJacobians(rng.standard_normal((5, 6, 6)))
    assert block_products32(dense, 5, 0) is None
    stacked = spectra.ScaledJacobians(rng.standard_normal((2, 6, 6)), row=np.ones((2, 5, 6)))
    assert block_products32(stacked, 5, 0) is None
    huge = spectra.ScaledJacobians(np.full((4, 4), 1e30), row=np.ones((3, 4)))
    assert block_products32(huge, 3, 0) is None                 # beyond float32's comfort


def test_precision_option_is_checked():
    with pytest.raises(ValueError, match="precision"):
        spectra.top_singular_values(np.eye(5), 2, precision="half")
    op = aslinearoperator(np.eye(30))
    with pytest.raises(ValueError, match=r"precision='mixed'.*single-precision form"):
        spectra.top_singular_values(op, 2, precision="mixed")


def test_mixed_with_a_block_smaller_than_k_and_a_small_basis(rng):
    A = rng.standard_normal((160, 140))
    res = spectra.top_singular_values(A, 5, block_size=2, rng=0, precision="mixed")
    _check_certified(A, res, 5, computed=False)
    # a basis capped at 12 vectors: the float64 kernel finishes from the best Ritz vectors
    res = spectra.top_singular_values(A, 3, block_size=4, max_basis=12, max_blocks=500, rng=0,
                                      precision="mixed")
    _check_certified(A, res, 3, computed=False)
    assert res.single_passes > 0


def test_mixed_non_convergence_is_reported_in_the_callers_terms(rng):
    A = rng.standard_normal((200, 200))
    with pytest.raises(spectra.ConvergenceError, match="max_blocks"):
        spectra.top_singular_values(A, 3, tol=1e-14, max_basis=8, max_blocks=1, rng=0,
                                    precision="mixed")
    res = spectra.top_singular_values(A, 3, tol=1e-14, max_basis=8, max_blocks=1, rng=0,
                                      precision="mixed", strict=False)
    assert not res.converged and res.single_passes > 0
