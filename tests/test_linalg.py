"""spectra.linalg: norms, radii, per-step spectra, matrix-free top-k singular values."""

import numpy as np
import pytest
from scipy.sparse.linalg import aslinearoperator

import spectra
from spectra import init


def test_spectral_norm_methods_agree(rng):
    W = rng.standard_normal((30, 20))
    exact = np.linalg.svd(W, compute_uv=False)[0]
    assert spectra.spectral_norm(W) == pytest.approx(exact, rel=1e-14)
    assert spectra.spectral_norm(W, method="power", rng=0) == pytest.approx(exact, rel=1e-9)
    assert spectra.spectral_norm(W, method="lanczos", rng=0) == pytest.approx(exact, rel=1e-10)
    op = aslinearoperator(W)
    assert spectra.spectral_norm(op, method="lanczos", rng=0) == pytest.approx(exact, rel=1e-10)
    stack = rng.standard_normal((4, 5, 5))
    np.testing.assert_allclose(spectra.spectral_norm(stack), [np.linalg.norm(A, 2) for A in stack])


def test_power_method_reports_non_convergence():
    W = np.diag([1.0, 0.999999, 0.5])          # nearly equal top singular values
    with pytest.raises(spectra.ConvergenceError, match="increase `maxiter`"):
        spectra.spectral_norm(W, method="power", maxiter=3, rng=0)


def test_spectral_norm_of_a_trajectory_operator(rng):
    traj = spectra.ElmanRNN(init.gaussian(40, gain=1.2, rng=rng)).run(steps=30, h0=rng.standard_normal(40))
    exact = np.linalg.norm(traj.product(), 2)
    assert spectra.spectral_norm(traj.operator(), method="lanczos", rng=1) == pytest.approx(exact, rel=1e-10)
    with pytest.raises(TypeError, match="method='exact' needs a dense matrix"):
        spectra.spectral_norm(traj.operator())


def test_spectral_radius(rng):
    W = rng.standard_normal((25, 25))
    exact = np.max(np.abs(np.linalg.eigvals(W)))
    assert spectra.spectral_radius(W) == pytest.approx(exact, rel=1e-13)
    assert spectra.spectral_radius(aslinearoperator(W), rng=0) == pytest.approx(exact, rel=1e-9)
    # rotation: radius 1 while the entries are all of modulus <= 1
    assert spectra.spectral_radius(init.orthogonal(7, rng=2)) == pytest.approx(1.0, rel=1e-13)


def test_condition_numbers_and_per_step_spectra(rng):
    traj = spectra.LeakyRNN(init.gaussian(6, gain=1.5, rng=rng), alpha=0.3).run(steps=70, h0=rng.standard_normal(6))
    Js = traj.jacobians()
    lam = spectra.step_eigenvalues(traj)
    assert lam.shape == (70, 6) and lam.dtype == complex
    for t in (0, 33, 69):
        np.testing.assert_allclose(np.sort_complex(lam[t]), np.sort_complex(np.linalg.eigvals(Js[t])), atol=1e-12)
        assert np.all(np.diff(np.abs(lam[t])) <= 1e-12)
    sv = spectra.step_singular_values(traj)
    np.testing.assert_allclose(sv, np.linalg.svd(Js, compute_uv=False), rtol=1e-13)
    c = spectra.step_condition_numbers(traj)
    np.testing.assert_allclose(c, sv[:, 0] / sv[:, -1], rtol=1e-12)
    assert spectra.condition_number(np.diag([1.0, 0.0])) == np.inf


@pytest.mark.parametrize("k", [1, 6])
def test_top_singular_values_through_the_operator(rng, k):
    n, T = 120, 25
    traj = spectra.ElmanRNN(init.gaussian(n, gain=1.3, rng=rng)).run(steps=T, h0=rng.standard_normal(n))
    res = spectra.top_singular_values(traj.operator(), k, rng=0)
    assert res.converged
    exact = np.linalg.svd(traj.product(), compute_uv=False)[:k]
    np.testing.assert_allclose(res.values, exact, rtol=1e-9)
    P = traj.product()
    # the returned vectors are singular vectors: P v = s u
    np.testing.assert_allclose(P @ res.right, res.left * res.values, atol=1e-8 * exact[0])
    assert np.all(res.residuals <= 1e-10 * exact[0])


