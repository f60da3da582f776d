"""spectra.symbolic step Jacobians: proven closed forms, LaTeX, and cross-checks with the numeric cells.

Independent truth: entries written out by hand, a numpy GRU step written here from
PyTorch's equations with central differences, the numeric cells' step_jacobian,
and numpy eigen/singular values at the integer witness of the textbook check.
"""

import functools
import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import spectra
from spectra import symbolic
from spectra.symbolic._jacobians import f as F, fprime as FP
from sympy.matrices.expressions.matexpr import MatrixElement

from _helpers import central_difference_jacobian, relative_error

CELLS = ["elman", "recurrent_first", "leaky", "gru"]


# ---------------------------------------------------------------------------------------
# The closed forms of DESIGN.md, proven


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("activation", [None, "tanh"])
def test_closed_form_is_proven(cell, activation):
    J = symbolic.step_jacobian(cell, 2, activation=activation)
    assert J.verified
    assert J.jacobian.shape == (2, 2)
    assert sp.expand(J.jacobian - J.closed_form_explicit) == sp.zeros(2, 2)


@pytest.mark.parametrize("cell,alpha", [("elman", "scalar"), ("recurrent_first", "scalar"),
                                        ("leaky", "vector")])
def test_closed_form_is_proven_for_three_units(cell, alpha):
    assert symbolic.step_jacobian(cell, 3, input_size=2, alpha=alpha).verified


def test_generic_entries_written_by_hand():
    # Elman: J_ij = f'(sum_k W_ik h_k + W_hx_i x + b_i) W_ij
    J = symbolic.step_jacobian("elman", 2)
    W, Wx, b = (s.as_explicit() for _, s in J.parameters)
    h, xin = J.state.as_explicit(), J.input.as_explicit()
    for i in range(2):
        a_i = W[i, 0] * h[0] + W[i, 1] * h[1] + Wx[i, 0] * xin[0] + b[i]
        for j in range(2):
            assert sp.expand(J.jacobian[i, j] - FP(a_i) * W[i, j]) == 0
    # recurrent-first: J_ij = W_ij f'(h_j), independent of the input
    J = symbolic.step_jacobian("recurrent_first", 2)
    W = J.parameters[0][1].as_explicit()
    h = J.state.as_explicit()
    for i in range(2):
        for j in range(2):
            assert sp.expand(J.jacobian[i, j] - W[i, j] * FP(h[j])) == 0
    assert not J.jacobian.has(J.input[0, 0])
    # leaky with a scalar alpha: diagonal alpha + (1 - alpha) f'(a_i) W_ii
    J = symbolic.step_jacobian("leaky", 2)
    alpha = dict(J.parameters)["alpha"]
    zeroed = J.jacobian.replace(FP, lambda u: 0)
    assert zeroed == alpha * sp.eye(2)


def test_concrete_activation_is_substituted():
    J = symbolic.step_jacobian("recurrent_first", 2, activation="tanh")
    W = J.parameters[0][1]
    h = J.state
    assert sp.simplify(J.jacobian[0, 1] - W[0, 1] * (1 - sp.tanh(h[1, 0]) ** 2)) == 0
    assert not J.jacobian.has(FP) and not J.jacobian.has(F)
    # a user expression in symbolic.x
    x = symbolic.x
    J = symbolic.step_jacobian("elman", 2, activation=sp.atan(x))
    assert J.verified and J.jacobian.has(sp.atan) is False and J.step.has(sp.atan)


LATEX = {
    "elman": r"\frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}\left(f'\left(a_{t}\right)\right) W_{hh}",
    "recurrent_first": r"\frac{\partial h_t}{\partial h_{t-1}} = W \operatorname{diag}\left(f'\left(h_{t-1}\right)\right)",
    "leaky": r"\frac{\partial h_t}{\partial h_{t-1}} = \alpha I + \left(1 - \alpha\right) \operatorname{diag}\left(f'\left(a_{t}\right)\right) W_{hh}",
    "gru": (r"\frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}\left(z_{t}\right)"
            r" + \operatorname{diag}\left(h_{t-1} - n_{t}\right) \operatorname{diag}\left(z_{t} \circ \left(\mathbf{1} - z_{t}\right)\right) W_{hz}"
            r" + \operatorname{diag}\left(\mathbf{1} - z_{t}\right) \operatorname{diag}\left(\mathbf{1} - n_{t}^{\circ 2}\right)"
            r" \left(\operatorname{diag}\left(r_{t}\right) W_{hn} + \operatorname{diag}\left(W_{hn} h_{t-1} + b_{hn}\right)"
            r" \operatorname{diag}\left(r_{t} \circ \left(\mathbf{1} - r_{t}\right)\right) W_{hr}\right)"),
}


