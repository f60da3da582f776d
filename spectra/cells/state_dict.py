"""Recurrent-layer weights in PyTorch's naming, read with numpy alone.

PyTorch names the parameters of layer k of ``nn.RNN``, ``nn.LSTM`` and
``nn.GRU`` ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}`` and
``bias_hh_l{k}`` (with ``_reverse`` appended for the second direction of a
bidirectional module, and ``weight_hr_l{k}`` for an LSTM's projection); the
single-step modules ``nn.RNNCell``, ``nn.LSTMCell`` and ``nn.GRUCell`` use
``weight_ih``, ``weight_hh``, ``bias_ih`` and ``bias_hh``.

This module turns a torch module, a (possibly nested, possibly prefixed)
state dict of tensors or numpy arrays, or a file (``.npz`` with the same key
names, or a torch ``.pt``/``.pth`` file) into numpy arrays.  It never imports
torch, except to read a torch file; a tensor is converted with
``.detach().cpu().numpy()``.  The cells' ``from_torch`` constructors use it,
and :mod:`spectra.io` exposes the file functions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .._core.errors import plain_text
from .._core.interop import is_module, is_tensor, to_numpy
from .._core.validation import check_int, describe

__all__ = ["to_numpy", "flatten_state_dict", "read_state_dict", "recurrent_weights",
           "RecurrentWeights", "TORCH_KINDS", "named_weights"]

# kind -> (number of stacked gates, torch class names accepted)
TORCH_KINDS = {
    "RNN": (1, ("RNN", "RNNCell")),
    "LSTM": (4, ("LSTM", "LSTMCell")),
    "GRU": (3, ("GRU", "GRUCell")),
}
_KIND_OF_GATES = {1: "nn.RNN", 3: "nn.GRU", 4: "nn.LSTM"}

def _rows(gates):
    return "n" if gates == 1 else f"{gates}n"


_HH_KEY = re.compile(r"^(?P<prefix>.*?)weight_hh(?:_l(?P<layer>\d+))?(?P<reverse>_reverse)?$")


def flatten_state_dict(state, *, name: str = "state_dict") -> dict:
    """Flatten nested mappings to ``{"a.b.key": array}``, keeping array and tensor leaves only.

    A training checkpoint such as ``{"model": state_dict, "optimizer": ..., "epoch": 3}``
    becomes the model's entries with a ``"model."`` prefix; non-array leaves are dropped.
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"`{name}` must be a mapping of names to arrays or tensors; "
                        f"got {describe(state)}")
    out = {}

    def walk(mapping, prefix):
        for key, value in mapping.items():
            full = f"{prefix}{key}"
            if isinstance(value, Mapping):
                walk(value, full + ".")
            elif is_tensor(value) or isinstance(value, np.ndarray):
                out[full] = value
    walk(state, "")
    return out


def read_state_dict(path, *, key=None) -> dict:
    """Read a state dict from an ``.npz`` file or a torch ``.pt``/``.pth`` file.

    Returns a flat ``{name: numpy array}`` (nested entries joined with dots).
    ``key`` picks one entry of a checkpoint that holds several
    (e.g. ``key="model"`` for ``{"model": ..., "optimizer": ...}``).
    """
    if isinstance(path, (bytes, bytearray)) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file name (str or os.PathLike); got {describe(path)}")
    path = os.fspath(path)
    if path.lower().endswith(".npz"):
        import zipfile

        if os.path.isfile(path) and not zipfile.is_zipfile(path):
            raise ValueError(f"{path!r} is not an .npz file (it is not a zip archive of arrays)")
        with np.load(path, allow_pickle=False) as data:
            state = {k: _npz_entry(data, k, path) for k in data.files}
    else:
        state = _read_torch_file(path)
    flat = flatten_state_dict(state, name=path)
    if key is not None:
        if not isinstance(key, str):
            raise TypeError(f"`key` must be a string; got {describe(key)}")
        head = key.rstrip(".") + "."
        flat = {k[len(head):]: v for k, v in flat.items() if k.startswith(head)}
        if not flat:
            tops = sorted({k.split(".", 1)[0] for k in state})
            raise ValueError(f"`key` {key!r} names no arrays in {path!r}; its top-level entries "
                             f"are {tops}")
    return {k: to_numpy(v, k) for k, v in flat.items()}


