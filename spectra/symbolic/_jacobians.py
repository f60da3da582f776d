r"""Symbolic step Jacobians of the recurrent cells, verified against their closed forms.

Each cell is described once, by *structural definitions* in matrix symbols
(``a_t = W_hh h_{t-1} + W_hx x_t + b``, ``h_t = f(a_t)``) and the closed form
of its Jacobian from DESIGN.md (``diag(f'(a_t)) W_hh``).  From these the
module builds, for a small n, the explicit step map in scalar entries,
differentiates it (``sympy.Matrix.jacobian``), evaluates the closed form
explicitly, and proves the two equal by expansion.  The LaTeX is printed
from the same structural objects, so what is printed is what was verified.

The activation is a generic differentiable f (an undefined function whose
derivative is the undefined f'), so the identity holds for every f; a
concrete activation is substituted afterwards and checked again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from .._core.results import Result, to_jsonable
from .._core.validation import check_choice, check_int, describe
from ..cells import cell_name, registered_cells
from ._functions import registry_expr, sigmoid
from ._functions import x as _X
from ._structural import (_add, _apply, _explicit, _had, _is_zero, _mul, _sub, f, fprime,
                          paper_latex)
from ._sup import derivative

__all__ = ["CELLS", "SymbolicJacobian", "step_jacobian"]


# ---------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True, repr=False)
class SymbolicJacobian(Result):
    r"""The step Jacobian of a cell, derived symbolically and checked against its closed form.

    Attributes
    ----------
    cell : str
        The registered name of the cell, one of :data:`CELLS`
        (``"elman"``, ``"recurrent_first"``, ``"leaky"`` or ``"gru"``).
    n, input_size : int
        Units and input dimension.
    activation : sympy.Expr or None
        The activation f(x) substituted (in :data:`spectra.symbolic.x`), or
        None for the generic f (and for the GRU, whose nonlinearities are
        fixed: sigma and tanh).
    parameters : tuple of (str, sympy symbol)
        The weights in the order and with the names of the numeric cell's
        constructor (``W_hh, W_hx, b`` ...), as sympy MatrixSymbols (vectors
        as n x 1 columns) or Symbols.
    state, input : sympy.MatrixSymbol
        h_{t-1} (n x 1) and x_t (d x 1) as explicit symbols (``h``, ``x``).
    step : sympy.ImmutableMatrix
        h_t, explicit, n x 1.
    jacobian : sympy.ImmutableMatrix
        dh_t/dh_{t-1} by differentiation of ``step`` (numerator layout), n x n.
    closed_form : sympy.MatrixExpr
        The closed form of DESIGN.md in matrix symbols, e.g.
        ``diag(f'(a_t)) W_hh``.
    closed_form_explicit : sympy.ImmutableMatrix
        ``closed_form`` evaluated in the same entries as ``jacobian``.
    verified : bool
        Whether ``jacobian == closed_form_explicit`` was proven (by
        expansion), for the generic f and for the substituted activation.
    definitions : tuple of (sympy.MatrixSymbol, sympy.MatrixExpr)
        The structural definitions (``a_t``, ``h_t``, ...) behind ``step``.

    Examples
    --------
    >>> from spectra import symbolic
    >>> J = symbolic.step_jacobian("elman", 2)
    >>> J.verified
    True
    >>> print(J.latex)
    \frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}\left(f'\left(a_{t}\right)\right) W_{hh}
    >>> J.to_dict()["parameters"]
    ['W_hh', 'W_hx', 'b']
    """

    cell: str
    n: int
    input_size: int
    activation: object
    parameters: tuple
    state: sp.MatrixSymbol
    input: object
    step: sp.Matrix
    jacobian: sp.Matrix
    closed_form: sp.MatrixExpr
    closed_form_explicit: sp.Matrix
    verified: bool
    definitions: tuple = field(default=())

    @property
    def latex(self) -> str:
        """``\\frac{\\partial h_t}{\\partial h_{t-1}} = <closed form>``."""
        return r"\frac{\partial h_t}{\partial h_{t-1}} = " + paper_latex(self.closed_form)

    @property
    def step_latex(self) -> str:
        """The step map's definitions, e.g. ``a_t = W_{hh} h_{t-1} + ..., \\quad h_t = f(a_t)``."""
        return r", \quad ".join(f"{paper_latex(s)} = {paper_latex(d)}" for s, d in self.definitions)

    def lambdify(self):
        """A numpy function ``J(*parameters, h, x=None) -> (n, n) array`` of the Jacobian.

        Arguments take the numeric cells' shapes: matrices ``(rows, cols)``,
        vectors ``(k,)`` (None for a missing bias: zeros), alpha a scalar or
        ``(n,)``; ``h`` is ``(n,)`` and ``x`` is ``(d,)``.
        """
        return _lambdified(self)

    def to_dict(self) -> dict:
        """A JSON summary: cell, sizes, parameter names, the Jacobian's entries and the
        closed form as strings, ``verified`` and the LaTeX (sympy objects are not JSON)."""
        return to_jsonable({
            "cell": self.cell,
            "n": self.n,
            "input_size": self.input_size,
            "activation": None if self.activation is None else str(self.activation),
            "parameters": [name for name, _ in self.parameters],
            "jacobian": [[str(v) for v in row] for row in self.jacobian.tolist()],
            "closed_form": str(self.closed_form),
            "verified": bool(self.verified),
            "latex": self.latex,
            "step_latex": self.step_latex,
        })


@functools.lru_cache(maxsize=64)
def _lambdified(sj):
    symbols = [s for _, s in sj.parameters] + [sj.state] + ([sj.input] if sj.input is not None else [])
    fn = sp.lambdify(symbols, sj.jacobian, modules=["scipy", "numpy"])
    names = [name for name, _ in sj.parameters]
    shapes = [getattr(s, "shape", None) for _, s in sj.parameters]

    def jacobian(*args, **kwargs):
        values = list(args)
        order = names + ["h", "x"]
        for name in order[len(values):]:
            values.append(kwargs.pop(name, None))
        if kwargs:
            raise TypeError(f"unexpected arguments {sorted(kwargs)}; takes {order}")
        arrays = []
        for value, shape, name in zip(values, shapes, names):
            if value is None:
                if shape is None or not name.startswith("b"):
                    raise TypeError(f"`{name}` is required")
                value = np.zeros(shape)
            a = np.asarray(value, dtype=float)
            if shape is not None:
                a = a.reshape(shape)
            arrays.append(a)
        h, x = values[len(names)], values[len(names) + 1]
        arrays.append(np.asarray(h, dtype=float).reshape(sj.n, 1))
        if sj.input is not None:
            if x is None:
                x = np.zeros(sj.input_size)
            arrays.append(np.asarray(x, dtype=float).reshape(sj.input_size, 1))
        return np.asarray(fn(*arrays), dtype=float)

    jacobian.__doc__ = f"dh_t/dh_{{t-1}} of the {sj.cell} cell; arguments {names + ['h', 'x']}."
    return jacobian


# ---------------------------------------------------------------------------------------
# The cells


def _cell_name(cell):
    """The registered name of ``cell`` (a name in any accepted spelling, a cell class or a
    cell), checked to have a symbolic derivation."""
    try:
        name = cell_name(cell)
    except (TypeError, ValueError):
        name = None
    if name in _DERIVATIONS:
        return name
    exc = ValueError if isinstance(cell, str) or name is not None else TypeError
    what = f"{cell!r}" if isinstance(cell, str) else describe(cell)
    raise exc(f"`cell` must be one of {list(CELLS)} (the registered cells with a symbolic "
              f"derivation), such a cell class or a cell; got {what}")


def step_jacobian(cell, n=None, *, input_size=None, activation=None, alpha="scalar"):
    r"""Symbolic step Jacobian of a cell for a small n, proven equal to its closed form.

    Parameters
    ----------
    cell : str, cell class or cell instance
        A registered cell with a symbolic derivation (:data:`CELLS`:
        ``"elman"``, ``"recurrent_first"``, ``"leaky"`` or ``"gru"``), in
        any spelling the cell registry accepts (``"recurrent-first"``,
        ``"RecurrentFirstRNN"``), or its class (``spectra.ElmanRNN``) or an
        instance (then ``n``, ``input_size``, the activation and the shape of
        alpha default to the instance's).
    n : int, optional
        Number of units (default 2; keep it small, 2-3: the expressions grow
        quickly, the GRU's fastest).
    input_size : int, optional
        Input dimension d (default 1; 0 gives an autonomous cell, not for the GRU).
    activation : None, str, Activation or sympy expression
        None: a generic differentiable f (the identity is then proven for
        every f).  A registry name, a numeric Activation, or an expression
        in :data:`spectra.symbolic.x` is substituted.  Ignored by the GRU.
    alpha : {"scalar", "vector"}
        Leaky cell only: one alpha, or one per unit.

    Returns
    -------
    SymbolicJacobian

    Notes
    -----
    Closed forms (numerator layout; DESIGN.md):

    * Elman, h_t = f(a_t), a_t = W_hh h_{t-1} + W_hx x_t + b:
      ``diag(f'(a_t)) W_hh``;
    * recurrent-first, h_t = W f(h_{t-1}) + W_in x_t + b:
      ``W diag(f'(h_{t-1}))`` (Pascanu et al. 2013);
    * leaky, h_t = alpha h_{t-1} + (1 - alpha) f(a_t):
      ``alpha I + (1 - alpha) diag(f'(a_t)) W_hh`` (per unit:
      ``diag(alpha) + diag(1 - alpha) diag(f'(a_t)) W_hh``);
    * GRU (PyTorch's equations, r, z, n): with g = W_hn h_{t-1} + b_hn,
      ``diag(z) + diag(h - n) diag(z(1 - z)) W_hz
      + diag(1 - z) diag(1 - n^2) (diag(r) W_hn + diag(g) diag(r(1 - r)) W_hr)``.

    Examples
    --------
    >>> from spectra import symbolic
    >>> J = symbolic.step_jacobian("recurrent_first", 2, activation="tanh")
    >>> J.verified
    True
    >>> J.jacobian[0, 1]
    (1 - tanh(h[1, 0])**2)*W[0, 1]
    """
    name = _cell_name(cell)
    instance = None if isinstance(cell, (str, type)) else cell
    if instance is not None:
        if n is None:
            n = instance.n if name != "gru" else getattr(instance, "hidden_size", instance.n)
        if input_size is None:
            input_size = getattr(instance, "input_size", 0)
        if activation is None and hasattr(instance, "activation") and name != "gru":
            activation = instance.activation
        if name == "leaky" and np.ndim(instance.alpha) == 1:
            alpha = "vector"
    n = check_int(2 if n is None else n, "n", minimum=1)
    input_size = check_int(1 if input_size is None else input_size, "input_size",
                           minimum=1 if name == "gru" else 0)
    check_choice(alpha, "alpha", ("scalar", "vector"))
    if name == "gru":
        act = None
    elif activation is None:
        act = None
    elif isinstance(activation, sp.Expr):
        if activation.free_symbols - {_X}:
            raise ValueError(f"`activation` must be an expression in spectra.symbolic.x only; "
                             f"got {activation}")
        act = activation
    else:
        act = registry_expr(activation, None, {}, "activation")
    return _build(name, n, input_size, act, alpha if name == "leaky" else "scalar")


@functools.lru_cache(maxsize=64)
def _build(name, n, d, act, alpha_kind):
    h = sp.MatrixSymbol("h", n, 1)
    x = sp.MatrixSymbol("x", d, 1) if d else None
    hs = sp.MatrixSymbol("h_{t-1}", n, 1)
    xs = sp.MatrixSymbol("x_t", d, 1) if d else None
    env = {hs: h.as_explicit()}
    if xs is not None:
        env[xs] = x.as_explicit()
    params, defs, closed = _DERIVATIONS[name](name, n, d, env, hs, xs, alpha_kind)
    for sym, definition in defs:
        env[sym] = _explicit(definition, env)
    step = env[defs[-1][0]]
    hvec = list(h.as_explicit())
    J = step.jacobian(hvec)
    C = _explicit(closed, env)
    verified = all(_is_zero(v) for v in (J - C))
    if act is not None:
        u = sp.Dummy("u")
        fu = _piecewise_activation(act.subs(_X, u))
        dfu = derivative(act, _X).subs(_X, u)
        concrete = {f: sp.Lambda(u, fu), fprime: sp.Lambda(u, dfu)}
        step = step.replace(f, concrete[f])
        J_direct = step.jacobian(hvec)
        J = J.replace(fprime, concrete[fprime]).replace(f, concrete[f])
        C = C.replace(fprime, concrete[fprime]).replace(f, concrete[f])
        verified = verified and all(_is_zero(v) for v in (J_direct - C))
    imm = sp.ImmutableMatrix
    return SymbolicJacobian(name, n, d, act, params, h, x, imm(step), imm(J), closed, imm(C),
                            bool(verified), tuple(defs))


def _piecewise_activation(expr):
    return sp.piecewise_fold(expr.rewrite(sp.Piecewise)) if expr.has(sp.Max, sp.Min, sp.Abs,
                                                                        sp.Heaviside) else expr


def _simple(name, n, d, env, hs, xs, alpha_kind):
    rf = name == "recurrent_first"
    w_name, win_name = ("W", "W_in") if rf else ("W_hh", "W_hx")
    W = sp.MatrixSymbol(w_name, n, n)
    b = sp.MatrixSymbol("b", n, 1)
    env[W] = W.as_explicit()
    env[b] = b.as_explicit()
    params = [(w_name, W)]
    drive = []
    if d:
        W_in = sp.MatrixSymbol(win_name, n, d)
        env[W_in] = W_in.as_explicit()
        params.append((win_name, W_in))
        drive = [_mul(W_in, xs)]
    params.append(("b", b))
    h_t = sp.MatrixSymbol("h_t", n, 1)
    if rf:
        defs = [(h_t, _add(_mul(W, _apply(f, hs)), *drive, b))]
        closed = _mul(W, DiagMatrix(_apply(fprime, hs)))
        return tuple(params), defs, closed
    a_t = sp.MatrixSymbol("a_t", n, 1)
    defs = [(a_t, _add(_mul(W, hs), *drive, b))]
    core = _mul(DiagMatrix(_apply(fprime, a_t)), W)
    if name == "elman":
        defs.append((h_t, _apply(f, a_t)))
        return tuple(params), defs, core
    one = sp.OneMatrix(n, 1)
    if alpha_kind == "scalar":
        alpha = sp.Symbol("alpha", real=True)
        env[alpha] = alpha
        defs.append((h_t, _add(_mul(alpha, hs), _mul(1 - alpha, _apply(f, a_t)))))
        closed = _add(_mul(alpha, sp.Identity(n)), _mul(1 - alpha, DiagMatrix(_apply(fprime, a_t)), W))
    else:
        alpha = sp.MatrixSymbol("alpha", n, 1)
        env[alpha] = alpha.as_explicit()
        defs.append((h_t, _add(_had(alpha, hs), _had(_sub(one, alpha), _apply(f, a_t)))))
        closed = _add(DiagMatrix(alpha), _mul(DiagMatrix(_sub(one, alpha)),
                                              DiagMatrix(_apply(fprime, a_t)), W))
    params.append(("alpha", alpha))
    return tuple(params), defs, closed


def _gru(name, n, d, env, hs, xs, alpha_kind):
    weight_ih = sp.MatrixSymbol("weight_ih", 3 * n, d)
    weight_hh = sp.MatrixSymbol("weight_hh", 3 * n, n)
    bias_ih = sp.MatrixSymbol("bias_ih", 3 * n, 1)
    bias_hh = sp.MatrixSymbol("bias_hh", 3 * n, 1)
    params = (("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih),
              ("bias_hh", bias_hh))
    blocks = {}
    for big, prefix, cols in ((weight_ih, "W_i", d), (weight_hh, "W_h", n),
                              (bias_ih, "b_i", 1), (bias_hh, "b_h", 1)):
        explicit = big.as_explicit()
        for k, gate in enumerate("rzn"):
            sym = sp.MatrixSymbol(_block_name(prefix, gate), n, cols)
            env[sym] = explicit[k * n:(k + 1) * n, :]
            blocks[prefix + gate] = sym
    B = blocks
    r_t, z_t, n_t, h_t = (sp.MatrixSymbol(s, n, 1) for s in ("r_t", "z_t", "n_t", "h_t"))
    one = sp.OneMatrix(n, 1)
    g = _add(_mul(B["W_hn"], hs), B["b_hn"])
    defs = [
        (r_t, _apply(sigmoid, _add(_mul(B["W_ir"], xs), B["b_ir"], _mul(B["W_hr"], hs), B["b_hr"]))),
        (z_t, _apply(sigmoid, _add(_mul(B["W_iz"], xs), B["b_iz"], _mul(B["W_hz"], hs), B["b_hz"]))),
        (n_t, _apply(sp.tanh, _add(_mul(B["W_in"], xs), B["b_in"], _had(r_t, g)))),
        (h_t, _add(_had(_sub(one, z_t), n_t), _had(z_t, hs))),
    ]
    closed = _add(
        DiagMatrix(z_t),
        _mul(DiagMatrix(_sub(hs, n_t)), DiagMatrix(_had(z_t, _sub(one, z_t))), B["W_hz"]),
        _mul(DiagMatrix(_sub(one, z_t)), DiagMatrix(_sub(one, sp.HadamardPower(n_t, 2))),
             _add(_mul(DiagMatrix(r_t), B["W_hn"]),
                  _mul(DiagMatrix(g), DiagMatrix(_had(r_t, _sub(one, r_t))), B["W_hr"]))),
    )
    return params, defs, closed


def _block_name(prefix, gate):
    kind, side = prefix.split("_")
    return f"{kind}_{{{side}{gate}}}"


# The symbolic derivation of each kind of cell, by registered name: builder(name, n, d, env,
# h_{t-1}, x_t, alpha_kind) -> (parameters, structural definitions, closed form).
_DERIVATIONS = {"elman": _simple, "recurrent_first": _simple, "leaky": _simple, "gru": _gru}

#: The registered cell names (:func:`spectra.cells.registered_cells`) that have a symbolic
#: derivation, i.e. the cells :func:`step_jacobian` accepts, in registration order.
CELLS = tuple(name for name in registered_cells() if name in _DERIVATIONS)
