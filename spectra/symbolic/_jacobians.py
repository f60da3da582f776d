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
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.latex import LatexPrinter

from .._core.validation import check_choice, check_int, describe
from ._functions import activation_expr, sigmoid
from ._functions import x as _X
from ._sup import derivative

__all__ = ["CELLS", "SymbolicJacobian", "step_jacobian", "ClassicJacobianCheck",
           "classic_jacobian_check", "paper_latex"]

CELLS = ("elman", "recurrent_first", "leaky", "gru")


# ---------------------------------------------------------------------------------------
# A generic activation f with derivative f'


class fprime(sp.Function):
    """The derivative f' of the generic activation (an undefined function)."""

    def _latex(self, printer, exp=None):
        base = r"f'\left(%s\right)" % printer._print(self.args[0])
        return base if exp is None else r"%s^{%s}" % (base, exp)


class f(sp.Function):
    """A generic differentiable activation; d/du f(u) = f'(u)."""

    def fdiff(self, argindex=1):
        return fprime(self.args[0])


# ---------------------------------------------------------------------------------------
# LaTeX of structural matrix expressions


_FUNCTION_NAMES = {f: "f", fprime: "f'", sp.tanh: r"\tanh", sigmoid: r"\sigma"}


class _PaperLatexPrinter(LatexPrinter):
    """sympy's LaTeX printer with paper notation for diag, elementwise maps, 1 and I."""

    def __init__(self, settings=None):
        super().__init__(dict({"order": "none"}, **(settings or {})))

    def _print_DiagMatrix(self, e):
        return r"\operatorname{diag}\left(%s\right)" % self._print(e.args[0])

    def _print_ElementwiseApplyFunction(self, e):
        fn = e.function
        body = fn.expr if isinstance(fn, sp.Lambda) else None
        head = body.func if body is not None and body.args == fn.variables else fn
        name = _FUNCTION_NAMES.get(head)
        if name is None:
            return super()._print_ElementwiseApplyFunction(e)
        return r"%s\left(%s\right)" % (name, self._print(e.expr))

    # Sums, products and Hadamard products are printed here directly: sympy's own
    # printers ask whether each factor "could extract a minus sign", which evaluates
    # the matrix expression with the assumptions system (seconds for the GRU).
    def _print_MatAdd(self, e):
        out = []
        for i, term in enumerate(e.args):
            negative = isinstance(term, sp.MatMul) and term.args[0] == -1
            if negative:
                rest = term.args[1:]
                term = rest[0] if len(rest) == 1 else sp.MatMul(*rest, evaluate=False)
            text = self._print(term)
            out.append(("- " if negative else "") + text if i == 0 else
                       (" - " if negative else " + ") + text)
        return "".join(out)

    def _print_MatMul(self, e):
        out = []
        for a in e.args:
            if a == -1:
                out.append("-")
                continue
            text = self._print(a)
            if isinstance(a, (sp.MatAdd, sp.Add)):
                text = r"\left(%s\right)" % text
            out.append(text)
        return " ".join(out)

    def _print_HadamardProduct(self, e):
        parts = [self._print(a) for a in e.args]
        parts = [r"\left(%s\right)" % t if isinstance(a, sp.MatAdd) else t for a, t in zip(e.args, parts)]
        return r" \circ ".join(parts)

    def _print_HadamardPower(self, e):
        base = self._print(e.base)
        if isinstance(e.base, sp.MatAdd):
            base = r"\left(%s\right)" % base
        return r"%s^{\circ %s}" % (base, self._print(e.exp))

    def _print_OneMatrix(self, e):
        return r"\mathbf{1}"

    def _print_Identity(self, e):
        return "I"


def paper_latex(expr) -> str:
    r"""LaTeX of a sympy expression with the notation of the symbolic module.

    ``DiagMatrix(v)`` prints as ``\operatorname{diag}(v)``, an elementwise f'
    as ``f'(a_t)``, ``OneMatrix`` as ``\mathbf{1}``, ``Identity`` as ``I``;
    sums keep their order.
    """
    return _PaperLatexPrinter().doprint(expr)


# ---------------------------------------------------------------------------------------
# Explicit evaluation of structural matrix expressions


