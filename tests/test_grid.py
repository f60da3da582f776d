"""Parameter grids: forms, order, canonical values, combinators and bad input."""

import itertools
import json

import numpy as np
import pytest

from spectra import grid
from spectra.grid import Grid, as_grid, point_key


def test_dict_of_lists_is_the_cartesian_product_last_fastest():
    spec = {"gain": [0.5, 1.0, 2.0], "activation": ["tanh", "relu"], "seed": range(4)}
    g = as_grid(spec)
    expected = [dict(zip(spec, combo)) for combo in itertools.product(*spec.values())]
    assert len(g) == 24
    assert g.to_list() == expected
    assert g == grid.product(**spec) == grid.product(spec)
    assert g.names == ("gain", "activation", "seed")
    assert g.values("activation") == ["tanh", "relu"]


def test_scalars_in_a_dict_are_fixed_parameters():
    g = as_grid({"n": 64, "activation": "tanh", "gain": [1.0, 2.0], "opts": {"bias": True}})
    assert g.to_list() == [{"n": 64, "activation": "tanh", "gain": 1.0, "opts": {"bias": True}},
                           {"n": 64, "activation": "tanh", "gain": 2.0, "opts": {"bias": True}}]


def test_list_of_dicts_is_taken_as_given():
    pts = [{"n": 8, "steps": 100}, {"n": 64}, {"alpha": 0.5, "n": 8}]
    g = as_grid(pts)
    assert g.to_list() == pts
    assert g.names == ("n", "steps", "alpha")
    assert as_grid(g) is g


def test_values_are_canonical_python_json():
    g = as_grid({"gain": np.linspace(0.5, 1.5, 3), "n": np.arange(2), "flag": [np.bool_(True)],
                 "shape": [(3, 4)], "v": [np.array([1.0, 2.0])]})
    p = g[0]
    assert type(p["gain"]) is float and type(p["n"]) is int and type(p["flag"]) is bool
    assert p["shape"] == [3, 4] and p["v"] == [1.0, 2.0]
    # canonical points survive a JSON round trip unchanged, so keys are stable
    for q in g:
        assert json.loads(json.dumps(q)) == q
        assert point_key(json.loads(json.dumps(q))) == point_key(q)


def test_points_are_copies():
    g = as_grid([{"v": [1, 2]}])
    p = g[0]
    p["v"].append(3)
    assert g[0] == {"v": [1, 2]}


def test_point_key_depends_on_content_only():
    assert point_key({"a": 1, "b": "x"}) == point_key({"b": "x", "a": 1})
    assert point_key({"a": 1}) != point_key({"a": 2})
    assert point_key({"a": 1}) != point_key({"b": 1})
    assert point_key({"a": np.float64(0.1)}) == point_key({"a": 0.1})
    g = as_grid({"a": [1, 2, 3], "b": ["x", "y"]})
    assert g.keys() == [point_key(p) for p in g]
    assert len(set(g.keys())) == 6
    assert all(len(k) == 16 and int(k, 16) >= 0 for k in g.keys())


def test_zip_pairs_and_broadcasts_scalars():
    z = grid.zip(n=[8, 64, 256], steps=[100, 400, 1600], activation="tanh")
    assert z.to_list() == [{"n": 8, "steps": 100, "activation": "tanh"},
                           {"n": 64, "steps": 400, "activation": "tanh"},
                           {"n": 256, "steps": 1600, "activation": "tanh"}]
    assert len(grid.zip()) == 0


def test_product_of_grids_and_operators():
    sizes = grid.zip(n=[8, 64], steps=[100, 400])
    g = grid.product(sizes, gain=[0.5, 1.0])
    assert [(p["n"], p["steps"], p["gain"]) for p in g] == [(8, 100, 0.5), (8, 100, 1.0),
                                                            (64, 400, 0.5), (64, 400, 1.0)]
    assert sizes * {"gain": [0.5, 1.0]} == g
    assert {"gain": [0.5, 1.0]} * sizes == grid.product({"gain": [0.5, 1.0]}, sizes)
    both = sizes + [{"n": 1, "steps": 1}]
    assert len(both) == 3 and both[2] == {"n": 1, "steps": 1}
    assert [{"n": 0}] + sizes == grid.chain([{"n": 0}], sizes)


def test_chain_and_filter():
    g = grid.chain({"cell": "elman", "gain": [1.0, 2.0]}, {"cell": "leaky", "alpha": [0.1, 0.9]})
    assert len(g) == 4 and g.names == ("cell", "gain", "alpha")
    f = g.filter(lambda p: p["cell"] == "leaky")
    assert f.to_list() == [{"cell": "leaky", "alpha": 0.1}, {"cell": "leaky", "alpha": 0.9}]
    assert g[1:3].to_list() == g.to_list()[1:3]


def test_repr_names_axes():
    assert repr(grid.product(gain=[1.0, 2.0], act=["tanh"])) == "Grid(2 points: gain (2 values), act (1 value))"
    assert repr(Grid()) == "Grid(0 points)"


BAD = [
    ("not a grid", lambda: as_grid(42), TypeError, "`grid` must be a dict of parameter lists"),
    ("string grid", lambda: as_grid("gain"), TypeError, "`grid` must be"),
    ("point not a dict", lambda: as_grid([{"a": 1}, 3]), TypeError, "`grid` point 1 must be a dict"),
    ("empty axis", lambda: as_grid({"gain": []}), ValueError, "parameter 'gain' has no values"),
    ("NaN value", lambda: as_grid({"gain": [1.0, float("nan")]}), ValueError, "parameter 'gain' must be finite"),
    ("inf in list", lambda: as_grid([{"v": [1.0, np.inf]}]), ValueError, "must be finite"),
    ("complex value", lambda: as_grid({"z": [1j]}), TypeError, "parameter 'z' must be a JSON value"),
    ("object value", lambda: as_grid({"f": [object()]}), TypeError, "parameter 'f' must be a JSON value"),
    ("complex array", lambda: as_grid([{"z": np.ones(2, complex)}]), TypeError, "must be a JSON value"),
    ("non-string key", lambda: as_grid([{1: 2}]), TypeError, "names must be strings"),
    ("non-identifier", lambda: as_grid({"my-gain": [1]}), ValueError, "must be Python identifiers"),
    ("keyword name", lambda: as_grid([{"lambda": 1}]), ValueError, "must be Python identifiers"),
    ("nested non-string key", lambda: as_grid([{"o": {1: 2}}]), TypeError, "must have string keys"),
    ("overlapping product", lambda: grid.product({"a": [1]}, a=[2]), ValueError, "distinct parameters; 'a'"),
    ("overlapping zip", lambda: grid.zip({"a": [1]}, a=[2]), ValueError, "distinct parameters"),
    ("zip lengths", lambda: grid.zip(a=[1, 2], b=[1, 2, 3]), ValueError, "`zip` needs factors of equal length"),
    ("product bad factor", lambda: grid.product(3), TypeError, "`product factor 0` must be"),
    ("axis not iterable", lambda: grid.product(a=object()), TypeError, "parameter 'a' must be a list"),
    ("Grid of non-iterable", lambda: Grid(5), TypeError, "`points` must be an iterable of dicts"),
    ("Grid of dict", lambda: Grid({"a": [1]}), TypeError, "`points` must be an iterable of dicts"),
    ("filter not callable", lambda: as_grid({"a": [1]}).filter(1), TypeError, "`predicate` must be callable"),
    ("values unknown", lambda: as_grid({"a": [1]}).values("b"), KeyError, "no parameter 'b'"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_grids(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