@pytest.mark.parametrize("cell", CELLS)
def test_latex_is_the_verified_closed_form(cell):
    J = symbolic.step_jacobian(cell, 2)
    assert J.latex == LATEX[cell]
    # the printed object is the one that was evaluated and proven equal to the Jacobian
    assert symbolic.paper_latex(J.closed_form) == J.latex.split(" = ", 1)[1]


def test_step_latex():
    assert symbolic.step_jacobian("elman", 2).step_latex == \
        r"a_{t} = W_{hh} h_{t-1} + W_{hx} x_{t} + b, \quad h_{t} = f\left(a_{t}\right)"
    assert symbolic.step_jacobian("recurrent_first", 2, input_size=0).step_latex == \
        r"h_{t} = W f\left(h_{t-1}\right) + b"
    gru = symbolic.step_jacobian("gru", 2).step_latex
    assert r"n_{t} = \tanh\left(W_{in} x_{t} + b_{in} + r_{t} \circ \left(W_{hn} h_{t-1} + b_{hn}\right)\right)" in gru
    assert r"h_{t} = \left(\mathbf{1} - z_{t}\right) \circ n_{t} + z_{t} \circ h_{t-1}" in gru
    assert symbolic.step_jacobian("leaky", 2, alpha="vector").latex.endswith(
        r"= \operatorname{diag}\left(\alpha\right) + \operatorname{diag}\left(\mathbf{1} - \alpha\right) "
        r"\operatorname{diag}\left(f'\left(a_{t}\right)\right) W_{hh}")


# ---------------------------------------------------------------------------------------
# lambdify against the numeric cells, on random small networks


def _numeric_cell(cell, W, Win, b, activation, alpha):
    if cell == "elman":
        return spectra.ElmanRNN(W, Win, b, activation=activation)
    if cell == "recurrent_first":
        return spectra.RecurrentFirstRNN(W, Win, b, activation=activation)
    return spectra.LeakyRNN(W, Win, b, activation=activation, alpha=alpha)


SIMPLE = [(c, a) for c in ("elman", "recurrent_first", "leaky") for a in spectra.available_activations()]


@pytest.mark.parametrize("cell,activation", SIMPLE, ids=[f"{c}-{a}" for c, a in SIMPLE])
def test_lambdified_jacobian_matches_numeric_cell(cell, activation):
    J = symbolic.step_jacobian(cell, 2, activation=activation).lambdify()
    rng = np.random.default_rng(abs(hash((cell, activation))) % 2 ** 32)
    for _ in range(5):
        W, Win, b = rng.standard_normal((2, 2)), rng.standard_normal((2, 1)), rng.standard_normal(2)
        h, xin, alpha = rng.standard_normal(2), rng.standard_normal(1), rng.uniform()
        args = (W, Win, b, alpha) if cell == "leaky" else (W, Win, b)
        numeric = _numeric_cell(cell, W, Win, b, activation, alpha).step_jacobian(h, xin)
        np.testing.assert_allclose(J(*args, h, xin), numeric, rtol=1e-12, atol=1e-14)


CONFIGS = [("elman", 3, "tanh", "scalar"), ("recurrent_first", 2, "silu", "scalar"),
           ("leaky", 3, "elu", "vector"), ("leaky", 2, "gelu", "scalar")]


@pytest.mark.parametrize("cell,n,activation,alpha_kind", CONFIGS, ids=["-".join(map(str, c)) for c in CONFIGS])
@settings(max_examples=10)
@given(seed=st.integers(0, 2 ** 32 - 1), scale=st.floats(0.1, 3.0), hscale=st.floats(0.0, 4.0))
def test_random_small_networks_symbolic_equals_numeric(cell, n, activation, alpha_kind, seed, scale, hscale):
    rng = np.random.default_rng(seed)
    d = 2
    sj = symbolic.step_jacobian(cell, n, input_size=d, activation=activation, alpha=alpha_kind)
    W = scale * rng.standard_normal((n, n)) / np.sqrt(n)
    Win, b = rng.standard_normal((n, d)), rng.standard_normal(n)
    alpha = rng.uniform(size=n) if alpha_kind == "vector" else rng.uniform()
    num = _numeric_cell(cell, W, Win, b, activation, alpha)
    h, xin = hscale * rng.standard_normal(n), rng.standard_normal(d)
    args = (W, Win, b, alpha) if cell == "leaky" else (W, Win, b)
    got = sj.lambdify()(*args, h=h, x=xin)
    # the lambdified formula evaluates f' as sympy writes it (1 - tanh^2, 1 + erf): in
    # saturation it has absolute, not relative, accuracy eps; the numeric cells keep
    # relative accuracy there (tests/test_activations.py)
    np.testing.assert_allclose(got, num.step_jacobian(h, xin), rtol=1e-12,
                               atol=4e-16 * max(1.0, np.abs(W).max()))
    # and the symbolic step map is the numeric step
    step = _step_function(sj)
    vecs = [np.reshape(a, s.shape) if np.ndim(a) else a for a, (_, s) in zip(args, sj.parameters)]
    np.testing.assert_allclose(np.ravel(step(*vecs, h.reshape(n, 1), xin.reshape(d, 1))),
                               num.step(h, xin), rtol=1e-12, atol=1e-14)


