"""The network of the analysis commands, built from the command-line options.

Every cell comes from the registry (:mod:`spectra.cells.registry`), so a cell
registered anywhere works with ``--cell NAME``:

* at random, by its classmethod ``random(n, *, input_size=..., rng=..., ...)``,
  passed the options among ``--init``, ``--gain``, ``--activation`` and
  ``--alpha`` that the user gave and ``random`` accepts (its signature; with
  ``**options``, also the cell's constructor's keywords).  Cells initialised by
  :mod:`spectra.init` (their ``random`` takes ``init``) get the command's
  defaults (gaussian, gain 1.2, tanh, alpha 0.5); other cells their own.  An
  option the cell does not accept is an error;
* from ``--weights``, by its classmethod ``from_torch`` (cells without one cannot
  read PyTorch weights).  A multi-layer file is analysed as one system, a
  :class:`~spectra.Stack` of its layers; ``--layer L`` analyses layer L alone,
  driven by the real outputs of layers 0..L-1 (the header says so).
"""

from __future__ import annotations

import inspect
import numbers
import os

import re

import numpy as np

from ..cells.registry import cell_class, registered_cells
from .args import _DEFAULTS, _ArgumentError, _cli_spelling

# rows of weight_hh per hidden unit in a PyTorch state dict -> the cell that holds it
_GATES = {1: "elman", 3: "gru", 4: "lstm"}
# the options a cell's `random` may take, in the order they are checked and recorded
_CELL_OPTIONS = ("init", "gain", "activation", "alpha")


def _given(args, *names):
    return [n for n in names if getattr(args, n, None) is not None]


def _flag(name):
    return "--" + name.replace("_", "-")


