"""One table of bad arguments to the remedies: each raises the right type, naming the argument."""

import numpy as np
import pytest

import spectra

W3 = 0.5 * np.eye(3)
U = np.ones((3, 2))
X = np.ones((4, 2))
V = np.ones((2, 3))
CELL = spectra.ElmanRNN(W3, U)
LAB = np.array([0, 1, 0, 1])


class _NoHook(spectra.Cell):
    """A cell without the optional parameter_vjp hook (n = 3, d = 2)."""

    n, input_size = 3, 2

    def input_drive(self, X, steps, batch_shape):
        return X

    def advance(self, h, u):
        return 0.5 * h + u @ np.ones((2, 3)), None

    def factored_jacobians(self, states, aux):
        return spectra.DenseJacobians(np.broadcast_to(0.5 * np.eye(3), (states.shape[-2] - 1, 3, 3)))

    def parameters(self):
        return {}


def bptt(**kw):
    args = dict(cell=CELL, inputs=X, targets=LAB, W_yh=V)
    args.update(kw)
    return spectra.bptt_gradient(args.pop("cell"), args.pop("inputs"), args.pop("targets"),
                                 args.pop("W_yh"), **args)


BAD = [
    ("bptt cell type", lambda: bptt(cell=_NoHook()), TypeError, "`cell` must be a spectra cell with the parameter_vjp hook .*; got _NoHook, which does not implement parameter_vjp"),
    ("bptt cell not a cell", lambda: bptt(cell=W3), TypeError, "`cell` must be a spectra cell with the parameter_vjp hook"),
    ("bptt decompose unknown name", lambda: bptt(cell=spectra.GRU.random(3, input_size=2, rng=0), decompose=["weight_hh", "W_hh"]), ValueError, r"`decompose` names \['W_hh'\], which are no parameters of this GRU; its parameters are \['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'\]"),
    ("bptt decompose type", lambda: bptt(decompose=3), TypeError, "`decompose` must be True or False, or a list of parameter names"),
    ("bptt loss", lambda: bptt(loss="hinge"), ValueError, "`loss` must be one of"),
    ("bptt W_yh columns", lambda: bptt(W_yh=np.ones((2, 4))), ValueError, "`W_yh` must have 3 columns"),
    ("bptt b_y length", lambda: bptt(b_y=np.ones(3)), ValueError, "`b_y` must have length 2"),
    ("bptt labels range", lambda: bptt(targets=np.array([0, 1, 2, 0])), ValueError, r"`targets` class labels must lie in \[0, 1\]"),
    ("bptt targets steps", lambda: bptt(targets=np.array([0, 1, 0])), ValueError, "`targets` must have one entry per step"),
    ("bptt no steps", lambda: bptt(inputs=np.ones((0, 2)), targets=np.array([], dtype=int)), ValueError, "`targets` must cover at least one step"),
    ("regularizer no steps", lambda: spectra.vanishing_regularizer(CELL, np.ones((0, 2)), np.array([], dtype=int), V), ValueError, "at least one step"),
    ("bptt targets None", lambda: bptt(targets=None), TypeError, "`targets`"),
    ("bptt targets bool", lambda: bptt(targets=np.array([True, False, True, True])), TypeError, "`targets`"),
    ("bptt distributions negative", lambda: bptt(targets=-np.ones((4, 2))), ValueError, "`targets` distributions must be non-negative"),
    ("bptt squared width", lambda: bptt(targets=np.ones((4, 3)), loss="squared"), ValueError, "`targets` must be .* c = 2"),
    ("bptt squared labels", lambda: bptt(loss="squared"), ValueError, "`targets` must be 2-D or 3-D"),
    ("bptt targets NaN", lambda: bptt(targets=np.full((4, 2), np.nan), loss="squared"), ValueError, "`targets` must be finite"),
    ("bptt weights negative", lambda: bptt(step_weights=[1, -1, 1, 1]), ValueError, "`step_weights` must be non-negative"),
    ("bptt weights shape", lambda: bptt(step_weights=[1, 1, 1]), ValueError, r"`step_weights` must have shape \(4,\)"),
    ("bptt truncation negative", lambda: bptt(truncation=-1), ValueError, "`truncation` must be >= 0"),
    ("bptt truncation float", lambda: bptt(truncation=2.5), TypeError, "`truncation` must be an integer"),
    ("bptt decompose", lambda: bptt(decompose="yes"), TypeError, "`decompose` must be True or False"),
    ("bptt batch mismatch", lambda: bptt(inputs=np.ones((2, 4, 2)), targets=np.zeros((3, 4), dtype=int)), ValueError, "`targets` batch shape"),
    ("bptt inputs width", lambda: bptt(inputs=np.ones((4, 3))), ValueError, "`inputs` must have 2 features"),
    ("bptt h0 length", lambda: bptt(h0=np.ones(2)), ValueError, "`h0` must have length 3"),
    ("truncated loss", lambda: spectra.truncated_bptt_error(CELL, X, LAB, V, loss="l1"), ValueError, "`loss` must be one of"),
    ("regularizer gradient", lambda: spectra.vanishing_regularizer(CELL, X, LAB, V, gradient="approx"), ValueError, "`gradient` must be one of"),
    ("regularizer cell", lambda: spectra.vanishing_regularizer(spectra.LSTM.random(3, input_size=2, rng=0), X, LAB, V), TypeError, "`cell`"),
    ("clip threshold zero", lambda: spectra.clip_by_norm(np.ones(3), 0.0), ValueError, r"`threshold` must be in \(0"),
    ("clip threshold nan", lambda: spectra.clip_by_norm(np.ones(3), float("nan")), ValueError, "`threshold` must be finite"),
    ("clip threshold type", lambda: spectra.clip_by_norm(np.ones(3), "1"), TypeError, "`threshold` must be a real number"),
    ("clip g None", lambda: spectra.clip_by_norm(None, 1.0), TypeError, "`g` must be an array"),
    ("clip g empty list", lambda: spectra.clip_by_norm([], 1.0), ValueError, "`g` must contain at least one array"),
    ("clip g empty dict", lambda: spectra.clip_by_value({}, 1.0), ValueError, "`g` must contain at least one array"),
    ("clip g NaN", lambda: spectra.clip_by_norm([np.ones(2), np.array([np.nan])], 1.0), ValueError, r"`g\[1\]` must be finite"),
    ("clip g dict entry", lambda: spectra.clip_by_norm({"W": "x"}, 1.0), TypeError, r"`g\['W'\]`"),
    ("clip limit negative", lambda: spectra.clip_by_value(np.ones(3), -1.0), ValueError, "`limit` must be in"),
    ("penalty decay > 1", lambda: spectra.penalty_path(W3, "tanh", l2=2.0, lr=1.0), ValueError, "`lr` \\* `l2` must be <= 1"),
    ("penalty l1 negative", lambda: spectra.penalty_path(W3, "tanh", l1=-0.1), ValueError, "`l1` must be in"),
    ("penalty steps", lambda: spectra.penalty_path(W3, "tanh", steps=-1), ValueError, "`steps` must be >= 0"),
    ("penalty activation", lambda: spectra.penalty_path(W3, l2=0.1), TypeError, "`activation` is required"),
    ("penalty non-square", lambda: spectra.penalty_path(np.ones((2, 3)), "tanh"), ValueError, "`W` must be a square matrix"),
    ("decay range", lambda: spectra.decay_steps_to_vanishing(W3, "tanh", decay=1.5), ValueError, r"`decay` must be in \[0.0, 1.0\]"),
    ("decay activation", lambda: spectra.decay_steps_to_vanishing(W3, decay=0.1), TypeError, "`activation` is required"),
    ("control target", lambda: spectra.spectral_control(W3, 0.0), ValueError, r"`target` must be in \(0"),
    ("control measure", lambda: spectra.spectral_control(W3, 0.9, measure="frobenius"), ValueError, "`measure` must be one of"),
    ("control only_above", lambda: spectra.spectral_control(W3, 0.9, only_above=1), TypeError, "`only_above` must be True or False"),
    ("soft threshold tau", lambda: spectra.soft_threshold(W3, -0.1), ValueError, "`tau` must be in"),
    ("soft threshold W", lambda: spectra.soft_threshold(np.ones(3), 0.1), ValueError, "`W` must be a 2-D matrix"),
    ("echo cell", lambda: spectra.echo_state_check(W3, steps=3), TypeError, "`cell` must be a spectra cell"),
    ("echo h0 rows", lambda: spectra.echo_state_check(CELL, X, h0=np.ones((1, 3))), ValueError, "`h0` must have shape"),
    ("echo n_initial", lambda: spectra.echo_state_check(CELL, X, n_initial=1), ValueError, "`n_initial` must be >= 2"),
    ("echo tol", lambda: spectra.echo_state_check(CELL, X, tol=0.0), ValueError, "`tol` must be in"),
    ("echo inputs", lambda: spectra.echo_state_check(CELL, np.ones((2, 4, 2))), ValueError, "`inputs` must be 2-D"),
    ("readout rows", lambda: spectra.fit_readout(np.ones((5, 3)), np.ones((4, 1))), ValueError, "`targets` must have one row per state"),
    ("readout washout", lambda: spectra.fit_readout(np.ones((5, 3)), np.ones((5, 1)), washout=5), ValueError, "`washout` must be <= 4"),
    ("readout ridge", lambda: spectra.fit_readout(np.ones((5, 3)), np.ones((5, 1)), ridge=-1.0), ValueError, "`ridge` must be in"),
    ("readout bias", lambda: spectra.fit_readout(np.ones((5, 3)), np.ones((5, 1)), bias=None), TypeError, "`bias` must be True or False"),
    ("leaky_alpha interval", lambda: spectra.leaky_alpha(3, low=0.2, high=0.1), ValueError, "`low` must be below `high`"),
    ("leaky_alpha n", lambda: spectra.leaky_alpha(0), ValueError, "`n` must be >= 1"),
    ("leaky_alpha high", lambda: spectra.leaky_alpha(3, high=1.5), ValueError, "`high` must be in"),
    ("leaky_comparison cell", lambda: spectra.leaky_comparison(spectra.LeakyRNN(W3), steps=3), TypeError, "`cell` must be an ElmanRNN"),
    ("leaky_comparison eps", lambda: spectra.leaky_comparison(CELL, X, eps=0), ValueError, "`eps` must be in"),
    ("leaky_comparison alpha", lambda: spectra.leaky_comparison(CELL, X, alpha=1.5), ValueError, r"`alpha` must lie in \[0, 1\]"),
    ("closed loop output", lambda: spectra.ClosedLoopRNN(CELL, np.ones((2, 3)), output="tanh"), ValueError, "`output` must be one of"),
    ("closed loop b_y", lambda: spectra.ClosedLoopRNN(CELL, np.ones((2, 3)), np.ones(3)), ValueError, "`b_y` must have length 2"),
    ("teacher forcing steps", lambda: spectra.teacher_forcing_comparison(CELL, np.ones((2, 3)), steps=0), ValueError, "`steps` must be >= 1"),
    ("closed_loop_jacobian h", lambda: spectra.closed_loop_jacobian(CELL, np.ones(4), np.ones((2, 3))), ValueError, "`h_prev` must have length 3"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
