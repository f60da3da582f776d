"""Lyapunov exponents of a sequence of step Jacobians (Benettin et al. 1980)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._graded import flush_subnormals
from ._jacobians import as_jacobian_sequence
from ._validation import as_generator, check_int

__all__ = ["lyapunov_spectrum", "LyapunovResult"]

_BLOCKS = 20  # block averages for the standard errors


@dataclass(frozen=True)
class LyapunovResult:
    """Lyapunov exponents with standard errors and running estimates.

    Attributes
    ----------
    exponents : (k,) or (B, k) ndarray
        Per-step exponents, largest first (natural log).
    stderr : same shape as ``exponents``
        Standard errors from block averages (``inf`` when fewer than two
        blocks exist; 0 for an exponent that is exactly ``-inf``).
    running : (m, k) or (B, m, k) ndarray
        The estimates after each re-orthonormalisation (cumulative means).
    running_steps : (m,) int ndarray
        The number of averaged steps behind each row of ``running``.
    steps : int
        Steps averaged (T - warmup).
    warmup : int
        Steps discarded at the start.
    reorth_every : int
        Steps between QR re-orthonormalisations.
    """

    exponents: np.ndarray
    stderr: np.ndarray
    running: np.ndarray
    running_steps: np.ndarray
    steps: int
    warmup: int
    reorth_every: int

    @property
    def max(self):
        """The largest exponent."""
        return self.exponents[..., 0]

    @property
    def kaplan_yorke_dimension(self):
        """Kaplan-Yorke (Lyapunov) dimension j + sum_{i<=j} lambda_i / |lambda_{j+1}|.

        j is the largest index whose partial sum of exponents is >= 0; the
        dimension is the number of exponents computed when all partial sums
        are >= 0 (compute the full spectrum for a meaningful value).
        """
        lam = np.atleast_2d(self.exponents)
        out = np.empty(lam.shape[0])
        for i, row in enumerate(lam):
            c = np.cumsum(row)
            nonneg = np.nonzero(c >= 0)[0]
            if nonneg.size == 0:
                out[i] = 0.0
            elif nonneg[-1] == row.size - 1:
                out[i] = float(row.size)
            else:
                j = nonneg[-1]
                out[i] = (j + 1) + c[j] / abs(row[j + 1])
        return out[0] if self.exponents.ndim == 1 else out

    def to_dict(self) -> dict:
        """Plain Python values (lists of floats; -inf stays a float)."""
        return {"exponents": self.exponents.tolist(), "stderr": self.stderr.tolist(),
                "steps": self.steps, "warmup": self.warmup, "reorth_every": self.reorth_every,
                "running": self.running.tolist(), "running_steps": self.running_steps.tolist()}


def lyapunov_spectrum(J, *, k=None, reorth_every=1, warmup=0, rng=None) -> LyapunovResult:
    """Lyapunov exponents of ``J_T ... J_1`` by repeated QR (Benettin et al. 1980).

    Parameters
    ----------
    J : Trajectory, JacobianSequence, (T, n, n) or (B, T, n, n) array_like, or sequence of matrices
        Square step Jacobians.
    k : int, optional
        Number of exponents (default all n).  For k < n the cost is
        O(T n^2 k) through matrix-free products, never forming an n x n
        matrix.
    reorth_every : int
        Steps between QR re-orthonormalisations (1: every step, the
        safest).  Between them the columns are renormalised (exactly, in
        the log domain) so nothing overflows, but they may align: raise it
        only for well-conditioned steps.
    warmup : int
        Steps run before averaging starts, to let the frame align with the
        Oseledets subspaces.
    rng : int, Generator or None
        Draws the random initial frame when ``k < n`` (the identity frame is
        used for the full spectrum).

    Returns
    -------
    LyapunovResult

    Notes
    -----
    With ``Z = J_s Q_{s-1} = Q_s R_s`` the exponents are the averages of
    ``log|diag R_s|`` (Benettin, Galgani, Giorgilli & Strelcyn 1980;
    Shimada & Nagashima 1979).  For the full spectrum their sum is exactly
    the mean of ``log|det J_s|`` (the determinant of a product is the
    product of determinants), an identity the tests check.  Standard errors
    come from 20 contiguous block averages; they assume the blocks are
    longer than the correlation time of the local expansion rates.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> W = np.array([[0.9, 1.0], [0.0, 0.5]])     # a linear RNN: log|eigenvalues|
    >>> res = spectra.lyapunov_spectrum(np.broadcast_to(W, (2000, 2, 2)), warmup=100)
    >>> np.round(res.exponents, 3)
    array([-0.105, -0.693])
    """
    seq = as_jacobian_sequence(J)
    seq.require_square("lyapunov_spectrum")
    T = seq.steps
    n = seq.n if T else 0
    if T == 0:
        raise ValueError("`J` must contain at least one step for Lyapunov exponents")
    k = n if k is None else check_int(k, "k", minimum=1, maximum=n)
    reorth_every = check_int(reorth_every, "reorth_every", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0, maximum=T - 1)
    batch = seq.batch_shape
    if k == n:
        Q = np.broadcast_to(np.eye(n), batch + (n, n)).copy()
    else:
        from .init import orthogonal

        Q = np.broadcast_to(orthogonal(n, k, rng=as_generator(rng)), batch + (n, k)).copy()

    sums, lengths = [], []
    col_log = np.zeros(batch + (k,))
    last = 0
    with np.errstate(divide="ignore", under="ignore"):
        for s in range(1, T + 1):
            Z = np.asarray(seq.matmat(s, Q), dtype=np.float64)
            due = s == T or s == warmup or (
                (s - warmup) % reorth_every == 0 if s > warmup else s % reorth_every == 0)
            if due:
                Q, R = np.linalg.qr(Z)
                flush_subnormals(Q)
                d = np.log(np.abs(np.diagonal(R, axis1=-2, axis2=-1))) + col_log
                col_log = np.zeros(batch + (k,))
                if s > warmup:
                    sums.append(d)
                    lengths.append(s - max(last, warmup))
                last = s
            else:
                norms = np.linalg.norm(Z, axis=-2)
                zero = norms == 0
                Q = flush_subnormals(Z / np.where(zero, 1.0, norms)[..., None, :])
                col_log = col_log + np.where(zero, -np.inf, np.log(np.where(zero, 1.0, norms)))
    sums = np.stack(sums, axis=len(batch))           # (..., m, k)
    lengths = np.asarray(lengths)
    steps = int(lengths.sum())
    cum = np.cumsum(sums, axis=-2)
    cum_len = np.cumsum(lengths)
    running = cum / cum_len[:, None]
    exponents = running[..., -1, :]
    stderr = _block_stderr(sums, lengths, exponents)
    order = np.argsort(-exponents, axis=-1, kind="stable")
    exponents = np.take_along_axis(exponents, order, axis=-1)
    stderr = np.take_along_axis(stderr, order, axis=-1)
    running = np.take_along_axis(running, order[..., None, :], axis=-1)
    return LyapunovResult(exponents, stderr, running, cum_len, steps, warmup, reorth_every)


def _block_stderr(sums, lengths, exponents):
    m = lengths.size
    nb = min(_BLOCKS, m)
    if nb < 2:
        return np.where(exponents == -np.inf, 0.0, np.inf) * np.ones_like(exponents)
    edges = np.linspace(0, m, nb + 1).round().astype(int)
    means = []
    for a, b in zip(edges[:-1], edges[1:]):
        means.append(sums[..., a:b, :].sum(axis=-2) / lengths[a:b].sum())
    means = np.stack(means, axis=-2)                  # (..., nb, k)
    with np.errstate(invalid="ignore"):
        se = np.std(means, axis=-2, ddof=1) / math.sqrt(nb)
    return np.where(exponents == -np.inf, 0.0, se)
