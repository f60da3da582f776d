"""The gradient monitor: recording schedule, norms, flags, spectral summaries, history."""

import json
import math

import numpy as np
import pytest

import spectra
from spectra.monitor import Event, GradientAlarm, GradientMonitor, StepRecord


class FakeTensor:
    """Duck-types the part of a torch tensor the monitor reads."""

    def __init__(self, a):
        self._a = np.asarray(a, dtype=np.float32)
        self.shape = self._a.shape

    def detach(self):
        return self

    def float(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self._a


class FakeParameter(FakeTensor):
    def __init__(self, a, grad=None):
        super().__init__(a)
        self.grad = None if grad is None else FakeTensor(grad)


class FakeModule:
    def __init__(self, params):
        self._params = params

    def named_parameters(self):
        return iter(self._params.items())


def test_records_only_at_chosen_steps():
    mon = GradientMonitor(every=3)
    recs = [mon.record(s, [np.ones(2)]) for s in range(10)]
    assert mon.steps == [0, 3, 6, 9]
    assert [r is None for r in recs] == [s % 3 != 0 for s in range(10)]
    assert mon.due(6) and not mon.due(7)
    explicit = GradientMonitor(at_steps=[2, 5])
    for s in range(8):
        explicit.record(s, {"a": np.ones(1)})
    assert explicit.steps == [2, 5] and not explicit.due(0)
    assert explicit.record(7, {"a": np.ones(1)}, force=True).step == 7
    with pytest.raises(ValueError, match="`step` must increase"):
        explicit.record(6, {"a": np.ones(1)}, force=True)
    assert "recorded=3" in repr(explicit)


def test_gradient_norms_in_every_input_form(rng):
    G = {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(4), "W2": rng.standard_normal((2, 4))}
    expect = {k: np.linalg.norm(v) for k, v in G.items()}
    total = np.sqrt(sum(v ** 2 for v in expect.values()))
    forms = [G, list(G.items()), FakeModule({k: FakeParameter(np.zeros_like(v), v) for k, v in G.items()})]
    for form in forms:
        rec = GradientMonitor().record(0, form)
        tol = 1e-6 if isinstance(form, FakeModule) else 1e-14       # float32 tensors
        for k, v in expect.items():
            assert rec.grad_norms[k] == pytest.approx(v, rel=tol)
        assert rec.grad_norms["total"] == pytest.approx(total, rel=tol)
        assert list(rec.grad_norms) == ["W1", "b1", "W2", "total"]
    rec = GradientMonitor().record(0, list(G.values()))
    assert list(rec.grad_norms) == ["0", "1", "2", "total"]
    # parameters without a gradient are skipped
    m = FakeModule({"w": FakeParameter(np.ones((2, 2)), np.ones((2, 2))), "frozen": FakeParameter(np.ones(3))})
    assert list(GradientMonitor().record(0, m).grad_norms) == ["w", "total"]


def test_norms_neither_overflow_nor_underflow():
    big = np.full(100, 1e300)
    tiny = np.full(100, 1e-300)
    rec = GradientMonitor().record(0, {"big": big, "tiny": tiny, "zero": np.zeros(3)})
    assert rec.grad_norms["big"] == pytest.approx(1e301, rel=1e-14)
    assert rec.grad_norms["tiny"] == pytest.approx(1e-299, rel=1e-14)
    assert rec.grad_norms["zero"] == 0.0
    assert rec.grad_norms["total"] == pytest.approx(1e301, rel=1e-14)
    assert rec.status == "ok"


def test_non_finite_gradients_are_flagged_and_can_raise():
    mon = GradientMonitor()
    g = np.ones(5)
    g[[1, 3]] = np.nan
    rec = mon.record(0, {"a": g, "b": np.array([np.inf, 1.0]), "c": np.ones(2)})
    assert rec.status == "nonfinite" and mon.status == "nonfinite"
    kinds = [(e.kind, e.name) for e in rec.events]
    assert kinds == [("nonfinite", "a"), ("nonfinite", "b"), ("nonfinite", "total")]
    assert "2 non-finite entries" in rec.events[0].message
    assert math.isnan(rec.grad_norms["a"]) and rec.grad_norms["b"] == math.inf
    assert math.isnan(rec.grad_norms["total"])
    loud = GradientMonitor(raise_on="nonfinite")
    loud.record(0, {"a": np.ones(2)})
    with pytest.raises(GradientAlarm, match="step 1: a: non-finite values") as info:
        loud.record(1, {"a": np.array([1.0, np.nan])})
    assert isinstance(info.value, spectra.NumericalError)
    assert info.value.events[0].kind == "nonfinite"
    assert loud.steps == [0, 1]                 # recorded before raising


def test_explosion_and_vanishing_factors():
    mon = GradientMonitor(explode_factor=10.0, vanish_factor=100.0)
    seq = [1.0, 9.9, 99.0, 100.0, 0.5, 0.004, 1.0]
    for s, v in enumerate(seq):
        mon.record(s, {"w": np.array([v])})
    ev = [(e.step, e.kind) for e in mon.events if e.name == "w"]
    # 9.9 -> 99 is 10.0x: not more than the factor; 100 -> 0.5 is 200x down; 0.5 -> 0.004 is 125x down
    assert ev == [(4, "vanish"), (5, "vanish"), (6, "explode")]
    e = [e for e in mon.events if e.step == 6 and e.name == "w"][0]
    assert e.previous == 0.004 and e.factor == pytest.approx(250.0) and "grew 250x" in e.message
    # after a non-finite recording, the comparison is with the last finite one
    mon2 = GradientMonitor(explode_factor=3.0)
    for s, v in enumerate([1.0, np.nan, 2.0, 7.0]):
        mon2.record(s, {"w": np.array([v])})
    assert [(e.step, e.kind) for e in mon2.events if e.name == "w"] == [(1, "nonfinite"), (3, "explode")]
    off = GradientMonitor(explode_factor=None)
    off.record(0, [np.ones(1)])
    off.record(1, [1e9 * np.ones(1)])
    assert off.events == [] and off.status == "ok"
    with pytest.raises(GradientAlarm, match="grew"):
        m = GradientMonitor(raise_on=("explode",))
        m.record(0, [np.ones(1)])
        m.record(1, [100 * np.ones(1)])


def test_weight_spectral_summaries_are_top_singular_values(rng):
    Ws = {"W1": rng.standard_normal((30, 20)), "W2": rng.standard_normal((5, 30))}
    mon = GradientMonitor(top_k=3)
    rec = mon.record(0, weights=Ws)
    for k, W in Ws.items():
        np.testing.assert_allclose(rec.weight_top[k], np.linalg.svd(W, compute_uv=False)[:3], rtol=1e-8)
    module = FakeModule({"lin.weight": FakeParameter(Ws["W1"]), "lin.bias": FakeParameter(np.ones(30))})
    rec = mon.record(1, weights=module)
    assert list(rec.weight_top) == ["lin.weight"]              # only matrices
    bad = mon.record(2, weights={"W": np.array([[np.nan, 1.0], [0.0, 1.0]])})
    assert bad.status == "nonfinite" and bad.events[0].name == "weight:W"
    steps, vals = mon.series("W1", "weight_sv")
    assert steps.tolist() == [0] and vals.shape == (1, 3)
    assert GradientMonitor(top_k=0).record(0, weights=Ws).weight_top == {}


def test_trajectory_lag_profile_and_jacobian_spectrum(rng):
    W = spectra.init.gaussian(12, gain=1.3, rng=rng)
    cell = spectra.ElmanRNN(W, rng.standard_normal((12, 3)))
    X = rng.standard_normal((20, 3))
    traj = cell.run(X)
    mon = GradientMonitor(top_k=2)
    rec = mon.record(0, trajectory=traj)
    np.testing.assert_allclose(rec.lag_log_norms, spectra.gradient_norm_profile(traj).log_norms, rtol=1e-12)
    np.testing.assert_allclose(rec.jacobian_top, np.linalg.svd(traj.product(), compute_uv=False)[:2], rtol=1e-7)
    # a cell is run on the inputs; a gradient vector gives the profile of that gradient
    v = rng.standard_normal(12)
    rec = mon.record(1, trajectory=cell, inputs=X, vector=v)
    np.testing.assert_allclose(rec.lag_log_norms,
                               spectra.gradient_norm_profile(traj, vector=v).log_norms, rtol=1e-12)
    # per-layer profile of a deep net
    net = spectra.MLP.random([8] * 6, rng=0)
    rec = mon.record(2, trajectory=net.run(rng.standard_normal(8)))
    assert rec.lag_log_norms.shape == (5,)
    steps, lags = mon.series(None, "lag_log_norm")
    assert steps.tolist() == [0, 1, 2] and lags.shape == (3, 20)
    assert np.all(np.isnan(lags[2, 5:])) and not np.any(np.isnan(lags[:2]))
    with pytest.raises(ValueError, match="single run"):
        mon.record(3, trajectory=cell.run(rng.standard_normal((2, 5, 3))))
    with pytest.raises(ValueError, match="`inputs` is needed"):
        mon.record(3, trajectory=cell)
    with pytest.raises(ValueError, match="only when `trajectory` is a cell"):
        mon.record(3, trajectory=traj, inputs=X)


def test_exploding_trajectory_is_flagged_not_crashing(rng):
    W = spectra.init.orthogonal(6, gain=50.0, rng=rng)
    J = np.broadcast_to(W, (300, 6, 6))                # 50^300 overflows float64
    mon = GradientMonitor(top_k=2)
    rec = mon.record(0, trajectory=J)
    np.testing.assert_allclose(rec.lag_log_norms, np.log(50.0) * np.arange(1, 301), rtol=1e-10)
    assert rec.status == "nonfinite" and "overflows" in rec.events[0].message


def test_history_records_and_dict_are_tidy_and_json_friendly(rng):
    mon = GradientMonitor(every=2, top_k=1)
    for s in range(5):
        mon.record(s, {"a": np.ones(3) * (s + 1), "b": np.ones(2)}, weights={"A": np.eye(3)})
    mon.record(6, {"a": np.array([np.nan])}, trajectory=np.broadcast_to(0.5 * np.eye(2), (3, 2, 2)))
    recs = mon.records
    assert {r["kind"] for r in recs} == {"grad_norm", "weight_sv", "lag_log_norm", "jacobian_sv"}
    assert all(set(r) == {"step", "kind", "name", "index", "value"} for r in recs)
    row = [r for r in recs if r["step"] == 2 and r["name"] == "a"][0]
    assert row["value"] == pytest.approx(3 * np.sqrt(3))
    lag = [r["value"] for r in recs if r["kind"] == "lag_log_norm"]
    np.testing.assert_allclose(lag, np.log(0.5) * np.arange(1, 4), rtol=1e-12)
    d = mon.to_dict()
    json.dumps(d)
    assert d["config"]["every"] == 2 and len(d["events"]) == len(mon.events) >= 1
    steps, vals = mon.series("a")
    assert steps.tolist() == [0, 2, 4, 6] and np.isnan(vals[-1])
    assert mon.names == ["a", "b", "total"]
    assert isinstance(mon.history[0], StepRecord) and isinstance(mon.events[0], Event)
    json.dumps(mon.history[-1].to_dict())


def test_monitor_reads_real_torch_modules():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x = torch.randn(16, 4)
    model(x).pow(2).mean().backward()
    rec = GradientMonitor(top_k=2).record(0, model, weights=model)
    assert list(rec.grad_norms) == ["0.weight", "0.bias", "2.weight", "2.bias", "total"]
    assert rec.grad_norms["0.weight"] == pytest.approx(float(model[0].weight.grad.norm()), rel=1e-5)
    assert list(rec.weight_top) == ["0.weight", "2.weight"]


@pytest.mark.parametrize("make,exc,needle", [
    (lambda: GradientMonitor(every=0), ValueError, "`every` must be >= 1"),
    (lambda: GradientMonitor(at_steps=5), TypeError, "`at_steps` must be an iterable"),
    (lambda: GradientMonitor(at_steps=[-1]), ValueError, "`at_steps` must be >= 0"),
    (lambda: GradientMonitor(explode_factor=1.0), ValueError, "`explode_factor` must be in"),
    (lambda: GradientMonitor(vanish_factor=0.5), ValueError, "`vanish_factor` must be in"),
    (lambda: GradientMonitor(top_k=-1), ValueError, "`top_k` must be >= 0"),
    (lambda: GradientMonitor(raise_on=("boom",)), ValueError, "`raise_on` entries"),
    (lambda: GradientMonitor(raise_on=3), TypeError, "`raise_on` must be"),
    (lambda: GradientMonitor().record(-1), ValueError, "`step` must be >= 0"),
    (lambda: GradientMonitor().record(0, "grads"), TypeError, "`grads` must be a dict"),
    (lambda: GradientMonitor().record(0, {"a": ["x"]}), TypeError, r"`grads\['a'\]` must be an array"),
    (lambda: GradientMonitor().record(0, weights={"W": np.ones(3)}), ValueError, "must be a matrix"),
    (lambda: GradientMonitor().series("a", "loss"), ValueError, "`kind` must be one of"),
    (lambda: GradientMonitor().plot(), ValueError, "no recordings"),
])
def test_bad_arguments(make, exc, needle):
    with pytest.raises(exc, match=needle):
        make()
