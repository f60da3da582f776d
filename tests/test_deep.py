"""Deep feedforward nets: depth profiles and spectra at depth, against theory and their own errors.

Statistical tests use fixed seeds; each tolerance is a multiple (4, or the 99.99% normal
quantile 3.9) of a standard error estimated from the same sample, so the tests can fail when the
claim is false, and the multiple leaves room for the many comparisons made here.
"""

import json

import numpy as np
import pytest

import spectra
from spectra.analysis.deep import _ols_weights

Z = 4.0          # tolerance in standard errors
LEVEL = 0.9999   # confidence level of intervals (|z| = 3.89)


def ensemble(act, init, *, n=48, L=16, S=24, seed=1, **kw):
    return spectra.mlp_ensemble([n] * (L + 1), samples=S, activation=act, init=init, rng=seed, **kw)


# -- ensembles and bookkeeping ---------------------------------------------------------------


def test_mlp_ensemble_is_reproducible_and_independent():
    a = spectra.mlp_ensemble([5, 6, 3], samples=3, rng=7)
    b = spectra.mlp_ensemble([5, 6, 3], samples=3, rng=7)
    assert len(a) == 3 and all(isinstance(t, spectra.LayerTrajectory) for t in a)
    for ta, tb in zip(a, b):
        np.testing.assert_array_equal(ta.product(), tb.product())
    assert not np.allclose(a[0].product(), a[1].product())
    bn = spectra.mlp_ensemble([4, 4, 4], samples=2, norm="batch", batch_size=3, rng=0)
    assert bn[0].coupled and bn[0].jacobian_sequence.step_shape(1) == (12, 12)
    assert spectra.mlp_ensemble([4, 4], samples=1, batch_size=5, rng=0)[0].batch_shape == (5,)


def test_depth_profile_is_gradient_norm_profile_per_sample(rng):
    runs = ensemble("tanh", "xavier_normal", n=8, L=5, S=3)
    p = spectra.depth_profile(runs)
    assert p.log_norms.shape == (3, 5) and p.depth == 5 and p.samples == 3
    np.testing.assert_array_equal(p.lags, np.arange(1, 6))
    np.testing.assert_array_equal(p.layers, [4, 3, 2, 1, 0])
    for s, traj in enumerate(runs):
        for lag in range(1, 6):
            P = traj.product(5, 5 - lag)
            np.testing.assert_allclose(p.log_norms[s, lag - 1], np.log(np.linalg.norm(P, 2)), rtol=1e-10)
    fro = spectra.depth_profile(runs, quantity="fro")
    np.testing.assert_allclose(fro.log_norms[1, 2], np.log(np.linalg.norm(runs[1].product(5, 2))), rtol=1e-12)
    v = rng.standard_normal(8)
    vec = spectra.depth_profile(runs, quantity="vector", vector=v)
    u = v / np.linalg.norm(v)
    np.testing.assert_allclose(vec.log_norms[2, 4], np.log(np.linalg.norm(u @ runs[2].product())), rtol=1e-12)
    # a batched run counts each example as a sample; so does a plain (B, T, n, n) array
    batched = spectra.MLP.random([6] * 4, rng=0).run(rng.standard_normal((4, 6)))
    pb = spectra.depth_profile(batched, quantity="vector", rng=3)
    assert pb.log_norms.shape == (4, 3)
    pa = spectra.depth_profile(batched.jacobians())
    assert pa.log_norms.shape == (4, 3)
    json.dumps(p.to_dict())


