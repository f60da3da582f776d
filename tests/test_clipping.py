"""Gradient clipping: norm clipping bounds the update and keeps its direction; value clipping
bounds every entry, keeps signs, and turns the update by a cosine it reports."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import spectra

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
grads = st.lists(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=finite),
                 min_size=1, max_size=3)
positive = st.floats(1e-3, 1e4)


def _flat(g):
    if isinstance(g, dict):
        g = list(g.values())
    if isinstance(g, list):
        return np.concatenate([np.ravel(a) for a in g])
    return np.ravel(g)


@given(grads, positive)
def test_norm_clipping_bounds_the_update_and_keeps_its_direction(g, threshold):
    res = spectra.clip_by_norm(g, threshold)
    flat, out = _flat(g), _flat(res.gradient)
    m = np.max(np.abs(flat))
    norm = m * np.linalg.norm(flat / m) if m > 0 else 0.0    # np.linalg.norm underflows at 1e-200
    assert res.norm == pytest.approx(norm, rel=1e-14, abs=1e-300)
    assert res.clipped_norm <= threshold or not res.clipped
    assert np.linalg.norm(out) <= max(threshold, norm) * (1 + 1e-15)
    if norm >= threshold:                                 # eq. 13: g <- threshold g / ||g||
        assert res.clipped_norm == pytest.approx(threshold, rel=1e-14)
        np.testing.assert_array_equal(out, flat * res.scale)   # one common factor: same direction
        assert res.cosine == 1.0
    else:
        np.testing.assert_array_equal(out, flat)
        assert not res.clipped and res.scale == 1.0


@given(grads, positive)
def test_value_clipping_bounds_entries_keeps_signs_and_reports_the_turn(g, limit):
    res = spectra.clip_by_value(g, limit)
    flat, out = _flat(g), _flat(res.gradient)
    assert np.all(np.abs(out) <= limit)
    assert np.all(out * flat >= 0) and np.all((out == 0) == (flat == 0))
    assert res.clipped_norm <= limit * math.sqrt(flat.size) * (1 + 1e-15)
    nf, no = np.linalg.norm(flat), np.linalg.norm(out)
    if res.clipped:
        cos = float(out @ flat / (nf * no))
        assert res.cosine == pytest.approx(cos, abs=1e-13)
        # c_i g_i >= c_i^2 entrywise, so cos >= ||c|| / ||g||
        assert res.cosine >= no / nf - 1e-13
        assert res.fraction_clipped == np.count_nonzero(np.abs(flat) > limit) / flat.size
    else:
        np.testing.assert_array_equal(out, flat)
        assert res.cosine == 1.0 and res.fraction_clipped == 0.0


def test_value_clipping_changes_the_direction_norm_clipping_does_not():
    g = np.array([100.0, 1.0, -0.5])
    by_norm = spectra.clip_by_norm(g, 1.0)
    by_value = spectra.clip_by_value(g, 1.0)
    np.testing.assert_allclose(by_norm.gradient, g / np.linalg.norm(g), rtol=1e-15)
    np.testing.assert_array_equal(by_value.gradient, [1.0, 1.0, -0.5])
    assert by_norm.cosine == 1.0
    assert by_value.cosine == pytest.approx((100 + 1 + 0.25) / (np.linalg.norm(g) * 1.5), rel=1e-14)


def test_structures_are_kept(rng):
    d = {"W_hh": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}
    res = spectra.clip_by_norm(d, 0.5)
    assert list(res.gradient) == ["W_hh", "b"] and res.gradient["b"].shape == (3,)
    lst = spectra.clip_by_value([d["W_hh"], d["b"]], 0.1)
    assert isinstance(lst.gradient, list) and len(lst.gradient) == 2
    one = spectra.clip_by_norm([3.0, 4.0], 1.0)            # a plain list of numbers is one vector
    np.testing.assert_allclose(one.gradient, [0.6, 0.8])
    assert json.loads(json.dumps(res.to_dict()))["method"] == "norm"
    # the input is never modified
    W = d["W_hh"].copy()
    spectra.clip_by_value(d, 0.01)
    np.testing.assert_array_equal(d["W_hh"], W)


def test_huge_gradients_do_not_overflow():
    g = [np.full(4, 1e200), np.full(3, -1e200)]
    res = spectra.clip_by_norm(g, 1.0)
    assert res.norm == pytest.approx(1e200 * math.sqrt(7), rel=1e-14)
    assert res.clipped_norm <= 1.0 and res.clipped_norm == pytest.approx(1.0, rel=1e-14)
    tiny = spectra.clip_by_norm(np.full(5, 1e-200), 1.0)
    assert tiny.norm == pytest.approx(1e-200 * math.sqrt(5), rel=1e-14) and not tiny.clipped


def test_zero_gradient_and_norm_at_the_threshold():
    z = spectra.clip_by_norm(np.zeros(3), 1.0)
    assert z.norm == 0.0 and not z.clipped and z.cosine == 1.0
    at = spectra.clip_by_norm(np.array([3.0, 4.0]), 5.0)  # ||g|| = threshold: rescaled by 1
    np.testing.assert_array_equal(at.gradient, [3.0, 4.0])
    assert at.scale == 1.0


def test_clipping_an_exploding_bptt_gradient(rng):
    cell = spectra.ElmanRNN(2.5 * spectra.init.orthogonal(8, rng=rng), rng.standard_normal((8, 2)))
    x = rng.standard_normal((40, 2))
    res = spectra.bptt_gradient(cell, x, rng.integers(0, 3, 40), rng.standard_normal((3, 8)))
    clipped = spectra.clip_by_norm(res.gradients(), 1.0)
    assert res.norm > 1.0 and clipped.clipped_norm <= 1.0
    assert clipped.norm == pytest.approx(res.norm, rel=1e-13)
