"""Weight initialisers.

Every initialiser takes the shape as ``(n, m=None)`` (an ``n x m`` matrix,
square when ``m`` is omitted; rows are outputs, columns inputs, so
``fan_in = m`` and ``fan_out = n``) and the keyword-only options ``gain``,
``rng`` and ``dtype``.  ``rng`` accepts an int seed, a
``numpy.random.Generator`` or None; the same seed gives the same matrix.

Examples
--------
>>> import numpy as np
>>> from spectra import init
>>> Q = init.orthogonal(4, rng=0)
>>> bool(np.allclose(Q.T @ Q, np.eye(4)))
True
>>> init.gaussian(3, rng=1).shape
(3, 3)
"""

from __future__ import annotations

import math

import numpy as np

from .._core.validation import as_generator, check_dtype, check_int, check_real, check_choice

__all__ = [
    "orthogonal",
    "gaussian",
    "xavier_normal",
    "xavier_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "echo_state",
    "scale_to_spectral_radius",
]

#: Names of the square recurrent initialisers, as accepted by ``Cell.random(init=...)``
#: and the CLI's ``--init``.
INITIALIZERS = ("gaussian", "orthogonal", "xavier_normal", "xavier_uniform", "he_normal",
                "he_uniform", "identity", "echo_state")


def _shape(n, m):
    n = check_int(n, "n", minimum=1)
    m = n if m is None else check_int(m, "m", minimum=1)
    return n, m


def _gain(gain):
    return check_real(gain, "gain")


def orthogonal(n, m=None, *, gain=1.0, rng=None, dtype=np.float64):
    """Haar-distributed orthogonal matrix (or matrix with orthonormal rows/columns).

    Parameters
    ----------
    n, m : int
        Shape ``(n, m)``; square when ``m`` is None.  For ``n >= m`` the
        columns are orthonormal, for ``n < m`` the rows.
    gain : float
        Multiplier applied to the result.
    rng : int, Generator or None
    dtype : float32 or float64

    Notes
    -----
    The Q factor of a Gaussian matrix is *not* Haar distributed: LAPACK's
    Householder QR fixes the signs of R's diagonal by convention, which biases
    Q.  Multiplying column j of Q by ``sign(R_jj)`` makes the factorisation
    unique (R with positive diagonal) and Q exactly Haar (Mezzadri 2007, "How
    to generate random matrices from the classical compact groups").

    Examples
    --------
    >>> import numpy as np
    >>> from spectra import init
    >>> Q = init.orthogonal(3, 5, rng=0)
    >>> bool(np.allclose(Q @ Q.T, np.eye(3)))
    True
    """
    n, m = _shape(n, m)
    gain = _gain(gain)
    dtype = check_dtype(dtype)
    gen = as_generator(rng)
    tall = n >= m
    rows, cols = (n, m) if tall else (m, n)
    z = gen.standard_normal((rows, cols))
    q, r = np.linalg.qr(z)
    d = np.sign(np.diagonal(r))
    d[d == 0] = 1.0  # probability zero, but keep q orthogonal
    q = q * d[np.newaxis, :]
    if not tall:
        q = q.T
    return (gain * q).astype(dtype, copy=False)


def gaussian(n, m=None, *, gain=1.0, rng=None, dtype=np.float64):
    """Entries i.i.d. N(0, gain^2 / fan_in), fan_in = m.

    With ``gain = g`` a square Gaussian matrix has spectral radius close to
    ``g`` for large n (the circular law), and ``||W||_2`` close to ``2 g``.
    """
    n, m = _shape(n, m)
    gain = _gain(gain)
    dtype = check_dtype(dtype)
    gen = as_generator(rng)
    return (gen.standard_normal((n, m)) * (gain / math.sqrt(m))).astype(dtype, copy=False)


def xavier_normal(n, m=None, *, gain=1.0, rng=None, dtype=np.float64):
    """Glorot & Bengio (2010): N(0, gain^2 * 2 / (fan_in + fan_out))."""
    n, m = _shape(n, m)
    gain = _gain(gain)
    dtype = check_dtype(dtype)
    std = gain * math.sqrt(2.0 / (n + m))
    return (as_generator(rng).standard_normal((n, m)) * std).astype(dtype, copy=False)


