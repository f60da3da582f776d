"""The optional single-precision mode (issue 19 item 7): ``dtype="float32"``.

Tolerances: a chain of L float32 products (inner dimension n) has a forward error,
relative to the product of the norms, of about ``L * sqrt(n) * u`` with
``u = 2^-24`` (probabilistic rounding-error growth of the inner products,
Higham & Mary 2019), plus the cast of each step matrix (another ``L * u``).
The tests allow the stated growth factor ``GROWTH = 4`` on top of
``L * (sqrt(n) + 1) * u``, and check that the error is far above float64
rounding (so single precision was really used).
"""

import numpy as np
import pytest

import spectra
from spectra.jacobians.kernels import chain_product, rescale

U32 = float(np.finfo(np.float32).eps) / 2
U64 = float(np.finfo(np.float64).eps) / 2
GROWTH = 4.0


def _bound(steps, n):
    return GROWTH * steps * (np.sqrt(n) + 1.0) * U32


@pytest.fixture(scope="module")
def traj():
    rng = np.random.default_rng(3)
    n, T = 48, 150
    cell = spectra.ElmanRNN.random(n, init="gaussian", gain=1.2, input_size=n, rng=rng)
    return cell.run(rng.standard_normal((T, n)), h0=rng.standard_normal(n))


def test_product_float32_within_the_float32_bound(traj):
    n, T = traj.n, traj.steps
    ref = traj.product()
    got = traj.product(dtype="float32")
    assert got.dtype == np.float64 and got.shape == ref.shape
    err = np.linalg.norm(got - ref) / np.linalg.norm(ref)
    assert err < _bound(T, n)
    assert err > 100 * T * U64               # single precision was really used


def test_product_float32_subspan_and_backprop_layout(traj):
    ref = traj.product(90, 30, layout="backprop")
    got = traj.product(90, 30, layout="backprop", dtype=np.float32)
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < _bound(60, traj.n)


def test_default_is_float64_bit_for_bit(traj):
    seq = traj.jacobian_sequence
    P, e = chain_product(seq, traj.steps, 0)
    want = rescale(P, np.asarray(e), traj.steps, 0)
    assert np.array_equal(traj.product(), want)
    assert np.array_equal(traj.product(dtype="float64"), want)
    for ord in (2, "fro"):
        a = spectra.gradient_norm_profile(traj, ord=ord).log_norms
        b = spectra.gradient_norm_profile(traj, ord=ord, dtype="float64").log_norms
        assert np.array_equal(a, b)


@pytest.mark.parametrize("ord", [2, "fro"])
def test_profile_float32_within_the_float32_bound(traj, ord):
    n, T = traj.n, traj.steps
    ref = spectra.gradient_norm_profile(traj, ord=ord).log_norms
    got = spectra.gradient_norm_profile(traj, ord=ord, dtype="float32").log_norms
    lags = np.arange(1, T + 1)
    err = np.abs(got - ref)
    assert np.all(err < _bound(lags, n))        # |log(x~) - log(x)| ~ relative error of x
    assert np.max(err) > 100 * U64


@pytest.mark.parametrize("ord", [2, "fro"])
def test_profile_float32_far_beyond_the_float32_range(ord):
    # gain 0.5 for 600 steps: the norms fall to about e^-400, far below float32's 1e-38;
    # the power-of-two rescaling keeps the float32 products in range
    rng = np.random.default_rng(5)
    n, T = 40, 600
    cell = spectra.ElmanRNN.random(n, init="gaussian", gain=0.5, input_size=n, rng=rng)
    traj = cell.run(rng.standard_normal((T, n)), h0=rng.standard_normal(n))
    ref = spectra.gradient_norm_profile(traj, ord=ord).log_norms
    got = spectra.gradient_norm_profile(traj, ord=ord, dtype="float32").log_norms
    assert ref[-1] < np.log(1e-38)
    assert np.all(np.isfinite(got))
    assert np.all(np.abs(got - ref) < _bound(np.arange(1, T + 1), n))


def test_profile_float32_small_n_uses_dense_svd():
    # n <= 16: the exact sigma_max of the float32 product, checked against float64
    rng = np.random.default_rng(2)
    J = rng.standard_normal((80, 6, 6)) / np.sqrt(6)
    ref = spectra.gradient_norm_profile(J).log_norms
    got = spectra.gradient_norm_profile(J, dtype="float32").log_norms
    assert np.all(np.abs(got - ref) < _bound(np.arange(1, 81), 6))


def test_bad_dtype_names_dtype(traj):
    for bad in ("float16", "int32", "double-ish", 3):
        with pytest.raises(ValueError, match="`dtype`"):
            traj.product(dtype=bad)
        with pytest.raises(ValueError, match="`dtype`"):
            spectra.gradient_norm_profile(traj, dtype=bad)


def test_float32_needs_a_single_square_sequence(traj):
    J = np.random.default_rng(0).standard_normal((2, 5, 4, 4))
    with pytest.raises(ValueError, match="dtype='float32'"):
        spectra.gradient_norm_profile(J, dtype="float32")
    with pytest.raises(ValueError, match="dtype='float32'"):
        spectra.as_jacobian_sequence(J).product(dtype="float32")
    with pytest.raises(ValueError, match="dtype='float32'"):
        spectra.gradient_norm_profile(traj, vector=np.ones(traj.n), dtype="float32")


def test_diagonal_profile_is_exact_whatever_dtype():
    d = np.random.default_rng(1).uniform(0.5, 1.5, (50, 7))
    seq = spectra.DiagonalJacobians(d) if hasattr(spectra, "DiagonalJacobians") else None
    if seq is None:
        pytest.skip("DiagonalJacobians not exported")
    a = spectra.gradient_norm_profile(seq, ord="fro").log_norms
    b = spectra.gradient_norm_profile(seq, ord="fro", dtype="float32").log_norms
    assert np.array_equal(a, b)


@pytest.mark.parametrize("cls", ["ElmanRNN", "RecurrentFirstRNN", "LeakyRNN"])
def test_step_operator32_matches_the_step_matrices(cls):
    from spectra.jacobians.kernels import step_operator32

    rng = np.random.default_rng(4)
    cell = getattr(spectra, cls).random(9, input_size=3, rng=rng)
    seq = cell.run(rng.standard_normal((6, 3)), h0=rng.standard_normal(9)).jacobian_sequence
    P = rng.standard_normal((9, 9)).astype(np.float32)
    for side in ("left", "right"):
        apply, _ = step_operator32(seq, side)
        for s in (1, 4, 6):
            J = seq.matrix(s)
            want = J @ P if side == "left" else P @ J
            got = apply(s, P)
            assert got.dtype == np.float32
            scale = np.linalg.norm(J) * np.linalg.norm(P)
            assert np.linalg.norm(got - want) < GROWTH * (np.sqrt(9) + 1) * U32 * scale
