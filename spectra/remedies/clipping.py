"""Gradient clipping by norm (Pascanu et al. 2013; seed text eq. 13) and by value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._core.results import Result
from .._core.validation import as_array, check_real, describe

__all__ = ["ClippedGradient", "clip_by_norm", "clip_by_value"]


@dataclass(frozen=True, repr=False)
class ClippedGradient(Result):
    """A clipped gradient and what clipping did to its size and direction.

    Attributes
    ----------
    gradient : ndarray, list of ndarray, or dict of ndarray
        The clipped gradient, in the structure it was given.
    norm : float
        ``||g||``: the Euclidean norm of all entries together (the global
        norm over a list or dict of arrays).
    clipped_norm : float
        The norm after clipping.
    scale : float
        Norm clipping: the factor applied to every entry (``clipped = scale g``
        exactly).  Value clipping: ``clipped_norm / norm``.  1 when nothing
        changed.
    cosine : float
        Cosine between the clipped and the original gradient: 1 for norm
        clipping, which keeps the direction; at most 1 for value clipping
        (1 when nothing changed, including a zero gradient).
    clipped : bool
        Whether anything changed.
    fraction_clipped : float
        Fraction of the entries that changed (all of them or none for norm
        clipping).
    method : str
        "norm" or "value".
    """

    gradient: Any
    norm: float
    clipped_norm: float
    scale: float
    cosine: float
    clipped: bool
    fraction_clipped: float
    method: str


def _parts(g, name="g"):
    """(list of float64 arrays, rebuild function) for an array, a sequence or a dict of arrays."""
    if isinstance(g, dict):
        if not g:
            raise ValueError(f"`{name}` must contain at least one array; got an empty dict")
        keys = list(g)
        arrs = [as_array(g[k], f"{name}[{k!r}]") for k in keys]
        return arrs, (lambda xs: dict(zip(keys, xs)))
    if isinstance(g, (list, tuple)):
        if not g:
            raise ValueError(f"`{name}` must contain at least one array; got an empty {type(g).__name__}")
        if all(np.isscalar(v) and not isinstance(v, (str, bytes)) for v in g):
            arr = as_array(g, name)
            return [arr], (lambda xs: xs[0])
        arrs = [as_array(v, f"{name}[{i}]") for i, v in enumerate(g)]
        return arrs, (lambda xs: list(xs))
    if isinstance(g, (str, bytes)) or g is None:
        raise TypeError(f"`{name}` must be an array, a list of arrays or a dict of arrays; "
                        f"got {describe(g)}")
    return [as_array(g, name)], (lambda xs: xs[0])


def _global_norm(arrs) -> float:
    """Euclidean norm of all entries, without overflow or underflow of the squares."""
    m = max((float(np.max(np.abs(a))) if a.size else 0.0) for a in arrs)
    if m == 0.0:
        return 0.0
    return m * float(np.sqrt(sum(float(np.sum((a / m) ** 2)) for a in arrs)))


def _inner(xs, ys) -> float:
    m = max((float(np.max(np.abs(a))) if a.size else 0.0) for a in xs)
    p = max((float(np.max(np.abs(a))) if a.size else 0.0) for a in ys)
    if m == 0.0 or p == 0.0:
        return 0.0
    return m * p * sum(float(np.sum((a / m) * (b / p))) for a, b in zip(xs, ys))


def _cosine(xs, ys, nx, ny) -> float:
    if nx == 0.0 or ny == 0.0:
        return 1.0 if nx == ny else 0.0
    return float(np.clip(_inner(xs, ys) / (nx * ny), -1.0, 1.0))


def clip_by_norm(g, threshold) -> ClippedGradient:
    """Norm clipping: ``g <- threshold g / ||g||`` when ``||g|| >= threshold``.

    Seed text eq. (13) (Pascanu, Mikolov & Bengio 2013, algorithm 1).  The
    norm is the global Euclidean norm of all arrays together (as in
    ``torch.nn.utils.clip_grad_norm_``); every array is scaled by the same
    factor, so the direction of the update is kept and only its size
    changes.

    Parameters
    ----------
    g : array_like, sequence of array_like, or dict of array_like
        The gradient (one array, or one per parameter).
    threshold : float
        The largest norm allowed, > 0.

    Returns
    -------
    ClippedGradient
        The clipped gradient has norm ``min(||g||, threshold)``; the scale
        factor is nudged down by an ulp where rounding would otherwise leave
        the computed norm a hair above the threshold, so
        ``clipped_norm <= threshold`` holds exactly.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> res = spectra.clip_by_norm(np.array([3.0, 4.0]), 1.0)
    >>> res.gradient, res.norm, res.cosine
    (array([0.6, 0.8]), 5.0, 1.0)
    """
    arrs, rebuild = _parts(g)
    threshold = check_real(threshold, "threshold", low=0.0, low_open=True)
    norm = _global_norm(arrs)
    if norm < threshold or norm == 0.0:
        out = [a.copy() for a in arrs]
        return ClippedGradient(rebuild(out), norm, norm, 1.0, 1.0, False, 0.0, "norm")
    scale = threshold / norm
    out = [a * scale for a in arrs]
    new = _global_norm(out)
    while new > threshold:      # rounding: at most a few ulps
        scale = float(np.nextafter(scale, 0.0))
        out = [a * scale for a in arrs]
        new = _global_norm(out)
    changed = scale != 1.0
    frac = (sum(int(np.count_nonzero(a)) for a in arrs) / max(sum(a.size for a in arrs), 1)
            if changed else 0.0)
    return ClippedGradient(rebuild(out), norm, new, scale, 1.0, changed, frac, "norm")


def clip_by_value(g, limit) -> ClippedGradient:
    """Value clipping: every entry clipped to ``[-limit, limit]``.

    Unlike norm clipping this changes the direction of the update: the
    large entries are cut and the small ones kept, so the update turns
    towards the coordinate directions of the small entries.  It never
    flips the sign of an entry, and ``c_i g_i >= c_i^2`` entrywise, so
    ``cosine >= ||clip(g)|| / ||g||`` and ``||clip(g)|| <= limit sqrt(size)``.

    Parameters
    ----------
    g : array_like, sequence of array_like, or dict of array_like
    limit : float
        The largest absolute value allowed, > 0.

    Returns
    -------
    ClippedGradient

    Examples
    --------
    >>> import numpy as np, spectra
    >>> res = spectra.clip_by_value(np.array([3.0, 0.5]), 1.0)
    >>> res.gradient, round(res.cosine, 4)
    (array([1. , 0.5]), 0.9558)
    """
    arrs, rebuild = _parts(g)
    limit = check_real(limit, "limit", low=0.0, low_open=True)
    out = [np.clip(a, -limit, limit) for a in arrs]
    norm, new = _global_norm(arrs), _global_norm(out)
    changed = sum(int(np.count_nonzero(np.abs(a) > limit)) for a in arrs)
    total = max(sum(a.size for a in arrs), 1)
    cos = 1.0 if changed == 0 else _cosine(out, arrs, new, norm)
    scale = new / norm if norm > 0 else 1.0
    return ClippedGradient(rebuild(out), norm, new, scale, cos, changed > 0, changed / total, "value")


# 0.1 names
ClipResult = ClippedGradient
