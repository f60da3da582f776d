"""Matrices to experiment with: random non-normal matrices and normal counterparts.

:func:`random_nonnormal` (``W = Q (D + N) Q^T``: a prescribed spectral radius
and a tunable strictly upper triangular part) and :func:`normal_counterpart`
(the normal matrix with the same eigenvalues and Schur vectors as W, which has
no transient growth).
"""

from __future__ import annotations

import math

import numpy as np

from .._core.validation import as_generator, check_int, check_real
from ._common import square_matrix

__all__ = ["normal_counterpart", "random_nonnormal"]


def normal_counterpart(W) -> np.ndarray:
    """The real normal matrix with the same eigenvalues and Schur vectors as W.

    Parameters
    ----------
    W : (n, n) array_like

    Returns
    -------
    (n, n) ndarray
        ``Z D Z^T`` where ``W = Z (D + N) Z^T`` is the real Schur form and D
        keeps its 1 x 1 blocks and replaces each 2 x 2 block by the normal
        block ``[[a, b], [-b, a]]`` with the same eigenvalues ``a +- i b``.

    Notes
    -----
    The result has the spectrum of W and no transient growth
    (``||W_N^t|| = rho^t``), so plotting :func:`transient_growth` of both
    shows what non-normality alone does.  It is not the nearest normal
    matrix in general (that is a harder problem, Ruhe 1987).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> A = np.array([[0.5, 10.0], [0.0, 0.5]])
    >>> spectra.normal_counterpart(A)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    from scipy.linalg import schur

    W = square_matrix(W)
    Tr, Z = schur(W, output="real")
    n = W.shape[0]
    D = np.zeros_like(Tr)
    i = 0
    while i < n:
        if i + 1 < n and Tr[i + 1, i] != 0.0:
            lam = np.linalg.eigvals(Tr[i:i + 2, i:i + 2])
            a, b = float(np.mean(lam.real)), float(np.max(np.abs(lam.imag)))
            D[i:i + 2, i:i + 2] = [[a, b], [-b, a]]
            i += 2
        else:
            D[i, i] = Tr[i, i]
            i += 1
    return Z @ D @ Z.T


def random_nonnormal(n, *, spectral_radius=0.9, coupling=1.0, rng=None) -> np.ndarray:
    """A random real matrix with a prescribed spectral radius and tunable non-normality.

    ``W = Q (D + N) Q^T``: Q Haar-orthogonal, D block diagonal with
    eigenvalues uniform in the disc of radius ``spectral_radius`` (conjugate
    pairs as normal 2 x 2 blocks, one real eigenvalue when n is odd; scaled
    so the largest modulus is exactly ``spectral_radius``), N strictly upper
    block triangular with i.i.d. ``N(0, coupling^2 / n)`` entries.

    Parameters
    ----------
    n : int
    spectral_radius : float
        rho(W) (>= 0).
    coupling : float
        Scale of the non-normal part N (>= 0); ``coupling = 0`` gives a normal
        matrix, and the same ``rng`` seed gives the same Q and D for every
        coupling, so ``coupling=0`` is the normal matrix with W's spectrum.
    rng : int, Generator or None

    Returns
    -------
    (n, n) ndarray

    Notes
    -----
    The eigenvalues do not depend on ``coupling``; ``||W||``, the departure
    from normality (``||N||_F``, about ``coupling sqrt(n/2)``) and the
    transient growth do.  This is the Schur-form parametrisation used for
    non-normal recurrent networks (Kerg et al. 2019, nnRNN).

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = spectra.random_nonnormal(6, spectral_radius=0.8, coupling=2.0, rng=0)
    >>> round(float(np.max(np.abs(np.linalg.eigvals(W)))), 12)
    0.8
    """
    from ..cells import init

    n = check_int(n, "n", minimum=1)
    radius = check_real(spectral_radius, "spectral_radius", low=0.0)
    coupling = check_real(coupling, "coupling", low=0.0)
    gen = as_generator(rng)
    pairs, odd = divmod(n, 2)
    mod = np.sqrt(gen.uniform(0.0, 1.0, pairs))
    ang = gen.uniform(0.0, math.pi, pairs)
    real = gen.uniform(-1.0, 1.0, odd)
    biggest = max(np.max(mod, initial=0.0), np.max(np.abs(real), initial=0.0))
    scale = radius / biggest if biggest > 0 else 0.0
    D = np.zeros((n, n))
    for p in range(pairs):
        a, b = scale * mod[p] * math.cos(ang[p]), scale * mod[p] * math.sin(ang[p])
        D[2 * p:2 * p + 2, 2 * p:2 * p + 2] = [[a, b], [-b, a]]
    if odd:
        D[-1, -1] = scale * real[0]
    N = gen.standard_normal((n, n)) * (coupling / math.sqrt(n))
    blocks = np.minimum(np.arange(n) // 2, pairs)          # block index of each row/column
    N[blocks[:, None] >= blocks[None, :]] = 0.0
    Q = init.orthogonal(n, rng=gen)
    return Q @ (D + N) @ Q.T
