"""The analysis routines run on LSTM, GRU and MLP trajectories unchanged (issue 5, item 5).

They reach the cells only through the JacobianSequence interface; each check here compares
with explicit dense products.  Skipped while the routines are not in the package.
"""

import numpy as np
import pytest

import spectra
from spectra import init


def _need(name):
    if not hasattr(spectra, name):
        pytest.skip(f"spectra.{name} is not available in this tree")
    return getattr(spectra, name)


def _mp_log_singular_values(mats):
    """log singular values of mats[-1] @ ... @ mats[0] at 60 digits (mpmath ships with sympy)."""
    import mpmath

    with mpmath.workdps(60):
        P = mpmath.eye(mats[0].shape[1])
        for M in mats:
            P = mpmath.matrix(M.tolist()) * P
        s = mpmath.svd_r(P, compute_uv=False)
        return np.sort([float(mpmath.log(x)) for x in s])[::-1]


def _runs(rng):
    lstm = spectra.LSTM.random(4, input_size=2, gain=2.0, rng=rng).run(rng.standard_normal((15, 2)))
    gru = spectra.GRU.random(4, input_size=2, gain=2.0, rng=rng).run(rng.standard_normal((15, 2)))
    return {"lstm": lstm, "gru": gru}


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradient_norm_profile_on_gated_cells(rng, kind):
    profile = _need("gradient_norm_profile")
    traj = _runs(rng)[kind]
    T = traj.steps
    prof = profile(traj)
    np.testing.assert_array_equal(prof.lags, np.arange(1, T + 1))
    exact = [np.log(np.linalg.norm(traj.product(T, T - lag), 2)) for lag in range(1, T + 1)]
    np.testing.assert_allclose(prof.log_norms, exact, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_log_singular_values_and_lyapunov_sum_on_gated_cells(rng, kind):
    plsv = _need("product_log_singular_values")
    lyap = _need("lyapunov_spectrum")
    traj = _runs(rng)[kind]
    # the dense float64 product would lose the small singular values (spread e^-2 .. e^-50)
    exact = _mp_log_singular_values(list(traj.jacobians()[3:12]))
    np.testing.assert_allclose(plsv(traj, t=12, k=3), exact, rtol=1e-9, atol=1e-9)
    seq = traj.jacobian_sequence
    res = lyap(traj)
    mean_logdet = np.mean([seq.logabsdet(t) for t in range(1, traj.steps + 1)])
    assert np.sum(res.exponents) == pytest.approx(mean_logdet, rel=1e-9, abs=1e-9)


def test_rectangular_mlp_in_the_analysis_routines(rng):
    plsv = _need("product_log_singular_values")
    profile = _need("gradient_norm_profile")
    lyap = _need("lyapunov_spectrum")
    net = spectra.MLP([init.gaussian(m, k, rng=rng) for k, m in [(3, 6), (6, 5), (5, 2)]])
    traj = net.run(rng.standard_normal(3))
    P = traj.product()
    np.testing.assert_allclose(plsv(traj), np.log(np.linalg.svd(P, compute_uv=False)), rtol=1e-10)
    prof = profile(traj)
    exact = [np.log(np.linalg.norm(traj.product(3, 3 - lag), 2)) for lag in (1, 2, 3)]
    np.testing.assert_allclose(prof.log_norms, exact, rtol=1e-9)
    with pytest.raises(ValueError, match="needs square step Jacobians"):
        lyap(traj)
