"""Deep feedforward nets: depth profiles, singular-value spectra at depth, mean-field theory.

A feedforward stack is a step map over depth (see :class:`spectra.MLP`), so
the gradient that reaches layer l from the output is carried by
``dh_L/dh_l = J_L ... J_{l+1}``.  This module measures how its norm and its
singular values behave with depth over an *ensemble* (random networks,
inputs, or the examples of a batch), with standard errors, and gives the
predictions to compare them with:

* :func:`mlp_ensemble` draws networks at initialisation and runs them;
* :func:`depth_profile` -> :class:`DepthProfile`: log ||dh_L/dh_{L-lag}||
  for every lag and sample, means, standard errors, fitted slopes;
* :func:`depth_spectra` -> :class:`DepthSpectra`: all singular values of
  dh_d/dh_0 at chosen depths d (dynamical isometry);
* the predictions :func:`mean_field` and :func:`linear_gaussian_spread` live in
  :mod:`spectra.analysis.meanfield`.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .._core.results import Result
from ..jacobians.sequence import JacobianSequence
from ..jacobians.structured import as_jacobian_sequence
from .products import _log_singular_values_at, gradient_norm_profile
from ..jacobians.trajectory import Trajectory
from .._core.validation import (as_array, as_generator, check_choice, check_int, check_real, describe)

__all__ = ["mlp_ensemble", "depth_profile", "DepthProfile", "depth_spectra", "DepthSpectra",
           "SlopeFit", "mean_field", "MeanField", "linear_gaussian_spread"]

from .meanfield import MeanField, linear_gaussian_spread, mean_field  # noqa: E402  (0.1 address)

_QUANTITIES = ("spectral", "fro", "vector")


# ---------------------------------------------------------------------------------------
# ensembles


def mlp_ensemble(widths, *, samples=16, init="xavier_normal", gain=1.0, activation="tanh",
                 residual=False, norm=None, bias_scale=0.0, batch_size=None, input_scale=1.0,
                 rng=None, dtype=np.float64) -> list:
    """Random MLPs at initialisation, each run on a fresh Gaussian input.

    Parameters
    ----------
    widths : sequence of int
        (n_0, ..., n_L).
    samples : int
        Number of independent networks.
    init, gain, activation, residual, norm, bias_scale, dtype
        As for :meth:`spectra.MLP.random`.
    batch_size : int, optional
        Run each network on a batch of this many inputs (needed, >= 2, for
        batch statistics, ``norm="batch"``); None: one input per network.
    input_scale : float
        Inputs are ``input_scale`` times standard Gaussian vectors (per-unit
        second moment ``input_scale**2``).
    rng : int, Generator or None
        One generator draws every network and input in order.

    Returns
    -------
    list of LayerTrajectory
        ``samples`` trajectories: pass them to :func:`depth_profile` or
        :func:`depth_spectra`.

    Examples
    --------
    >>> import spectra
    >>> runs = spectra.mlp_ensemble([16] * 9, samples=4, activation="relu", init="he_normal", rng=0)
    >>> len(runs), runs[0].steps
    (4, 8)
    """
    from ..cells.mlp import MLP

    samples = check_int(samples, "samples", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1, allow_none=True)
    input_scale = check_real(input_scale, "input_scale", low=0.0)
    gen = as_generator(rng)
    out = []
    for _ in range(samples):
        net = MLP.random(widths, init=init, gain=gain, activation=activation, residual=residual,
                         norm=norm, bias_scale=bias_scale, rng=gen, dtype=dtype)
        if net.coupled and (batch_size is None or batch_size < 2):
            raise ValueError(f"batch statistics (norm='batch') need a batch: pass batch_size >= 2; "
                             f"got batch_size={batch_size}")
        shape = (net.widths[0],) if batch_size is None else (batch_size, net.widths[0])
        out.append(net.run(input_scale * gen.standard_normal(shape)))
    return out


def _ensemble(J, name="J"):
    """A list of JacobianSequences from one trajectory/sequence/array or a list of them."""
    if isinstance(J, (list, tuple)) and J and all(
            isinstance(j, (Trajectory, JacobianSequence)) for j in J):
        seqs = [as_jacobian_sequence(j, name=f"{name}[{i}]") for i, j in enumerate(J)]
    elif isinstance(J, (list, tuple)) and not J:
        raise ValueError(f"`{name}` must contain at least one trajectory; got an empty sequence")
    else:
        seqs = [as_jacobian_sequence(J, name=name)]
    depths = {s.steps for s in seqs}
    if len(depths) != 1:
        raise ValueError(f"`{name}`: every member of the ensemble must have the same depth; got "
                         f"depths {sorted(depths)}")
    if seqs[0].steps < 1:
        raise ValueError(f"`{name}` must have at least one layer; got depth 0")
    for s in seqs:
        if len(s.batch_shape) > 1:
            raise ValueError(f"`{name}` may have at most one batch axis; got batch shape {s.batch_shape}")
    return seqs


# ---------------------------------------------------------------------------------------
# slopes


@dataclass(frozen=True, repr=False)
class SlopeFit(Result):
    """A straight line fitted against depth, with its standard error.

    Attributes
    ----------
    slope, stderr : float
        The slope (per layer) and its standard error over the samples.
    intercept : float
    stat : str
        What was fitted (``"mean_log"``, ``"log_mean_square"``, ``"spread"``
        or ``"log_condition"``).
    samples : int
        Independent samples the standard error rests on.
    """

    slope: float
    stderr: float
    intercept: float
    stat: str
    samples: int

    def interval(self, level=0.95) -> tuple:
        """Normal-approximation confidence interval ``(low, high)`` for the slope."""
        level = check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
        z = NormalDist().inv_cdf(0.5 + level / 2)
        return (self.slope - z * self.stderr, self.slope + z * self.stderr)


def _ols_weights(x):
    """c with slope = c @ y for the least-squares line through (x, y)."""
    x = np.asarray(x, dtype=np.float64)
    d = x - x.mean()
    return d / np.dot(d, d)


def _per_sample_slope(x, Y, stat):
    """Fit a line to each row of Y (samples, points); mean slope and its standard error."""
    if x.size < 2:
        raise ValueError("a slope needs at least two depths")
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"cannot fit a slope to {stat}: some samples have non-finite values "
                         "(an exactly zero norm, or an overflow)")
    c = _ols_weights(x)
    slopes = Y @ c
    intercepts = Y.mean(axis=1) - slopes * x.mean()
    S = Y.shape[0]
    se = float(np.std(slopes, ddof=1) / np.sqrt(S)) if S > 1 else float("nan")
    return SlopeFit(float(slopes.mean()), se, float(intercepts.mean()), stat, S)


# ---------------------------------------------------------------------------------------
# depth profiles


def _log_mean_exp(X, axis=0):
    """log mean exp(X) along ``axis``, stably (-inf entries allowed)."""
    m = np.max(X, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(under="ignore", divide="ignore"):
        return np.squeeze(m, axis) + np.log(np.mean(np.exp(X - m), axis=axis))


@dataclass(frozen=True, repr=False)
class DepthProfile(Result):
    """Log norms of dh_L/dh_{L-lag} over an ensemble, for every lag (layers crossed back).

    Attributes
    ----------
    lags : (L,) int ndarray
        1..L: the number of layers between the output and the layer the
        gradient reaches (layer l = L - lag).
    log_norms : (S, L) ndarray
        One row per sample: ``log ||dh_L/dh_{L-lag}||`` (spectral or
        Frobenius norm) or ``log ||v^T dh_L/dh_{L-lag}||`` for a unit vector
        v (``quantity="vector"``).
    quantity : {"spectral", "fro", "vector"}

    Notes
    -----
    ``mean`` and ``stderr`` are the sample mean of the log norms and its
    standard error (a sample whose gradient is exactly zero, e.g. a narrow
    ReLU network with a dead layer, has log norm -inf: the mean is then
    -inf and its standard error inf, while ``log_mean_square`` stays
    finite); ``log_mean_square`` is log of the sample mean of the
    squared norms (what mean-field theory predicts: for ``"vector"`` with v
    uniform on the sphere and independent of the network,
    E||v^T J||^2 = E||J||_F^2 / n_L), with a delta-method standard error.
    """

    _frame = ("lag", "lags", ("log_norms",))
    _frame_batch = "sample"

    lags: np.ndarray
    log_norms: np.ndarray
    quantity: str

    @property
    def samples(self) -> int:
        return self.log_norms.shape[0]

    @property
    def depth(self) -> int:
        return self.lags.size

    @property
    def layers(self) -> np.ndarray:
        """The layer index l = L - lag of each column."""
        return self.depth - self.lags

    @property
    def mean(self) -> np.ndarray:
        """Sample mean of the log norms, per lag."""
        return self.log_norms.mean(axis=0)

    @property
    def stderr(self) -> np.ndarray:
        """Standard error of ``mean`` (nan for one sample; inf where ``mean`` is -inf)."""
        if self.samples < 2:
            return np.full(self.depth, np.nan)
        finite = np.all(np.isfinite(self.log_norms), axis=0)
        safe = np.where(finite, self.log_norms, 0.0)
        return np.where(finite, safe.std(axis=0, ddof=1) / np.sqrt(self.samples), np.inf)

    @property
    def log_mean_square(self) -> np.ndarray:
        """log of the sample mean of the squared norms, per lag (overflow-free)."""
        return _log_mean_exp(2.0 * self.log_norms, axis=0)

    def _relative_square(self):
        """X_s / mean(X) per lag, X = squared norm (the delta method's building block)."""
        return np.exp(2.0 * self.log_norms - self.log_mean_square)

    @property
    def log_mean_square_stderr(self) -> np.ndarray:
        """Delta-method standard error of ``log_mean_square``: sd(X) / (sqrt(S) mean(X))."""
        if self.samples < 2:
            return np.full(self.depth, np.nan)
        return self._relative_square().std(axis=0, ddof=1) / np.sqrt(self.samples)

    def fit_slope(self, stat="mean_log", *, lags=None) -> SlopeFit:
        """Fit log norm against lag: the per-layer log gain, with a standard error.

        Parameters
        ----------
        stat : {"mean_log", "log_mean_square"}
            ``mean_log``: a line through each sample's log norms, averaged
            (the typical gain; its standard error from the spread of the
            per-sample slopes).  ``log_mean_square``: a line through
            ``log_mean_square`` (the mean-square gain of mean-field theory),
            standard error by the delta method over samples.
        lags : (lo, hi), optional
            Fit only lags lo..hi (inclusive); default all.

        Returns
        -------
        SlopeFit
            Negative slope: gradients shrink geometrically going back through
            the layers (by e^slope per layer); zero: they keep their scale.
        """
        check_choice(stat, "stat", ("mean_log", "log_mean_square"))
        sel = self._select(lags)
        x = self.lags[sel].astype(np.float64)
        if stat == "mean_log":
            return _per_sample_slope(x, self.log_norms[:, sel], stat)
        y = self.log_mean_square[sel]
        if not np.all(np.isfinite(y)):
            raise ValueError("cannot fit a slope to log_mean_square: some lags have zero mean square")
        c = _ols_weights(x)
        slope = float(c @ y)
        intercept = float(y.mean() - slope * x.mean())
        # influence of each sample on the slope: sum_l c_l (X_sl / m_l - 1)
        psi = (self._relative_square()[:, sel] - 1.0) @ c
        se = float(psi.std(ddof=1) / np.sqrt(self.samples)) if self.samples > 1 else float("nan")
        return SlopeFit(slope, se, intercept, stat, self.samples)

    def _select(self, lags):
        if lags is None:
            return np.ones(self.depth, dtype=bool)
        try:
            lo, hi = lags
        except (TypeError, ValueError):
            raise TypeError(f"`lags` must be a pair (lo, hi); got {describe(lags)}") from None
        lo = check_int(lo, "lags[0]", minimum=1, maximum=self.depth)
        hi = check_int(hi, "lags[1]", minimum=lo, maximum=self.depth)
        return (self.lags >= lo) & (self.lags <= hi)

    _json_extra = ('mean', 'stderr', 'log_mean_square', 'log_mean_square_stderr')


def _random_unit(gen, shape):
    v = gen.standard_normal(shape)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def depth_profile(J, *, quantity="spectral", vector=None, rng=0) -> DepthProfile:
    """Log norms of the gradient carried back from the output to every layer, over an ensemble.

    Parameters
    ----------
    J : LayerTrajectory, Trajectory, JacobianSequence or array; or a list of trajectories/sequences
        One network run (each example of a batched run, or each sequence of
        a (B, L, n, n) array, is a sample) or an ensemble, e.g. from
        :func:`mlp_ensemble`; all of one depth L.  (A list of plain matrices
        is one sequence of steps, as everywhere in spectra.)
    quantity : {"spectral", "fro", "vector"}
        ``spectral``: ||dh_L/dh_l||_2; ``fro``: the Frobenius norm;
        ``vector``: ||v^T dh_L/dh_l|| for a unit vector v, the norm of one
        gradient as backpropagation carries it (O(L n^2) per sample).
    vector : (n_L,) array_like, optional
        The v of ``quantity="vector"`` (normalised to unit length), used for
        every sample; by default each sample gets its own v drawn uniformly
        on the unit sphere from ``rng``.
    rng : int, Generator or None
        Draws the vectors v (and seeds the spectral-norm iteration).

    Returns
    -------
    DepthProfile

    Notes
    -----
    Each sample is one call of :func:`spectra.gradient_norm_profile` with
    ``t = L``: exact, overflow-free at any depth.

    Examples
    --------
    >>> import spectra
    >>> runs = spectra.mlp_ensemble([32] * 11, samples=8, activation="sigmoid", rng=0)
    >>> prof = spectra.depth_profile(runs, quantity="vector", rng=0)
    >>> fit = prof.fit_slope()
    >>> bool(fit.interval()[1] < 0)        # sigmoid: gradients shrink geometrically
    True
    """
    seqs = _ensemble(J)
    check_choice(quantity, "quantity", _QUANTITIES)
    gen = as_generator(rng)
    L = seqs[0].steps
    if vector is not None:
        if quantity != "vector":
            raise ValueError(f"`vector` is used with quantity='vector'; got quantity={quantity!r}")
        v = as_array(vector, "vector", ndim=1)
        nrm = np.linalg.norm(v)
        if nrm == 0:
            raise ValueError("`vector` must be non-zero")
        v = v / nrm
        for i, s in enumerate(seqs):
            if s.state_size(L) != v.size:
                raise ValueError(f"`vector` must have length {s.state_size(L)} (the output size of "
                                 f"J[{i}]); got length {v.size}")
    rows = []
    for s in seqs:
        if quantity == "vector":
            vs = v if vector is not None else _random_unit(gen, s.batch_shape + (s.state_size(L),))
            prof = gradient_norm_profile(s, t=L, vector=np.broadcast_to(vs, s.batch_shape + vs.shape[-1:]))
        else:
            prof = gradient_norm_profile(s, t=L, ord=2 if quantity == "spectral" else "fro", rng=gen)
        rows.append(np.reshape(prof.log_norms, (-1, L)))
    return DepthProfile(np.arange(1, L + 1), np.concatenate(rows, axis=0), quantity)


# ---------------------------------------------------------------------------------------
# singular-value spectra at depth


@dataclass(frozen=True, repr=False)
class DepthSpectra(Result):
    """All singular values of the input-output Jacobian dh_d/dh_0 at several depths d.

    Attributes
    ----------
    depths : (D,) int ndarray
    log_singular_values : (S, D, m) ndarray
        Natural logs of the singular values of each sample at each depth,
        descending (m = min(n_d, n_0); NaN-padded where a depth has fewer).

    Notes
    -----
    Dynamical isometry (Saxe et al. 2014; Pennington, Schoenholz & Ganguli
    2017) asks that the squared singular values concentrate near 1 at all
    depths.  ``spread`` is, per sample and depth, the variance of the squared
    singular values around their mean; ``mean_spread``/``spread_stderr``
    average it over samples.
    """

    def frame_columns(self) -> dict:
        """One row per sample, depth and singular value (``i`` = 1 for the largest)."""
        values = np.asarray(self.log_singular_values)
        S, D, m = values.shape
        return {"sample": np.repeat(np.arange(S), D * m),
                "depth": np.tile(np.repeat(np.asarray(self.depths), m), S),
                "i": np.tile(np.arange(1, m + 1), S * D),
                "log_singular_values": values.reshape(-1)}

    depths: np.ndarray
    log_singular_values: np.ndarray

    @property
    def samples(self) -> int:
        return self.log_singular_values.shape[0]

    def squared(self, depth=None) -> np.ndarray:
        """Squared singular values: (S, D, m), or at one depth pooled over samples (1-D)."""
        with np.errstate(over="ignore"):
            s2 = np.exp(2.0 * self.log_singular_values)
        if depth is None:
            return s2
        i = self._index(depth)
        out = s2[:, i, :].reshape(-1)
        return out[~np.isnan(out)]

    def _index(self, depth):
        depth = check_int(depth, "depth")
        hit = np.nonzero(self.depths == depth)[0]
        if hit.size == 0:
            raise ValueError(f"`depth` must be one of the computed depths {self.depths.tolist()}; "
                             f"got {depth}")
        return int(hit[0])

    @property
    def mean_square(self) -> np.ndarray:
        """(S, D): mean of the squared singular values (= ||J||_F^2 / m)."""
        return np.nanmean(self.squared(), axis=-1)

    @property
    def spread(self) -> np.ndarray:
        """(S, D): variance of the squared singular values of each sample (two-pass)."""
        s2 = self.squared()
        with np.errstate(over="ignore", invalid="ignore"):
            d = s2 - np.nanmean(s2, axis=-1, keepdims=True)
            return np.nanmean(d * d, axis=-1)

    @property
    def mean_spread(self) -> np.ndarray:
        return self.spread.mean(axis=0)

    @property
    def spread_stderr(self) -> np.ndarray:
        if self.samples < 2:
            return np.full(self.depths.size, np.nan)
        return self.spread.std(axis=0, ddof=1) / np.sqrt(self.samples)

    @property
    def log_condition(self) -> np.ndarray:
        """(S, D): log(sigma_max / sigma_min) (inf for a singular Jacobian)."""
        return np.nanmax(self.log_singular_values, axis=-1) - np.nanmin(self.log_singular_values, axis=-1)

    def fit_slope(self, stat="spread") -> SlopeFit:
        """A line through each sample's ``spread`` (or ``log_condition``) against depth.

        Returns the mean slope over samples with its standard error.  The
        spread of a Gaussian product is heavy-tailed across samples; the log
        condition number (log sigma_max/sigma_min, which grows linearly with
        depth at the rate of the Lyapunov gap) is a steadier witness.
        """
        check_choice(stat, "stat", ("spread", "log_condition"))
        Y = self.spread if stat == "spread" else self.log_condition
        return _per_sample_slope(self.depths.astype(np.float64), Y, stat)

    _json_extra = ('mean_spread', 'spread_stderr')


def depth_spectra(J, *, depths=None) -> DepthSpectra:
    """All singular values of dh_d/dh_0 at each depth d, over an ensemble.

    Parameters
    ----------
    J : LayerTrajectory, Trajectory, JacobianSequence or array; or a list of trajectories/sequences
        As for :func:`depth_profile`.
    depths : sequence of int, optional
        Depths d in 1..L (default all).

    Returns
    -------
    DepthSpectra

    Notes
    -----
    One stratified sweep per sample (the method of
    :func:`spectra.product_log_singular_values`), read off at each requested
    depth: exact in the log domain at any depth, O(L n^3) per sample.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> runs = spectra.mlp_ensemble([16] * 9, samples=2, init="orthogonal", activation="identity", rng=0)
    >>> sp = spectra.depth_spectra(runs, depths=[1, 8])
    >>> bool(np.allclose(sp.squared(), 1.0))      # orthogonal and linear: exact isometry
    True
    """
    seqs = _ensemble(J)
    L = seqs[0].steps
    if depths is None:
        ds = list(range(1, L + 1))
    else:
        if isinstance(depths, (str, bytes)) or not hasattr(depths, "__iter__"):
            raise TypeError(f"`depths` must be a sequence of integers; got {describe(depths)}")
        ds = sorted({check_int(d, "depths", minimum=1, maximum=L) for d in depths})
        if not ds:
            raise ValueError("`depths` must not be empty")
    counts = [min(seqs[0].state_size(d), seqs[0].state_size(0)) for d in ds]
    m = max(counts)
    rows = []
    for s in seqs:
        vals = _log_singular_values_at(s, 0, ds)
        batch = s.batch_shape
        block = np.full(batch + (len(ds), m), np.nan)
        for j, d in enumerate(ds):
            v = vals[d]
            block[..., j, :v.shape[-1]] = v
        rows.append(block.reshape((-1, len(ds), m)))
    return DepthSpectra(np.asarray(ds), np.concatenate(rows, axis=0))
