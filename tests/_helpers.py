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


def make_instrumented(seq):
    """Wrap a JacobianSequence: count calls, and check every operand for
    non-finite or subnormal entries (subnormals make BLAS ~200x slower)."""
    import spectra

    base = spectra.as_jacobian_sequence(seq)
    tiny = np.finfo(np.float64).tiny

    class Instrumented(spectra.JacobianSequence):
        def __init__(self):
            self.steps = base.steps
            self.batch_shape = base.batch_shape
            self.dtype = base.dtype
            self.calls = {"matrix": 0, "matrices": 0, "matmat": 0, "rmatmat": 0}
            self.subnormal_operands = 0

        def _check(self, a, operand=True):
            a = np.asarray(a)
            assert np.all(np.isfinite(a)), "non-finite operand"
            if operand:  # what BLAS multiplies with; a rare subnormal result is transient
                self.subnormal_operands += int(np.count_nonzero((a != 0) & (np.abs(a) < tiny)))

        def step_shape(self, t):
            return base.step_shape(t)

        @property
        def is_square(self):
            return base.is_square

        def logabsdet(self, t):
            return base.logabsdet(t)

        def matrix(self, t):
            self.calls["matrix"] += 1
            out = base.matrix(t)
            self._check(out)
            return out

        def matrices(self, start=1, stop=None):
            self.calls["matrices"] += 1
            return base.matrices(start, stop)

        def matmat(self, t, X):
            self.calls["matmat"] += 1
            self._check(X)
            out = base.matmat(t, X)
            self._check(out, operand=False)
            return out

        def rmatmat(self, t, Y):
            self.calls["rmatmat"] += 1
            self._check(Y)
            out = base.rmatmat(t, Y)
            self._check(out, operand=False)
            return out

    return Instrumented()


def torch_tanh_step(n, m, gain=1.2, seed=0):
    """A torch step h -> tanh(W h + U x) (float64) and its W, for TorchCell tests.

    Its step Jacobian is diag(1 - h_t^2) W in closed form.
    """
    import torch

    rng = np.random.default_rng(seed)
    W = gain * rng.standard_normal((n, n)) / np.sqrt(n)
    U = rng.standard_normal((n, m)) / np.sqrt(m)
    Wt, Ut = torch.tensor(W), torch.tensor(U)

    def step(h, x):
        return torch.tanh(Wt @ h + Ut @ x)

    return step, W