@functools.lru_cache(maxsize=None)
def _step_function(sj):
    return sp.lambdify([s for _, s in sj.parameters] + [sj.state, sj.input], sj.step,
                       modules=["scipy", "numpy"])


def test_from_cell_instances_and_classes():
    cell = spectra.LeakyRNN.random(3, input_size=2, activation="sigmoid", alpha=[0.1, 0.5, 0.9], rng=4)
    sj = symbolic.step_jacobian(cell)
    assert (sj.cell, sj.n, sj.input_size) == ("leaky", 3, 2)
    assert isinstance(dict(sj.parameters)["alpha"], sp.MatrixSymbol)
    h, xin = np.array([0.3, -1.0, 2.0]), np.array([0.5, -0.5])
    got = sj.lambdify()(cell.W_hh, cell.W_hx, cell.b, cell.alpha, h, xin)
    np.testing.assert_allclose(got, cell.step_jacobian(h, xin), rtol=1e-12)
    assert symbolic.step_jacobian(spectra.ElmanRNN).cell == "elman"
    # a missing bias and input mean zeros, as in the numeric cells
    el = spectra.ElmanRNN(np.array([[0.5, -1.0], [2.0, 0.1]]), activation="tanh")
    sj = symbolic.step_jacobian(el)
    assert sj.input_size == 0 and sj.input is None
    np.testing.assert_allclose(sj.lambdify()(el.W_hh, None, h[:2]), el.step_jacobian(h[:2]), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# The GRU, against an independent numpy step from PyTorch's equations


def _sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


def _gru_step(weight_ih, weight_hh, bias_ih, bias_hh, h, xin):
    """One step of torch.nn.GRU (gate order r, z, n; r multiplies W_hn h + b_hn)."""
    n = h.shape[0]
    gi = weight_ih @ xin + bias_ih
    gh = weight_hh @ h + bias_hh
    r = _sigmoid(gi[:n] + gh[:n])
    z = _sigmoid(gi[n:2 * n] + gh[n:2 * n])
    cand = np.tanh(gi[2 * n:] + r * gh[2 * n:])
    return (1 - z) * cand + z * h


def _gru_params(rng, n, d):
    k = 1 / np.sqrt(n)
    return (rng.uniform(-k, k, (3 * n, d)) * 3, rng.uniform(-k, k, (3 * n, n)) * 3,
            rng.uniform(-k, k, 3 * n), rng.uniform(-k, k, 3 * n))


@pytest.mark.parametrize("n,d", [(2, 1), (3, 2)])
def test_gru_jacobian_matches_numpy_step_by_finite_differences(n, d):
    sj = symbolic.step_jacobian("gru", n, input_size=d)
    assert sj.verified
    J = sj.lambdify()
    rng = np.random.default_rng(11 + n)
    for _ in range(5):
        params = _gru_params(rng, n, d)
        h, xin = rng.standard_normal(n), rng.standard_normal(d)
        fd = central_difference_jacobian(lambda v: _gru_step(*params, v, xin), h)
        assert relative_error(J(*params, h, xin), fd) < 1e-8
        step = _step_function(sj)
        shaped = [p.reshape(s.shape) for p, (_, s) in zip(params, sj.parameters)]
        np.testing.assert_allclose(np.ravel(step(*shaped, h.reshape(n, 1), xin.reshape(d, 1))),
                                   _gru_step(*params, h, xin), rtol=1e-13, atol=1e-15)


def test_gru_jacobian_matches_spectra_gru():
    if not hasattr(spectra, "GRU"):
        pytest.skip("spectra.GRU is not in this branch yet")
    n, d = 3, 2
    J = symbolic.step_jacobian("gru", n, input_size=d).lambdify()
    rng = np.random.default_rng(5)
    for _ in range(5):
        params = _gru_params(rng, n, d)
        cell = spectra.GRU(*params)
        h, xin = rng.standard_normal(n), rng.standard_normal(d)
        np.testing.assert_allclose(J(*params, h, xin), cell.step_jacobian(h, xin), rtol=1e-12,
                                   atol=1e-14)


# ---------------------------------------------------------------------------------------
# The textbook expression W^T diag(f'(h)) (seed text, eq. 9)


@pytest.mark.parametrize("n", [2, 3])
def test_classic_expression_same_eigenvalues_different_singular_values(n):
    c = symbolic.classic_jacobian_check(n)
    assert c.same_eigenvalues and c.same_norm_bound
    assert not (c.equals_jacobian or c.equals_transpose or c.same_singular_values)
    # check the witness numerically, independently of sympy
    W = np.array(c.witness["W"], dtype=float)
    D = np.diag(np.array(c.witness["d"], dtype=float))
    J, C = W @ D, W.T @ D
    assert not np.allclose(C, J) and not np.allclose(C, J.T)
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(C)),
                               np.sort_complex(np.linalg.eigvals(J)), atol=1e-9)
    assert not np.allclose(np.linalg.svd(C, compute_uv=False), np.linalg.svd(J, compute_uv=False))
    assert np.linalg.norm(C, 2) <= np.linalg.norm(W, 2) * D.max() * (1 + 1e-12)
    # the numeric cell's classic_jacobian is the same matrix (f = identity: f' = 1 -> D = I ...
    cell = spectra.RecurrentFirstRNN(W, activation="identity")
    np.testing.assert_allclose(cell.classic_jacobian(np.zeros(n)), W.T)
    # ... and the symbolic matrices evaluate to J and C at the witness
    elements = c.jacobian.atoms(MatrixElement)
    values = {e: int(W[e.i, e.j]) for e in elements if e.parent.name == "W"}
    values.update({FP(e): int(D[e.i, e.i]) for e in elements if e.parent.name == "h"})
    np.testing.assert_allclose(np.array(c.jacobian.xreplace(values), dtype=float), J)
    np.testing.assert_allclose(np.array(c.classic.xreplace(values), dtype=float), C)