def _explicit(e, env):
    """The explicit sympy Matrix of a structural matrix expression, symbols from ``env``."""
    if e in env:
        return env[e]
    if isinstance(e, sp.MatrixSymbol):
        raise KeyError(f"no definition for {e}")
    if isinstance(e, sp.MatAdd):
        parts = [_explicit(a, env) for a in e.args]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out
    if isinstance(e, sp.MatMul):
        coeff = sp.S.One
        out = None
        for a in e.args:
            if a.is_Matrix or isinstance(a, sp.MatrixExpr):
                m = _explicit(a, env)
                out = m if out is None else out * m
            else:
                coeff *= a.xreplace({k: v for k, v in env.items() if not isinstance(k, sp.MatrixExpr)})
        return coeff * out
    if isinstance(e, DiagMatrix):
        return sp.diag(*list(_explicit(e.args[0], env)))
    if isinstance(e, sp.HadamardProduct):
        parts = [_explicit(a, env) for a in e.args]
        out = parts[0]
        for p in parts[1:]:
            out = out.multiply_elementwise(p)
        return out
    if isinstance(e, sp.HadamardPower):
        base = _explicit(e.base, env)
        return base.applyfunc(lambda v: v ** e.exp)
    if isinstance(e, ElementwiseApplyFunction):
        return _explicit(e.expr, env).applyfunc(e.function)
    if isinstance(e, sp.OneMatrix):
        return sp.ones(*e.shape)
    if isinstance(e, sp.Identity):
        return sp.eye(e.rows)
    if isinstance(e, sp.ZeroMatrix):
        return sp.zeros(*e.shape)
    if isinstance(e, sp.Transpose):
        return _explicit(e.args[0], env).T
    raise TypeError(f"cannot make {type(e).__name__} explicit")


def _add(*args):
    return sp.MatAdd(*args, evaluate=False)


def _mul(*args):
    return sp.MatMul(*args, evaluate=False)


def _sub(a, b):
    return sp.MatAdd(a, sp.MatMul(-1, b, evaluate=False), evaluate=False)


def _had(*args):
    return sp.HadamardProduct(*args, evaluate=False)


def _apply(fn, v):
    u = sp.Dummy("u")
    return ElementwiseApplyFunction(sp.Lambda(u, fn(u)), v)


def _is_zero(e):
    """Prove that the scalar expression e is identically 0."""
    e = sp.expand(e)
    if e == 0:
        return True
    if e.has(sp.Piecewise):
        e = sp.piecewise_fold(e)
        if isinstance(e, sp.Piecewise):
            return all(_is_zero(piece) for piece, _ in e.args)
    return sp.simplify(e) == 0


# ---------------------------------------------------------------------------------------
# The result


@dataclass(frozen=True)
class SymbolicJacobian:
    r"""The step Jacobian of a cell, derived symbolically and checked against its closed form.

    Attributes
    ----------
    cell : str
        ``"elman"``, ``"recurrent_first"``, ``"leaky"`` or ``"gru"``.
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
        return {
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
        }


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
    if isinstance(cell, str):
        key = cell.strip().lower().replace("-", "_")
        key = {"recurrentfirst": "recurrent_first", "recurrent_first_rnn": "recurrent_first",
               "elmanrnn": "elman", "leakyrnn": "leaky"}.get(key, key)
        return check_choice(key, "cell", CELLS)
    cls = cell if isinstance(cell, type) else type(cell)
    names = {"ElmanRNN": "elman", "RecurrentFirstRNN": "recurrent_first", "LeakyRNN": "leaky",
             "GRU": "gru"}
    if cls.__name__ in names and cls.__module__.startswith("spectra"):
        return names[cls.__name__]
    raise TypeError(f"`cell` must be one of {list(CELLS)}, a spectra cell class or a cell; "
                    f"got {describe(cell)}")


def step_jacobian(cell, n=None, *, input_size=None, activation=None, alpha="scalar"):
    r"""Symbolic step Jacobian of a cell for a small n, proven equal to its closed form.

    Parameters
    ----------
    cell : str, cell class or cell instance
        ``"elman"``, ``"recurrent_first"``, ``"leaky"`` or ``"gru"``, or
        ``spectra.ElmanRNN`` / an instance (then ``n``, ``input_size``, the
        activation and the shape of alpha default to the instance's).
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
        act = activation_expr(activation)
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
    if name == "gru":
        params, defs, closed = _gru(n, d, env, hs, xs)
    else:
        params, defs, closed = _simple(name, n, d, env, hs, xs, alpha_kind)
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


def _gru(n, d, env, hs, xs):
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


# ---------------------------------------------------------------------------------------
# The textbook expression W^T diag(f'(h)) against the Jacobian W diag(f'(h))


@dataclass(frozen=True)
class ClassicJacobianCheck:
    r"""The textbook W^T diag(f'(h_{t-1})) compared with the Jacobian W diag(f'(h_{t-1})).

    For h_t = W f(h_{t-1}) + W_in x_t + b the Jacobian is J = W D with
    D = diag(f'(h_{t-1})); the classic derivation (seed text, eq. 9) writes
    C = W^T D.  Proven here for a generic n x n W and generic D:

    Attributes
    ----------
    n : int
    jacobian, classic : sympy.Matrix
        J = W D and C = W^T D.
    same_eigenvalues : bool
        charpoly(C) == charpoly(J) identically (C = (D W)^T, and D W and
        W D share their characteristic polynomial).
    same_norm_bound : bool
        charpoly(W^T W) == charpoly(W W^T) identically, so
        ||W^T||_2 = ||W||_2 and both obey ||.||_2 <= ||W||_2 max|f'|.
    equals_jacobian, equals_transpose, same_singular_values : bool
        All False: refuted by ``witness``, an integer W and D at which
        C != J, C != J^T and charpoly(C^T C) != charpoly(J^T J).
    witness : dict
        ``{"W": [[...]], "d": [...]}`` with D = diag(d).
    jacobian_form, classic_form : sympy.MatrixExpr
        ``W diag(f'(h_{t-1}))`` and ``W^T diag(f'(h_{t-1}))`` in matrix symbols;
        they evaluate to ``jacobian`` and ``classic`` (checked), and
        :attr:`latex` is printed from them.
    """

    n: int
    jacobian: sp.Matrix
    classic: sp.Matrix
    same_eigenvalues: bool
    same_norm_bound: bool
    equals_jacobian: bool
    equals_transpose: bool
    same_singular_values: bool
    witness: dict
    jacobian_form: object = None
    classic_form: object = None

    @property
    def latex(self) -> str:
        """``dh_t/dh_{t-1} = W diag(f'(h)) != W^T diag(f'(h))``, equal characteristic
        polynomials (chi) and ``||W^T||_2 = ||W||_2``."""
        J, C = paper_latex(self.jacobian_form), paper_latex(self.classic_form)
        W = paper_latex(self.jacobian_form.args[0])
        Wt = paper_latex(self.classic_form.args[0])
        relation = "=" if self.equals_jacobian else r"\neq"
        return (rf"\frac{{\partial h_t}}{{\partial h_{{t-1}}}} = {J} {relation} {C}, \quad "
                rf"\chi_{{{C}}} = \chi_{{{J}}}, \quad "
                rf"\left\|{Wt}\right\|_2 = \left\|{W}\right\|_2")

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "same_eigenvalues": self.same_eigenvalues,
            "same_norm_bound": self.same_norm_bound,
            "equals_jacobian": self.equals_jacobian,
            "equals_transpose": self.equals_transpose,
            "same_singular_values": self.same_singular_values,
            "witness": self.witness,
            "latex": self.latex,
        }


