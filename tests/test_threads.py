"""The thread policy: caps, the environment variable, and limits that only ever go down."""

import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import spectra
from spectra._core import threads as _threads


def _blas_threads():
    return min(d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas")


def test_set_threads_and_context_manager(monkeypatch):
    monkeypatch.delenv("SPECTRA_NUM_THREADS", raising=False)
    default = spectra.get_threads()
    assert default >= 1
    spectra.set_threads(3)
    try:
        assert spectra.get_threads() == 3
        with spectra.threads(2):
            assert spectra.get_threads() == 2
        assert spectra.get_threads() == 3
    finally:
        spectra.set_threads(None)
    assert spectra.get_threads() == default
    monkeypatch.setenv("SPECTRA_NUM_THREADS", "5")
    assert spectra.get_threads() == 5
    monkeypatch.setenv("SPECTRA_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="SPECTRA_NUM_THREADS"):
        spectra.get_threads()


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError)])
def test_bad_thread_counts(bad, exc):
    with pytest.raises(exc, match="`n`"):
        spectra.set_threads(bad)


def test_policy_by_kind_and_size():
    with spectra.threads(4):
        assert _threads.policy_threads("factor", 4096) == 1     # QR/SVD: one thread
        assert _threads.policy_threads("gemm", 256) == 1        # small GEMMs: one thread
        assert _threads.policy_threads("gemm", 1024) == 4       # large GEMM sweeps: the cap


def test_limits_only_go_down():
    with threadpool_limits(2, user_api="blas"):
        assert _blas_threads() == 2
        with _threads.blas_threads("factor", 256):
            assert _blas_threads() == 1
        assert _blas_threads() == 2
        with spectra.threads(8), _threads.blas_threads("gemm", 2048):
            assert _blas_threads() == 2          # never above what the caller allowed
    with threadpool_limits(1, user_api="blas"), spectra.threads(2), _threads.blas_threads("gemm", 4096):
        assert _blas_threads() == 1


def test_import_does_not_load_threadpoolctl():
    code = "import sys, spectra; print('threadpoolctl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_routines_run_under_the_policy(rng):
    J = rng.standard_normal((30, 50, 50)) / np.sqrt(50)
    with threadpool_limits(2, user_api="blas"):
        res = spectra.lyapunov_spectrum(J)
        assert _blas_threads() == 2              # restored afterwards
    assert res.exponents.shape == (50,)
