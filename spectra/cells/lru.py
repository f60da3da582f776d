"""The Linear Recurrent Unit (Orvieto et al., ICML 2023): a diagonal complex linear recurrence.

``h_t = diag(lambda) h_{t-1} + diag(gamma) B x_t`` and ``y_t = Re(C h_t) + D x_t`` with
``lambda_j = exp(-exp(nu_j) + i exp(theta_j))``, so ``|lambda_j| < 1`` for every finite
``nu_j``, and the input normalisation ``gamma_j = sqrt(1 - |lambda_j|^2)``.

The complex state ``h`` (N units) is carried as a real vector of length ``n = 2N`` in
interleaved pairs, ``(Re h_1, Im h_1, Re h_2, Im h_2, ...)`` (the memory layout of numpy's
``complex128``), so every analysis of spectra works on it unchanged.  The step Jacobian is
then block diagonal with 2 x 2 blocks ``[[a, -b], [b, a]]`` (``lambda = a + ib``): a rotation
by ``arg lambda`` scaled by ``|lambda|``.  :class:`LRUJacobians` keeps it as the N numbers
``lambda_j`` (:mod:`.rotation`): products, eigenvalues, singular values and ``log|det|``
are exact.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import numpy as np

from .base import Cell, frozen as _frozen
from .registry import register_cell
from .rotation import LRUJacobians, to_complex, to_real
from ..jacobians.structured import ScaledJacobians
from .._core.interop import is_module
from .._core.validation import (as_generator, check_dtype, check_int, check_real,
                                describe)

__all__ = ["LRU", "LRUJacobians"]


_NAMES = ("nu_log", "theta_log", "B_re", "B_im", "C_re", "C_im", "D", "gamma_log")


def _finite_or(arr, name, allow):
    bad = ~(np.isfinite(arr) | np.isin(arr, allow))
    if np.any(bad):
        raise ValueError(f"`{name}` must be finite{' or -inf' if allow else ''}; got "
                         f"{int(bad.sum())} other entr{'y' if bad.sum() == 1 else 'ies'}")
    return arr


def _real(value, name, ndim, *, allow=()):
    """A real float64 array (complex refused, naming the argument); ``allow``: non-finite kept."""
    if value is None:
        raise TypeError(f"`{name}` must be an array of real numbers; got None")
    arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
    if arr.dtype.kind == "c":
        raise TypeError(f"`{name}` must be real; got complex dtype {arr.dtype} (pass the real "
                        "and imaginary parts as separate arrays, e.g. B_re and B_im)")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must be an array of real numbers; got {describe(value)}")
    if arr.ndim != ndim:
        raise ValueError(f"`{name}` must be {ndim}-D; got shape {arr.shape}")
    return _finite_or(arr.astype(np.float64), name, allow)


@register_cell("lru", aliases=("linear_recurrent_unit",))
class LRU(Cell):
    """The Linear Recurrent Unit of Orvieto et al. (2023), state as interleaved (Re, Im) pairs.

    ``h_t = diag(lambda) h_{t-1} + diag(gamma) B x_t``, ``y_t = Re(C h_t) + D x_t``, with
    ``lambda_j = exp(-exp(nu_log_j) + i exp(theta_log_j))`` and ``B = B_re + i B_im``.

    Parameters
    ----------
    nu_log, theta_log : (N,) array_like
        ``|lambda_j| = exp(-exp(nu_log_j))`` and ``arg lambda_j = exp(theta_log_j)``.
        ``theta_log`` may be ``-inf`` (phase 0: a real eigenvalue).
    B_re, B_im : (N, d) array_like, optional
        The input matrix (both or neither; neither: an autonomous cell).
    C_re, C_im : (c, N) array_like, optional
        The readout (both or neither); used by :meth:`output` only.
    D : (c, d) array_like, optional
        The skip connection of the readout.
    gamma_log : (N,) array_like, optional
        A learned input normalisation ``gamma = exp(gamma_log)``, a parameter of its own
        (as in the reference code, which initialises it to ``log sqrt(1 - |lambda|^2)``).
    normalize : bool
        Without ``gamma_log``: True (default) ties ``gamma_j = sqrt(1 - |lambda_j|^2)``
        to ``nu_log`` (its derivative flows into ``nu_log``'s gradient), False sets
        ``gamma = 1``.  With ``gamma_log``, ``normalize=False`` is an error.

    Notes
    -----
    The state has ``n = 2N`` real entries, ``(Re h_1, Im h_1, Re h_2, Im h_2, ...)``.
    The step Jacobian is block diagonal, ``[[Re l_j, -Im l_j], [Im l_j, Re l_j]]`` per
    unit (:class:`LRUJacobians`); its eigenvalues are the ``lambda_j`` and their
    conjugates (:attr:`eigenvalues`), its singular values the ``|lambda_j|``.
    ``parameters()`` has the names of the reference code's state dict: ``nu_log``,
    ``theta_log``, ``B_re``, ``B_im`` (with an input), ``gamma_log`` (when learned),
    ``C_re``, ``C_im``, ``D`` (when given; the states do not depend on them, so their
    ``parameter_vjp`` entries are zero).  :meth:`state_dict` and :meth:`from_state_dict`
    write and read that layout.

    With the tied normalisation ``E|h_t|^2`` stays 1 for unit white-noise input however
    close ``|lambda|`` is to 1, and the sensitivity ``E|dh_t/d nu|^2`` stays bounded
    (it tends to 1/4): see :func:`spectra.analysis.curse_of_memory`.

    References
    ----------
    A. Orvieto, S. L. Smith, A. Gu, A. Fernando, C. Gulcehre, R. Pascanu, S. De,
    "Resurrecting recurrent neural networks for long sequences", ICML 2023.

    Examples
    --------
    >>> import numpy as np, spectra
    >>> cell = spectra.LRU.from_eigenvalues([0.5j, 0.9], B=np.ones((2, 1)), normalize=False)
    >>> cell.n, cell.eigenvalues.round(3)
    (4, array([0. +0.5j, 0. -0.5j, 0.9+0.j , 0.9-0.j ]))
    >>> cell.run(np.ones((2, 1))).states[-1]       # h_2 = lambda + 1, (Re, Im) pairs
    array([1. , 0.5, 1.9, 0. ])
    """

    def __init__(self, nu_log, theta_log, B_re=None, B_im=None, C_re=None, C_im=None, D=None,
                 *, gamma_log=None, normalize=True, dtype=np.float64):
        self.dtype = check_dtype(dtype)
        nu = _real(nu_log, "nu_log", 1)
        N = nu.shape[0]
        if N == 0:
            raise ValueError("`nu_log` must have at least one entry (one complex unit)")
        theta = _real(theta_log, "theta_log", 1, allow=(-np.inf,))
        if theta.shape != (N,):
            raise ValueError(f"`theta_log` must have shape ({N},) like `nu_log`; got {theta.shape}")
        if not isinstance(normalize, (bool, np.bool_)):
            raise TypeError(f"`normalize` must be True or False; got {describe(normalize)}")
        with np.errstate(over="ignore"):
            r = np.exp(-np.exp(nu))
            phase = np.exp(theta)
        if not np.all(np.isfinite(phase)):
            raise ValueError("`theta_log` is too large: exp(theta_log) overflows")
        if np.any(r >= 1.0) or np.any(r == 0.0):
            raise ValueError("`nu_log` must give 0 < |lambda| < 1 in float64 "
                             f"(|lambda| = exp(-exp(nu_log))); got |lambda| in [{r.min()}, {r.max()}]")
        self._nu, self._theta = _frozen(nu), _frozen(theta)
        self._lam = _frozen(r * np.exp(1j * phase))
        self.N, self.n = N, 2 * N
        if (B_re is None) != (B_im is None):
            raise ValueError("`B_re` and `B_im` go together: give both or neither")
        if B_re is not None:
            B_re, B_im = _real(B_re, "B_re", 2), _real(B_im, "B_im", 2)
            if B_re.shape[0] != N or B_im.shape != B_re.shape:
                raise ValueError(f"`B_re` and `B_im` must both have shape ({N}, d); got "
                                 f"{B_re.shape} and {B_im.shape}")
        self._B_re, self._B_im = _frozen(B_re), _frozen(B_im)
        self.input_size = 0 if B_re is None else B_re.shape[1]
        if (C_re is None) != (C_im is None):
            raise ValueError("`C_re` and `C_im` go together: give both or neither")
        if C_re is not None:
            C_re, C_im = _real(C_re, "C_re", 2), _real(C_im, "C_im", 2)
            if C_re.shape[1] != N or C_im.shape != C_re.shape:
                raise ValueError(f"`C_re` and `C_im` must both have shape (c, {N}); got "
                                 f"{C_re.shape} and {C_im.shape}")
        self._C_re, self._C_im = _frozen(C_re), _frozen(C_im)
        if D is not None:
            D = _real(D, "D", 2)
            want = (None if C_re is None else C_re.shape[0], self.input_size)
            if (want[0] is not None and D.shape[0] != want[0]) or D.shape[1] != self.input_size:
                raise ValueError(f"`D` must have shape (c, d) = ({want[0] or 'c'}, {self.input_size}); "
                                 f"got {D.shape}")
        self._D = _frozen(D)
        if gamma_log is not None:
            if not normalize:
                raise ValueError("`gamma_log` (a learned normalisation) contradicts normalize=False")
            g = _real(gamma_log, "gamma_log", 1)
            if g.shape != (N,):
                raise ValueError(f"`gamma_log` must have shape ({N},); got {g.shape}")
            self._gamma_log = _frozen(g)
            self._gamma = _frozen(np.exp(g))
        else:
            self._gamma_log = None
            self._gamma = _frozen(np.sqrt(-np.expm1(-2.0 * np.exp(nu))) if normalize
                                  else np.ones(N))
        self.normalize = bool(normalize)

    # -- properties ----------------------------------------------------------------------
    @property
    def hidden_size(self) -> int:
        """N, the number of complex units (the real state has 2N entries)."""
        return self.N

    @property
    def lam(self) -> np.ndarray:
        """The complex eigenvalues ``lambda_j``, shape (N,)."""
        return self._lam

    @property
    def eigenvalues(self) -> np.ndarray:
        """The eigenvalues of the (real, 2N x 2N) step Jacobian: ``lambda_j``, ``conj(lambda_j)``."""
        out = np.empty(self.n, dtype=np.complex128)
        out[0::2], out[1::2] = self._lam, self._lam.conj()
        return out

    @property
    def gamma(self) -> np.ndarray:
        """The input normalisation ``gamma_j`` (ones when ``normalize=False``)."""
        return self._gamma

    @property
    def B(self):
        """The complex input matrix ``B_re + i B_im`` (None without input)."""
        return None if self._B_re is None else self._B_re + 1j * self._B_im

    @property
    def C(self):
        """The complex readout ``C_re + i C_im`` (None without readout)."""
        return None if self._C_re is None else self._C_re + 1j * self._C_im

    @property
    def D(self):
        return self._D

    def __repr__(self) -> str:
        extra = f", input_size={self.input_size}" if self.input_size else ""
        norm = "learned" if self._gamma_log is not None else self.normalize
        return f"LRU(N={self.N}{extra}, normalize={norm})"

    # -- constructors --------------------------------------------------------------------
    @classmethod
    def random(cls, n, *, input_size=0, output_size=None, r_min=0.0, r_max=1.0,
               max_phase=2 * math.pi, normalize=True, rng=None, dtype=np.float64):
        """The ring initialisation of Orvieto et al. (2023): eigenvalues uniform on an annulus.

        ``|lambda|^2`` is uniform on ``[r_min^2, r_max^2]`` (so lambda is uniform in area on
        the ring) and ``arg lambda`` uniform on ``[0, max_phase]``; ``nu_log = log(-log r)``,
        ``theta_log = log(phase)``.  ``B_re, B_im ~ N(0, 1/(2d))``, ``C_re, C_im ~ N(0, 1/N)``,
        ``D ~ N(0, 1)``, as in the paper's reference code.

        Parameters
        ----------
        n : int
            N, the number of complex units (the state has ``2N`` real entries).
        input_size : int
            d (0: an autonomous cell).
        output_size : int, optional
            c, the size of the readout y_t (default: ``input_size``; 0 or no input: none).
        r_min, r_max : float
            The ring, ``0 <= r_min < r_max <= 1``.
        max_phase : float
            The largest phase (default 2 pi); ``> 0``.
        normalize : bool
            The tied input normalisation (see :class:`LRU`).
        rng : int, Generator or None

        Examples
        --------
        >>> import numpy as np, spectra
        >>> cell = spectra.LRU.random(64, input_size=3, r_min=0.9, r_max=0.99, rng=0)
        >>> r = np.abs(cell.lam)
        >>> bool(r.min() >= 0.9 and r.max() <= 0.99), cell.n
        (True, 128)
        """
        N = check_int(n, "n", minimum=1)
        d = check_int(input_size, "input_size", minimum=0)
        c = d if output_size is None else check_int(output_size, "output_size", minimum=0)
        r_max = check_real(r_max, "r_max", low=0.0, high=1.0, low_open=True)
        r_min = check_real(r_min, "r_min", low=0.0, high=r_max, high_open=True)
        max_phase = check_real(max_phase, "max_phase", low=0.0, low_open=True)
        gen = as_generator(rng)
        u1, u2 = gen.random(N), gen.random(N)
        r2 = u1 * (r_max ** 2 - r_min ** 2) + r_min ** 2
        r2 = np.clip(r2, np.finfo(float).tiny, np.nextafter(1.0, 0.0))   # 0 < |lambda| < 1
        nu_log = np.log(-0.5 * np.log(r2))
        with np.errstate(divide="ignore"):
            theta_log = np.log(max_phase * u2)
        B = gen.standard_normal((2, N, d)) / math.sqrt(2 * d) if d else (None, None)
        if d and c:
            C = gen.standard_normal((2, c, N)) / math.sqrt(N)
            D = gen.standard_normal((c, d))
        else:
            C, D = (None, None), None
        return cls(nu_log, theta_log, B[0], B[1], C[0], C[1], D, normalize=normalize, dtype=dtype)

    @classmethod
    def from_eigenvalues(cls, eigenvalues, B=None, C=None, D=None, *, normalize=True,
                         dtype=np.float64):
        """An LRU with the given complex eigenvalues (``0 < |lambda| < 1``).

        Parameters
        ----------
        eigenvalues : (N,) array_like of complex
            lambda_j; the phase is taken in ``[0, 2 pi)`` (phase 0: ``theta_log = -inf``).
        B : (N, d) array_like of complex, optional
        C : (c, N) array_like of complex, optional
        D : (c, d) array_like, optional
        normalize : bool

        Raises
        ------
        ValueError
            If some ``|lambda_j| >= 1`` (the LRU's parametrisation cannot express it)
            or ``lambda_j = 0``.

        Examples
        --------
        >>> import spectra
        >>> spectra.LRU.from_eigenvalues([0.5, 1.0])
        Traceback (most recent call last):
        ...
        ValueError: `eigenvalues` must satisfy 0 < |lambda| < 1 (the LRU's parametrisation lambda = exp(-exp(nu) + i exp(theta)) cannot express others); got |lambda| = 1 at index 1
        """
        lam = np.asarray(eigenvalues)
        if lam.dtype.kind not in "biufc":
            raise TypeError(f"`eigenvalues` must be an array of complex numbers; got {describe(eigenvalues)}")
        lam = lam.astype(np.complex128)
        if lam.ndim != 1 or lam.size == 0:
            raise ValueError(f"`eigenvalues` must be a non-empty 1-D array; got shape {lam.shape}")
        if not np.all(np.isfinite(lam)):
            raise ValueError("`eigenvalues` must be finite")
        r = np.abs(lam)
        bad = np.flatnonzero((r >= 1.0) | (r == 0.0))
        if bad.size:
            raise ValueError("`eigenvalues` must satisfy 0 < |lambda| < 1 (the LRU's parametrisation "
                             "lambda = exp(-exp(nu) + i exp(theta)) cannot express others); got "
                             f"|lambda| = {r[bad[0]]:.6g} at index {bad[0]}")
        phase = np.mod(np.angle(lam), 2 * np.pi)
        with np.errstate(divide="ignore"):
            theta_log = np.log(phase)
        nu_log = np.log(-np.log(r))

        def parts(M, name, shape):
            if M is None:
                return None, None
            M = np.asarray(M)
            if M.dtype.kind not in "biufc":
                raise TypeError(f"`{name}` must be an array of numbers; got {describe(M)}")
            if M.ndim != 2 or (shape[0] is not None and M.shape[0] != shape[0]) or \
                    (shape[1] is not None and M.shape[1] != shape[1]):
                raise ValueError(f"`{name}` must have shape {tuple('?' if s is None else s for s in shape)}; "
                                 f"got {M.shape}")
            M = M.astype(np.complex128)
            return M.real.copy(), M.imag.copy()

        N = lam.size
        B_re, B_im = parts(B, "B", (N, None))
        C_re, C_im = parts(C, "C", (None, N))
        return cls(nu_log, theta_log, B_re, B_im, C_re, C_im, D, normalize=normalize, dtype=dtype)

    def state_dict(self) -> dict:
        """The parameters in the reference code's layout (read-only arrays; see :class:`LRU`)."""
        return dict(self.parameters())

    @classmethod
    def from_state_dict(cls, state, *, prefix=None, normalize=True, dtype=np.float64):
        """An LRU from a state dict with the keys of :meth:`state_dict` (a mapping, module or file).

        ``gamma_log`` present makes the normalisation a learned parameter.  The keys may
        carry a common prefix (``"layers.0.nu_log"``); when the dict holds several LRUs,
        ``prefix`` picks one.

        Examples
        --------
        >>> import numpy as np, spectra
        >>> cell = spectra.LRU.random(3, input_size=2, rng=1)
        >>> state = {"lru." + k: v for k, v in cell.state_dict().items()}
        >>> back = spectra.LRU.from_state_dict(state)
        >>> bool(np.array_equal(back.lam, cell.lam))
        True
        """
        from .state_dict import flatten_state_dict, read_state_dict

        if isinstance(state, (str, os.PathLike)):
            flat = read_state_dict(state)
        elif is_module(state):
            flat = flatten_state_dict(state.state_dict())
        elif isinstance(state, Mapping):
            flat = flatten_state_dict(state, name="state")
        else:
            raise TypeError(f"`state` must be a state dict, a module or a file name; got {describe(state)}")
        if prefix is None:
            found = sorted(k[:-len("nu_log")] for k in flat if k.endswith("nu_log"))
            if len(found) != 1:
                raise ValueError("`state` must hold exactly one LRU (a key ending in 'nu_log') "
                                 f"unless `prefix` picks one; found {len(found)}: {found}")
            prefix = found[0]
        elif not isinstance(prefix, str):
            raise TypeError(f"`prefix` must be a string; got {describe(prefix)}")
        values = {name: flat.get(prefix + name) for name in _NAMES}
        for name in ("nu_log", "theta_log"):
            if values[name] is None:
                raise ValueError(f"`state` has no key {prefix + name!r}")
        kwargs = {k: values.pop(k) for k in ("gamma_log",)}
        return cls(**values, **kwargs, normalize=normalize, dtype=dtype)

    # -- the cell protocol ---------------------------------------------------------------
    def parameters(self) -> dict:
        """``{name: array}`` in the reference code's names (those present; see :class:`LRU`)."""
        out = {"nu_log": self._nu, "theta_log": self._theta}
        for name in ("B_re", "B_im", "gamma_log", "C_re", "C_im", "D"):
            value = getattr(self, "_" + name)
            if value is not None:
                out[name] = value
        return out

    def _drive(self, X):
        """``gamma * (B x_t)`` as complex, shape (..., T, N)."""
        return (X @ self._B_re.T + 1j * (X @ self._B_im.T)) * self._gamma

    def input_drive(self, X, steps, batch_shape):
        if X is None:
            return np.zeros(batch_shape + (steps, self.n), dtype=self.dtype)
        return to_real(self._drive(X), self.dtype)

    def advance(self, h, u):
        a, b = self._lam.real, self._lam.imag
        hr, hi = h[..., 0::2], h[..., 1::2]
        out = np.empty(np.broadcast_shapes(h.shape, u.shape), dtype=self.dtype)
        out[..., 0::2] = a * hr - b * hi + u[..., 0::2]
        out[..., 1::2] = b * hr + a * hi + u[..., 1::2]
        return out, None

    def factored_jacobians(self, states, aux):
        return LRUJacobians(self._lam, steps=states.shape[-2] - 1, batch_shape=states.shape[:-2])

    def input_jacobians(self, states, aux):
        """``dh_t/dx_t``: the real (2N x d) form of ``diag(gamma) B``, the same for every step."""
        if self._B_re is None:
            from .inputs import no_input_error
            raise no_input_error(self)
        M = to_real(np.swapaxes(self.B * self._gamma[:, None], 0, 1)).T.copy()
        return ScaledJacobians(M, row=np.ones(states.shape[:-2] + (states.shape[-2] - 1, self.n)))

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """``{name: sum_t Re(conj(w_t) dh_t/dtheta)}``, w_t the complex cotangent (see :class:`Cell`).

        With ``dlambda/dnu = -exp(nu) lambda``, ``dlambda/dtheta_log = i exp(theta_log) lambda``
        and, for the tied normalisation, ``dgamma/dnu = exp(nu) |lambda|^2 / gamma``.
        """
        W = to_complex(np.asarray(cotangents, dtype=np.float64))          # (..., T, N)
        Z = to_complex(np.asarray(states, dtype=np.float64))[..., :-1, :]  # h_{t-1}
        lam, en = self._lam, np.exp(self._nu)
        cw = W.conj()
        out = {"nu_log": np.real(cw * (-en * lam) * Z),
               "theta_log": np.real(cw * (1j * np.exp(self._theta) * lam) * Z)}
        if self._B_re is not None:
            X = np.asarray(inputs, dtype=np.float64)                        # (..., T, d)
            Bx = X @ self._B_re.T + 1j * (X @ self._B_im.T)                 # (..., T, N)
            gw = self._gamma * W                                            # gamma * (u_re + i u_im)
            out["B_re"] = gw.real[..., :, None] * X[..., None, :]           # (..., T, N, d)
            out["B_im"] = gw.imag[..., :, None] * X[..., None, :]
            if self._gamma_log is not None:
                out["gamma_log"] = np.real(cw * self._gamma * Bx)
            elif self.normalize:
                dgamma = en * np.abs(lam) ** 2 / self._gamma
                out["nu_log"] = out["nu_log"] + np.real(cw * dgamma * Bx)
        lead = W.shape[:-1]                                                 # (..., T)
        for name in ("C_re", "C_im", "D"):
            value = getattr(self, "_" + name)
            if value is not None:
                out[name] = np.zeros(lead + value.shape)
        if per_step:
            return out
        return {k: v.reshape((-1,) + v.shape[len(lead):]).sum(axis=0) for k, v in out.items()}

    # -- readout -------------------------------------------------------------------------
    def output(self, run):
        """The readout ``y_t = Re(C h_t) + D x_t`` for t = 1..T of a run (a Trajectory).

        Examples
        --------
        >>> import numpy as np, spectra
        >>> cell = spectra.LRU.from_eigenvalues([0.5j], B=[[1.0]], C=[[1j]], D=[[2.0]],
        ...                                     normalize=False)
        >>> cell.output(cell.run(np.ones((2, 1))))[:, 0]      # Re(i h_t) + 2 = 2 - Im h_t
        array([2. , 1.5])
        """
        if self._C_re is None:
            raise ValueError("this LRU has no readout (C_re, C_im); build it with C")
        states = getattr(run, "states", None)
        if states is None or getattr(run, "cell", None) is not self:
            raise TypeError(f"`run` must be a Trajectory of this cell (cell.run(...)); got {describe(run)}")
        Z = to_complex(states[..., 1:, :])
        y = np.real(Z @ (self._C_re + 1j * self._C_im).T)
        if self._D is not None and run.inputs is not None:
            y = y + run.inputs @ self._D.T
        return y