def test_depth_profile_statistics_against_direct_formulas():
    S, L = 9, 6
    g = np.random.default_rng(5)
    logs = -0.3 * np.arange(1, L + 1) + 0.7 * g.standard_normal((S, L)) + 500.0   # squares overflow
    p = spectra.DepthProfile(np.arange(1, L + 1), logs, "spectral")
    np.testing.assert_allclose(p.mean, logs.mean(0), rtol=1e-15)
    np.testing.assert_allclose(p.stderr, logs.std(0, ddof=1) / 3.0, rtol=1e-13)
    X = np.exp(2 * (logs - 500.0))                 # the same numbers, scaled into range
    np.testing.assert_allclose(p.log_mean_square, np.log(X.mean(0)) + 1000.0, rtol=1e-14)
    np.testing.assert_allclose(p.log_mean_square_stderr, X.std(0, ddof=1) / (3.0 * X.mean(0)), rtol=1e-12)
    # mean_log slope: per-sample least squares (numpy's polyfit), mean and standard error
    slopes = np.array([np.polyfit(np.arange(1, L + 1), row, 1)[0] for row in logs])
    fit = p.fit_slope()
    assert fit.slope == pytest.approx(slopes.mean(), rel=1e-12)
    assert fit.stderr == pytest.approx(slopes.std(ddof=1) / 3.0, rel=1e-12)
    lo, hi = fit.interval(0.95)
    assert lo == pytest.approx(fit.slope - 1.959963984540054 * fit.stderr, rel=1e-12) and hi > fit.slope
    # log_mean_square slope: the line through log_mean_square; delta-method error matches a
    # finite-difference influence computation
    fit2 = p.fit_slope("log_mean_square")
    assert fit2.slope == pytest.approx(np.polyfit(np.arange(1, L + 1), p.log_mean_square, 1)[0], rel=1e-12)
    c = _ols_weights(np.arange(1, L + 1))
    h = 1e-6
    infl = []
    for s in range(S):
        Xp = X.copy()
        Xp[s] *= (1 + h)
        infl.append((c @ np.log(Xp.mean(0)) - c @ np.log(X.mean(0))) / h * S)  # d slope / d log X_s
    infl = np.array(infl)
    # psi_s = sum_l c_l (X_sl/m_l - 1): the influence of X_s at the mean
    psi = ((X / X.mean(0) - 1.0) @ c)
    assert fit2.stderr == pytest.approx(psi.std(ddof=1) / 3.0, rel=1e-12)
    np.testing.assert_allclose(infl, (X / X.mean(0)) @ c, rtol=1e-4)
    # an exactly zero gradient (log norm -inf) in one sample
    dead = logs.copy()
    dead[2] = -np.inf
    pd = spectra.DepthProfile(np.arange(1, L + 1), dead, "vector")
    assert np.all(pd.mean == -np.inf) and np.all(pd.stderr == np.inf)
    np.testing.assert_allclose(pd.log_mean_square, np.log(np.delete(X, 2, 0).sum(0) / S) + 1000.0, rtol=1e-14)
    with pytest.raises(ValueError, match="non-finite values"):
        pd.fit_slope()
    sub = p.fit_slope(lags=(2, 4))
    assert sub.slope == pytest.approx(np.mean([np.polyfit([2, 3, 4], row[1:4], 1)[0] for row in logs]), rel=1e-12)


# -- the classic claims ------------------------------------------------------------------------


def _mf_slope(act, weight_var, L):
    return float(_ols_weights(np.arange(1, L + 1)) @ spectra.mean_field(act, L, weight_var=weight_var)
                 .log_mean_square())


@pytest.fixture(scope="module")
def profiles():
    out = {}
    for key, act, init, wv in [("sigmoid-xavier", "sigmoid", "xavier_normal", 1.0),
                               ("sigmoid-he", "sigmoid", "he_normal", 2.0),
                               ("tanh-xavier", "tanh", "xavier_normal", 1.0),
                               ("relu-xavier", "relu", "xavier_normal", 1.0),
                               ("relu-he", "relu", "he_normal", 2.0)]:
        runs = ensemble(act, init)
        out[key] = (spectra.depth_profile(runs, quantity="vector", rng=2), wv, act, runs)
    return out


@pytest.mark.parametrize("key", ["sigmoid-xavier", "sigmoid-he"])
def test_sigmoid_gradients_shrink_geometrically_as_mean_field_predicts(profiles, key):
    p, wv, act, runs = profiles[key]
    fit = p.fit_slope()
    lo, hi = fit.interval(LEVEL)
    assert hi < -1.0                                   # e^-1 or less per layer, CI excludes 0
    # the mean squared norm decays at the mean-field rate log chi = log(sigma_w^2 E f'(a)^2)
    fit2 = p.fit_slope("log_mean_square")
    pred = _mf_slope(act, wv, p.depth)
    assert abs(fit2.slope - pred) < Z * fit2.stderr, (fit2.slope, pred, fit2.stderr)
    # and every spectral norm obeys the rigorous bound prod_j ||W_j||_2 / 4 (gamma_h = 1/4)
    spec = spectra.depth_profile(runs[:6])
    for s, traj in enumerate(runs[:6]):
        logW = np.log([np.linalg.norm(W, 2) / 4 for W in traj.cell.weights])
        bound = np.cumsum(logW[::-1])                  # lag 1..L: layers L, L-1, ...
        assert np.all(spec.log_norms[s] <= bound + 1e-10)


