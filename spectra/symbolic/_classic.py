r"""The textbook W^T diag(f'(h_{t-1})) against the Jacobian W diag(f'(h_{t-1})).

The classic derivation of Pascanu et al. (2013) writes the step Jacobian of
the recurrent-first cell with W^T where the Jacobian has W (DESIGN.md).  This
module proves, for generic entries, what the two share (characteristic
polynomial, norm bound) and exhibits a witness where they differ.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from .._core.results import Result
from .._core.validation import check_int
from ._structural import _apply, _explicit, _mul, fprime, paper_latex

__all__ = ["ClassicJacobianCheck", "classic_jacobian_check"]


@dataclass(frozen=True, repr=False)
class ClassicJacobianCheck(Result):
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

    Examples
    --------
    >>> from spectra import symbolic
    >>> c = symbolic.classic_jacobian_check(2)
    >>> c.jacobian[0, 1], c.classic[0, 1]
    (fprime(h[1, 0])*W[0, 1], fprime(h[1, 0])*W[1, 0])
    >>> sorted(c.to_dict())[:3]
    ['equals_jacobian', 'equals_transpose', 'latex']
    """

    # the sympy matrices stay out of the JSON (their LaTeX is in it)
    _json_exclude = frozenset({"jacobian", "classic", "jacobian_form", "classic_form"})

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
        """The flags, the witness and :attr:`latex` as JSON (the sympy matrices are left out)."""
        return {**super().to_dict(), "latex": self.latex}


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