def _or_join(names):
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _machine_memory():
    """Physical memory of this machine in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - non-POSIX
        return None


def _check_fits(n, d):
    """Refuse, before allocating, a network whose dense weights alone exceed the memory."""
    need = 8 * (4 * n * (n + d))       # float64 W and W_in, with room for a gated cell's four blocks
    have = _machine_memory()
    if have is not None and need > have:
        raise _ArgumentError(f"argument --size: {n} needs about {need / 2**30:.3g} GiB for its dense "
                             f"weight matrices, more than this machine's {have / 2**30:.3g} GiB")


def _keywords(method, cls):
    """``{name: default}`` of the keywords ``method`` accepts (``inspect.Parameter.empty``: required).

    A ``**options`` catch-all adds the keywords of ``cls``'s constructor, which
    is where :meth:`Cell.random` passes them.
    """
    if method is None:
        return {}
    params = inspect.signature(method).parameters.values()
    named = {p.name: p.default for p in params
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if any(p.kind is p.VAR_KEYWORD for p in params):
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                named.setdefault(p.name, p.default)
    return named


def _cells_taking(option):
    """CLI names of the registered cells whose classmethod ``random`` takes ``option``."""
    return [_cli_spelling(name) for name, cls in registered_cells().items()
            if option in _keywords(getattr(cls, "random", None), cls)]


def _torch_cells():
    """CLI names of the registered cells that read PyTorch weights (their class has ``from_torch``)."""
    return [_cli_spelling(name) for name, cls in registered_cells().items() if hasattr(cls, "from_torch")]


def _reject(option, kind, explicit):
    """The error for ``--option`` given with a cell whose ``random`` does not take it."""
    takers = _cells_taking(option)
    if not explicit and takers:            # the default cell: say which cells take it
        return _ArgumentError(f"argument {_flag(option)}: applies only to --cell {_or_join(takers)}")
    text = f"argument {_flag(option)}: does not apply to --cell {kind}"
    return _ArgumentError(text + (f" (only to --cell {_or_join(takers)})" if takers else ""))


def _detect_cell(state, layer, path):
    """elman / gru / lstm from the shape of weight_hh (rows = gates x hidden units)."""
    ratios = set()
    for key, value in state.items():
        leaf = key.rsplit(".", 1)[-1]
        if leaf in (f"weight_hh_l{layer}", "weight_hh") and getattr(value, "ndim", 0) == 2:
            rows, cols = value.shape
            if cols and rows % cols == 0:
                ratios.add(rows // cols)
    kinds = {_GATES.get(r) for r in ratios}
    if len(kinds) != 1 or None in kinds:
        raise _ArgumentError(f"argument --weights: cannot tell the cell type of {path!r} "
                             f"(layer {layer}); pass --cell {_or_join(_torch_cells())}")
    return kinds.pop()


def _load_weights(args):
    from .. import io

    path = args.weights
    if not os.path.exists(path):
        raise _ArgumentError(f"argument --weights: no such file: {path!r}")
    if os.path.isdir(path):
        raise _ArgumentError(f"argument --weights: {path!r} is a folder, not a file")
    try:
        state = io.load_state_dict(path, key=args.key)
    except ImportError as exc:                      # a torch file without torch
        raise _ArgumentError(f"argument --weights: {exc}") from None
    except (ValueError, TypeError) as exc:          # the advice first, then the argument
        raise _ArgumentError(f"{exc} (argument --weights)") from None
    except Exception as exc:                        # a file that is not a state dict at all
        raise _ArgumentError(f"argument --weights: cannot read {path!r} as a state dict "
                             f"({type(exc).__name__}: {exc})") from None
    if not state:
        raise _ArgumentError(f"argument --weights: {path!r} holds no arrays")
    return state


_LAYER_KEY = re.compile(r"weight_hh_l(\d+)(_reverse)?$")


def _file_layers(state):
    """(sorted layer numbers, bidirectional) of the recurrent weights in a state dict."""
    found = [_LAYER_KEY.search(key) for key in state]
    layers = sorted({int(m[1]) for m in found if m})
    return layers or [0], any(m and m[2] for m in found)


def _from_weights(args, layer):
    """(cells, kind, source) of the layers read from ``--weights`` by their class's ``from_torch``.

    ``layer`` None: every layer (one system); else layers 0..layer (the lower
    ones drive it).
    """
    extra = _given(args, "size", "gain", "init", "inputs")
    if extra:
        raise _ArgumentError(f"argument {_flag(extra[0])}: does not apply with --weights "
                             "(the file fixes the network)")
    state = _load_weights(args)
    kind = args.cell or _detect_cell(state, layer or 0, args.weights)
    cls = cell_class(kind)
    from_torch = getattr(cls, "from_torch", None)
    if from_torch is None:
        raise _ArgumentError(f"argument --cell: --weights holds PyTorch nn.RNN/LSTM/GRU weights; use "
                             f"--cell {_or_join(_torch_cells())}, not {kind}")
    accepted = _keywords(from_torch, cls)
    options = {}
    for option in _given(args, "alpha", "activation"):
        if option not in accepted:
            raise _ArgumentError(f"argument {_flag(option)}: does not apply to --cell {kind} "
                                 "with --weights")
        options[option] = getattr(args, option)
    cell = from_torch(state, layer or 0, **options)     # checks the layer exists
    layers, bidirectional = _file_layers(state)
    used = layers if layer is None else list(range(layer + 1))
    if bidirectional and len(used) > 1:
        flag = "--weights" if layer is None else "--layer"
        raise _ArgumentError(f"argument {flag}: {args.weights!r} is a bidirectional network: each "
                             "layer above the first reads both directions of the layer below, so "
                             "it is not one causal system; only --layer 0 can be analysed")
    cells = [cell] if len(used) == 1 else [from_torch(state, k, **options) for k in used]
    source = {"weights": os.fspath(args.weights), "layer": layer if layer is not None else 0}
    if layer is None and len(used) > 1:
        source.update(layer=None, layers=len(used))
    elif layer:
        source["driven_by"] = ("the real outputs of " + (f"layers 0-{layer - 1}" if layer > 1 else "layer 0"))
    return cells, kind, source


def _at_random(args, rng):
    """(cell, kind, source) of a cell drawn by its class's ``random``."""
    extra = _given(args, "layer", "key")
    if extra:
        raise _ArgumentError(f"argument {_flag(extra[0])}: applies only with --weights")
    kind = args.cell or _DEFAULTS["cell"]
    cls = cell_class(kind)
    random = getattr(cls, "random", None)
    if random is None:
        raise _ArgumentError(f"argument --cell: {kind} cells have no random initialisation "
                             "(no classmethod random); read one with --weights")
    accepted = _keywords(random, cls)
    for option in _given(args, *_CELL_OPTIONS):
        if option not in accepted:
            raise _reject(option, kind, explicit=args.cell is not None)
    ours = "init" in accepted               # initialised by spectra.init: the command's defaults
    n = args.size or _DEFAULTS["size"]
    d = n if args.inputs is None else args.inputs
    _check_fits(n, d)
    options, used = {}, {}
    for option in _CELL_OPTIONS:
        if option not in accepted:
            continue
        value, default = getattr(args, option), accepted[option]
        if value is None and (ours or default is inspect.Parameter.empty) and option in _DEFAULTS:
            value = _DEFAULTS[option]
        if value is not None:
            options[option] = used[option] = value
        elif default is not inspect.Parameter.empty:
            used[option] = default             # the cell's own default, recorded
    cell = random(n, input_size=d, rng=rng, **options)
    source = {k: v for k, v in used.items() if k != "alpha"}
    source["inputs"] = d
    if "alpha" in used:
        source["alpha"] = used["alpha"]
    return cell, kind, source


