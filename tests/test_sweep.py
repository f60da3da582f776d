"""spectra.sweep: same records on every executor, per-point seeds, errors, resuming after a kill."""

import concurrent.futures as cf
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import spectra
from spectra import grid

import _sweep_workloads as work

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

SPECTRAL = {"gain": [0.5, 1.5, -1.0], "activation": ["tanh", "relu"], "n": 5}


def _essence(rec):
    """Everything in a record that must not depend on the executor or the timing."""
    err = None if rec.error is None else (rec.error["type"], rec.error["message"], rec.error["where"])
    return (rec.index, rec.key, rec.params, rec.rng_seed, rec.result, err)


@pytest.fixture(scope="module")
def pool():
    """One spawned two-worker pool shared by the tests of this module (startup is paid once)."""
    with spectra.process_pool(2) as p:
        yield p


@pytest.fixture
def reference():
    return spectra.sweep(work.spectral, SPECTRAL, executor="serial")


# -- records ------------------------------------------------------------------------------------------
def test_serial_records_are_tidy_and_correct(reference):
    assert len(reference) == 6
    assert [r.index for r in reference] == list(range(6))
    assert [r.params for r in reference] == grid.as_grid(SPECTRAL).to_list()
    for r in reference:
        assert r.key == grid.point_key(r.params)
        if r.params["gain"] < 0:
            assert r.error["type"] == "ValueError" and r.error["where"] == "fn"
            assert "negative gain" in r.error["message"]
            assert 'raise ValueError(f"negative gain' in r.error["traceback"]
            assert r.result is None
            continue
        assert r.ok and r.elapsed >= 0 and r.pid == os.getpid()
        # the record holds exactly what fn computes for the recorded seed, JSON-friendly
        direct = work.spectral(**r.params, rng=r.rng_seed)
        assert r.result["svals"] == direct["svals"].tolist()
        assert r.result["log_norm"] == float(direct["log_norm"])
        assert type(r.result["log_norm"]) is float and type(r.result["final"]) is list
        assert json.loads(json.dumps(r.to_dict())) == r.to_dict()
    assert len(reference.failed) == 2 and len(reference.succeeded) == 4


def test_process_pool_gives_the_same_records(reference, pool):
    res = spectra.sweep(work.spectral, SPECTRAL, executor=pool)
    assert [_essence(r) for r in res] == [_essence(r) for r in reference]
    assert {r.pid for r in res}.isdisjoint({os.getpid()})


def test_default_pool_and_worker_count_give_the_same_records(reference):
    small = {**SPECTRAL, "gain": [0.5, -1.0]}
    ref = [_essence(r) for r in reference if r.params["gain"] in (0.5, -1.0)]
    ref = [(i,) + e[1:] for i, e in enumerate(ref)]
    assert [_essence(r) for r in spectra.sweep(work.spectral, small)] == ref
    assert [_essence(r) for r in spectra.sweep(work.spectral, small, executor=1)] == ref


def test_thread_pool_gives_the_same_records(reference):
    with cf.ThreadPoolExecutor(3) as ex:
        res = spectra.sweep(work.spectral, SPECTRAL, executor=ex)
    assert [_essence(r) for r in res] == [_essence(r) for r in reference]