def test_relu_with_he_keeps_the_gradient_scale_exactly_in_mean_square(profiles):
    p, *_ = profiles["relu-he"]
    # E||v^T dh_L/dh_l||^2 = ||v||^2 = 1 at every depth: exact at finite width for ReLU with He
    # (fan-in) initialisation, symmetric weights and v independent of the network (Hanin 2018)
    se = p.log_mean_square_stderr
    assert np.all(np.abs(p.log_mean_square) < Z * se), (p.log_mean_square, se)
    fit = p.fit_slope("log_mean_square")
    lo, hi = fit.interval(LEVEL)
    assert lo < 0.0 < hi
    sig = profiles["sigmoid-xavier"][0].fit_slope("log_mean_square")
    assert sig.slope < lo - Z * sig.stderr            # and excludes the sigmoid decay by far
    np.testing.assert_allclose(spectra.mean_field("relu", 4, weight_var=2.0).chi, 1.0, rtol=1e-14)


@pytest.mark.parametrize("key", ["tanh-xavier", "relu-xavier"])
def test_other_plain_stacks_follow_mean_field_theory(profiles, key):
    p, wv, act, _ = profiles[key]
    fit = p.fit_slope("log_mean_square")
    pred = _mf_slope(act, wv, p.depth)
    assert abs(fit.slope - pred) < Z * fit.stderr, (fit.slope, pred, fit.stderr)
    assert fit.interval(LEVEL)[1] < 0                  # both lose gradient with depth


def test_residual_connections_keep_a_path_with_gain_near_one():
    plain = ensemble("sigmoid", "xavier_normal", S=16)
    res = ensemble("sigmoid", "xavier_normal", S=16, residual=True)
    fp = spectra.depth_profile(plain, quantity="vector", rng=0).fit_slope()
    fr = spectra.depth_profile(res, quantity="vector", rng=0).fit_slope()
    lo, hi = fr.interval(LEVEL)
    assert -0.05 < lo and hi < 0.05                    # per-layer gain within 5% of 1 ...
    assert fp.slope + Z * fp.stderr < lo               # ... while the plain stack loses e^-1.4 a layer
    # every direction survives: the smallest singular value of dh_L/dh_0 stays bounded away from 0
    L = res[0].steps
    sr = spectra.depth_spectra(res, depths=[L])
    sp = spectra.depth_spectra(plain, depths=[L])
    smin = np.nanmin(sr.log_singular_values[:, 0, :], axis=-1)
    smax_plain = np.nanmax(sp.log_singular_values[:, 0, :], axis=-1)
    assert smin.mean() - Z * smin.std(ddof=1) / np.sqrt(smin.size) > -1.5     # sigma_min > e^-1.5 after 16 layers
    assert np.all(smax_plain < -15.0)                          # the plain stack's largest is < e^-15


def test_batch_norm_relu_explosion_rate_approaches_the_large_batch_limit():
    # Yang et al. (2019): with ReLU, He initialisation and batch statistics, the mean-square gradient
    # grows by pi/(pi-1) per layer for large batches (1/sigma^2 with sigma^2 = 2 Var relu(z) =
    # 1 - 1/pi; the factor 2 of He and 1/2 of relu' cancel).  Finite batches add O(1/B): the batch
    # projection and the sampling error of sigma; allowance 2/B.
    limit = np.log(np.pi / (np.pi - 1))
    excess = []
    for B in (32, 128):
        runs = ensemble("relu", "he_normal", n=48, L=12, S=8, norm="batch", batch_size=B)
        fit = spectra.depth_profile(runs, quantity="vector", rng=0).fit_slope("log_mean_square",
                                                                              lags=(2, 11))
        assert abs(fit.slope - limit) < Z * fit.stderr + 2.0 / B, (B, fit.slope, limit)
        excess.append(fit.slope - limit)
    assert excess[1] < excess[0]


def test_batch_norm_at_initialisation_makes_gradients_explode():
    # the exact coupled Jacobian shows the explosion of Yang et al. (2019): without residual
    # connections, batch-normalised stacks amplify gradients geometrically with depth
    for act, init in [("tanh", "xavier_normal"), ("relu", "he_normal")]:
        runs = ensemble(act, init, n=24, L=12, S=12, norm="batch", batch_size=6)
        fit = spectra.depth_profile(runs, quantity="vector", rng=0).fit_slope()
        assert fit.interval(LEVEL)[0] > 0.05, (act, fit)


# -- dynamical isometry ------------------------------------------------------------------------


