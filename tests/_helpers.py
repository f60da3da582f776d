"""Independent references used across the tests."""

import numpy as np


def central_difference_jacobian(fun, x, h=1e-6):
    """Jacobian of ``fun`` at ``x`` by central differences, numerator layout.

    Step ``h`` scaled by max(1, |x_j|); error O(h^2 f''') + O(eps / h).
    """
    x = np.asarray(x, dtype=np.float64)
    f0 = np.asarray(fun(x))
    J = np.empty((f0.size, x.size))
    for j in range(x.size):
        step = h * max(1.0, abs(x[j]))
        e = np.zeros_like(x)
        e[j] = step
        J[:, j] = (np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * step)
    return J


def relative_error(A, B):
    """||A - B||_F / max(||B||_F, tiny)."""
    A = np.asarray(A)
    B = np.asarray(B)
    return float(np.linalg.norm(A - B) / max(np.linalg.norm(B), 1e-300))
