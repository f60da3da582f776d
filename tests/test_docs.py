"""The documentation site's sources stay in step with the package.

The ``>>>`` examples of the pages run as doctests (``--doctest-glob=*.rst`` over ``docs/``);
here: the API reference lists every public name in the groups of ``help(spectra)``, and the
pages show no Python code that escapes the doctests.
"""

import re
from pathlib import Path

import spectra

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _groups_of_docstring():
    lines = spectra.__doc__.split("\n")
    groups = {}
    for i in range(len(lines) - 1):
        if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1]):
            names = []
            for line in lines[i + 2:]:
                if not line.startswith("   "):
                    break
                names.append(line.split("--")[0].strip())
            groups[lines[i].strip()] = names
    return groups


def _groups_of_api_page():
    text = (DOCS / "api.rst").read_text()
    groups = {}
    for m in re.finditer(r"^(\S[^\n]*)\n-{3,}\n\n\.\. autosummary::\n   :toctree: generated/\n\n"
                         r"((?:   \S+\n?)+)", text, flags=re.M):
        groups[m.group(1)] = m.group(2).split()
    return groups


def test_api_reference_lists_every_public_name_grouped_like_the_namespace():
    doc, api = _groups_of_docstring(), _groups_of_api_page()
    assert doc and api == doc
    listed = [name for names in api.values() for name in names]
    assert sorted(listed) == sorted(spectra.__all__)


def test_user_guide_pages_are_included_by_glob():
    guide = (DOCS / "user_guide.rst").read_text()
    assert ":glob:" in guide and "user/*" in guide
    assert len(list((DOCS / "user").glob("*.rst"))) >= 10


def test_pages_show_python_only_as_doctests():
    """A Python example outside ``>>>`` would not be run, so its numbers could go stale."""
    pages = [*DOCS.glob("*.rst"), *(DOCS / "user").glob("*.rst")]
    for page in [p for p in pages if p.name != "sg_execution_times.rst"]:     # sphinx-gallery's
        text = page.read_text()
        assert not re.search(r"\.\. code-block:: (python|pycon)|\.\. code:: python", text), page
        assert ">>>" in text or page.name in {"api.rst", "changelog.rst", "architecture.rst",
                                              "user_guide.rst"}, page
