"""The `spectra` command, run as a real process: outputs parsed and checked against the library."""

import csv
import io
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import spectra

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "PATH": os.environ.get("PATH", "")}

# `python -m spectra ARGS`, reporting afterwards on stderr whether pyplot was ever imported
_WATCHED = ("import runpy, sys\n"
            "try:\n"
            "    runpy.run_module('spectra', run_name='__main__', alter_sys=True)\n"
            "finally:\n"
            "    sys.stderr.write('pyplot imported: %s\\n' % ('matplotlib.pyplot' in sys.modules))\n")


def _run(args, *, env=None, **kwargs):
    return subprocess.run([sys.executable, "-m", "spectra", *args], capture_output=True, text=True,
                          env=dict(ENV, **(env or {})), cwd=ROOT, timeout=300, **kwargs)


def _json(args):
    out = _run(args + ["--json"])
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""                      # no progress bar when stderr is not a terminal
    return json.loads(out.stdout)


def _network(n=8, steps=40, seed=0, *, cell="ElmanRNN", init="gaussian", gain=1.2,
             activation="tanh", inputs=None, scale=1.0):
    """The network the command builds (the recipe documented in the README)."""
    d = n if inputs is None else inputs
    rng = np.random.default_rng(seed)
    c = getattr(spectra, cell).random(n, init=init, gain=gain, input_size=d, activation=activation,
                                      rng=rng)
    x = scale * rng.standard_normal((steps, d)) if d else None
    return c.run(x, h0=0.1 * rng.standard_normal(n), steps=None if d else steps)


# -- analysis subcommands ------------------------------------------------------------------------

def test_bound_json_matches_the_library_and_is_strict():
    data = _json(["bound", "--size", "8", "--steps", "40", "--init", "orthogonal", "--gain", "0.9",
                  "--activation", "sigmoid", "--eps", "1e-3"])
    rep = spectra.bound_report(_network(init="orthogonal", gain=0.9, activation="sigmoid"), eps=1e-3)
    np.testing.assert_allclose(data["exact"], rep.exact, rtol=1e-12)
    np.testing.assert_allclose(data["classic"], rep.classic, rtol=1e-12)
    np.testing.assert_allclose(data["trajectory"], rep.trajectory, rtol=1e-12)
    assert data["horizon_classic"] == rep.horizon_classic
    assert data["regime"]["regime"] == "vanishing guaranteed"
    assert data["network"] == {"cell": "elman", "hidden_size": 8, "init": "orthogonal", "gain": 0.9,
                               "activation": "sigmoid", "inputs": 8, "steps": 40, "input_scale": 1.0,
                               "seed": 0}


def test_bound_json_writes_non_finite_values_as_strings():
    # an autonomous network from h0 ~ 0 with zero gain: exact zeros, log norms of -inf
    data = _json(["bound", "--size", "3", "--steps", "4", "--gain", "0", "--inputs", "0"])
    assert data["exact"] == ["-inf"] * 4 and data["classic"] == ["-inf"] * 4
    assert data["horizon_exact"] == 1


def test_bound_csv_has_a_header_and_the_rows_of_the_json():
    args = ["bound", "--size", "6", "--steps", "12", "--lags", "1,5,12"]
    out = _run(args + ["--csv"])
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["lag", "log_exact", "log_classic", "log_trajectory", "log_lower"]
    data = _json(args)
    assert [int(r[0]) for r in rows[1:]] == data["lags"] == [1, 5, 12]
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], data["exact"], rtol=1e-15)


def test_profile_matches_the_library():
    data = _json(["profile", "--size", "8", "--steps", "40", "--t", "30", "--ord", "fro"])
    prof = spectra.gradient_norm_profile(_network(), t=30, ord="fro")
    np.testing.assert_allclose(data["log_norms"], prof.log_norms, rtol=1e-12)
    slope = np.polyfit(prof.lags, prof.log_norms, 1)[0]
    assert data["rate"] == pytest.approx(slope, rel=1e-12) and data["t"] == 30
    data = _json(["profile", "--size", "8", "--steps", "40", "--vector", "ones", "--lags", "1,40"])
    assert data["vector"] is True and data["lags"] == [1, 40]
    full = spectra.gradient_norm_profile(_network(), vector=np.ones(8)).log_norms
    np.testing.assert_allclose(data["log_norms"], full[[0, 39]], rtol=1e-12)


