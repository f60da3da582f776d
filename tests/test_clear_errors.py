"""Clear errors naming the right argument (issue 20, items 4, 6, 8, 9)."""

import numpy as np
import pytest

import spectra


def test_plot_eigenvalues_refuses_a_non_square_matrix():
    pytest.importorskip("matplotlib")
    import spectra.plot

    with pytest.raises(ValueError, match=r"`values` must be a square matrix.*3 x 4"):
        spectra.plot.eigenvalues(np.ones((3, 4)))


def test_gamma_h_undecidable_is_a_spectra_error():
    import sympy

    from spectra import symbolic

    with pytest.raises(symbolic.UndecidableError, match="no limit"):
        symbolic.gamma_h(sympy.sin(1 / symbolic.x))
    assert issubclass(symbolic.UndecidableError, spectra.NumericalError)
    assert issubclass(symbolic.UndecidableError, NotImplementedError)   # 0.1 handlers


@pytest.mark.parametrize("text", ["garbage((", "x**"])
def test_gamma_h_names_expr_for_unparsable_strings(text):
    from spectra import symbolic

    with pytest.raises(ValueError, match=r"^`expr` must be an activation name .* formula"):
        symbolic.gamma_h(text)


def test_gamma_h_parses_formulas():
    from spectra import symbolic

    # softsign: f' = 1/(1+|x|)^2, largest (1) at x = 0
    assert symbolic.gamma_h("x/(1+abs(x))").value == 1
    assert symbolic.gamma_h("x/(1+abs(x))").value == symbolic.gamma_h(
        symbolic.x / (1 + abs(symbolic.x))).value


def test_step_jacobian_names_activation():
    from spectra import symbolic

    with pytest.raises(ValueError, match=r"^`activation` must be one of"):
        symbolic.step_jacobian("elman", 2, activation="bogus")


def test_product_log_singular_values_of_empty_states():
    out = spectra.product_log_singular_values(np.zeros((5, 0, 0)))
    assert out.shape == (0,)


def test_bound_report_t0():
    traj = spectra.ElmanRNN(0.5 * np.eye(3)).run(steps=4)
    with pytest.raises(ValueError, match=r"`t` must be >= 1"):
        spectra.bound_report(traj, t=0)


def test_regime_of_a_gated_cell_explains():
    lstm = spectra.LSTM.random(3, rng=0)
    with pytest.raises(TypeError, match="LSTM has no single recurrent matrix"):
        spectra.regime(lstm)


def test_pascanu_conditions_positional():
    from spectra import symbolic

    with pytest.raises(TypeError, match="keyword arguments only.*gamma_h='sigmoid'"):
        symbolic.pascanu_conditions("sigmoid")


# -- item 5: meta-device tensors (shapes, no values) -----------------------------------------

def _meta(*shape):
    torch = pytest.importorskip("torch")
    return torch.empty(*shape, device="meta")


@pytest.mark.parametrize("build,name", [
    (lambda: spectra.ElmanRNN(_meta(4, 4)), "W_hh"),
    (lambda: spectra.RecurrentFirstRNN(_meta(4, 4)), "W"),
    (lambda: spectra.LeakyRNN(_meta(4, 4)), "W_hh"),
    (lambda: spectra.ElmanRNN(np.eye(4), b=_meta(4)), "b"),
    (lambda: spectra.LSTM(_meta(16, 3), np.zeros((16, 4))), "weight_ih"),
    (lambda: spectra.GRU(np.zeros((12, 3)), _meta(12, 4)), "weight_hh"),
    (lambda: spectra.MLP([np.eye(4), _meta(4, 4)]), r"weights\[1\]"),
    (lambda: spectra.gamma_W(_meta(4, 4)), "W"),
    (lambda: spectra.lyapunov_spectrum(_meta(5, 4, 4)), "J"),
])
def test_meta_tensors_are_refused_by_name(build, name):
    with pytest.raises(ValueError, match=rf"^`{name}` is a tensor on the meta device \(shape "
                                         r"\(\d+(, \d+)*,?\), no values\); load or materialise"):
        build()


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_from_torch_of_a_meta_module_names_the_entry(kind):
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        module = getattr(torch.nn, kind)(3, 4)
    cls = getattr(spectra, kind)
    with pytest.raises(ValueError, match=r"^`module_or_state_dict\['weight_hh_l0'\]` is a tensor "
                                         r"on the meta device"):
        cls.from_torch(module)
    with pytest.raises(ValueError, match="meta device"):
        cls.from_torch(module.state_dict())
    with pytest.raises(ValueError, match="meta device"):
        spectra.from_torch(module)


# -- item 8: .npz files holding object arrays --------------------------------------------------

def test_load_state_dict_names_file_and_key_of_an_object_array(tmp_path):
    import spectra.io

    path = tmp_path / "weights.npz"
    np.savez(path, weight_hh_l0=np.eye(2), extra=np.array([{"lr": 0.1}], dtype=object))
    pattern = (rf"^{str(path)!r} holds an object array under the key 'extra' \(pickled Python "
               r"objects\), which spectra does not load")
    with pytest.raises(ValueError, match=pattern.replace("\\\\", "\\\\\\\\")):
        spectra.io.load_state_dict(path)
    with pytest.raises(ValueError, match="under the key 'extra'"):
        spectra.LSTM.from_torch(str(path))


def test_save_state_dict_refuses_what_would_be_pickled(tmp_path):
    import spectra.io

    path = tmp_path / "w.npz"
    with pytest.raises(TypeError, match=r"^`state_dict\['opt'\]` must be an array of numbers"):
        spectra.io.save_state_dict(path, {"w": np.eye(2), "opt": np.array([None, 1], dtype=object)})
    assert not path.exists()
