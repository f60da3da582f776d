"""Makes docs/conftest.py importable as docs.conftest beside tests/conftest.py (pytest)."""
