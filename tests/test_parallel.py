"""Batches in parallel (spectra._core.parallel): members split over worker threads give the
serial results (bit for bit where the serial path treats members independently), and the
thread policy lowers every BLAS library on its own."""

import threading

import numpy as np
import pytest

import spectra
from spectra import NumericalError
from spectra._core import parallel
from spectra._core import threads as _threads
from spectra.jacobians.structured import DenseJacobians, ScaledJacobians


@pytest.fixture
def split_always(monkeypatch):
    """Every batch of two or more members is split, whatever its size."""
    monkeypatch.setitem(parallel.MIN_CHUNK_WORK, "gemm", 0)
    monkeypatch.setitem(parallel.MIN_CHUNK_WORK, "lyapunov", 0)
    monkeypatch.setitem(parallel.MIN_CHUNK_WORK, "matvec", 0)
    monkeypatch.setitem(parallel.MIN_CHUNK_WORK, "logsv", 0)
    monkeypatch.setitem(parallel.MIN_CHUNK_WORK, "wy", 0)


@pytest.fixture
def thread_names(monkeypatch):
    """Names of the threads that took a chunk of members of a ScaledJacobians batch (each chunk
    takes its members in the thread that runs it)."""
    names = set()
    original = ScaledJacobians.members

    def spy(self, start, stop):
        names.add(threading.current_thread().name)
        return original(self, start, stop)

    monkeypatch.setattr(ScaledJacobians, "members", spy)
    return names


def _ensemble(n, B=5, T=80, gain=1.3):
    nets = [spectra.ElmanRNN.random(n, gain=gain, rng=i) for i in range(B)]
    return spectra.ensemble(nets).run(h0=np.linspace(-0.5, 0.5, n), steps=T)


def _batched_run(n, B=5, T=80):
    cell = spectra.ElmanRNN.random(n, gain=1.3, input_size=3, rng=7)
    return cell.run(np.random.default_rng(3).standard_normal((B, T, 3)))


def _serial_and_split(fn, arg, workers=(2, 3)):
    with spectra.threads(1):
        ref = fn(arg)
    outs = []
    for w in workers:
        with spectra.threads(w):
            outs.append(fn(arg))
    return ref, outs


def test_split_members_and_map_members():
    assert parallel.split_members(7, 3) == [(0, 3), (3, 5), (5, 7)]
    assert parallel.split_members(2, 5) == [(0, 1), (1, 2)]
    assert parallel.split_members(4, 1) == [(0, 4)]
    seen = []

    def fn(i, a, b, share):
        seen.append(threading.current_thread().name)
        assert parallel.in_worker()
        return i, a, b, share(float(b)), share(-float(a))

    out = parallel.map_members(fn, 7, 3)
    assert out == [(0, 0, 3, 7.0, 0.0), (1, 3, 5, 7.0, 0.0), (2, 5, 7, 7.0, 0.0)]
    assert sum(name.startswith("spectra-members") for name in seen) == 2
    assert not parallel.in_worker()
    # one chunk: in the calling thread, share is the identity
    assert parallel.map_members(lambda i, a, b, share: share(3.5), 4, 1) == [3.5]


def test_map_members_reraises_and_releases_the_barrier():
    def fn(i, a, b, share):
        if i == 1:
            raise ValueError("chunk 1 failed")
        share(1.0)               # would wait forever for chunk 1 without the abort
        return i

    with pytest.raises(ValueError, match="chunk 1 failed"):
        parallel.map_members(fn, 6, 3)


