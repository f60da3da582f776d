"""Array and torch interop, in one place.

torch is never imported here: a tensor is recognised by duck typing
(``detach``, ``cpu`` and ``shape``), a module by ``state_dict`` and
``named_modules``/``named_parameters``.  Every other file asks these functions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_tensor", "is_module", "is_meta", "tensor_to_numpy", "to_numpy"]


def is_tensor(x) -> bool:
    """True for a torch tensor (or anything that quacks like one), without importing torch.

    >>> import numpy as np
    >>> is_tensor(np.zeros(3))
    False
    """
    return (not isinstance(x, np.ndarray) and hasattr(x, "detach") and hasattr(x, "cpu")
            and hasattr(x, "shape"))


def is_module(x) -> bool:
    """True for a torch ``nn.Module`` (anything with ``state_dict`` and ``named_parameters``).

    >>> is_module(object())
    False
    """
    return (callable(getattr(x, "state_dict", None))
            and (callable(getattr(x, "named_modules", None))
                 or callable(getattr(x, "named_parameters", None))))


def is_meta(x) -> bool:
    """True for a tensor on torch's meta device (a shape and dtype, no values).

    >>> import numpy as np
    >>> is_meta(np.zeros(3))
    False
    """
    if getattr(x, "is_meta", False) is True:
        return True
    return getattr(getattr(x, "device", None), "type", None) == "meta"


def tensor_to_numpy(t, *, upcast: bool = False, name: str = "value") -> np.ndarray:
    """A numpy array of a tensor on any device and of any float dtype.

    Dtypes numpy lacks (bfloat16, ...) are read as float64; ``upcast`` reads
    half-precision tensors as float32 first, as the gradient monitor does.  A
    tensor on the meta device (no values) raises a ValueError naming ``name``.
    """
    if is_meta(t):
        raise ValueError(f"`{name}` is a tensor on the meta device (shape {tuple(t.shape)}, no "
                         "values); load or materialise its values first (e.g. "
                         "module.to_empty(device='cpu') and load_state_dict(...))")
    t = t.detach()
    if upcast and getattr(t, "is_floating_point", lambda: False)() and t.element_size() < 4:
        t = t.float()      # half precision only: float32 and float64 keep their precision
    t = t.cpu()
    try:
        return t.numpy()
    except TypeError:  # bfloat16 and other dtypes numpy lacks
        return t.double().numpy()


def to_numpy(value, name: str = "value") -> np.ndarray:
    """A numpy array from an array-like or a torch tensor (on any device, any float dtype).

    >>> to_numpy([1.0, 2.0])
    array([1., 2.])
    """
    if is_tensor(value):
        return tensor_to_numpy(value, name=name)
    return np.asarray(value)