def test_profile_table_is_human_readable():
    out = _run(["profile", "--size", "4", "--steps", "6"])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("# elman n=4 gaussian(gain=1.2) tanh, T=6, seed=0")
    assert any(ln.startswith("# fitted rate:") for ln in lines)
    table = [ln.split() for ln in lines if not ln.startswith("#")]
    assert table[0] == ["lag", "norm", "log_norm"] and len(table) == 7
    for lag, norm, log in table[1:]:
        assert float(norm) == pytest.approx(np.exp(float(log)), rel=2e-3)


def test_spectrum_singular_values_and_eigenvalues():
    data = _json(["spectrum", "--size", "6", "--steps", "40", "--lags", "1,10,40"])
    traj = _network(6)
    for lag, sv in zip(data["lags"], data["log_singular_values"]):
        np.testing.assert_allclose(sv, spectra.product_log_singular_values(traj, k=40 - lag), rtol=1e-12)
    # the top singular value of the one-step Jacobian is its norm
    assert data["log_singular_values"][0][0] == pytest.approx(np.log(np.linalg.norm(traj.jacobian(40), 2)))
    data = _json(["spectrum", "--size", "6", "--steps", "40", "--eigenvalues", "--t", "7", "--top", "3"])
    lam = np.linalg.eigvals(traj.jacobian(7))
    lam = lam[np.argsort(-np.abs(lam), kind="stable")][:3]
    np.testing.assert_allclose(np.array(data["real"]) + 1j * np.array(data["imag"]), lam, rtol=1e-12)
    np.testing.assert_allclose(data["modulus"], np.abs(lam), rtol=1e-12)


def test_spectrum_default_lags_csv():
    out = _run(["spectrum", "--size", "3", "--steps", "20", "--csv"])
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["i", "log_sv_lag1", "log_sv_lag4", "log_sv_lag16", "log_sv_lag20"]
    assert len(rows) == 4


def test_lyapunov_matches_the_library_and_the_determinant_identity():
    data = _json(["lyapunov", "--size", "5", "--steps", "300", "--warmup", "30", "--running"])
    traj = _network(5, 300)
    res = spectra.lyapunov_spectrum(traj, warmup=30)
    np.testing.assert_allclose(data["exponents"], res.exponents, rtol=1e-12)
    np.testing.assert_allclose(data["stderr"], res.stderr, rtol=1e-12)
    seq = traj.jacobian_sequence
    logdet = np.mean([seq.logabsdet(t) for t in range(31, 301)])
    assert sum(data["exponents"]) == pytest.approx(logdet, rel=1e-10)
    assert len(data["running"]) == len(data["running_steps"]) == len(res.running_steps)
    assert data["running_steps"][-1] == 270
    every = _json(["lyapunov", "--size", "5", "--steps", "300", "--warmup", "30", "--running",
                   "--reorth-every", "1"])
    assert len(every["running_steps"]) == 270
    np.testing.assert_allclose(every["exponents"], data["exponents"], atol=1e-8)   # auto == every step
    data = _json(["lyapunov", "--size", "5", "--steps", "300", "--k", "2"])
    assert len(data["exponents"]) == 2 and "running" not in data


@pytest.mark.parametrize("cell,n_state", [("lstm", 8), ("gru", 4), ("leaky", 4), ("recurrent-first", 4)])
def test_every_cell_runs(cell, n_state):
    data = _json(["lyapunov", "--cell", cell, "--size", "4", "--steps", "60"])
    assert len(data["exponents"]) == n_state and data["network"]["cell"] == cell


# -- weights from files --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    rng = np.random.default_rng(0)
    n, k = 5, 3
    rnn = {"weight_ih_l0": rng.standard_normal((n, k)), "weight_hh_l0": rng.standard_normal((n, n)) / 3,
           "bias_ih_l0": rng.standard_normal(n), "bias_hh_l0": rng.standard_normal(n)}
    spectra.io.save_state_dict(d / "rnn.npz", rnn)
    lstm = {"model": {"lstm.weight_ih_l0": rng.standard_normal((4 * n, k)),
                      "lstm.weight_hh_l0": rng.standard_normal((4 * n, n)) / 3}}
    spectra.io.save_state_dict(d / "lstm.npz", lstm)
    (d / "text.npz").write_text("not an npz file")
    return d, rnn