def test_top_singular_values_reports_non_convergence(rng):
    A = rng.standard_normal((200, 200))
    with pytest.raises(spectra.ConvergenceError, match="increase `max_blocks`"):
        spectra.top_singular_values(A, 3, max_blocks=1, tol=1e-14, rng=0)
    res = spectra.top_singular_values(A, 3, max_blocks=1, tol=1e-14, rng=0, strict=False)
    assert not res.converged and res.values.shape == (3,)


def test_top_singular_values_small_and_exact_cases():
    A = np.diag(np.arange(1.0, 6.0))
    res = spectra.top_singular_values(A, 5, rng=0)
    np.testing.assert_allclose(res.values, [5, 4, 3, 2, 1], rtol=1e-12)
    res = spectra.top_singular_values(np.zeros((4, 3)), 2, rng=0)
    np.testing.assert_array_equal(res.values, [0.0, 0.0])


@pytest.mark.parametrize("shape,k", [((5, 30), 3), ((30, 5), 3), ((3, 40), 3), ((40, 7), 7), ((8, 8), 8)])
def test_top_singular_values_of_wide_and_tall_matrices_converge_by_default(rng, shape, k):
    # the default block budget must let the longer side catch up with the shorter one
    # (issue 10: a 5 x 30 matrix used to stop after one block, unconverged)
    A = rng.standard_normal(shape)
    res = spectra.top_singular_values(A, k, tol=1e-10, rng=0)
    assert res.converged
    np.testing.assert_allclose(res.values, np.linalg.svd(A, compute_uv=False)[:k], rtol=1e-10)


def test_top_singular_values_refuses_an_overflowing_operator(rng):
    # 50^300 overflows float64: the operator's products are inf; the answer must not be zeros
    W = init.orthogonal(6, gain=50.0, rng=rng)
    seq = spectra.as_jacobian_sequence(np.broadcast_to(W, (300, 6, 6)))
    with pytest.raises(spectra.NumericalError, match="not finite"):
        spectra.top_singular_values(seq.operator(), 2, rng=0)


def test_top_singular_values_with_thick_restarts(rng):
    """A tiny basis cap forces many restarts; the answer and its certificate are unchanged."""
    n, T = 150, 20
    traj = spectra.ElmanRNN(init.gaussian(n, gain=1.3, rng=rng)).run(steps=T, h0=rng.standard_normal(n))
    P = traj.product()
    exact = np.linalg.svd(P, compute_uv=False)[:6]
    full = spectra.top_singular_values(traj.operator(), 6, rng=0, block_size=8, max_basis=10 ** 6)
    tight = spectra.top_singular_values(traj.operator(), 6, rng=0, block_size=8, max_basis=30)
    assert tight.passes > full.passes          # restarts happened and cost some passes
    for res in (full, tight):
        assert res.converged
        np.testing.assert_allclose(res.values, exact, rtol=1e-10)
        np.testing.assert_allclose(P @ res.right, res.left * res.values, atol=1e-9 * exact[0])
        np.testing.assert_allclose(P.T @ res.left, res.right * res.values, atol=1e-9 * exact[0])
        np.testing.assert_allclose(res.right.T @ res.right, np.eye(6), atol=1e-10)


@pytest.mark.parametrize("kwargs,exc", [({"max_basis": 0}, ValueError), ({"block_size": 0}, ValueError),
                                        ({"max_basis": 2.5}, TypeError)])
def test_top_singular_values_bad_options(kwargs, exc):
    with pytest.raises(exc):
        spectra.top_singular_values(np.eye(5), 2, **kwargs)