def test_linear_gaussian_spread_recursion_against_monte_carlo():
    # at tiny width the finite-size terms dominate: a direct Monte Carlo check of the recursion
    g = np.random.default_rng(11)
    n, L, S = 3, 3, 60_000
    W = g.standard_normal((S, L, n, n)) / np.sqrt(n)
    J = W[:, 0]
    for l in range(1, L):
        J = W[:, l] @ J
    s2 = np.linalg.svd(J, compute_uv=False) ** 2
    spread = s2.var(axis=1)
    se = spread.std(ddof=1) / np.sqrt(S)
    assert abs(spread.mean() - spectra.linear_gaussian_spread(L, n)) < Z * se
    # exact values: the Wishart case, and the wide limit L
    assert spectra.linear_gaussian_spread(1, 10) == pytest.approx(1 + 1 / 10 - 2 / 100, rel=1e-14)
    assert spectra.linear_gaussian_spread(0, 5) == 0.0
    assert spectra.linear_gaussian_spread(7, 10**7) == pytest.approx(7.0, rel=1e-5)
    assert spectra.linear_gaussian_spread(7) == 7.0


def test_gaussian_linear_spectra_match_the_exact_finite_width_spread():
    n, L = 24, 8
    runs = spectra.mlp_ensemble([n] * (L + 1), samples=48, init="gaussian", activation="identity", rng=4)
    sp = spectra.depth_spectra(runs, depths=[1, 2, 4, 8])
    exact = np.array([spectra.linear_gaussian_spread(d, n) for d in sp.depths])
    assert np.all(np.abs(sp.mean_spread - exact) < Z * sp.spread_stderr), (sp.mean_spread, exact)
    ms = sp.mean_square                                # E (1/n)||J||_F^2 = 1 exactly
    assert np.all(np.abs(ms.mean(0) - 1) < Z * ms.std(0, ddof=1) / np.sqrt(sp.samples))
    # the singular values agree with a dense SVD where the product is well within range
    np.testing.assert_allclose(np.exp(sp.log_singular_values[3, 1]),
                               np.linalg.svd(runs[3].product(2, 0), compute_uv=False), rtol=1e-9)


def test_orthogonal_weights_keep_isometry_gaussian_weights_spread_with_depth():
    n, L = 32, 16
    depths = [1, 2, 4, 8, 16]
    lin = spectra.mlp_ensemble([n] * (L + 1), samples=2, init="orthogonal", activation="identity", rng=0)
    np.testing.assert_allclose(spectra.depth_spectra(lin).squared(), 1.0, rtol=1e-12)
    orth = spectra.mlp_ensemble([n] * (L + 1), samples=12, init="orthogonal", activation="tanh",
                                input_scale=0.1, rng=1)
    gauss = spectra.mlp_ensemble([n] * (L + 1), samples=12, init="gaussian", activation="tanh",
                                 input_scale=0.1, rng=1)
    so, sg = spectra.depth_spectra(orth, depths=depths), spectra.depth_spectra(gauss, depths=depths)
    # orthogonal + tanh: every squared singular value lies in [prod_l min_i f'(a_l)^2, 1]
    # (||D W|| <= max f' <= 1 and sigma_min(D W) >= min f'), and they concentrate near 1
    for s, traj in enumerate(orth):
        lower = np.cumsum([2 * np.log(np.min(1 - np.tanh(a) ** 2)) for a in traj.layer_preactivations])
        for j, d in enumerate(depths):
            ls = 2 * so.log_singular_values[s, j]
            assert np.all(ls <= 1e-12) and np.all(ls >= lower[d - 1] - 1e-12)
    assert np.all(so.mean_spread < 0.01)
    # Gaussian: the spread grows with depth and dwarfs the orthogonal one; so does the ratio
    # sigma_max / sigma_min (its log grows linearly: slope CI above 0), which stays near 1 for
    # orthogonal weights
    assert np.all(np.diff(sg.mean_spread) > 0)
    assert np.all(sg.mean_spread[1:] > 100 * so.mean_spread[1:])
    fit = sg.fit_slope("log_condition")
    assert fit.interval(LEVEL)[0] > 0.5
    assert np.all(so.log_condition < 0.5) and np.all(sg.log_condition[:, 1:] > 3.0)
    assert sg.fit_slope().slope > 0


def test_depth_spectra_of_rectangular_stacks_and_batches(rng):
    net = spectra.MLP.random([6, 4, 8, 3], rng=0)
    traj = net.run(rng.standard_normal((2, 6)))
    sp = spectra.depth_spectra(traj)
    # min(n_d, n_0) values per depth: 4, 6 (two exactly zero after the width-4 layer), 3
    assert sp.log_singular_values.shape == (2, 3, 6)
    np.testing.assert_array_equal(np.isnan(sp.log_singular_values[0]),
                                  [[False] * 4 + [True] * 2, [False] * 6, [False] * 3 + [True] * 3])
    np.testing.assert_array_equal(sp.log_singular_values[:, 1, 4:], -np.inf)
    for b in range(2):
        for d in (1, 2, 3):
            sv = np.linalg.svd(traj.select(b).product(d, 0), compute_uv=False)[:min(4, 6 if d < 3 else 3)]
            got = sp.log_singular_values[b, d - 1]
            np.testing.assert_allclose(np.exp(got[np.isfinite(got)]), sv, rtol=1e-9)
    assert sp.squared(3).shape == (6,) and sp.squared(2).shape == (12,)
    assert np.all(np.isfinite(sp.log_condition[:, [0, 2]])) and np.all(sp.log_condition[:, 1] == np.inf)
    json.dumps(sp.to_dict())


