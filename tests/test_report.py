"""Issue 18: ``spectra report MODEL --out DIR`` -- report.html (self-contained) and report.json."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spectra

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _run(args):
    return subprocess.run([sys.executable, "-m", "spectra", *args], capture_output=True, text=True,
                          env=ENV, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def lstm_report(tmp_path_factory):
    torch = pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("report")
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 6)
    path = folder / "lstm.pt"
    torch.save(module.state_dict(), path)
    out = _run(["report", str(path), "--out", str(folder / "out"), "--steps", "80"])
    return folder, module, out


def test_report_of_an_lstm_state_dict(lstm_report):
    folder, module, out = lstm_report
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    data = json.loads((folder / "out" / "report.json").read_text())
    assert data["network"]["cell"] == "lstm" and data["network"]["hidden_size"] == 6
    assert data["regime"] is None                   # gated: no classic regime
    # independent truth: the same run, recomputed here from the torch weights
    cell = spectra.LSTM.from_torch(folder / "lstm.pt")
    np.testing.assert_array_equal(cell.weight_hh, module.weight_hh_l0.detach().numpy())
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    traj = cell.run(X, h0=0.1 * rng.standard_normal(cell.n))
    J = [np.asarray(traj.jacobian(t)) for t in range(1, traj.steps + 1)]
    # lag-1 exact norm = ||J_T||_2 by numpy's SVD; lag-2 from the explicit product
    exact = data["bounds"]["exact"]
    assert exact[0] == pytest.approx(np.log(np.linalg.norm(J[-1], 2)), rel=1e-9)
    assert exact[1] == pytest.approx(np.log(np.linalg.norm(J[-1] @ J[-2], 2)), rel=1e-9)
    assert data["profile"]["log_norms"][:2] == pytest.approx(exact[:2], rel=1e-9)
    # the full Lyapunov spectrum sums to the mean log|det J_t| after the warm-up
    lyap = data["lyapunov"]
    assert len(lyap["exponents"]) == len(lyap["stderr"]) == cell.n
    assert all(s >= 0 for s in lyap["stderr"])
    logdet = np.mean([np.linalg.slogdet(j)[1] for j in J[lyap["warmup"]:]])
    assert lyap["sum"] == pytest.approx(logdet, rel=1e-8)
    # non-normality of the last step Jacobian (no single W in a gated cell)
    block = data["matrices"][0]
    assert block["matrix"] == "J_80"
    nn = block["nonnormality"]
    assert nn["spectral_norm"] == pytest.approx(np.linalg.norm(J[-1], 2), rel=1e-9)
    assert nn["spectral_radius"] == pytest.approx(max(abs(np.linalg.eigvals(J[-1]))), rel=1e-9)


def test_report_html_is_self_contained(lstm_report):
    folder, _, out = lstm_report
    page = (folder / "out" / "report.html").read_text()
    assert "<script" not in page and not re.search(r"""(src|href)=['"](https?:|file:|//)""", page)
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == page.count("<img") >= 6
    for png in images:
        assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Lyapunov spectrum" in page and "Bounds" in page and "Non-normality of J_80" in page


def test_report_of_a_built_in_network(tmp_path):
    out = _run(["report", "--out", str(tmp_path), "--size", "8", "--gain", "0.5", "--steps", "60",
                "--json"])
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    data = json.loads((tmp_path / "report.json").read_text())
    assert summary["regime"] == data["regime"]
    W = spectra.ElmanRNN.random(8, input_size=8, gain=0.5, rng=np.random.default_rng(0)).recurrence().W
    assert data["regime"]["gamma_W"] == pytest.approx(np.linalg.norm(W, 2), rel=1e-12)
    assert np.linalg.norm(W, 2) < 1 and data["regime"]["regime"] == "vanishing guaranteed"
    block = data["matrices"][0]
    assert block["matrix"] == "W"
    assert block["nonnormality"]["spectral_radius"] == pytest.approx(
        max(abs(np.linalg.eigvals(W))), rel=1e-10)


def test_report_errors_are_one_plain_line(tmp_path):
    torch = pytest.importorskip("torch")
    whole = tmp_path / "whole.pt"
    torch.save(torch.nn.LSTM(2, 3), whole)
    out = _run(["report", str(whole), "--out", str(tmp_path / "o")])
    assert out.returncode == 2
    assert out.stderr.startswith("spectra: error: this file holds a whole pickled module "
                                 "(torch.nn.modules.rnn.LSTM); save `model.state_dict()` instead")
    assert "\x1b" not in out.stderr and len(out.stderr.splitlines()) == 1 and len(out.stderr) < 400
    out = _run(["report", str(whole), "--weights", str(whole), "--out", str(tmp_path / "o")])
    assert out.returncode == 2 and "give the model once" in out.stderr
    assert not (tmp_path / "o").exists()


# -- in a browser -----------------------------------------------------------------------------------

_CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                  if shutil.which(name)), None)

