"""``from_torch``: one entry point from a PyTorch module, state dict or file to a cell or a Stack.

torch is never imported here (modules and tensors are recognised by
:mod:`spectra._core.interop`); a file of torch tensors needs torch to read.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from .._core.interop import is_module
from .._core.validation import check_choice, check_int, describe
from .gated import GRU, LSTM
from .simple import ElmanRNN
from .stack import Stack
from .state_dict import _HH_KEY, flatten_state_dict, read_state_dict

__all__ = ["from_torch"]

_KINDS = {"rnn": ("RNN", None), "rnn_tanh": ("RNN", "tanh"), "rnn_relu": ("RNN", "relu"),
          "lstm": ("LSTM", None), "gru": ("GRU", None)}
_GATES_TO_KIND = {1: "RNN", 3: "GRU", 4: "LSTM"}
_DIRECTIONS = ("forward", "reverse", "both")


def _module_kind(module):
    """(kind, submodule) of the one recurrent module in ``module``."""
    found = []
    for name, sub in module.named_modules():
        mro = {c.__name__ for c in type(sub).__mro__}
        for kind, names in (("LSTM", ("LSTM", "LSTMCell")), ("GRU", ("GRU", "GRUCell")),
                            ("RNN", ("RNN", "RNNCell"))):
            if mro & set(names):
                found.append((kind, name, sub))
                break
    if not found:
        raise TypeError(f"`obj` must be (or contain) a torch nn.RNN, nn.LSTM or nn.GRU (or their "
                        f"*Cell versions), nn.Sequential or a list of modules; got "
                        f"{type(module).__name__}, which contains none")
    if len(found) > 1:
        raise ValueError(f"`obj` contains several recurrent modules "
                         f"{[n or '<root>' for _, n, _ in found]}; pass the one to analyse")
    return found[0]


def _check_device(module):
    for name, p in list(module.named_parameters()) + list(module.named_buffers()):
        if getattr(p, "is_meta", False):
            raise ValueError(f"`obj` has parameter {name!r} on the meta device (shapes only, no "
                             "values); load or materialise its weights first (e.g. "
                             "module.to_empty(device='cpu') and load_state_dict)")


def _state_layers(state):
    """{prefix: (kind or None, sorted layers, bidirectional)} of a flat state dict."""
    out = {}
    for key, value in state.items():
        m = _HH_KEY.match(key)
        if not m:
            continue
        shape = np.shape(value)
        kind = None
        if len(shape) == 2 and shape[1] and shape[0] % shape[1] == 0:
            kind = _GATES_TO_KIND.get(shape[0] // shape[1])
        kinds, layers, bidi = out.get(m["prefix"], (set(), set(), False))
        kinds.add(kind)
        layers.add(0 if m["layer"] is None else int(m["layer"]))
        out[m["prefix"]] = (kinds, layers, bidi or bool(m["reverse"]))
    return out


def _depth(obj):
    try:
        from .depth import depth_stack
    except ImportError:
        raise TypeError("`obj` is a sequence of modules: depth stacks need "
                        "spectra.cells.depth (depth_stack), which this installation lacks") from None
    return depth_stack(obj)


def from_torch(obj, *, kind=None, direction="forward", layer=None):
    """A spectra cell, or a :class:`Stack` of them, from a PyTorch recurrent network.

    Parameters
    ----------
    obj : torch module, state dict, path, nn.Sequential or list of modules
        ``nn.RNN`` (tanh or relu), ``nn.LSTM`` or ``nn.GRU`` with any
        ``num_layers``, with or without bias, ``batch_first`` or not (the
        result runs on ``(T, d)`` or ``(B, T, d)`` inputs either way); their
        ``*Cell`` versions; a model containing exactly one of them; a state
        dict (tensors or arrays, possibly prefixed or nested); an ``.npz``,
        ``.pt`` or ``.pth`` file.  An ``nn.Sequential`` or a list of modules
        becomes a depth stack (:mod:`spectra.cells.depth`).  Every tensor is
        converted to float64 before any arithmetic.
    kind : {"rnn", "rnn_tanh", "rnn_relu", "lstm", "gru"}, optional
        For a state dict: which network it is.  Inferred from the shape of
        ``weight_hh`` where possible; an RNN state dict does not record its
        nonlinearity, so ``"rnn"`` means tanh (PyTorch's default).
    direction : {"forward", "reverse"}
        Which direction of a bidirectional module (of one layer, or of
        ``layer``: above the first layer each direction reads both
        directions of the layer below, so a multi-layer bidirectional
        network is refused without ``layer``).  ``"both"`` is refused:
        the reverse direction reads x_T first, so the two directions are not
        one causal step map h_t = F(h_{t-1}, x_t); analyse each as its own
        stack (run the reverse one on the time-reversed inputs).
    layer : int, optional
        One layer only (driven by whatever inputs you give it).  By default
        all layers: one cell for a single layer, else a :class:`Stack`.

    Returns
    -------
    Cell or Stack

    Raises
    ------
    ValueError
        LSTM projections (``proj_size > 0``), ``direction="both"``, weights
        on the meta device, ambiguous state dicts.
    TypeError
        Objects that are no recurrent network.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> rng = np.random.default_rng(0)
    >>> state = {f"{w}_l{l}": rng.standard_normal((8, 2)) * 0.3 for l in (0, 1)
    ...          for w in ("weight_ih", "weight_hh")}
    >>> stack = spectra.from_torch(state)
    >>> stack
    Stack([LSTM(hidden_size=2, input_size=2), LSTM(hidden_size=2, input_size=2)])
    """
    check_choice(direction, "direction", _DIRECTIONS)
    if direction == "both":
        raise ValueError("`direction` 'both' cannot be one system: a bidirectional network's "
                         "reverse direction reads the inputs from x_T backwards, so the two "
                         "directions are not one causal step map h_t = F(h_{t-1}, x_t); use "
                         "direction='forward' and direction='reverse' (on the time-reversed "
                         "inputs) as two stacks")
    if layer is not None:
        layer = check_int(layer, "layer", minimum=0)
    act = None
    if kind is not None:
        if not isinstance(kind, str) or kind.lower().replace("-", "_") not in _KINDS:
            raise ValueError(f"`kind` must be one of {sorted(_KINDS)}; got {kind!r}")
        kind, act = _KINDS[kind.lower().replace("-", "_")]
    reverse = direction == "reverse"

    if isinstance(obj, (list, tuple)) or type(obj).__name__ == "Sequential":
        return _depth(obj)
    if is_module(obj):
        _check_device(obj)
        mkind, name, sub = _module_kind(obj)
        if kind is not None and kind != mkind:
            raise ValueError(f"`kind` {kind!r} contradicts the module, an nn.{type(sub).__name__}")
        kind = mkind
        if getattr(sub, "proj_size", 0):
            raise ValueError(f"`obj` is an LSTM with projections (proj_size={sub.proj_size}); not "
                             "supported: its state is [h (proj_size), c (hidden_size)] with "
                             "h = W_hr (o * tanh c)")
        if getattr(sub, "bidirectional", False) is False and reverse:
            raise ValueError("`direction` 'reverse' needs a bidirectional module; this one is not")
        layers = list(range(getattr(sub, "num_layers", 1)))
        bidirectional = bool(getattr(sub, "bidirectional", False))
        source = obj
    elif isinstance(obj, (str, os.PathLike, Mapping)):
        state = read_state_dict(obj) if isinstance(obj, (str, os.PathLike)) else \
            flatten_state_dict(obj, name="obj")
        found = _state_layers(state)
        if len(found) != 1:
            raise ValueError(f"`obj` must hold the weights of one recurrent network (keys like "
                             f"'weight_hh_l0'); found {len(found)} under prefixes {sorted(found)}")
        kinds, layer_set, bidirectional = next(iter(found.values()))
        kinds.discard(None)
        if kind is None:
            if len(kinds) != 1:
                raise ValueError("`kind` is needed: the state dict does not say whether it is an "
                                 "RNN, LSTM or GRU; pass kind='rnn', 'rnn_relu', 'lstm' or 'gru'")
            kind = kinds.pop()
        layers = sorted(layer_set)
        source = state
    else:
        raise TypeError(f"`obj` must be a torch recurrent module, a state dict, a path, an "
                        f"nn.Sequential or a list of modules; got {describe(obj)}")

    if bidirectional and layer is None and len(layers) > 1:
        raise ValueError(f"`obj` is a bidirectional {len(layers)}-layer network: each layer above the "
                         "first reads the outputs of both directions of the layer below, so no "
                         "direction of it is one causal stack; pass layer=0 for the first layer's "
                         "direction, or layer=L to analyse layer L on inputs you supply")
    if layer is not None:
        if layer not in layers:
            raise ValueError(f"`layer` must be one of {layers}; got {layer}")
        layers = [layer]

    def one(l):
        if kind == "RNN":
            return ElmanRNN.from_torch(source, l, activation=act, reverse=reverse)
        return (LSTM if kind == "LSTM" else GRU).from_torch(source, l, reverse=reverse)

    cells = [one(l) for l in layers]
    return cells[0] if len(cells) == 1 else Stack(cells)
