"""Reading gradients: arrays, sequences and torch modules to named float64 arrays, and their norms.

Torch is never imported: a module is read through ``named_parameters()`` and
a tensor through :mod:`spectra._core.interop` (duck typing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .._core.interop import is_tensor, tensor_to_numpy
from .._core.validation import describe

__all__ = ["to_numpy", "named_arrays", "safe_norm", "combine_norms"]


def to_numpy(x, name):
    """A float64 numpy copy of an array or tensor; non-finite values are kept (they are data here)."""
    if is_tensor(x):
        x = tensor_to_numpy(x, upcast=True, name=name)
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"`{name}` must be an array of real numbers; got {describe(x)}")
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise ValueError(f"`{name}` must be a rectangular array of real numbers; could not convert "
                         f"{describe(x)} ({exc})") from exc
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be an array of real numbers; got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def named_arrays(obj, what, *, grads):
    """[(name, array)] from a mapping, a sequence, (name, array) pairs or a torch module.

    With ``grads``, a module gives the ``.grad`` of each parameter that has
    one; otherwise its 2-D parameters (the weight matrices).
    """
    if obj is None:
        return []
    if callable(getattr(obj, "named_parameters", None)):  # a torch module, or anything like it
        out = []
        for name, p in obj.named_parameters():
            if grads:
                g = getattr(p, "grad", None)
                if g is not None:
                    out.append((name, to_numpy(g, f"{what}[{name!r}]")))
            elif len(getattr(p, "shape", ())) == 2:
                out.append((name, to_numpy(p, f"{what}[{name!r}]")))
        return out
    if isinstance(obj, Mapping):
        return [(str(k), to_numpy(v, f"{what}[{k!r}]")) for k, v in obj.items()]
    if isinstance(obj, np.ndarray) or is_tensor(obj):
        return [("0", to_numpy(obj, what))]
    if isinstance(obj, (str, bytes)) or not hasattr(obj, "__iter__"):
        raise TypeError(f"`{what}` must be a dict of arrays, a sequence of arrays or a torch module "
                        f"(its parameters); got {describe(obj)}")
    out = []
    for i, item in enumerate(obj):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            out.append((item[0], to_numpy(item[1], f"{what}[{item[0]!r}]")))
        else:
            out.append((str(i), to_numpy(item, f"{what}[{i}]")))
    return out


def safe_norm(a):
    """Frobenius norm without overflow or underflow for finite entries; NaN/inf propagate."""
    if a.size == 0:
        return 0.0
    if not np.all(np.isfinite(a)):
        return float("nan") if np.any(np.isnan(a)) else float("inf")
    m = float(np.max(np.abs(a)))
    if m == 0.0:
        return 0.0
    return m * float(np.sqrt(np.sum(np.square(a / m))))


def combine_norms(norms):
    """The global norm from per-array norms (overflow-free)."""
    vals = list(norms)
    if any(math.isnan(v) for v in vals):
        return float("nan")
    if any(math.isinf(v) for v in vals):
        return float("inf")
    m = max(vals, default=0.0)
    if m == 0.0:
        return 0.0
    return m * math.sqrt(sum((v / m) ** 2 for v in vals))
