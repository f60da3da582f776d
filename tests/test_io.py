"""spectra.io: state dicts in .npz files (numpy only) and torch files (torch only when read)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spectra

ROOT = Path(__file__).resolve().parents[1]


def _state(rng):
    return {"weight_ih_l0": rng.standard_normal((9, 2)), "weight_hh_l0": rng.standard_normal((9, 3)),
            "bias_ih_l0": rng.standard_normal(9), "bias_hh_l0": rng.standard_normal(9)}


def test_npz_round_trip_and_nested_entries(rng, tmp_path):
    state = _state(rng)
    path = tmp_path / "gru.npz"
    spectra.io.save_state_dict(path, {"model": {"rnn": state}, "step": 3, "note": "text"})
    loaded = spectra.io.load_state_dict(path)
    assert sorted(loaded) == sorted(f"model.rnn.{k}" for k in state)
    for k, v in state.items():
        np.testing.assert_array_equal(loaded[f"model.rnn.{k}"], v)
    inner = spectra.io.load_state_dict(path, key="model.rnn")
    assert sorted(inner) == sorted(state)
    assert sorted(spectra.io.load_state_dict(str(path), key="model")) == sorted(f"rnn.{k}" for k in state)
    cell = spectra.GRU.from_torch(path)
    np.testing.assert_array_equal(cell.weight_hh, state["weight_hh_l0"])
    X = rng.standard_normal((4, 2))
    np.testing.assert_array_equal(cell.run(X).states, spectra.GRU.from_torch(state).run(X).states)


def test_torch_file_without_torch_says_how_to_convert(rng, tmp_path, monkeypatch):
    path = tmp_path / "lstm.pt"
    path.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    with pytest.raises(ImportError, match=r"reading .*lstm.pt' needs PyTorch .* save the weights as \.npz"):
        spectra.io.load_state_dict(path)
    with pytest.raises(ImportError, match="needs PyTorch"):
        spectra.LSTM.from_torch(path)


def test_io_does_not_import_torch():
    code = ("import sys, numpy as np, spectra, spectra.io, tempfile, os; "
            "p = os.path.join(tempfile.mkdtemp(), 'w.npz'); "
            "spectra.io.save_state_dict(p, {'weight_hh_l0': np.ones((4, 1))}); "
            "spectra.io.load_state_dict(p); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


BAD = [
    ("load path type", lambda p: spectra.io.load_state_dict(3), TypeError, "`path` must be a file name"),
    ("load path bytes", lambda p: spectra.io.load_state_dict(b"x.npz"), TypeError, "`path` must be a file name"),
    ("load missing", lambda p: spectra.io.load_state_dict(p / "missing.npz"), FileNotFoundError, "missing.npz"),
    ("load key", lambda p: spectra.io.load_state_dict(p / "w.npz", key="model"), ValueError,
     r"`key` 'model' names no arrays .* top-level entries are \['weight_hh_l0'\]"),
    ("load key type", lambda p: spectra.io.load_state_dict(p / "w.npz", key=1), TypeError, "`key` must be a string"),
    ("load not a zip", lambda p: spectra.io.load_state_dict(p / "fake.npz"), ValueError,
     "is not an .npz file"),
    ("save suffix", lambda p: spectra.io.save_state_dict(p / "w.pt", {"a": np.ones(2)}), ValueError, "`path` must end in .npz"),
    ("save type", lambda p: spectra.io.save_state_dict(p / "w.npz", [np.ones(2)]), TypeError, "`state_dict` must be a mapping"),
    ("save empty", lambda p: spectra.io.save_state_dict(p / "w.npz", {"epoch": 3}), ValueError, "`state_dict` holds no arrays"),
    ("save path type", lambda p: spectra.io.save_state_dict(None, {"a": np.ones(2)}), TypeError, "`path` must be a file name"),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(call, exc, match, tmp_path):
    np.savez(tmp_path / "w.npz", weight_hh_l0=np.eye(2))
    np.save(tmp_path / "fake.npy", np.eye(2))                   # an .npy renamed .npz
    (tmp_path / "fake.npy").rename(tmp_path / "fake.npz")
    with pytest.raises(exc, match=match):
        call(tmp_path)
