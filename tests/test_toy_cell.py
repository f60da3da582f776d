"""A cell defined here, through the cell protocol and the registry alone, runs through
the analyses and the command line with no change anywhere else.

The toy is a diagonal linear cell, h_t = d * h_{t-1} + W_in x_t, whose answers are
known in closed form: J_t = diag(d) for every t, so

* the Lyapunov exponents are log|d_i|, sorted;
* ||dh_t/dh_{t-lag}||_2 = max|d|^lag;
* its classic form is f(W h + W_in x) with W = diag(d) and f the identity, so the
  classic bound gamma_W^lag with gamma_W = max|d| is attained exactly.
"""

import json
import math

import numpy as np
import pytest

import spectra
from spectra.cells import Recurrence, register_cell, unregister_cell

D = np.array([0.9, -0.5, 1.2, 0.3])


class DiagonalLinear(spectra.Cell):
    """h_t = d * h_{t-1} + W_in x_t."""

    def __init__(self, d, W_in=None):
        self.d = np.asarray(d, dtype=np.float64)
        self.n = self.d.size
        self.W_in = None if W_in is None else np.asarray(W_in, dtype=np.float64)
        self.input_size = 0 if W_in is None else self.W_in.shape[1]

    @classmethod
    def random(cls, n, *, input_size=0, gain=1.0, rng=None):
        gen = np.random.default_rng(rng)
        d = gain * np.linspace(-1.0, 1.0, n)
        return cls(d, gen.standard_normal((n, input_size)) if input_size else None)

    def input_drive(self, X, steps, batch_shape):
        if X is None:
            return np.zeros(batch_shape + (steps, self.n))
        return X @ self.W_in.T

    def advance(self, h, u):
        return self.d * h + u, None

    def factored_jacobians(self, states, aux):
        T = states.shape[-2] - 1
        return spectra.DenseJacobians(np.broadcast_to(np.diag(self.d), states.shape[:-2] + (T, self.n, self.n)))

    def parameters(self):
        return {"d": self.d, **({} if self.W_in is None else {"W_in": self.W_in})}

    def recurrence(self):
        return Recurrence("elman", np.diag(self.d), self.W_in, None, spectra.activation("identity"))


@pytest.fixture
def toy():
    register_cell("toy_diagonal")(DiagonalLinear)
    yield DiagonalLinear
    unregister_cell("toy_diagonal")


def _run(T=200, seed=0):
    gen = np.random.default_rng(seed)
    cell = DiagonalLinear(D, gen.standard_normal((4, 2)))
    return cell.run(gen.standard_normal((T, 2)), h0=gen.standard_normal(4))


def test_a_class_missing_a_hook_fails_at_construction_naming_it():
    class Incomplete(spectra.Cell):
        def input_drive(self, X, steps, batch_shape):
            return None

    with pytest.raises(TypeError, match="advance"):
        Incomplete()


def test_the_run_engine_drives_the_hooks():
    traj = _run(T=30)
    gen = np.random.default_rng(0)
    W_in, X, h = gen.standard_normal((4, 2)), gen.standard_normal((30, 2)), gen.standard_normal(4)
    for t in range(30):
        h = D * h + W_in @ X[t]
    np.testing.assert_allclose(traj.states[-1], h, rtol=1e-13)
    np.testing.assert_array_equal(traj.jacobian(7), np.diag(D))


def test_lyapunov_spectrum_is_log_abs_d():
    res = spectra.lyapunov_spectrum(_run())
    np.testing.assert_allclose(res.exponents, np.sort(np.log(np.abs(D)))[::-1], rtol=0, atol=1e-12)
    # the identity: the exponents sum to the mean log|det J|
    assert res.exponents.sum() == pytest.approx(np.log(np.abs(D)).sum(), abs=1e-12)


def test_gradient_norm_profile_is_max_abs_d_to_the_lag():
    prof = spectra.gradient_norm_profile(_run(T=120))
    np.testing.assert_allclose(prof.log_norms, prof.lags * math.log(1.2), rtol=1e-12)


def test_bound_report_takes_the_classic_form_from_the_protocol():
    rep = spectra.bound_report(_run(T=80))
    assert rep.gamma_W == pytest.approx(1.2, rel=1e-14) and rep.gamma_h == 1.0
    np.testing.assert_allclose(rep.classic, rep.lags * math.log(1.2), rtol=1e-12)
    np.testing.assert_allclose(rep.exact, rep.classic, rtol=1e-12)          # attained: tight
    assert np.all(rep.trajectory >= rep.exact - 1e-9)


def test_the_cli_builds_and_analyses_the_registered_cell(toy, capsys):
    from spectra.cli import main

    assert main(["lyapunov", "--cell", "toy-diagonal", "--size", "5", "--steps", "100",
                 "--gain", "0.8", "--json"]) in (0, None)
    data = json.loads(capsys.readouterr().out)
    d = 0.8 * np.linspace(-1.0, 1.0, 5)
    with np.errstate(divide="ignore"):
        expected = np.sort(np.log(np.abs(d)))[::-1]
    got = np.array([-np.inf if v == "-inf" else v for v in data["exponents"]])
    np.testing.assert_allclose(got[np.isfinite(expected)], expected[np.isfinite(expected)], atol=1e-12)
    assert np.array_equal(np.isfinite(got), np.isfinite(expected))

    assert main(["bound", "--cell", "toy_diagonal", "--size", "5", "--steps", "30", "--json"]) in (0, None)
    data = json.loads(capsys.readouterr().out)
    assert data["gamma_W"] == pytest.approx(1.0, rel=1e-14)      # gain 1: max|d| = 1
    assert data["network"]["cell"] == "toy-diagonal"                 # the CLI spelling


def test_the_registry_refuses_a_second_class_under_a_taken_name(toy):
    class Other(DiagonalLinear):
        pass

    with pytest.raises(ValueError, match="toy_diagonal"):
        register_cell("toy-diagonal")(Other)
    with pytest.raises(TypeError, match="Cell subclasses"):
        register_cell("not_a_cell")(int)
