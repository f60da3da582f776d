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
