"""Test configuration.

Hypothesis runs deterministically by default (derandomize, no deadline), so
CI is reproducible.  Set SPECTRA_HYPOTHESIS_PROFILE=random for a randomised
run with more examples (e.g. nightly): failures it finds print a seed and a
@reproduce_failure blob.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from threadpoolctl import threadpool_limits

# The matrices in the tests are small: on a 2-core machine multi-threaded BLAS is
# several times slower for them (and collapses when another process holds a core).
threadpool_limits(1)

settings.register_profile(
    "default", derandomize=True, deadline=None, max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "random", derandomize=False, deadline=None, max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SPECTRA_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng():
    """A fixed-seed generator, fresh for each test."""
    return np.random.default_rng(20261121)


@pytest.fixture(autouse=True)
def _restore_thread_policy():
    """Tests (and README examples run as tests) may call spectra.set_threads: undo it."""
    from spectra._core import threads as _threads

    saved = dict(_threads._state)
    yield
    _threads._state.clear()
    _threads._state.update(saved)