# -- mean-field theory ---------------------------------------------------------------------------


def test_mean_field_against_independent_quadrature():
    from scipy.integrate import quad

    act = spectra.activation("sigmoid")
    mf = spectra.mean_field("sigmoid", 4, weight_var=1.5, bias_var=0.1, q0=0.8)
    q = 1.5 * 0.8 + 0.1
    gauss = (lambda fn, q: quad(lambda z: fn(np.sqrt(q) * z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
                                -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)[0])
    for l in range(4):
        assert mf.q[l] == pytest.approx(q, rel=1e-12)
        assert mf.chi[l] == pytest.approx(1.5 * gauss(lambda x: act.df(x) ** 2, q), rel=1e-12)
        q = 1.5 * gauss(lambda x: act.f(x) ** 2, q) + 0.1
    np.testing.assert_allclose(mf.log_mean_square(), np.cumsum(np.log(mf.chi[::-1])), rtol=1e-15)
    # relu with He: q stays at 2 q0 / 2 * 2 = q1 exactly, chi = 1
    relu = spectra.mean_field("relu", 3, weight_var=2.0, q0=1.7)
    np.testing.assert_allclose(relu.q, 3.4, rtol=1e-14)
    json.dumps(mf.to_dict())


@pytest.mark.parametrize("call,exc,needle", [
    (lambda r: spectra.depth_profile(r, quantity="max"), ValueError, "`quantity` must be one of"),
    (lambda r: spectra.depth_profile(r, vector=np.ones(4)), ValueError, "quantity='vector'"),
    (lambda r: spectra.depth_profile(r, quantity="vector", vector=np.ones(3)), ValueError, "length 4"),
    (lambda r: spectra.depth_profile(r, quantity="vector", vector=np.zeros(4)), ValueError, "non-zero"),
    (lambda r: spectra.depth_profile([]), ValueError, "at least one"),
    (lambda r: spectra.depth_profile(r + spectra.mlp_ensemble([4] * 3, samples=1, rng=0)), ValueError,
     "same depth"),
    (lambda r: spectra.depth_profile("r"), TypeError, "`J` must be"),
    (lambda r: spectra.depth_profile(r).fit_slope("median"), ValueError, "`stat` must be one of"),
    (lambda r: spectra.depth_profile(r).fit_slope(lags=3), TypeError, "`lags` must be a pair"),
    (lambda r: spectra.depth_profile(r).fit_slope(lags=(2, 9)), ValueError, r"`lags\[1\]` must be <= 4"),
    (lambda r: spectra.depth_profile(r).fit_slope().interval(1.5), ValueError, "`level` must be in"),
    (lambda r: spectra.depth_spectra(r, depths=[0]), ValueError, "`depths` must be >= 1"),
    (lambda r: spectra.depth_spectra(r, depths=[]), ValueError, "must not be empty"),
    (lambda r: spectra.depth_spectra(r, depths=3), TypeError, "`depths` must be a sequence"),
    (lambda r: spectra.depth_spectra(r, depths=[2]).squared(3), ValueError, "computed depths"),
    (lambda r: spectra.mlp_ensemble([4, 4], samples=0), ValueError, "`samples` must be >= 1"),
    (lambda r: spectra.mlp_ensemble([4, 4], norm="batch"), ValueError, "batch_size >= 2"),
    (lambda r: spectra.mean_field("tanh", 0), ValueError, "`depth` must be >= 1"),
    (lambda r: spectra.mean_field("tanh", 3, weight_var=-1.0), ValueError, "`weight_var` must be in"),
    (lambda r: spectra.mean_field("tanh", 3, weight_var=1e200, q0=1e200), ValueError, "overflowed"),
    (lambda r: spectra.linear_gaussian_spread(-1), ValueError, "`depth` must be >= 0"),
    (lambda r: spectra.linear_gaussian_spread(2, 0), ValueError, "`n` must be >= 1"),
])
def test_bad_arguments(call, exc, needle):
    runs = spectra.mlp_ensemble([4] * 5, samples=3, rng=0)
    with pytest.raises(exc, match=needle):
        call(runs)
