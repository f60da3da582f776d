"""The examples of docs/user/theory.rst run and print what the page says."""

import doctest
import pathlib

import pytest

pytest.importorskip("matplotlib")

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "user" / "theory.rst"


def test_theory_page_examples():
    res = doctest.testfile(str(PAGE), module_relative=False,
                           optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert res.attempted > 15 and res.failed == 0
