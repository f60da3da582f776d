"""Any torch step function as a cell: :class:`TorchCell`.

``step(h, x) -> h_new`` on 1-D tensors (a function or an ``nn.Module``) becomes
a :class:`~spectra.Cell`: the forward pass runs in float64 on the device the
module lives on, and the step Jacobians stay matrix-free (vectorised
``torch.func.jvp``/``vjp`` over the columns of a block; ``jacrev``/``jacfwd``
where a dense step Jacobian is asked for).  Only small results come back to
the host.

torch is imported inside functions only: importing this module does not load
it.

May import: numpy, :mod:`spectra._core`, :mod:`spectra.jacobians`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings

import numpy as np

from .._core.errors import NumericalError
from .._core.interop import is_module, is_tensor
from .._core.validation import describe
from .autodiff import FunctionCell

__all__ = ["TorchCell", "prepare_module", "TorchOps", "math_attention"]


def prepare_module(module, name="step"):
    """A float64, eval-mode copy of a torch module and the device it lives on.

    The user's module is left as it is.  A module on the meta device (no
    data) is refused with a ValueError naming ``name``.
    """
    import torch

    tensors = list(module.parameters()) + list(module.buffers())
    devices = {t.device for t in tensors}
    if any(d.type == "meta" for d in devices):
        raise ValueError(f"`{name}` is on the meta device (its tensors hold no data); "
                         "materialise it first, e.g. module.to_empty(device='cpu') and "
                         "load_state_dict(...)")
    if len(devices) > 1:
        raise ValueError(f"`{name}` has tensors on several devices {sorted(map(str, devices))}; "
                         "move it to one device first")
    device = devices.pop() if devices else torch.device("cpu")
    copied = copy.deepcopy(module).to(dtype=torch.float64)
    copied.eval()
    return copied, device


def math_attention():
    """A context running scaled-dot-product attention by its plain formula.

    The fused CPU/GPU attention kernels have no forward-mode derivative and
    no batching rule for their backward; the math kernel is made of
    ordinary operations that ``torch.func`` differentiates and vectorises.
    """
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:   # an older torch: nothing to switch
        return contextlib.nullcontext()
    return sdpa_kernel([SDPBackend.MATH])


@contextlib.contextmanager
def _quiet_jvp():
    """Silence the DeprecationWarning torch's forward AD raises about itself on first use
    (it scripts its own decompositions with ``torch.jit.script``)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*",
                                category=DeprecationWarning)
        yield


class TorchOps:
    """jvp, vjp, dense Jacobian and evaluation of one function of a 1-D tensor.

    The work of a torch backend: ``f`` maps a 1-D float64 tensor on
    ``device`` to a tensor (reshaped to 1-D).  Inputs and outputs of the
    methods are numpy arrays.
    """

    def __init__(self, device):
        self.device = device

    def tensor(self, a):
        import torch

        a = np.ascontiguousarray(a, dtype=np.float64)
        if not a.flags.writeable:
            a = a.copy()
        return torch.as_tensor(a, dtype=torch.float64, device=self.device)

    @staticmethod
    def numpy(t):
        return t.detach().to("cpu").numpy()

    def evaluate(self, f, h, name="step"):
        import torch

        # grad mode on: in eval mode under no_grad, torch's fused fast paths (e.g. of
        # nn.TransformerEncoderLayer) differ from the differentiated ops by ~1e-8
        with torch.enable_grad(), math_attention():
            out = f(self.tensor(h))
        if not is_tensor(out):
            raise TypeError(f"`{name}` must return a torch tensor; got {describe(out)}")
        return self.numpy(out.detach().to(torch.float64))

    def jvp(self, f, p, V, n_out=None):
        from torch.func import jvp, vmap

        if n_out is not None and V.shape[1] * 4 >= min(n_out, p.shape[0]):
            # a wide block: vectorised forward mode costs several times a reverse pass
            # (measured: 256 columns at n = 256, 18x), so form J_t by jacrev and multiply
            return self.jacobian(f, p, n_out) @ V

        cols = vmap(lambda v: jvp(f, (p,), (v,))[1], in_dims=1, out_dims=1)
        with math_attention(), _quiet_jvp():
            return self.numpy(cols(self.tensor(V)))

    def vjp(self, f, p, U):
        from torch.func import vjp, vmap

        with math_attention():
            _, pull = vjp(f, p)
            cols = vmap(lambda u: pull(u)[0], in_dims=1, out_dims=1)
            return self.numpy(cols(self.tensor(U)))

    def jacobian(self, f, p, n_out):
        from torch.func import jacfwd, jacrev

        jac = jacfwd if 4 * p.shape[0] < n_out else jacrev
        with math_attention(), _quiet_jvp():
            return self.numpy(jac(f)(p)).reshape(n_out, p.shape[0])


