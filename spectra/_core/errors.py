"""Exceptions for numerical trouble.

Bad arguments raise the built-in ValueError and TypeError.  Numerical failure
that no argument check could have foreseen (a state that overflows, a product
that leaves the float64 range, an iteration that does not converge) raises
one of these, each a subclass of FloatingPointError so that generic handlers
still catch it.
"""

from __future__ import annotations

__all__ = ["NumericalError", "ConvergenceError"]


class NumericalError(FloatingPointError):
    """A computation left the range where float64 results are meaningful."""


class ConvergenceError(NumericalError):
    """An iterative method stopped before reaching its tolerance."""
