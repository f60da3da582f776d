"""No silent non-finite answers (issue 20): the public analyses at extreme scales.

Independent truths used here:

* a cell whose weights are ``g Q`` (Q orthogonal), run from h0 = 0 without
  input, has every step Jacobian equal to ``g Q`` (tanh'(0) = 1, the state
  stays 0): every singular value of dh_t/dh_k is exactly ``g^(t-k)``, every
  Lyapunov exponent ``log g``, every bound of the report ``lag log g``;
* a linear cell ``g Q`` driven by one input from different initial states
  keeps distances ``g^t d_0`` exactly (echo-state rate ``log g``), and its
  backward steps scale every gradient by exactly ``g`` (Pascanu's Omega is
  ``(g - 1)^2`` per active term);
* Fuss-Catalan numbers for the moments of products of Gaussian matrices;
* finite differences for the regulariser's gradient.

A sweep over gains, lengths and dtypes then checks that every number the
analyses return is finite, except the fields documented to be infinite
(horizons, which the convention of :mod:`spectra.analysis.bounds` defines).
"""

import dataclasses
import math
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import spectra
from spectra._core.results import Result

LN10 = math.log(10.0)


def _orthogonal(n, seed=0):
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def _nonfinite(obj, path="result", skip=()):
    """Paths of the non-finite numbers in a result (nested results, dicts, arrays, floats)."""
    bad = []
    if isinstance(obj, Result):
        for f in dataclasses.fields(obj):
            if f.name not in skip:
                bad += _nonfinite(getattr(obj, f.name), f"{path}.{f.name}", skip)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            bad += _nonfinite(v, f"{path}[{k!r}]", skip)
    elif isinstance(obj, np.ndarray) and obj.dtype.kind in "fc":
        if not np.all(np.isfinite(obj)):
            bad.append(path)
    elif isinstance(obj, (float, np.floating)) and not math.isfinite(obj):
        bad.append(path)
    return bad


# -- closed forms at every scale: cells with weights g Q ---------------------------------------

def _scaled_run(cls, s, T, dtype):
    n = 4
    g = 10.0 ** s
    cell = cls(g * _orthogonal(n), activation="tanh", dtype=dtype)
    return g, cell, cell.run(h0=np.zeros(n), steps=T)


def _check_closed_forms(cls, s, T, dtype):
    g, cell, traj = _scaled_run(cls, s, T, dtype)
    log_g = math.log(float(np.asarray(cell.recurrence().W, dtype=np.float64)[0, 0]) /
                     float(_orthogonal(4)[0, 0])) if dtype == np.float32 else s * LN10
    # float32 weights: per-step log errors of ~1e-7 that add up over the lags
    tol = dict(rtol=1e-12, atol=1e-9) if dtype == np.float64 else dict(rtol=1e-6, atol=2e-6 * T)
    lags = np.arange(1, T + 1)
    np.testing.assert_allclose(spectra.gradient_norm_profile(traj).log_norms, lags * log_g, **tol)
    np.testing.assert_allclose(spectra.gradient_norm_profile(traj, ord="fro").log_norms,
                               lags * log_g + 0.5 * math.log(4), **tol)
    np.testing.assert_allclose(spectra.product_log_singular_values(traj), np.full(4, T * log_g), **tol)
    for schedule in ("auto", 1, 5):
        for k in (None, 1):
            exps = spectra.lyapunov_spectrum(traj, reorth_every=schedule, k=k).exponents
            np.testing.assert_allclose(exps, log_g, rtol=1e-10, atol=1e-8 if dtype == np.float64 else 2e-6)
    rep = spectra.bound_report(traj)
    for arr in (rep.exact, rep.classic, rep.trajectory, rep.lower):
        np.testing.assert_allclose(arr, lags * log_g, **tol)
    assert _nonfinite(rep, skip=("horizon_exact", "horizon_trajectory", "horizon_classic")) == []
    np.testing.assert_allclose(spectra.pascanu_bound(cell, lag=T, log=True), T * log_g, **tol)
    np.testing.assert_allclose(spectra.gamma_W(cell), math.exp(log_g), rtol=1e-12 if dtype == np.float64 else 1e-6)
    np.testing.assert_allclose(spectra.regime(cell).gamma, math.exp(log_g),
                               rtol=1e-12 if dtype == np.float64 else 1e-6)


@given(s=st.integers(-300, 300), T=st.sampled_from([1, 7, 200]),
       cls=st.sampled_from([spectra.ElmanRNN, spectra.RecurrentFirstRNN]))
@settings(max_examples=40)
def test_cells_at_every_scale_float64(s, T, cls):
    _check_closed_forms(cls, s, T, np.float64)


@given(s=st.integers(-30, 30), T=st.sampled_from([1, 7, 200]),
       cls=st.sampled_from([spectra.ElmanRNN, spectra.RecurrentFirstRNN]))
@settings(max_examples=25)
def test_float32_cells_at_every_scale(s, T, cls):
    _check_closed_forms(cls, s, T, np.float32)


