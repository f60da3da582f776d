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
