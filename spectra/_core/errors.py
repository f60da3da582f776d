"""Exceptions for numerical trouble.

Bad arguments raise the built-in ValueError and TypeError.  Numerical failure
that no argument check could have foreseen (a state that overflows, a product
that leaves the float64 range, an iteration that does not converge) raises
one of these, each a subclass of FloatingPointError so that generic handlers
still catch it.
"""

from __future__ import annotations

import re

__all__ = ["NumericalError", "ConvergenceError", "plain_text"]


class NumericalError(FloatingPointError):
    """A computation left the range where float64 results are meaningful."""


class ConvergenceError(NumericalError):
    """An iterative method stopped before reaching its tolerance."""


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


def plain_text(text) -> str:
    """``text`` on one line without terminal escape codes (the colours torch puts in its errors).

    >>> plain_text("do \\x1b[1mthis\\x1b[0m\\n  now")
    'do this now'
    """
    return " ".join(_ANSI.sub("", str(text)).split())