def _npz_entry(data, key, path):
    """One array of an open .npz file; an object array (a pickle) is refused by name."""
    try:
        return data[key]
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise
        raise ValueError(f"{path!r} holds an object array under the key {key!r} (pickled Python "
                         "objects), which spectra does not load (reading it would run a pickle); "
                         "a state dict holds numeric arrays: save the weights alone, e.g. "
                         "numpy.savez(path, **{name: numpy.asarray(w, dtype=float) ...})") from None


def _unreadable_torch_file(path, exc) -> str:
    """One plain line, advice first, for a file ``torch.load(weights_only=True)`` refused."""
    text = plain_text(exc)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:   # the pickle names a class: a whole module (torch.nn.LSTM, or the user's own)
        return (f"this file holds a whole pickled module ({found.group(1)}); save "
                f"`model.state_dict()` instead, or load the module yourself and pass it to "
                f"from_torch ({path!r} is not a plain torch state dict)")
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return (f"save `model.state_dict()` with torch.save and read that file ({path!r} is not a "
            f"plain torch state dict: torch.load with weights_only=True failed: "
            f"{type(exc).__name__}: {first[:200]})")


def _read_torch_file(path):
    try:
        import torch
    except ImportError:
        raise ImportError(f"reading {path!r} needs PyTorch (pip install torch, or "
                          "pip install 'spectra[torch]'); without torch, save the weights as .npz "
                          "(spectra.io.save_state_dict on a machine with torch, or "
                          "numpy.savez(path, **{k: v.numpy() for k, v in state_dict.items()}))"
                          ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # unpickling refused: a whole pickled module, or not a torch file
        raise ValueError(_unreadable_torch_file(path, exc)) from exc
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path!r} holds {describe(obj)}, not a state dict (a mapping of "
                         "parameter names to tensors)")
    return obj


@dataclass(frozen=True)
class RecurrentWeights:
    """One layer and direction of a recurrent module, as numpy arrays."""

    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray | None
    bias_hh: np.ndarray | None
    nonlinearity: str | None  # from a torch nn.RNN / nn.RNNCell module, else None
    where: str                # the key prefix and suffix, for messages
    suffix: str = ""          # the key suffix of the layer and direction ("_l1", "_l0_reverse", "")


