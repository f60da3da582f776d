"""Input validation shared by every public routine.

Each public function validates its arguments once, at the boundary, with the
helpers below.  Messages follow one pattern: the argument's name in
backticks, what was expected, and what was seen, e.g.
"`W_hh` must be a square matrix; got shape (4, 3)".  Wrong types raise
TypeError, wrong values or shapes ValueError.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from .interop import is_tensor, tensor_to_numpy

__all__ = [
    "as_generator",
    "as_matrix",
    "as_vector",
    "as_array",
    "check_choice",
    "check_int",
    "check_real",
    "check_dtype",
    "describe",
]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def describe(value) -> str:
    """Short description of a value for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Return ``dtype`` as float32 or float64, or raise."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"`{name}` must be a numpy float dtype; got {describe(dtype)}") from exc
    if dt not in _FLOAT_DTYPES:
        raise ValueError(f"`{name}` must be float32 or float64; got {dt}")
    return dt


def as_array(value, name: str, *, dtype=np.float64, ndim=None, allow_empty=True) -> np.ndarray:
    """Convert ``value`` to a finite real floating array.

    Parameters
    ----------
    value : array_like
        The input.
    name : str
        Argument name used in error messages.
    dtype : dtype
        Target float dtype.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    allow_empty : bool
        Whether arrays with a zero-length axis are allowed.
    """
    if value is None:
        raise TypeError(f"`{name}` must be an array of real numbers; got None")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"`{name}` must be an array of real numbers; got {describe(value)}")
    if is_tensor(value):
        value = tensor_to_numpy(value, name=name)
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested sequences and the like
        raise ValueError(f"`{name}` must be a rectangular array of real numbers; "
                         f"could not convert {describe(value)} ({exc})") from exc
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "c":
            raise TypeError(f"`{name}` must be real; got complex dtype {arr.dtype}")
        raise TypeError(f"`{name}` must be an array of real numbers; got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"`{name}` must be {want}; got {arr.ndim}-D array of shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {arr.shape}")
    src = arr
    with np.errstate(over="ignore"):
        arr = np.asarray(arr, dtype=dtype)
    if not np.all(np.isfinite(arr)):
        if src.dtype.kind != "f" or np.all(np.isfinite(src)):   # finite, but not in `dtype`
            top = float(np.max(np.abs(src)))
            raise ValueError(f"`{name}` has entries beyond the {arr.dtype} range (largest |x| = "
                             f"{top:.3g} > {np.finfo(arr.dtype).max:.3g}); pass dtype=float64 or "
                             "rescale")
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"`{name}` must be finite; got {bad} non-finite "
                         f"entr{'y' if bad == 1 else 'ies'} (NaN or inf)")
    if arr.dtype != src.dtype and arr.dtype.itemsize < src.dtype.itemsize and src.size:
        top = float(np.max(np.abs(src)))
        if 0.0 < top < float(np.finfo(arr.dtype).tiny):     # every entry rounds to 0 or subnormal
            raise ValueError(f"`{name}` has entries too small for {arr.dtype} (largest |x| = "
                             f"{top:.3g} < {np.finfo(arr.dtype).tiny:.3g}): they would round to "
                             "zero; pass dtype=float64 or rescale")
    return arr


def as_matrix(value, name: str, *, square=False, rows=None, cols=None, dtype=np.float64,
              allow_empty=False) -> np.ndarray:
    """A finite real 2-D array, optionally square or of given rows/cols."""
    arr = as_array(value, name, dtype=dtype)
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D matrix; got {arr.ndim}-D array of shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {arr.shape}")
    if square and arr.shape[0] != arr.shape[1]:
        raise ValueError(f"`{name}` must be a square matrix; got shape {arr.shape}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"`{name}` must have {rows} rows; got shape {arr.shape}")
    if cols is not None and arr.shape[1] != cols:
        raise ValueError(f"`{name}` must have {cols} columns; got shape {arr.shape}")
    return arr


def as_vector(value, name: str, *, size=None, dtype=np.float64) -> np.ndarray:
    """A finite real 1-D array, optionally of a given length."""
    arr = as_array(value, name, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D vector; got {arr.ndim}-D array of shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"`{name}` must have length {size}; got length {arr.shape[0]}")
    return arr


def check_int(value, name: str, *, minimum=None, maximum=None, allow_none=False):
    """An integer (not bool) within [minimum, maximum]."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer; got {describe(value)}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}; got {value}")
    return value


def check_real(value, name: str, *, low=None, high=None, low_open=False, high_open=False,
               allow_none=False):
    """A finite real number within the given interval."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value}")
    lo_bracket = "(" if low_open else "["
    hi_bracket = ")" if high_open else "]"
    interval = f"{lo_bracket}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi_bracket}"
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"`{name}` must be in {interval}; got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"`{name}` must be in {interval}; got {value}")
    return value


def check_choice(value, name: str, choices):
    """One of a fixed set of strings."""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string, one of {sorted(choices)}; got {describe(value)}")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}; got {value!r}")
    return value


def as_generator(rng, name: str = "rng") -> np.random.Generator:
    """A numpy Generator from an int seed, a Generator, a SeedSequence or None."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"`{name}` must be an int seed, a numpy.random.Generator or None; "
                        f"got {describe(rng)}")
    if rng < 0:
        raise ValueError(f"`{name}` seed must be non-negative; got {rng}")
    return np.random.default_rng(int(rng))