@functools.lru_cache(maxsize=8)
def _classic(n):
    W = sp.MatrixSymbol("W", n, n).as_explicit()
    h = sp.MatrixSymbol("h", n, 1).as_explicit()
    D = sp.diag(*[fprime(v) for v in h])
    J, C = W * D, W.T * D
    lam = sp.Symbol("lambda")

    def chi(M):  # characteristic polynomial, unsimplified (expansion decides equality)
        return M.charpoly(lam, simplify=lambda e: e).as_expr()

    same_eig = sp.expand(chi(J) - chi(C)) == 0
    same_norm = sp.expand(chi(W.T * W) - chi(W * W.T)) == 0
    # a witness: small integer matrices, in a fixed order
    wsyms = list(W)
    dsyms = [fprime(v) for v in h]
    rng = np.random.default_rng(0)
    witness = None
    for _ in range(200):
        Wn = rng.integers(-3, 4, size=(n, n))
        dn = rng.integers(1, 4, size=n)
        sub = dict(zip(wsyms, map(int, Wn.ravel()))) | dict(zip(dsyms, map(int, dn)))
        Jw, Cw = J.xreplace(sub), C.xreplace(sub)
        if Cw != Jw and Cw != Jw.T and sp.expand(chi(Jw.T * Jw) - chi(Cw.T * Cw)) != 0:
            witness = {"W": Wn.tolist(), "d": dn.tolist()}
            break
    refuted = witness is not None
    # the structural forms, checked to evaluate to J and C (the LaTeX is printed from them)
    Ws, hs = sp.MatrixSymbol("W", n, n), sp.MatrixSymbol("h_{t-1}", n, 1)
    D_form = DiagMatrix(_apply(fprime, hs))
    J_form, C_form = _mul(Ws, D_form), _mul(sp.Transpose(Ws), D_form)
    env = {Ws: W, hs: h}
    if _explicit(J_form, env) != J or _explicit(C_form, env) != C:
        raise RuntimeError("internal error: structural forms do not match the matrices")
    return ClassicJacobianCheck(n, J, C, bool(same_eig), bool(same_norm), not refuted, not refuted,
                                not refuted, witness or {}, J_form, C_form)


def classic_jacobian_check(n: int = 2) -> ClassicJacobianCheck:
    r"""Prove how the textbook W^T diag(f'(h)) relates to the Jacobian W diag(f'(h)).

    The classic derivation of Pascanu et al. (2013) (eq. 9 of the seed text)
    writes ``W^T diag(f'(h_{t-1}))`` for the step Jacobian of
    h_t = W f(h_{t-1}) + ...; the Jacobian is ``W diag(f'(h_{t-1}))``.
    This function proves, for generic entries of an n x n W and a generic
    f', that the two have the same characteristic polynomial (hence the same
    eigenvalues) and the same norm bound, and exhibits an integer witness
    where the textbook matrix is neither J nor J^T and has other singular
    values.

    Examples
    --------
    >>> from spectra import symbolic
    >>> c = symbolic.classic_jacobian_check(2)
    >>> c.same_eigenvalues, c.same_norm_bound, c.equals_jacobian, c.equals_transpose
    (True, True, False, False)
    """
    n = check_int(n, "n", minimum=1, maximum=4)
    return _classic(n)