# injected into a copy of the page: collects errors, then writes what the images did
_PROBE = """<script>window.__errs=[];
window.addEventListener('error',function(e){window.__errs.push(String(e.message||'resource '+
 (e.target&&e.target.tagName)))},true);
var __ce=console.error;console.error=function(){window.__errs.push(Array.prototype.join.call(arguments,' '));
 __ce.apply(console,arguments)};
window.addEventListener('load',function(){var im=document.images,bad=0;
 for(var i=0;i<im.length;i++){if(!(im[i].complete&&im[i].naturalWidth>0))bad++}
 var d=document.createElement('pre');d.id='probe';
 d.textContent=JSON.stringify({images:im.length,broken:bad,errors:window.__errs});
 document.body.appendChild(d)});</script>"""


def _chromium(*args, timeout=120):
    return subprocess.run([_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", *args], capture_output=True, text=True,
                          timeout=timeout)


def _probe(page: str, folder: Path) -> dict:
    probe = folder / "probe.html"
    probe.write_text(page.replace("</head>", _PROBE + "</head>", 1), encoding="utf-8")
    out = _chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="probe">([^<]*)</pre>', out.stdout)
    assert found, out.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.mark.skipif(_CHROMIUM is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_report_in_headless_chromium(lstm_report, tmp_path):
    folder, _, out = lstm_report
    assert out.returncode == 0, out.stderr
    report = folder / "out" / "report.html"
    shot = tmp_path / "report.png"
    run = _chromium("--enable-logging=stderr", "--v=0", "--window-size=1200,2400",
                    f"--screenshot={shot}", report.as_uri())
    assert shot.exists(), run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1200) and pixels[..., :3].std() > 0.05   # not a blank page
    page = report.read_text()
    checked = _probe(page, tmp_path)
    assert checked == {"images": page.count("<img"), "broken": 0, "errors": []}
    # the probe can fail: a corrupted figure is caught as a broken image with an error
    bad = _probe(page.replace("base64,iVBOR", "base64,AAAA", 1), tmp_path)
    assert bad["broken"] == 1 and bad["errors"]


def test_report_of_a_stack_has_one_block_per_layer(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    module = torch.nn.RNN(3, 5, num_layers=2)
    path = tmp_path / "rnn2.pt"
    torch.save(module.state_dict(), path)
    out = _run(["report", str(path), "--out", str(tmp_path / "out"), "--steps", "40"])
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [b["layer"] for b in data["matrices"]] == ["layer 0", "layer 1"]
    for l, block in enumerate(data["matrices"]):
        W = getattr(module, f"weight_hh_l{l}").detach().double().numpy()
        assert block["matrix"] == "W"
        assert block["nonnormality"]["spectral_norm"] == pytest.approx(np.linalg.norm(W, 2), rel=1e-9)
        assert block["regime"]["gamma_W"] == pytest.approx(np.linalg.norm(W, 2), rel=1e-9)
    page = (tmp_path / "out" / "report.html").read_text()
    assert "layer 1: Non-normality of W" in page and "gradient norms per layer" in page