def recurrent_weights(source, kind: str, *, layer=0, reverse=False, prefix=None) -> RecurrentWeights:
    """The weights of one layer of a torch recurrent module.

    Parameters
    ----------
    source : torch module, mapping, or path
        ``nn.RNN``/``nn.LSTM``/``nn.GRU`` or their ``*Cell`` versions (or a
        module containing exactly one of them); a state dict of tensors or
        numpy arrays, possibly nested (a checkpoint) or prefixed
        (``"encoder.lstm.weight_ih_l0"``); or an ``.npz``/``.pt``/``.pth`` file.
    kind : {"RNN", "LSTM", "GRU"}
    layer : int
        Layer k of a multi-layer module (keys ``*_l{k}``).
    reverse : bool
        The reverse direction of a bidirectional module (keys ``*_l{k}_reverse``).
    prefix : str, optional
        The key prefix of the recurrent module inside a larger state dict
        (found automatically when there is only one).
    """
    gates, class_names = TORCH_KINDS[kind]
    layer = check_int(layer, "layer", minimum=0)
    if not isinstance(reverse, (bool, np.bool_)):
        raise TypeError(f"`reverse` must be True or False; got {describe(reverse)}")
    if prefix is not None and not isinstance(prefix, str):
        raise TypeError(f"`prefix` must be a string; got {describe(prefix)}")
    module = None
    if isinstance(source, (str, os.PathLike)):
        state = read_state_dict(source)
    elif is_module(source):
        module = source
        state = flatten_state_dict(source.state_dict())
    elif isinstance(source, Mapping):
        state = flatten_state_dict(source, name="module_or_state_dict")
    else:
        raise TypeError(f"`module_or_state_dict` must be a torch {' or '.join(class_names)} module, "
                        f"a state dict (a mapping of names to tensors or arrays), or a path to an "
                        f".npz/.pt file; got {describe(source)}")

    candidates = {}
    for key in state:
        m = _HH_KEY.match(key)
        if m:
            candidates.setdefault(m["prefix"], []).append(
                (None if m["layer"] is None else int(m["layer"]), bool(m["reverse"])))
    if prefix is not None:
        wanted = [p for p in (prefix, prefix + ".") if p in candidates]
        if not wanted:
            raise ValueError(f"`prefix` {prefix!r} names no recurrent weights; weights were "
                             f"found under the prefixes {sorted(candidates)}")
        prefix = wanted[0]
    elif not candidates:
        shown = sorted(state)[:8]
        raise ValueError(f"`module_or_state_dict` holds no recurrent-layer weights (keys like "
                         f"'weight_hh_l0' or 'weight_hh'); its keys are {shown}"
                         + (" ..." if len(state) > 8 else ""))
    elif len(candidates) > 1:
        raise ValueError(f"`module_or_state_dict` holds recurrent weights under several prefixes "
                         f"{sorted(candidates)}; pass prefix=... to choose one")
    else:
        prefix = next(iter(candidates))
    entries = candidates[prefix]

    if module is not None:
        sub = module.get_submodule(prefix.rstrip(".")) if prefix else module
        mro = [c.__name__ for c in type(sub).__mro__]
        if not any(c in class_names for c in mro):
            raise TypeError(f"expected a torch nn.{class_names[0]} or nn.{class_names[1]}; got "
                            f"{type(sub).__name__}")
        if getattr(sub, "proj_size", 0):
            raise ValueError(f"LSTM layers with projections (proj_size={sub.proj_size}) are not "
                             "supported: their state is [h (proj_size), c (hidden_size)]")
        nonlinearity = getattr(sub, "nonlinearity", None)
    else:
        nonlinearity = None

    layered = any(k is not None for k, _ in entries)
    if not layered:  # a single-step cell: weight_ih, weight_hh, ...
        if layer != 0:
            raise ValueError(f"`layer` must be 0 for a single-step cell (nn.{class_names[1]}, keys "
                             f"'{prefix}weight_hh' ...); got {layer}")
        if reverse:
            raise ValueError("`reverse=True` needs a bidirectional module; these are the weights "
                             f"of a single-step cell (nn.{class_names[1]})")
        suffix = ""
    else:
        layers = sorted({k for k, _ in entries if k is not None})
        if layer not in layers:
            raise ValueError(f"`layer` must be one of {layers} (the module has {len(layers)} "
                             f"layer{'s' if len(layers) > 1 else ''}); got {layer}")
        if reverse and (layer, True) not in entries:
            raise ValueError(f"`reverse=True` needs a bidirectional module; there is no key "
                             f"'{prefix}weight_hh_l{layer}_reverse'")
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")

    def get(name, required):
        key = f"{prefix}{name}{suffix}"
        if key not in state:
            if required:
                raise ValueError(f"`module_or_state_dict` has {prefix}weight_hh{suffix} but no "
                                 f"{key!r}")
            return None
        return np.asarray(to_numpy(state[key], f"module_or_state_dict[{key!r}]"),
                          dtype=np.float64)  # before any arithmetic

    if f"{prefix}weight_hr{suffix}" in state:
        raise ValueError(f"LSTM layers with projections (proj_size > 0, key "
                         f"'{prefix}weight_hr{suffix}') are not supported: their state is "
                         "[h (proj_size), c (hidden_size)]")
    weight_hh = get("weight_hh", True)
    if weight_hh.ndim == 2 and weight_hh.shape[1] and weight_hh.shape[0] % weight_hh.shape[1] == 0:
        ratio = weight_hh.shape[0] // weight_hh.shape[1]
        if ratio != gates and ratio in _KIND_OF_GATES:
            raise ValueError(f"'{prefix}weight_hh{suffix}' has shape {weight_hh.shape}, the layout "
                             f"of {_KIND_OF_GATES[ratio]} ({_rows(ratio)} x n), not of nn.{kind} "
                             f"({_rows(gates)} x n)")
    return RecurrentWeights(get("weight_ih", True), weight_hh, get("bias_ih", False),
                            get("bias_hh", False), nonlinearity, f"{prefix}*{suffix}", suffix)


