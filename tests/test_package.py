"""Packaging contracts: a light `import spectra`, the console script, the CLI's error handling."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, **kwargs)


def test_import_is_light():
    code = ("import sys, spectra; heavy = [m for m in ('sympy', 'matplotlib', 'torch', 'scipy', 'jax') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = _run([sys.executable, "-c", code])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_lazy_leaf_modules_resolve():
    import spectra

    assert spectra.cli.main is not None
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        spectra.nonexistent


def _console_script():
    exe = Path(sysconfig.get_path("scripts")) / "spectra"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "spectra"]


def test_console_script_bound_table():
    out = _run(_console_script() + ["bound", "--size", "8", "--steps", "12", "--seed", "3"])
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln and not ln.startswith("#")]
    assert lines[0].split() == ["lag", "exact", "classic", "trajectory", "lower"]
    rows = [ln.split() for ln in lines[1:]]
    assert [int(r[0]) for r in rows] == list(range(1, 13))
    for r in rows:
        lower, exact, traj, classic = float(r[4]), float(r[1]), float(r[3]), float(r[2])
        assert lower <= exact * (1 + 1e-3) and exact <= traj * (1 + 1e-3) and traj <= classic * (1 + 1e-3)


def test_console_script_json_is_consistent():
    out = _run([sys.executable, "-m", "spectra", "bound", "--size", "6", "--steps", "5", "--json",
                "--activation", "sigmoid"])
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["gamma_h"] == 0.25
    assert data["lags"] == [1, 2, 3, 4, 5]
    assert all(a <= b + 1e-12 for a, b in zip(data["exact"], data["classic"]))


@pytest.mark.parametrize("args,needle", [
    (["bound", "--size", "0"], "--size"),
    (["bound", "--gain", "nan"], "--gain"),
    (["bound", "--activation", "mish"], "--activation"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, needle):
    out = _run([sys.executable, "-m", "spectra"] + args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