def test_dask_local_cluster_gives_the_same_records(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = spectra.sweep(work.spectral, SPECTRAL, executor=client.get_executor())
        workers = {r.pid for r in res}
    assert [_essence(r) for r in res] == [_essence(r) for r in reference]
    assert os.getpid() not in workers


def test_workers_of_the_default_pool_use_one_blas_thread(pool):
    pytest.importorskip("threadpoolctl")
    res = spectra.sweep(work.blas_threads, [{}], executor=pool)
    info = res[0].result
    assert info["pools"], "no BLAS library seen in the worker"
    assert all(n == 1 for _, n in info["pools"]), info
    assert set(info["env"].values()) == {"1"}


# -- seeds ------------------------------------------------------------------------------------------------
def _documented_seed(base, params):
    """The derivation the docstring of `sweep` promises, written out independently."""
    import hashlib

    text = json.dumps(params, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()
    words = (int(digest[:8], 16), int(digest[8:16], 16))
    return int(np.random.SeedSequence(base, spawn_key=words).generate_state(1, np.uint64)[0]) >> 1


def test_seeds_follow_the_documented_derivation():
    res = spectra.sweep(work.draw, {"i": range(5)}, executor="serial", seed=7)
    assert [r.rng_seed for r in res] == [_documented_seed(7, {"i": i}) for i in range(5)]
    assert [r.result["u"] for r in res] == [np.random.default_rng(r.rng_seed).random() for r in res]


def test_seeds_do_not_depend_on_order_or_executor(pool):
    forward = spectra.sweep(work.draw, {"i": range(8)}, executor="serial")
    backward = spectra.sweep(work.draw, [{"i": i} for i in reversed(range(8))], executor=pool)
    by_i = {r.params["i"]: (r.rng_seed, r.result) for r in backward}
    assert {r.params["i"]: (r.rng_seed, r.result) for r in forward} == by_i
    assert [r.params["i"] for r in backward] == list(reversed(range(8)))
    assert len({r.rng_seed for r in forward}) == 8


def test_seeds_are_independent_streams():
    # 400 points: their first draws must look i.i.d. uniform (mean 1/2, sd sqrt(1/12)/sqrt(N))
    res = spectra.sweep(work.draw, {"i": range(400)}, executor="serial")
    u = np.array([r.result["u"] for r in res])
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / u.size)
    # lag-1 serial correlation in grid order ~ N(0, 1/N)
    r1 = np.corrcoef(u[:-1], u[1:])[0, 1]
    assert abs(r1) < 4 / np.sqrt(u.size)


def test_base_seed_changes_every_stream():
    a = spectra.sweep(work.draw, {"i": range(4)}, executor="serial", seed=0)
    b = spectra.sweep(work.draw, {"i": range(4)}, executor="serial", seed=1)
    assert all(x.rng_seed != y.rng_seed and x.result != y.result for x, y in zip(a, b))


def test_rng_only_passed_when_fn_takes_it():
    res = spectra.sweep(work.no_rng, {"a": [1, 2], "b": [3]}, executor="serial")
    assert [r.result for r in res] == [3, 6] and all(r.rng_seed is None for r in res)
    own = spectra.sweep(work.draw, [{"i": 0, "rng": 12}], executor="serial")
    assert own[0].rng_seed is None
    assert own[0].result["u"] == np.random.default_rng(12).random()


# -- errors -----------------------------------------------------------------------------------------------
def test_a_failing_point_does_not_stop_the_sweep(monkeypatch, tmp_path):
    monkeypatch.setattr(work, "FAIL", {1, 3})
    out = tmp_path / "s.jsonl"
    res = spectra.sweep(work.flaky, {"i": range(5)}, executor="serial", out=out)
    assert [r.ok for r in res] == [True, False, True, False, True]
    assert [r.result for r in res] == [0, None, 4, None, 16]
    assert res.failed[0].error["message"] == "point 1 failed"
    assert len(out.read_text().splitlines()) == 5


def test_failed_points_are_retried_on_resume_unless_told_not_to(monkeypatch, tmp_path):
    out = tmp_path / "s.jsonl"
    monkeypatch.setattr(work, "FAIL", {2})
    spectra.sweep(work.flaky, {"i": range(4)}, executor="serial", out=out)
    kept = spectra.sweep(work.flaky, {"i": range(4)}, executor="serial", out=out, retry_failed=False)
    assert (kept.resumed, kept.ran) == (4, 0) and not kept[2].ok
    monkeypatch.setattr(work, "FAIL", set())
    res = spectra.sweep(work.flaky, {"i": range(4)}, executor="serial", out=out)
    assert (res.resumed, res.ran) == (3, 1)
    assert [r.result for r in res] == [0, 1, 4, 9] and not res.failed
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 5  # append-only: the old failure stays, the success wins
    assert [r.result for r in spectra.load_sweep(out)] == [0, 1, 4, 9]


def test_results_that_are_not_json_are_recorded_as_errors():
    class WithToDict:
        def to_dict(self):
            return {"x": np.float32(0.5), "arr": np.arange(3), "nested": (np.int64(1), {"y": None})}

    def make(kind):
        return {"to_dict": WithToDict(), "object": object(), "complex": np.ones(2, complex),
                "int key": {1: 2}, "nan": float("nan")}[kind]

    res = spectra.sweep(make, {"kind": ["to_dict", "object", "complex", "int key", "nan"]},
                        executor="serial")
    assert res[0].result == {"x": 0.5, "arr": [0, 1, 2], "nested": [1, {"y": None}]}
    for r in res[1:4]:
        assert r.error["where"] == "result" and r.error["type"] == "TypeError"
    assert "must be a JSON value (a dict, list" in res[1].error["message"]
    assert np.isnan(res[4].result)


def test_a_lost_worker_is_recorded_warned_and_not_written(tmp_path):
    out = tmp_path / "s.jsonl"
    with pytest.warns(RuntimeWarning, match="could not be run by the executor"):
        res = spectra.sweep(work.die, {"i": range(4)}, executor=2, out=out)
    lost = [r for r in res if not r.ok]
    assert res[1] in lost and all(r.error["where"] == "executor" for r in lost)
    assert res[1].error["type"] == "BrokenProcessPool"
    written = [json.loads(x)["params"]["i"] for x in out.read_text().splitlines()]
    assert sorted(written) == sorted(r.params["i"] for r in res if r.ok)


class _RefusingExecutor(cf.Executor):
    """Runs points inline, but fails the futures of odd points (an executor losing them)."""

    def submit(self, fn, *args, **kwargs):
        fut = cf.Future()
        if args[1]["i"] % 2:
            fut.set_exception(ConnectionError("worker lost"))
        else:
            fut.set_result(fn(*args, **kwargs))
        return fut


def test_executor_failures_are_retried_by_a_rerun(tmp_path):
    out = tmp_path / "s.jsonl"
    with pytest.warns(RuntimeWarning, match=r"2 point\(s\).*ConnectionError: worker lost"):
        res = spectra.sweep(work.draw, {"i": range(4)}, executor=_RefusingExecutor(), out=out)
    assert [r.ok for r in res] == [True, False, True, False]
    again = spectra.sweep(work.draw, {"i": range(4)}, executor="serial", out=out)
    assert (again.resumed, again.ran) == (2, 2) and not again.failed
    fresh = spectra.sweep(work.draw, {"i": range(4)}, executor="serial")
    assert [_essence(r) for r in again] == [_essence(r) for r in fresh]


# -- resuming ---------------------------------------------------------------------------------------------------
KILL_SCRIPT = """
import sys
import spectra
import _sweep_workloads as work

if __name__ == "__main__":
    spectra.sweep(work.slow_draw, {"i": range(40), "delay": 0.05}, executor=2, out=sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_killed_sweep_resumes_complete_and_duplicate_free(tmp_path):
    out = tmp_path / "sweep.jsonl"
    script = tmp_path / "run_sweep.py"
    script.write_text(KILL_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(script), str(out)], env=env, cwd=tmp_path,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 5:
                break
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()[1].decode()
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-flight
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    survived = out.read_bytes()
    complete = survived.count(b"\n")
    assert 5 <= complete < 40, "the kill did not land mid-sweep"

    res = spectra.sweep(work.slow_draw, {"i": range(40), "delay": 0.05}, executor=2, out=out)
    assert res.resumed == complete and res.ran == 40 - complete
    assert [r.params["i"] for r in res] == list(range(40)) and not res.failed
    assert len({r.key for r in res}) == 40
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 40 and len({d["key"] for d in lines}) == 40
    # resumed and newly run records alike hold what a clean run gives
    for r in res:
        assert r.rng_seed == _documented_seed(0, r.params)
        assert r.result == {"i": r.params["i"], "u": np.random.default_rng(r.rng_seed).random()}
    assert [_essence(r) for r in spectra.load_sweep(out)] == [_essence(r) for r in res]


def test_a_line_cut_short_is_dropped_and_rerun(tmp_path):
    out = tmp_path / "s.jsonl"
    full = spectra.sweep(work.draw, {"i": range(6)}, executor="serial", out=out)
    text = out.read_bytes()
    lines = text.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:3]) + lines[3][:25])  # killed while writing record 3
    res = spectra.sweep(work.draw, {"i": range(6)}, executor="serial", out=out)
    assert (res.resumed, res.ran) == (3, 3)
    assert [_essence(r) for r in res] == [_essence(r) for r in full]
    reread = [json.loads(x) for x in out.read_text().splitlines()]  # every line whole again
    assert sorted(d["params"]["i"] for d in reread) == list(range(6))


def test_interrupt_stops_the_sweep_keeps_records_and_releases_the_file(tmp_path, monkeypatch):
    out = tmp_path / "s.jsonl"
    monkeypatch.setattr(work, "FAIL", {2})
    with pytest.raises(KeyboardInterrupt):  # not recorded as a failed point: it stops the sweep
        spectra.sweep(work.interrupt_at_2, {"i": range(5)}, executor="serial", out=out)
    assert [json.loads(x)["params"]["i"] for x in out.read_text().splitlines()] == [0, 1]
    monkeypatch.setattr(work, "FAIL", set())
    res = spectra.sweep(work.interrupt_at_2, {"i": range(5)}, executor="serial", out=out)
    assert (res.resumed, res.ran) == (2, 3) and [r.result for r in res] == [0, 1, 2, 3, 4]


def test_growing_the_grid_runs_only_new_points(tmp_path):
    out = tmp_path / "s.jsonl"
    small = grid.product(gain=[0.5, 1.0], activation=["tanh"], n=4)
    spectra.sweep(work.spectral, small, executor="serial", out=out)
    big = grid.product(gain=[0.5, 1.0, 2.0], activation=["tanh", "relu"], n=4)
    res = spectra.sweep(work.spectral, big, executor="serial", out=out)
    assert (res.resumed, res.ran) == (2, 4)
    assert [r.index for r in res] == list(range(6))
    fresh = spectra.sweep(work.spectral, big, executor="serial")
    assert [_essence(r) for r in res] == [_essence(r) for r in fresh]


def test_resume_refuses_records_made_with_another_seed(tmp_path):
    out = tmp_path / "s.jsonl"
    spectra.sweep(work.draw, {"i": range(3)}, executor="serial", out=out, seed=1)
    with pytest.raises(ValueError, match="run with rng seed .* another `seed`"):
        spectra.sweep(work.draw, {"i": range(3)}, executor="serial", out=out, seed=2)


def test_corrupt_out_file_is_reported_with_its_line(tmp_path):
    out = tmp_path / "s.jsonl"
    spectra.sweep(work.draw, {"i": range(3)}, executor="serial", out=out)
    lines = out.read_text().splitlines()
    out.write_text("\n".join([lines[0], "{not json", lines[2]]) + "\n")
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        spectra.sweep(work.draw, {"i": range(3)}, executor="serial", out=out)
    d = json.loads(lines[1])
    d["params"]["i"] = 99
    out.write_text("\n".join([lines[0], json.dumps(d)]) + "\n")
    with pytest.raises(ValueError, match="line 2 has key .* does not match its params"):
        spectra.sweep(work.draw, {"i": range(3)}, executor="serial", out=out)
    out.write_text('{"a": 1}\n')
    with pytest.raises(ValueError, match="line 1 is not a sweep record"):
        spectra.load_sweep(out)


def test_out_file_is_locked_while_a_sweep_writes(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "s.jsonl"
    with open(out, "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(RuntimeError, match="locked by another running sweep"):
            spectra.sweep(work.draw, {"i": range(2)}, executor="serial", out=out)
    assert len(spectra.sweep(work.draw, {"i": range(2)}, executor="serial", out=out)) == 2


def test_records_are_fsynced_in_batches_and_at_the_end(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(time.monotonic()), real_fsync(fd)))
    out = tmp_path / "s.jsonl"
    res = spectra.sweep(work.draw, {"i": range(300)}, executor="serial", out=out)
    # not one per record: one per second of running at most, plus the one at the end
    assert 1 <= len(synced) <= 2 + res.elapsed / spectra.sweeps.store._Store.SYNC_INTERVAL < 300
    synced.clear()
    monkeypatch.setattr(spectra.sweeps.store._Store, "SYNC_INTERVAL", 0.01)
    spectra.sweep(work.slow_draw, {"i": range(6), "delay": 0.05}, executor="serial", out=tmp_path / "t.jsonl")
    assert len(synced) >= 2  # the background thread synced while points ran, and close() at the end


def test_out_directories_are_created_and_result_remembers_out(tmp_path):
    out = tmp_path / "a" / "b" / "s.jsonl"
    res = spectra.sweep(work.draw, {"i": [0]}, executor="serial", out=out)
    assert out.exists() and res.out == str(out)
    assert spectra.load_sweep(out).records == res.records


# -- tables and progress -----------------------------------------------------------------------------------------------
def test_rows_are_flat_and_clashes_are_prefixed():
    def fn(seed, key, *, rng):
        return {"seed": 1.5, "stats": {"mean": 0.0, "sd": 1.0}, "v": [1, 2]}

    res = spectra.sweep(fn, {"seed": [3], "key": ["a"]}, executor="serial")
    row = res.rows()[0]
    assert row["seed"] == 3 and row["key"] == "a"
    assert row["result.seed"] == 1.5 and row["sweep.key"] == res[0].key
    assert row["stats.mean"] == 0.0 and row["stats.sd"] == 1.0 and row["v"] == [1, 2]
    assert row["rng_seed"] == res[0].rng_seed and row["error"] is None
    scalar = spectra.sweep(work.no_rng, {"a": [2]}, executor="serial").rows()[0]
    assert scalar["result"] == 4


def test_to_dataframe(reference):
    pd = pytest.importorskip("pandas")
    df = reference.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == 6
    assert list(df["gain"]) == [0.5, 0.5, 1.5, 1.5, -1.0, -1.0]
    assert df["error"].notna().sum() == 2
    assert df.loc[0, "log_norm"] == reference[0].result["log_norm"]


def test_to_dataframe_without_pandas(reference, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas, which is not installed.*rows\\(\\)"):
        reference.to_dataframe()


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal(monkeypatch, capsys):
    spectra.sweep(work.draw, {"i": range(3)}, executor="serial")
    assert capsys.readouterr().err == ""
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    spectra.sweep(work.draw, {"i": range(3)}, executor="serial")
    # a tqdm bar (issue 18): label, count and a time estimate, the line ended
    assert "sweep: 100%" in term.getvalue() and "3/3 [" in term.getvalue()
    assert "<00:00" in term.getvalue() and term.getvalue().endswith("\n")
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    spectra.sweep(work.draw, {"i": range(3)}, executor="serial", progress=False)
    assert quiet.getvalue() == ""


def test_result_container():
    res = spectra.sweep(work.draw, {"i": range(3)}, executor="serial")
    assert list(res) == list(res.records) and res[-1].index == 2
    assert repr(res) == "SweepResult(3 points, 0 failed, 0 resumed, 3 ran)"
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d and len(d["records"]) == 3
    assert spectra.SweepRecord.from_dict(d["records"][1]) == res[1]


# -- bad arguments ---------------------------------------------------------------------------------------------------------
BAD = [
    ("fn not callable", lambda: spectra.sweep(3, {"a": [1]}), TypeError, "`fn` must be callable"),
    ("grid type", lambda: spectra.sweep(work.no_rng, 3), TypeError, "`grid` must be a dict of parameter lists"),
    ("empty grid", lambda: spectra.sweep(work.no_rng, []), ValueError, "`grid` has no points"),
    ("repeated point", lambda: spectra.sweep(work.no_rng, [{"a": 1}, {"a": 1}]), ValueError,
     "must not repeat a point; points 0 and 1"),
    ("wrong parameters", lambda: spectra.sweep(work.no_rng, {"c": [1]}), TypeError,
     "`fn` cannot be called with point 0 of `grid`"),
    ("missing parameter", lambda: spectra.sweep(work.draw, [{"i": 1}, {"j": 2}]), TypeError,
     "point 1 of `grid`"),
    ("executor string", lambda: spectra.sweep(work.no_rng, {"a": [1]}, executor="threads"), ValueError,
     "`executor` must be None, 'serial'"),
    ("executor zero", lambda: spectra.sweep(work.no_rng, {"a": [1]}, executor=0), ValueError,
     "`executor` must be >= 1"),
    ("executor type", lambda: spectra.sweep(work.no_rng, {"a": [1]}, executor=object()), TypeError,
     "client.get_executor"),
    ("executor bool", lambda: spectra.sweep(work.no_rng, {"a": [1]}, executor=True), TypeError, "`executor`"),
    ("lambda in a pool", lambda: spectra.sweep(lambda a: a, {"a": [1]}), TypeError,
     "`fn` must be picklable to run in a process pool"),
    ("local fn in a given pool", lambda: spectra.sweep(_local_fn(), [{}], executor=cf.ProcessPoolExecutor(1)),
     TypeError, "must be picklable"),
    ("seed negative", lambda: spectra.sweep(work.no_rng, {"a": [1]}, seed=-1), ValueError, "`seed` must be >= 0"),
    ("seed float", lambda: spectra.sweep(work.no_rng, {"a": [1]}, seed=1.5), TypeError, "`seed` must be an integer"),
    ("out type", lambda: spectra.sweep(work.no_rng, {"a": [1]}, out=3), TypeError, "`out` must be a file path"),
    ("progress type", lambda: spectra.sweep(work.no_rng, {"a": [1]}, progress="yes"), TypeError,
     "`progress` must be True, False or None"),
    ("retry type", lambda: spectra.sweep(work.no_rng, {"a": [1]}, retry_failed=None), TypeError,
     "`retry_failed` must be True or False"),
    ("process_pool workers", lambda: spectra.process_pool(0), ValueError, "`max_workers` must be >= 1"),
    ("load_sweep type", lambda: spectra.load_sweep(3), TypeError, "`path` must be a file path"),
    ("load_sweep missing", lambda: spectra.load_sweep("/nonexistent/sweep.jsonl"), FileNotFoundError,
     "does not exist"),
]


def _local_fn():
    def inner():
        return 1
    return inner


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_lambdas_run_serially_and_in_threads():
    assert spectra.sweep(lambda a: a + 1, {"a": [1, 2]}, executor="serial")[1].result == 3
    with cf.ThreadPoolExecutor(2) as ex:
        assert spectra.sweep(lambda a: a + 1, {"a": [1, 2]}, executor=ex)[1].result == 3