def torch_named(cell, weights, names=None):
    """``cell`` with ``cell.torch_names``: ``{torch name: name in cell.parameters()}``.

    ``names`` maps torch's base names (``weight_hh``, ...) to the cell's; by
    default they are the same.  The layer and direction suffix of
    ``weights`` (``_l1``, ``_l0_reverse``) is appended, so the names are the
    module's own ``named_parameters()`` names.
    """
    own = cell.parameters()
    names = {k: k for k in own} if names is None else names
    cell.torch_names = {f"{k}{weights.suffix}": v for k, v in names.items() if v in own
                        and getattr(weights, k, None) is not None}
    return cell


def named_weights(source, layouts, *, prefix=None, what="cell"):
    """The arrays of one of several named layouts, found in a module, state dict or file.

    The reader behind the ``from_state_dict`` constructors of the cells that
    no standard PyTorch module holds (:class:`~spectra.SelectiveSSM`,
    :class:`~spectra.MinGRU`, :class:`~spectra.MinLSTM`).

    Parameters
    ----------
    source : torch module, mapping, str or os.PathLike
        A module (its ``state_dict()``), a state dict (nested or prefixed
        keys are found) or an ``.npz``/``.pt``/``.pth`` file.
    layouts : dict
        ``{layout name: (required keys, optional keys)}``; the first layout
        whose first required key is found is read.
    prefix : str, optional
        The key prefix of the layer inside a larger state dict (found
        automatically when the layout occurs under one prefix only).
    what : str
        What is being read, for error messages.

    Returns
    -------
    (str, dict)
        The layout's name and ``{key without prefix: float64 array}`` (the
        optional keys that are absent are left out).

    Examples
    --------
    >>> import numpy as np
    >>> from spectra.cells.state_dict import named_weights
    >>> state = {"rnn.w": np.ones(2), "rnn.b": np.zeros(2), "head.w": np.ones(3)}
    >>> named_weights(state, {"mine": (("w", "b"), ())}, prefix="rnn")[1]["b"]
    array([0., 0.])
    """
    if prefix is not None and not isinstance(prefix, str):
        raise TypeError(f"`prefix` must be a string; got {describe(prefix)}")
    if isinstance(source, (str, os.PathLike)):
        state = read_state_dict(source)
    elif is_module(source):
        state = flatten_state_dict(source.state_dict())
    elif isinstance(source, Mapping):
        state = flatten_state_dict(source, name="source")
    else:
        raise TypeError(f"`source` must be a torch module, a state dict (a mapping of names to "
                        f"tensors or arrays) or a path to an .npz/.pt file; got {describe(source)}")
    for layout, (required, optional) in layouts.items():
        first = required[0]
        found = sorted(key[:len(key) - len(first)] for key in state
                       if key == first or key.endswith("." + first))
        if prefix is not None:
            found = [p for p in (prefix, prefix + ".") if p in found]
            if not found:
                continue
        if not found:
            continue
        if len(found) > 1:
            raise ValueError(f"`source` holds {what} weights ({first!r}) under several prefixes "
                             f"{found}; pass prefix=... to choose one")
        p = found[0]
        missing = [p + k for k in required if p + k not in state]
        if missing:
            raise ValueError(f"`source` has {p + first!r} but not {missing} (the {layout} layout "
                             f"of a {what} needs {list(required)})")
        out = {k: np.asarray(to_numpy(state[p + k], p + k), dtype=np.float64)
               for k in (*required, *optional) if p + k in state}
        return layout, out
    keys = sorted(state)[:8]
    wanted = " or ".join(repr(req[0]) for req, _ in layouts.values())
    where = "" if prefix is None else f" under the prefix {prefix!r}"
    raise ValueError(f"`source` holds no {what} weights{where} (a key {wanted}); its keys are "
                     f"{keys}" + (" ..." if len(state) > 8 else ""))