def _make_network(args):
    """(cell, trajectory, description) from the network options."""
    from ..cells.stack import Stack

    rng = np.random.default_rng(args.seed)
    cells = None
    if args.weights is not None:
        cells, kind, source = _from_weights(args, args.layer)
        cell = cells[0] if len(cells) == 1 else Stack(cells)
    else:
        cell, kind, source = _at_random(args, rng)
    d = cell.input_size
    inputs = args.input_scale * rng.standard_normal((args.steps, d)) if d else None
    h0 = 0.1 * rng.standard_normal(cell.n)
    traj = cell.run(inputs, h0=h0, steps=None if d else args.steps)
    if cells is not None and len(cells) > 1 and args.layer is not None:
        # layer L alone, driven by the real outputs of the layers below it in the same run
        below = cell.cells[-2].hidden_part(cell.layer_states(traj.states, len(cells) - 2))[..., 1:, :]
        cell = cells[-1]
        traj = cell.run(below, h0=h0[..., _cell_slice(cells)])
    name = getattr(getattr(cell, "activation", None), "name", None)
    if name is not None:
        source.setdefault("activation", name)
    top = cell.cells[-1] if isinstance(cell, Stack) else cell
    hidden = getattr(top, "hidden_size", top.n)
    network = {"cell": _cli_spelling(cell_class(kind).cell_name), "hidden_size": hidden, **source,
               "steps": args.steps, "input_scale": args.input_scale, "seed": args.seed}
    return cell, traj, network


def _cell_slice(cells):
    """Where the last of ``cells`` sits in the state of their stack."""
    start = sum(c.n for c in cells[:-1])
    return slice(start, start + cells[-1].n)


def _describe(network):
    """One line describing the network of a command, for the table header."""
    def num(x):
        return f"{x:g}" if isinstance(x, numbers.Real) else str(x)

    parts = [f"{network['cell']} n={network['hidden_size']}"]
    if "layers" in network:
        parts.append(f"weights {network['weights']} ({network['layers']} layers as one system)")
    elif "driven_by" in network:
        parts.append(f"weights {network['weights']} (layer {network['layer']}, driven by "
                     f"{network['driven_by']})")
    elif "weights" in network:
        parts.append(f"weights {network['weights']} (layer {network['layer']})")
    elif "init" in network:
        parts.append(f"{network['init']}(gain={num(network.get('gain'))})")
    elif "gain" in network:
        parts.append(f"random(gain={num(network['gain'])})")
    if "activation" in network:
        parts.append(network["activation"])
    if "alpha" in network:
        parts.append(f"alpha={num(network['alpha'])}")
    parts.append(f"T={network['steps']}, seed={network['seed']}")
    return " ".join(parts[:-1]) + ", " + parts[-1]


def _simple_parts(cell):
    """(W, activation, alpha) of a cell of the classic form (its ``recurrence()``), or None."""
    rec = cell.recurrence() if hasattr(cell, "recurrence") else None
    if rec is None:
        return None
    return rec.W, rec.activation, rec.alpha
