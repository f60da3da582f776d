"""Weights from files: PyTorch state dicts as ``.npz`` (numpy only) or ``.pt``/``.pth`` (torch).

The key names are PyTorch's (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, ...), so a state dict saved on a machine with torch is read
anywhere with numpy alone::

    # with torch, once
    spectra.io.save_state_dict("lstm.npz", model.state_dict())
    # anywhere
    cell = spectra.LSTM.from_torch(spectra.io.load_state_dict("lstm.npz"))
    cell = spectra.LSTM.from_torch("lstm.npz")          # the same

The cells' ``from_torch`` constructors accept a path too; this module is for
reading and writing the state dicts themselves.  It never imports torch
except to read a torch file.
"""

from __future__ import annotations

import os

import numpy as np

from ._core.interop import is_module, to_numpy
from .cells.state_dict import flatten_state_dict, read_state_dict
from ._core.validation import describe

__all__ = ["load_state_dict", "save_state_dict"]


def load_state_dict(path, *, key=None) -> dict:
    """Read a state dict as ``{name: numpy array}``.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` file (read with numpy, no pickles), or a file written by
        ``torch.save`` (``.pt``, ``.pth``, ...; needs torch, and is read with
        ``weights_only=True``, so it must hold tensors, not a pickled model).
    key : str, optional
        The entry to take from a checkpoint holding several
        (``key="model"`` for ``{"model": ..., "optimizer": ...}``); nested
        entries are otherwise kept, their names joined with dots.

    Returns
    -------
    dict of str to ndarray

    Raises
    ------
    ImportError
        A torch file without torch installed (the message says how to
        convert it to ``.npz``).
    ValueError
        A file that holds no state dict, or a ``key`` it does not have; an
        ``.npz`` entry that is an object array (reading it would run a
        pickle): the message names the file and the entry.

    Examples
    --------
    >>> import os, tempfile, numpy as np, spectra
    >>> path = os.path.join(tempfile.mkdtemp(), "rnn.npz")
    >>> spectra.io.save_state_dict(path, {"weight_hh_l0": np.eye(2), "weight_ih_l0": np.ones((2, 1))})
    >>> sorted(spectra.io.load_state_dict(path))
    ['weight_hh_l0', 'weight_ih_l0']
    """
    return read_state_dict(path, key=key)


def save_state_dict(path, state_dict) -> None:
    """Write a state dict (tensors or arrays, or a torch module's) to an ``.npz`` file.

    Nested mappings are flattened with dotted names, tensors converted with
    ``.detach().cpu().numpy()``; the file reads back with
    :func:`load_state_dict` or ``numpy.load`` on any machine, without torch.

    Parameters
    ----------
    path : str or os.PathLike
        Must end in ``.npz``.
    state_dict : mapping or torch module
        Arrays or tensors of numbers (an entry that would become an object
        array, which numpy pickles, raises a TypeError naming it).
    """
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file name (str or os.PathLike); got {describe(path)}")
    path = os.fspath(path)
    if not path.lower().endswith(".npz"):
        raise ValueError(f"`path` must end in .npz; got {path!r}")
    if is_module(state_dict):
        state_dict = state_dict.state_dict()
    flat = flatten_state_dict(state_dict)
    if not flat:
        raise ValueError("`state_dict` holds no arrays or tensors")
    arrays = {k: to_numpy(v, f"state_dict[{k!r}]") for k, v in flat.items()}
    for k, a in arrays.items():
        if a.dtype.hasobject:   # numpy would pickle it, and load_state_dict refuses pickles
            raise TypeError(f"`state_dict[{k!r}]` must be an array of numbers; got "
                            f"{describe(flat[k])}, which converts to an object array")
    np.savez(path, **arrays)