@pytest.mark.parametrize("s", [200, -200])
def test_float32_weights_outside_the_float32_range_are_refused(s):
    what = "beyond the float32 range" if s > 0 else "too small for float32"
    with pytest.raises(ValueError, match=rf"^`W_hh` has entries {what} \(largest \|x\| = 1e[+-]200"):
        spectra.ElmanRNN(10.0 ** s * np.eye(3), dtype=np.float32)
    with pytest.raises(ValueError, match=rf"^`weight_hh` has entries {what}"):
        spectra.LSTM(np.ones((8, 1)), 10.0 ** s * np.ones((8, 2)), dtype=np.float32)
    with pytest.raises(ValueError, match=r"^`W_hh` must be finite; got 1 non-finite entry"):
        spectra.ElmanRNN(np.array([[np.nan, 0.0], [0.0, 1.0]]), dtype=np.float32)


# -- remedies at extreme gains ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("g", [0.5, 0.9, 1.5, 3.0])
def test_echo_state_rate_is_log_gain_for_a_linear_network(g, dtype):
    n = 5
    cell = spectra.ElmanRNN(g * _orthogonal(n), np.ones((n, 1)), activation="identity", dtype=dtype)
    chk = spectra.echo_state_check(cell, np.zeros((40, 1)), rng=0)
    assert math.isfinite(chk.rate)
    # distances g^t d_0 exactly; float32 states round at 6e-8 of their size
    assert chk.rate == pytest.approx(math.log(g), abs=1e-9 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("g", [1e-8, 1e4, 1e8])
def test_regularizer_at_extreme_gains(g):
    n, T = 5, 20
    rng = np.random.default_rng(1)
    W_hx, X = rng.standard_normal((n, 2)), rng.standard_normal((T, 2))
    W_yh, targets = rng.standard_normal((3, n)), rng.integers(0, 3, T)

    def omega(W, gradient="exact"):
        cell = spectra.ElmanRNN(W, W_hx, activation="identity")
        return spectra.vanishing_regularizer(cell, X, targets, W_yh, gradient=gradient)

    W = g * _orthogonal(n)
    res = omega(W)
    assert _nonfinite(res, skip=("ratios",)) == []
    # every backward step scales the gradient by exactly g
    np.testing.assert_allclose(res.ratios[res.active], g, rtol=1e-12)
    assert res.value == pytest.approx(res.active.sum() * (g - 1.0) ** 2, rel=1e-10)
    # the gradient against central differences along a random direction; at g = 1e-8 Omega is
    # about T minus 1e-8-sized terms, so its rounding (ulp(20) = 3.6e-15) limits the differences
    E = rng.standard_normal((n, n))
    h, rel = (1e-6 * g, 1e-6) if g > 1 else (1e-2 * g, 2e-3)
    fd = (omega(W + h * E).value - omega(W - h * E).value) / (2 * h)
    assert fd == pytest.approx(float(np.sum(res.grad_W_hh * E)), rel=rel)


# -- theory -----------------------------------------------------------------------------------

def _fuss_catalan(L, k):
    """Moment k of the squared singular values of a product of L Gaussian matrices (variance 1/N)."""
    return comb((L + 1) * k, k) / (L * k + 1)


@pytest.mark.parametrize("L,sw", [(50, 2.0), (120, 2.0), (40, 1e-3), (3, 1e30)])
def test_jacobian_spectrum_moments_at_extreme_scales(L, sw):
    sp = spectra.jacobian_spectrum("identity", L, weight_var=sw, weights="gaussian", order=2)
    want = np.array([_fuss_catalan(L, k) * sw ** (L * k) for k in (1, 2)])
    np.testing.assert_allclose(sp.moments, want, rtol=1e-9)
    assert sp.mean == pytest.approx(want[0], rel=1e-12)


@pytest.mark.parametrize("activation,L,sw", [("tanh", 50, 1e-8), ("identity", 1000, 2.0),
                                             ("relu", 50, 1000.0)])
def test_jacobian_spectrum_beyond_float64_raises(activation, L, sw):
    with pytest.raises(spectra.NumericalError, match=r"moments of J J\^T leave the float64 range "
                                                     r"\(the mean is 10\^"):
        spectra.jacobian_spectrum(activation, L, weight_var=sw)


# -- the monitor's messages -------------------------------------------------------------------

def test_monitor_fall_to_zero_and_huge_factors_read_as_numbers():
    from spectra.monitor import GradientMonitor

    mon = GradientMonitor(vanish_factor=100.0)
    mon.record(0, {"W": np.full((2, 2), 2.2e4)})
    mon.record(1, {"W": np.zeros((2, 2))})
    ev = [e for e in mon.events if e.name == "W"]
    assert [e.message for e in ev] == ["W: norm fell to 0 (from 4.4e+04)"]
    assert ev[0].factor == math.inf and ev[0].to_dict()["factor"] == "inf"     # documented
    mon = GradientMonitor(vanish_factor=100.0, explode_factor=10.0)
    for step, v in enumerate([1e300, 1e-300, 1e300]):
        mon.record(step, {"W": np.full((2, 2), v)})
    msgs = [e.message for e in mon.events if e.name == "W"]
    assert msgs == ["W: norm fell 1e+600x (2e+300 -> 2e-300)", "W: norm grew 1e+600x (2e-300 -> 2e+300)"]
    mon = GradientMonitor(explode_factor=10.0)
    mon.record(0, {"W": np.ones((2, 2))})
    mon.record(1, {"W": 50.0 * np.ones((2, 2))})
    assert [e.message for e in mon.events if e.name == "W"] == ["W: norm grew 50x (2 -> 100)"]
    assert all("inf" not in e.message for e in mon.events)


# -- the sweep: every public analysis, tiny and huge gains, long runs, float32 ------------------

HORIZONS = ("horizon_exact", "horizon_trajectory", "horizon_classic", "horizon_standard",
            "horizon_leaky", "steps_to_tol")


def _network(kind, gain, dtype):
    rng = np.random.default_rng(7)
    n = 6
    if kind == "elman":
        return spectra.ElmanRNN(gain * _orthogonal(n, 3), rng.standard_normal((n, 2)),
                                activation="tanh", dtype=dtype)
    cls = {"lstm": spectra.LSTM, "gru": spectra.GRU}[kind]
    cell = cls.random(n, input_size=2, rng=rng)
    p = cell.parameters()
    return cls(p["weight_ih"], gain * p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"), dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("T", [30, 1000])
@pytest.mark.parametrize("gain", [1e-8, 0.5, 3.0])
@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
def test_every_analysis_is_finite_at_extreme_scales(kind, gain, T, dtype):
    cell = _network(kind, gain, dtype)
    X = np.random.default_rng(8).standard_normal((T, 2))
    traj = cell.run(X, h0=np.full(cell.n, 0.1))
    results = {
        "profile": spectra.gradient_norm_profile(traj),
        "profile_fro": spectra.gradient_norm_profile(traj, ord="fro"),
        "log_sv": spectra.product_log_singular_values(traj),
        "lyapunov": spectra.lyapunov_spectrum(traj),
        "lyapunov_k1": spectra.lyapunov_spectrum(traj, k=1),
        "bounds": spectra.bound_report(traj),
        "step_sv": spectra.step_singular_values(traj),
        "step_eig": spectra.step_eigenvalues(traj),
    }
    if T == 30:
        results["echo"] = spectra.echo_state_check(cell, X, rng=0)
        if kind == "elman":
            results["leaky"] = spectra.leaky_comparison(cell, X, rng=0)
            W = cell.recurrence().W
            results["nonnormality"] = spectra.nonnormality(W)
            results["transient"] = spectra.transient_growth(W, steps=40)
            results["pascanu"] = spectra.pascanu_bound(cell, lag=10 ** 6, log=True)
    skip = HORIZONS
    if gain == 1e-8 and "echo" in results:
        # the runs meet below rounding after one step: the rate is documented as -inf then
        assert results["echo"].rate == -math.inf or math.isfinite(results["echo"].rate)
        skip = skip + ("rate",)
    bad = [p for name, r in results.items() for p in _nonfinite(r, name, skip)]
    assert bad == []
    # the profile and the top log singular value are one quantity by two routes
    np.testing.assert_allclose(results["profile"].log_norms[-1], results["log_sv"][0],
                               rtol=1e-8, atol=1e-6)


# -- matrices at every scale: the measures are homogeneous in W ---------------------------------

@given(s=st.integers(-300, 300))
@settings(max_examples=30)
def test_nonnormality_and_top_singular_values_scale_with_w(s):
    A = np.triu(np.random.default_rng(5).standard_normal((5, 5))) * 0.3
    c = 10.0 ** s
    ref = spectra.nonnormality(A)
    got = spectra.nonnormality(c * A)
    for name in ("spectral_radius", "spectral_abscissa", "spectral_norm", "numerical_radius",
                 "numerical_abscissa", "henrici"):
        assert getattr(got, name) == pytest.approx(c * getattr(ref, name), rel=1e-12), name
    assert got.henrici_relative == pytest.approx(ref.henrici_relative, rel=1e-12)
    assert got.eigenvector_condition == pytest.approx(ref.eigenvector_condition, rel=1e-8)
    if abs(2 * s) < 300:     # degree 2: representable
        assert got.commutator == pytest.approx(c * c * ref.commutator, rel=1e-12)
    elif s > 0:
        assert got.commutator == math.inf                        # documented: beyond float64
    steps = spectra.nonnormal.step_nonnormality(np.stack([c * A, c * A]))
    np.testing.assert_allclose(steps.henrici, c * ref.henrici, rtol=1e-12)
    top = spectra.top_singular_values(c * A, 2, rng=0)
    np.testing.assert_allclose(top.values, c * np.linalg.svd(A, compute_uv=False)[:2], rtol=1e-10)
    assert np.all(np.isfinite(top.residuals))
