"""The one cell registry: names under which the CLI, the symbolic layer and sweeps find cells.

A cell class registers itself where it is defined::

    @register_cell("elman", aliases=("elmanrnn",))
    class ElmanRNN(Cell): ...

Names are case-insensitive and ``-`` and ``_`` are interchangeable, so
``"recurrent-first"`` (CLI spelling) and ``"recurrent_first"`` are one name.
Adding a cell touches its own file only.
"""

from __future__ import annotations

from .._core.validation import describe

__all__ = ["register_cell", "unregister_cell", "cell_class", "cell_name", "registered_cells"]

_CLASSES: dict = {}   # canonical name -> class
_ALIASES: dict = {}   # any accepted spelling -> canonical name


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register_cell(name: str, *, aliases=()):
    """Class decorator: register a :class:`~spectra.Cell` subclass under ``name``.

    Parameters
    ----------
    name : str
        The canonical name (lower case, words joined by ``_``).
    aliases : iterable of str
        Further accepted spellings.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> from spectra.cells import register_cell, cell_class
    >>> cell_class("recurrent-first") is spectra.RecurrentFirstRNN
    True
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"`name` must be a non-empty string; got {describe(name)}")
    canonical = _key(name)

    def decorate(cls):
        from .base import Cell

        if not (isinstance(cls, type) and issubclass(cls, Cell)):
            raise TypeError(f"register_cell({name!r}) decorates Cell subclasses; got {describe(cls)}")
        old = _CLASSES.get(canonical)
        if old is not None and old.__qualname__ != cls.__qualname__:
            raise ValueError(f"cell name {canonical!r} is already taken by {old.__qualname__}")
        _CLASSES[canonical] = cls
        for spelling in (canonical, _key(cls.__name__), *map(_key, aliases)):
            _ALIASES[spelling] = canonical
        cls.cell_name = canonical
        return cls

    return decorate


def unregister_cell(name: str):
    """Remove the cell registered under ``name`` (any accepted spelling) and all its spellings.

    The inverse of :func:`register_cell`, for cells registered for a while
    (a test, a notebook experiment); the class itself is left as it is.

    Parameters
    ----------
    name : str
        The cell's name or one of its aliases.

    Returns
    -------
    type
        The class that was registered.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> from spectra.cells import registered_cells
    >>> from spectra.cells.registry import register_cell, unregister_cell
    >>> @register_cell("frozen")
    ... class Frozen(spectra.Cell):          # h_t = 0
    ...     n = 1
    ...     def input_drive(self, X, steps, batch_shape): return np.zeros((steps, 1))
    ...     def advance(self, h, u): return 0 * h, None
    ...     def factored_jacobians(self, states, aux):
    ...         return spectra.DenseJacobians(np.zeros((states.shape[-2] - 1, 1, 1)))
    ...     def parameters(self): return {}
    >>> "frozen" in registered_cells()
    True
    >>> unregister_cell("frozen") is Frozen, "frozen" in registered_cells()
    (True, False)
    """
    canonical = _ALIASES.get(_key(name)) if isinstance(name, str) else None
    if canonical is None:
        raise ValueError(f"`name` must be a registered cell ({list(_CLASSES)}); got {name!r}")
    cls = _CLASSES.pop(canonical)
    for spelling in [s for s, c in _ALIASES.items() if c == canonical]:
        del _ALIASES[spelling]
    return cls


def registered_cells() -> dict:
    """``{name: class}`` of every registered cell, in registration order.

    >>> from spectra.cells import registered_cells
    >>> list(registered_cells())[:3]
    ['elman', 'recurrent_first', 'leaky']
    """
    return dict(_CLASSES)


def cell_class(name: str):
    """The cell class registered under ``name`` (any accepted spelling)."""
    if not isinstance(name, str):
        raise TypeError(f"`cell` must be a cell name; got {describe(name)}")
    canonical = _ALIASES.get(_key(name))
    if canonical is None:
        raise ValueError(f"`cell` must be one of {list(_CLASSES)}; got {name!r}")
    return _CLASSES[canonical]


def cell_name(cell) -> str:
    """The registered name of a cell, a cell class or a name in any accepted spelling."""
    if isinstance(cell, str):
        return cell_class(cell).cell_name
    cls = cell if isinstance(cell, type) else type(cell)
    for name, registered in _CLASSES.items():
        if registered is cls:
            return name
    raise TypeError(f"`cell` must be a registered cell ({list(_CLASSES)}), its class or its name; "
                    f"got {describe(cell)}")
