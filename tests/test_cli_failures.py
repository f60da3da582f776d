"""CLI failures: one error line, non-zero exit, no traceback (issue 20, item 7)."""

import io

import pytest

from spectra.cli import commands, network


def _run(argv, capsys):
    rc = commands.main(argv, out=io.StringIO())
    err = capsys.readouterr().err
    return rc, err


def test_size_beyond_the_machine_is_refused_before_allocating(capsys):
    mem = network._machine_memory()
    if mem is None:
        pytest.skip("the OS does not report its memory")
    n = int((mem / 32) ** 0.5) + 1000          # 8 bytes * 4 n^2 > mem: certainly too big
    rc, err = _run(["bound", "--size", str(n)], capsys)
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"--size: {n} needs about" in err and "GiB" in err


def test_out_of_memory_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr(network, "_machine_memory", lambda: 2 ** 62)    # let it try
    rc, err = _run(["bound", "--size", "3000000"], capsys)
    assert rc == 1
    assert err == "spectra: error: out of memory (try a smaller --size or fewer --steps)\n"


def test_unwritable_out_is_one_line(capsys, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("not a directory")
    rc, err = _run(["figures", "--out", str(target / "sub")], capsys)
    assert rc == 1
    assert err.startswith("spectra: error: ") and err.count("\n") == 1 and "Traceback" not in err