def test_member_workers_policy():
    with spectra.threads(1):
        assert parallel.member_workers(64, 512) == 1
    with spectra.threads(4):
        assert parallel.member_workers(1, 512) == 1          # one member: nothing to split
        assert parallel.member_workers(3, 512) == 3          # never more workers than members
        assert parallel.member_workers(64, 512) == 4
        small = parallel.MIN_CHUNK_WORK["gemm"]
        n = int(round(small ** (1 / 3)))
        assert parallel.member_workers(8, n // 2) == 1       # 2 members of (n/2)^3 per chunk
        assert parallel.member_workers(8 * 4, n) == 4        # 8 members of n^3 per chunk
        m = int(round(parallel.MIN_CHUNK_WORK["matvec"] ** 0.5))
        assert parallel.member_workers(8, m // 2, "matvec") == 1    # a vector profile: n^2
        assert parallel.member_workers(8 * 4, m, "matvec") == 4
        assert parallel.member_workers(64, 512, "wy") == 1    # dgeqrt/dgemqrt hold the GIL
    with spectra.threads(2):                                  # 32 members of 32^3 = 2^20 per chunk
        assert parallel.member_workers(64, 32, "logsv") == 2
        assert parallel.member_workers(64, 32, "lyapunov") == 1
    with spectra.threads(4):
        assert parallel.map_members(lambda i, a, b, s: parallel.member_workers(64, 512),
                                    4, 2) == [1, 1]         # nested: serial


@pytest.mark.parametrize("make", [_ensemble, _batched_run], ids=["ensemble", "batched run"])
@pytest.mark.parametrize("n", [6, 50])
def test_split_products_and_profiles_are_the_serial_ones(make, n, split_always, thread_names):
    traj = make(n)
    for fn in (lambda tr: tr.product(),
               lambda tr: tr.product(60, 20),
               lambda tr: spectra.gradient_norm_profile(tr, ord="fro").log_norms,
               lambda tr: spectra.product_log_singular_values(tr, t=70, k=10),
               lambda tr: spectra.gradient_norm_profile(tr, vector=np.ones(n)).log_norms,
               lambda tr: spectra.gradient_norm_profile(
                   tr, vector=np.arange(5 * n, dtype=float).reshape(5, n)).log_norms):
        thread_names.clear()
        ref, outs = _serial_and_split(fn, traj)
        for out in outs:
            assert np.array_equal(out, ref)
        assert any(name.startswith("spectra-members") for name in thread_names)
    # independent truth: the dense products of every member
    J = traj.jacobians()                                       # (B, T, n, n)
    with spectra.threads(2):
        P = traj.product(60, 20)
    for b in range(J.shape[0]):
        dense = np.eye(n)
        for t in range(21, 61):
            dense = J[b, t - 1] @ dense
        assert np.allclose(P[b], dense, rtol=1e-12, atol=1e-13 * np.abs(dense).max())
        with spectra.threads(2):
            ls = spectra.product_log_singular_values(traj, t=60, k=20)[b]
        sv = np.linalg.svd(dense, compute_uv=False)
        big = sv > 1e-8 * sv[0]              # the dense SVD resolves these to ~1e-8 relative
        assert np.allclose(ls[big], np.log(sv[big]), rtol=0, atol=1e-7)


def test_split_spectral_profile_is_certified(split_always):
    traj = _ensemble(40, B=4, T=60)
    ref, (out,) = _serial_and_split(lambda tr: spectra.gradient_norm_profile(tr).log_norms,
                                    traj, workers=(2,))
    assert np.max(np.abs(out - ref)) < 1e-10
    J = traj.jacobians()
    for b in range(4):                     # against an SVD of every lag's product
        P = np.eye(40)
        for lag in range(1, 61):
            P = P @ J[b, 60 - lag]
            assert abs(out[b, lag - 1] - np.log(np.linalg.norm(P, 2))) < 1e-10


@pytest.mark.parametrize("make", [_ensemble, _batched_run], ids=["ensemble", "batched run"])
@pytest.mark.parametrize("n", [6, 50])
@pytest.mark.parametrize("options", [{}, {"reorth_every": 3}, {"reorth_every": 1, "warmup": 5},
                                     {"k": 3, "rng": 1}])
def test_split_lyapunov_is_the_serial_one(make, n, options, split_always, monkeypatch):
    traj = make(n, T=120)
    calls = []
    original = ScaledJacobians.members
    monkeypatch.setattr(ScaledJacobians, "members",
                        lambda self, a, b: calls.append((a, b)) or original(self, a, b))

    def fn(tr):
        res = spectra.lyapunov_spectrum(tr, **options)
        return res.exponents, res.running, res.stderr, res.roundoff, res.running_steps, res.qr_count

    ref, outs = _serial_and_split(fn, traj)
    for out in outs:
        for a, b in zip(ref, out):
            assert np.array_equal(a, b)
    assert (0, 3) in calls and (3, 5) in calls and (0, 2) in calls     # 2 then 3 workers
    # independent truth: QR at every step on each member's dense Jacobians
    J = traj.jacobians()
    k = options.get("k", n)
    for b in (0, 4):
        if k < n:
            continue
        Q, acc = np.eye(n), np.zeros(n)
        warm = options.get("warmup", 0)
        for t in range(1, J.shape[1] + 1):
            Q, R = np.linalg.qr(J[b, t - 1] @ Q)
            if t > warm:
                acc += np.log(np.abs(np.diag(R)))
        ref_exp = np.sort(acc / (J.shape[1] - warm))[::-1]
        assert np.max(np.abs(outs[0][0][b] - ref_exp)) < 1e-8


def test_split_dense_batches(split_always, rng):
    J = rng.standard_normal((4, 30, 5, 5)) / np.sqrt(5)
    seq = DenseJacobians(J)
    assert seq.splittable and seq.members(1, 3).batch_shape == (2,)
    assert np.array_equal(seq.members(1, 3).matrix(4), J[1:3, 3])
    for fn in (lambda s: s.product(), lambda s: spectra.lyapunov_spectrum(s).exponents,
               lambda s: spectra.gradient_norm_profile(s, ord="fro").log_norms):
        ref, outs = _serial_and_split(fn, seq)
        assert all(np.array_equal(o, ref) for o in outs)
    P = np.eye(5)
    for t in range(30):
        P = J[2, t] @ P
    with spectra.threads(2):
        assert np.allclose(seq.product()[2], P, rtol=1e-12, atol=1e-14)


def test_members_bad_arguments():
    seq = DenseJacobians(np.zeros((3, 4, 2, 2)))
    with pytest.raises(ValueError, match="`stop`"):
        seq.members(1, 1)
    with pytest.raises(ValueError, match="`start`"):
        seq.members(3, 4)
    single = DenseJacobians(np.zeros((4, 2, 2)))
    assert not single.splittable
    with pytest.raises(ValueError, match=r"batch of shape \(B,\)"):
        single.members(0, 1)


def test_an_error_in_a_chunk_reaches_the_caller(split_always):
    J = np.broadcast_to(np.eye(3), (4, 20, 3, 3)).copy()
    J[3, 9] = 1.0                                 # only the last chunk's member overflows:
    J[3, 10] = 1.5e308                            # 3 * 1.5e308 * (entries >= 0.5) = inf
    with spectra.threads(2), pytest.raises(NumericalError, match="non-finite"):
        DenseJacobians(J).product()


def test_blas_threads_lowers_every_library():
    import scipy.linalg  # noqa: F401  (its OpenBLAS is a second library)

    libs = _threads._controller().lib_controllers
    if len(libs) < 2:
        pytest.skip("one BLAS library loaded")
    before = [lib.num_threads for lib in libs]
    try:
        libs[0].set_num_threads(1)           # a limit on one library only (set before the other loaded)
        libs[1].set_num_threads(2)
        with _threads.blas_threads("factor", 256):
            assert [lib.num_threads for lib in libs] == [1, 1]
        assert [lib.num_threads for lib in libs] == [1, 2]
        with spectra.threads(4), _threads.blas_threads("gemm", 2048):
            assert [lib.num_threads for lib in libs] == [1, 2]    # never raised
    finally:
        for lib, count in zip(libs, before):
            lib.set_num_threads(count)
