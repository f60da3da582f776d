"""Issue 18, manners: tidy tables and short reprs of results, progress bars from Python."""

import dataclasses
import importlib
import inspect
import io
import pkgutil
import sys

import numpy as np
import pytest

import spectra
from spectra._core.progress import ProgressBar, progress_bar
from spectra._core.results import Result

pd = pytest.importorskip("pandas")

RNG = np.random.default_rng(18)
W = np.array([[0.9, 2.0], [0.0, 0.5]])
STEPS = np.broadcast_to(W, (40, 2, 2))


def _elman():
    cell = spectra.ElmanRNN.random(6, input_size=2, gain=1.1, rng=0)
    return cell, cell.run(np.random.default_rng(1).standard_normal((60, 2)))


def _results():
    """One instance of each main result, computed on small problems."""
    cell, traj = _elman()
    rec = cell.recurrence()
    mlp = spectra.mlp_ensemble([5, 5, 5, 5], samples=3, rng=0)
    return {
        "NormProfile": spectra.gradient_norm_profile(STEPS),
        "LyapunovSpectrum": spectra.lyapunov_spectrum(traj, warmup=5),
        "BoundReport": spectra.bound_report(traj, W=rec.W, activation=rec.activation),
        "DepthProfile": spectra.depth_profile(mlp),
        "DepthSpectra": spectra.depth_spectra(mlp),
        "TransientGrowth": spectra.nonnormal.transient_growth(W, steps=12),
        "ProductGrowth": spectra.nonnormal.product_growth(STEPS[:10]),
        "TopSingularValues": spectra.top_singular_values(np.diag(np.arange(1.0, 11.0)), 3, rng=0),
        "Pseudospectra": spectra.nonnormal.pseudospectra(W, resolution=11),
        "NonNormality": spectra.nonnormal.nonnormality(W),
    }


@pytest.fixture(scope="module")
def results():
    return _results()


def test_norm_profile_frame_is_the_closed_form(results):
    # J_t = W (upper triangular): ||W^lag||_2 by numpy's SVD of the explicit power
    df = results["NormProfile"].to_frame()
    assert list(df.columns) == ["lag", "log_norms"] and list(df["lag"]) == list(range(1, 41))
    truth = [np.log(np.linalg.norm(np.linalg.matrix_power(W, lag), 2)) for lag in range(1, 41)]
    np.testing.assert_allclose(df["log_norms"], truth, rtol=1e-10)


def test_lyapunov_frame_rows_are_exponents(results):
    res = results["LyapunovSpectrum"]
    df = res.to_frame()
    assert list(df["exponent"]) == list(range(1, 7))
    np.testing.assert_array_equal(df["exponents"], res.exponents)
    np.testing.assert_array_equal(df["stderr"], res.stderr)
    # the sum of the exponents is the mean log|det J_t| (an identity the frame must keep)
    cell, traj = _elman()
    J = traj.jacobians() if hasattr(traj, "jacobians") else np.stack([traj.jacobian(t) for t in
                                                                      range(1, traj.steps + 1)])
    logdet = np.mean([np.linalg.slogdet(J[t])[1] for t in range(5, J.shape[0])])
    assert df["exponents"].sum() == pytest.approx(logdet, rel=1e-8, abs=1e-10)


def test_bound_frame(results):
    rep = results["BoundReport"]
    df = rep.to_frame()
    assert len(df) == len(rep.lags) and list(df["lag"]) == list(rep.lags)
    assert (df["exact"] <= df["trajectory"] + 1e-9).all() and (df["lower"] <= df["exact"] + 1e-9).all()


def test_depth_frames_are_long(results):
    prof = results["DepthProfile"]
    df = prof.to_frame()
    S, L = np.asarray(prof.log_norms).shape
    assert len(df) == S * L and set(df["sample"]) == set(range(S))
    one = df[(df["sample"] == 1) & (df["lag"] == prof.lags[-1])]
    assert one["log_norms"].item() == prof.log_norms[1, -1]
    spec = results["DepthSpectra"]
    df = spec.to_frame()
    S, D, m = spec.log_singular_values.shape
    assert len(df) == S * D * m
    row = df[(df["sample"] == 2) & (df["depth"] == spec.depths[-1]) & (df["i"] == 1)]
    assert row["log_singular_values"].item() == spec.log_singular_values[2, -1, 0]


