"""The README's code examples run and print what the README says; it stays short and true."""

import configparser
import doctest
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_examples(tmp_path, monkeypatch):
    """Every ```python block of the README: doctest blocks match their output, scripts run."""
    monkeypatch.chdir(tmp_path)
    blocks = _python_blocks()
    assert blocks, "README has no python example"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    namespace = {"__name__": "__readme__"}
    examples = 0
    for i, code in enumerate(blocks):
        if code.lstrip().startswith(">>>"):
            test = parser.get_doctest(code, namespace, f"README block {i}", str(README), 0)
            examples += len(test.examples)
            runner.run(test, clear_globs=False)
        else:
            exec(compile(code, f"README.md block {i}", "exec"), namespace)
            examples += 1
    assert examples >= 5
    assert runner.failures == 0, f"{runner.failures} README example(s) failed (see output above)"


def test_readme_is_short_and_names_the_distribution():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    name = cfg["metadata"]["name"]
    assert name == "jacobian-spectra"
    assert f"pip install {name}" in text
    assert "Do not `pip install spectra`" in text      # PyPI's spectra is a colour library


def test_ci_runs_the_readme_test_command():
    text = README.read_text()
    m = re.search(r"# the tests \(exactly the test command of CI, \.ci/run\)\n(.+)\n", text)
    assert m, "README lost its test command"
    assert m.group(1).strip() in (ROOT / ".ci" / "run").read_text()


def test_readme_links_resolve():
    """Relative links of the README point at files of the repository."""
    links = re.findall(r"\]\(([^)#]+)\)", README.read_text())
    assert links
    for link in links:
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link