def test_weights_npz_give_the_library_result(weight_files):
    d, rnn = weight_files
    data = _json(["bound", "--weights", str(d / "rnn.npz"), "--steps", "20", "--seed", "4"])
    cell = spectra.ElmanRNN.from_torch(rnn)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((20, 3))
    rep = spectra.bound_report(cell.run(x, h0=0.1 * rng.standard_normal(5)))
    np.testing.assert_allclose(data["exact"], rep.exact, rtol=1e-12)
    assert data["network"]["cell"] == "elman" and data["network"]["weights"] == str(d / "rnn.npz")


def test_weights_cell_type_is_read_from_the_file(weight_files):
    d, _ = weight_files
    data = _json(["lyapunov", "--weights", str(d / "lstm.npz"), "--key", "model", "--steps", "30"])
    assert data["network"]["cell"] == "lstm" and len(data["exponents"]) == 10


# -- bad arguments: one line, exit status 2, never a traceback ------------------------------------

BAD = [
    (["bound", "--size", "0"], "argument --size: expected a positive integer"),
    (["bound", "--steps", "x"], "argument --steps"),
    (["bound", "--gain", "inf"], "argument --gain: expected a finite number"),
    (["bound", "--cell", "transformer"], "argument --cell: invalid choice"),
    (["bound", "--json", "--csv"], "not allowed with argument --json"),
    (["bound", "--lags", "1,,2"], "argument --lags"),
    (["bound", "--steps", "10", "--lags", "11"], "lags must lie in 1..10"),
    (["bound", "--cell", "lstm", "--init", "orthogonal"], "--init: does not apply to --cell lstm"),
    (["bound", "--cell", "gru", "--gain", "-1"], "`gain` must be in"),
    (["bound", "--alpha", "0.5"], "--alpha: applies only to --cell leaky"),
    (["bound", "--cell", "leaky", "--alpha", "2"], "`alpha` must lie in [0, 1]"),
    (["bound", "--layer", "1"], "--layer: applies only with --weights"),
    (["bound", "--weights", "missing.npz"], "--weights: no such file"),
    (["bound", "--weights", "tests"], "is a folder, not a file"),
    (["bound", "--weights", "{d}/text.npz"], "is not an .npz file"),
    (["bound", "--weights", "{d}/rnn.npz", "--cell", "lstm"], "not of nn.LSTM"),
    (["bound", "--weights", "{d}/rnn.npz", "--cell", "leaky"], "use --cell elman, lstm or gru"),
    (["bound", "--weights", "{d}/rnn.npz", "--size", "4"], "--size: does not apply with --weights"),
    (["bound", "--weights", "{d}/rnn.npz", "--layer", "2"], "cannot tell the cell type"),
    (["bound", "--weights", "{d}/lstm.npz", "--key", "optimizer"], "`key` 'optimizer' names no arrays"),
    (["bound", "--weights", "{d}/lstm.npz", "--cell", "lstm", "--layer", "1", "--key", "model"], "layer"),
    (["profile", "--steps", "5", "--t", "6"], "--t: must be at most --steps (5)"),
    (["spectrum", "--eigenvalues", "--lags", "2"], "--lags: does not apply with --eigenvalues"),
    (["lyapunov", "--size", "3", "--k", "4"], "--k: at most the state size 3"),
    (["lyapunov", "--steps", "5", "--warmup", "5"], "--warmup: must be less than --steps"),
    (["figures"], "--out: required"),
    (["figures", "--out", "x", "--only", "nope"], "no figure named 'nope'"),
    (["figures", "--out", "README.md"], "exists and is not a folder"),
    (["figures", "--out", "x", "--formats", "docx"], "`formats` must hold"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize("args,needle", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments_give_one_line_and_exit_2(args, needle, weight_files):
    d, _ = weight_files
    out = _run([a.replace("{d}", str(d)) for a in args])
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spectra: error: ")
    assert needle in lines[0]


def test_numerical_failure_exits_1_with_one_line():
    out = _run(["lyapunov", "--init", "identity", "--gain", "50", "--activation", "relu",
                "--steps", "400", "--size", "4"])
    assert out.returncode == 1
    assert out.stderr.startswith("spectra: error: the state of the ElmanRNN overflowed")
    assert len(out.stderr.strip().splitlines()) == 1


def test_no_command_prints_help():
    # issue 18: the help, on stderr, with argparse's status for a missing argument (2)
    out = _run([])
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("usage: spectra") and "report" in out.stderr
    assert "bound" in out.stderr and "figures" in out.stderr


def test_version():
    out = _run(["--version"])
    assert out.returncode == 0 and out.stdout == f"spectra {spectra.__version__}\n"
    assert spectra.cli.main(["--version"]) == 0


# -- progress bar -----------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_bar_only_on_a_terminal():
    master, slave = os.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "spectra", "lyapunov", "--size", "4", "--steps",
                               "3000", "--k", "1", "--json"], stdout=subprocess.PIPE, stderr=slave,
                              env=ENV, cwd=ROOT, timeout=300)
    finally:
        os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:            # the other end is closed: all read
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.returncode == 0
    # a tqdm bar (issue 18): label, percentage, count, elapsed<remaining time estimate
    assert b"lyapunov: " in seen and b"100%" in seen and b"3000/3000 [" in seen
    assert b"<00:00" in seen
    json.loads(proc.stdout)        # stdout stays clean JSON


# -- the figure set ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def figure_set(tmp_path_factory):
    """The whole set through `python -m spectra figures`, watched for pyplot: (folder, process)."""
    folder = tmp_path_factory.mktemp("figures") / "set"
    out = subprocess.run([sys.executable, "-c", _WATCHED, "figures", "--out", str(folder),
                          "--formats", "png", "--dpi", "40", "--json"],
                         capture_output=True, text=True, env=dict(ENV, PYTHONHASHSEED="1"), cwd=ROOT,
                         timeout=600)
    return folder, out


def test_figures_writes_the_whole_set_without_pyplot(figure_set):
    folder, out = figure_set
    assert out.returncode == 0, out.stderr
    assert out.stderr == "pyplot imported: False\n"
    data = json.loads(out.stdout)
    assert [f["name"] for f in data["figures"]] == list(spectra.plot.figure_names())
    files = [Path(p) for f in data["figures"] for p in f["files"]]
    assert sorted(files) == sorted(folder.iterdir())
    assert len(files) == sum(len(f["files"]) for f in data["figures"])
    for p in files:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _console_script():
    exe = Path(sysconfig.get_path("scripts")) / "spectra"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "spectra"]