def xavier_uniform(n, m=None, *, gain=1.0, rng=None, dtype=np.float64):
    """Glorot & Bengio (2010): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    n, m = _shape(n, m)
    gain = _gain(gain)
    dtype = check_dtype(dtype)
    a = gain * math.sqrt(6.0 / (n + m))
    return as_generator(rng).uniform(-a, a, size=(n, m)).astype(dtype, copy=False)


def _he_std(n, m, gain, negative_slope, mode):
    slope = check_real(negative_slope, "negative_slope")
    check_choice(mode, "mode", ("fan_in", "fan_out"))
    fan = m if mode == "fan_in" else n
    return gain * math.sqrt(2.0 / ((1.0 + slope * slope) * fan))


def he_normal(n, m=None, *, gain=1.0, negative_slope=0.0, mode="fan_in", rng=None,
              dtype=np.float64):
    """He et al. (2015): N(0, 2 gain^2 / ((1 + slope^2) fan)).

    ``negative_slope`` is the slope of a leaky ReLU (0 for ReLU); ``mode``
    chooses fan_in (preserves forward variance) or fan_out (backward).
    """
    n, m = _shape(n, m)
    std = _he_std(n, m, _gain(gain), negative_slope, mode)
    dtype = check_dtype(dtype)
    return (as_generator(rng).standard_normal((n, m)) * std).astype(dtype, copy=False)


def he_uniform(n, m=None, *, gain=1.0, negative_slope=0.0, mode="fan_in", rng=None,
               dtype=np.float64):
    """He et al. (2015): U(-a, a) with the variance of :func:`he_normal`, a = sqrt(3) std."""
    n, m = _shape(n, m)
    a = math.sqrt(3.0) * _he_std(n, m, _gain(gain), negative_slope, mode)
    dtype = check_dtype(dtype)
    return as_generator(rng).uniform(-a, a, size=(n, m)).astype(dtype, copy=False)


def identity(n, m=None, *, gain=1.0, rng=None, dtype=np.float64):
    """``gain`` times the identity (rectangular: ones on the main diagonal).

    ``rng`` is accepted for a uniform signature and ignored (Le et al. 2015
    use the identity to initialise ReLU RNNs, "IRNN").
    """
    n, m = _shape(n, m)
    gain = _gain(gain)
    dtype = check_dtype(dtype)
    if rng is not None:
        as_generator(rng)  # validate only
    return (gain * np.eye(n, m)).astype(dtype, copy=False)


def scale_to_spectral_radius(W, spectral_radius):
    """Return ``W`` rescaled so that its spectral radius is ``spectral_radius``.

    Raises ValueError when ``W`` is nilpotent (spectral radius 0: no
    rescaling can reach a positive target).
    """
    from .._core.validation import as_matrix

    W = as_matrix(W, "W", square=True)
    target = check_real(spectral_radius, "spectral_radius", low=0.0)
    rho = float(np.max(np.abs(np.linalg.eigvals(W))))
    scale = np.max(np.abs(W)) if W.size else 0.0
    if rho <= 1e-12 * max(scale, np.finfo(float).tiny) * W.shape[0]:
        raise ValueError(f"`W` has spectral radius {rho:.3g} (numerically nilpotent); "
                         "it cannot be rescaled to a positive spectral radius")
    return W * (target / rho)


def echo_state(n, *, spectral_radius=0.95, density=1.0, distribution="uniform", rng=None,
               dtype=np.float64):
    """Echo-state reservoir matrix (Jaeger 2001) with an exact spectral radius.

    Parameters
    ----------
    n : int
        Reservoir size.
    spectral_radius : float
        Target spectral radius (below 1 for the usual echo-state property
        with tanh units; see :func:`spectra.regime`).
    density : float in (0, 1]
        Fraction of non-zero entries.
    distribution : {"uniform", "normal"}
        Distribution of the non-zero entries before rescaling.
    rng : int, Generator or None

    Raises
    ------
    ValueError
        If the sparsity pattern drawn is nilpotent (too sparse for ``n``);
        increase ``density``.
    """
    n = check_int(n, "n", minimum=1)
    check_real(spectral_radius, "spectral_radius", low=0.0)
    density = check_real(density, "density", low=0.0, high=1.0, low_open=True)
    check_choice(distribution, "distribution", ("uniform", "normal"))
    dtype = check_dtype(dtype)
    gen = as_generator(rng)
    if distribution == "uniform":
        W = gen.uniform(-1.0, 1.0, size=(n, n))
    else:
        W = gen.standard_normal((n, n))
    if density < 1.0:
        W = W * (gen.random((n, n)) < density)
    try:
        W = scale_to_spectral_radius(W, spectral_radius)
    except ValueError:
        raise ValueError(f"the reservoir drawn with `density`={density} for n={n} is nilpotent "
                         "(spectral radius 0); increase `density`") from None
    return W.astype(dtype, copy=False)
