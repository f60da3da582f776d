"""The house rules of ARCHITECTURE.md, checked on the source tree.

Layers are acyclic, no private name crosses a subpackage boundary, modules stay
small, the top-level namespace is the documented one, and every public name of
0.1 still resolves at its 0.1 address.
"""

import ast
import dataclasses
import importlib
import json
import pathlib
import re

import numpy as np
import pytest

import spectra
from spectra._core.results import Result

ROOT = pathlib.Path(spectra.__file__).parent
MAX_LINES = 600
# The documented internal API lives in spectra._core: importing from it is sharing, not leaking.
SHARED = {"_core"}


def _modules():
    """{dotted name: (path, is_package)} for every module of the package."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _area(module: str) -> str:
    """The subpackage (layer) a module belongs to: 'cells', 'analysis', 'monitor', ..."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _resolve(module, is_pkg, node):
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(*, module_level_only):
    """[(importer, imported module, [names])] for every import of a spectra module."""
    found = []
    for module, (path, is_pkg) in MODULES.items():
        tree = ast.parse(path.read_text())
        nodes = tree.body if module_level_only else list(ast.walk(tree))
        if module_level_only:   # also imports under top-level if/try
            nodes = [n for top in tree.body for n in ast.walk(top)
                     if not isinstance(top, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                target = _resolve(module, is_pkg, node)
                if not target.startswith("spectra"):
                    continue
                names = [a.name for a in node.names]
                submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
                if submodules:
                    found.extend((module, sub, []) for sub in submodules)
                    names = [n for n in names if f"{target}.{n}" not in MODULES]
                if names or not submodules:
                    found.append((module, target, names))
            elif isinstance(node, ast.Import):
                found.extend((module, a.name, []) for a in node.names if a.name.startswith("spectra"))
    return found


def _cycles(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state, cycles = {}, []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_layers_form_no_cycle_even_through_lazy_imports():
    # every import, function-level ones included: the layer graph of subpackages is acyclic
    edges = {(_area(a), _area(b)) for a, b, _ in _imports(module_level_only=False)
             if _area(a) and _area(b) and _area(a) != _area(b)}
    assert _cycles(edges) == []


def test_modules_form_no_import_cycle():
    edges = {(a, b) for a, b, _ in _imports(module_level_only=True)
             if a != "spectra" and b != "spectra" and a != b}
    # importing a package runs its __init__: a module importing its own package's
    # __init__ from inside that package would be a cycle too
    assert _cycles(edges) == []


def test_no_private_name_crosses_a_subpackage_boundary():
    leaks = []
    for importer, target, names in _imports(module_level_only=False):
        a, b = _area(importer), _area(target)
        if not a or not b or a == b or b in SHARED:
            continue
        private_module = any(p.startswith("_") for p in target.split(".")[2:])
        for name in names:
            if name.startswith("_") and name != "__all__":
                leaks.append(f"{importer} imports {target}.{name}")
        if private_module:
            leaks.append(f"{importer} imports the private module {target}")
    assert len(leaks) <= 10, leaks
    assert leaks == [], leaks   # the goal reached: none at all


def test_modules_are_small_and_the_top_level_is_flat():
    sizes = {m: len(p.read_text().splitlines()) for m, (p, _) in MODULES.items()}
    big = {m: n for m, n in sizes.items() if n > MAX_LINES}
    assert big == {}
    top = [p.name for p in ROOT.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= 10, top


def test_every_subpackage_says_what_it_holds_and_may_import():
    for module, (path, is_pkg) in MODULES.items():
        if is_pkg and module != "spectra":
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert "may import" in doc.lower() or "May import" in doc, module


def test_all_is_the_documented_table_of_contents():
    documented = re.findall(r"^   (\w+)\s+-- ", spectra.__doc__, flags=re.M)
    assert len(documented) == len(set(documented))
    assert set(documented) == set(spectra.__all__)
    assert len(spectra.__all__) == len(set(spectra.__all__))
    for name in spectra.__all__:
        assert getattr(spectra, name) is not None
    assert "issue" not in spectra.__doc__.lower()
    assert "issue" not in (ROOT / "__init__.py").read_text().lower()


# -- every 0.1 public name at its 0.1 address ----------------------------------------------

NAMES_01 = {
    "spectra": """gamma_W gamma_h pascanu_bound leaky_bound horizon regime Regime bound_report
        BoundReport Activation activation available_activations init Cell ElmanRNN RecurrentFirstRNN
        LeakyRNN Trajectory JacobianSequence DenseJacobians ScaledJacobians as_jacobian_sequence
        NumericalError ConvergenceError linalg product_log_singular_values gradient_norm_profile
        NormProfile lyapunov_spectrum LyapunovResult spectral_norm spectral_radius condition_number
        step_eigenvalues step_singular_values step_condition_numbers top_singular_values LSTM GRU MLP
        LSTMJacobians GRUJacobians LayerJacobians LayerTrajectory monitor LayerNorm BatchNorm
        NormLayerJacobians mlp_ensemble depth_profile DepthProfile depth_spectra DepthSpectra SlopeFit
        mean_field MeanField linear_gaussian_spread remedies bptt_gradient BPTTResult
        truncated_bptt_error TruncationResult clip_by_norm clip_by_value ClipResult
        vanishing_regularizer RegularizerResult penalty_path PenaltyPath decay_steps_to_vanishing
        spectral_control SpectralControl soft_threshold echo_state_check EchoStateCheck fit_readout
        Readout leaky_alpha leaky_comparison LeakyComparison ClosedLoopRNN FeedbackJacobians
        closed_loop_jacobian teacher_forcing_comparison TeacherForcingComparison nonnormal NonNormality
        StepNonNormality FieldOfValues TransientGrowth ProductGrowth KreissConstant Pseudospectra
        PseudospectralRadius henrici_departure eigenvector_condition numerical_abscissa
        numerical_radius field_of_values nonnormality step_nonnormality transient_growth
        product_growth kreiss_constant pseudospectra pseudospectral_radius normal_counterpart
        random_nonnormal grid sweep SweepRecord SweepResult load_sweep process_pool set_threads
        get_threads threads symbolic plot io cli""",
    "spectra.linalg": """TopSingularValues condition_number spectral_norm spectral_radius
        step_condition_numbers step_eigenvalues step_singular_values top_singular_values""",
    "spectra.remedies": """BPTTResult ClipResult ClosedLoopRNN EchoStateCheck FeedbackJacobians
        LeakyComparison PenaltyPath Readout RegularizerResult SpectralControl TeacherForcingComparison
        TruncationResult bptt_gradient clip_by_norm clip_by_value closed_loop_jacobian
        decay_steps_to_vanishing echo_state_check fit_readout leaky_alpha leaky_comparison
        penalty_path soft_threshold spectral_control teacher_forcing_comparison truncated_bptt_error
        vanishing_regularizer""",
    "spectra.nonnormal": """FieldOfValues KreissConstant NonNormality ProductGrowth Pseudospectra
        PseudospectralRadius StepNonNormality TransientGrowth eigenvector_condition field_of_values
        henrici_departure kreiss_constant nonnormality normal_counterpart numerical_abscissa
        numerical_radius product_growth pseudospectra pseudospectral_radius random_nonnormal
        step_nonnormality transient_growth""",
    "spectra.grid": "Grid as_grid chain point_key product zip",
    "spectra.init": """echo_state gaussian he_normal he_uniform identity orthogonal
        scale_to_spectral_radius xavier_normal xavier_uniform""",
    "spectra.monitor": "Event GradientAlarm GradientMonitor StepRecord",
    "spectra.io": "load_state_dict save_state_dict",
    "spectra.cli": "build_parser main",
    "spectra.symbolic": """x sigmoid activation_expr derivative SupResult gamma_h sup_abs CELLS
        SymbolicJacobian step_jacobian ClassicJacobianCheck classic_jacobian_check paper_latex Formula
        PascanuConditions gradient_bound leaky_bound horizon pascanu_conditions symbols""",
    "spectra.plot": """PALETTE WIDTHS color figure_and_axes paper_style save log_axis
        activation_derivatives eigenvalues gradient_norms singular_value_spectra lyapunov_exponents
        lyapunov_convergence phase_diagram phase_table REGIMES register unregister figure_names
        figure_specs build_figure make_figure_set FigureSpec depth_profile depth_spectra
        monitor_history monitor_layers monitor_lags bptt_lag_figure clipping_figure
        regularizer_figure truncation_figure penalty_figure spectral_control_figure
        echo_state_figure leaky_figure teacher_forcing_figure remedies_figure_set
        pseudospectra_contours transient_growth_curves""",
}


@pytest.mark.parametrize("module", sorted(NAMES_01))
def test_every_01_name_resolves_at_its_01_address(module):
    if module == "spectra.plot":
        pytest.importorskip("matplotlib")
    mod = importlib.import_module(module)
    missing = [name for name in NAMES_01[module].split() if not hasattr(mod, name)]
    assert missing == []


def test_renamed_results_keep_their_01_names_as_aliases():
    assert spectra.LyapunovResult is spectra.LyapunovSpectrum
    assert spectra.BPTTResult is spectra.remedies.BPTTGradient
    assert spectra.remedies.TruncationResult is spectra.remedies.TruncationCurve
    assert spectra.ClipResult is spectra.remedies.ClippedGradient
    assert spectra.RegularizerResult is spectra.remedies.RegularizerValue


# -- one result base -------------------------------------------------------------------------

def _results(rng):
    cell = spectra.ElmanRNN.random(6, input_size=2, init="orthogonal", gain=1.1, rng=0)
    traj = cell.run(rng.standard_normal((300, 2)))
    yield spectra.lyapunov_spectrum(traj)
    yield spectra.gradient_norm_profile(traj)
    yield spectra.bound_report(traj)
    yield spectra.regime(cell)
    yield spectra.transient_growth(np.array([[0.5, 3.0], [0.0, 0.4]]))
    yield spectra.depth_profile(spectra.mlp_ensemble([8] * 6, samples=4, rng=1))
    yield spectra.mean_field("tanh", 4)
    yield spectra.bptt_gradient(cell, rng.standard_normal((20, 2)), np.zeros(20, dtype=int),
                                rng.standard_normal((3, 6)))


def test_every_result_class_is_a_frozen_dataclass_on_the_base():
    for sub in ("analysis", "remedies", "nonnormal", "linalg", "monitor", "sweeps"):
        importlib.import_module(f"spectra.{sub}")
    seen = []
    stack = list(Result.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not cls.__module__.startswith("spectra."):
            continue
        seen.append(cls.__name__)
        assert dataclasses.is_dataclass(cls), cls
        assert cls.__dataclass_params__.frozen, cls
        assert not cls.__name__.endswith("Result") or cls.__name__ == "SweepResult", cls
    assert {"LyapunovSpectrum", "NormProfile", "BoundReport", "BPTTGradient",
            "TransientGrowth"} <= set(seen)


def test_results_print_short_and_serialise_under_one_policy(rng):
    for res in _results(rng):
        text = repr(res)
        assert text.startswith(type(res).__name__ + "(")
        assert len(text) <= 600 and text.count("\n") <= 6, (type(res).__name__, len(text))
        table = res.summary()
        assert table.splitlines()[0] == type(res).__name__
        data = res.to_dict()
        json.dumps(data, allow_nan=False)     # strict JSON: no NaN or Infinity tokens
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(res, dataclasses.fields(res)[0].name, None)


def test_json_policy_is_one_rule_for_non_finite_and_complex_values():
    from spectra._core.results import from_jsonable, to_jsonable

    value = {"a": np.array([1.0, np.inf, -np.inf, np.nan]), "z": np.array([1 + 2j]),
             3: np.float32(0.5)}
    assert to_jsonable(value) == {"a": [1.0, "inf", "-inf", None],
                                  "z": {"real": [1.0], "imag": [2.0]}, "3": 0.5}
    assert from_jsonable(["inf", "-inf", None, "text"]) == [np.inf, -np.inf, None, "text"]
    with pytest.raises(TypeError, match="cannot convert object"):
        to_jsonable(object())
    # a 0-step profile of a zero network: log norms of exact zeros are "-inf" everywhere
    zero = spectra.ElmanRNN(np.zeros((2, 2))).run(steps=3)
    assert spectra.gradient_norm_profile(zero).to_dict()["log_norms"] == ["-inf"] * 3