class _StepPoints:
    """``points[t - 1] = (h_{t-1}, x_t)``, tensors on the device (O(T n)).

    ``H`` may hold one more row than there are steps: the final state h_T,
    against which the chunked product checks its recomputed states.
    """

    def __init__(self, H, X, steps=None):
        self.H, self.X = H, X
        self.steps = H.shape[0] if steps is None else steps

    def __len__(self):
        return self.steps

    def __getitem__(self, i):
        return self.H[i], (None if self.X is None else self.X[i])


class _TorchStepBackend:
    def __init__(self, step, device):
        self.step = step
        self.ops = TorchOps(device)

    def _f(self, x):
        return lambda h: self.step(h, x)

    def forward(self, h, x):
        xt = None if x is None else self.ops.tensor(x)
        return self.ops.evaluate(self._f(xt), h)

    def points(self, H, X, final=None):
        steps = H.shape[0]
        if final is not None:
            H = np.concatenate([H, np.asarray(final, dtype=np.float64)[None]])
        return _StepPoints(self.ops.tensor(H), None if X is None else self.ops.tensor(X), steps)

    def jvp(self, t, p, V):
        return self.ops.jvp(self._f(p[1]), p[0], V, p[0].shape[0])

    def vjp(self, t, p, U):
        return self.ops.vjp(self._f(p[1]), p[0], U)

    def jacobian(self, t, p):
        return self.ops.jacobian(self._f(p[1]), p[0], p[0].shape[0])

    # -- the dense product dh_t/dh_k in one reverse pass -------------------------------
    CHUNK = 128         # steps per reverse pass between rescalings (shortened on overflow)

    def chain(self, t, k, points):
        """``(P, e)`` with ``dh_t/dh_k = P 2^e``: one reverse pass over the run, in torch.

        The running product ``L = dh_t/dh_s`` (n x n, on the device) is
        pulled back through a chunk of steps at once: the chunk's states are
        recomputed from the stored h_{s0} in one differentiable forward run,
        and ``L <- L dh_{s1}/dh_{s0}`` is one ``vjp`` of that run vectorised
        over the n rows of ``L`` (about one GEMM per step, as
        ``torch.func.jacrev`` of the unrolled run, but with no numpy hand-over
        and no per-step dispatch).  Between chunks ``L`` is rescaled by an
        exact power of two; a chunk whose product leaves the float64 range
        is redone in shorter chunks.  The recomputed states are checked
        against the stored ones (they agree bit for bit when the step is
        deterministic); where they do not, the chunk is redone linearised
        at the stored states exactly.  Memory: the chunk's graph, O(CHUNK n),
        and ``L``.
        """
        import torch

        H = points.H
        n = H.shape[1]
        L = torch.eye(n, dtype=torch.float64, device=H.device)
        e, s1, c = 0, t, self.CHUNK
        tiny = 2.0 ** -900
        with math_attention():
            while s1 > k:
                s0 = max(k, s1 - c)
                new = self._pull_chunk(L, points, s0, s1)
                m = float(new.abs().max()) if new.numel() else 0.0
                if not math.isfinite(m) or m < tiny:
                    if s1 - s0 > 1:   # too long a chunk for float64 (or a zero): shorter ones
                        c = max(1, (s1 - s0) // 4)
                        continue
                    if not math.isfinite(m):
                        raise NumericalError(f"a step Jacobian product has non-finite entries "
                                             f"(step {s1}: the step's derivative is not finite)")
                if m == 0.0:
                    return self.ops.numpy(new), 0
                ex = math.frexp(m)[1]
                L = torch.ldexp(new, torch.tensor(-ex, dtype=torch.float64, device=H.device))
                e += ex
                s1 = s0
        return self.ops.numpy(L), e

    def _pull_chunk(self, L, points, s0, s1, anchored=False, every=False):
        """``L dh_{s1}/dh_{s0}`` by one vjp of the steps s0+1..s1, vectorised over L's rows.

        ``every=True``: ``G`` with ``G[:, i] = L dh_{s1}/dh_{s0+i}`` for i = 0..s1-s0-1,
        from the same pass: a zero perturbation is added to each state of the
        chunk, and its cotangent is the left product there.
        """
        import torch
        from torch.func import vjp, vmap

        H, X = points.H, points.X

        def run(z, D=None):
            Ds = () if D is None else D.unbind(0)
            for i, s in enumerate(range(s0, s1)):
                if Ds:
                    z = z + Ds[i]
                if anchored:   # linearise at the stored state exactly (value H[s], derivative 1)
                    z = H[s] + (z - z.detach())
                z = self.step(z, None if X is None else X[s])
            return z

        if every:
            zero = torch.zeros((s1 - s0, H.shape[1]), dtype=H.dtype, device=H.device)
            out, pull = vjp(lambda D: run(H[s0], D), zero)
        else:
            out, pull = vjp(run, H[s0])
        if not anchored and s1 < H.shape[0]:
            ref = H[s1]
            gap = float((out.detach() - ref).abs().max())
            if not gap <= 1e-13 * max(1.0, float(ref.abs().max())):
                return self._pull_chunk(L, points, s0, s1, anchored=True, every=every)
        return vmap(lambda u: pull(u)[0])(L)

    # -- every left product dh_t/dh_s (gradient-norm profiles) -------------------------
    PROFILE_BYTES = 2 ** 24    # a chunk's stack of left products: at most 16 MiB
    LOG2_RANGE = 1000          # a chunk's squared Frobenius norms must lie in 2^(+-1000)

    def left_products(self, t, k, points, matrices=True):
        """Every left product ``dh_t/dh_s``, s = t-1 down to k, a chunk of steps per pass.

        A generator of ``(s0, P, f2, e)``: for the steps of one chunk,
        ``P[:, i, :] 2^e = dh_t/dh_{s0+i}`` (a numpy array ``(n_t, m, n)``
        handed over from torch without a copy, or None when ``matrices`` is
        False), ``f2[i]`` its squared Frobenius norm (numpy, computed in
        torch; within ``2^(+-1000)``, or exactly 0 for a zero product, after
        which nothing more is yielded).  One vjp per chunk
        (:meth:`_pull_chunk` with ``every=True``): the chunk's left products
        are the cotangents of zero perturbations of its states, all from the
        one pass, vectorised over the n rows.  The running product is
        rescaled by an exact power of two between chunks; a chunk whose
        products leave the range is redone in shorter chunks, and a single
        step still out of range is rescaled by itself.
        """
        import torch

        H = points.H
        n = H.shape[1]
        c_max = max(1, min(self.CHUNK, self.PROFILE_BYTES // (8 * n * n)))
        lo, hi = 2.0 ** -self.LOG2_RANGE, 2.0 ** self.LOG2_RANGE
        L = torch.eye(n, dtype=torch.float64, device=H.device)
        e, s1, c = 0, t, c_max

        def power(x):
            return torch.tensor(x, dtype=torch.float64, device=H.device)

        with math_attention():
            while s1 > k:
                s0 = max(k, s1 - c)
                G = self._pull_chunk(L, points, s0, s1, every=True)     # (n_t, m, n)
                f2 = torch.linalg.vector_norm(G, dim=(0, 2)).square()
                if not bool(((f2 >= lo) & (f2 <= hi)).all()):       # (NaN too)
                    if s1 - s0 > 1:       # a chunk too long for float64: shorter ones
                        c = max(1, (s1 - s0) // 4)
                        continue
                    m = float(G.abs().max())
                    if not math.isfinite(m):
                        raise NumericalError(f"a step Jacobian product has non-finite entries "
                                             f"(step {s1}: the step's derivative is not finite)")
                    if m == 0.0:          # an exactly zero product: so is every longer lag
                        yield s0, (self.ops.numpy(G) if matrices else None), np.zeros(1), e
                        return
                    ex = math.frexp(m)[1]
                    G = torch.ldexp(G, power(-ex))
                    e += ex
                    f2 = torch.linalg.vector_norm(G, dim=(0, 2)).square()
                yield s0, (self.ops.numpy(G) if matrices else None), self.ops.numpy(f2), e
                first = G[:, 0]
                ex = math.frexp(float(first.abs().max()))[1]
                L = torch.ldexp(first, power(-ex))
                e += ex
                s1 = s0
                c = min(c_max, 2 * c)

    # -- dense step Jacobians a block of steps at a time --------------------------------
    def jacobians(self, t0, t1, points):
        """The dense ``J_s`` for s = t0+1..t1, ``(t1 - t0, n, n)``: one ``jacrev`` vectorised
        over the steps (``torch.func.vmap``), or one per step for a step that ``vmap``
        cannot batch."""
        from torch.func import jacrev, vmap

        H = points.H[t0:t1]
        X = None if points.X is None else points.X[t0:t1]
        if not self._no_vmap:
            try:
                with math_attention():
                    if X is None:
                        J = vmap(jacrev(lambda h: self.step(h, None)))(H)
                    else:
                        J = vmap(jacrev(self.step))(H, X)
                return self.ops.numpy(J).reshape(t1 - t0, H.shape[1], H.shape[1])
            except RuntimeError:      # e.g. data-dependent control flow: step by step
                self._no_vmap = True
        return np.stack([self.jacobian(s + 1, points[s]) for s in range(t0, t1)])

    _no_vmap = False


class TorchCell(FunctionCell):
    """A torch step function ``step(h, x) -> h_new`` as a cell, with Jacobians by ``torch.func``.

    Parameters
    ----------
    step : callable or torch.nn.Module
        Maps the state ``h`` (a 1-D float64 tensor of length ``state_size``)
        and the input ``x`` (1-D, length ``input_size``; None for a cell
        without input) to the new state, with torch operations that
        ``torch.func`` can differentiate (no in-place writes into ``h``).
        A module is copied, cast to float64 and put in eval mode (the
        user's module is not changed); the work runs on the device it lives
        on.  A plain function must itself use float64 tensors (on
        ``device``).
    state_size : int
        n, the length of h.
    input_size : int, optional
        The length of x (None or 0: the cell takes no input and ``step`` is
        called with ``x=None``).
    device : str or torch.device, optional
        Where a plain function's tensors live (default: the module's
        device, else the CPU).

    Notes
    -----
    The step Jacobians ``J_t = dh_t/dh_{t-1}`` are kept matrix-free: the
    trajectory stores h_{t-1} and x_t only (O(T n) memory) and a product of
    ``J_t`` with a block of m vectors is one ``torch.func.jvp`` (or ``vjp``)
    vectorised over the columns by ``torch.func.vmap``; ``jacobian(t)`` is
    one ``jacrev``.  Sweeps are chunked in torch: the dense product is one
    reverse pass (``chain``), a gradient-norm profile gets every left
    product ``dh_t/dh_s`` of a chunk of steps from one vectorised ``vjp``
    (``left_products``), and sweeps through ``matrix(t)`` (Lyapunov spectra,
    singular values of products) form the step Jacobians a block of steps
    at a time (``jacobians``: one ``jacrev`` vectorised over the steps; a
    step that ``vmap`` cannot batch falls back to one per step).  Every
    analysis that works through the Jacobians works on it (products, norm
    profiles, Lyapunov spectra, top singular values, ``bound_report``); the classic weight-based bounds need the
    :class:`~spectra.cells.Recurrence` form, which a general step has not.

    Examples
    --------
    >>> import torch, spectra
    >>> g = torch.Generator().manual_seed(0)
    >>> W = torch.randn(4, 4, generator=g, dtype=torch.float64) / 2
    >>> U = torch.randn(4, 2, generator=g, dtype=torch.float64)
    >>> def plrnn(h, x):                      # a piecewise-linear RNN
    ...     return 0.9 * h + W @ torch.relu(h) + U @ x
    >>> cell = spectra.TorchCell(plrnn, 4, input_size=2)
    >>> traj = cell.run(torch.randn(20, 2, generator=g, dtype=torch.float64).numpy())
    >>> traj.product(20, 0).shape
    (4, 4)
    """

    def __init__(self, step, state_size, *, input_size=None, device=None):
        self._setup(step, state_size, input_size)
        import torch

        if is_module(step):
            step, dev = prepare_module(step, "step")
            self.module = step
        else:
            self.module = None
            dev = torch.device("cpu")
        if device is not None:
            dev = torch.device(device)
            if dev.type == "meta":
                raise ValueError("`device` must hold data; got the meta device")
            if self.module is not None:
                self.module = self.module.to(dev)
                step = self.module
        self.device = dev
        self.backend = _TorchStepBackend(step, dev)
        self._probe()

    def _points(self, states, aux):
        # the final state too: the chunked product checks its recomputed states against it
        return self.backend.points(states[:-1], aux, final=states[-1])

    def parameters(self) -> dict:
        if self.module is None:
            return {}
        out = {}
        for name, p in self.module.named_parameters():
            a = TorchOps.numpy(p)
            a.flags.writeable = False
            out[name] = a
        return out

    def parameter_vjp(self, states, inputs, aux, cotangents, *, per_step=False):
        """Parameter cotangents of a run (see :class:`~spectra.Cell`), by ``torch.func.vjp``.

        Under the module's ``named_parameters()`` names (a plain function has
        none: ``{}``).  All steps (and batch rows) go through one vectorised
        call of the step (``torch.func.vmap`` over the points
        ``(h_{t-1}, x_t)``) and one reverse pass, in float64; ``per_step=True``
        vectorises the pullback instead and keeps the step axis.
        """
        if self.module is None:
            return {}
        import torch
        from torch.func import functional_call, vjp, vmap

        ops = self.backend.ops
        module = self.module
        n, T = self.n, cotangents.shape[-2]
        lead = cotangents.shape[:-1]
        params = {k: p.detach() for k, p in module.named_parameters()}
        if T == 0 or not params:
            return {k: np.zeros(lead + tuple(p.shape) if per_step else tuple(p.shape))
                    for k, p in params.items()}
        buffers = {k: b.detach() for k, b in module.named_buffers()}
        H = ops.tensor(np.reshape(states[..., :-1, :], (-1, n)))
        U = ops.tensor(np.reshape(cotangents, (-1, n)))
        X = None if not self.input_size or inputs is None else \
            ops.tensor(np.reshape(inputs, (-1, self.input_size)))

        def step(p, h, x):
            return functional_call(module, (p, buffers), (h, x)).reshape(-1)

        with math_attention(), torch.enable_grad():
            if X is None:
                rows = (lambda p: vmap(lambda h: step(p, h, None))(H))
            else:
                rows = (lambda p: vmap(lambda h, x: step(p, h, x))(H, X))
            if per_step:
                def one(h, x, u):
                    return vjp(lambda p: step(p, h, x), params)[1](u)[0]
                if X is None:
                    g = vmap(lambda h, u: one(h, None, u))(H, U)
                else:
                    g = vmap(one)(H, X, U)
            else:
                g = vjp(rows, params)[1](U)[0]
        out = {}
        for k, p in params.items():
            a = TorchOps.numpy(g[k].to(torch.float64))
            out[k] = a.reshape(lead + tuple(p.shape)) if per_step else a.reshape(tuple(p.shape))
        return out