def test_other_frames(results):
    g = results["TransientGrowth"].to_frame()
    np.testing.assert_allclose(np.exp(g["log_norms"]),
                               [np.linalg.norm(np.linalg.matrix_power(W, t), 2) for t in g["t"]],
                               rtol=1e-10)
    top = results["TopSingularValues"].to_frame()
    np.testing.assert_allclose(top["values"], [10.0, 9.0, 8.0], rtol=1e-9)
    assert len(results["ProductGrowth"].to_frame()) == 11


def test_frame_refused_without_rows_and_without_pandas(results, monkeypatch):
    with pytest.raises(TypeError, match="NonNormality holds no per-row data"):
        results["NonNormality"].to_frame()
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"NormProfile.to_frame\(\) needs pandas.*pip install pandas"):
        results["NormProfile"].to_frame()


def _all_result_classes():
    out = set()
    for m in pkgutil.walk_packages(spectra.__path__, "spectra."):
        if ".cli" in m.name or m.name.endswith("__main__"):
            continue
        mod = importlib.import_module(m.name)
        for obj in vars(mod).values():
            if inspect.isclass(obj) and issubclass(obj, Result) and obj is not Result:
                out.add(obj)
    return out


def test_every_repr_is_short(results):
    # every result class, filled with large arrays: the repr stays within 15 lines
    for cls in _all_result_classes():
        if not dataclasses.is_dataclass(cls):
            continue
        values = {f.name: RNG.standard_normal((50, 50)) for f in dataclasses.fields(cls)}
        obj = object.__new__(cls)
        for name, value in values.items():
            object.__setattr__(obj, name, value)
        try:
            text = repr(obj)
        except Exception:        # a custom repr needing real field types: checked below
            continue
        assert len(text.splitlines()) <= 15, cls.__name__
    for name, res in results.items():
        assert len(repr(res).splitlines()) <= 15, name
        assert len(res.summary().splitlines()) <= 40, name
        html = res._repr_html_()
        assert html.startswith("<table>") and name in html and "<script" not in html


def test_progress_keyword_draws_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    res = spectra.lyapunov_spectrum(STEPS, progress=True)
    text = term.getvalue()
    assert "lyapunov: 100%" in text and "40/40 [" in text and text.endswith("\n")
    # the bar does not change the numbers: log|eigenvalues| of the triangular W
    np.testing.assert_allclose(res.exponents, np.log([0.9, 0.5]), atol=0.05)
    for call, label, count in [
            (lambda p: spectra.gradient_norm_profile(STEPS, progress=p), "profile", "40/40"),
            (lambda p: spectra.product_log_singular_values(STEPS, k=10, progress=p),
             "singular values", "30/30"),
            (lambda p: spectra.top_singular_values(np.eye(4) * 2, 1, rng=0, progress=p),
             "singular values", "product")]:
        term.seek(0)
        term.truncate()
        quiet = call(False)
        assert term.getvalue() == ""
        loud = call(True)
        assert label in term.getvalue() and count in term.getvalue()
        np.testing.assert_array_equal(getattr(quiet, "values", quiet if isinstance(quiet, np.ndarray)
                                              else getattr(quiet, "log_norms", None)),
                                      getattr(loud, "values", loud if isinstance(loud, np.ndarray)
                                              else getattr(loud, "log_norms", None)))
        term.seek(0)
        term.truncate()
        call(None)                  # quick: the bar waits a second before it shows
        assert term.getvalue() == ""


def test_progress_silent_off_a_terminal_and_bad_values(capsys):
    spectra.lyapunov_spectrum(STEPS, progress=True)
    assert capsys.readouterr().err == ""        # pytest's captured stderr is no terminal
    with pytest.raises(TypeError, match=r"`progress` must be True, False or None; got 'yes'"):
        spectra.gradient_norm_profile(STEPS, progress="yes")
    bar = progress_bar(5, "x", True)
    assert not bar.enabled
    with ProgressBar(3, "x", stream=io.StringIO(), enabled=False) as b:
        b.advance(5)
    assert b.done == 3


def test_tqdm_and_pandas_are_not_imported_by_spectra():
    import subprocess

    code = ("import sys, spectra; spectra.gradient_norm_profile([[[0.5]]]); "
            "print(sorted(m for m in ('tqdm', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
