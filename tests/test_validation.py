"""One table of bad arguments to public functions: each must raise the right
exception type with a message naming the argument."""

import numpy as np
import pytest

import spectra
from spectra import init

W3 = np.eye(3) * 0.5
NAN3 = np.array([[0.1, np.nan, 0.0], [0.0, 0.1, 0.0], [0.0, 0.0, 0.1]])


def _traj():
    return spectra.ElmanRNN(W3).run(steps=4, h0=np.ones(3))


BAD = [
    # cells
    ("ElmanRNN non-square", lambda: spectra.ElmanRNN(np.ones((4, 3))), ValueError, r"`W_hh` must be a square matrix; got shape \(4, 3\)"),
    ("ElmanRNN 1-D", lambda: spectra.ElmanRNN(np.ones(3)), ValueError, "`W_hh` must be a 2-D matrix"),
    ("ElmanRNN NaN", lambda: spectra.ElmanRNN(NAN3), ValueError, "`W_hh` must be finite; got 1 non-finite"),
    ("ElmanRNN complex", lambda: spectra.ElmanRNN(W3 + 1j), TypeError, "`W_hh` must be real"),
    ("ElmanRNN strings", lambda: spectra.ElmanRNN([["a"]]), TypeError, "`W_hh` must be an array of real numbers"),
    ("ElmanRNN None", lambda: spectra.ElmanRNN(None), TypeError, "`W_hh`"),
    ("ElmanRNN ragged", lambda: spectra.ElmanRNN([[1.0, 2.0], [3.0]]), ValueError, "`W_hh` must be a rectangular array"),
    ("ElmanRNN empty", lambda: spectra.ElmanRNN(np.zeros((0, 0))), ValueError, "`W_hh` must not be empty"),
    ("ElmanRNN W_hx rows", lambda: spectra.ElmanRNN(W3, np.ones((2, 5))), ValueError, "`W_hx` must have 3 rows"),
    ("ElmanRNN b length", lambda: spectra.ElmanRNN(W3, None, np.ones(4)), ValueError, "`b` must have length 3"),
    ("ElmanRNN activation", lambda: spectra.ElmanRNN(W3, activation="tanhh"), ValueError, "`activation` must be one of"),
    ("ElmanRNN activation type", lambda: spectra.ElmanRNN(W3, activation=np.tanh), TypeError, "`activation`"),
    ("ElmanRNN dtype", lambda: spectra.ElmanRNN(W3, dtype=np.int64), ValueError, "`dtype` must be float32 or float64"),
    ("RecurrentFirstRNN names W", lambda: spectra.RecurrentFirstRNN(np.ones((2, 3))), ValueError, "`W` must be a square"),
    ("RecurrentFirstRNN names W_in", lambda: spectra.RecurrentFirstRNN(W3, np.ones((4, 1))), ValueError, "`W_in` must have 3 rows"),
    ("LeakyRNN alpha range", lambda: spectra.LeakyRNN(W3, alpha=1.5), ValueError, r"`alpha` must lie in \[0, 1\]"),
    ("LeakyRNN alpha length", lambda: spectra.LeakyRNN(W3, alpha=[0.1, 0.2]), ValueError, "`alpha` must be a scalar or have length 3"),
    ("LeakyRNN alpha bool", lambda: spectra.LeakyRNN(W3, alpha=True), TypeError, "`alpha`"),
    ("random init", lambda: spectra.ElmanRNN.random(3, init="glorot"), ValueError, "`init` must be one of"),
    # run
    ("run no steps", lambda: spectra.ElmanRNN(W3).run(), ValueError, "`steps` is required"),
    ("run negative steps", lambda: spectra.ElmanRNN(W3).run(steps=-1), ValueError, "`steps` must be >= 0"),
    ("run float steps", lambda: spectra.ElmanRNN(W3).run(steps=2.0), TypeError, "`steps` must be an integer"),
    ("run inputs without W_hx", lambda: spectra.ElmanRNN(W3).run(np.ones((4, 2))), ValueError, "no input matrix"),
    ("run inputs width", lambda: spectra.ElmanRNN(W3, np.ones((3, 2))).run(np.ones((4, 3))), ValueError, "`inputs` must have 2 features"),
    ("run inputs 1-D", lambda: spectra.ElmanRNN(W3, np.ones((3, 2))).run(np.ones(4)), ValueError, "`inputs` must be 2-D or 3-D"),
    ("run inputs NaN", lambda: spectra.ElmanRNN(W3, np.ones((3, 1))).run(np.array([[np.nan]])), ValueError, "`inputs` must be finite"),
    ("run steps mismatch", lambda: spectra.ElmanRNN(W3, np.ones((3, 2))).run(np.ones((4, 2)), steps=5), ValueError, "`steps` must equal"),
    ("run h0 length", lambda: spectra.ElmanRNN(W3).run(steps=2, h0=np.ones(4)), ValueError, "`h0` must have length 3"),
    ("run h0 inf", lambda: spectra.ElmanRNN(W3).run(steps=2, h0=[0, np.inf, 0]), ValueError, "`h0` must be finite"),
    ("step_jacobian layout", lambda: spectra.ElmanRNN(W3).step_jacobian(np.ones(3), layout="denominator"), ValueError, "`layout` must be one of"),
    ("step_jacobian h_prev None", lambda: spectra.ElmanRNN(W3).step_jacobian(None), TypeError, "`h_prev`"),
    ("step_jacobian h_prev length", lambda: spectra.ElmanRNN(W3).step_jacobian(np.ones(4)), ValueError, "`h_prev` must have length 3"),
    ("LSTM step_jacobian h_prev", lambda: spectra.LSTM.random(2, rng=0).step_jacobian(np.ones(3)), ValueError, "`h_prev` must be the state"),
    ("classic_jacobian length", lambda: spectra.RecurrentFirstRNN(W3).classic_jacobian(np.ones(2)), ValueError, "`h_prev` must have length 3"),
    # trajectory
    ("jacobian t=0", lambda: _traj().jacobian(0), ValueError, "`t` must be >= 1"),
    ("jacobian t>T", lambda: _traj().jacobian(5), ValueError, "`t` must be <= 4"),
    ("jacobian t float", lambda: _traj().jacobian(1.5), TypeError, "`t` must be an integer"),
    ("product k>t", lambda: _traj().product(2, 3), ValueError, "`k` must satisfy 0 <= k <= t"),
    ("product layout", lambda: _traj().product(layout="Numerator"), ValueError, "`layout`"),
    ("operator k<0", lambda: _traj().operator(2, -1), ValueError, "`k` must be >= 0"),
    ("select unbatched", lambda: _traj().select(0), ValueError, "no batch axis"),
    # sequences
    ("sequence single matrix", lambda: spectra.as_jacobian_sequence(W3), ValueError, r"`J` must be a sequence of matrices, shape \(T, n, n\)"),
    ("sequence dict", lambda: spectra.as_jacobian_sequence({"a": 1}), TypeError, "`J` must be a Trajectory"),
    ("sequence not chaining", lambda: spectra.as_jacobian_sequence([np.ones((2, 3)), np.ones((2, 3))]), ValueError, "`J` steps must chain"),
    ("sequence item NaN", lambda: spectra.as_jacobian_sequence([W3, NAN3]), ValueError, r"`J\[1\]` must be finite"),
    ("sequence empty", lambda: spectra.as_jacobian_sequence([]), ValueError, "`J` must contain at least one matrix"),
    ("sequence 5-D", lambda: spectra.as_jacobian_sequence(np.ones((1, 1, 1, 2, 2))), ValueError, r"\(B, T, n, n\)"),
    # products, profiles, Lyapunov exponents, linalg
    ("plsv t > T", lambda: spectra.product_log_singular_values(_traj(), t=9), ValueError, "`t` must be <= 4"),
    ("plsv k > t", lambda: spectra.product_log_singular_values(_traj(), t=2, k=3), ValueError, "`k` must satisfy"),
    ("plsv string", lambda: spectra.product_log_singular_values("abc"), TypeError, "`J` must be a Trajectory"),
    ("plsv NaN", lambda: spectra.product_log_singular_values(np.full((2, 2, 2), np.nan)), ValueError, "`J` must be finite"),
    ("profile ord", lambda: spectra.gradient_norm_profile(_traj(), ord=1), ValueError, "`ord` must be 2"),
    ("profile ord bool", lambda: spectra.gradient_norm_profile(_traj(), ord=True), ValueError, "`ord`"),
    ("profile vector length", lambda: spectra.gradient_norm_profile(_traj(), vector=np.ones(2)), ValueError, "`vector` must have length 3"),
    ("profile vector NaN", lambda: spectra.gradient_norm_profile(_traj(), vector=[1, np.nan, 0]), ValueError, "`vector` must be finite"),
    ("lyapunov k", lambda: spectra.lyapunov_spectrum(_traj(), k=4), ValueError, "`k` must be <= 3"),
    ("lyapunov k zero", lambda: spectra.lyapunov_spectrum(_traj(), k=0), ValueError, "`k` must be >= 1"),
    ("lyapunov reorth", lambda: spectra.lyapunov_spectrum(_traj(), reorth_every=0), ValueError, "`reorth_every` must be >= 1"),
    ("lyapunov warmup", lambda: spectra.lyapunov_spectrum(_traj(), warmup=4), ValueError, "`warmup` must be <= 3"),
    ("lyapunov rng", lambda: spectra.lyapunov_spectrum(_traj(), k=1, rng="x"), TypeError, "`rng`"),
    ("spectral_norm method", lambda: spectra.spectral_norm(W3, method="svd"), ValueError, "`method` must be one of"),
    ("spectral_norm tol", lambda: spectra.spectral_norm(W3, method="power", tol=0), ValueError, "`tol`"),
    ("spectral_norm vector", lambda: spectra.spectral_norm(np.ones(3)), ValueError, "`W` must be a matrix"),
    ("spectral_radius non-square", lambda: spectra.spectral_radius(np.ones((2, 3))), ValueError, "`W` must be square"),
    ("top k too big", lambda: spectra.top_singular_values(W3, 4), ValueError, "`k` must be <= 3"),
    ("top block", lambda: spectra.top_singular_values(W3, 1, block_size=0), ValueError, "`block_size` must be >= 1"),
    ("step_eigenvalues rectangular", lambda: spectra.step_eigenvalues([np.ones((3, 2)), np.ones((2, 3))]), ValueError, "needs square"),
    # activations and initialisers
    ("activation unknown", lambda: spectra.activation("mish"), ValueError, "`activation` must be one of"),
    ("init n", lambda: init.gaussian(-2), ValueError, "`n` must be >= 1"),
    ("init rng", lambda: init.orthogonal(3, rng=1.5), TypeError, "`rng` must be an int seed"),
    ("echo_state radius", lambda: init.echo_state(3, spectral_radius=-1), ValueError, "`spectral_radius`"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
