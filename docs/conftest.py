"""pytest runs the ``>>>`` examples of the documentation pages (``--doctest-glob=*.rst``).

The configuration and the gallery scripts are not tests; examples run in a temporary directory
(some write files).
"""

import pytest

collect_ignore = ["conf.py", "sphinxext", "sg_execution_times.rst"]
collect_ignore_glob = ["_build/*", "gallery_scripts/*", "auto_examples/*", "generated/*"]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
