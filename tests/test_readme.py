"""The README's code examples run and print what the README says."""

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title):
    text = README.read_text()
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert m, f"README has no section {title!r}"
    return m.group(1)


@pytest.mark.parametrize("title", ["When eigenvalues mislead"])
def test_readme_section_examples(title):
    code = "\n".join(re.findall(r"```python\n(.*?)```", _section(title), flags=re.S))
    test = doctest.DocTestParser().get_doctest(code, {}, title, str(README), 0)
    assert test.examples, "no examples found"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"{runner.failures} README example(s) failed (see output above)"


def _script_blocks():
    """Every ```python block that is a plain script (doctest-style blocks are tested above)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return [b for b in blocks if not b.lstrip().startswith(">>>")]


def test_every_readme_script_runs(tmp_path, monkeypatch, capsys):
    """The README's scripts run in order, in one namespace, like a reader pasting them in."""
    monkeypatch.chdir(tmp_path)          # blocks may write files (lstm.npz, figures)
    namespace = {"__name__": "__readme__"}
    blocks = _script_blocks()
    assert len(blocks) >= 10
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"README.md block {i}", "exec"), namespace)
        except Exception as exc:          # pragma: no cover - the message is the point
            raise AssertionError(f"README python block {i} failed:\n{code}") from exc
    capsys.readouterr()
