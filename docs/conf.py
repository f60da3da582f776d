"""Sphinx configuration of the spectra documentation (``python -m sphinx -W -b html docs DIR``)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("sphinxext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import spectra  # noqa: E402

project = "spectra"
author = "the spectra authors"
copyright = "2026, the spectra authors"
release = spectra.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext"}     # Markdown only through explicit includes
exclude_patterns = ["_build", "gallery_scripts/README.rst", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

html_theme = "pydata_sphinx_theme"
html_title = f"spectra {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []


sphinx_gallery_conf = {
    "examples_dirs": "gallery_scripts",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "image_scrapers": ("spectra_scraper.figure_scraper",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing", "myst.header"]
autosummary_ignore_module_all = False
