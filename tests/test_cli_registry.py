"""The command works with any registered cell: a toy cell registered here runs under `--cell`.

The toy is a diagonal linear map h_t = d * h_{t-1} + W_in x_t.  Its step
Jacobian is diag(d) at every step, so its Lyapunov exponents are exactly the
sorted log|d_i| (independent of the inputs and of the initial state).
"""

import json

import numpy as np
import pytest

import spectra
from spectra.cells.registry import registered_cells, unregister_cell
from spectra.cli import build_parser, main

MAGNITUDES = np.geomspace(0.25, 2.0, 4)       # |d| of the toy cell at gain 1, whatever the seed


@pytest.fixture
def toy_cell():
    """The toy cell, registered as "toy_diagonal" for one test and unregistered afterwards."""

    @spectra.cells.register_cell("toy_diagonal")
    class ToyDiagonal(spectra.Cell):
        def __init__(self, d, W_in=None):
            self.d = np.asarray(d, dtype=float)
            self.n = self.d.size
            self.W_in = None if W_in is None else np.asarray(W_in, dtype=float)
            self.input_size = 0 if W_in is None else self.W_in.shape[1]

        def input_drive(self, X, steps, batch_shape):
            if X is None:
                return np.zeros(batch_shape + (steps, self.n))
            return X @ self.W_in.T

        def advance(self, h, u):
            return self.d * h + u, None

        def factored_jacobians(self, states, aux):
            steps = states.shape[-2] - 1
            return spectra.ScaledJacobians(np.zeros((self.n, self.n)), steps=steps, shift=self.d)

        def parameters(self):
            return {"d": self.d} if self.W_in is None else {"d": self.d, "W_in": self.W_in}

        @classmethod
        def random(cls, n, *, input_size=0, gain=1.0, rng=None):
            rng = np.random.default_rng(rng)
            signs = rng.choice([-1.0, 1.0], size=n)
            d = gain * signs * np.geomspace(0.25, 2.0, n)
            W_in = rng.standard_normal((n, input_size)) if input_size else None
            return cls(d, W_in)

    yield ToyDiagonal
    unregister_cell("toy_diagonal")


def _main_json(capsys, argv):
    assert main(argv) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)


def test_a_registered_cell_runs_with_the_exact_lyapunov_exponents(toy_cell, capsys):
    data = _main_json(capsys, ["lyapunov", "--cell", "toy-diagonal", "--size", "4", "--steps", "50",
                               "--json"])
    np.testing.assert_allclose(data["exponents"], np.sort(np.log(MAGNITUDES))[::-1], rtol=1e-13, atol=1e-15)
    assert max(data["stderr"]) <= 1e-12        # a constant Jacobian: every block gives the same value
    assert data["network"] == {"cell": "toy-diagonal", "hidden_size": 4, "gain": 1.0, "inputs": 4,
                               "steps": 50, "input_scale": 1.0, "seed": 0}


def test_options_the_cells_random_takes_are_passed(toy_cell, capsys):
    data = _main_json(capsys, ["lyapunov", "--cell", "toy_diagonal", "--size", "4", "--steps", "20",
                               "--gain", "0.5", "--inputs", "0", "--json"])
    np.testing.assert_allclose(data["exponents"], np.sort(np.log(0.5 * MAGNITUDES))[::-1],
                               rtol=1e-13, atol=1e-15)
    assert data["network"]["gain"] == 0.5 and data["network"]["inputs"] == 0


@pytest.mark.parametrize("option,value", [("--init", "orthogonal"), ("--activation", "relu"),
                                          ("--alpha", "0.5")])
def test_options_the_cells_random_does_not_take_are_errors(toy_cell, capsys, option, value):
    assert main(["bound", "--cell", "toy-diagonal", option, value]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"spectra: error: argument {option}: does not apply to --cell "
                                   "toy-diagonal")
    assert len(captured.err.strip().splitlines()) == 1


def test_a_registered_cell_cannot_read_pytorch_weights(toy_cell, capsys, tmp_path):
    path = tmp_path / "rnn.npz"
    spectra.io.save_state_dict(path, {"weight_hh_l0": np.eye(3), "weight_ih_l0": np.ones((3, 2))})
    assert main(["bound", "--cell", "toy-diagonal", "--weights", str(path)]) == 2
    assert "use --cell elman, lstm or gru, not toy-diagonal" in capsys.readouterr().err


def test_the_parser_sees_cells_registered_after_it_was_built(capsys):
    parser = build_parser()
    assert main(["lyapunov", "--cell", "toy-diagonal"]) == 2
    assert "argument --cell: invalid choice: 'toy-diagonal'" in capsys.readouterr().err

    @spectra.cells.register_cell("toy_diagonal")
    class Late(spectra.Cell):               # never built: only its name is parsed
        input_drive = advance = factored_jacobians = parameters = None

    try:
        assert parser.parse_args(["bound", "--cell", "toy_diagonal"]).cell == "toy-diagonal"
        with pytest.raises(SystemExit):
            parser.parse_args(["bound", "--help"])
        names = ",".join(name.replace("_", "-") for name in registered_cells())
        assert names.startswith("elman,recurrent-first,leaky,lstm,gru,")
        assert names.endswith(",toy-diagonal")
        assert "{" + names + "}" in capsys.readouterr().out
    finally:
        unregister_cell("toy_diagonal")
    assert "toy_diagonal" not in registered_cells()