def test_classic_for_one_unit_is_honest():
    c = symbolic.classic_jacobian_check(1)   # 1 x 1: W^T = W, the two coincide
    assert c.equals_jacobian and c.equals_transpose and c.witness == {}


def test_classic_latex_and_dict():
    c = symbolic.classic_jacobian_check(2)
    J = r"W \operatorname{diag}\left(f'\left(h_{t-1}\right)\right)"
    C = r"W^{T} \operatorname{diag}\left(f'\left(h_{t-1}\right)\right)"
    assert c.latex == (rf"\frac{{\partial h_t}}{{\partial h_{{t-1}}}} = {J} \neq {C}, \quad "
                       rf"\chi_{{{C}}} = \chi_{{{J}}}, \quad \left\|W^{{T}}\right\|_2 = \left\|W\right\|_2")
    d = json.loads(json.dumps(c.to_dict()))
    assert d["same_eigenvalues"] is True and d["witness"]["W"] == c.witness["W"]


def test_to_dict_is_json():
    d = json.loads(json.dumps(symbolic.step_jacobian("leaky", 2).to_dict()))
    assert d["verified"] is True and d["parameters"] == ["W_hh", "W_hx", "b", "alpha"]
    assert len(d["jacobian"]) == 2 and d["latex"] == LATEX["leaky"]
    assert [name for name, _ in symbolic.step_jacobian("gru", 2).parameters] == \
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


# ---------------------------------------------------------------------------------------
# Bad arguments


BAD = [
    ("cell name", lambda: symbolic.step_jacobian("lstm"), ValueError, "`cell` must be one of"),
    ("cell type", lambda: symbolic.step_jacobian(3), TypeError, "`cell` must be one of"),
    ("n zero", lambda: symbolic.step_jacobian("elman", 0), ValueError, "`n` must be >= 1"),
    ("n float", lambda: symbolic.step_jacobian("elman", 2.0), TypeError, "`n` must be an integer"),
    ("gru no input", lambda: symbolic.step_jacobian("gru", 2, input_size=0), ValueError, "`input_size` must be >= 1"),
    ("alpha kind", lambda: symbolic.step_jacobian("leaky", alpha="matrix"), ValueError, "`alpha` must be one of"),
    ("activation symbols", lambda: symbolic.step_jacobian("elman", activation=sp.Symbol("y")), ValueError, "`activation`"),
    ("activation name", lambda: symbolic.step_jacobian("elman", activation="mish"), ValueError, "`activation` must be one of"),
    ("classic n", lambda: symbolic.classic_jacobian_check(0), ValueError, "`n` must be >= 1"),
    ("lambdify missing", lambda: symbolic.step_jacobian("elman", 2).lambdify()(None, None, None, np.ones(2)), TypeError, "`W_hh` is required"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