def test_figures_are_byte_identical_for_the_same_seed(figure_set, tmp_path):
    # other processes, other string-hash seeds, the figure made alone: the same bytes
    folder, _ = figure_set
    runs = []
    for hashseed in ("2", "3"):
        dest = tmp_path / hashseed
        out = subprocess.run(_console_script() + ["figures", "--only", "gradient_norms", "--formats",
                                                  "pdf,png", "--dpi", "40", "--out", str(dest)],
                             capture_output=True, text=True, env=dict(ENV, PYTHONHASHSEED=hashseed),
                             cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr
        runs.append({p.name: p.read_bytes() for p in dest.iterdir()})
    assert sorted(runs[0]) == ["gradient_norms.pdf", "gradient_norms.png"]
    assert runs[0] == runs[1]
    assert runs[0]["gradient_norms.png"] == (folder / "gradient_norms.png").read_bytes()


def test_figures_list():
    data = _json(["figures", "--list"])
    assert [d["name"] for d in data] == list(spectra.plot.figure_names())
    out = _run(["figures", "--list"])
    assert out.stdout.splitlines()[0].split()[0] == "activation_derivatives"


def test_make_figures_script(tmp_path):
    out = subprocess.run([sys.executable, "scripts/make_figures.py", "--out", str(tmp_path), "--only",
                          "activation_derivatives", "--formats", "png", "--dpi", "40"],
                         capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["activation_derivatives.png"]
    assert out.stdout.splitlines()[0] == str(tmp_path / "activation_derivatives.png")


def test_phase_diagram_script_sweeps_and_resumes(tmp_path):
    """scripts/phase_diagram.py: a sweep on worker processes, a figure, and a resumable record file."""
    script = [sys.executable, str(ROOT / "scripts" / "phase_diagram.py"), "--out", str(tmp_path),
              "--n", "4", "--steps", "20", "--replicates", "1", "--workers", "2"]
    first = subprocess.run(script, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    records = (tmp_path / "phase_diagram_full.jsonl").read_text().splitlines()
    assert len(records) == 14 * 6
    assert (tmp_path / "phase_diagram_full.pdf").exists() and (tmp_path / "phase_diagram_full.png").exists()
    again = subprocess.run(script, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "phase_diagram_full.jsonl").read_text().splitlines() == records   # nothing rerun
